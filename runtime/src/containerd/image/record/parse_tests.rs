use super::*;

const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const D3: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";

fn digest(s: &str) -> Digest {
    Digest::parse(s).unwrap()
}

#[test]
fn manifest_gives_config_and_layers_bottom_first() {
    let json = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}",
        "config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{D1}","size":12}},
        "layers":[{{"mediaType":"a","digest":"{D2}","size":100}},{{"mediaType":"b","digest":"{D3}","size":7}}]}}"#
    );
    let manifest = parse_manifest(json.as_bytes()).unwrap();
    assert_eq!(manifest.config.digest, digest(D1));
    assert_eq!(manifest.config.size, 12);
    let layers: Vec<_> = manifest
        .layers
        .iter()
        .map(|l| (l.media_type.as_str(), l.size))
        .collect();
    assert_eq!(layers, [("a", 100), ("b", 7)]);
}

#[test]
fn manifest_with_a_bad_digest_is_rejected() {
    let json = r#"{"config":{"digest":"sha256:zz","size":1},"layers":[]}"#;
    assert!(matches!(
        parse_manifest(json.as_bytes()),
        Err(ParseError::Json {
            what: "manifest",
            ..
        })
    ));
}

#[test]
fn config_gives_run_settings_env_split_at_first_equals_and_sorted_ports() {
    let json = format!(
        r#"{{"architecture":"amd64","os":"linux",
        "config":{{"Entrypoint":["/bin/sh","-c"],"Cmd":["echo hi"],
          "Env":["PATH=/bin","X=a=b","EMPTY"],"WorkingDir":"/srv","User":"1000:1000",
          "ExposedPorts":{{"8080/tcp":{{}},"53/udp":{{}},"80":{{}},"bogus/xyz":{{}}}}}},
        "rootfs":{{"type":"layers","diff_ids":["{D1}","{D2}"]}}}}"#
    );
    let file = parse_config(json.as_bytes()).unwrap();
    let c = &file.config;
    assert_eq!(c.entrypoint, ["/bin/sh", "-c"]);
    assert_eq!(c.cmd, ["echo hi"]);
    let env: Vec<(&str, &str)> = c
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(env, [("PATH", "/bin"), ("X", "a=b"), ("EMPTY", "")]);
    assert_eq!(c.working_dir.as_deref(), Some(std::path::Path::new("/srv")));
    assert_eq!(c.user.as_deref(), Some("1000:1000"));
    let ports: Vec<_> = c
        .exposed_ports
        .iter()
        .map(|p| (p.port, p.protocol))
        .collect();
    assert_eq!(
        ports,
        [
            (53, PortProtocol::Udp),
            (80, PortProtocol::Tcp),
            (8080, PortProtocol::Tcp)
        ]
    );
    assert_eq!(file.diff_ids, [digest(D1), digest(D2)]);
}

#[test]
fn config_without_run_settings_is_empty_and_null_fields_are_unset() {
    let json = r#"{"config":{"Entrypoint":null,"Cmd":null,"Env":null,"WorkingDir":"","User":""},"rootfs":{"diff_ids":[]}}"#;
    let file = parse_config(json.as_bytes()).unwrap();
    assert_eq!(file.config, ImageConfig::default());
    let file = parse_config(b"{}").unwrap();
    assert_eq!(file.config, ImageConfig::default());
    assert!(file.diff_ids.is_empty());
}

#[test]
fn config_that_is_not_json_names_the_config() {
    let err = parse_config(b"not json").unwrap_err();
    assert!(
        err.to_string().starts_with("config is not valid JSON"),
        "{err}"
    );
}

fn index_json() -> String {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[
        {{"mediaType":"{OCI_MANIFEST}","digest":"{D1}","size":1,"platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}},
        {{"mediaType":"{OCI_MANIFEST}","digest":"{D2}","size":2,"platform":{{"architecture":"amd64","os":"linux"}},
          "annotations":{{"org.opencontainers.image.ref.name":"1.36"}}}},
        {{"mediaType":"{OCI_MANIFEST}","digest":"{D3}","size":3,"platform":{{"architecture":"amd64","os":"windows"}}}}]}}"#
    )
}

