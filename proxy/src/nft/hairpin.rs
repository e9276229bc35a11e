//! The addresses of one table's `hairpin` set and how many service ports need each, in one
//! machine word per IPv4 address: 10k ports of 10 endpoints hold 100k addresses, which as a
//! map of `IpAddr` to a record took several megabytes.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One address of the `hairpin` set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HairpinAddress {
    /// How many of the table's ports need it.
    pub refs: u32,
    /// Whether the set holds it.
    pub programmed: bool,
}

/// The high bit of a packed entry: the set holds the address; the other bits count ports.
const PROGRAMMED: u32 = 1 << 31;

impl HairpinAddress {
    fn unpack(word: u32) -> Self {
        Self {
            refs: word & !PROGRAMMED,
            programmed: word & PROGRAMMED != 0,
        }
    }

    fn pack(self) -> u32 {
        self.refs.min(!PROGRAMMED) | if self.programmed { PROGRAMMED } else { 0 }
    }
}

/// Addresses in the `hairpin` set or needed by ports; an address neither is dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HairpinAddresses {
    v4: HashMap<u32, u32>,
    v6: HashMap<u128, u32>,
}

/// Changes the entry of `key` with `change`, dropping it once it is the default; returns it
/// before and after.
fn update<K: Hash + Eq>(
    map: &mut HashMap<K, u32>,
    key: K,
    change: impl FnOnce(&mut HairpinAddress),
) -> (HairpinAddress, HairpinAddress) {
    let before = HairpinAddress::unpack(map.get(&key).copied().unwrap_or(0));
    let mut after = before;
    change(&mut after);
    match after.pack() {
        0 => map.remove(&key),
        word => map.insert(key, word),
    };
    (before, after)
}

impl HairpinAddresses {
    /// What is known of `ip` (the default when nothing).
    pub fn get(&self, ip: &IpAddr) -> HairpinAddress {
        let word = match ip {
            IpAddr::V4(v4) => self.v4.get(&u32::from(*v4)),
            IpAddr::V6(v6) => self.v6.get(&u128::from(*v6)),
        };
        HairpinAddress::unpack(word.copied().unwrap_or(0))
    }

    /// Number of addresses known.
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// Whether no address is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every address known, in no particular order.
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let v4 = self.v4.keys().map(|a| IpAddr::V4(Ipv4Addr::from(*a)));
        let v6 = self.v6.keys().map(|a| IpAddr::V6(Ipv6Addr::from(*a)));
        v4.chain(v6)
    }

    /// Changes what is known of `ip`; returns it before and after.
    pub fn update(
        &mut self,
        ip: IpAddr,
        change: impl FnOnce(&mut HairpinAddress),
    ) -> (HairpinAddress, HairpinAddress) {
        match ip {
            IpAddr::V4(v4) => update(&mut self.v4, u32::from(v4), change),
            IpAddr::V6(v6) => update(&mut self.v6, u128::from(v6), change),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_kept_while_a_port_needs_it_or_the_set_holds_it() {
        let mut h = HairpinAddresses::default();
        let a: IpAddr = "10.42.0.1".parse().unwrap();
        let b: IpAddr = "fd00::1".parse().unwrap();
        h.update(a, |x| x.refs += 2);
        h.update(b, |x| x.programmed = true);
        assert_eq!(h.len(), 2);
        assert_eq!(
            h.get(&a),
            HairpinAddress {
                refs: 2,
                programmed: false
            }
        );
        assert!(h.get(&b).programmed);
        h.update(a, |x| x.programmed = true);
        h.update(a, |x| x.refs = 0);
        assert_eq!(h.len(), 2);
        h.update(a, |x| x.programmed = false);
        h.update(b, |x| x.programmed = false);
        assert!(h.is_empty());
        let mut all: Vec<IpAddr> = h.addresses().collect();
        all.sort();
        assert!(all.is_empty());
    }
}
