use super::*;
use crate::bridge::fake::{FakeIpam, FakeNet, Side, TestFirewall};
use crate::bridge::names::host_veth_name;
use crate::invocation::Invocation;
use crate::types::IpConfig;
use crate::version::Version;
use std::path::Path;

struct Rig {
    net: FakeNet,
    fw: TestFirewall,
    ipam: FakeIpam,
    plugin: Bridge,
    netns: tempfile::NamedTempFile,
}

fn rig() -> Rig {
    let net = FakeNet::new();
    let fw = TestFirewall::default();
    let ipam = FakeIpam::returning(CniResult {
        ips: vec![IpConfig {
            address: "10.22.0.5/16".parse().unwrap(),
            gateway: Some("10.22.0.1".parse().unwrap()),
            interface: None,
        }],
        ..Default::default()
    });
    let plugin = Bridge::new(
        Box::new(net.clone()),
        Box::new(fw.clone()),
        Box::new(ipam.clone()),
    );
    Rig {
        net,
        fw,
        ipam,
        plugin,
        netns: tempfile::NamedTempFile::new().unwrap(),
    }
}

const CONF: &str = r#"{"cniVersion":"1.1.0","name":"net1","type":"skiff-bridge","isDefaultGateway":true,
    "ipMasq":true,"ipam":{"type":"fake-ipam"}"#;

