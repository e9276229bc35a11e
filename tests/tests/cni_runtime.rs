//! The runtime library driving real plugin chains in throwaway namespaces: a conflist in a temp
//! conf dir, ADD gives the pod an address, the result is cached, CHECK passes, DEL removes the
//! interface, the address and the cache entry. Run with the reference plugins and with Skiff's.

use serde_json::json;
use skiff_cni::conf::Attachment;
use skiff_cni::runtime::{AttachmentArgs, Network, NetworkConfigList, RuntimeOptions};
use skiff_tests::cni::{connect, listen, PluginDir, REFERENCE_DIR};
use skiff_tests::guard::{require, Need};
use skiff_tests::Netns;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

const NEEDS: &[Need] = &[
    Need::Root,
    Need::Tool("ip", "iproute2"),
    Need::File("/usr/lib/cni/bridge", "containernetworking-plugins"),
    Need::File("/usr/lib/cni/host-local", "containernetworking-plugins"),
    Need::File("/usr/lib/cni/loopback", "containernetworking-plugins"),
];

/// A node: a "host" namespace where plugins run, a conf dir, a cache dir and IPAM data.
struct Node {
    host: Netns,
    dirs: tempfile::TempDir,
}

impl Node {
    fn new() -> Self {
        let dirs = tempfile::tempdir().unwrap();
        for d in ["net.d", "cache", "ipam"] {
            std::fs::create_dir(dirs.path().join(d)).unwrap();
        }
        Self {
            host: Netns::new(),
            dirs,
        }
    }

    fn dir(&self, d: &str) -> PathBuf {
        self.dirs.path().join(d)
    }

    /// Writes a bridge + host-local chain, followed by the reference loopback plugin when
    /// `loopback` (it speaks CNI up to 1.0.0), and loads it back from the conf dir.
    fn network(
        &self,
        bridge: &str,
        ipam: &str,
        versions: serde_json::Value,
        loopback: bool,
        cni_path: Vec<PathBuf>,
    ) -> Network {
        let mut plugins = vec![json!({
            "type": bridge,
            "bridge": "rt0",
            "isGateway": true,
            "ipMasq": false,
            "ipam": {
                "type": ipam,
                "ranges": [[{"subnet": "10.77.0.0/24"}]],
                "dataDir": self.dir("ipam"),
            }
        })];
        if loopback {
            plugins.push(json!({"type": "loopback"}));
        }
        let conflist = json!({
            "cniVersion": "1.0.0",
            "cniVersions": versions,
            "name": "rtnet",
            "plugins": plugins,
        });
        std::fs::write(
            self.dir("net.d").join("10-rtnet.conflist"),
            conflist.to_string(),
        )
        .unwrap();
        let config = NetworkConfigList::load_dir(&self.dir("net.d"), Some("rtnet")).unwrap();
        Network::new(
            config,
            RuntimeOptions {
                cni_path,
                cache_dir: self.dir("cache"),
                ..RuntimeOptions::default()
            },
        )
    }

    fn cache_file(&self, pod: &Netns) -> PathBuf {
        self.dir("cache")
            .join(format!("results/rtnet-{}-eth0", pod.name()))
    }

    fn allocation(&self, ip: IpAddr) -> PathBuf {
        self.dir("ipam").join("rtnet").join(ip.to_string())
    }
}

fn attachment(pod: &Netns) -> AttachmentArgs {
    let mut a = AttachmentArgs::new(pod.name(), Some(pod.path()), "eth0");
    // As the kubelet sends them: plugins reject unknown args without IgnoreUnknown.
    a.cni_args = vec![
        ("IgnoreUnknown".into(), "1".into()),
        ("K8S_POD_NAME".into(), "web".into()),
    ];
    a
}

