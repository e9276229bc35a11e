use super::*;

fn list(json: &str) -> Result<NetworkConfigList, ConfigError> {
    NetworkConfigList::from_conflist(json.as_bytes(), Path::new("/etc/cni/net.d/10-x.conflist"))
}

fn field_of(e: ConfigError) -> String {
    match e {
        ConfigError::Field { field, file, .. } => {
            assert_eq!(file, Path::new("/etc/cni/net.d/10-x.conflist"));
            field
        }
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn conflist_parses_every_list_field() {
    let l = list(
        r#"{"cniVersion":"1.0.0","name":"pods","disableCheck":true,"disableGC":"TRUE",
            "plugins":[{"type":"bridge","capabilities":{"ips":true,"mac":false}},{"type":"portmap"}]}"#,
    )
    .unwrap();
    assert_eq!(l.name, "pods");
    assert_eq!(l.cni_version, Version::V1_0_0);
    assert!(l.disable_check && l.disable_gc);
    assert_eq!(l.plugins.len(), 2);
    assert_eq!(l.plugins[0].plugin_type, "bridge");
    assert_eq!(
        l.plugins[0].capabilities.iter().collect::<Vec<_>>(),
        ["ips"]
    );
    assert_eq!(l.plugins[1].raw["type"], "portmap");
}

#[test]
fn cni_versions_picks_highest_supported() {
    let l = list(
        r#"{"cniVersion":"1.0.0","cniVersions":["0.4.0","1.1.0","2.0.0"],"name":"n","plugins":[{"type":"a"}]}"#,
    )
    .unwrap();
    assert_eq!(l.cni_version, Version::V1_1_0);
    let l = list(
        r#"{"cniVersion":"1.1.0","cniVersions":["1.0.0"],"name":"n","plugins":[{"type":"a"}]}"#,
    )
    .unwrap();
    assert_eq!(
        l.cni_version,
        Version::V1_1_0,
        "cniVersion counts as a candidate"
    );
}

#[test]
fn unsupported_versions_name_the_field() {
    let e = list(r#"{"cniVersion":"0.3.1","name":"n","plugins":[{"type":"a"}]}"#).unwrap_err();
    assert_eq!(field_of(e), "cniVersion");
    let e = list(r#"{"cniVersions":["0.3.1"],"name":"n","plugins":[{"type":"a"}]}"#).unwrap_err();
    assert_eq!(field_of(e), "cniVersions");
    let e = list(r#"{"name":"n","plugins":[{"type":"a"}]}"#).unwrap_err();
    assert_eq!(field_of(e), "cniVersion");
}

#[test]
fn plugin_without_type_is_an_error_naming_its_index() {
    let e = list(r#"{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"a"},{"bridge":"x"}]}"#)
        .unwrap_err();
    let text = e.to_string();
    assert_eq!(field_of(e), "plugins[1].type");
    assert!(text.contains("10-x.conflist"), "{text}");
}

#[test]
fn bad_list_fields_are_named() {
    let cases = [
        (r#"{"cniVersion":"1.0.0","plugins":[{"type":"a"}]}"#, "name"),
        (
            r#"{"cniVersion":"1.0.0","name":"bad/name","plugins":[{"type":"a"}]}"#,
            "name",
        ),
        (r#"{"cniVersion":"1.0.0","name":"n"}"#, "plugins"),
        (
            r#"{"cniVersion":"1.0.0","name":"n","plugins":[]}"#,
            "plugins",
        ),
        (
            r#"{"cniVersion":"1.0.0","name":"n","plugins":[3]}"#,
            "plugins[0]",
        ),
        (
            r#"{"cniVersion":"1.0.0","name":"n","disableCheck":1,"plugins":[{"type":"a"}]}"#,
            "disableCheck",
        ),
        (
            r#"{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"a","capabilities":{"ips":"yes"}}]}"#,
            "plugins[0].capabilities.ips",
        ),
        (r#"[1]"#, "(top level)"),
    ];
    for (json, want) in cases {
        assert_eq!(field_of(list(json).unwrap_err()), want, "{json}");
    }
    assert!(matches!(list("{").unwrap_err(), ConfigError::Json { .. }));
}

#[test]
fn single_plugin_conf_is_wrapped_into_a_list() {
    let conf = br#"{"cniVersion":"1.0.0","name":"single","type":"bridge","bridge":"cni0"}"#;
    let l = NetworkConfigList::from_conf(conf, Path::new("/d/10.conf")).unwrap();
    assert_eq!(l.name, "single");
    assert_eq!(l.plugins.len(), 1);
    assert_eq!(l.plugins[0].raw["bridge"], "cni0");
    let wrapped: Value = serde_json::from_slice(&l.bytes).unwrap();
    assert_eq!(wrapped["plugins"][0]["type"], "bridge");
    assert_eq!(wrapped["name"], "single");
    let e = NetworkConfigList::from_conf(
        br#"{"cniVersion":"1.0.0","name":"x"}"#,
        Path::new("/d/10.conf"),
    )
    .unwrap_err();
    assert!(
        matches!(e, ConfigError::Field { ref field, .. } if field == "type"),
        "{e}"
    );
}

fn write(dir: &Path, name: &str, body: &str) {
    std::fs::write(dir.join(name), body).unwrap();
}

#[test]
fn conf_dir_gives_first_valid_file_in_lexical_order() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "05-broken.conflist", "{not json");
    write(
        d.path(),
        "10-b.conflist",
        r#"{"cniVersion":"1.0.0","name":"b","plugins":[{"type":"x"}]}"#,
    );
    write(
        d.path(),
        "20-a.conf",
        r#"{"cniVersion":"1.0.0","name":"a","type":"y"}"#,
    );
    write(
        d.path(),
        "30-c.json",
        r#"{"cniVersion":"1.1.0","name":"c","type":"z"}"#,
    );
    write(d.path(), "00-ignored.txt", "whatever");
    let l = NetworkConfigList::load_dir(d.path(), None).unwrap();
    assert_eq!(l.name, "b");
    assert_eq!(l.file, d.path().join("10-b.conflist"));
    let l = NetworkConfigList::load_dir(d.path(), Some("c")).unwrap();
    assert_eq!(l.plugins[0].plugin_type, "z");
    let e = NetworkConfigList::load_dir(d.path(), Some("nope")).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, ConfigError::NotFound { ref problems, .. } if problems.len() == 1));
    assert!(text.contains("05-broken.conflist"), "{text}");
}

#[test]
fn conf_dir_without_valid_files_reports_each_problem() {
    let d = tempfile::tempdir().unwrap();
    assert!(matches!(
        NetworkConfigList::load_dir(d.path(), None).unwrap_err(),
        ConfigError::Empty { .. }
    ));
    assert!(matches!(
        NetworkConfigList::load_dir(&d.path().join("missing"), None).unwrap_err(),
        ConfigError::Empty { .. }
    ));
    write(
        d.path(),
        "1.conflist",
        r#"{"cniVersion":"1.0.0","name":"n","plugins":[{}]}"#,
    );
    write(d.path(), "2.conf", r#"{"cniVersion":"1.0.0","type":"t"}"#);
    let e = NetworkConfigList::load_dir(d.path(), None).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("1.conflist: field plugins[0].type"), "{text}");
    assert!(text.contains("2.conf: field name"), "{text}");
}
