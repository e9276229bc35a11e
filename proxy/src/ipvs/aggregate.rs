//! The desired state kept across syncs and updated port by port: a sync recomputes only the
//! service ports that changed and reports which virtual servers, VIPs and masquerade elements
//! they touched, so the work of one sync follows the size of the change. Pure.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::desired::{clash, port_desired, PortDesired};
use super::masq::MasqSets;
use super::state::{DesiredServices, VirtualKey};
use crate::dataplane::PortFailure;
use crate::model::{ServiceModel, ServicePort, ServicePortName};

/// The desired state of every programmed service port.
#[derive(Debug, Clone, Default)]
pub struct Aggregate {
    ports: BTreeMap<ServicePortName, (ServicePort, PortDesired)>,
    /// Virtual servers.
    pub services: DesiredServices,
    /// Which port owns each virtual server.
    pub owners: BTreeMap<VirtualKey, ServicePortName>,
    vip_refs: BTreeMap<IpAddr, usize>,
    endpoint_refs: BTreeMap<IpAddr, usize>,
    /// The masquerade sets.
    pub masq: MasqSets,
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
    /// Whether `vip` is wanted on the dummy interface.
    pub fn wants_vip(&self, vip: &IpAddr) -> bool {
        self.vip_refs.contains_key(vip)
    }

    /// Every wanted VIP.
    pub fn vips(&self) -> impl Iterator<Item = &IpAddr> {
        self.vip_refs.keys()
    }

    /// Brings the aggregate to `model`, recomputing only ports that differ from the last one.
    pub fn update(&mut self, model: &ServiceModel, scheduler: &str, node_ips: &[IpAddr]) -> Update {
        let gone: Vec<ServicePortName> = self
            .ports
            .keys()
            .filter(|n| !model.ports.contains_key(*n))
            .cloned()
            .collect();
        let changed: Vec<&ServicePort> = model
            .ports
            .values()
            .filter(|p| self.ports.get(&p.name).is_none_or(|(old, _)| old != *p))
            .collect();
        let mut update = Update::default();
        let fresh: Vec<(&ServicePort, Option<PortDesired>)> = changed
            .iter()
            .map(|p| (*p, port_desired(p, scheduler, node_ips)))
            .collect();
        let old_parts = gone
            .iter()
            .chain(changed.iter().map(|p| &p.name))
            .filter_map(|n| self.ports.get(n).map(|(_, d)| d));
        let mut endpoints = BTreeSet::new();
        for part in old_parts.chain(fresh.iter().filter_map(|(_, d)| d.as_ref())) {
            update.touched.extend(part.services.iter().map(|(k, _)| *k));
            update.vips.extend(part.vips.iter().copied());
            endpoints.extend(part.endpoint_ips.iter().copied());
        }
        update.masq_before = self.restrict(&update.touched, &endpoints);

        for name in gone.iter().chain(changed.iter().map(|p| &p.name)) {
            if let Some((_, part)) = self.ports.remove(name) {
                self.remove(name, &part);
            }
        }
        for (port, part) in fresh {
            let Some(part) = part else {
                // Headless: nothing to program, remembered so it is not recomputed.
                self.ports
                    .insert(port.name.clone(), (port.clone(), PortDesired::default()));
                continue;
            };
            let taken = part
                .services
                .iter()
                .find_map(|(k, _)| self.owners.get(k).map(|o| (*k, o.clone())));
            if let Some((k, owner)) = taken {
                update.failures.push(clash(&port.name, &k, &owner));
                continue;
            }
            self.add(&port.name, &part);
            self.ports.insert(port.name.clone(), (port.clone(), part));
        }
        update.masq_after = self.restrict(&update.touched, &endpoints);
        update
    }

    fn add(&mut self, name: &ServicePortName, part: &PortDesired) {
        for (k, svc) in &part.services {
            self.owners.insert(*k, name.clone());
            self.services.insert(*k, svc.clone());
        }
        for ip in &part.vips {
            *self.vip_refs.entry(*ip).or_default() += 1;
        }
        for ip in &part.endpoint_ips {
            if increment(&mut self.endpoint_refs, *ip) {
                self.masq.endpoints.insert(*ip);
            }
        }
        self.masq
            .cluster_vips
            .extend(part.cluster_vips.iter().copied());
        self.masq
            .external_vips
            .extend(part.external_vips.iter().copied());
    }

    fn remove(&mut self, name: &ServicePortName, part: &PortDesired) {
        for (k, _) in &part.services {
            if self.owners.get(k) == Some(name) {
                self.owners.remove(k);
                self.services.remove(k);
                self.masq.cluster_vips.remove(k);
                self.masq.external_vips.remove(k);
            }
        }
        for ip in &part.vips {
            decrement(&mut self.vip_refs, *ip);
        }
        for ip in &part.endpoint_ips {
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

/// Counts one more reference; true when it is the first.
fn increment(refs: &mut BTreeMap<IpAddr, usize>, ip: IpAddr) -> bool {
    let n = refs.entry(ip).or_default();
    *n += 1;
    *n == 1
}

/// Drops one reference; true when it was the last.
fn decrement(refs: &mut BTreeMap<IpAddr, usize>, ip: IpAddr) -> bool {
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
