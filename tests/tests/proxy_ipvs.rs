//! The IPVS dataplane of skiff-proxy against Debian's kernel in the VM tier: inside the guest a
//! "node" namespace runs the dataplane in-process, a client namespace sends traffic to cluster
//! IPs and node ports, a backend namespace holds listeners on several addresses. `ipvsadm`
//! shows what was programmed. Every address lives in namespaces the test creates.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use skiff_proxy::dataplane::{Changes, Dataplane};
use skiff_proxy::ipvs::{IpvsConfig, IpvsDataplane};
use skiff_proxy::model::{Endpoint, Protocol, ServiceModel, ServicePort, ServicePortName};
use skiff_tests::vm::{self, Vm};
use skiff_tests::Netns;

const NODE_IP: &str = "10.200.1.1";
const BACKENDS: [&str; 3] = ["10.200.2.11", "10.200.2.12", "10.200.2.13"];
const BACKEND_PORT: u16 = 8080;
const TIMEOUT: Duration = Duration::from_secs(5);

fn guest() -> Vm {
    Vm::new()
        .modules(&[
            "veth",
            "dummy",
            "nf_conntrack",
            "nf_nat",
            "ip_vs",
            "ip_vs_rr",
            "nf_tables",
            "nft_chain_nat",
            "nft_masq",
        ])
        .programs(&["ip", "ipvsadm", "nft", "conntrack"])
}

/// Client 10.200.1.2 — node 10.200.1.1 / 10.200.2.1 — backends 10.200.2.11-13, each
/// listener answering with its own address.
struct Topology {
    node: Netns,
    client: Netns,
    _backend: Netns,
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
            _backend: backend,
        }
    }

    fn dataplane(&self) -> IpvsDataplane {
        self.node.run(|| {
            let config = IpvsConfig {
                node_ips: vec![NODE_IP.parse().unwrap()],
                ..IpvsConfig::default()
            };
            let mut dp = IpvsDataplane::new(config).expect("IPVS dataplane");
            dp.load().expect("load");
            dp
        })
    }

    fn sync(&self, dp: &mut IpvsDataplane, model: &ServiceModel) -> usize {
        self.node.run(|| {
            let report = dp.sync(model, &Changes::All).expect("sync");
            assert!(report.failures.is_empty(), "{report:?}");
            report.changes
        })
    }

    fn ipvsadm(&self) -> String {
        self.node.exec_ok("ipvsadm", &["-Ln"])
    }

    fn connect(&self, to: &str) -> std::io::Result<(BufReader<TcpStream>, String)> {
        let addr: SocketAddr = to.parse().unwrap();
        let stream = self
            .client
            .run(|| TcpStream::connect_timeout(&addr, TIMEOUT))?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        Ok((reader, line.trim().to_string()))
    }

    fn tcp_backends(&self, to: &str, n: usize) -> BTreeSet<String> {
        (0..n)
            .map(|_| self.connect(to).unwrap_or_else(|e| panic!("{to}: {e}")).1)
            .collect()
    }

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
        name: ServicePortName {
            namespace: "default".into(),
            name: svc.into(),
            port: "p".into(),
            protocol,
        },
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

/// The `ipvsadm -Ln` line of real server `real` under virtual server `vs`, split in fields.
fn real_line(listing: &str, vs: &str, real: &str) -> Option<Vec<String>> {
    let mut inside = false;
    for line in listing.lines() {
        if line.starts_with("TCP") || line.starts_with("UDP") || line.starts_with("SCTP") {
            inside = line.split_whitespace().nth(1) == Some(vs);
        } else if inside && line.trim_start().starts_with(&format!("-> {real}")) {
            return Some(line.split_whitespace().map(str::to_string).collect());
        }
    }
    None
}

#[test]
#[ignore = "needs the VM tier: boots Debian's kernel with ip_vs under qemu"]
fn ipvs_programs_cluster_ips_node_ports_and_affinity_and_traffic_reaches_every_backend() {
    vm::run_test(
        "ipvs_programs_cluster_ips_node_ports_and_affinity_and_traffic_reaches_every_backend",
        guest(),
        || {
            let topo = Topology::new();
            let mut web = service("web", Protocol::Tcp, "10.43.0.10", &BACKENDS);
            web.node_port = Some(30080);
            let dns = service("dns", Protocol::Udp, "10.43.0.53", &BACKENDS);
            let mut sticky = service("sticky", Protocol::Tcp, "10.43.0.20", &BACKENDS);
            sticky.affinity_timeout = Some(Duration::from_secs(600));
            let mut dp = topo.dataplane();
            assert!(topo.sync(&mut dp, &model([web, dns, sticky])) > 0);
            let listing = topo.ipvsadm();
            for vs in [
                "TCP  10.43.0.10:80 rr",
                "TCP  10.200.1.1:30080 rr",
                "UDP  10.43.0.53:80 rr",
            ] {
                assert!(listing.contains(vs), "{vs} missing:\n{listing}");
            }
            assert!(
                listing.contains("TCP  10.43.0.20:80 rr persistent 600"),
                "{listing}"
            );
            for ip in BACKENDS {
                let line = real_line(&listing, "10.43.0.10:80", &format!("{ip}:{BACKEND_PORT}"))
                    .unwrap_or_else(|| panic!("{ip} missing:\n{listing}"));
                assert_eq!(line[2..4], ["Masq", "1"], "{line:?}");
            }
            let vips = topo
                .node
                .exec_ok("ip", &["-4", "route", "show", "table", "local"]);
            assert!(vips.contains("local 10.43.0.10 dev skiff-ipvs0"), "{vips}");

            assert_eq!(topo.tcp_backends("10.43.0.10:80", 12), all_backends());
            assert_eq!(
                topo.tcp_backends(&format!("{NODE_IP}:30080"), 12),
                all_backends()
            );
            assert_eq!(topo.udp_backends("10.43.0.53:80", 12), all_backends());
            assert_eq!(topo.tcp_backends("10.43.0.20:80", 8).len(), 1);
        },
    );
}

