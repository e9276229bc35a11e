//! The nftables dataplane of skiff-proxy against the real kernel: a "node" namespace runs the
//! dataplane in-process, a client namespace sends traffic to cluster IPs and node ports, and a
//! backend namespace holds TCP and UDP listeners on several addresses. Every address lives in
//! namespaces the test creates.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use skiff_proxy::dataplane::{Changes, Dataplane};
use skiff_proxy::model::{Endpoint, Protocol, ServiceModel, ServicePort, ServicePortName};
use skiff_proxy::nft::{NftConfig, NftDataplane};
use skiff_tests::guard::{require, Need};
use skiff_tests::Netns;

const NODE_IP: &str = "10.200.1.1";
const BACKENDS: [&str; 3] = ["10.200.2.11", "10.200.2.12", "10.200.2.13"];
const BACKEND_PORT: u16 = 8080;
const TIMEOUT: Duration = Duration::from_secs(3);

fn preconditions() {
    require(&[
        Need::Root,
        Need::Tool("ip", "iproute2"),
        Need::Tool("nft", "nftables"),
        Need::File("/usr/lib/x86_64-linux-gnu/libnftables.so.1", "libnftables1"),
    ]);
}

/// Client, node and backend namespaces: client 10.200.1.2 — node 10.200.1.1 / 10.200.2.1 —
/// backends 10.200.2.11-13, with listeners that answer with their own address.
struct Topology {
    node: Netns,
    client: Netns,
    backend: Netns,
}

