//! Link messages: building requests (bridge, veth pair, delete, master, up) and reading
//! [`LinkInfo`] out of the kernel's answers. Pure: nothing here touches a socket.

use crate::bridge::kernel::{BridgeSpec, LinkInfo, Mac, VethSpec};
use netlink_packet_route::link::{
    InfoBridge, InfoData, InfoKind, InfoVeth, LinkAttribute, LinkExtentMask, LinkFlags,
    LinkInfo as NlLinkInfo, LinkMessage,
};
use std::os::fd::RawFd;

/// A get-link request for one name, without statistics.
pub fn get_by_name(name: &str) -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.to_string()));
    msg.attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    msg
}

/// A dump request for every link.
pub fn dump_all() -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    msg
}

/// A dump request for the links enslaved to `master` (the kernel filters on it).
pub fn dump_ports(master: u32) -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::Controller(master));
    msg.attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    msg
}

/// A new-link request creating the bridge, up, with its static MAC, MTU, promiscuous
/// mode and VLAN filtering already applied.
pub fn new_bridge(spec: &BridgeSpec) -> LinkMessage {
    let mut msg = LinkMessage::default();
    let flags = bridge_flags(spec);
    msg.header.flags = flags;
    msg.header.change_mask = flags;
    msg.attributes
        .push(LinkAttribute::IfName(spec.name.clone()));
    msg.attributes
        .push(LinkAttribute::Address(spec.mac.to_vec()));
    if let Some(mtu) = spec.mtu {
        msg.attributes.push(LinkAttribute::Mtu(mtu));
    }
    msg.attributes
        .push(LinkAttribute::LinkInfo(bridge_info(spec.vlan_filtering)));
    msg
}

/// The change an existing bridge needs to match `spec`, or `None` when it already does.
/// Promiscuous mode and VLAN filtering are only ever switched on: another network sharing
/// the bridge may rely on them.
pub fn update_bridge(
    current: &LinkInfo,
    vlan_filtering: Option<bool>,
    spec: &BridgeSpec,
) -> Option<LinkMessage> {
    let mut msg = LinkMessage::default();
    msg.header.index = current.index;
    if !current.up || (spec.promisc && !current.promisc) {
        let flags = bridge_flags(spec);
        msg.header.flags = flags;
        msg.header.change_mask = flags;
    }
    if current.mac != spec.mac {
        msg.attributes
            .push(LinkAttribute::Address(spec.mac.to_vec()));
    }
    if let Some(mtu) = spec.mtu.filter(|&m| m != current.mtu) {
        msg.attributes.push(LinkAttribute::Mtu(mtu));
    }
    if spec.vlan_filtering && vlan_filtering != Some(true) {
        msg.attributes
            .push(LinkAttribute::LinkInfo(bridge_info(true)));
    }
    let unchanged = msg.header.change_mask.is_empty() && msg.attributes.is_empty();
    (!unchanged).then_some(msg)
}

fn bridge_flags(spec: &BridgeSpec) -> LinkFlags {
    if spec.promisc {
        LinkFlags::Up | LinkFlags::Promisc
    } else {
        LinkFlags::Up
    }
}

fn bridge_info(vlan_filtering: bool) -> Vec<NlLinkInfo> {
    let mut info = vec![NlLinkInfo::Kind(InfoKind::Bridge)];
    if vlan_filtering {
        info.push(NlLinkInfo::Data(InfoData::Bridge(vec![
            InfoBridge::VlanFiltering(true),
        ])));
    }
    info
}

/// One new-link request creating a veth pair whose peer (the container end) is born in the
/// namespace `peer_netns` under its final name, with its MTU and MAC.
pub fn new_veth(spec: &VethSpec, peer_netns: RawFd) -> LinkMessage {
    let mut peer = LinkMessage::default();
    peer.attributes
        .push(LinkAttribute::IfName(spec.container_name.clone()));
    if let Some(mtu) = spec.mtu {
        peer.attributes.push(LinkAttribute::Mtu(mtu));
    }
    if let Some(mac) = spec.container_mac {
        peer.attributes.push(LinkAttribute::Address(mac.to_vec()));
    }
    peer.attributes.push(LinkAttribute::NetNsFd(peer_netns));

    let mut msg = LinkMessage::default();
    msg.attributes
        .push(LinkAttribute::IfName(spec.host_name.clone()));
    if let Some(mtu) = spec.mtu {
        msg.attributes.push(LinkAttribute::Mtu(mtu));
    }
    msg.attributes.push(LinkAttribute::LinkInfo(vec![
        NlLinkInfo::Kind(InfoKind::Veth),
        NlLinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
    ]));
    msg
}

/// A delete-link request by name.
pub fn by_name(name: &str) -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.to_string()));
    msg
}

/// A set-link request enslaving `index` to `master`.
pub fn set_master(index: u32, master: u32) -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    msg.attributes.push(LinkAttribute::Controller(master));
    msg
}

/// A set-link request bringing `index` up.
pub fn set_up(index: u32) -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    msg.header.flags = LinkFlags::Up;
    msg.header.change_mask = LinkFlags::Up;
    msg
}

/// What the plugin needs to know about a link, read from the kernel's message.
pub fn link_info(msg: &LinkMessage) -> LinkInfo {
    let mut info = LinkInfo {
        index: msg.header.index,
        name: String::new(),
        mac: [0; 6],
        mtu: 0,
        up: msg.header.flags.contains(LinkFlags::Up),
        master: None,
        kind: None,
        promisc: msg.header.flags.contains(LinkFlags::Promisc),
    };
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(name) => info.name.clone_from(name),
            LinkAttribute::Address(bytes) => info.mac = mac_of(bytes),
            LinkAttribute::Mtu(mtu) => info.mtu = *mtu,
            LinkAttribute::Controller(master) => info.master = Some(*master),
            LinkAttribute::LinkInfo(infos) => {
                info.kind = infos.iter().find_map(|i| match i {
                    NlLinkInfo::Kind(kind) => Some(kind.to_string()),
                    _ => None,
                });
            }
            _ => {}
        }
    }
    info
}

/// Whether a bridge has VLAN filtering on, when the message says.
pub fn vlan_filtering(msg: &LinkMessage) -> Option<bool> {
    msg.attributes.iter().find_map(|attr| match attr {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
            NlLinkInfo::Data(InfoData::Bridge(opts)) => opts.iter().find_map(|o| match o {
                InfoBridge::VlanFiltering(on) => Some(*on),
                _ => None,
            }),
            _ => None,
        }),
        _ => None,
    })
}

fn mac_of(bytes: &[u8]) -> Mac {
    bytes.try_into().unwrap_or([0; 6])
}

#[cfg(test)]
#[path = "link_tests.rs"]
mod tests;
