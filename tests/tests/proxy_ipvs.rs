//! The IPVS dataplane of skiff-proxy against Debian's kernel in the VM tier: inside the guest a
//! "node" namespace runs the dataplane in-process, a client namespace sends traffic to cluster
//! IPs and node ports, a backend namespace holds listeners on several addresses. `ipvsadm`
//! shows what was programmed. Every address lives in namespaces the test creates.

use std::collections::BTreeSet;
use std::time::Duration;

use skiff_proxy::dataplane::Dataplane;
use skiff_proxy::ipvs::{IpvsConfig, IpvsDataplane};
use skiff_proxy::model::{Endpoint, Protocol};
use skiff_tests::proxy_topology::{
    all_backends, dual_stack_service, model, names, service, target, Topology, BACKENDS, BACKENDS6,
    BACKEND_PORT, NODE_IP, NODE_IP6,
};
use skiff_tests::traffic::{eventually, exchange};
use skiff_tests::vm::{self, Vm};

/// Connect and read timeout of the client: the guest runs under TCG.
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

fn topology() -> Topology {
    Topology::new().timeout(TIMEOUT)
}

/// A loaded dataplane in the node namespace with NodePorts on `node_ips`.
fn dataplane_on(topo: &Topology, node_ips: &[&str]) -> IpvsDataplane {
    topo.node.run(|| {
        let config = IpvsConfig {
            node_ips: node_ips.iter().map(|ip| ip.parse().unwrap()).collect(),
            ..IpvsConfig::default()
        };
        let mut dp = IpvsDataplane::new(config).expect("IPVS dataplane");
        dp.load().expect("load");
        dp
    })
}

/// A loaded dataplane in the node namespace with NodePorts on [`NODE_IP`].
fn dataplane(topo: &Topology) -> IpvsDataplane {
    dataplane_on(topo, &[NODE_IP])
}

