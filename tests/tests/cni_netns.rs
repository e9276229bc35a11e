//! The bridge and host-local plugins against the real kernel, in network namespaces made by
//! the test: traffic, masquerade, hairpin, MTU, IPv6, concurrency, leak-free DEL and GC,
//! kill -9 mid-ADD, and interop with the reference plugins.

use skiff_tests::cni::{bridge_conf, connect, listen, result_ip, Call, Flavor, Host};
use skiff_tests::guard::{require, Need};
use skiff_tests::Netns;
use std::net::{IpAddr, SocketAddr};

const NEEDS: &[Need] = &[
    Need::Root,
    Need::Tool("ip", "iproute2"),
    Need::Tool("nft", "nftables"),
    Need::File("/usr/lib/x86_64-linux-gnu/libnftables.so.1", "libnftables1"),
    Need::File("/usr/lib/cni/bridge", "containernetworking-plugins"),
];

fn skiff_conf(host: &Host, subnets: &[&str], masq: bool) -> serde_json::Value {
    bridge_conf(
        Flavor::Skiff,
        Flavor::Skiff,
        "podnet",
        "skiff0",
        subnets,
        masq,
        host.data.path(),
    )
}

fn sa(ip: IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(ip, port)
}

/// Host-side state that DEL must restore exactly: links, addresses, routes, the nftables
/// ruleset, and the IPAM files.
fn snapshot(host: &Host, network: &str) -> String {
    let mut s = String::new();
    // Bridge timers tick on their own; everything else in `ip -d link` must come back.
    let timers = strip_timers(&host.ns.exec_ok("ip", &["-d", "-o", "link", "show"]));
    s += &timers;
    for args in [
        &["-o", "addr", "show"][..],
        &["route", "show", "table", "all"],
        &["-6", "route", "show", "table", "all"],
    ] {
        s += &host.ns.exec_ok("ip", args);
    }
    s += &host.ns.exec_ok("nft", &["list", "ruleset"]);
    let dir = host.network_dir(network);
    // last_reserved_ip moves on with every allocation, by design of host-local.
    let mut files: Vec<String> = walk(&dir)
        .into_iter()
        .filter(|p| {
            !p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("last_reserved_ip")
        })
        .map(|p| {
            let content = std::fs::read_to_string(&p).unwrap_or_default();
            format!("{} {}", p.strip_prefix(&dir).unwrap().display(), content)
        })
        .collect();
    files.sort();
    s + &files.join("\n")
}

/// Panics listing the lines that differ between two snapshots.
#[track_caller]
fn assert_same_state(before: &str, after: &str) {
    let gone: Vec<&str> = before
        .lines()
        .filter(|l| !after.lines().any(|a| a == *l))
        .collect();
    let new: Vec<&str> = after
        .lines()
        .filter(|l| !before.lines().any(|b| b == *l))
        .collect();
    assert!(
        gone.is_empty() && new.is_empty(),
        "host state differs\n--- only before:\n{}\n+++ only after:\n{}",
        gone.join("\n"),
        new.join("\n")
    );
}