fn request(command: &str, netns: Option<&Path>, stdin: &str, args: &str) -> Request {
    let netns = netns.map(|p| p.display().to_string()).unwrap_or_default();
    let env = [
        ("CNI_COMMAND", command),
        ("CNI_CONTAINERID", "c1"),
        ("CNI_NETNS", netns.as_str()),
        ("CNI_IFNAME", "eth0"),
        ("CNI_PATH", "/nonexistent"),
        ("CNI_ARGS", args),
    ];
    let inv = Invocation::from_lookup(|k| {
        env.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .unwrap();
    Request {
        inv,
        stdin: stdin.as_bytes().to_vec(),
        version: Version::V1_1_0,
    }
}

fn conf(extra: &str) -> String {
    format!("{CONF}{extra}}}")
}

impl Rig {
    fn add(&self, extra: &str) -> Result<CniResult, CniError> {
        self.plugin
            .add(&request("ADD", Some(self.netns.path()), &conf(extra), ""))
    }

    fn veth(&self) -> String {
        host_veth_name(&AttachmentKey {
            network: "net1".into(),
            container_id: "c1".into(),
            ifname: "eth0".into(),
        })
    }
}

#[test]
fn add_allocates_plans_applies_and_returns_the_result() {
    let r = rig();
    let res = r.add("").unwrap();
    assert_eq!(r.ipam.calls(), vec!["ADD"]);
    assert_eq!(r.fw.calls(), vec!["add c1"]);
    assert_eq!(res.interfaces.len(), 3);
    assert_eq!(res.interfaces[1].name, r.veth());
    assert_eq!(
        res.interfaces[2].sandbox,
        r.netns.path().display().to_string()
    );
    assert_eq!(res.ips[0].interface, Some(2));
    assert_eq!(res.routes[0].dst.to_string(), "0.0.0.0/0");
    assert!(r.net.link(Side::Container, "eth0").is_some());
}

#[test]
fn add_uses_the_requested_mac() {
    let r = rig();
    let stdin = conf(r#","runtimeConfig":{"mac":"02:12:34:56:78:9a"}"#);
    let res = r
        .plugin
        .add(&request("ADD", Some(r.netns.path()), &stdin, ""))
        .unwrap();
    assert_eq!(res.interfaces[2].mac, "02:12:34:56:78:9a");
    let res = rig()
        .plugin
        .add(&request(
            "ADD",
            Some(r.netns.path()),
            &conf(""),
            "MAC=02:00:00:00:00:77",
        ))
        .unwrap();
    assert_eq!(res.interfaces[2].mac, "02:00:00:00:00:77");
    let e = r
        .plugin
        .add(&request(
            "ADD",
            Some(r.netns.path()),
            &conf(""),
            "MAC=nonsense",
        ))
        .unwrap_err();
    assert!(e.is(Code::InvalidConfig) && e.msg.contains("mac"), "{e:?}");
}

#[test]
fn failed_apply_releases_the_addresses_and_keeps_the_original_error() {
    let r = rig();
    r.net.fail_on("set_master");
    let e = r.add("").unwrap_err();
    assert!(e.is(Code::Netlink) && e.msg.contains("set_master"), "{e:?}");
    assert_eq!(r.ipam.calls(), vec!["ADD", "DEL"]);
    assert!(r.net.link(Side::Host, &r.veth()).is_none());
}

#[test]
fn missing_netns_is_code_3_and_allocates_nothing() {
    let r = rig();
    let e = r
        .plugin
        .add(&request(
            "ADD",
            Some(Path::new("/nonexistent/netns")),
            &conf(""),
            "",
        ))
        .unwrap_err();
    assert!(e.is(Code::UnknownContainer), "{e:?}");
    assert!(r.ipam.calls().is_empty());
}

#[test]
fn taken_ifname_is_code_4_and_releases_the_addresses() {
    let r = rig();
    r.net.add_link(Side::Container, "eth0", "dummy");
    let e = r.add("").unwrap_err();
    assert!(
        e.is(Code::InvalidEnvironment) && e.msg.contains("eth0"),
        "{e:?}"
    );
    assert_eq!(r.ipam.calls(), vec!["ADD", "DEL"]);
}

#[test]
fn ipam_failure_is_returned_as_is() {
    let r = rig();
    r.ipam.fail(
        "ADD",
        CniError::new(Code::AddressExhausted, "no addresses left"),
    );
    let e = r.add("").unwrap_err();
    assert!(e.is(Code::AddressExhausted), "{e:?}");
    assert!(r.net.log().is_empty());
}

#[test]
fn unknown_field_is_code_2_before_anything_happens() {
    let r = rig();
    let e = r.add(r#","bogus":1"#).unwrap_err();
    assert!(
        e.is(Code::UnsupportedField) && e.msg.contains("bogus"),
        "{e:?}"
    );
    assert!(r.ipam.calls().is_empty());
}

#[test]
fn layer_2_network_needs_no_ipam() {
    let r = rig();
    let res = r
        .plugin
        .add(&request(
            "ADD",
            Some(r.netns.path()),
            r#"{"cniVersion":"1.0.0","name":"net1","type":"skiff-bridge"}"#,
            "",
        ))
        .unwrap();
    assert!(res.ips.is_empty());
    assert_eq!(res.interfaces.len(), 3);
    assert!(r.ipam.calls().is_empty());
}

#[test]
fn del_removes_veth_rules_and_addresses_without_netns_and_is_idempotent() {
    let r = rig();
    r.add("").unwrap();
    let del = request("DEL", None, &conf(""), "");
    r.plugin.del(&del).unwrap();
    assert!(r.net.link(Side::Host, &r.veth()).is_none());
    assert!(r.net.link(Side::Container, "eth0").is_none());
    assert!(r.fw.installed.lock().unwrap().is_empty());
    r.plugin.del(&del).unwrap();
    assert_eq!(r.ipam.calls(), vec!["ADD", "DEL", "DEL"]);
}

#[test]
fn del_keeps_going_and_reports_every_error() {
    let r = rig();
    r.add("").unwrap();
    r.net.fail_on("delete_link");
    r.ipam
        .fail("DEL", CniError::new(Code::Io, "store unreadable"));
    let e = r
        .plugin
        .del(&request("DEL", None, &conf(""), ""))
        .unwrap_err();
    assert!(
        e.msg.contains("delete_link") && e.msg.contains("store unreadable"),
        "{e:?}"
    );
    assert!(
        r.fw.calls().contains(&"del c1".to_string()),
        "firewall del still ran"
    );
    assert!(r.fw.installed.lock().unwrap().is_empty());
}

#[test]
fn check_passes_after_add_and_fails_when_the_veth_is_gone() {
    let r = rig();
    let res = r.add("").unwrap();
    let prev = res.to_json(Version::V1_1_0);
    let stdin = conf(&format!(r#","prevResult":{prev}"#));
    let check = request("CHECK", Some(r.netns.path()), &stdin, "");
    r.plugin.check(&check).unwrap();
    assert_eq!(r.ipam.calls(), vec!["ADD", "CHECK"]);
    r.net.state().routes.clear();
    let e = r.plugin.check(&check).unwrap_err();
    assert!(e.msg.contains("route"), "{e:?}");
    r.plugin.del(&request("DEL", None, &conf(""), "")).unwrap();
    let e = r.plugin.check(&check).unwrap_err();
    assert!(e.msg.contains("eth0"), "{e:?}");
}

#[test]
fn check_needs_prev_result() {
    let r = rig();
    let e = r
        .plugin
        .check(&request("CHECK", Some(r.netns.path()), &conf(""), ""))
        .unwrap_err();
    assert!(
        e.is(Code::InvalidConfig) && e.msg.contains("prevResult"),
        "{e:?}"
    );
}

#[test]
fn check_notices_a_different_mac() {
    let r = rig();
    let mut res = r.add("").unwrap();
    res.interfaces[2].mac = "02:00:00:00:00:01".into();
    let stdin = conf(&format!(
        r#","prevResult":{}"#,
        res.to_json(Version::V1_1_0)
    ));
    let e = r
        .plugin
        .check(&request("CHECK", Some(r.netns.path()), &stdin, ""))
        .unwrap_err();
    assert!(e.msg.contains("MAC"), "{e:?}");
}

#[test]
fn status_delegates_to_ipam() {
    let r = rig();
    r.ipam.fail(
        "STATUS",
        CniError::new(Code::NotAvailable, "no address left"),
    );
    let e = r
        .plugin
        .status(&request("STATUS", None, &conf(""), ""))
        .unwrap_err();
    assert!(e.is(Code::NotAvailable));
}

#[test]
fn gc_removes_stale_veths_and_rules_and_keeps_valid_ones() {
    let r = rig();
    r.add("").unwrap();
    let stale = host_veth_name(&AttachmentKey {
        network: "net1".into(),
        container_id: "gone".into(),
        ifname: "eth0".into(),
    });
    let br = r.net.link(Side::Host, "cni0").unwrap().info.index;
    for name in [stale.as_str(), "veth1a2b3c4d"] {
        let l = r.net.add_link(Side::Host, name, "veth");
        let mut s = r.net.state();
        s.links
            .iter_mut()
            .find(|x| x.info.index == l.index)
            .unwrap()
            .info
            .master = Some(br);
    }
    // An ADD killed between creating the veth and enslaving it leaves an unattached veth.
    let unattached = host_veth_name(&AttachmentKey {
        network: "net1".into(),
        container_id: "half-added".into(),
        ifname: "eth0".into(),
    });
    r.net.add_link(Side::Host, &unattached, "veth");
    let other_network = host_veth_name(&AttachmentKey {
        network: "net2".into(),
        container_id: "gone".into(),
        ifname: "eth0".into(),
    });
    r.net.add_link(Side::Host, &other_network, "veth");
    let stdin = conf(r#","cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"}]"#);
    r.plugin.gc(&request("GC", None, &stdin, "")).unwrap();
    assert!(r.net.link(Side::Host, &stale).is_none());
    assert!(r.net.link(Side::Host, &unattached).is_none());
    assert!(
        r.net.link(Side::Host, &other_network).is_some(),
        "another network's veth is not ours to collect"
    );
    assert!(
        r.net.link(Side::Host, &r.veth()).is_some(),
        "valid attachment kept"
    );
    assert!(
        r.net.link(Side::Host, "veth1a2b3c4d").is_some(),
        "foreign veth kept"
    );
    assert_eq!(r.fw.calls().last().unwrap(), "gc net1 keep 1");
    assert_eq!(r.ipam.calls(), vec!["ADD", "GC"]);
}

#[test]
fn combine_keeps_the_first_code_and_every_message() {
    assert!(combine(vec![]).is_ok());
    let e = combine(vec![
        CniError::new(Code::Netlink, "one"),
        CniError::new(Code::Io, "two"),
    ])
    .unwrap_err();
    assert!(e.is(Code::Netlink));
    assert!(e.msg.contains("one") && e.msg.contains("two"));
}
