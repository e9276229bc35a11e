use super::*;
use crate::bridge::names::parse_mac;

fn config(extra: &str) -> Config {
    let sep = if extra.is_empty() { "" } else { "," };
    Config::parse(
        format!(
            r#"{{"cniVersion":"1.0.0","name":"net1","type":"skiff-bridge",
               "ipam":{{"type":"host-local"}}{sep}{extra}}}"#
        )
        .as_bytes(),
    )
    .unwrap()
}

fn key() -> AttachmentKey {
    AttachmentKey {
        network: "net1".into(),
        container_id: "c1".into(),
        ifname: "eth0".into(),
    }
}

fn ipam(ips: &[(&str, Option<&str>)], routes: &[(&str, Option<&str>)]) -> CniResult {
    CniResult {
        ips: ips
            .iter()
            .map(|(a, gw)| IpConfig {
                address: a.parse().unwrap(),
                gateway: gw.map(|g| g.parse().unwrap()),
                interface: None,
            })
            .collect(),
        routes: routes
            .iter()
            .map(|(d, gw)| Route::new(d.parse().unwrap(), gw.map(|g| g.parse().unwrap())))
            .collect(),
        ..Default::default()
    }
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn ipv4_with_gateway_plans_bridge_address_forwarding_and_container_side() {
    let p = plan(
        &config(r#""isGateway":true"#),
        &key(),
        &ipam(&[("10.22.0.5/16", Some("10.22.0.1"))], &[]),
        None,
    );
    assert_eq!(p.bridge.name, "cni0");
    assert_eq!(p.bridge.mac, bridge_mac("cni0"));
    assert_eq!(p.bridge_addresses, vec![net("10.22.0.1/16")]);
    assert_eq!(
        p.host_sysctls,
        vec![Sysctl::new("net/ipv4/ip_forward", "1")]
    );
    assert_eq!(p.veth.host_name, host_veth_name(&key()));
    assert_eq!(p.veth.container_name, "eth0");
    assert_eq!(p.container.addresses, vec![net("10.22.0.5/16")]);
    assert!(p.container.sysctls.is_empty(), "no IPv6, no accept_dad");
    assert!(p.container.up);
    assert!(
        p.container.routes.is_empty(),
        "no default route without isDefaultGateway"
    );
    assert_eq!(p.result.ips[0].interface, Some(2));
    assert_eq!(p.result.ips[0].gateway, Some(ip("10.22.0.1")));
    assert!(p.masquerade.is_empty());
    assert_eq!(p.rules([2, 0, 0, 0, 0, 1]), AttachmentRules::default());
}

#[test]
fn gateway_defaults_to_first_host_of_the_subnet() {
    let p = plan(
        &config(r#""isGateway":true"#),
        &key(),
        &ipam(&[("10.22.3.5/16", None)], &[]),
        None,
    );
    assert_eq!(p.result.ips[0].gateway, Some(ip("10.22.0.1")));
    assert_eq!(p.bridge_addresses, vec![net("10.22.0.1/16")]);
}

#[test]
fn without_is_gateway_the_bridge_gets_no_address_and_no_forwarding() {
    let p = plan(
        &config(""),
        &key(),
        &ipam(&[("10.22.0.5/16", None)], &[]),
        None,
    );
    assert!(p.bridge_addresses.is_empty());
    assert!(p.host_sysctls.is_empty());
    assert_eq!(p.result.ips[0].gateway, None);
}

#[test]
fn ipv6_disables_dad_unless_enabledad() {
    let ips = ipam(&[("fd00:10::5/64", Some("fd00:10::1"))], &[]);
    let p = plan(&config(r#""isGateway":true"#), &key(), &ips, None);
    assert_eq!(p.bridge_addresses, vec![net("fd00:10::1/64")]);
    assert_eq!(
        p.host_sysctls,
        vec![Sysctl::new("net/ipv6/conf/all/forwarding", "1")]
    );
    assert_eq!(
        p.container.sysctls,
        vec![Sysctl::new("net/ipv6/conf/eth0/accept_dad", "0")]
    );
    assert!(p.container.nodad);
    let p = plan(&config(r#""enabledad":true"#), &key(), &ips, None);
    assert!(p.container.sysctls.is_empty());
    assert!(!p.container.nodad);
}

#[test]
fn dual_stack_default_gateway_adds_one_default_route_per_family() {
    let p = plan(
        &config(r#""isDefaultGateway":true"#),
        &key(),
        &ipam(
            &[("10.22.0.5/16", Some("10.22.0.1")), ("fd00:10::5/64", None)],
            &[("192.168.0.0/24", None)],
        ),
        None,
    );
    assert_eq!(
        p.bridge_addresses,
        vec![net("10.22.0.1/16"), net("fd00:10::1/64")]
    );
    assert_eq!(p.host_sysctls.len(), 2);
    let routes: Vec<(IpNet, Option<IpAddr>)> =
        p.result.routes.iter().map(|r| (r.dst, r.gw)).collect();
    assert_eq!(
        routes,
        vec![
            (net("192.168.0.0/24"), None),
            (net("0.0.0.0/0"), Some(ip("10.22.0.1"))),
            (net("::/0"), Some(ip("fd00:10::1"))),
        ]
    );
    // In the container, a route without a next hop goes via its family's gateway.
    assert_eq!(
        p.container.routes[0],
        PlannedRoute {
            dst: net("192.168.0.0/24"),
            gw: Some(ip("10.22.0.1"))
        }
    );
    assert_eq!(p.container.addresses.len(), 2);
    assert!(p.result.ips.iter().all(|i| i.interface == Some(2)));
}

#[test]
fn default_gateway_keeps_an_ipam_default_route() {
    let p = plan(
        &config(r#""isDefaultGateway":true"#),
        &key(),
        &ipam(
            &[("10.22.0.5/16", Some("10.22.0.1"))],
            &[("0.0.0.0/0", Some("10.22.0.254"))],
        ),
        None,
    );
    assert_eq!(p.result.routes.len(), 1);
    assert_eq!(p.result.routes[0].gw, Some(ip("10.22.0.254")));
}

#[test]
fn ip_masq_masquerades_every_container_address() {
    let ips = ipam(&[("10.22.0.5/16", None), ("fd00:10::5/64", None)], &[]);
    let p = plan(&config(r#""ipMasq":true"#), &key(), &ips, None);
    assert_eq!(
        p.masquerade,
        vec![net("10.22.0.5/16"), net("fd00:10::5/64")]
    );
    let r = p.rules([2, 0, 0, 0, 0, 1]);
    assert_eq!(r.masquerade, p.masquerade);
    assert_eq!(r.macspoof, None);
    let p = plan(&config(r#""ipMasq":false"#), &key(), &ips, None);
    assert!(p.rules([2, 0, 0, 0, 0, 1]).masquerade.is_empty());
}

#[test]
fn macspoofchk_names_host_veth_and_container_mac() {
    let p = plan(
        &config(r#""macspoofchk":true"#),
        &key(),
        &ipam(&[("10.22.0.5/16", None)], &[]),
        None,
    );
    let r = p.rules([2, 0, 0, 0, 0, 9]);
    assert_eq!(
        r.macspoof,
        Some(MacSpoof {
            host_ifname: host_veth_name(&key()),
            mac: [2, 0, 0, 0, 0, 9]
        })
    );
}

#[test]
fn vlan_mtu_hairpin_and_promisc_reach_the_specs() {
    let p = plan(
        &config(
            r#""vlan":42,"preserveDefaultVlan":false,"mtu":1400,"hairpinMode":true,"promiscMode":true,"bridge":"br9""#,
        ),
        &key(),
        &ipam(&[("10.22.0.5/16", None)], &[]),
        None,
    );
    assert_eq!(
        p.vlan,
        Some(PortVlan {
            vid: 42,
            keep_default: false
        })
    );
    assert!(p.bridge.vlan_filtering && p.bridge.promisc);
    assert_eq!((p.bridge.mtu, p.veth.mtu), (Some(1400), Some(1400)));
    assert_eq!(p.bridge.name, "br9");
    assert!(p.hairpin);
    let p = plan(&config(""), &key(), &ipam(&[], &[]), None);
    assert_eq!(p.vlan, None);
    assert!(!p.bridge.vlan_filtering);
}

#[test]
fn requested_mac_is_the_container_mac() {
    let mac = parse_mac("02:aa:bb:cc:dd:ee").unwrap();
    let p = plan(
        &config(""),
        &key(),
        &ipam(&[("10.22.0.5/16", None)], &[]),
        Some(mac),
    );
    assert_eq!(p.veth.container_mac, Some(mac));
}

#[test]
fn config_dns_wins_over_ipam_dns_field_by_field() {
    let mut r = ipam(&[("10.22.0.5/16", None)], &[]);
    r.dns = Dns {
        nameservers: vec!["10.0.0.53".into()],
        domain: "ipam.local".into(),
        ..Default::default()
    };
    let c = config(r#""dns":{"search":["svc.local"],"domain":"conf.local"}"#);
    let p = plan(&c, &key(), &r, None);
    assert_eq!(p.result.dns.nameservers, vec!["10.0.0.53"]);
    assert_eq!(p.result.dns.domain, "conf.local");
    assert_eq!(p.result.dns.search, vec!["svc.local"]);
}

#[test]
fn disabled_container_interface_stays_down() {
    let c = Config::parse(
        br#"{"cniVersion":"1.0.0","name":"n","type":"t","disableContainerInterface":true}"#,
    )
    .unwrap();
    let p = plan(&c, &key(), &CniResult::default(), None);
    assert!(!p.container.up);
    assert!(p.container.addresses.is_empty());
}

#[test]
fn bridge_address_ensure_follows_the_reference() {
    let want = net("10.22.0.1/16");
    assert_eq!(
        bridge_address_change(&[want], want, false),
        AddressChange::Present
    );
    assert_eq!(
        bridge_address_change(&[], want, false),
        AddressChange::Add { remove: vec![] }
    );
    let other = net("10.99.0.1/16");
    assert_eq!(
        bridge_address_change(&[other], want, false),
        AddressChange::Conflict { existing: other }
    );
    assert_eq!(
        bridge_address_change(&[other], want, true),
        AddressChange::Add {
            remove: vec![other]
        }
    );
    // IPv6: link-local and non-overlapping subnets coexist; overlapping ones conflict.
    let want6 = net("fd00:10::1/64");
    let existing = [net("fe80::1/64"), net("fd00:20::1/64"), other];
    assert_eq!(
        bridge_address_change(&existing, want6, false),
        AddressChange::Add { remove: vec![] }
    );
    let overlap = net("fd00:10::9/64");
    assert_eq!(
        bridge_address_change(&[overlap], want6, false),
        AddressChange::Conflict { existing: overlap }
    );
}
