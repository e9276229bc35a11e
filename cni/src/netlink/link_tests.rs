//! Tests of the link messages, checked on the wire bytes the kernel will read.

use super::*;
use crate::netlink::socket::encode;
use netlink_packet_core::{NlaBuffer, NlasIterator, NLM_F_REQUEST};
use netlink_packet_route::RouteNetlinkMessage;

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_FD: u16 = 28;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const IFINFOMSG_LEN: usize = 16;
const NLMSGHDR_LEN: usize = 16;

/// Attributes of an attribute stream as (type without flags, value).
fn attrs(bytes: &[u8]) -> Vec<(u16, Vec<u8>)> {
    NlasIterator::new(bytes)
        .map(|n| {
            let n: NlaBuffer<&[u8]> = n.expect("well-formed attribute");
            (n.kind(), n.value().to_vec())
        })
        .collect()
}

fn only(attrs: &[(u16, Vec<u8>)], kind: u16) -> Vec<u8> {
    let found: Vec<_> = attrs.iter().filter(|(k, _)| *k == kind).collect();
    assert_eq!(found.len(), 1, "attribute {kind} once in {attrs:?}");
    found[0].1.clone()
}

fn cstr(name: &str) -> Vec<u8> {
    let mut v = name.as_bytes().to_vec();
    v.push(0);
    v
}

fn veth_spec() -> VethSpec {
    VethSpec {
        host_name: "veth1a2b3c4d".into(),
        container_name: "eth0".into(),
        mtu: Some(1400),
        container_mac: Some([0x02, 0x42, 0xac, 0x11, 0x00, 0x05]),
    }
}

#[test]
fn veth_request_creates_the_peer_in_the_container_namespace_under_its_final_name() {
    let bytes = encode(
        RouteNetlinkMessage::NewLink(new_veth(&veth_spec(), 7)),
        NLM_F_REQUEST,
        1,
    );
    assert_eq!(u16::from_ne_bytes([bytes[4], bytes[5]]), libc::RTM_NEWLINK);
    let top = attrs(&bytes[NLMSGHDR_LEN + IFINFOMSG_LEN..]);
    assert_eq!(only(&top, IFLA_IFNAME), cstr("veth1a2b3c4d"));
    assert_eq!(only(&top, IFLA_MTU), 1400u32.to_ne_bytes());
    assert!(
        top.iter().all(|(k, _)| *k != IFLA_NET_NS_FD),
        "the host end stays here"
    );

    let info = attrs(&only(&top, IFLA_LINKINFO));
    assert_eq!(only(&info, IFLA_INFO_KIND), cstr("veth"));
    let data = attrs(&only(&info, IFLA_INFO_DATA));
    let peer_msg = only(&data, VETH_INFO_PEER);
    let peer = attrs(&peer_msg[IFINFOMSG_LEN..]);
    assert_eq!(only(&peer, IFLA_IFNAME), cstr("eth0"));
    assert_eq!(only(&peer, IFLA_MTU), 1400u32.to_ne_bytes());
    assert_eq!(
        only(&peer, IFLA_ADDRESS),
        [0x02, 0x42, 0xac, 0x11, 0x00, 0x05]
    );
    assert_eq!(only(&peer, IFLA_NET_NS_FD), 7i32.to_ne_bytes());
}

#[test]
fn veth_without_mtu_or_mac_leaves_them_to_the_kernel() {
    let spec = VethSpec {
        mtu: None,
        container_mac: None,
        ..veth_spec()
    };
    let msg = new_veth(&spec, 3);
    assert!(!msg
        .attributes
        .iter()
        .any(|a| matches!(a, LinkAttribute::Mtu(_))));
}

fn bridge_spec() -> BridgeSpec {
    BridgeSpec {
        name: "cni0".into(),
        mtu: Some(1450),
        mac: [0x02, 0, 0, 0, 0, 1],
        promisc: false,
        vlan_filtering: true,
    }
}

