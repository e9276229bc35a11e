//! Route messages: adding a route to the main table and dumping the routes of one output
//! interface. Pure.

use crate::bridge::kernel::RouteSpec;
use ipnet::IpNet;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::AddressFamily;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A new-route request in the main table, protocol `boot`; link scope without a gateway.
pub fn new(route: &RouteSpec) -> RouteMessage {
    let mut msg = RouteMessage::default();
    let h = &mut msg.header;
    h.address_family = super::addr::family(route.dst.addr());
    h.destination_prefix_length = route.dst.prefix_len();
    h.table = RouteHeader::RT_TABLE_MAIN;
    h.protocol = RouteProtocol::Boot;
    h.scope = if route.gw.is_some() {
        RouteScope::Universe
    } else {
        RouteScope::Link
    };
    h.kind = RouteType::Unicast;
    if route.dst.prefix_len() > 0 {
        msg.attributes
            .push(RouteAttribute::Destination(route.dst.network().into()));
    }
    if let Some(gw) = route.gw {
        msg.attributes.push(RouteAttribute::Gateway(gw.into()));
    }
    msg.attributes.push(RouteAttribute::Oif(route.oif));
    msg
}

/// A dump request for unicast routes of the main table leaving through `oif`, both
/// families (the kernel filters on table, type and interface).
pub fn dump(oif: u32) -> RouteMessage {
    let mut msg = RouteMessage::default();
    msg.header.table = RouteHeader::RT_TABLE_MAIN;
    msg.header.kind = RouteType::Unicast;
    msg.attributes.push(RouteAttribute::Oif(oif));
    msg
}

/// The route a dump part describes, if it is a main-table unicast route through `oif`.
pub fn parse(msg: &RouteMessage, oif: u32) -> Option<RouteSpec> {
    let h = &msg.header;
    let unspecified: IpAddr = match h.address_family {
        AddressFamily::Inet => Ipv4Addr::UNSPECIFIED.into(),
        AddressFamily::Inet6 => Ipv6Addr::UNSPECIFIED.into(),
        _ => return None,
    };
    let mut table = u32::from(h.table);
    let (mut dst, mut gw, mut out) = (unspecified, None, None);
    for attr in &msg.attributes {
        match attr {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Destination(a) => dst = ip_of(a)?,
            RouteAttribute::Gateway(a) => gw = Some(ip_of(a)?),
            RouteAttribute::Oif(o) => out = Some(*o),
            _ => {}
        }
    }
    let main = table == u32::from(RouteHeader::RT_TABLE_MAIN);
    if !main || h.kind != RouteType::Unicast || out != Some(oif) {
        return None;
    }
    Some(RouteSpec {
        dst: IpNet::new(dst, h.destination_prefix_length).ok()?,
        gw,
        oif,
    })
}

fn ip_of(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some((*v4).into()),
        RouteAddress::Inet6(v6) => Some((*v6).into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(dst: &str, gw: Option<&str>) -> RouteSpec {
        RouteSpec {
            dst: dst.parse().unwrap(),
            gw: gw.map(|g| g.parse().unwrap()),
            oif: 9,
        }
    }

    #[test]
    fn default_route_via_gateway_has_no_destination_and_universe_scope() {
        let msg = new(&spec("0.0.0.0/0", Some("10.1.0.1")));
        assert_eq!(msg.header.scope, RouteScope::Universe);
        assert_eq!(msg.header.protocol, RouteProtocol::Boot);
        assert_eq!(msg.header.table, RouteHeader::RT_TABLE_MAIN);
        assert!(!msg
            .attributes
            .iter()
            .any(|a| matches!(a, RouteAttribute::Destination(_))));
        assert!(msg
            .attributes
            .contains(&RouteAttribute::Gateway(RouteAddress::Inet(
                "10.1.0.1".parse().unwrap()
            ))));
        assert!(msg.attributes.contains(&RouteAttribute::Oif(9)));
    }

    #[test]
    fn route_without_gateway_is_link_scope() {
        let msg = new(&spec("fd00:1::/64", None));
        assert_eq!(msg.header.scope, RouteScope::Link);
        assert_eq!(msg.header.address_family, AddressFamily::Inet6);
        assert_eq!(msg.header.destination_prefix_length, 64);
    }

    #[test]
    fn parse_round_trips_a_built_route() {
        let want = spec("10.2.0.0/16", Some("10.1.0.1"));
        assert_eq!(parse(&new(&want), 9), Some(want.clone()));
        assert_eq!(parse(&new(&want), 8), None);
        let default = spec("::/0", Some("fd00::1"));
        assert_eq!(parse(&new(&default), 9), Some(default));
    }
}