impl Topology {
    fn new() -> Self {
        let node = Netns::new();
        let client = Netns::new();
        let backend = Netns::new();
        let link = |a: &Netns, ifa: &str, b: &Netns, ifb: &str| {
            node.exec_ok(
                "ip",
                &[
                    "link",
                    "add",
                    ifa,
                    "netns",
                    a.name(),
                    "type",
                    "veth",
                    "peer",
                    "name",
                    ifb,
                    "netns",
                    b.name(),
                ],
            );
        };
        link(&client, "c0", &node, "n0");
        link(&node, "n1", &backend, "b0");
        client.exec_ok("ip", &["addr", "add", "10.200.1.2/24", "dev", "c0"]);
        client.exec_ok("ip", &["link", "set", "c0", "up"]);
        client.exec_ok("ip", &["route", "add", "default", "via", NODE_IP]);
        node.exec_ok("ip", &["addr", "add", "10.200.1.1/24", "dev", "n0"]);
        node.exec_ok("ip", &["addr", "add", "10.200.2.1/24", "dev", "n1"]);
        node.exec_ok("ip", &["link", "set", "n0", "up"]);
        node.exec_ok("ip", &["link", "set", "n1", "up"]);
        // A real node has a default route; packets to a cluster IP without endpoints are then
        // forwarded (and rejected) rather than unroutable.
        node.exec_ok("ip", &["route", "add", "default", "via", BACKENDS[0]]);
        node.exec_ok("sysctl", &["-qw", "net.ipv4.ip_forward=1"]);
        for ip in BACKENDS {
            backend.exec_ok("ip", &["addr", "add", &format!("{ip}/24"), "dev", "b0"]);
        }
        backend.exec_ok("ip", &["link", "set", "b0", "up"]);
        backend.exec_ok("ip", &["route", "add", "default", "via", "10.200.2.1"]);
        let sockets = backend.run(|| {
            BACKENDS
                .iter()
                .map(|ip| {
                    let addr: SocketAddr = format!("{ip}:{BACKEND_PORT}").parse().unwrap();
                    (
                        ip.to_string(),
                        TcpListener::bind(addr).unwrap(),
                        UdpSocket::bind(addr).unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        });
        for (ip, tcp, udp) in sockets {
            let name = ip.clone();
            std::thread::spawn(move || serve_tcp(&name, tcp));
            std::thread::spawn(move || serve_udp(&ip, udp));
        }
        Self {
            node,
            client,
            backend,
        }
    }

    /// Starts a dataplane in the node namespace (load, then sync of `model`).
    fn start(&self, model: &ServiceModel) -> NftDataplane {
        self.node.run(|| {
            let mut dp = NftDataplane::new(NftConfig::default()).expect("libnftables");
            dp.load().expect("load");
            let report = dp.sync(model, &Changes::All).expect("sync");
            assert!(report.failures.is_empty(), "{report:?}");
            dp
        })
    }

    fn sync(&self, dp: &mut NftDataplane, model: &ServiceModel) -> usize {
        self.node.run(|| {
            let report = dp.sync(model, &Changes::All).expect("sync");
            assert!(report.failures.is_empty(), "{report:?}");
            report.changes
        })
    }

    /// A TCP connection from the client and the backend's first line.
    fn connect(&self, to: &str) -> std::io::Result<(BufReader<TcpStream>, String)> {
        connect_from(&self.client, to)
    }
}

/// A TCP connection from `ns` and the backend's first line.
fn connect_from(ns: &Netns, to: &str) -> std::io::Result<(BufReader<TcpStream>, String)> {
    let addr: SocketAddr = to.parse().unwrap();
    let stream = ns.run(|| TcpStream::connect_timeout(&addr, TIMEOUT))?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    Ok((reader, line.trim().to_string()))
}

impl Topology {
    /// Which backends `n` fresh TCP connections to `to` reached.
    fn tcp_backends(&self, to: &str, n: usize) -> BTreeSet<String> {
        (0..n)
            .map(|_| self.connect(to).unwrap_or_else(|e| panic!("{to}: {e}")).1)
            .collect()
    }

    /// Which backends `n` datagrams from fresh sockets to `to` reached.
    fn udp_backends(&self, to: &str, n: usize) -> BTreeSet<String> {
        let addr: SocketAddr = to.parse().unwrap();
        (0..n)
            .map(|_| {
                let sock = self.client.run(|| UdpSocket::bind("0.0.0.0:0")).unwrap();
                sock.set_read_timeout(Some(TIMEOUT)).unwrap();
                sock.send_to(b"who\n", addr).unwrap();
                let mut buf = [0u8; 64];
                let (len, _) = sock
                    .recv_from(&mut buf)
                    .unwrap_or_else(|e| panic!("{to}: {e}"));
                String::from_utf8_lossy(&buf[..len]).trim().to_string()
            })
            .collect()
    }
}

fn serve_tcp(name: &str, listener: TcpListener) {
    for stream in listener.incoming().flatten() {
        let name = name.to_string();
        std::thread::spawn(move || {
            let mut writer = stream.try_clone().unwrap();
            if writeln!(writer, "{name}").is_err() {
                return;
            }
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { return };
                if writeln!(writer, "{name} {line}").is_err() {
                    return;
                }
            }
        });
    }
}

fn serve_udp(name: &str, sock: UdpSocket) {
    let mut buf = [0u8; 64];
    while let Ok((_, from)) = sock.recv_from(&mut buf) {
        let _ = sock.send_to(format!("{name}\n").as_bytes(), from);
    }
}

fn port_name(svc: &str, protocol: Protocol) -> ServicePortName {
    ServicePortName {
        namespace: "default".into(),
        name: svc.into(),
        port: "p".into(),
        protocol,
    }
}

fn service(svc: &str, protocol: Protocol, cluster_ip: &str, backends: &[&str]) -> ServicePort {
    let eps: Vec<Endpoint> = backends
        .iter()
        .map(|ip| Endpoint {
            ip: ip.parse().unwrap(),
            port: BACKEND_PORT,
            ready: true,
            serving: true,
            terminating: false,
            local: false,
        })
        .collect();
    ServicePort {
        name: port_name(svc, protocol),
        cluster_ips: vec![cluster_ip.parse().unwrap()],
        port: 80,
        protocol,
        node_port: None,
        external_ips: vec![],
        load_balancer_ips: vec![],
        affinity_timeout: None,
        external_local: false,
        internal_local: false,
        health_check_node_port: None,
        cluster_endpoints: eps.clone(),
        external_endpoints: eps,
        local_ready_endpoints: 0,
    }
}

fn model(ports: impl IntoIterator<Item = ServicePort>) -> ServiceModel {
    let mut m = ServiceModel::default();
    for p in ports {
        m.ports.insert(p.name.clone(), p);
    }
    m
}

fn all_backends() -> BTreeSet<String> {
    BACKENDS.iter().map(|s| s.to_string()).collect()
}

#[test]
#[ignore = "needs root: network namespaces and nftables"]
fn cluster_ip_and_node_port_reach_every_backend() {
    preconditions();
    let topo = Topology::new();
    let mut web = service("web", Protocol::Tcp, "10.43.0.10", &BACKENDS);
    web.node_port = Some(30080);
    let _dp = topo.start(&model([web]));
    assert_eq!(topo.tcp_backends("10.43.0.10:80", 60), all_backends());
    assert_eq!(
        topo.tcp_backends(&format!("{NODE_IP}:30080"), 60),
        all_backends()
    );
}

#[test]
#[ignore = "needs root: network namespaces and nftables"]
fn udp_cluster_ip_reaches_every_backend() {
    preconditions();
    let topo = Topology::new();
    let dns = service("dns", Protocol::Udp, "10.43.0.53", &BACKENDS);
    let _dp = topo.start(&model([dns]));
    assert_eq!(topo.udp_backends("10.43.0.53:80", 60), all_backends());
}

#[test]
#[ignore = "needs root: network namespaces and nftables"]
fn client_ip_affinity_sticks_to_one_backend() {
    preconditions();
    let topo = Topology::new();
    let mut web = service("web", Protocol::Tcp, "10.43.0.10", &BACKENDS);
    web.affinity_timeout = Some(Duration::from_secs(600));
    let _dp = topo.start(&model([web]));
    let seen = topo.tcp_backends("10.43.0.10:80", 30);
    assert_eq!(seen.len(), 1, "{seen:?}");
}

#[test]
#[ignore = "needs root: network namespaces and nftables"]
fn removing_an_endpoint_drains_it_from_new_connections() {
    preconditions();
    let topo = Topology::new();
    let mut web = service("web", Protocol::Tcp, "10.43.0.10", &BACKENDS);
    web.node_port = Some(30080);
    let mut dp = topo.start(&model([web]));
    assert_eq!(topo.tcp_backends("10.43.0.10:80", 60), all_backends());
    let mut fewer = service("web", Protocol::Tcp, "10.43.0.10", &BACKENDS[..2]);
    fewer.node_port = Some(30080);
    assert!(topo.sync(&mut dp, &model([fewer])) > 0);
    let expected: BTreeSet<String> = BACKENDS[..2].iter().map(|s| s.to_string()).collect();
    assert_eq!(topo.tcp_backends("10.43.0.10:80", 60), expected);
    assert_eq!(topo.tcp_backends(&format!("{NODE_IP}:30080"), 60), expected);
}

#[test]
#[ignore = "needs root: network namespaces and nftables"]
fn restart_keeps_an_established_connection_and_changes_nothing() {
    preconditions();
    let topo = Topology::new();
    let mut web = service("web", Protocol::Tcp, "10.43.0.10", &BACKENDS);
    web.node_port = Some(30080);
    web.affinity_timeout = Some(Duration::from_secs(600));
    // A port without affinity lives in the shared chains and the endpoint maps.
    let mut plain = service("plain", Protocol::Tcp, "10.43.0.11", &BACKENDS);
    plain.node_port = Some(30081);
    let m = model([web, plain]);
    let dp = topo.start(&m);
    let (mut conn, backend) = topo.connect("10.43.0.10:80").unwrap();
    let (mut plain_conn, plain_backend) = topo.connect("10.43.0.11:80").unwrap();
    drop(dp);
    // A new process: reads the table and reconciles the same model.
    let mut dp = topo.node.run(|| {
        let mut dp = NftDataplane::new(NftConfig::default()).unwrap();
        dp.load().unwrap();
        dp
    });
    assert_eq!(
        topo.sync(&mut dp, &m),
        0,
        "a restart rewrote programmed objects"
    );
    writeln!(conn.get_mut(), "still there").unwrap();
    let mut line = String::new();
    conn.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), format!("{backend} still there"));
    writeln!(plain_conn.get_mut(), "still there").unwrap();
    let mut line = String::new();
    plain_conn.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), format!("{plain_backend} still there"));
    assert_eq!(
        topo.tcp_backends(&format!("{NODE_IP}:30081"), 30),
        all_backends()
    );
    // Affinity survived too: new connections go where the first one went.
    assert_eq!(
        topo.tcp_backends("10.43.0.10:80", 10),
        BTreeSet::from([backend])
    );
}

#[test]
#[ignore = "needs root: network namespaces and nftables"]
fn service_without_endpoints_refuses_connections() {
    preconditions();
    let topo = Topology::new();
    let mut empty = service("empty", Protocol::Tcp, "10.43.0.30", &[]);
    empty.node_port = Some(30030);
    let _dp = topo.start(&model([empty]));
    for to in ["10.43.0.30:80", &format!("{NODE_IP}:30030")] {
        let err = topo
            .connect(to)
            .map(|(_, b)| b)
            .expect_err("connected without endpoints");
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{to}: {err}");
    }
}

#[test]
#[ignore = "needs root: network namespaces and nftables"]
fn an_endpoint_reaches_its_own_service_through_hairpin_masquerade() {
    preconditions();
    let topo = Topology::new();
    let web = service("web", Protocol::Tcp, "10.43.0.10", &BACKENDS[..1]);
    let _dp = topo.start(&model([web]));
    // The backend namespace's first address is the only endpoint: without masquerade the
    // reply would go straight back inside the namespace and the connection would hang.
    let (_, reached) = connect_from(&topo.backend, "10.43.0.10:80").expect("hairpin");
    assert_eq!(reached, BACKENDS[0]);
}
