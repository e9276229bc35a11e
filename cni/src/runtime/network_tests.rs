use super::*;
use crate::error::Code;
use crate::runtime::fake::RecordingExec;
use serde_json::json;
use std::path::Path;

struct Fixture {
    dir: tempfile::TempDir,
    exec: RecordingExec,
}

const CHAIN: &str = r#"{"cniVersion":"1.0.0","cniVersions":["1.0.0","1.1.0"],"name":"pods","plugins":[
    {"type":"bridge","capabilities":{"ips":true,"mac":true}},
    {"type":"tuning"},
    {"type":"portmap","capabilities":{"portMappings":true}}]}"#;

impl Fixture {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            exec: RecordingExec::new(),
        }
    }

    fn network(&self, conflist: &str) -> Network<&RecordingExec> {
        let config = NetworkConfigList::from_conflist(
            conflist.as_bytes(),
            Path::new("/etc/cni/net.d/10-pods.conflist"),
        )
        .unwrap();
        let options = RuntimeOptions {
            cni_path: vec!["/opt/cni/bin".into(), "/usr/lib/cni".into()],
            cache_dir: self.dir.path().into(),
            timeouts: Timeouts {
                add: Duration::from_secs(7),
                del: Duration::from_secs(8),
                ..Timeouts::default()
            },
        };
        Network::with_exec(config, options, &self.exec)
    }

    fn cache_file(&self, container: &str) -> PathBuf {
        self.dir
            .path()
            .join(format!("results/pods-{container}-eth0"))
    }
}

fn pod(id: &str) -> AttachmentArgs {
    let mut a = AttachmentArgs::new(id, Some(format!("/run/netns/{id}").into()), "eth0");
    a.cni_args = vec![("K8S_POD_NAME".into(), "web".into())];
    a
}

