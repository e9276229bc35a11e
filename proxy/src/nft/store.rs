//! What one table holds. Per service port a compact record: a fingerprint of the port it was
//! computed from (an unchanged port is not computed again) and its objects packed in one
//! string, unpacked only when the port changes (at 10k ports the expanded form would cost tens
//! of megabytes for data read once per change). Besides: the shared `dnat-*` chains, the
//! `hairpin` set and how many ports need each of its addresses.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::hash::Hasher;
use std::net::IpAddr;

use super::desired::{Desired, DnatClass, MapName};
use super::hairpin::HairpinAddresses;
use super::plan::{Inventory, PortPlan};
use crate::model::{Endpoint, ServicePort, ServicePortName};

/// What the kernel holds for one service port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    /// [`fingerprint`] of the port these objects were computed from; 0 when unknown (objects
    /// claimed from the kernel at start).
    pub fingerprint: u64,
    objects: u32,
    packed: Box<str>,
}

const CHAIN: char = 'c';
const SET: char = 's';
const ELEMENT: char = 'e';
const SLOTS: char = 'g';
const SLOTS_ONE_PORT: char = 'p';

impl Stored {
    /// The record of `inventory`, computed from a port of `fingerprint`.
    pub fn new(fingerprint: u64, inventory: &Inventory) -> Self {
        let mut s = String::new();
        for chain in &inventory.chains {
            let _ = writeln!(s, "{CHAIN}\t{chain}");
        }
        for set in &inventory.sets {
            let _ = writeln!(s, "{SET}\t{set}");
        }
        // The slots of one endpoint map key go on one line: `g <map> <key> <slot 0> <slot 1>..`,
        // or when every endpoint has the same port `p <map> <key> <port> <addr 0> <addr 1>..`.
        let mut slots: BTreeMap<(usize, &str), Vec<(usize, &str)>> = BTreeMap::new();
        for ((map, key), value) in &inventory.elements {
            let index = MapName::ALL.iter().position(|m| m == map).unwrap_or(0);
            let slot = key
                .rsplit_once(" . ")
                .and_then(|(prefix, slot)| Some((prefix, slot.parse::<usize>().ok()?)));
            match slot {
                Some((prefix, slot)) if !map.holds_verdicts() => {
                    slots
                        .entry((index, prefix))
                        .or_default()
                        .push((slot, value));
                }
                _ => {
                    let _ = writeln!(s, "{ELEMENT}\t{index}\t{key}\t{value}");
                }
            }
        }
        for ((index, prefix), mut values) in slots {
            values.sort_unstable();
            let consecutive = values.iter().enumerate().all(|(i, (slot, _))| i == *slot);
            if let (true, Some(port)) = (consecutive, one_port(&values)) {
                let _ = write!(s, "{SLOTS_ONE_PORT}\t{index}\t{prefix}\t{port}");
                for (_, value) in values {
                    let addr = value.rsplit_once(" . ").map_or(value, |(addr, _)| addr);
                    let _ = write!(s, "\t{addr}");
                }
                s.push('\n');
            } else if consecutive {
                let _ = write!(s, "{SLOTS}\t{index}\t{prefix}");
                for (_, value) in values {
                    let _ = write!(s, "\t{value}");
                }
                s.push('\n');
            } else {
                for (slot, value) in values {
                    let _ = writeln!(s, "{ELEMENT}\t{index}\t{prefix} . {slot}\t{value}");
                }
            }
        }
        Self {
            fingerprint,
            objects: u32::try_from(inventory.len()).unwrap_or(u32::MAX),
            packed: s.into_boxed_str(),
        }
    }

    /// The objects, expanded.
    pub fn inventory(&self) -> Inventory {
        let mut inv = Inventory::default();
        for line in self.packed.lines() {
            let mut fields = line.split('\t');
            match (fields.next(), fields.next()) {
                (Some("c"), Some(chain)) => {
                    inv.chains.insert(chain.to_string());
                }
                (Some("s"), Some(set)) => {
                    inv.sets.insert(set.to_string());
                }
                (Some("g"), Some(index)) => {
                    let map = index
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| MapName::ALL.get(i).copied());
                    if let (Some(map), Some(prefix)) = (map, fields.next()) {
                        for (slot, value) in fields.enumerate() {
                            inv.elements
                                .insert((map, format!("{prefix} . {slot}")), value.to_string());
                        }
                    }
                }
                (Some("p"), Some(index)) => {
                    let map = index
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| MapName::ALL.get(i).copied());
                    if let (Some(map), Some(prefix), Some(port)) =
                        (map, fields.next(), fields.next())
                    {
                        for (slot, addr) in fields.enumerate() {
                            inv.elements.insert(
                                (map, format!("{prefix} . {slot}")),
                                format!("{addr} . {port}"),
                            );
                        }
                    }
                }
                (Some("e"), Some(index)) => {
                    let map = index
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| MapName::ALL.get(i).copied());
                    if let (Some(map), Some(key), Some(value)) = (map, fields.next(), fields.next())
                    {
                        inv.elements
                            .insert((map, key.to_string()), value.to_string());
                    }
                }
                _ => {}
            }
        }
        inv
    }

    /// Number of objects.
    pub fn objects(&self) -> usize {
        self.objects as usize
    }
}

