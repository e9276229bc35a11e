//! The desired state kept across syncs and updated port by port: a sync recomputes only the
//! service ports that changed and reports which virtual servers, VIPs and masquerade elements
//! they touched, so the work of one sync follows the size of the change. It keeps a
//! fingerprint and the names of each port's objects, not a copy of the model. Pure.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hasher;
use std::net::IpAddr;
use std::sync::Arc;

use super::desired::{clash, port_desired, PortDesired};
use super::masq::MasqSets;
use super::state::{DesiredService, VirtualKey};
use crate::dataplane::{Changes, PortFailure};
use crate::model::{Endpoint, ServiceModel, ServicePort, ServicePortName};

/// What a virtual server of a port is besides a virtual server (bits).
type Roles = u8;
/// Its address is bound on the dummy interface (a cluster, external or load-balancer IP).
const VIP: Roles = 1;
/// It is in the cluster-VIP masquerade set.
const CLUSTER: Roles = 2;
/// It is in the always-masqueraded set.
const EXTERNAL: Roles = 4;

/// The objects one programmed port owns, compactly (its desired real servers are recomputed
/// from the model when needed): a node keeps one of these per service port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Fragment {
    keys: Box<[(VirtualKey, Roles)]>,
    endpoint_ips: Box<[IpAddr]>,
}

impl From<&PortDesired> for Fragment {
    fn from(p: &PortDesired) -> Self {
        let keys = p
            .services
            .iter()
            .map(|(k, _)| {
                let mut roles = 0;
                if p.vip_keys.contains(k) {
                    roles |= VIP;
                }
                if p.cluster_vips.contains(k) {
                    roles |= CLUSTER;
                }
                if p.external_vips.contains(k) {
                    roles |= EXTERNAL;
                }
                (*k, roles)
            })
            .collect();
        Self {
            keys,
            endpoint_ips: p.endpoint_ips.iter().copied().collect(),
        }
    }
}

impl Fragment {
    fn vips(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.keys
            .iter()
            .filter(|(_, r)| r & VIP != 0)
            .map(|(k, _)| k.addr)
    }
}

/// The desired state of every programmed service port.
#[derive(Debug, Clone, Default)]
pub struct Aggregate {
    ports: BTreeMap<Arc<ServicePortName>, (u64, Fragment)>,
    /// Which port owns each virtual server.
    owners: BTreeMap<VirtualKey, Arc<ServicePortName>>,
    vip_refs: BTreeMap<IpAddr, u32>,
    endpoint_refs: BTreeMap<IpAddr, u32>,
    /// The masquerade sets.
    pub masq: MasqSets,
    /// Ports that could not be programmed at the last update; every update retries them.
    failed: BTreeSet<ServicePortName>,
    scheduler: String,
    node_ips: Vec<IpAddr>,
}

/// What one update changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Update {
    /// Virtual servers added, changed or removed.
    pub touched: BTreeSet<VirtualKey>,
    /// VIPs that may need binding or unbinding.
    pub vips: BTreeSet<IpAddr>,
    /// The touched masquerade elements before the update.
    pub masq_before: MasqSets,
    /// The touched masquerade elements after it.
    pub masq_after: MasqSets,
    /// Ports that could not be programmed (they are retried on every update).
    pub failures: Vec<PortFailure>,
}