#[test]
fn index_entries_keep_platform_and_annotations() {
    let entries = parse_index(index_json().as_bytes()).unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(
        entries[1].annotations["org.opencontainers.image.ref.name"],
        "1.36"
    );
    assert_eq!(
        entries[0].platform.as_ref().unwrap().variant.as_deref(),
        Some("v8")
    );
}

#[test]
fn pick_platform_takes_the_linux_entry_of_the_architecture() {
    let entries = parse_index(index_json().as_bytes()).unwrap();
    let amd64 = Platform {
        architecture: "amd64".into(),
        os: "linux".into(),
        variant: None,
    };
    assert_eq!(
        pick_platform(&entries, &amd64).unwrap().blob.digest,
        digest(D2)
    );
    let arm64 = Platform {
        architecture: "arm64".into(),
        os: "linux".into(),
        variant: None,
    };
    assert_eq!(
        pick_platform(&entries, &arm64).unwrap().blob.digest,
        digest(D1)
    );
    let riscv = Platform {
        architecture: "riscv64".into(),
        os: "linux".into(),
        variant: None,
    };
    let err = pick_platform(&entries, &riscv).unwrap_err();
    assert_eq!(err.to_string(), "index has no manifest for linux/riscv64");
}

#[test]
fn a_sole_entry_without_platform_is_picked() {
    let json = format!(r#"{{"manifests":[{{"digest":"{D1}","size":1}}]}}"#);
    let entries = parse_index(json.as_bytes()).unwrap();
    assert_eq!(
        pick_platform(&entries, &this_platform())
            .unwrap()
            .blob
            .digest,
        digest(D1)
    );
}

#[test]
fn this_platform_is_linux_with_a_go_architecture_name() {
    let p = this_platform();
    assert_eq!(p.os, "linux");
    if cfg!(target_arch = "x86_64") {
        assert_eq!(p.architecture, "amd64");
    }
}

#[test]
fn is_index_follows_media_type_then_sniffs_the_body() {
    assert!(is_index(OCI_INDEX, b""));
    assert!(is_index(DOCKER_MANIFEST_LIST, b""));
    assert!(!is_index(DOCKER_MANIFEST, br#"{"manifests":[]}"#));
    assert!(is_index("", br#"{"manifests":[]}"#));
    assert!(is_index(
        "",
        format!(r#"{{"mediaType":"{OCI_INDEX}"}}"#).as_bytes()
    ));
    assert!(!is_index("", br#"{"config":{},"layers":[]}"#));
    assert!(!is_index("", b"garbage"));
}

#[test]
fn ports_parse_with_default_tcp_and_reject_unknown_protocols() {
    assert_eq!(
        parse_port("80"),
        Some(ExposedPort {
            port: 80,
            protocol: PortProtocol::Tcp
        })
    );
    assert_eq!(
        parse_port("53/UDP"),
        Some(ExposedPort {
            port: 53,
            protocol: PortProtocol::Udp
        })
    );
    assert_eq!(
        parse_port("9/sctp").map(|p| p.protocol),
        Some(PortProtocol::Sctp)
    );
    assert_eq!(parse_port("x/tcp"), None);
    assert_eq!(parse_port("1/icmp"), None);
    assert_eq!(parse_port("70000"), None);
}

#[test]
fn layer_count_mismatch_is_reported() {
    let manifest = Manifest {
        config: Blob {
            media_type: String::new(),
            digest: digest(D1),
            size: 1,
        },
        layers: vec![],
    };
    let config = ConfigFile {
        config: ImageConfig::default(),
        diff_ids: vec![digest(D2)],
    };
    assert!(matches!(
        check_layers(&manifest, &config),
        Err(ParseError::LayerCount {
            layers: 0,
            diff_ids: 1
        })
    ));
}
