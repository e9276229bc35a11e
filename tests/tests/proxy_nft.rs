//! The nftables dataplane of skiff-proxy against the real kernel: a "node" namespace runs the
//! dataplane in-process, a client namespace sends traffic to cluster IPs and node ports, and a
//! backend namespace holds TCP and UDP listeners on several IPv4 and IPv6 addresses. Every
//! address lives in namespaces the test creates.

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::time::Duration;

use skiff_proxy::dataplane::Dataplane;
use skiff_proxy::model::{Protocol, ServiceModel};
use skiff_proxy::nft::{NftConfig, NftDataplane};
use skiff_tests::guard::{require, Need};
use skiff_tests::proxy_topology::{
    all_backends, dual_stack_service, model, names, service, target, Topology, BACKENDS, BACKENDS6,
    NODE_IP, NODE_IP6,
};
use skiff_tests::traffic::exchange;

fn preconditions() {
    require(&[
        Need::Root,
        Need::Tool("ip", "iproute2"),
        Need::Tool("nft", "nftables"),
        Need::File("/usr/lib/x86_64-linux-gnu/libnftables.so.1", "libnftables1"),
    ]);
}

/// The shared topology with the node's routes and forwarding the nftables dataplane needs.
fn topology() -> Topology {
    Topology::new().route_node()
}

/// A dataplane in the node namespace that has read what the kernel holds.
fn loaded(topo: &Topology) -> NftDataplane {
    topo.node.run(|| {
        let mut dp = NftDataplane::new(NftConfig::default()).expect("libnftables");
        dp.load().expect("load");
        dp
    })
}

/// Starts a dataplane in the node namespace (load, then sync of `model`).
fn start(topo: &Topology, model: &ServiceModel) -> NftDataplane {
    let mut dp = loaded(topo);
    topo.sync(&mut dp, model);
    dp
}

/// A service without endpoints on `cluster_ip`, node port 30030: connections to both are
/// refused.
fn refuses_without_endpoints(cluster_ip: &str, node_ip: &str) {
    preconditions();
    let topo = topology();
    let mut empty = service("empty", Protocol::Tcp, cluster_ip, &[]);
    empty.node_port = Some(30030);
    let _dp = start(&topo, &model([empty]));
    for to in [target(cluster_ip, 80), target(node_ip, 30030)] {
        let err = topo
            .connect(&to)
            .map(|(_, b)| b)
            .expect_err("connected without endpoints");
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{to}: {err}");
    }
}

/// `backend` is the only endpoint of `cluster_ip` and connects to it: without masquerade the
/// reply would go straight back inside the namespace and the connection would hang.
fn reaches_itself_through_hairpin(cluster_ip: &str, backend: &str) {
    preconditions();
    let topo = topology();
    let web = service("web", Protocol::Tcp, cluster_ip, &[backend]);
    let _dp = start(&topo, &model([web]));
    let (_, reached) = topo
        .connect_from_backend(&target(cluster_ip, 80))
        .expect("hairpin");
    assert_eq!(reached, backend);
}

#[test]
#[ignore = "needs root: network namespaces and nftables"]
fn cluster_ip_and_node_port_reach_every_backend() {
    preconditions();
    let topo = topology();
    let mut web = service("web", Protocol::Tcp, "10.43.0.10", &BACKENDS);
    web.node_port = Some(30080);
    let _dp = start(&topo, &model([web]));
    topo.assert_tcp_reach(
        &[target("10.43.0.10", 80), target(NODE_IP, 30080)],
        60,
        &all_backends(),
    );
}

#[test]
#[ignore = "needs root: network namespaces and nftables"]
fn udp_cluster_ip_reaches_every_backend() {
    preconditions();
    let topo = topology();
    let dns = service("dns", Protocol::Udp, "10.43.0.53", &BACKENDS);
    let _dp = start(&topo, &model([dns]));
    assert_eq!(topo.udp_backends("10.43.0.53:80", 60), all_backends());
}

#[test]
#[ignore = "needs root: network namespaces and nftables"]
fn client_ip_affinity_sticks_to_one_backend() {
    preconditions();
    let topo = topology();
    let mut web = service("web", Protocol::Tcp, "10.43.0.10", &BACKENDS);
    web.affinity_timeout = Some(Duration::from_secs(600));
    let _dp = start(&topo, &model([web]));
    let seen = topo.tcp_backends("10.43.0.10:80", 30);
    assert_eq!(seen.len(), 1, "{seen:?}");
}

