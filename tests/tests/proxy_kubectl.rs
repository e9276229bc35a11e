//! With the API server: a Service without a Deployment and a hand-written EndpointSlice,
//! created with kubectl, are programmed by `skiff-proxy` (nftables mode) running in a network
//! namespace of its own, and traffic to the ClusterIP reaches the backend in another namespace.
//!
//! Topology: namespace `node` runs the proxy and the client; namespace `pod` holds the backend
//! (10.99.0.2:8080) behind a veth pair. The proxy reaches the API server on the host's loopback
//! through a relay: a listener on 127.0.0.1:<port> inside `node` copying bytes to the host's
//! 127.0.0.1:<port>, so the admin kubeconfig works unchanged.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use skiff_tests::apiserver::{free_port, ApiServer, Kubectl};
use skiff_tests::cni::{connect, listen, workspace_bin};
use skiff_tests::guard::{require, Need};
use skiff_tests::traffic::{eventually, serve_tcp, Client};
use skiff_tests::Netns;

const CLUSTER_IP: &str = "10.43.0.50";
const BACKEND: &str = "10.99.0.2";
const GREETING: &str = "hello from the backend";

const SERVICE: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: default}
spec:
  clusterIP: 10.43.0.50
  ports:
  - {name: tcp, port: 80, targetPort: 8080, protocol: TCP}
"#;

const SLICE: &str = r#"
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: echo-manual
  namespace: default
  labels: {kubernetes.io/service-name: echo, endpointslice.kubernetes.io/managed-by: skiff-tests}
addressType: IPv4
ports:
- {name: tcp, port: 8080, protocol: TCP}
endpoints:
- addresses: [10.99.0.2]
  nodeName: node-a
  conditions: {ready: true}
"#;

/// The proxy process; killed on drop, its log printed when the test fails.
struct Proxy {
    child: Child,
    log: std::path::PathBuf,
}

impl Proxy {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("skiff-proxy log:\n{}", self.log());
        }
    }
}

/// Copies every connection accepted on `inside` (a socket of another namespace) to the host's
/// `target`, both ways, on background threads.
fn relay(inside: TcpListener, target: SocketAddr) {
    std::thread::spawn(move || {
        for conn in inside.incoming() {
            let Ok(down) = conn else { return };
            let Ok(up) = TcpStream::connect(target) else {
                continue;
            };
            for (mut from, mut to) in [
                (down.try_clone().unwrap(), up.try_clone().unwrap()),
                (up, down),
            ] {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(std::net::Shutdown::Write);
                });
            }
        }
    });
}

/// Connects from `ns` to `addr` and reads the greeting, if any.
fn greeting(ns: &Netns, addr: &str) -> Option<String> {
    Client::new(ns).connect(addr).ok().map(|(_, line)| line)
}

