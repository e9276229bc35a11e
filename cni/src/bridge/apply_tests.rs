use super::*;
use crate::bridge::config::Config;
use crate::bridge::fake::{FakeNet, Side, TestFirewall};
use crate::bridge::plan::plan;
use crate::nft::AttachmentKey;
use crate::types::IpConfig;

fn key() -> AttachmentKey {
    AttachmentKey {
        network: "net1".into(),
        container_id: "c1".into(),
        ifname: "eth0".into(),
    }
}

fn test_plan(extra: &str) -> Plan {
    let sep = if extra.is_empty() { "" } else { "," };
    let config = Config::parse(
        format!(r#"{{"cniVersion":"1.0.0","name":"net1","type":"skiff-bridge","ipam":{{"type":"x"}}{sep}{extra}}}"#)
            .as_bytes(),
    )
    .unwrap();
    let ipam = CniResult {
        ips: vec![IpConfig {
            address: "10.22.0.5/16".parse().unwrap(),
            gateway: Some("10.22.0.1".parse().unwrap()),
            interface: None,
        }],
        ..Default::default()
    };
    plan(&config, &key(), &ipam, None)
}

fn netns_file() -> (tempfile::NamedTempFile, File) {
    let f = tempfile::NamedTempFile::new().unwrap();
    let file = File::open(f.path()).unwrap();
    (f, file)
}

#[test]
fn applies_host_side_then_container_side_then_firewall() {
    let net = FakeNet::new();
    let fw = TestFirewall::default();
    let (_tmp, ns) = netns_file();
    let p = test_plan(r#""isDefaultGateway":true,"ipMasq":true,"hairpinMode":true,"vlan":7"#);
    let applied = apply(&p, &net, &ns, &fw).unwrap();
    assert_eq!(
        net.ops(),
        vec![
            "host set_sysctl",
            "host ensure_bridge",
            "host addresses",
            "host add_address",
            "host create_veth",
            "host set_master",
            "host set_hairpin",
            "host set_port_vlan",
            "host set_up",
            "container link_by_name",
            "container add_address",
            "container set_up",
            "container add_route",
        ]
    );
    assert_eq!(fw.calls(), vec!["add c1"]);
    let host = net.link(Side::Host, &p.veth.host_name).unwrap();
    assert_eq!(host.info.master, Some(applied.bridge.index));
    assert!(host.info.up && host.hairpin);
    assert_eq!(host.vlan, Some((7, true)));
    let c = net.link(Side::Container, "eth0").unwrap();
    assert_eq!(c.addresses, vec!["10.22.0.5/16".parse().unwrap()]);
    assert!(c.info.up);
    let bridge = net.link(Side::Host, "cni0").unwrap();
    assert_eq!(bridge.addresses, vec!["10.22.0.1/16".parse().unwrap()]);
    let installed = fw.installed.lock().unwrap().clone();
    assert_eq!(installed[0].1, p.rules(c.info.mac));
}

#[test]
fn result_lists_bridge_host_veth_and_container_with_sandbox() {
    let net = FakeNet::new();
    let (tmp, ns) = netns_file();
    let p = test_plan(r#""isGateway":true"#);
    let r = apply(&p, &net, &ns, &TestFirewall::default())
        .unwrap()
        .result(&p, tmp.path());
    let names: Vec<&str> = r.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, vec!["cni0", p.veth.host_name.as_str(), "eth0"]);
    assert_eq!(r.interfaces[2].sandbox, tmp.path().display().to_string());
    assert!(r.interfaces[0].sandbox.is_empty() && r.interfaces[1].sandbox.is_empty());
    assert_eq!(r.interfaces[0].mac, format_mac(&p.bridge.mac));
    assert_eq!(r.ips[0].interface, Some(2));
}

#[test]
fn failure_after_veth_creation_deletes_the_veth_and_leaves_no_rules() {
    let net = FakeNet::new();
    let fw = TestFirewall::default();
    let (_tmp, ns) = netns_file();
    let p = test_plan("");
    net.fail_on("set_master");
    let e = apply(&p, &net, &ns, &fw).unwrap_err();
    assert!(e.is(Code::Netlink), "{e:?}");
    assert!(net.link(Side::Host, &p.veth.host_name).is_none());
    assert!(
        net.link(Side::Container, "eth0").is_none(),
        "peer goes with the host end"
    );
    assert_eq!(net.ops().last().unwrap(), "host delete_link");
    assert!(
        fw.calls().is_empty(),
        "no rules were added, none are deleted"
    );
}

#[test]
fn firewall_failure_undoes_veth_and_rules() {
    let net = FakeNet::new();
    let fw = TestFirewall::default();
    *fw.fail_add.lock().unwrap() = true;
    let (_tmp, ns) = netns_file();
    let p = test_plan(r#""ipMasq":true"#);
    let e = apply(&p, &net, &ns, &fw).unwrap_err();
    assert!(e.is(Code::Nftables), "{e:?}");
    assert!(net.link(Side::Host, &p.veth.host_name).is_none());
    assert_eq!(fw.calls(), vec!["add c1", "del c1"]);
}

#[test]
fn container_side_failure_undoes_the_veth() {
    let net = FakeNet::new();
    let (_tmp, ns) = netns_file();
    let p = test_plan("");
    net.fail_on("add_route");
    let p = Plan {
        container: crate::bridge::plan::ContainerPlan {
            routes: vec![crate::bridge::plan::PlannedRoute {
                dst: "0.0.0.0/0".parse().unwrap(),
                gw: None,
            }],
            ..p.container.clone()
        },
        ..p
    };
    apply(&p, &net, &ns, &TestFirewall::default()).unwrap_err();
    assert!(net.link(Side::Host, &p.veth.host_name).is_none());
}

#[test]
fn taken_container_ifname_is_code_4_and_keeps_the_existing_link() {
    let net = FakeNet::new();
    net.add_link(Side::Container, "eth0", "dummy");
    let (_tmp, ns) = netns_file();
    let p = test_plan("");
    let e = apply(&p, &net, &ns, &TestFirewall::default()).unwrap_err();
    assert!(e.is(Code::InvalidEnvironment), "{e:?}");
    assert!(e.msg.contains("eth0"), "{e:?}");
    assert!(net.link(Side::Container, "eth0").is_some());
    assert!(!net.ops().contains(&"host delete_link".to_string()));
}

#[test]
fn leftover_veth_of_the_same_attachment_is_replaced() {
    let net = FakeNet::new();
    let p = test_plan("");
    net.add_link(Side::Host, &p.veth.host_name, "veth");
    let (_tmp, ns) = netns_file();
    apply(&p, &net, &ns, &TestFirewall::default()).unwrap();
    let ops = net.ops();
    let i = ops.iter().position(|o| o == "host delete_link").unwrap();
    assert_eq!(ops[i - 1], "host create_veth");
    assert_eq!(ops[i + 1], "host create_veth");
    assert!(net.link(Side::Container, "eth0").is_some());
}

#[test]
fn different_bridge_address_is_an_error_unless_force_address() {
    let net = FakeNet::new();
    let br = net.add_link(Side::Host, "cni0", "bridge");
    {
        let mut s = net.state();
        let l = s
            .links
            .iter_mut()
            .find(|l| l.info.index == br.index)
            .unwrap();
        l.addresses.push("10.99.0.1/16".parse().unwrap());
    }
    let (_tmp, ns) = netns_file();
    let e = apply(
        &test_plan(r#""isGateway":true"#),
        &net,
        &ns,
        &TestFirewall::default(),
    )
    .unwrap_err();
    assert!(
        e.is(Code::InvalidConfig) && e.msg.contains("10.99.0.1/16"),
        "{e:?}"
    );
    assert!(!net.ops().contains(&"host create_veth".to_string()));

    apply(
        &test_plan(r#""isGateway":true,"forceAddress":true"#),
        &net,
        &ns,
        &TestFirewall::default(),
    )
    .unwrap();
    let bridge = net.link(Side::Host, "cni0").unwrap();
    assert_eq!(bridge.addresses, vec!["10.22.0.1/16".parse().unwrap()]);
}

#[test]
fn ipv6_addresses_get_accept_dad_off_first() {
    let net = FakeNet::new();
    let (_tmp, ns) = netns_file();
    let config =
        Config::parse(br#"{"cniVersion":"1.0.0","name":"net1","type":"b","ipam":{"type":"x"}}"#)
            .unwrap();
    let ipam = CniResult {
        ips: vec![IpConfig {
            address: "fd00::5/64".parse().unwrap(),
            gateway: None,
            interface: None,
        }],
        ..Default::default()
    };
    let p = plan(&config, &key(), &ipam, None);
    apply(&p, &net, &ns, &TestFirewall::default()).unwrap();
    let log = net.log();
    let sysctl = log
        .iter()
        .position(|l| l.starts_with("container set_sysctl"))
        .unwrap();
    let addr = log
        .iter()
        .position(|l| l.starts_with("container add_address"))
        .unwrap();
    assert!(sysctl < addr, "{log:?}");
    assert_eq!(
        log[sysctl],
        "container set_sysctl net/ipv6/conf/eth0/accept_dad"
    );
}
