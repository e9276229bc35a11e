//! The real `skiff-bridge` binary end to end, with the reference `host-local` as IPAM, run
//! inside a throwaway "host" namespace against throwaway "pod" namespaces.

use skiff_tests::cni::{connect, listen, result_ip, Call, Host};
use skiff_tests::guard::{require, Need};
use skiff_tests::Netns;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

const NEEDS: &[Need] = &[
    Need::Root,
    Need::Tool("ip", "iproute2"),
    Need::File("/usr/lib/cni/host-local", "containernetworking-plugins"),
    Need::File("/usr/lib/x86_64-linux-gnu/libnftables.so.1", "libnftables1"),
];

const NETWORK: &str = "bpnet";
const BRIDGE: &str = "skb0";

fn conf(host: &Host, extra: serde_json::Value) -> serde_json::Value {
    let mut c = serde_json::json!({
        "cniVersion": "1.0.0",
        "name": NETWORK,
        "type": "skiff-bridge",
        "bridge": BRIDGE,
        "isDefaultGateway": true,
        "ipam": {
            "type": "host-local",
            "ranges": [[{ "subnet": "10.89.0.0/24" }]],
            "dataDir": host.data.path(),
        }
    });
    if let serde_json::Value::Object(extra) = extra {
        c.as_object_mut().unwrap().extend(extra);
    }
    c
}

fn del(
    host: &Host,
    container_id: &str,
    netns: Option<&Path>,
    conf: &serde_json::Value,
) -> skiff_tests::cni::Reply {
    host.del("skiff-bridge", container_id, netns, "eth0", conf)
}

/// Allocation files (named by address) of the network.
fn allocations(host: &Host) -> Vec<String> {
    host.allocations(NETWORK)
}

/// Links of the host namespace other than loopback and the bridge.
fn host_veths(host: &Host) -> Vec<String> {
    host.ns
        .exec_ok("ip", &["-o", "link", "show", "type", "veth"])
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_string())
        .collect()
}

#[test]
#[ignore = "needs root: network namespaces, bridges, veths"]
fn add_check_del_round_trip_with_reference_host_local() {
    require(NEEDS);
    let host = Host::new();
    let pod = Netns::new();
    let conf = conf(&host, serde_json::json!({}));
    let r = host.add("skiff-bridge", &pod, "eth0", &conf).ok();

    // Result shape: bridge, host veth, container interface with its sandbox.
    let ifaces = r["interfaces"].as_array().expect("interfaces");
    assert_eq!(ifaces.len(), 3, "{r}");
    assert_eq!(ifaces[0]["name"], BRIDGE);
    let veth = ifaces[1]["name"].as_str().unwrap().to_string();
    assert!(veth.starts_with("sk") && veth.len() == 15, "{veth}");
    assert_eq!(ifaces[2]["name"], "eth0");
    assert_eq!(ifaces[2]["sandbox"], pod.path().display().to_string());
    assert!(
        ifaces.iter().all(|i| i.get("mtu").is_none()),
        "1.0.0 results have no mtu"
    );
    assert_eq!(r["ips"][0]["interface"], 2);
    assert_eq!(r["ips"][0]["gateway"], "10.89.0.1");
    let ip = result_ip(&r, 4);

    // Kernel state: the pod has its address and default route; the veth is a bridge port.
    let addrs = pod.exec_ok("ip", &["-o", "-4", "addr", "show", "dev", "eth0"]);
    assert!(addrs.contains(&format!("{ip}/24")), "{addrs}");
    let routes = pod.exec_ok("ip", &["route", "show", "default"]);
    assert!(routes.contains("via 10.89.0.1 dev eth0"), "{routes}");
    let port = host
        .ns
        .exec_ok("ip", &["-o", "link", "show", "master", BRIDGE]);
    assert!(port.contains(&veth), "{port}");

    // The pod reaches its gateway (traffic stays inside the test's namespaces).
    let gw: IpAddr = "10.89.0.1".parse().unwrap();
    let l = listen(&host.ns, SocketAddr::new(gw, 8090));
    connect(&pod, SocketAddr::new(gw, 8090)).expect("pod reaches its gateway");
    assert_eq!(l.accept().unwrap().1.ip(), ip);

    let mut check = conf.clone();
    check["prevResult"] = r.clone();
    let path = pod.path();
    let call = Call {
        command: "CHECK",
        container_id: pod.name(),
        netns: Some(&path),
        ifname: "eth0",
    };
    host.call("skiff-bridge", &call, &check).ok();

    del(&host, pod.name(), Some(&path), &conf).ok();
    assert!(host_veths(&host).is_empty(), "veth left behind");
    assert!(pod.exec("ip", &["link", "show", "eth0"]).status.code() != Some(0));
    assert!(allocations(&host).is_empty(), "allocation left behind");
    del(&host, pod.name(), Some(&path), &conf).ok();
    del(&host, pod.name(), None, &conf).ok();
}

#[test]
#[ignore = "needs root: network namespaces, bridges, veths"]
fn del_with_empty_netns_removes_the_veth_and_the_allocation() {
    require(NEEDS);
    let host = Host::new();
    let pod = Netns::new();
    let conf = conf(&host, serde_json::json!({}));
    host.add("skiff-bridge", &pod, "eth0", &conf).ok();
    assert_eq!(host_veths(&host).len(), 1);
    del(&host, pod.name(), None, &conf).ok();
    assert!(host_veths(&host).is_empty());
    assert!(allocations(&host).is_empty());
}

#[test]
#[ignore = "needs root: network namespaces"]
fn unknown_config_field_is_code_2() {
    require(NEEDS);
    let host = Host::new();
    let pod = Netns::new();
    let msg = host
        .add(
            "skiff-bridge",
            &pod,
            "eth0",
            &conf(&host, serde_json::json!({ "bridgeName": "x" })),
        )
        .err(2);
    assert!(msg.contains("bridgeName"), "{msg}");
    assert!(allocations(&host).is_empty());
}

#[test]
#[ignore = "needs root: network namespaces, bridges, veths"]
fn taken_interface_name_is_code_4_and_leaves_nothing() {
    require(NEEDS);
    let host = Host::new();
    let pod = Netns::new();
    // Something else already uses eth0 (this kernel has no dummy module; a veth pair will do).
    pod.exec_ok(
        "ip",
        &[
            "link", "add", "eth0", "type", "veth", "peer", "name", "other0",
        ],
    );
    let conf = conf(&host, serde_json::json!({}));
    let msg = host.add("skiff-bridge", &pod, "eth0", &conf).err(4);
    assert!(msg.contains("eth0"), "{msg}");
    assert!(host_veths(&host).is_empty(), "veth left behind");
    assert!(allocations(&host).is_empty(), "allocation left behind");
    let eth0 = pod.exec_ok("ip", &["link", "show", "eth0"]);
    assert!(
        eth0.contains("eth0@other0"),
        "the existing interface is untouched: {eth0}"
    );
}

#[test]
#[ignore = "needs root: network namespaces"]
fn nonexistent_netns_is_code_3_and_allocates_nothing() {
    require(NEEDS);
    let host = Host::new();
    let conf = conf(&host, serde_json::json!({}));
    let gone = Path::new("/run/netns/skiff-no-such-netns");
    let call = Call {
        command: "ADD",
        container_id: "c-gone",
        netns: Some(gone),
        ifname: "eth0",
    };
    let msg = host.call("skiff-bridge", &call, &conf).err(3);
    assert!(msg.contains("skiff-no-such-netns"), "{msg}");
    assert!(allocations(&host).is_empty(), "allocation left behind");
    assert!(host_veths(&host).is_empty());
}