/// ADD, traffic to the gateway, CHECK, DEL: the whole life of one attachment.
fn attach_check_detach(node: &Node, network: &Network) {
    let pod = Netns::new();
    let att = attachment(&pod);
    let result = node
        .host
        .run(|| network.add(&att))
        .unwrap_or_else(|e| panic!("ADD failed: {e}"));
    let ip = result
        .ips
        .first()
        .expect("ADD result has an address")
        .address;
    assert!(
        "10.77.0.0/24"
            .parse::<ipnet::IpNet>()
            .unwrap()
            .contains(&ip.addr()),
        "{ip}"
    );
    let inside = pod.exec_ok("ip", &["-o", "addr", "show", "dev", "eth0"]);
    assert!(
        inside.contains(&ip.to_string()),
        "pod has no {ip}: {inside}"
    );
    assert!(node.cache_file(&pod).exists(), "no cache entry after ADD");
    assert!(
        node.allocation(ip.addr()).exists(),
        "no IPAM allocation after ADD"
    );

    let gateway = result.ips[0].gateway.expect("isGateway gives a gateway");
    let server = listen(&node.host, SocketAddr::new(gateway, 7070));
    connect(&pod, SocketAddr::new(gateway, 7070)).expect("pod reaches its gateway");
    drop(server);

    node.host
        .run(|| network.check(&att))
        .unwrap_or_else(|e| panic!("CHECK failed: {e}"));
    node.host
        .run(|| network.del(&att))
        .unwrap_or_else(|e| panic!("DEL failed: {e}"));
    assert!(
        !pod.exec("ip", &["link", "show", "eth0"]).status.success(),
        "eth0 survived DEL"
    );
    assert!(!node.cache_file(&pod).exists(), "cache entry survived DEL");
    assert!(
        !node.allocation(ip.addr()).exists(),
        "address still allocated after DEL"
    );
    node.host
        .run(|| network.del(&att))
        .unwrap_or_else(|e| panic!("repeated DEL failed: {e}"));
}

#[test]
#[ignore = "needs root: network namespaces, bridge and veth"]
fn reference_plugin_chain_attaches_checks_and_detaches_a_pod() {
    require(NEEDS);
    let node = Node::new();
    let network = node.network(
        "bridge",
        "host-local",
        json!([]),
        true,
        vec![PathBuf::from(REFERENCE_DIR)],
    );
    attach_check_detach(&node, &network);
}

#[test]
#[ignore = "needs root: network namespaces, bridge and veth"]
fn skiff_plugin_chain_attaches_checks_and_detaches_a_pod() {
    require(NEEDS);
    let node = Node::new();
    let plugins = PluginDir::new();
    let network = node.network(
        "skiff-bridge",
        "skiff-host-local",
        json!([]),
        true,
        vec![plugins.path().to_path_buf()],
    );
    attach_check_detach(&node, &network);
}

#[test]
#[ignore = "needs root: network namespaces, bridge and veth"]
fn skiff_bridge_at_cni_1_1_0_reports_status_and_attaches_a_pod() {
    require(NEEDS);
    let node = Node::new();
    let plugins = PluginDir::new();
    let network = node.network(
        "skiff-bridge",
        "skiff-host-local",
        json!(["1.0.0", "1.1.0"]),
        false,
        vec![plugins.path().to_path_buf()],
    );
    assert_eq!(network.config().cni_version.as_str(), "1.1.0");
    node.host
        .run(|| network.status())
        .unwrap_or_else(|e| panic!("STATUS failed: {e}"));
    attach_check_detach(&node, &network);
}

#[test]
#[ignore = "needs root: network namespaces, bridge and veth"]
fn skiff_bridge_gc_detaches_stale_pods_only() {
    require(NEEDS);
    let node = Node::new();
    let plugins = PluginDir::new();
    let network = node.network(
        "skiff-bridge",
        "skiff-host-local",
        json!(["1.0.0", "1.1.0"]),
        false,
        vec![plugins.path().to_path_buf()],
    );
    let (kept, stale) = (Netns::new(), Netns::new());
    let kept_ip = node
        .host
        .run(|| network.add(&attachment(&kept)))
        .unwrap()
        .ips[0]
        .address
        .addr();
    let stale_ip = node
        .host
        .run(|| network.add(&attachment(&stale)))
        .unwrap()
        .ips[0]
        .address
        .addr();
    let valid = [Attachment {
        container_id: kept.name().into(),
        ifname: "eth0".into(),
    }];
    let removed = node
        .host
        .run(|| network.gc(&valid))
        .unwrap_or_else(|e| panic!("GC failed: {e}"));
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].container_id, stale.name());
    assert!(node.cache_file(&kept).exists() && node.allocation(kept_ip).exists());
    assert!(!node.cache_file(&stale).exists() && !node.allocation(stale_ip).exists());
    assert!(
        !stale.exec("ip", &["link", "show", "eth0"]).status.success(),
        "stale eth0 survived GC"
    );
    node.host.run(|| network.del(&attachment(&kept))).unwrap();
    assert!(!Path::new(&node.allocation(kept_ip)).exists());
}