#[test]
#[ignore = "needs root: network namespaces and nftables"]
fn removing_an_endpoint_drains_it_from_new_connections() {
    preconditions();
    let topo = topology();
    let mut web = service("web", Protocol::Tcp, "10.43.0.10", &BACKENDS);
    web.node_port = Some(30080);
    let mut dp = start(&topo, &model([web]));
    assert_eq!(topo.tcp_backends("10.43.0.10:80", 60), all_backends());
    let mut fewer = service("web", Protocol::Tcp, "10.43.0.10", &BACKENDS[..2]);
    fewer.node_port = Some(30080);
    assert!(topo.sync(&mut dp, &model([fewer])) > 0);
    topo.assert_tcp_reach(
        &[target("10.43.0.10", 80), target(NODE_IP, 30080)],
        60,
        &names(&BACKENDS[..2]),
    );
}

#[test]
#[ignore = "needs root: network namespaces and nftables"]
fn restart_keeps_an_established_connection_and_changes_nothing() {
    preconditions();
    let topo = topology();
    let mut web = service("web", Protocol::Tcp, "10.43.0.10", &BACKENDS);
    web.node_port = Some(30080);
    web.affinity_timeout = Some(Duration::from_secs(600));
    // A port without affinity lives in the shared chains and the endpoint maps.
    let mut plain = service("plain", Protocol::Tcp, "10.43.0.11", &BACKENDS);
    plain.node_port = Some(30081);
    let m = model([web, plain]);
    let dp = start(&topo, &m);
    let (mut conn, backend) = topo.connect("10.43.0.10:80").unwrap();
    let (mut plain_conn, plain_backend) = topo.connect("10.43.0.11:80").unwrap();
    drop(dp);
    // A new process: reads the table and reconciles the same model.
    let mut dp = loaded(&topo);
    assert_eq!(
        topo.sync(&mut dp, &m),
        0,
        "a restart rewrote programmed objects"
    );
    assert_eq!(
        exchange(&mut conn, "still there").unwrap(),
        format!("{backend} still there")
    );
    assert_eq!(
        exchange(&mut plain_conn, "still there").unwrap(),
        format!("{plain_backend} still there")
    );
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
    refuses_without_endpoints("10.43.0.30", NODE_IP);
}

#[test]
#[ignore = "needs root: network namespaces and nftables"]
fn an_endpoint_reaches_its_own_service_through_hairpin_masquerade() {
    reaches_itself_through_hairpin("10.43.0.10", BACKENDS[0]);
}

#[test]
#[ignore = "needs root: network namespaces and nftables"]
fn dual_stack_cluster_ip_and_node_port_reach_every_backend_of_each_family() {
    preconditions();
    let topo = topology();
    let mut web = dual_stack_service("web", Protocol::Tcp, "10.43.0.10", "fd00:43::10");
    web.node_port = Some(30080);
    let _dp = start(&topo, &model([web]));
    topo.assert_tcp_reach(
        &[target("fd00:43::10", 80), target(NODE_IP6, 30080)],
        60,
        &names(&BACKENDS6),
    );
    topo.assert_tcp_reach(
        &[target("10.43.0.10", 80), target(NODE_IP, 30080)],
        60,
        &all_backends(),
    );
}

#[test]
#[ignore = "needs root: network namespaces and nftables"]
fn ipv6_only_udp_cluster_ip_reaches_every_backend() {
    preconditions();
    let topo = topology();
    let dns = service("dns", Protocol::Udp, "fd00:43::53", &BACKENDS6);
    let _dp = start(&topo, &model([dns]));
    assert_eq!(topo.udp_backends("[fd00:43::53]:80", 60), names(&BACKENDS6));
}

#[test]
#[ignore = "needs root: network namespaces and nftables"]
fn ipv6_service_without_endpoints_refuses_connections() {
    refuses_without_endpoints("fd00:43::30", NODE_IP6);
}

#[test]
#[ignore = "needs root: network namespaces and nftables"]
fn an_ipv6_endpoint_reaches_its_own_service_through_hairpin_masquerade() {
    reaches_itself_through_hairpin("fd00:43::10", BACKENDS6[0]);
}
