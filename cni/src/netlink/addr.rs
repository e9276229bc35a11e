//! Address messages: add, delete and dump requests, and reading addresses back. Pure.

use ipnet::IpNet;
use netlink_packet_route::address::{
    AddressAttribute, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::AddressFamily;
use std::net::IpAddr;

/// A dump request for the addresses of link `index` (the kernel filters on it).
pub fn dump(index: u32) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.index = index;
    msg
}

/// A new-address request: for IPv4 `IFA_LOCAL` and `IFA_ADDRESS` both carry the address
/// and the broadcast address is set on prefixes shorter than /31, as `ip addr add … brd +`
/// does; `IFA_F_NODAD` when `nodad`.
pub fn new(index: u32, addr: IpNet, nodad: bool) -> AddressMessage {
    let mut msg = base(index, addr);
    if nodad {
        msg.header.flags = AddressHeaderFlags::Nodad;
    }
    if let IpNet::V4(v4) = addr {
        if v4.prefix_len() < 31 {
            msg.attributes
                .push(AddressAttribute::Broadcast(v4.broadcast()));
        }
    }
    msg
}

/// A delete-address request.
pub fn delete(index: u32, addr: IpNet) -> AddressMessage {
    base(index, addr)
}

fn base(index: u32, addr: IpNet) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.index = index;
    msg.header.prefix_len = addr.prefix_len();
    msg.header.scope = AddressScope::Universe;
    msg.header.family = family(addr.addr());
    if addr.addr().is_ipv4() {
        msg.attributes.push(AddressAttribute::Local(addr.addr()));
    }
    msg.attributes.push(AddressAttribute::Address(addr.addr()));
    msg
}

/// The address family of an IP address.
pub fn family(ip: IpAddr) -> AddressFamily {
    match ip {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

/// The address of link `index` a dump part describes, if it is one.
pub fn parse(msg: &AddressMessage, index: u32) -> Option<IpNet> {
    if msg.header.index != index {
        return None;
    }
    let find = |want_local: bool| {
        msg.attributes.iter().find_map(|a| match a {
            AddressAttribute::Local(ip) if want_local => Some(*ip),
            AddressAttribute::Address(ip) if !want_local => Some(*ip),
            _ => None,
        })
    };
    // IFA_LOCAL is the local address; IFA_ADDRESS is the peer on point-to-point links.
    let ip = find(true).or_else(|| find(false))?;
    IpNet::new(ip, msg.header.prefix_len).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_address_carries_local_address_and_broadcast() {
        let msg = new(7, "10.22.0.5/16".parse().unwrap(), false);
        assert_eq!(msg.header.index, 7);
        assert_eq!(msg.header.prefix_len, 16);
        assert_eq!(msg.header.family, AddressFamily::Inet);
        let ip: IpAddr = "10.22.0.5".parse().unwrap();
        assert!(msg.attributes.contains(&AddressAttribute::Local(ip)));
        assert!(msg.attributes.contains(&AddressAttribute::Address(ip)));
        assert!(msg.attributes.contains(&AddressAttribute::Broadcast(
            "10.22.255.255".parse().unwrap()
        )));
    }

    #[test]
    fn ipv6_address_with_nodad_has_the_flag_and_no_local() {
        let msg = new(3, "fd00::5/64".parse().unwrap(), true);
        assert_eq!(msg.header.family, AddressFamily::Inet6);
        assert!(msg.header.flags.contains(AddressHeaderFlags::Nodad));
        assert!(!msg
            .attributes
            .iter()
            .any(|a| matches!(a, AddressAttribute::Local(_))));
    }

    #[test]
    fn point_to_point_slash_32_has_no_broadcast() {
        let msg = new(3, "10.0.0.1/32".parse().unwrap(), false);
        assert!(!msg
            .attributes
            .iter()
            .any(|a| matches!(a, AddressAttribute::Broadcast(_))));
    }

    #[test]
    fn parsed_address_prefers_the_local_attribute() {
        let mut msg = AddressMessage::default();
        msg.header.index = 4;
        msg.header.prefix_len = 24;
        msg.attributes = vec![
            AddressAttribute::Address("10.0.0.9".parse().unwrap()),
            AddressAttribute::Local("10.0.0.1".parse().unwrap()),
        ];
        assert_eq!(parse(&msg, 4), Some("10.0.0.1/24".parse().unwrap()));
        assert_eq!(parse(&msg, 5), None);
    }
}