/// The target port every value (`addr . port`) of `values` has, if they have one.
fn one_port<'a>(values: &[(usize, &'a str)]) -> Option<&'a str> {
    let mut port = None;
    for (_, value) in values {
        let (_, p) = value.rsplit_once(" . ")?;
        if port.is_some_and(|q| q != p) {
            return None;
        }
        port = Some(p);
    }
    port
}

/// What one table holds: objects of known service ports, objects read from the kernel at
/// start that no sync has claimed yet, and what ports share.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Programmed {
    /// Objects by owning service port.
    pub ports: BTreeMap<ServicePortName, Stored>,
    /// Objects read from the kernel, owner unknown.
    pub unowned: Inventory,
    /// Shared `dnat-*` chains in the table.
    pub classes: BTreeSet<DnatClass>,
    /// Addresses in the `hairpin` set or needed by ports (one map for both: 10k ports hold
    /// 100k addresses), with how many ports need each (kept by [`Programmed::store`] and
    /// [`Programmed::forget`]).
    pub hairpin: HairpinAddresses,
    /// Objects of `ports` in all (kept by [`Programmed::store`] and [`Programmed::forget`]).
    pub port_objects: usize,
    /// Addresses the `hairpin` set holds.
    pub hairpin_programmed: usize,
    /// Addresses whose change of the `hairpin` set was refused: looked at again next sync.
    pub hairpin_retry: BTreeSet<IpAddr>,
    /// Service ports the last sync could not program: computed again on every sync.
    pub failed: BTreeSet<ServicePortName>,
}

impl Programmed {
    /// Number of objects.
    pub fn objects(&self) -> usize {
        self.port_objects + self.unowned.len() + self.classes.len() + self.hairpin_programmed
    }

    /// Marks the addresses of `ips` as held by the `hairpin` set.
    pub fn hairpin_programmed(&mut self, ips: impl IntoIterator<Item = IpAddr>) {
        for ip in ips {
            let (before, _) = self.hairpin.update(ip, |h| h.programmed = true);
            if !before.programmed {
                self.hairpin_programmed += 1;
            }
        }
    }

    /// Records that `name` holds `inventory`, computed from a port of `fingerprint`.
    pub fn store(&mut self, name: &ServicePortName, fingerprint: u64, inventory: &Inventory) {
        self.forget(name);
        for ip in inventory.hairpin() {
            self.hairpin.update(ip, |h| h.refs += 1);
        }
        self.port_objects += inventory.len();
        self.ports
            .insert(name.clone(), Stored::new(fingerprint, inventory));
    }

    /// Rebuilds the index of ports with full nodes: a map filled in name order, as a full load
    /// does, keeps its nodes about half full.
    pub fn compact(&mut self) {
        self.ports = std::mem::take(&mut self.ports).into_iter().collect();
    }

    /// Records that `name` holds nothing.
    pub fn forget(&mut self, name: &ServicePortName) {
        let Some(old) = self.ports.remove(name) else {
            return;
        };
        self.port_objects -= old.objects();
        for ip in old.inventory().hairpin() {
            self.hairpin
                .update(ip, |h| h.refs = h.refs.saturating_sub(1));
        }
    }
}

/// Changes of the `hairpin` set, which service ports share.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shared {
    /// Addresses to add to the `hairpin` set.
    pub add_hairpin: Vec<IpAddr>,
    /// Addresses to delete from the `hairpin` set.
    pub delete_hairpin: Vec<IpAddr>,
}

impl Shared {
    /// Number of changed objects.
    pub fn changes(&self) -> usize {
        self.add_hairpin.len() + self.delete_hairpin.len()
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.changes() == 0
    }

    /// Splits into what goes before every port's changes (additions) and after (deletions).
    pub fn split(self) -> (Shared, Shared) {
        let first = Shared {
            add_hairpin: self.add_hairpin,
            delete_hairpin: Vec::new(),
        };
        let last = Shared {
            add_hairpin: Vec::new(),
            delete_hairpin: self.delete_hairpin,
        };
        (first, last)
    }
}

/// The hairpin changes once `plans` (computed for the ports of `changed`) are applied. Only
/// the addresses the plans touch and those of a refused change are looked at, or, with
/// `everything` (the first sync after a restart), every address of the set and of the ports.
pub fn hairpin_changes(
    programmed: &Programmed,
    changed: &Desired,
    plans: &[PortPlan],
    everything: bool,
) -> Shared {
    let mut delta: BTreeMap<IpAddr, i64> = BTreeMap::new();
    for name in plans.iter().filter_map(|p| p.owner.as_ref()) {
        if let Some(old) = programmed.ports.get(name) {
            for ip in old.inventory().hairpin() {
                *delta.entry(ip).or_default() -= 1;
            }
        }
        for ip in changed.get(name).iter().flat_map(|o| &o.hairpin) {
            *delta.entry(*ip).or_default() += 1;
        }
    }
    let mut touched: BTreeSet<IpAddr> = delta.keys().copied().collect();
    touched.extend(&programmed.hairpin_retry);
    if everything {
        touched.extend(programmed.hairpin.addresses());
    }
    let mut shared = Shared::default();
    for ip in touched {
        let have = programmed.hairpin.get(&ip);
        let wanted = i64::from(have.refs) + delta.get(&ip).copied().unwrap_or(0) > 0;
        match (wanted, have.programmed) {
            (true, false) => shared.add_hairpin.push(ip),
            (false, true) => shared.delete_hairpin.push(ip),
            _ => {}
        }
    }
    shared
}

