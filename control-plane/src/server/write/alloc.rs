//! ClusterIP and NodePort allocators: pure bookkeeping over sets, serialised by the caller
//! (one mutex in [`super::WriteState`]) and rebuilt from the stored services on start.
//!
//! Dynamic ClusterIPs come from the upper part of the range first, as upstream's
//! `ServiceIPStaticSubrange` does, so the lower band stays free for requested addresses; the
//! range's first host address (10.43.0.1, the `kubernetes` service) is never handed out
//! dynamically.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// Why an allocation failed; the messages are upstream's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocError {
    /// A requested IP outside the service range.
    #[error("the provided IP ({ip}) is not in the valid range. The range of valid IPs is {range}")]
    IpNotInRange {
        /// The requested IP.
        ip: Ipv4Addr,
        /// The service range.
        range: Ipv4Net,
    },
    /// A requested port outside the NodePort range.
    #[error("provided port is not in the valid range. The range of valid ports is {first}-{last}")]
    PortNotInRange {
        /// First port of the range.
        first: u16,
        /// Last port of the range.
        last: u16,
    },
    /// A requested IP that another service holds.
    #[error("provided IP is already allocated")]
    IpAllocated,
    /// A requested port that another service holds.
    #[error("provided port is already allocated")]
    PortAllocated,
    /// Nothing left to hand out.
    #[error("range is full")]
    Full,
}

/// Service ClusterIPs of one IPv4 range.
#[derive(Debug, Clone)]
pub struct ClusterIpAllocator {
    range: Ipv4Net,
    used: BTreeSet<u32>,
}

impl ClusterIpAllocator {
    /// An empty allocator over `range`.
    pub fn new(range: Ipv4Net) -> Self {
        Self {
            range,
            used: BTreeSet::new(),
        }
    }

    /// Number of host offsets (network and broadcast addresses excluded).
    fn hosts(&self) -> u32 {
        let size = 1u64 << (32 - self.range.prefix_len());
        size.saturating_sub(2).min(u32::MAX as u64) as u32
    }

    /// Offset of `ip` in the range (1 = first host), if it is a usable host address.
    fn offset(&self, ip: Ipv4Addr) -> Option<u32> {
        if !self.range.contains(&ip) {
            return None;
        }
        let off = u32::from(ip) - u32::from(self.range.network());
        (1..=self.hosts()).contains(&off).then_some(off)
    }

    fn addr(&self, offset: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.range.network()) + offset)
    }

    /// Takes a requested IP.
    pub fn allocate(&mut self, ip: Ipv4Addr) -> Result<(), AllocError> {
        let off = self.offset(ip).ok_or(AllocError::IpNotInRange {
            ip,
            range: self.range,
        })?;
        if !self.used.insert(off) {
            return Err(AllocError::IpAllocated);
        }
        Ok(())
    }

    /// Takes a free IP, starting the search at a position derived from `seed`.
    pub fn allocate_next(&mut self, seed: u64) -> Result<Ipv4Addr, AllocError> {
        let hosts = self.hosts();
        // Upstream's static band: min(max(16, size/16), 256) addresses at the bottom.
        let band = (hosts / 16).clamp(16, 256).min(hosts);
        let upper = (band + 1, hosts);
        let lower = (2, band);
        for (first, last) in [upper, lower] {
            if let Some(off) = probe(first, last, seed, |o| !self.used.contains(&o)) {
                self.used.insert(off);
                return Ok(self.addr(off));
            }
        }
        Err(AllocError::Full)
    }

    /// Gives an IP back (no-op if it was not held).
    pub fn release(&mut self, ip: Ipv4Addr) {
        if let Some(off) = self.offset(ip) {
            self.used.remove(&off);
        }
    }

    /// Whether `ip` is held.
    pub fn is_allocated(&self, ip: Ipv4Addr) -> bool {
        self.offset(ip).is_some_and(|o| self.used.contains(&o))
    }

    /// The range served.
    pub fn range(&self) -> Ipv4Net {
        self.range
    }
}

/// NodePorts of one inclusive port range.
#[derive(Debug, Clone)]
pub struct NodePortAllocator {
    first: u16,
    last: u16,
    used: BTreeSet<u16>,
}

impl NodePortAllocator {
    /// An empty allocator over `first..=last`.
    pub fn new((first, last): (u16, u16)) -> Self {
        Self {
            first,
            last,
            used: BTreeSet::new(),
        }
    }