/// Drops `<name>_timer <value>` pairs, which change with time alone.
fn strip_timers(text: &str) -> String {
    text.lines()
        .map(|line| {
            let mut out = Vec::new();
            let mut words = line.split_whitespace();
            while let Some(w) = words.next() {
                if w.ends_with("_timer") {
                    words.next();
                } else {
                    out.push(w);
                }
            }
            out.join(" ") + "\n"
        })
        .collect()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// IPAM allocation files (named by address) of a network.
fn allocations(host: &Host, network: &str) -> Vec<String> {
    host.allocations(network)
}

fn bridge_ports(host: &Host, bridge: &str) -> usize {
    host.ns
        .exec_ok("ip", &["-o", "link", "show", "master", bridge])
        .lines()
        .count()
}

#[test]
#[ignore = "needs root: network namespaces, bridges, nftables"]
fn pods_reach_each_other_and_the_gateway() {
    require(NEEDS);
    let host = Host::new();
    let conf = skiff_conf(&host, &["10.88.0.0/24"], false);
    let (a, b) = (Netns::new(), Netns::new());
    let ra = host.add("skiff-bridge", &a, "eth0", &conf).ok();
    let rb = host.add("skiff-bridge", &b, "eth0", &conf).ok();
    let (ip_a, ip_b) = (result_ip(&ra, 4), result_ip(&rb, 4));
    assert_ne!(ip_a, ip_b);

    let l = listen(&b, sa(ip_b, 8080));
    connect(&a, sa(ip_b, 8080)).expect("pod a reaches pod b");
    assert_eq!(
        l.accept().unwrap().1.ip(),
        ip_a,
        "pod-to-pod keeps the source address"
    );

    let gw: IpAddr = ra["ips"][0]["gateway"].as_str().unwrap().parse().unwrap();
    let l = listen(&host.ns, sa(gw, 8081));
    connect(&a, sa(gw, 8081)).expect("pod reaches its gateway");
    assert_eq!(l.accept().unwrap().1.ip(), ip_a);
}

/// An "outside" namespace behind the host: host 203.0.113.1/24 <-> outside 203.0.113.2/24.
fn outside(host: &Host) -> Netns {
    let out = Netns::new();
    host.ns.exec_ok(
        "ip",
        &[
            "link",
            "add",
            "up0",
            "type",
            "veth",
            "peer",
            "name",
            "wan0",
            "netns",
            out.name(),
        ],
    );
    host.ns
        .exec_ok("ip", &["addr", "add", "203.0.113.1/24", "dev", "up0"]);
    host.ns.exec_ok("ip", &["link", "set", "up0", "up"]);
    out.exec_ok("ip", &["addr", "add", "203.0.113.2/24", "dev", "wan0"]);
    out.exec_ok("ip", &["link", "set", "wan0", "up"]);
    out
}

#[test]
#[ignore = "needs root: network namespaces, bridges, nftables"]
fn ip_masq_rewrites_source_to_the_outside_and_not_inside_the_subnet() {
    require(NEEDS);
    let host = Host::new();
    let out = outside(&host);
    let conf = skiff_conf(&host, &["10.88.0.0/24"], true);
    let (a, b) = (Netns::new(), Netns::new());
    let ip_a = result_ip(&host.add("skiff-bridge", &a, "eth0", &conf).ok(), 4);
    let ip_b = result_ip(&host.add("skiff-bridge", &b, "eth0", &conf).ok(), 4);

    let l = listen(&out, "203.0.113.2:9000".parse().unwrap());
    connect(&a, "203.0.113.2:9000".parse().unwrap()).expect("pod reaches the outside");
    let seen = l.accept().unwrap().1.ip();
    assert_eq!(
        seen.to_string(),
        "203.0.113.1",
        "outside sees the host's address, not {ip_a}"
    );

    let l = listen(&b, sa(ip_b, 9001));
    connect(&a, sa(ip_b, 9001)).unwrap();
    assert_eq!(
        l.accept().unwrap().1.ip(),
        ip_a,
        "no masquerade inside the pod subnet"
    );
}

#[test]
#[ignore = "needs root: network namespaces, bridges, nftables"]
fn without_ip_masq_the_outside_sees_the_pod_address() {
    require(NEEDS);
    let host = Host::new();
    let out = outside(&host);
    out.exec_ok(
        "ip",
        &["route", "add", "10.88.0.0/24", "via", "203.0.113.1"],
    );
    let conf = skiff_conf(&host, &["10.88.0.0/24"], false);
    let a = Netns::new();
    let ip_a = result_ip(&host.add("skiff-bridge", &a, "eth0", &conf).ok(), 4);
    let l = listen(&out, "203.0.113.2:9000".parse().unwrap());
    connect(&a, "203.0.113.2:9000".parse().unwrap()).unwrap();
    assert_eq!(l.accept().unwrap().1.ip(), ip_a);
}

#[test]
#[ignore = "needs root: network namespaces, bridges, nftables"]
fn hairpin_mode_sets_the_port_flag() {
    require(NEEDS);
    let host = Host::new();
    let mut conf = skiff_conf(&host, &["10.88.0.0/24"], false);
    conf["hairpinMode"] = true.into();
    let a = Netns::new();
    let r = host.add("skiff-bridge", &a, "eth0", &conf).ok();
    let veth = r["interfaces"][1]["name"].as_str().unwrap().to_string();
    let link = host.ns.exec_ok("ip", &["-d", "link", "show", &veth]);
    assert!(link.contains("hairpin on"), "{link}");
}

#[test]
#[ignore = "needs root: network namespaces, bridges, nftables"]
fn mtu_applies_to_bridge_veth_and_pod() {
    require(NEEDS);
    let host = Host::new();
    let mut conf = skiff_conf(&host, &["10.88.0.0/24"], false);
    conf["mtu"] = 1400.into();
    conf["cniVersion"] = "1.1.0".into();
    let a = Netns::new();
    let r = host.add("skiff-bridge", &a, "eth0", &conf).ok();
    assert!(a
        .exec_ok("ip", &["link", "show", "eth0"])
        .contains("mtu 1400"));
    assert!(host
        .ns
        .exec_ok("ip", &["link", "show", "skiff0"])
        .contains("mtu 1400"));
    let veth = r["interfaces"][1]["name"].as_str().unwrap();
    assert!(host
        .ns
        .exec_ok("ip", &["link", "show", veth])
        .contains("mtu 1400"));
    assert_eq!(
        r["interfaces"][2]["mtu"], 1400,
        "1.1.0 results carry the MTU: {r}"
    );
}

#[test]
#[ignore = "needs root: network namespaces, bridges, nftables"]
fn ipv6_and_dual_stack_pods_talk_over_both_families() {
    require(NEEDS);
    let host = Host::new();
    let conf = skiff_conf(&host, &["10.88.0.0/24", "fd00:88::/64"], true);
    let (a, b) = (Netns::new(), Netns::new());
    let ra = host.add("skiff-bridge", &a, "eth0", &conf).ok();
    let rb = host.add("skiff-bridge", &b, "eth0", &conf).ok();
    let (a6, b6) = (result_ip(&ra, 6), result_ip(&rb, 6));
    let routes = a.exec_ok("ip", &["-6", "route", "show", "default"]);
    assert!(routes.contains("via fd00:88::1"), "{routes}");
    let l = listen(&b, sa(b6, 8080));
    connect(&a, sa(b6, 8080)).expect("IPv6 pod to pod");
    assert_eq!(l.accept().unwrap().1.ip(), a6);
    let _l = listen(&b, sa(result_ip(&rb, 4), 8081));
    connect(&a, sa(result_ip(&rb, 4), 8081)).expect("IPv4 between the same pods");
}

#[test]
#[ignore = "needs root: network namespaces, bridges, nftables"]
fn fifty_concurrent_adds_give_fifty_distinct_addresses() {
    require(NEEDS);
    let host = Host::new();
    let conf = skiff_conf(&host, &["10.88.0.0/24"], true);
    let pods: Vec<Netns> = (0..50).map(|_| Netns::new()).collect();
    let ips: Vec<IpAddr> = std::thread::scope(|s| {
        let handles: Vec<_> = pods
            .iter()
            .map(|p| s.spawn(|| result_ip(&host.add("skiff-bridge", p, "eth0", &conf).ok(), 4)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("ADD failed"))
            .collect()
    });
    let distinct: std::collections::HashSet<_> = ips.iter().collect();
    assert_eq!(distinct.len(), 50, "{ips:?}");
    assert_eq!(allocations(&host, "podnet").len(), 50);
    assert_eq!(bridge_ports(&host, "skiff0"), 50);
}

#[test]
#[ignore = "needs root: network namespaces, bridges, nftables"]
fn del_without_netns_restores_host_state_exactly() {
    require(NEEDS);
    let host = Host::new();
    let conf = skiff_conf(&host, &["10.88.0.0/24", "fd00:88::/64"], true);
    // The first pod creates the bridge and the base tables, which stay (as with the reference).
    let warm = Netns::new();
    host.add("skiff-bridge", &warm, "eth0", &conf).ok();
    let before = snapshot(&host, "podnet");

    let pod = Netns::new();
    let id = pod.name().to_string();
    host.add("skiff-bridge", &pod, "eth0", &conf).ok();
    assert_ne!(snapshot(&host, "podnet"), before, "ADD changed nothing?");
    drop(pod); // the container's namespace is gone before DEL, as after a node reboot
    host.del("skiff-bridge", &id, None, "eth0", &conf).ok();
    assert_same_state(&before, &snapshot(&host, "podnet"));
    host.del("skiff-bridge", &id, None, "eth0", &conf).ok();
    assert_same_state(&before, &snapshot(&host, "podnet"));
}

#[test]
#[ignore = "needs root: network namespaces, bridges, nftables"]
fn del_with_live_netns_restores_host_state_exactly() {
    require(NEEDS);
    let host = Host::new();
    let conf = skiff_conf(&host, &["10.88.0.0/24"], true);
    let warm = Netns::new();
    host.add("skiff-bridge", &warm, "eth0", &conf).ok();
    let before = snapshot(&host, "podnet");
    let pod = Netns::new();
    host.add("skiff-bridge", &pod, "eth0", &conf).ok();
    let path = pod.path();
    host.del("skiff-bridge", pod.name(), Some(&path), "eth0", &conf)
        .ok();
    assert_same_state(&before, &snapshot(&host, "podnet"));
    assert!(!pod.exec_ok("ip", &["link"]).contains("eth0"));
}

fn gc(host: &Host, conf: &serde_json::Value, valid: &[&str]) {
    let mut c = conf.clone();
    c["cniVersion"] = "1.1.0".into();
    c["cni.dev/valid-attachments"] = valid
        .iter()
        .map(|id| serde_json::json!({"containerID": id, "ifname": "eth0"}))
        .collect();
    let call = Call {
        command: "GC",
        container_id: "",
        netns: None,
        ifname: "",
    };
    host.call("skiff-bridge", &call, &c).ok();
}

#[test]
#[ignore = "needs root: network namespaces, bridges, nftables"]
fn gc_removes_only_attachments_not_listed_as_valid() {
    require(NEEDS);
    let host = Host::new();
    let conf = skiff_conf(&host, &["10.88.0.0/24"], true);
    let pods: Vec<Netns> = (0..3).map(|_| Netns::new()).collect();
    let ips: Vec<IpAddr> = pods
        .iter()
        .map(|p| result_ip(&host.add("skiff-bridge", p, "eth0", &conf).ok(), 4))
        .collect();
    gc(&host, &conf, &[pods[0].name()]);
    assert_eq!(allocations(&host, "podnet"), vec![ips[0].to_string()]);
    assert_eq!(bridge_ports(&host, "skiff0"), 1);
    let rules = host.ns.exec_ok("nft", &["list", "ruleset"]);
    assert!(rules.contains(&ips[0].to_string()), "{rules}");
    assert!(
        !rules.contains(&format!("{} ", ips[1])) && !rules.contains(&format!("{} ", ips[2])),
        "{rules}"
    );
    let out = outside(&host);
    let _l = listen(&out, "203.0.113.2:9000".parse().unwrap());
    connect(&pods[0], "203.0.113.2:9000".parse().unwrap()).expect("the kept pod still works");
}

#[test]
#[ignore = "needs root: network namespaces, bridges, nftables"]
fn kill_9_during_add_then_gc_leaks_nothing() {
    require(NEEDS);
    let host = Host::new();
    let conf = skiff_conf(&host, &["10.88.0.0/24"], true);
    let warm = Netns::new();
    host.add("skiff-bridge", &warm, "eth0", &conf).ok(); // bridge and tables exist
    let clean = snapshot(&host, "podnet");
    let pods: Vec<Netns> = (0..30).map(|_| Netns::new()).collect();
    let mut killed = 0;
    for (i, pod) in pods.iter().enumerate() {
        let path = pod.path();
        killed += host.ns.run(|| {
            use std::io::Write;
            let mut child = std::process::Command::new(host.plugins.path().join("skiff-bridge"))
                .env("CNI_COMMAND", "ADD")
                .env("CNI_CONTAINERID", pod.name())
                .env("CNI_NETNS", &path)
                .env("CNI_IFNAME", "eth0")
                .env("CNI_PATH", host.plugins.path())
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(conf.to_string().as_bytes())
                .unwrap();
            // Spread the kills over the whole ADD: before IPAM, during it, during netlink work.
            std::thread::sleep(std::time::Duration::from_micros(400 * (i as u64 % 15)));
            child.kill().unwrap();
            use std::os::unix::process::ExitStatusExt;
            usize::from(child.wait().unwrap().signal() == Some(9))
        });
    }
    eprintln!(
        "{killed} of {} ADDs were killed before they finished",
        pods.len()
    );
    assert!(
        killed > 0,
        "no ADD was interrupted; the test proved nothing"
    );
    // Their namespaces go away as the runtime would remove them, then GC keeps the warm pod.
    drop(pods);
    gc(&host, &conf, &[warm.name()]);
    assert_same_state(&clean, &snapshot(&host, "podnet"));
}

#[test]
#[ignore = "needs root: network namespaces, bridges, nftables"]
fn skiff_bridge_works_with_reference_host_local() {
    require(NEEDS);
    let host = Host::new();
    let conf = bridge_conf(
        Flavor::Skiff,
        Flavor::Reference,
        "podnet",
        "skiff0",
        &["10.88.0.0/24"],
        true,
        host.data.path(),
    );
    let (a, b) = (Netns::new(), Netns::new());
    let ip_a = result_ip(&host.add("skiff-bridge", &a, "eth0", &conf).ok(), 4);
    let ip_b = result_ip(&host.add("skiff-bridge", &b, "eth0", &conf).ok(), 4);
    let l = listen(&b, sa(ip_b, 8080));
    connect(&a, sa(ip_b, 8080)).unwrap();
    assert_eq!(l.accept().unwrap().1.ip(), ip_a);
    host.del("skiff-bridge", a.name(), None, "eth0", &conf).ok();
    host.del("skiff-bridge", b.name(), None, "eth0", &conf).ok();
    assert!(allocations(&host, "podnet").is_empty());
    assert_eq!(bridge_ports(&host, "skiff0"), 0);
}

#[test]
#[ignore = "needs root: network namespaces, bridges, nftables"]
fn reference_bridge_works_with_skiff_host_local() {
    require(NEEDS);
    let host = Host::new();
    let conf = bridge_conf(
        Flavor::Reference,
        Flavor::Skiff,
        "podnet",
        "cni9",
        &["10.88.0.0/24"],
        false,
        host.data.path(),
    );
    let (a, b) = (Netns::new(), Netns::new());
    let ip_a = result_ip(&host.add("bridge", &a, "eth0", &conf).ok(), 4);
    let ip_b = result_ip(&host.add("bridge", &b, "eth0", &conf).ok(), 4);
    let l = listen(&b, sa(ip_b, 8080));
    connect(&a, sa(ip_b, 8080)).unwrap();
    assert_eq!(l.accept().unwrap().1.ip(), ip_a);
    for p in [&a, &b] {
        let path = p.path();
        host.del("bridge", p.name(), Some(&path), "eth0", &conf)
            .ok();
    }
    assert!(allocations(&host, "podnet").is_empty());
}

/// The keys and sizes of a result, without the values that legitimately differ (MACs, names).
fn shape(r: &serde_json::Value) -> serde_json::Value {
    let ifaces: Vec<_> = r["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let mut keys: Vec<&str> = i.as_object().unwrap().keys().map(String::as_str).collect();
            keys.sort();
            serde_json::json!(keys)
        })
        .collect();
    let ips: Vec<_> = r["ips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ip| {
            serde_json::json!({"gateway": ip["gateway"], "interface": ip["interface"],
                "prefix": ip["address"].as_str().unwrap().split('/').nth(1)})
        })
        .collect();
    serde_json::json!({"cniVersion": r["cniVersion"], "interfaces": ifaces, "ips": ips,
        "routes": r["routes"], "dns": r["dns"]})
}