impl Aggregate {
    /// The desired virtual server `key`, computed from its port in `model` (the model of the
    /// last update).
    pub fn service(&self, model: &ServiceModel, key: &VirtualKey) -> Option<DesiredService> {
        let port = model.ports.get(&**self.owners.get(key)?)?;
        port_desired(port, &self.scheduler, &self.node_ips)?
            .services
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, s)| s)
    }

    /// The port owning virtual server `key`.
    pub fn owner(&self, key: &VirtualKey) -> Option<&ServicePortName> {
        self.owners.get(key).map(|n| &**n)
    }

    /// Every desired virtual server's key.
    pub fn keys(&self) -> impl Iterator<Item = &VirtualKey> {
        self.owners.keys()
    }

    /// Whether `vip` is wanted on the dummy interface.
    pub fn wants_vip(&self, vip: &IpAddr) -> bool {
        self.vip_refs.contains_key(vip)
    }

    /// Every wanted VIP.
    pub fn vips(&self) -> impl Iterator<Item = &IpAddr> {
        self.vip_refs.keys()
    }

    /// Brings the aggregate to `model`, recomputing only ports that differ from the last one:
    /// with [`Changes::Ports`] only the listed ports (and those that failed before) are looked
    /// at, so the work follows the size of the change.
    pub fn update(
        &mut self,
        model: &ServiceModel,
        changes: &Changes,
        scheduler: &str,
        node_ips: &[IpAddr],
    ) -> Update {
        let mut changes = changes;
        if self.scheduler != scheduler || self.node_ips != node_ips {
            // Every port's virtual servers change: start over.
            *self = Self {
                scheduler: scheduler.to_string(),
                node_ips: node_ips.to_vec(),
                ..Self::default()
            };
            changes = &Changes::All;
        }
        let (gone, changed) = match changes {
            Changes::All => compare(&self.ports, &model.ports),
            Changes::Ports(names) => {
                compare_listed(&self.ports, &model.ports, names.iter().chain(&self.failed))
            }
        };
        self.failed.clear();
        let mut update = Update::default();
        let fresh: Vec<(&ServicePort, u64, Fragment)> = changed
            .into_iter()
            .map(|(p, print)| {
                let part = port_desired(p, scheduler, node_ips);
                (
                    p,
                    print,
                    part.as_ref().map(Fragment::from).unwrap_or_default(),
                )
            })
            .collect();
        let mut endpoints = BTreeSet::new();
        let old_parts = gone
            .iter()
            .chain(fresh.iter().map(|(p, _, _)| &p.name))
            .filter_map(|n| self.ports.get(n).map(|(_, f)| f));
        for part in old_parts.chain(fresh.iter().map(|(_, _, f)| f)) {
            update.touched.extend(part.keys.iter().map(|(k, _)| *k));
            update.vips.extend(part.vips());
            endpoints.extend(part.endpoint_ips.iter().copied());
        }
        update.masq_before = self.restrict(&update.touched, &endpoints);

        for name in gone.iter().chain(fresh.iter().map(|(p, _, _)| &p.name)) {
            if let Some((name, (_, part))) = self.ports.remove_entry(name) {
                self.remove(&name, &part);
            }
        }
        for (port, print, part) in fresh {
            let taken = part
                .keys
                .iter()
                .find_map(|(k, _)| self.owners.get(k).map(|o| (*k, o.clone())));
            if let Some((k, owner)) = taken {
                update.failures.push(clash(&port.name, &k, &owner));
                self.failed.insert(port.name.clone());
                continue;
            }
            let name = Arc::new(port.name.clone());
            self.add(&name, &part);
            self.ports.insert(name, (print, part));
        }
        update.masq_after = self.restrict(&update.touched, &endpoints);
        update
    }

    fn add(&mut self, name: &Arc<ServicePortName>, part: &Fragment) {
        for (k, roles) in part.keys.iter() {
            self.owners.insert(*k, name.clone());
            if roles & CLUSTER != 0 {
                self.masq.cluster_vips.insert(*k);
            }
            if roles & EXTERNAL != 0 {
                self.masq.external_vips.insert(*k);
            }
        }
        for ip in part.vips() {
            increment(&mut self.vip_refs, ip);
        }
        for ip in part.endpoint_ips.iter() {
            if increment(&mut self.endpoint_refs, *ip) {
                self.masq.endpoints.insert(*ip);
            }
        }
    }

    fn remove(&mut self, name: &ServicePortName, part: &Fragment) {
        for (k, _) in part.keys.iter() {
            if self.owners.get(k).is_some_and(|o| **o == *name) {
                self.owners.remove(k);
                self.masq.cluster_vips.remove(k);
                self.masq.external_vips.remove(k);
            }
        }
        for ip in part.vips() {
            decrement(&mut self.vip_refs, ip);
        }
        for ip in part.endpoint_ips.iter() {
            if decrement(&mut self.endpoint_refs, *ip) {
                self.masq.endpoints.remove(ip);
            }
        }
    }

    /// The current masquerade elements among the touched keys and endpoint addresses.
    fn restrict(&self, touched: &BTreeSet<VirtualKey>, endpoints: &BTreeSet<IpAddr>) -> MasqSets {
        let keys = |set: &BTreeSet<VirtualKey>| -> BTreeSet<VirtualKey> {
            touched
                .iter()
                .filter(|k| set.contains(*k))
                .copied()
                .collect()
        };
        MasqSets {
            cluster_vips: keys(&self.masq.cluster_vips),
            external_vips: keys(&self.masq.external_vips),
            endpoints: endpoints
                .iter()
                .filter(|ip| self.masq.endpoints.contains(*ip))
                .copied()
                .collect(),
        }
    }
}

