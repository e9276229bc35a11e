//! The pure diff: what the kernel holds (per owner) against what is desired, as one plan per
//! service port, and the nftables script of a batch of plans.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::net::IpAddr;

use super::desired::{Desired, DnatClass, ElementKey, MapName, PortObjects};
use super::naming::{Family, TABLE};
use super::store::{Programmed, Shared, Stored};
use crate::model::ServicePortName;

/// Objects known to be in the kernel (chains are known by name: a name fixes the content).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Service, external and endpoint chains.
    pub chains: BTreeSet<String>,
    /// Affinity sets.
    pub sets: BTreeSet<String>,
    /// Map elements with their verdicts.
    pub elements: BTreeMap<ElementKey, String>,
}

impl Inventory {
    /// What `objects` leave in the kernel once applied.
    pub fn of(objects: &PortObjects) -> Self {
        Self {
            chains: objects.chains.keys().cloned().collect(),
            sets: objects.sets.clone(),
            elements: objects.elements.clone(),
        }
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.chains.len() + self.sets.len() + self.elements.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Endpoint addresses its endpoint-map elements name (values `addr . port`): the
    /// addresses it needs in the `hairpin` set.
    pub fn hairpin(&self) -> BTreeSet<IpAddr> {
        self.elements
            .iter()
            .filter(|((map, _), _)| !map.holds_verdicts())
            .filter_map(|(_, value)| value.split(" . ").next()?.parse().ok())
            .collect()
    }
}

/// The shared `dnat-*` chains `desired` needs that `programmed` lacks.
pub fn new_classes(programmed: &Programmed, desired: &Desired) -> Vec<DnatClass> {
    let classes: BTreeSet<DnatClass> = desired.values().flat_map(|o| &o.classes).copied().collect();
    classes.difference(&programmed.classes).copied().collect()
}

/// The transaction creating the shared chains of `classes`, with the declarations they name.
/// It holds no deletion: libnftables 1.0.6 then reads no ruleset, and with a ruleset read it
/// refuses rules naming the `typeof` endpoint maps ("conflicting protocols").
pub fn render_classes(family: Family, classes: &[DnatClass]) -> String {
    let fam = family.keyword();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "add set {fam} {TABLE} cluster-cidrs {{ type {}; flags interval; }}",
        family.addr_type()
    );
    for map in [MapName::Endpoints, MapName::NodeportEndpoints] {
        let _ = writeln!(
            s,
            "add map {fam} {TABLE} {} {{ {}; }}",
            map.name(),
            map_declaration(family, map)
        );
    }
    for class in classes {
        let _ = writeln!(
            s,
            "add chain {fam} {TABLE} {} {{ {}; }}",
            class.chain(),
            class.rules(family).join("; ")
        );
    }
    s
}

/// The changes of one service port (or, with no owner, the removal of unclaimed objects).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortPlan {
    /// The service port; `None` for objects left from before a restart that nothing claims.
    pub owner: Option<ServicePortName>,
    /// Affinity sets to create.
    pub add_sets: Vec<String>,
    /// Existing affinity sets that new chains name (declared again, which changes nothing).
    pub declare_sets: Vec<String>,
    /// Chains to create, with their rules.
    pub add_chains: Vec<(String, Vec<String>)>,
    /// Map elements to add (after the deletions, so a changed verdict is delete + add).
    pub add_elements: Vec<(ElementKey, String)>,
    /// Map elements to delete.
    pub delete_elements: Vec<ElementKey>,
    /// Chains to delete, once nothing refers to them.
    pub delete_chains: Vec<String>,
    /// Affinity sets to delete, last.
    pub delete_sets: Vec<String>,
}

impl PortPlan {
    /// Number of changed objects.
    pub fn changes(&self) -> usize {
        self.add_sets.len()
            + self.add_chains.len()
            + self.add_elements.len()
            + self.delete_elements.len()
            + self.delete_chains.len()
            + self.delete_sets.len()
    }

    /// Script lines it takes (a measure of transaction size).
    pub fn weight(&self) -> usize {
        self.changes() + self.add_chains.iter().map(|(_, r)| r.len()).sum::<usize>()
    }
}

/// Moves objects read from the kernel to the desired service port that names them, so a
/// restarted proxy changes only what differs (an element keeps the verdict the kernel has).
pub fn claim(programmed: &mut Programmed, desired: &Desired) {
    for (name, objects) in desired {
        claim_port(programmed, name, objects);
    }
}