#[test]
#[ignore = "needs the VM tier: boots Debian's kernel with ip_vs under qemu"]
fn removed_endpoint_gets_weight_zero_and_is_deleted_once_its_connection_is_gone() {
    vm::run_test(
        "removed_endpoint_gets_weight_zero_and_is_deleted_once_its_connection_is_gone",
        guest(),
        || {
            let topo = Topology::new();
            let mut dp = topo.dataplane();
            topo.sync(
                &mut dp,
                &model([service("web", Protocol::Tcp, "10.43.0.10", &BACKENDS)]),
            );
            let (mut conn, backend) = topo.connect("10.43.0.10:80").unwrap();
            let rest: Vec<&str> = BACKENDS.iter().copied().filter(|b| *b != backend).collect();
            let fewer = model([service("web", Protocol::Tcp, "10.43.0.10", &rest)]);
            topo.sync(&mut dp, &fewer);
            let real = format!("{backend}:{BACKEND_PORT}");
            let line = real_line(&topo.ipvsadm(), "10.43.0.10:80", &real)
                .expect("draining real server kept");
            assert_eq!(line[3], "0", "weight of the draining real server: {line:?}");
            // The draining backend still serves its established connection, and no new ones.
            writeln!(conn.get_mut(), "draining").unwrap();
            let mut echo = String::new();
            conn.read_line(&mut echo).unwrap();
            assert_eq!(echo.trim(), format!("{backend} draining"));
            let fresh = topo.tcp_backends("10.43.0.10:80", 8);
            assert!(!fresh.contains(&backend), "{fresh:?}");

            // Reset the connection: IPVS keeps a reset connection 10 s, then the real server is idle.
            let stream = conn.into_inner();
            nix::sys::socket::setsockopt(
                &stream,
                nix::sys::socket::sockopt::Linger,
                &nix::libc::linger {
                    l_onoff: 1,
                    l_linger: 0,
                },
            )
            .unwrap();
            drop(stream);
            let deadline = Instant::now() + Duration::from_secs(90);
            loop {
                topo.node.run(|| dp.reap_drained().expect("reap"));
                let listing = topo.ipvsadm();
                if real_line(&listing, "10.43.0.10:80", &real).is_none() {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "drained real server never deleted:\n{listing}"
                );
                std::thread::sleep(Duration::from_secs(2));
            }
            assert_eq!(topo.sync(&mut dp, &fewer), 0);
        },
    );
}

#[test]
#[ignore = "needs the VM tier: boots Debian's kernel with ip_vs under qemu"]
fn restart_keeps_an_established_connection_and_sends_no_ipvs_writes() {
    vm::run_test(
        "restart_keeps_an_established_connection_and_sends_no_ipvs_writes",
        guest(),
        || {
            let topo = Topology::new();
            let mut web = service("web", Protocol::Tcp, "10.43.0.10", &BACKENDS);
            web.node_port = Some(30080);
            web.affinity_timeout = Some(Duration::from_secs(600));
            let m = model([web, service("dns", Protocol::Udp, "10.43.0.53", &BACKENDS)]);
            let mut dp = topo.dataplane();
            topo.sync(&mut dp, &m);
            let (mut conn, backend) = topo.connect("10.43.0.10:80").unwrap();
            let before = topo.ipvsadm();
            drop(dp);

            let mut dp = topo.dataplane();
            let changes = topo.sync(&mut dp, &m);
            assert_eq!(dp.kernel().writes(), 0, "a restart wrote to IPVS");
            // Only the masquerade table is rewritten (atomically) once per start.
            assert!(changes <= 1, "{changes} changes after restart");
            assert_eq!(topo.ipvsadm(), before);
            writeln!(conn.get_mut(), "still there").unwrap();
            let mut line = String::new();
            conn.read_line(&mut line).unwrap();
            assert_eq!(line.trim(), format!("{backend} still there"));
            assert_eq!(
                topo.tcp_backends("10.43.0.10:80", 4),
                BTreeSet::from([backend])
            );
        },
    );
}