/// A fingerprint of every field of a port but its name (ports are matched by name), hashed a
/// machine word at a time (an IPv4 endpoint is one word): a sync fingerprints every port. The
/// exhaustive patterns make a new model field a compile error here until it is included.
fn fingerprint(port: &ServicePort) -> u64 {
    let ServicePort {
        name: _,
        cluster_ips,
        port,
        protocol,
        node_port,
        external_ips,
        load_balancer_ips,
        affinity_timeout,
        external_local,
        internal_local,
        health_check_node_port,
        cluster_endpoints,
        external_endpoints,
        local_ready_endpoints,
    } = port;
    let mut h = Fingerprinter::default();
    let opt = |p: &Option<u16>| p.map_or(0, |p| u64::from(p) | 1 << 16);
    h.write_u64(
        *protocol as u64
            | u64::from(*port) << 8
            | opt(node_port) << 24
            | u64::from(*external_local) << 41
            | u64::from(*internal_local) << 42,
    );
    h.write_u64(opt(health_check_node_port) | (*local_ready_endpoints as u64) << 17);
    h.write_u64(affinity_timeout.map_or(u64::MAX, |t| t.as_nanos() as u64));
    for ips in [cluster_ips, external_ips, load_balancer_ips] {
        h.write_u64(ips.len() as u64);
        for ip in ips {
            ip_words(&mut h, ip, 0);
        }
    }
    for eps in [cluster_endpoints, external_endpoints] {
        h.write_u64(eps.len() as u64);
        for e in eps.iter() {
            let Endpoint {
                ip,
                port,
                ready,
                serving,
                terminating,
                local,
            } = e;
            let low = u64::from(*port) << 8
                | u64::from(*ready) << 24
                | u64::from(*serving) << 25
                | u64::from(*terminating) << 26
                | u64::from(*local) << 27;
            ip_words(&mut h, ip, low);
        }
    }
    h.finish()
}

/// Hashes `ip` with `low` (bits 8..32 free for the caller) in one word for IPv4, three for
/// IPv6.
fn ip_words(h: &mut Fingerprinter, ip: &IpAddr, low: u64) {
    match ip {
        IpAddr::V4(v4) => h.write_u64(u64::from(u32::from(*v4)) << 32 | low | 4),
        IpAddr::V6(v6) => {
            let bits = u128::from(*v6);
            h.write_u64((bits >> 64) as u64);
            h.write_u64(bits as u64);
            h.write_u64(low | 6);
        }
    }
}

/// A fast multiply-rotate hasher: the fingerprint of every port is computed on every sync,
/// so it must cost little; it only tells versions of one port apart (no adversary picks both).
#[derive(Default)]
struct Fingerprinter(u64);

impl Hasher for Fingerprinter {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.write_u64(u64::from_le_bytes(c.try_into().unwrap_or_default()));
        }
        let mut tail = [0u8; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.write_u64(u64::from_le_bytes(tail) ^ (bytes.len() as u64) << 56);
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u8(&mut self, v: u8) {
        self.write_u64(u64::from(v));
    }
    fn write_u16(&mut self, v: u16) {
        self.write_u64(u64::from(v));
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

/// Looks up only the `listed` names: those the cache has but the model lacks are gone; those
/// new or different in the model are changed (with their fingerprints).
fn compare_listed<'m, 'n>(
    cache: &BTreeMap<Arc<ServicePortName>, (u64, Fragment)>,
    model: &'m BTreeMap<ServicePortName, ServicePort>,
    listed: impl Iterator<Item = &'n ServicePortName>,
) -> (Vec<ServicePortName>, Vec<(&'m ServicePort, u64)>) {
    let (mut gone, mut changed) = (Vec::new(), Vec::new());
    let names: BTreeSet<&ServicePortName> = listed.collect();
    for name in names {
        match (model.get(name), cache.get(name)) {
            (None, Some(_)) => gone.push(name.clone()),
            (None, None) => {}
            (Some(port), cached) => {
                let print = fingerprint(port);
                if cached.is_none_or(|(c, _)| *c != print) {
                    changed.push((port, print));
                }
            }
        }
    }
    (gone, changed)
}

/// Walks both name-ordered maps once: the names only the cache has, and the ports that are
/// new or differ (with their fingerprints).
fn compare<'m>(
    cache: &BTreeMap<Arc<ServicePortName>, (u64, Fragment)>,
    model: &'m BTreeMap<ServicePortName, ServicePort>,
) -> (Vec<ServicePortName>, Vec<(&'m ServicePort, u64)>) {
    let (mut gone, mut changed) = (Vec::new(), Vec::new());
    let mut old = cache.iter().peekable();
    for (name, port) in model {
        while let Some((n, _)) = old.next_if(|(n, _)| ***n < *name) {
            gone.push((**n).clone());
        }
        let print = fingerprint(port);
        match old.next_if(|(n, _)| ***n == *name) {
            Some((_, (cached, _))) if *cached == print => {}
            _ => changed.push((port, print)),
        }
    }
    gone.extend(old.map(|(n, _)| (**n).clone()));
    (gone, changed)
}

/// Counts one more reference; true when it is the first.
fn increment(refs: &mut BTreeMap<IpAddr, u32>, ip: IpAddr) -> bool {
    let n = refs.entry(ip).or_default();
    *n += 1;
    *n == 1
}

/// Drops one reference; true when it was the last.
fn decrement(refs: &mut BTreeMap<IpAddr, u32>, ip: IpAddr) -> bool {
    match refs.get_mut(&ip) {
        Some(n) if *n > 1 => {
            *n -= 1;
            false
        }
        Some(_) => {
            refs.remove(&ip);
            true
        }
        None => false,
    }
}