/// [`claim`] for one port.
pub fn claim_port(programmed: &mut Programmed, name: &ServicePortName, objects: &PortObjects) {
    if programmed.unowned.is_empty() {
        return;
    }
    let mut inv = programmed
        .ports
        .get(name)
        .map(Stored::inventory)
        .unwrap_or_default();
    let unowned = &mut programmed.unowned;
    let before = inv.len();
    for chain in objects.chains.keys() {
        if unowned.chains.remove(chain) {
            inv.chains.insert(chain.clone());
        }
    }
    for set in &objects.sets {
        if unowned.sets.remove(set) {
            inv.sets.insert(set.clone());
        }
    }
    for key in objects.elements.keys() {
        if let Some(verdict) = unowned.elements.remove(key) {
            inv.elements.insert(key.clone(), verdict);
        }
    }
    if inv.len() > before {
        programmed.store(name, 0, &inv);
    }
}

/// The plans that bring `programmed` (after [`claim`]) to `desired`: removed ports first, then
/// changed ports, then the removal of kernel objects nothing claimed, once no element refers
/// to them any more. Ports with nothing to change have no plan.
pub fn plan(programmed: &Programmed, desired: &Desired) -> Vec<PortPlan> {
    let removed: Vec<ServicePortName> = programmed
        .ports
        .keys()
        .filter(|name| !desired.contains_key(*name))
        .cloned()
        .collect();
    plan_changes(programmed, desired, &removed)
}

/// The plans of [`plan`] when only the ports of `changed` and `removed` may differ from what
/// `programmed` holds.
pub fn plan_changes(
    programmed: &Programmed,
    changed: &Desired,
    removed: &[ServicePortName],
) -> Vec<PortPlan> {
    let removed = removed
        .iter()
        .map(|name| port_change(programmed, name, None));
    let changed = changed
        .iter()
        .map(|(name, new)| port_change(programmed, name, Some(new)));
    let mut plans: Vec<PortPlan> = removed.chain(changed).filter(|p| p.changes() > 0).collect();
    plans.extend(leftovers(programmed));
    plans
}

/// The plan bringing port `name` from what `programmed` holds to `new` (nothing: removed).
pub fn port_change(
    programmed: &Programmed,
    name: &ServicePortName,
    new: Option<&PortObjects>,
) -> PortPlan {
    let old = programmed
        .ports
        .get(name)
        .map(Stored::inventory)
        .unwrap_or_default();
    port_plan(name, &old, new.unwrap_or(&PortObjects::default()))
}

/// The removal of kernel objects no port claimed, once no element refers to them any more.
pub fn leftovers(programmed: &Programmed) -> Option<PortPlan> {
    let unowned = &programmed.unowned;
    (!unowned.is_empty()).then(|| PortPlan {
        owner: None,
        delete_elements: unowned.elements.keys().cloned().collect(),
        delete_chains: unowned.chains.iter().cloned().collect(),
        delete_sets: unowned.sets.iter().cloned().collect(),
        ..PortPlan::default()
    })
}

fn port_plan(name: &ServicePortName, old: &Inventory, new: &PortObjects) -> PortPlan {
    let mut p = PortPlan {
        owner: Some(name.clone()),
        ..PortPlan::default()
    };
    for (chain, rules) in &new.chains {
        if !old.chains.contains(chain) {
            p.add_chains.push((chain.clone(), rules.clone()));
        }
    }
    for set in &new.sets {
        if !old.sets.contains(set) {
            p.add_sets.push(set.clone());
        } else if !p.add_chains.is_empty() {
            p.declare_sets.push(set.clone());
        }
    }
    for (key, verdict) in &new.elements {
        match old.elements.get(key) {
            Some(v) if v == verdict => {}
            Some(_) => {
                p.delete_elements.push(key.clone());
                p.add_elements.push((key.clone(), verdict.clone()));
            }
            None => p.add_elements.push((key.clone(), verdict.clone())),
        }
    }
    p.delete_elements.extend(
        old.elements
            .keys()
            .filter(|k| !new.elements.contains_key(*k))
            .cloned(),
    );
    p.delete_chains.extend(
        old.chains
            .iter()
            .filter(|c| !new.chains.contains_key(*c))
            .cloned(),
    );
    p.delete_sets
        .extend(old.sets.iter().filter(|s| !new.sets.contains(*s)).cloned());
    p
}

/// Order of creation: what is jumped to exists before what jumps to it.
fn creation_rank(chain: &str) -> u8 {
    if chain.starts_with("endpoint-") {
        0
    } else if chain.starts_with("service-") {
        1
    } else {
        2
    }
}

/// The type declaration of `map` in `family`'s table (`type K : verdict`, or `typeof` of the
/// endpoint maps, whose slot number has no named type).
pub fn map_declaration(family: Family, map: MapName) -> String {
    let fam = family.keyword();
    match map {
        MapName::Endpoints => format!(
            "typeof {fam} daddr . meta l4proto . th dport . numgen random mod 1 : {fam} daddr . th dport"
        ),
        MapName::NodeportEndpoints => format!(
            "typeof meta l4proto . th dport . numgen random mod 1 : {fam} daddr . th dport"
        ),
        _ if map.keyed_by_address() => format!(
            "type {} . inet_proto . inet_service : verdict",
            family.addr_type()
        ),
        _ => "type inet_proto . inet_service : verdict".to_string(),
    }
}