/// One GET from inside `ns`; (status, body).
fn http_get(ns: &Netns, addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = connect(ns, addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let status = text.get(9..12)?.parse().ok()?;
    Some((status, text.split_once("\r\n\r\n")?.1.to_string()))
}

/// Polls `check` until it holds; panics with the proxy's log on timeout or when it exits.
fn wait_for(what: &str, proxy: &mut Proxy, timeout: Duration, mut check: impl FnMut() -> bool) {
    let happened = eventually(timeout, Duration::from_millis(200), || {
        if let Ok(Some(status)) = proxy.child.try_wait() {
            panic!(
                "skiff-proxy exited ({status}) before {what}:\n{}",
                proxy.log()
            );
        }
        check()
    });
    assert!(
        happened,
        "{what} did not happen; proxy log:\n{}",
        proxy.log()
    );
}

#[test]
#[ignore = "needs root: network namespaces, nftables, the skiff-control-plane and skiff-proxy binaries, kubectl"]
fn service_and_endpointslice_from_kubectl_carry_traffic_through_the_proxy() {
    require(&[
        Need::Root,
        Need::Tool("ip", "iproute2"),
        Need::File(
            "/usr/lib/google-cloud-sdk/bin/kubectl.1.33",
            "google-cloud-sdk (kubectl 1.33)",
        ),
    ]);
    let proxy_bin = workspace_bin("skiff-proxy");
    let server = ApiServer::start();
    let kubectl = Kubectl::new("1.33", &server);

    let node = Netns::new();
    let pod = Netns::new();
    node.exec_ok(
        "ip",
        &[
            "link",
            "add",
            "vn0",
            "type",
            "veth",
            "peer",
            "name",
            "vp0",
            "netns",
            pod.name(),
        ],
    );
    node.exec_ok("ip", &["addr", "add", "10.99.0.1/24", "dev", "vn0"]);
    node.exec_ok("ip", &["link", "set", "vn0", "up"]);
    // Cluster IPs route toward the pod side, as a node's default route would carry them.
    node.exec_ok(
        "ip",
        &[
            "route",
            "add",
            "10.43.0.0/16",
            "dev",
            "vn0",
            "src",
            "10.99.0.1",
        ],
    );
    pod.exec_ok(
        "ip",
        &["addr", "add", &format!("{BACKEND}/24"), "dev", "vp0"],
    );
    pod.exec_ok("ip", &["link", "set", "vp0", "up"]);
    serve_tcp(
        GREETING,
        listen(&pod, format!("{BACKEND}:8080").parse().unwrap()),
    );

    // The API server's loopback port, reachable from inside `node`.
    let api_port: u16 = server.url().rsplit(':').next().unwrap().parse().unwrap();
    let api_addr = SocketAddr::from(([127, 0, 0, 1], api_port));
    relay(listen(&node, api_addr), api_addr);

    let healthz = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("proxy.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let child = Command::new("ip")
        .args(["netns", "exec", node.name()])
        .arg(&proxy_bin)
        .arg("--kubeconfig")
        .arg(server.kubeconfig())
        .args([
            "--proxy-mode=nftables",
            "--hostname-override=node-a",
            "--node-ip=10.99.0.1",
            "--cluster-cidr=10.99.0.0/24",
            "--sync-period=5s",
            "--min-sync-period=100ms",
        ])
        .arg(format!("--healthz-bind-address={healthz}"))
        .arg(format!("--metrics-bind-address={metrics}"))
        .env("RUST_LOG", "info,skiff_proxy=debug")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .expect("start skiff-proxy");
    let mut proxy = Proxy { child, log };

    // Healthy once the first (empty) sync is done.
    wait_for(
        "the proxy's first sync",
        &mut proxy,
        Duration::from_secs(60),
        || {
            http_get(&node, healthz, "/healthz").is_some_and(|(code, body)| {
                code == 200
                    && body.contains(r#""nodeEligible":true"#)
                    && !body.contains(r#""lastUpdated":"""#)
            })
        },
    );

    kubectl.ok_stdin(&["create", "-f", "-"], SERVICE);
    kubectl.ok_stdin(&["create", "-f", "-"], SLICE);
    let service = format!("{CLUSTER_IP}:80");
    wait_for(
        "traffic to the ClusterIP reaching the backend",
        &mut proxy,
        Duration::from_secs(30),
        || greeting(&node, &service).as_deref() == Some(GREETING),
    );

    let (code, text) = http_get(&node, metrics, "/metrics").expect("metrics answer");
    assert_eq!(code, 200);
    let objects: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("skiff_proxy_objects_programmed "))
        .expect("objects gauge")
        .parse()
        .unwrap();
    assert!(objects > 0, "{text}");
    assert!(text.contains("kubeproxy_sync_proxy_rules_duration_seconds_count"));

    // Without endpoints the ClusterIP stops answering with the backend's greeting.
    kubectl.ok(&["delete", "endpointslice", "echo-manual"]);
    wait_for(
        "the ClusterIP losing its endpoint",
        &mut proxy,
        Duration::from_secs(30),
        || greeting(&node, &service).as_deref() != Some(GREETING),
    );
}