fn names(result: &Value) -> Vec<String> {
    result["interfaces"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| i["name"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn add_runs_plugins_in_order_threading_prev_result() {
    let f = Fixture::new();
    let net = f.network(CHAIN);
    let result = net.add(&pod("c1")).unwrap();
    assert_eq!(
        f.exec.sequence(),
        ["bridge ADD", "tuning ADD", "portmap ADD"]
    );
    let calls = f.exec.calls();
    assert!(calls[0].stdin.get("prevResult").is_none());
    assert_eq!(names(&calls[1].stdin["prevResult"]), ["bridge"]);
    assert_eq!(names(&calls[2].stdin["prevResult"]), ["bridge", "tuning"]);
    let got: Vec<&str> = result.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(got, ["bridge", "tuning", "portmap"]);
    for c in &calls {
        assert_eq!(c.stdin["name"], "pods");
        assert_eq!(
            c.stdin["cniVersion"], "1.1.0",
            "negotiated from cniVersions"
        );
        assert_eq!(c.env_var("CNI_CONTAINERID"), Some("c1"));
        assert_eq!(c.env_var("CNI_NETNS"), Some("/run/netns/c1"));
        assert_eq!(c.env_var("CNI_IFNAME"), Some("eth0"));
        assert_eq!(c.env_var("CNI_ARGS"), Some("K8S_POD_NAME=web"));
        assert_eq!(c.env_var("CNI_PATH"), Some("/opt/cni/bin:/usr/lib/cni"));
        assert_eq!(c.timeout, Duration::from_secs(7));
    }
}

#[test]
fn capability_args_reach_only_plugins_that_enable_them() {
    let f = Fixture::new();
    let mut att = pod("c1");
    att.capability_args = json!({"ips":["10.1.0.7"],"portMappings":[{"hostPort":8080,"containerPort":80}],"bandwidth":{"x":1}})
        .as_object()
        .unwrap()
        .clone();
    f.network(CHAIN).add(&att).unwrap();
    let calls = f.exec.calls();
    assert_eq!(calls[0].stdin["runtimeConfig"], json!({"ips":["10.1.0.7"]}));
    assert!(calls[1].stdin.get("runtimeConfig").is_none());
    assert_eq!(
        calls[2].stdin["runtimeConfig"],
        json!({"portMappings":[{"hostPort":8080,"containerPort":80}]})
    );
}

#[test]
fn add_caches_result_in_libcni_format() {
    let f = Fixture::new();
    let mut att = pod("c1");
    att.capability_args = json!({"mac":"02:00:00:00:00:01"})
        .as_object()
        .unwrap()
        .clone();
    let net = f.network(CHAIN);
    net.add(&att).unwrap();
    let v: Value = serde_json::from_slice(&std::fs::read(f.cache_file("c1")).unwrap()).unwrap();
    assert_eq!(v["kind"], "cniCacheV1");
    assert_eq!(v["containerId"], "c1");
    assert_eq!(v["ifName"], "eth0");
    assert_eq!(v["networkName"], "pods");
    assert_eq!(v["netns"], "/run/netns/c1");
    assert_eq!(v["cniArgs"], json!([["K8S_POD_NAME", "web"]]));
    assert_eq!(v["capabilityArgs"], json!({"mac":"02:00:00:00:00:01"}));
    assert_eq!(names(&v["result"]), ["bridge", "tuning", "portmap"]);
    let config = crate::runtime::base64::decode(v["config"].as_str().unwrap()).unwrap();
    assert_eq!(config, CHAIN.as_bytes());
    let cached = net.cached_result("c1", "eth0").unwrap().unwrap();
    assert_eq!(cached.interfaces.len(), 3);
    assert_eq!(net.cached_attachments().unwrap().len(), 1);
}

#[test]
fn failed_add_names_the_plugin_and_caches_nothing() {
    let f = Fixture::new();
    f.exec.fail(
        "tuning",
        Command::Add,
        ExecError::Failed(CniError::new(Code::InvalidConfig, "bad sysctl")),
    );
    let e = f.network(CHAIN).add(&pod("c1")).unwrap_err();
    assert_eq!(f.exec.sequence(), ["bridge ADD", "tuning ADD"]);
    assert_eq!(e.cni_error().unwrap().code, 7);
    assert_eq!(e.plugin().unwrap().plugin_type, "tuning");
    let text = e.to_string();
    assert!(
        text.contains("tuning") && text.contains("ADD") && text.contains("bad sysctl"),
        "{text}"
    );
    assert!(!f.cache_file("c1").exists());
}

#[test]
fn del_runs_in_reverse_with_cached_result_and_removes_cache() {
    let f = Fixture::new();
    let net = f.network(CHAIN);
    net.add(&pod("c1")).unwrap();
    f.exec.clear();
    net.del(&pod("c1")).unwrap();
    assert_eq!(
        f.exec.sequence(),
        ["portmap DEL", "tuning DEL", "bridge DEL"]
    );
    for c in f.exec.calls() {
        assert_eq!(
            names(&c.stdin["prevResult"]),
            ["bridge", "tuning", "portmap"]
        );
        assert_eq!(c.timeout, Duration::from_secs(8));
    }
    assert!(!f.cache_file("c1").exists());
}

#[test]
fn del_without_cache_or_netns_runs_without_prev_result() {
    let f = Fixture::new();
    let net = f.network(CHAIN);
    net.del(&AttachmentArgs::new("gone", None, "eth0")).unwrap();
    assert_eq!(
        f.exec.sequence(),
        ["portmap DEL", "tuning DEL", "bridge DEL"]
    );
    for c in f.exec.calls() {
        assert!(c.stdin.get("prevResult").is_none());
        assert_eq!(c.env_var("CNI_NETNS"), Some(""));
    }
}

#[test]
fn del_with_corrupt_cache_runs_and_clears_the_entry() {
    let f = Fixture::new();
    std::fs::create_dir_all(f.dir.path().join("results")).unwrap();
    std::fs::write(f.cache_file("c1"), "{garbage").unwrap();
    f.network(CHAIN).del(&pod("c1")).unwrap();
    assert!(f
        .exec
        .calls()
        .iter()
        .all(|c| c.stdin.get("prevResult").is_none()));
    assert!(!f.cache_file("c1").exists());
}

#[test]
fn failed_del_keeps_the_cache_for_a_retry() {
    let f = Fixture::new();
    let net = f.network(CHAIN);
    net.add(&pod("c1")).unwrap();
    f.exec.fail(
        "tuning",
        Command::Del,
        ExecError::Failed(CniError::new(Code::Io, "busy")),
    );
    let e = net.del(&pod("c1")).unwrap_err();
    assert!(
        matches!(
            e,
            RuntimeError::Plugin {
                command: Command::Del,
                ..
            }
        ),
        "{e}"
    );
    assert!(f.cache_file("c1").exists());
}

#[test]
fn check_runs_in_order_with_cached_result() {
    let f = Fixture::new();
    let net = f.network(CHAIN);
    net.add(&pod("c1")).unwrap();
    f.exec.clear();
    net.check(&pod("c1")).unwrap();
    assert_eq!(
        f.exec.sequence(),
        ["bridge CHECK", "tuning CHECK", "portmap CHECK"]
    );
    for c in f.exec.calls() {
        assert_eq!(
            names(&c.stdin["prevResult"]),
            ["bridge", "tuning", "portmap"]
        );
    }
}

#[test]
fn check_without_cached_result_is_an_error_unless_disabled() {
    let f = Fixture::new();
    let e = f.network(CHAIN).check(&pod("c1")).unwrap_err();
    assert!(matches!(e, RuntimeError::NoCachedResult { .. }), "{e}");
    assert!(f.exec.calls().is_empty());
    let disabled = CHAIN.replacen(
        "\"name\":\"pods\"",
        "\"name\":\"pods\",\"disableCheck\":true",
        1,
    );
    f.network(&disabled).check(&pod("c1")).unwrap();
    assert!(f.exec.calls().is_empty());
}

#[test]
fn cached_result_is_converted_when_the_config_version_changed() {
    let f = Fixture::new();
    f.network(CHAIN).add(&pod("c1")).unwrap();
    f.exec.clear();
    let v100 = CHAIN.replacen(",\"cniVersions\":[\"1.0.0\",\"1.1.0\"]", "", 1);
    f.network(&v100).check(&pod("c1")).unwrap();
    for c in f.exec.calls() {
        assert_eq!(c.stdin["cniVersion"], "1.0.0");
        assert_eq!(c.stdin["prevResult"]["cniVersion"], "1.0.0");
    }
}

#[test]
fn invalid_attachment_runs_nothing() {
    let f = Fixture::new();
    let net = f.network(CHAIN);
    let e = net
        .add(&AttachmentArgs::new("c1", None, "eth0"))
        .unwrap_err();
    assert!(e.cni_error().unwrap().is(Code::InvalidEnvironment), "{e}");
    let e = net
        .add(&AttachmentArgs::new(
            "c1",
            Some("/run/netns/x".into()),
            "much-too-long-ifname",
        ))
        .unwrap_err();
    assert!(e.to_string().contains("CNI_IFNAME"), "{e}");
    assert!(f.exec.calls().is_empty());
}

#[test]
fn gc_deletes_stale_cached_attachments_and_sends_valid_list() {
    let f = Fixture::new();
    let net = f.network(CHAIN);
    net.add(&pod("keep")).unwrap();
    net.add(&pod("stale")).unwrap();
    f.exec.clear();
    let valid = [
        pod("keep").key(),
        Attachment {
            container_id: "other".into(),
            ifname: "eth1".into(),
        },
    ];
    let removed = net.gc(&valid).unwrap();
    assert_eq!(removed, [pod("stale").key()]);
    assert_eq!(
        f.exec.sequence(),
        [
            "portmap DEL",
            "tuning DEL",
            "bridge DEL",
            "bridge GC",
            "tuning GC",
            "portmap GC"
        ]
    );
    let calls = f.exec.calls();
    assert_eq!(calls[0].env_var("CNI_CONTAINERID"), Some("stale"));
    assert_eq!(calls[0].env_var("CNI_NETNS"), Some("/run/netns/stale"));
    assert_eq!(
        calls[0].env_var("CNI_ARGS"),
        Some("K8S_POD_NAME=web"),
        "cached CNI_ARGS are reused"
    );
    assert_eq!(
        calls[3].stdin["cni.dev/valid-attachments"],
        json!([{"containerID":"keep","ifname":"eth0"},{"containerID":"other","ifname":"eth1"}])
    );
    assert_eq!(calls[3].env_var("CNI_CONTAINERID"), Some(""));
    assert!(f.cache_file("keep").exists());
    assert!(!f.cache_file("stale").exists());
}

#[test]
fn gc_keeps_going_and_reports_every_failure() {
    let f = Fixture::new();
    let net = f.network(CHAIN);
    net.add(&pod("stale")).unwrap();
    f.exec.clear();
    f.exec.fail(
        "bridge",
        Command::Del,
        ExecError::Failed(CniError::new(Code::Io, "x")),
    );
    f.exec.fail(
        "portmap",
        Command::Gc,
        ExecError::TimedOut(Duration::from_secs(60)),
    );
    let e = net.gc(&[]).unwrap_err();
    let RuntimeError::Gc { failures, .. } = e else {
        panic!("{e}")
    };
    assert_eq!(failures.len(), 2);
    assert!(matches!(
        failures[1],
        RuntimeError::Timeout {
            command: Command::Gc,
            ..
        }
    ));
    assert_eq!(f.exec.sequence().len(), 6, "{}", f.exec);
}

#[test]
fn gc_is_a_no_op_with_disable_gc_and_skips_plugin_gc_on_1_0_0() {
    let f = Fixture::new();
    let disabled = CHAIN.replacen(
        "\"name\":\"pods\"",
        "\"name\":\"pods\",\"disableGC\":true",
        1,
    );
    f.network(&disabled).add(&pod("stale")).unwrap();
    f.exec.clear();
    assert!(f.network(&disabled).gc(&[]).unwrap().is_empty());
    assert!(f.exec.calls().is_empty());
    let v100 = CHAIN.replacen(",\"cniVersions\":[\"1.0.0\",\"1.1.0\"]", "", 1);
    f.network(&v100).gc(&[]).unwrap();
    assert_eq!(
        f.exec.sequence(),
        ["portmap DEL", "tuning DEL", "bridge DEL"]
    );
}

#[test]
fn status_runs_each_plugin_and_surfaces_not_available() {
    let f = Fixture::new();
    let net = f.network(CHAIN);
    net.status().unwrap();
    assert_eq!(
        f.exec.sequence(),
        ["bridge STATUS", "tuning STATUS", "portmap STATUS"]
    );
    assert_eq!(f.exec.calls()[0].stdin["cniVersion"], "1.1.0");
    f.exec.clear();
    f.exec.fail(
        "bridge",
        Command::Status,
        ExecError::Failed(CniError::new(Code::NotAvailable, "no address left")),
    );
    let e = net.status().unwrap_err();
    assert!(e.cni_error().unwrap().is(Code::NotAvailable), "{e}");
    assert_eq!(f.exec.sequence(), ["bridge STATUS"]);
    f.exec.clear();
    let v100 = CHAIN.replacen(",\"cniVersions\":[\"1.0.0\",\"1.1.0\"]", "", 1);
    f.network(&v100).status().unwrap();
    assert!(
        f.exec.calls().is_empty(),
        "STATUS does not exist before 1.1.0"
    );
}

#[test]
fn timeouts_and_missing_plugins_are_distinct_errors() {
    let f = Fixture::new();
    f.exec.fail(
        "bridge",
        Command::Add,
        ExecError::TimedOut(Duration::from_secs(7)),
    );
    let e = f.network(CHAIN).add(&pod("c1")).unwrap_err();
    assert!(e.to_string().contains("did not finish within 7s"), "{e}");
    let f = Fixture::new();
    f.exec.fail(
        "bridge",
        Command::Add,
        ExecError::NotFound(CniError::new(
            Code::InvalidConfig,
            "plugin \"bridge\" not found in CNI_PATH",
        )),
    );
    let e = f.network(CHAIN).add(&pod("c1")).unwrap_err();
    assert!(matches!(e, RuntimeError::PluginNotFound { .. }), "{e}");
}

#[test]
fn garbage_add_output_is_a_bad_result() {
    struct Garbage;
    impl PluginExec for Garbage {
        fn exec(&self, _: &PluginCall<'_>) -> Result<Vec<u8>, ExecError> {
            Ok(b"not json".to_vec())
        }
    }
    let d = tempfile::tempdir().unwrap();
    let config =
        NetworkConfigList::from_conflist(CHAIN.as_bytes(), Path::new("/x.conflist")).unwrap();
    let options = RuntimeOptions {
        cache_dir: d.path().into(),
        ..RuntimeOptions::default()
    };
    let e = Network::with_exec(config, options, Garbage)
        .add(&pod("c1"))
        .unwrap_err();
    assert!(
        matches!(e, RuntimeError::BadResult { ref plugin, .. } if plugin.index == 0),
        "{e}"
    );
    assert!(e.cni_error().unwrap().is(Code::Decode));
}