/// The type of the `hairpin` set (`saddr . daddr` of a connection to itself).
pub fn hairpin_type(family: Family) -> String {
    format!("{0} . {0}", family.addr_type())
}

fn hairpin_elements(ips: &[IpAddr]) -> String {
    let items: Vec<String> = ips.iter().map(|ip| format!("{ip} . {ip}")).collect();
    items.join(", ")
}

fn delete_elements<'a>(s: &mut String, fam: &str, items: impl Iterator<Item = &'a ElementKey>) {
    let mut by_map: BTreeMap<MapName, Vec<&str>> = BTreeMap::new();
    for (map, key) in items {
        by_map.entry(*map).or_default().push(key);
    }
    for (map, keys) in by_map {
        let _ = writeln!(
            s,
            "delete element {fam} {TABLE} {} {{ {} }}",
            map.name(),
            keys.join(", ")
        );
    }
}

/// One transaction applying `shared` and every plan of `plans` to `family`'s table: element
/// deletions, hairpin addresses, new sets, new chains (endpoints, then services, then
/// external), new elements, then deletions of hairpin addresses, of chains (in the reverse
/// order) and of sets, once nothing refers to them.
pub fn render(family: Family, plans: &[&PortPlan], shared: &Shared) -> String {
    let fam = family.keyword();
    let mut s = String::new();
    delete_elements(&mut s, fam, plans.iter().flat_map(|p| &p.delete_elements));
    if !shared.add_hairpin.is_empty() {
        let _ = writeln!(
            s,
            "add set {fam} {TABLE} hairpin {{ type {}; elements = {{ {} }}; }}",
            hairpin_type(family),
            hairpin_elements(&shared.add_hairpin)
        );
    }
    // Only creating forms below: `add chain NAME { rules }`, sets declared before the chains
    // that name them and elements added by declaring their map again. libnftables then needs
    // no copy of the kernel's ruleset, which costs more than the change itself in a large table.
    if plans.iter().any(|p| !p.add_chains.is_empty()) {
        let _ = writeln!(
            s,
            "add set {fam} {TABLE} cluster-cidrs {{ type {}; flags interval; }}",
            family.addr_type()
        );
    }
    for set in plans
        .iter()
        .flat_map(|p| p.add_sets.iter().chain(&p.declare_sets))
    {
        let _ = writeln!(
            s,
            "add set {fam} {TABLE} {set} {{ type {}; flags dynamic,timeout; }}",
            family.addr_type()
        );
    }
    let mut chains: Vec<&(String, Vec<String>)> =
        plans.iter().flat_map(|p| &p.add_chains).collect();
    chains.sort_by_key(|(name, _)| creation_rank(name));
    for (name, rules) in chains {
        let _ = writeln!(
            s,
            "add chain {fam} {TABLE} {name} {{ {}; }}",
            rules.join("; ")
        );
    }
    let mut additions: BTreeMap<MapName, Vec<String>> = BTreeMap::new();
    for ((map, key), verdict) in plans.iter().flat_map(|p| &p.add_elements) {
        additions
            .entry(*map)
            .or_default()
            .push(format!("{key} : {verdict}"));
    }
    for (map, items) in additions {
        let _ = writeln!(
            s,
            "add map {fam} {TABLE} {} {{ {}; elements = {{ {} }}; }}",
            map.name(),
            map_declaration(family, map),
            items.join(", ")
        );
    }
    if !shared.delete_hairpin.is_empty() {
        let _ = writeln!(
            s,
            "delete element {fam} {TABLE} hairpin {{ {} }}",
            hairpin_elements(&shared.delete_hairpin)
        );
    }
    let mut doomed: Vec<&String> = plans.iter().flat_map(|p| &p.delete_chains).collect();
    doomed.sort_by_key(|name| std::cmp::Reverse(creation_rank(name)));
    for name in doomed {
        let _ = writeln!(s, "delete chain {fam} {TABLE} {name}");
    }
    for set in plans.iter().flat_map(|p| &p.delete_sets) {
        let _ = writeln!(s, "delete set {fam} {TABLE} {set}");
    }
    s
}

/// `programmed` after `plan` was applied, given the desired objects of its port, computed from
/// a port of `fingerprint`.
pub fn record(programmed: &mut Programmed, plan: &PortPlan, desired: &Desired, fingerprint: u64) {
    match &plan.owner {
        None => programmed.unowned = Inventory::default(),
        Some(name) => match desired.get(name) {
            Some(objects) => programmed.store(name, fingerprint, &Inventory::of(objects)),
            None => programmed.forget(name),
        },
    }
}