/// `programmed` after `shared` was applied.
pub fn record_shared(programmed: &mut Programmed, shared: &Shared) {
    programmed.hairpin_programmed(shared.add_hairpin.iter().copied());
    for ip in &shared.delete_hairpin {
        let (before, _) = programmed.hairpin.update(*ip, |h| h.programmed = false);
        if before.programmed {
            programmed.hairpin_programmed -= 1;
        }
    }
}

fn ip_bytes(buf: &mut Vec<u8>, ip: &IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            buf.push(4);
            buf.extend_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            buf.push(6);
            buf.extend_from_slice(&v6.octets());
        }
    }
}

fn ips_bytes(buf: &mut Vec<u8>, ips: &[IpAddr]) {
    buf.extend_from_slice(&(ips.len() as u32).to_le_bytes());
    for ip in ips {
        ip_bytes(buf, ip);
    }
}

fn endpoint_bytes(buf: &mut Vec<u8>, eps: &[Endpoint]) {
    buf.extend_from_slice(&(eps.len() as u32).to_le_bytes());
    for ep in eps {
        ip_bytes(buf, &ep.ip);
        buf.extend_from_slice(&ep.port.to_le_bytes());
    }
}

/// A hash of everything in `port` the table's objects depend on (never 0). The fields are
/// laid out in one buffer and hashed at once: a sync fingerprints every port.
pub fn fingerprint(port: &ServicePort) -> u64 {
    let mut buf = Vec::with_capacity(64 + 24 * port.cluster_endpoints.len());
    for part in [&port.name.namespace, &port.name.name, &port.name.port] {
        buf.extend_from_slice(part.as_bytes());
        buf.push(0);
    }
    buf.push(port.protocol as u8);
    ips_bytes(&mut buf, &port.cluster_ips);
    buf.extend_from_slice(&port.port.to_le_bytes());
    buf.extend_from_slice(&port.node_port.map_or(0, u32::from).to_le_bytes());
    buf.push(u8::from(port.node_port.is_some()));
    ips_bytes(&mut buf, &port.external_ips);
    ips_bytes(&mut buf, &port.load_balancer_ips);
    match port.affinity_timeout {
        Some(t) => {
            buf.push(1);
            buf.extend_from_slice(&t.as_nanos().to_le_bytes());
        }
        None => buf.push(0),
    }
    buf.push(u8::from(port.external_local) | u8::from(port.internal_local) << 1);
    endpoint_bytes(&mut buf, &port.cluster_endpoints);
    endpoint_bytes(&mut buf, &port.external_endpoints);
    let mut h = DefaultHasher::new();
    h.write(&buf);
    h.finish().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_objects_unpack_to_the_same_inventory() {
        let mut inv = Inventory::default();
        inv.chains.insert("service-ABC-ns/a/tcp/".into());
        inv.sets
            .insert("affinity-XYZ-ns/a/tcp/__10.0.0.1/80".into());
        inv.elements.insert(
            (MapName::Endpoints, "10.43.0.1 . tcp . 80 . 0".into()),
            "10.42.0.1 . 8080".into(),
        );
        inv.elements.insert(
            (MapName::ServiceIps, "10.43.0.1 . tcp . 80".into()),
            "goto dnat-cluster-1".into(),
        );
        inv.elements.insert(
            (MapName::Endpoints, "10.43.0.1 . tcp . 80 . 1".into()),
            "10.42.0.2 . 8080".into(),
        );
        // Slots of different target ports keep their values whole.
        inv.elements.insert(
            (MapName::Endpoints, "10.43.0.2 . tcp . 80 . 0".into()),
            "10.42.0.1 . 8080".into(),
        );
        inv.elements.insert(
            (MapName::Endpoints, "10.43.0.2 . tcp . 80 . 1".into()),
            "10.42.0.2 . 9090".into(),
        );
        // Slots with a gap stay one line each.
        inv.elements.insert(
            (MapName::NodeportEndpoints, "tcp . 30080 . 1".into()),
            "10.42.0.2 . 8080".into(),
        );
        let stored = Stored::new(7, &inv);
        assert_eq!(stored.inventory(), inv);
        assert_eq!(stored.objects(), 8);
        assert!(stored.packed.contains("p\t"), "{}", stored.packed);
        assert!(stored.packed.contains("g\t"), "{}", stored.packed);
        assert_eq!(stored.fingerprint, 7);
    }
}
