//! The rtnetlink client against the real kernel, inside throwaway network namespaces: one
//! namespace plays the host, a second one the container.

use skiff_cni::bridge::kernel::{BridgeSpec, LinkInfo, NetError, NetOps, RouteSpec, VethSpec};
use skiff_cni::netlink::Netlink;
use skiff_tests::guard::{require, Need};
use skiff_tests::Netns;
use std::fs::File;
use std::os::fd::AsFd;
use std::time::Instant;

const NEEDS: &[Need] = &[Need::Root, Need::Tool("ip", "iproute2")];
const BRIDGE_MAC: [u8; 6] = [0x02, 0x5c, 0x00, 0x00, 0x00, 0x01];

fn bridge(name: &str) -> BridgeSpec {
    BridgeSpec {
        name: name.into(),
        mtu: None,
        mac: BRIDGE_MAC,
        promisc: false,
        vlan_filtering: false,
    }
}

fn veth(host: &str, container: &str) -> VethSpec {
    VethSpec {
        host_name: host.into(),
        container_name: container.into(),
        mtu: None,
        container_mac: None,
    }
}

fn open_ns(ns: &Netns) -> File {
    File::open(ns.path()).expect("open namespace file")
}

/// `ip -n <ns> <args>`, stdout.
fn ip(ns: &Netns, args: &str) -> String {
    let full: Vec<&str> = ["-n", ns.name()]
        .into_iter()
        .chain(args.split_whitespace())
        .collect();
    skiff_tests::netns::run("ip", &full)
}

