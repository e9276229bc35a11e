//! Bridge-port messages (`AF_BRIDGE` family): hairpin mode through `IFLA_PROTINFO` and port
//! VLANs through `IFLA_AF_SPEC`. Going through netlink rather than sysfs matters: sysfs shows
//! the namespace it was mounted in, not the caller's. Pure.

use netlink_packet_core::DefaultNla;
use netlink_packet_route::link::{
    AfSpecBridge, BridgeVlanInfo, BridgeVlanInfoFlags, LinkAttribute, LinkMessage,
    LinkProtoInfoBridge,
};
use netlink_packet_route::AddressFamily;

/// `IFLA_BRPORT_MODE`: hairpin (reflective relay) mode of a bridge port, one byte.
const IFLA_BRPORT_MODE: u16 = 4;

/// The VLAN a new bridge port belongs to by default.
pub const DEFAULT_VID: u16 = 1;

fn port(index: u32) -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.header.interface_family = AddressFamily::Bridge;
    msg.header.index = index;
    msg
}

/// A set-link request switching hairpin mode of port `index`.
pub fn hairpin(index: u32, on: bool) -> LinkMessage {
    let mut msg = port(index);
    msg.attributes.push(LinkAttribute::ProtoInfoBridge(vec![
        LinkProtoInfoBridge::Other(DefaultNla::new(IFLA_BRPORT_MODE, vec![u8::from(on)])),
    ]));
    msg
}

/// A set-link request making `vid` the untagged PVID of port `index`.
pub fn add_pvid(index: u32, vid: u16) -> LinkMessage {
    vlan(
        index,
        BridgeVlanInfo {
            flags: BridgeVlanInfoFlags::Pvid | BridgeVlanInfoFlags::Untagged,
            vid,
        },
    )
}

/// A del-link request removing `vid` from port `index`.
pub fn del_vlan(index: u32, vid: u16) -> LinkMessage {
    vlan(
        index,
        BridgeVlanInfo {
            flags: BridgeVlanInfoFlags::empty(),
            vid,
        },
    )
}

fn vlan(index: u32, info: BridgeVlanInfo) -> LinkMessage {
    let mut msg = port(index);
    msg.attributes
        .push(LinkAttribute::AfSpecBridge(vec![AfSpecBridge::VlanInfo(
            info,
        )]));
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::{Emitable, NlaBuffer};

    /// The attributes of an ifinfomsg body as (type, value) pairs, from raw bytes.
    fn raw_attrs(msg: &LinkMessage) -> Vec<(u16, Vec<u8>)> {
        let mut buf = vec![0; msg.buffer_len()];
        msg.emit(&mut buf);
        assert_eq!(buf[0], libc::AF_BRIDGE as u8, "ifi_family");
        netlink_packet_core::NlasIterator::new(&buf[16..])
            .map(|n| {
                let n: NlaBuffer<&[u8]> = n.unwrap();
                (
                    n.kind() | if n.nested_flag() { 0x8000 } else { 0 },
                    n.value().to_vec(),
                )
            })
            .collect()
    }

    #[test]
    fn hairpin_is_a_nested_protinfo_with_brport_mode() {
        let attrs = raw_attrs(&hairpin(5, true));
        assert_eq!(attrs.len(), 1);
        let (kind, value) = &attrs[0];
        // The kernel only applies port options from a *nested* IFLA_PROTINFO (12).
        assert_eq!(*kind, 12 | 0x8000);
        // One NLA: len 5, type IFLA_BRPORT_MODE, value 1, padded.
        assert_eq!(&value[..5], &[5, 0, 4, 0, 1]);
    }

    #[test]
    fn pvid_is_af_spec_vlan_info_with_pvid_and_untagged() {
        let attrs = raw_attrs(&add_pvid(5, 100));
        let (kind, value) = &attrs[0];
        assert_eq!(*kind & 0x3fff, 26, "IFLA_AF_SPEC");
        // IFLA_BRIDGE_VLAN_INFO (2): flags PVID|UNTAGGED (6), vid 100.
        let mut want = vec![8, 0, 2, 0];
        want.extend_from_slice(&6u16.to_ne_bytes());
        want.extend_from_slice(&100u16.to_ne_bytes());
        assert_eq!(value, &want);
    }
}