    /// Takes a requested port.
    pub fn allocate(&mut self, port: u16) -> Result<(), AllocError> {
        if !(self.first..=self.last).contains(&port) {
            return Err(AllocError::PortNotInRange {
                first: self.first,
                last: self.last,
            });
        }
        if !self.used.insert(port) {
            return Err(AllocError::PortAllocated);
        }
        Ok(())
    }

    /// Takes a free port, starting the search at a position derived from `seed`.
    pub fn allocate_next(&mut self, seed: u64) -> Result<u16, AllocError> {
        let found = probe(self.first as u32, self.last as u32, seed, |p| {
            !self.used.contains(&(p as u16))
        })
        .ok_or(AllocError::Full)? as u16;
        self.used.insert(found);
        Ok(found)
    }

    /// Gives a port back (no-op if it was not held).
    pub fn release(&mut self, port: u16) {
        self.used.remove(&port);
    }

    /// Whether `port` is held.
    pub fn is_allocated(&self, port: u16) -> bool {
        self.used.contains(&port)
    }
}

/// Linear probe over `first..=last` starting at `seed` modulo the size.
fn probe(first: u32, last: u32, seed: u64, free: impl Fn(u32) -> bool) -> Option<u32> {
    if first > last {
        return None;
    }
    let size = (last - first) as u64 + 1;
    let start = seed % size;
    (0..size)
        .map(|i| first + ((start + i) % size) as u32)
        .find(|&o| free(o))
}

/// Both allocators of the server.
#[derive(Debug, Clone)]
pub struct Allocators {
    /// ClusterIPs.
    pub ips: ClusterIpAllocator,
    /// NodePorts.
    pub ports: NodePortAllocator,
}

impl Allocators {
    /// Empty allocators over the service range and the NodePort range.
    pub fn new(range: Ipv4Net, node_ports: (u16, u16)) -> Self {
        Self {
            ips: ClusterIpAllocator::new(range),
            ports: NodePortAllocator::new(node_ports),
        }
    }
}

/// A random seed for the next dynamic allocation.
pub fn random_seed() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips() -> ClusterIpAllocator {
        ClusterIpAllocator::new("10.43.0.0/16".parse().unwrap())
    }

    #[test]
    fn dynamic_ips_skip_the_static_band_and_the_kubernetes_address() {
        let mut a = ips();
        for seed in 0..2000 {
            let ip = a.allocate_next(seed * 7919).unwrap();
            let off = u32::from(ip) - u32::from(Ipv4Addr::new(10, 43, 0, 0));
            assert!(off > 256 && off < 65535, "{ip}");
        }
    }

    #[test]
    fn requested_ip_out_of_range_or_taken_is_refused() {
        let mut a = ips();
        a.allocate("10.43.0.1".parse().unwrap()).unwrap();
        assert_eq!(
            a.allocate("10.43.0.1".parse().unwrap()),
            Err(AllocError::IpAllocated)
        );
        let e = a.allocate("10.0.0.5".parse().unwrap()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the provided IP (10.0.0.5) is not in the valid range. The range of valid IPs is 10.43.0.0/16"
        );
        assert!(a.allocate("10.43.255.255".parse().unwrap()).is_err());
        a.release("10.43.0.1".parse().unwrap());
        assert!(!a.is_allocated("10.43.0.1".parse().unwrap()));
    }

    #[test]
    fn small_range_fills_up_then_reports_full() {
        let mut a = ClusterIpAllocator::new("10.0.0.0/29".parse().unwrap());
        // 6 hosts: offset 1 is never dynamic, 5 remain.
        let got: BTreeSet<_> = (0..5).map(|s| a.allocate_next(s).unwrap()).collect();
        assert_eq!(got.len(), 5);
        assert_eq!(a.allocate_next(0), Err(AllocError::Full));
        assert!(!got.contains(&"10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn node_ports_stay_in_range_and_are_unique() {
        let mut p = NodePortAllocator::new((30000, 30009));
        let got: BTreeSet<_> = (0..10).map(|s| p.allocate_next(s * 3).unwrap()).collect();
        assert_eq!(got.len(), 10);
        assert_eq!(p.allocate_next(1), Err(AllocError::Full));
        p.release(30004);
        assert_eq!(p.allocate_next(99).unwrap(), 30004);
        assert_eq!(p.allocate(30004), Err(AllocError::PortAllocated));
        assert_eq!(
            p.allocate(80).unwrap_err().to_string(),
            "provided port is not in the valid range. The range of valid ports is 30000-30009"
        );
    }
}