/// Fails, naming the missing kernel option, unless bridges can filter VLANs here.
fn require_vlan_filtering() {
    let probe = Netns::new();
    let out = std::process::Command::new("ip")
        .args([
            "-n",
            probe.name(),
            "link",
            "add",
            "probe0",
            "type",
            "bridge",
        ])
        .args(["vlan_filtering", "1"])
        .output()
        .expect("run ip");
    assert!(
        out.status.success(),
        "this privileged test cannot run; missing: a kernel with CONFIG_BRIDGE_VLAN_FILTERING \
         (`ip link add type bridge vlan_filtering 1` says: {})",
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

/// A bridge with one veth port whose container end is `eth0` in `container`.
fn bridge_with_port(nl: &mut Netlink, container: &File, spec: &BridgeSpec) -> (LinkInfo, LinkInfo) {
    let br = nl.ensure_bridge(spec).expect("ensure bridge");
    let host = nl
        .create_veth(&veth("vethport0", "eth0"), container.as_fd())
        .expect("create veth");
    nl.set_master(host.index, br.index).expect("set master");
    nl.set_up(host.index).expect("set up");
    (br, host)
}

#[test]
#[ignore = "needs root: creates links in network namespaces"]
fn bridge_is_created_up_with_its_static_mac_that_stays_when_ports_are_added() {
    require(NEEDS);
    let (host, ctr) = (Netns::new(), Netns::new());
    let ctr_fd = open_ns(&ctr);
    let spec = BridgeSpec {
        mtu: Some(1400),
        ..bridge("cni0")
    };
    let (br, port, again, ports, after) = host.run(|| {
        let mut nl = Netlink::open().unwrap();
        let br = nl.ensure_bridge(&spec).unwrap();
        let start = Instant::now();
        let port = nl
            .create_veth(&veth("veth1a2b", "eth0"), ctr_fd.as_fd())
            .unwrap();
        nl.set_master(port.index, br.index).unwrap();
        nl.set_up(port.index).unwrap();
        eprintln!(
            "create_veth + set_master + set_up took {:?}",
            start.elapsed()
        );
        let again = nl.ensure_bridge(&spec).unwrap();
        let ports = nl.ports(br.index).unwrap();
        let after = nl.link_by_name("cni0").unwrap().unwrap();
        (br, port, again, ports, after)
    });
    assert_eq!(br.kind.as_deref(), Some("bridge"));
    assert!(br.up);
    assert_eq!(br.mac, BRIDGE_MAC);
    assert_eq!(br.mtu, 1400);
    assert_eq!(port.name, "veth1a2b");
    assert_eq!(again.index, br.index, "ensure_bridge is idempotent");
    assert_eq!(
        after.mac, BRIDGE_MAC,
        "bridge MAC must not follow its ports"
    );
    assert_eq!(ports.len(), 1);
    assert_eq!(ports[0].name, "veth1a2b");
    assert_eq!(ports[0].master, Some(br.index));
    assert!(ports[0].up);
    let shown = ip(&host, "-d link show cni0");
    assert!(shown.contains("02:5c:00:00:00:01"), "{shown}");
    assert!(shown.contains("mtu 1400"), "{shown}");
}

#[test]
#[ignore = "needs root: creates links in network namespaces"]
fn ensure_bridge_on_a_link_of_another_kind_is_wrong_kind() {
    require(NEEDS);
    let host = Netns::new();
    ip(&host, "link add cni0 type veth peer name cni0peer");
    let err = host.run(|| Netlink::open().unwrap().ensure_bridge(&bridge("cni0")));
    match err {
        Err(NetError::WrongKind {
            name,
            found,
            wanted,
        }) => {
            assert_eq!(
                (name.as_str(), found.as_str(), wanted.as_str()),
                ("cni0", "veth", "bridge")
            );
        }
        other => panic!("expected WrongKind, got {other:?}"),
    }
}

#[test]
#[ignore = "needs root: creates links in network namespaces"]
fn ensure_bridge_fixes_an_existing_bridge() {
    require(NEEDS);
    let host = Netns::new();
    ip(&host, "link add br9 mtu 1300 type bridge");
    let spec = BridgeSpec {
        mtu: Some(1450),
        promisc: true,
        ..bridge("br9")
    };
    let br = host
        .run(|| Netlink::open().unwrap().ensure_bridge(&spec))
        .unwrap();
    assert!(br.up && br.promisc);
    assert_eq!((br.mtu, br.mac), (1450, BRIDGE_MAC));
    let shown = ip(&host, "-d link show br9");
    assert!(shown.contains("PROMISC"), "{shown}");
    assert!(shown.contains(",UP"), "{shown}");
}

#[test]
#[ignore = "needs root: creates links in network namespaces"]
fn veth_container_end_is_born_in_the_container_namespace_with_its_name_mac_and_mtu() {
    require(NEEDS);
    let (host, ctr) = (Netns::new(), Netns::new());
    let ctr_fd = open_ns(&ctr);
    let spec = VethSpec {
        mtu: Some(1380),
        container_mac: Some([0x02, 0x42, 0x0a, 0x16, 0x00, 0x05]),
        ..veth("veth77", "eth0")
    };
    let (made, again, other_host) = host.run(|| {
        let mut nl = Netlink::open().unwrap();
        let made = nl.create_veth(&spec, ctr_fd.as_fd()).unwrap();
        let again = nl.create_veth(&spec, ctr_fd.as_fd());
        let other_host = nl.create_veth(&veth("veth78", "eth0"), ctr_fd.as_fd());
        (made, again, other_host)
    });
    assert_eq!(
        (made.name.as_str(), made.mtu, made.kind.as_deref()),
        ("veth77", 1380, Some("veth"))
    );
    let inside = ip(&ctr, "-d link show eth0");
    assert!(inside.contains("02:42:0a:16:00:05"), "{inside}");
    assert!(inside.contains("mtu 1380"), "{inside}");
    assert!(inside.contains("veth"), "{inside}");
    assert!(
        !ip(&host, "link show").contains("eth0"),
        "container end left in host namespace"
    );
    assert!(
        matches!(&again, Err(NetError::Exists { name }) if name == "veth77"),
        "{again:?}"
    );
    assert!(
        matches!(&other_host, Err(NetError::Exists { name }) if name == "eth0"),
        "{other_host:?}"
    );
    assert!(
        !ip(&host, "link show").contains("veth78"),
        "failed create left a link"
    );
}

#[test]
#[ignore = "needs root: creates links in network namespaces"]
fn hairpin_mode_is_switched_on_and_off_through_netlink() {
    require(NEEDS);
    let (host, ctr) = (Netns::new(), Netns::new());
    let ctr_fd = open_ns(&ctr);
    let port = host.run(|| {
        let mut nl = Netlink::open().unwrap();
        let (_, port) = bridge_with_port(&mut nl, &ctr_fd, &bridge("cni0"));
        nl.set_hairpin(port.index, true).unwrap();
        port
    });
    let shown = ip(&host, &format!("-d link show {}", port.name));
    assert!(shown.contains("hairpin on"), "{shown}");
    host.run(|| Netlink::open().unwrap().set_hairpin(port.index, false))
        .unwrap();
    let shown = ip(&host, &format!("-d link show {}", port.name));
    assert!(shown.contains("hairpin off"), "{shown}");
}

#[test]
#[ignore = "needs the VM tier: bridge VLAN filtering in Debian's kernel under qemu"]
fn port_vlan_becomes_untagged_pvid_and_vlan_1_goes_unless_kept() {
    // Hosts may lack CONFIG_BRIDGE_VLAN_FILTERING: the body runs in a guest on Debian's kernel.
    let vm = skiff_tests::vm::Vm::new()
        .modules(&["bridge", "veth"])
        .programs(&["ip", "bridge"]);
    skiff_tests::vm::run_test(
        "port_vlan_becomes_untagged_pvid_and_vlan_1_goes_unless_kept",
        vm,
        port_vlan_in_guest,
    );
}

/// The VLAN test's body, run inside the guest.
fn port_vlan_in_guest() {
    require(&[
        Need::Root,
        Need::Tool("ip", "iproute2"),
        Need::Tool("bridge", "iproute2"),
    ]);
    require_vlan_filtering();
    let (host, ctr) = (Netns::new(), Netns::new());
    let ctr_fd = open_ns(&ctr);
    let spec = BridgeSpec {
        vlan_filtering: true,
        ..bridge("cni0")
    };
    let port = host.run(|| {
        let mut nl = Netlink::open().unwrap();
        let (_, port) = bridge_with_port(&mut nl, &ctr_fd, &spec);
        nl.set_port_vlan(port.index, 100, false).unwrap();
        port
    });
    let shown = ip(&host, "-d link show cni0");
    assert!(shown.contains("vlan_filtering 1"), "{shown}");
    let vlans = skiff_tests::netns::run(
        "bridge",
        &["-n", host.name(), "vlan", "show", "dev", &port.name],
    );
    assert!(vlans.contains("100 PVID Egress Untagged"), "{vlans}");
    assert!(
        !vlans.contains(" 1 ") && !vlans.contains("\t1 "),
        "VLAN 1 kept: {vlans}"
    );

    host.run(|| {
        Netlink::open()
            .unwrap()
            .set_port_vlan(port.index, 200, true)
    })
    .unwrap();
    let vlans = skiff_tests::netns::run(
        "bridge",
        &["-n", host.name(), "vlan", "show", "dev", &port.name],
    );
    assert!(vlans.contains("200 PVID Egress Untagged"), "{vlans}");
}

#[test]
#[ignore = "needs root: creates links in network namespaces"]
fn ipv4_and_ipv6_addresses_are_added_listed_and_removed_idempotently() {
    require(NEEDS);
    let host = Netns::new();
    let v4 = "10.91.0.1/24".parse().unwrap();
    let v6 = "fd00:91::1/64".parse().unwrap();
    let (listed, shown, after) = host.run(|| {
        let mut nl = Netlink::open().unwrap();
        let br = nl.ensure_bridge(&bridge("cni0")).unwrap();
        nl.add_address(br.index, v4, false).unwrap();
        nl.add_address(br.index, v6, true).unwrap();
        nl.add_address(br.index, v4, false)
            .expect("an equal address is fine");
        nl.add_address(br.index, v6, true)
            .expect("an equal address is fine");
        let listed = nl.addresses(br.index).unwrap();
        let shown = ip(&host, "addr show cni0");
        nl.del_address(br.index, v4).unwrap();
        nl.del_address(br.index, v6).unwrap();
        nl.del_address(br.index, v4)
            .expect("removing an absent address is fine");
        (listed, shown, nl.addresses(br.index).unwrap())
    });
    assert!(listed.contains(&v4) && listed.contains(&v6), "{listed:?}");
    assert!(
        shown.contains("inet 10.91.0.1/24 brd 10.91.0.255"),
        "{shown}"
    );
    assert!(shown.contains("inet6 fd00:91::1/64"), "{shown}");
    assert!(
        !shown.contains("tentative"),
        "nodad address went through DAD: {shown}"
    );
    assert!(!after.contains(&v4) && !after.contains(&v6), "{after:?}");
}

#[test]
#[ignore = "needs root: creates links in network namespaces"]
fn routes_are_added_once_and_listed_by_output_interface() {
    require(NEEDS);
    let host = Netns::new();
    ip(&host, "link add d0 up type veth peer name d0peer");
    ip(&host, "link set d0peer up");
    let routes = [
        RouteSpec {
            dst: "10.92.0.0/16".parse().unwrap(),
            gw: None,
            oif: 0,
        },
        RouteSpec {
            dst: "0.0.0.0/0".parse().unwrap(),
            gw: Some("10.91.0.1".parse().unwrap()),
            oif: 0,
        },
        RouteSpec {
            dst: "::/0".parse().unwrap(),
            gw: Some("fd00:91::1".parse().unwrap()),
            oif: 0,
        },
    ];
    let (listed, want) = host.run(|| {
        let mut nl = Netlink::open().unwrap();
        let d0 = nl.link_by_name("d0").unwrap().unwrap();
        nl.add_address(d0.index, "10.91.0.2/24".parse().unwrap(), false)
            .unwrap();
        nl.add_address(d0.index, "fd00:91::2/64".parse().unwrap(), true)
            .unwrap();
        for r in &routes {
            let r = RouteSpec {
                oif: d0.index,
                ..r.clone()
            };
            nl.add_route(&r).unwrap();
            nl.add_route(&r).expect("an equal route is fine");
        }
        let listed = nl.routes(d0.index).unwrap();
        let want: Vec<RouteSpec> = routes
            .iter()
            .map(|r| RouteSpec {
                oif: d0.index,
                ..r.clone()
            })
            .collect();
        (listed, want)
    });
    for r in &want {
        assert!(listed.contains(r), "{r:?} missing from {listed:?}");
    }
    let v4 = ip(&host, "-d -4 route show");
    assert!(
        v4.contains("default via 10.91.0.1 dev d0 proto boot scope global"),
        "{v4}"
    );
    assert!(
        v4.contains("10.92.0.0/16 dev d0 proto boot scope link"),
        "{v4}"
    );
    let v6 = ip(&host, "-d -6 route show");
    assert!(
        v6.contains("default via fd00:91::1 dev d0 proto boot"),
        "{v6}"
    );
}

#[test]
#[ignore = "needs root: creates links in network namespaces"]
fn delete_link_reports_whether_it_existed_and_takes_the_peer_along() {
    require(NEEDS);
    let (host, ctr) = (Netns::new(), Netns::new());
    let ctr_fd = open_ns(&ctr);
    let (first, second, missing) = host.run(|| {
        let mut nl = Netlink::open().unwrap();
        nl.create_veth(&veth("vethdel", "eth0"), ctr_fd.as_fd())
            .unwrap();
        let first = nl.delete_link("vethdel").unwrap();
        let second = nl.delete_link("vethdel").unwrap();
        (first, second, nl.link_by_name("vethdel").unwrap())
    });
    assert!(first && !second);
    assert_eq!(missing, None);
    assert!(!ip(&ctr, "link show").contains("eth0"), "peer survived");
}

#[test]
#[ignore = "needs root: creates links in network namespaces"]
fn kernel_errors_name_the_operation_and_carry_the_errno() {
    require(NEEDS);
    let host = Netns::new();
    let err = host
        .run(|| Netlink::open().unwrap().set_master(99_999, 99_998))
        .unwrap_err();
    match &err {
        NetError::Request { op, source } => {
            assert!(op.contains("attach link #99999 to bridge #99998"), "{op}");
            assert_eq!(
                source.raw_os_error(),
                Some(nix::errno::Errno::ENODEV as i32)
            );
        }
        other => panic!("expected a request error, got {other:?}"),
    }
}

#[test]
#[ignore = "needs root: writes sysctls inside network namespaces"]
fn sysctl_written_inside_a_namespace_affects_only_that_namespace() {
    require(NEEDS);
    let (inside, other) = (Netns::new(), Netns::new());
    let key = "net/ipv4/conf/lo/forwarding";
    let read = |ns: &Netns| {
        ns.exec_ok("cat", &[&format!("/proc/sys/{key}")])
            .trim()
            .to_string()
    };
    let host_before = std::fs::read_to_string(format!("/proc/sys/{key}")).unwrap();
    let other_before = read(&other);
    let target = if read(&inside) == "1" { "0" } else { "1" };
    inside
        .run(|| Netlink::open().unwrap().set_sysctl(key, target))
        .unwrap();
    assert_eq!(read(&inside), target);
    assert_eq!(read(&other), other_before, "another namespace changed");
    let host_after = std::fs::read_to_string(format!("/proc/sys/{key}")).unwrap();
    assert_eq!(host_before, host_after, "host namespace changed");

    let err = inside.run(|| {
        Netlink::open()
            .unwrap()
            .set_sysctl("net/ipv4/no_such_key", "1")
    });
    assert!(matches!(err, Err(NetError::Sysctl { .. })), "{err:?}");
}

#[test]
#[ignore = "needs root: creates links in network namespaces"]
fn concurrent_ensure_bridge_calls_all_succeed_on_one_bridge() {
    require(NEEDS);
    let host = Netns::new();
    let indexes = host.run(|| {
        // Threads spawned here inherit this thread's namespace.
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..8)
                .map(|_| s.spawn(|| Netlink::open().unwrap().ensure_bridge(&bridge("cni0"))))
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join()
                        .unwrap()
                        .expect("ensure_bridge under contention")
                        .index
                })
                .collect::<Vec<_>>()
        })
    });
    assert!(indexes.windows(2).all(|w| w[0] == w[1]), "{indexes:?}");
}