fn ipvsadm(topo: &Topology) -> String {
    topo.node.exec_ok("ipvsadm", &["-Ln"])
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

/// Asserts that `ipvsadm -Ln` lists every virtual server of `servers`, that every backend of
/// `reals.1` is a masquerading real server of weight 1 under `reals.0` port 80, and that
/// `reals.0` is local on the dummy interface; returns the listing.
fn assert_programmed(topo: &Topology, servers: &[&str], reals: (&str, &[&str])) -> String {
    let listing = ipvsadm(topo);
    for vs in servers {
        assert!(listing.contains(vs), "{vs} missing:\n{listing}");
    }
    let (vip, backends) = reals;
    for ip in backends {
        let line = real_line(&listing, &target(vip, 80), &target(ip, BACKEND_PORT))
            .unwrap_or_else(|| panic!("{ip} missing:\n{listing}"));
        assert_eq!(line[2..4], ["Masq", "1"], "{line:?}");
    }
    let family = if vip.contains(':') { "-6" } else { "-4" };
    let vips = topo
        .node
        .exec_ok("ip", &[family, "route", "show", "table", "local"]);
    assert!(
        vips.contains(&format!("local {vip} dev skiff-ipvs0")),
        "{vips}"
    );
    listing
}

/// `backend`, on this node, is the only endpoint of `cluster_ip` and connects to it: without
/// masquerade the reply would stay inside its namespace and the connection would hang.
fn reaches_itself_through_hairpin(cluster_ip: &str, backend: &str) {
    let topo = topology();
    let mut dp = dataplane(&topo);
    let mut web = service("web", Protocol::Tcp, cluster_ip, &[backend]);
    // The backend namespace stands for a pod on this node.
    let local: Vec<Endpoint> = web
        .cluster_endpoints
        .iter()
        .map(|ep| Endpoint {
            local: true,
            ..ep.clone()
        })
        .collect();
    web.cluster_endpoints = local.into();
    web.external_endpoints = web.cluster_endpoints.clone();
    assert!(topo.sync(&mut dp, &model([web])) > 0);
    let (_, reached) = topo
        .connect_from_backend(&target(cluster_ip, 80))
        .expect("hairpin");
    assert_eq!(reached, backend);
}

#[test]
#[ignore = "needs the VM tier: boots Debian's kernel with ip_vs under qemu"]
fn ipvs_programs_cluster_ips_node_ports_and_affinity_and_traffic_reaches_every_backend() {
    vm::run_test(
        "ipvs_programs_cluster_ips_node_ports_and_affinity_and_traffic_reaches_every_backend",
        guest(),
        || {
            let topo = topology();
            let mut web = service("web", Protocol::Tcp, "10.43.0.10", &BACKENDS);
            web.node_port = Some(30080);
            let dns = service("dns", Protocol::Udp, "10.43.0.53", &BACKENDS);
            let mut sticky = service("sticky", Protocol::Tcp, "10.43.0.20", &BACKENDS);
            sticky.affinity_timeout = Some(Duration::from_secs(600));
            let mut dp = dataplane(&topo);
            assert!(topo.sync(&mut dp, &model([web, dns, sticky])) > 0);
            let listing = assert_programmed(
                &topo,
                &[
                    "TCP  10.43.0.10:80 rr",
                    "TCP  10.200.1.1:30080 rr",
                    "UDP  10.43.0.53:80 rr",
                ],
                ("10.43.0.10", &BACKENDS),
            );
            assert!(
                listing.contains("TCP  10.43.0.20:80 rr persistent 600"),
                "{listing}"
            );

            topo.assert_tcp_reach(
                &[target("10.43.0.10", 80), target(NODE_IP, 30080)],
                12,
                &all_backends(),
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
            let topo = topology();
            let mut dp = dataplane(&topo);
            topo.sync(
                &mut dp,
                &model([service("web", Protocol::Tcp, "10.43.0.10", &BACKENDS)]),
            );
            let (mut conn, backend) = topo.connect("10.43.0.10:80").unwrap();
            let rest: Vec<&str> = BACKENDS.iter().copied().filter(|b| *b != backend).collect();
            let fewer = model([service("web", Protocol::Tcp, "10.43.0.10", &rest)]);
            topo.sync(&mut dp, &fewer);
            let real = format!("{backend}:{BACKEND_PORT}");
            let line = real_line(&ipvsadm(&topo), "10.43.0.10:80", &real)
                .expect("draining real server kept");
            assert_eq!(line[3], "0", "weight of the draining real server: {line:?}");
            // The draining backend still serves its established connection, and no new ones.
            assert_eq!(
                exchange(&mut conn, "draining").unwrap(),
                format!("{backend} draining")
            );
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
            let deleted = eventually(Duration::from_secs(90), Duration::from_secs(2), || {
                topo.node.run(|| dp.reap_drained().expect("reap"));
                real_line(&ipvsadm(&topo), "10.43.0.10:80", &real).is_none()
            });
            assert!(
                deleted,
                "drained real server never deleted:\n{}",
                ipvsadm(&topo)
            );
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
            let topo = topology();
            let mut web = service("web", Protocol::Tcp, "10.43.0.10", &BACKENDS);
            web.node_port = Some(30080);
            web.affinity_timeout = Some(Duration::from_secs(600));
            let m = model([web, service("dns", Protocol::Udp, "10.43.0.53", &BACKENDS)]);
            let mut dp = dataplane(&topo);
            topo.sync(&mut dp, &m);
            let (mut conn, backend) = topo.connect("10.43.0.10:80").unwrap();
            let before = ipvsadm(&topo);
            drop(dp);

            let mut dp = dataplane(&topo);
            let changes = topo.sync(&mut dp, &m);
            assert_eq!(dp.kernel().writes(), 0, "a restart wrote to IPVS");
            // Only the masquerade table is rewritten (atomically) once per start.
            assert!(changes <= 1, "{changes} changes after restart");
            assert_eq!(ipvsadm(&topo), before);
            assert_eq!(
                exchange(&mut conn, "still there").unwrap(),
                format!("{backend} still there")
            );
            assert_eq!(
                topo.tcp_backends("10.43.0.10:80", 4),
                BTreeSet::from([backend])
            );
        },
    );
}

#[test]
#[ignore = "needs the VM tier: boots Debian's kernel with ip_vs under qemu"]
fn ipvs_programs_ipv6_cluster_ips_and_node_ports_and_traffic_reaches_every_ipv6_backend() {
    vm::run_test(
        "ipvs_programs_ipv6_cluster_ips_and_node_ports_and_traffic_reaches_every_ipv6_backend",
        guest(),
        || {
            let topo = topology();
            let mut web = service("web", Protocol::Tcp, "fd00:43::10", &BACKENDS6);
            web.node_port = Some(30080);
            let dual = dual_stack_service("dual", Protocol::Tcp, "10.43.0.11", "fd00:43::11");
            let dns = service("dns", Protocol::Udp, "fd00:43::53", &BACKENDS6);
            let mut dp = dataplane_on(&topo, &[NODE_IP, NODE_IP6]);
            assert!(topo.sync(&mut dp, &model([web, dual, dns])) > 0);
            assert_programmed(
                &topo,
                &[
                    "TCP  [fd00:43::10]:80 rr",
                    "TCP  [fd00:200:1::1]:30080 rr",
                    "TCP  [fd00:43::11]:80 rr",
                    "TCP  10.43.0.11:80 rr",
                    "UDP  [fd00:43::53]:80 rr",
                ],
                ("fd00:43::10", &BACKENDS6),
            );

            let v6 = names(&BACKENDS6);
            topo.assert_tcp_reach(
                &[
                    target("fd00:43::10", 80),
                    target(NODE_IP6, 30080),
                    target("fd00:43::11", 80),
                ],
                12,
                &v6,
            );
            topo.assert_tcp_reach(&[target("10.43.0.11", 80)], 12, &all_backends());
            assert_eq!(topo.udp_backends("[fd00:43::53]:80", 12), v6);
        },
    );
}

#[test]
#[ignore = "needs the VM tier: boots Debian's kernel with ip_vs under qemu"]
fn an_endpoint_reaches_its_own_service_through_hairpin_masquerade() {
    vm::run_test(
        "an_endpoint_reaches_its_own_service_through_hairpin_masquerade",
        guest(),
        || reaches_itself_through_hairpin("10.43.0.10", BACKENDS[0]),
    );
}

#[test]
#[ignore = "needs the VM tier: boots Debian's kernel with ip_vs under qemu"]
fn an_ipv6_endpoint_reaches_its_own_service_through_hairpin_masquerade() {
    vm::run_test(
        "an_ipv6_endpoint_reaches_its_own_service_through_hairpin_masquerade",
        guest(),
        || reaches_itself_through_hairpin("fd00:43::10", BACKENDS6[0]),
    );
}