#[test]
#[ignore = "needs root: network namespaces, bridges, nftables"]
fn same_config_gives_the_reference_result_shape_and_kernel_state() {
    require(NEEDS);
    let mut results = Vec::new();
    let mut state = Vec::new();
    let mut keep = Vec::new();
    for flavor in [Flavor::Reference, Flavor::Skiff] {
        let host = Host::new();
        let conf = bridge_conf(
            flavor,
            flavor,
            "podnet",
            "cni0",
            &["10.88.0.0/24"],
            true,
            host.data.path(),
        );
        let pod = Netns::new();
        let r = host.add(flavor.bridge(), &pod, "eth0", &conf).ok();
        results.push(shape(&r));
        let addr = pod.exec_ok("ip", &["-4", "-o", "addr", "show", "eth0"]);
        let addr = addr.split_whitespace().nth(3).unwrap().to_string();
        let routes = pod
            .exec_ok("ip", &["-4", "route", "show"])
            .replace(" proto kernel", "");
        let bridge = host.ns.exec_ok("ip", &["-4", "-o", "addr", "show", "cni0"]);
        let bridge = bridge.split_whitespace().nth(3).unwrap().to_string();
        let forwarding = host.ns.exec_ok("sysctl", &["-n", "net.ipv4.ip_forward"]);
        state.push((addr, routes, bridge, forwarding));
        keep.push((host, pod));
    }
    assert_eq!(
        results[0], results[1],
        "result shape differs from the reference"
    );
    assert_eq!(
        state[0], state[1],
        "kernel state differs from the reference"
    );
}
