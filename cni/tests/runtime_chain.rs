//! The runtime library running real plugin processes: small shell-script plugins in a temp
//! `CNI_PATH` that log their environment and stdin, and print results or errors.

use serde_json::{json, Value};
use skiff_cni::conf::Attachment;
use skiff_cni::invocation::Command;
use skiff_cni::runtime::{
    AttachmentArgs, Network, NetworkConfigList, RuntimeError, RuntimeOptions, Timeouts,
};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

struct Node {
    root: tempfile::TempDir,
}

impl Node {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        for d in ["bin", "net.d", "cache", "log"] {
            std::fs::create_dir(root.path().join(d)).unwrap();
        }
        Self { root }
    }

    fn dir(&self, d: &str) -> PathBuf {
        self.root.path().join(d)
    }

    /// A plugin that logs `<name> <command> <container> <ifname> <netns> <args>` to `log/calls`,
    /// saves its stdin to `log/<name>.<COMMAND>.json`, then runs `body` (stdin is consumed).
    fn plugin(&self, name: &str, body: &str) {
        let log = self.dir("log");
        let script = format!(
            "#!/bin/sh\ninput=$(cat)\n\
             echo \"{name} $CNI_COMMAND $CNI_CONTAINERID $CNI_IFNAME $CNI_NETNS $CNI_ARGS\" >> {log}/calls\n\
             printf '%s' \"$input\" > {log}/{name}.$CNI_COMMAND.json\n{body}\n",
            log = log.display()
        );
        let path = self.dir("bin").join(name);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// A plugin printing `result` on ADD and nothing otherwise.
    fn result_plugin(&self, name: &str, result: &Value) {
        self.plugin(
            name,
            &format!("[ \"$CNI_COMMAND\" = ADD ] && printf '%s' '{result}'\nexit 0"),
        );
    }

    fn conflist(&self, file: &str, body: &Value) {
        std::fs::write(self.dir("net.d").join(file), body.to_string()).unwrap();
    }

    fn network(&self, timeouts: Timeouts) -> Network {
        let config = NetworkConfigList::load_dir(&self.dir("net.d"), None).unwrap();
        Network::new(
            config,
            RuntimeOptions {
                cni_path: vec![PathBuf::from("/nonexistent"), self.dir("bin")],
                cache_dir: self.dir("cache"),
                timeouts,
            },
        )
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir("log").join("calls"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn stdin_of(&self, plugin: &str, command: &str) -> Value {
        let text =
            std::fs::read_to_string(self.dir("log").join(format!("{plugin}.{command}.json")))
                .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn cache_file(&self, container: &str) -> PathBuf {
        self.dir("cache")
            .join(format!("results/testnet-{container}-eth0"))
    }
}

fn first_result() -> Value {
    json!({"cniVersion":"1.1.0",
           "interfaces":[{"name":"eth0","sandbox":"/run/netns/pod1"}],
           "ips":[{"address":"10.9.0.2/24","gateway":"10.9.0.1","interface":0}]})
}

fn second_result() -> Value {
    let mut r = first_result();
    r["dns"] = json!({"nameservers":["10.9.0.53"]});
    r
}

fn two_plugin_node() -> Node {
    let node = Node::new();
    node.result_plugin("first", &first_result());
    node.result_plugin("second", &second_result());
    node.conflist(
        "10-test.conflist",
        &json!({"cniVersion":"1.0.0","cniVersions":["1.0.0","1.1.0"],"name":"testnet",
                "plugins":[{"type":"first","subnet":"10.9.0.0/24"},{"type":"second"}]}),
    );
    node
}

fn pod(id: &str) -> AttachmentArgs {
    let mut a = AttachmentArgs::new(id, Some(PathBuf::from("/run/netns/pod1")), "eth0");
    a.cni_args = vec![("K8S_POD_NAME".into(), "web".into())];
    a
}

#[test]
fn add_check_del_run_plugin_processes_in_spec_order() {
    let node = two_plugin_node();
    let net = node.network(Timeouts::default());
    let result = net.add(&pod("c1")).unwrap();
    assert_eq!(result.ips[0].address.to_string(), "10.9.0.2/24");
    assert_eq!(
        result.dns.nameservers,
        ["10.9.0.53"],
        "the last plugin's result is the chain's"
    );
    assert_eq!(
        node.calls(),
        [
            "first ADD c1 eth0 /run/netns/pod1 K8S_POD_NAME=web",
            "second ADD c1 eth0 /run/netns/pod1 K8S_POD_NAME=web"
        ]
    );
    let first_in = node.stdin_of("first", "ADD");
    assert_eq!(first_in["name"], "testnet");
    assert_eq!(first_in["cniVersion"], "1.1.0");
    assert_eq!(first_in["subnet"], "10.9.0.0/24");
    assert!(first_in.get("prevResult").is_none());
    assert_eq!(node.stdin_of("second", "ADD")["prevResult"], first_result());
    assert!(node.cache_file("c1").exists());

    net.check(&pod("c1")).unwrap();
    assert_eq!(
        node.stdin_of("first", "CHECK")["prevResult"],
        second_result()
    );
    net.del(&pod("c1")).unwrap();
    let calls = node.calls();
    let commands: Vec<String> = calls
        .iter()
        .map(|l| l.split(' ').take(2).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        commands,
        [
            "first ADD",
            "second ADD",
            "first CHECK",
            "second CHECK",
            "second DEL",
            "first DEL"
        ]
    );
    assert_eq!(node.stdin_of("first", "DEL")["prevResult"], second_result());
    assert!(!node.cache_file("c1").exists());
}

#[test]
fn del_without_netns_or_cache_still_runs_every_plugin() {
    let node = two_plugin_node();
    let net = node.network(Timeouts::default());
    net.del(&AttachmentArgs::new("never-added", None, "eth0"))
        .unwrap();
    assert_eq!(
        node.calls(),
        [
            "second DEL never-added eth0  ",
            "first DEL never-added eth0  "
        ]
    );
    assert!(node.stdin_of("first", "DEL").get("prevResult").is_none());
}

#[test]
fn hanging_plugin_is_killed_at_the_timeout() {
    let node = two_plugin_node();
    let pidfile = node.dir("log").join("hang.pid");
    node.plugin(
        "second",
        &format!("echo $$ > {}\nexec sleep 600", pidfile.display()),
    );
    let net = node.network(Timeouts::all(Duration::from_millis(500)));
    let e = net.add(&pod("c1")).unwrap_err();
    assert!(
        matches!(e, RuntimeError::Timeout { command: Command::Add, ref plugin, .. } if plugin.plugin_type == "second"),
        "{e}"
    );
    assert!(e.to_string().contains("was killed"), "{e}");
    let pid = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .to_string();
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "plugin process {pid} survived its timeout"
    );
    assert!(!node.cache_file("c1").exists());
}

#[test]
fn plugin_error_json_surfaces_with_its_code() {
    let node = two_plugin_node();
    node.plugin(
        "second",
        r#"echo '{"cniVersion":"1.1.0","code":7,"msg":"subnet overlaps","details":"10.9.0.0/24"}'; exit 1"#,
    );
    let net = node.network(Timeouts::default());
    let e = net.add(&pod("c1")).unwrap_err();
    let cni = e.cni_error().expect("the plugin's error is carried");
    assert_eq!(
        (cni.code, cni.msg.as_str(), cni.details.as_str()),
        (7, "subnet overlaps", "10.9.0.0/24")
    );
    let text = e.to_string();
    assert!(
        text.contains("\"second\"") && text.contains("ADD") && text.contains("subnet overlaps"),
        "{text}"
    );
}

#[test]
fn status_failure_carries_code_50() {
    let node = two_plugin_node();
    node.plugin(
        "first",
        r#"[ "$CNI_COMMAND" = STATUS ] && { echo '{"cniVersion":"1.1.0","code":50,"msg":"no address left"}'; exit 1; }; exit 0"#,
    );
    let e = node.network(Timeouts::default()).status().unwrap_err();
    assert_eq!(e.cni_error().unwrap().code, 50, "{e}");
    assert_eq!(node.calls(), ["first STATUS    "]);
}

#[test]
fn missing_plugin_names_its_type() {
    let node = two_plugin_node();
    std::fs::remove_file(node.dir("bin").join("second")).unwrap();
    let e = node
        .network(Timeouts::default())
        .add(&pod("c1"))
        .unwrap_err();
    assert!(matches!(e, RuntimeError::PluginNotFound { .. }), "{e}");
    assert!(e.to_string().contains("\"second\""), "{e}");
}

#[test]
fn gc_deletes_stale_attachments_and_sends_the_valid_list() {
    let node = two_plugin_node();
    let net = node.network(Timeouts::default());
    net.add(&pod("keep")).unwrap();
    net.add(&pod("stale")).unwrap();
    let removed = net
        .gc(&[Attachment {
            container_id: "keep".into(),
            ifname: "eth0".into(),
        }])
        .unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].container_id, "stale");
    assert!(node.cache_file("keep").exists() && !node.cache_file("stale").exists());
    assert_eq!(
        node.stdin_of("second", "GC")["cni.dev/valid-attachments"],
        json!([{"containerID":"keep","ifname":"eth0"}])
    );
    let calls = node.calls();
    assert!(
        calls.contains(&"first DEL stale eth0 /run/netns/pod1 K8S_POD_NAME=web".to_string()),
        "{calls:?}"
    );
}
