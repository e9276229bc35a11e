//! Validated address ranges: a [`Range`] is one subnet with its allocatable interval and
//! gateway; a [`RangeSet`] is the list of ranges one address per attachment is taken from.

use ipnet::IpNet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One allocatable interval inside a subnet, with the subnet's gateway (never handed out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// The subnet, host bits cleared; its prefix length goes into results.
    pub subnet: IpNet,
    /// First allocatable address (inclusive).
    pub start: IpAddr,
    /// Last allocatable address (inclusive).
    pub end: IpAddr,
    /// The gateway returned with each address of this range.
    pub gateway: IpAddr,
}

impl Range {
    /// A range with host-local's defaults: gateway and start at the subnet's first host
    /// address, end at its last address (the one before the broadcast for IPv4).
    pub fn with_defaults(subnet: IpNet) -> Self {
        let subnet = subnet.trunc();
        let first = offset(subnet.network(), 1);
        Self {
            subnet,
            start: first,
            end: default_end(subnet),
            gateway: first,
        }
    }

    /// Whether `ip` lies in `[start, end]` (same family only).
    pub fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.start.is_ipv4() && self.start <= ip && ip <= self.end
    }

    /// How many addresses `[start, end]` holds that may be handed out (the gateway excluded).
    pub fn capacity(&self) -> u128 {
        let span = (to_u128(self.end) - to_u128(self.start)).saturating_add(1);
        span - u128::from(self.contains(self.gateway))
    }

    /// Whether the intervals of two ranges share an address.
    pub fn overlaps(&self, other: &Range) -> bool {
        self.start.is_ipv4() == other.start.is_ipv4()
            && self.start <= other.end
            && other.start <= self.end
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

/// The ranges one address per attachment is taken from (all of one family).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeSet {
    /// The ranges, tried in order.
    pub ranges: Vec<Range>,
}

impl RangeSet {
    /// The range whose interval holds `ip`.
    pub fn range_for(&self, ip: IpAddr) -> Option<&Range> {
        self.ranges.iter().find(|r| r.contains(ip))
    }

    /// Whether some range of the set holds `ip`.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.range_for(ip).is_some()
    }

    /// Whether `ip` is the gateway of the range holding it.
    pub fn is_gateway(&self, ip: IpAddr) -> bool {
        self.range_for(ip).is_some_and(|r| r.gateway == ip)
    }

    /// How many addresses of the set may be handed out in total.
    pub fn capacity(&self) -> u128 {
        self.ranges
            .iter()
            .fold(0u128, |acc, r| acc.saturating_add(r.capacity()))
    }
}

impl fmt::Display for RangeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

/// The address as an integer (IPv4 in the low 32 bits).
pub fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// The address `n` after `ip`, wrapping within its family.
pub fn offset(ip: IpAddr, n: u128) -> IpAddr {
    match ip {
        IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(
            (u128::from(u32::from(a)).wrapping_add(n)) as u32,
        )),
        IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a).wrapping_add(n))),
    }
}

/// The address after `ip`.
pub fn next(ip: IpAddr) -> IpAddr {
    offset(ip, 1)
}

fn default_end(subnet: IpNet) -> IpAddr {
    match subnet {
        // Adding 2^32 - 1 wraps to "minus one" within IPv4: skip the broadcast address.
        IpNet::V4(_) => offset(subnet.broadcast(), u128::from(u32::MAX)),
        IpNet::V6(_) => subnet.broadcast(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_defaults_match_host_local() {
        let r = Range::with_defaults("10.22.0.0/16".parse().unwrap());
        assert_eq!(r.gateway, ip("10.22.0.1"));
        assert_eq!(r.start, ip("10.22.0.1"));
        assert_eq!(r.end, ip("10.22.255.254"));
        assert_eq!(r.capacity(), 65533);
    }

    #[test]
    fn ipv6_defaults_end_at_last_address() {
        let r = Range::with_defaults("fd00:1::/120".parse().unwrap());
        assert_eq!(r.gateway, ip("fd00:1::1"));
        assert_eq!(r.end, ip("fd00:1::ff"));
    }

    #[test]
    fn host_bits_of_the_subnet_are_cleared() {
        let r = Range::with_defaults("10.1.2.3/24".parse().unwrap());
        assert_eq!(r.subnet.to_string(), "10.1.2.0/24");
    }

    #[test]
    fn overlap_and_containment_respect_families() {
        let a = Range::with_defaults("10.0.0.0/24".parse().unwrap());
        let b = Range::with_defaults("10.0.0.128/25".parse().unwrap());
        let c = Range::with_defaults("fd00::/64".parse().unwrap());
        assert!(a.overlaps(&b));
        assert!(!a.overlaps(&c));
        assert!(!a.contains(ip("fd00::5")));
        assert!(a.contains(ip("10.0.0.254")));
        assert!(!a.contains(ip("10.0.0.255")));
    }

    #[test]
    fn next_wraps_within_family() {
        assert_eq!(next(ip("10.0.0.255")), ip("10.0.1.0"));
        assert_eq!(next(ip("255.255.255.255")), ip("0.0.0.0"));
        assert_eq!(next(ip("fd00::ffff")), ip("fd00::1:0"));
    }
}