#[test]
fn new_bridge_is_born_up_with_static_mac_mtu_and_vlan_filtering() {
    let msg = new_bridge(&bridge_spec());
    assert!(msg.header.flags.contains(LinkFlags::Up));
    assert!(!msg.header.flags.contains(LinkFlags::Promisc));
    let bytes = encode(RouteNetlinkMessage::NewLink(msg), NLM_F_REQUEST, 1);
    let top = attrs(&bytes[NLMSGHDR_LEN + IFINFOMSG_LEN..]);
    assert_eq!(only(&top, IFLA_ADDRESS), [0x02, 0, 0, 0, 0, 1]);
    assert_eq!(only(&top, IFLA_MTU), 1450u32.to_ne_bytes());
    let info = attrs(&only(&top, IFLA_LINKINFO));
    assert_eq!(only(&info, IFLA_INFO_KIND), cstr("bridge"));
    let data = attrs(&only(&info, IFLA_INFO_DATA));
    // IFLA_BR_VLAN_FILTERING = 7, one byte.
    assert_eq!(only(&data, 7), [1]);
}

fn current() -> LinkInfo {
    LinkInfo {
        index: 4,
        name: "cni0".into(),
        mac: [0x02, 0, 0, 0, 0, 1],
        mtu: 1450,
        up: true,
        master: None,
        kind: Some("bridge".into()),
        promisc: false,
    }
}

#[test]
fn matching_bridge_needs_no_change() {
    assert_eq!(update_bridge(&current(), Some(true), &bridge_spec()), None);
}

#[test]
fn bridge_whose_mac_drifted_gets_the_static_mac_back_and_nothing_else() {
    let mut drifted = current();
    drifted.mac = [0x0a, 1, 2, 3, 4, 5];
    let msg = update_bridge(&drifted, Some(true), &bridge_spec()).expect("a change");
    assert_eq!(msg.header.index, 4);
    assert_eq!(
        msg.attributes,
        vec![LinkAttribute::Address(vec![0x02, 0, 0, 0, 0, 1])]
    );
    assert!(msg.header.change_mask.is_empty());
}

#[test]
fn down_bridge_is_set_up_and_vlan_filtering_switched_on() {
    let mut down = current();
    down.up = false;
    let msg = update_bridge(&down, Some(false), &bridge_spec()).expect("a change");
    assert!(msg.header.flags.contains(LinkFlags::Up));
    assert!(msg.header.change_mask.contains(LinkFlags::Up));
    assert!(msg
        .attributes
        .iter()
        .any(|a| matches!(a, LinkAttribute::LinkInfo(_))));
}

#[test]
fn promiscuous_mode_and_vlan_filtering_are_never_switched_off() {
    let mut on = current();
    on.promisc = true;
    let spec = BridgeSpec {
        vlan_filtering: false,
        ..bridge_spec()
    };
    assert_eq!(update_bridge(&on, Some(true), &spec), None);
}

#[test]
fn link_info_reads_name_mac_mtu_master_kind_and_flags() {
    let mut msg = LinkMessage::default();
    msg.header.index = 12;
    msg.header.flags = LinkFlags::Up | LinkFlags::Promisc;
    msg.attributes = vec![
        LinkAttribute::IfName("veth0".into()),
        LinkAttribute::Address(vec![2, 0, 0, 0, 0, 9]),
        LinkAttribute::Mtu(1500),
        LinkAttribute::Controller(4),
        LinkAttribute::LinkInfo(vec![NlLinkInfo::Kind(InfoKind::Veth)]),
    ];
    let info = link_info(&msg);
    assert_eq!(
        info,
        LinkInfo {
            index: 12,
            name: "veth0".into(),
            mac: [2, 0, 0, 0, 0, 9],
            mtu: 1500,
            up: true,
            master: Some(4),
            kind: Some("veth".into()),
            promisc: true,
        }
    );
}
