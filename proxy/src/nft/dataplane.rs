//! [`NftDataplane`]: the model programmed into Skiff's own nftables tables, applying only the
//! difference from what is programmed.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use skiff_cni::nft::{NftError, NftRunner};

use super::base::base_script;
use super::desired::{port_objects, Desired, MapName, PortObjects, RuleContext};
use super::kernel::NftKernel;
use super::listing::{read_chains, read_hairpin, read_map, read_sets};
use super::naming::{Family, TABLE};
use super::plan::{
    claim_port, leftovers, new_classes, port_change, record, render, render_classes, Inventory,
    PortPlan,
};
use super::select::{any_port, every_port, named_ports};
use super::store::{hairpin_changes, record_shared, Programmed, Shared};
use super::NftConfig;
use crate::dataplane::{Changes, Dataplane, DataplaneError, PortFailure, SyncReport};
use crate::model::{ServiceModel, ServicePortName};

const BACKEND: &str = "nftables";

/// Syncs changing more objects than this return freed heap memory to the kernel.
const TRIM_AFTER_CHANGES: usize = 1000;

fn kernel_error(operation: &'static str) -> impl FnOnce(NftError) -> DataplaneError {
    move |e| DataplaneError::Kernel {
        backend: BACKEND,
        operation,
        source: Box::new(e),
    }
}

/// The nftables-only dataplane: table `ip skiff-proxy` (and `ip6 skiff-proxy` once IPv6
/// services exist), dispatching by verdict maps.
pub struct NftDataplane<K: NftKernel = NftRunner> {
    kernel: K,
    config: NftConfig,
    /// What each table holds; a family is present once its fixed part is in place.
    tables: BTreeMap<Family, Programmed>,
    /// Whether the next sync compares every port whatever it is told: the first one, the one
    /// after [`Dataplane::load`] and the one after a sync that failed as a whole.
    compare_all: bool,
    /// Whether the next sync returns freed heap memory (after reading the kernel's table).
    trim_next: bool,
    /// Service ports held by at least one table.
    ports: usize,
}

impl std::fmt::Debug for NftDataplane<NftRunner> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NftDataplane")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl NftDataplane<NftRunner> {
    /// A dataplane over the in-process libnftables, working in the network namespace of the
    /// thread that calls it; fails when libnftables is not installed.
    pub fn new(config: NftConfig) -> Result<Self, DataplaneError> {
        let runner = NftRunner::load().map_err(kernel_error("loading libnftables"))?;
        Ok(Self::with_kernel(runner, config))
    }
}

impl<K: NftKernel> NftDataplane<K> {
    /// A dataplane over `kernel` (a fake in unit tests).
    pub fn with_kernel(kernel: K, config: NftConfig) -> Self {
        Self {
            kernel,
            config,
            tables: BTreeMap::new(),
            compare_all: true,
            trim_next: false,
            ports: 0,
        }
    }

    /// The kernel seam.
    pub fn kernel(&self) -> &K {
        &self.kernel
    }

    /// The kernel seam, to change a fake's behaviour between syncs.
    pub fn kernel_mut(&mut self) -> &mut K {
        &mut self.kernel
    }

    /// `names` with the ports an earlier sync could not program.
    fn with_failed(&self, names: &BTreeSet<ServicePortName>) -> BTreeSet<ServicePortName> {
        let mut all = names.clone();
        for t in self.tables.values() {
            all.extend(t.failed.iter().cloned());
        }
        all
    }

    /// How many of `names` a table holds.
    fn held(&self, names: &BTreeSet<ServicePortName>) -> usize {
        names
            .iter()
            .filter(|n| self.tables.values().any(|t| t.ports.contains_key(*n)))
            .count()
    }

    /// How many service ports the tables hold.
    fn held_all(&self) -> usize {
        match self.tables.len() {
            0 | 1 => self.tables.values().map(|t| t.ports.len()).sum(),
            _ => {
                let names: BTreeSet<_> =
                    self.tables.values().flat_map(|t| t.ports.keys()).collect();
                names.len()
            }
        }
    }

    fn rule_context(&self, f: Family) -> RuleContext {
        RuleContext {
            cluster_cidrs: self
                .config
                .cluster_cidrs
                .iter()
                .filter(|c| (f == Family::Ipv4) == matches!(c, ipnet::IpNet::V4(_)))
                .copied()
                .collect(),
            masquerade_all: self.config.masquerade_all,
        }
    }

    /// Creates the table's fixed part (or brings it back to its content), keeping what
    /// `programmed` says the table holds.
    fn apply_base(&mut self, f: Family, programmed: Programmed) -> Result<(), DataplaneError> {
        let script = base_script(f, &self.rule_context(f));
        self.kernel
            .apply(&script)
            .map_err(kernel_error("creating the fixed part of the table"))?;
        self.tables.insert(f, programmed);
        Ok(())
    }

    /// Reads what `f`'s table holds; `None` when there is no table.
    fn read_table(&mut self, f: Family) -> Result<Option<Programmed>, NftError> {
        let fam = f.keyword();
        let Some(sets) = self
            .kernel
            .list_json(&format!("list sets table {fam} {TABLE}"))?
        else {
            return Ok(None);
        };
        let mut found = Programmed::default();
        let listing = |e: super::listing::ListingError| NftError::Listing(e.to_string());
        read_sets(&sets, &mut found.unowned).map_err(listing)?;
        if let Some(chains) = self.kernel.list_json(&format!("list chains {fam}"))? {
            read_chains(&chains, &mut found.unowned, &mut found.classes).map_err(listing)?;
        }
        for map in MapName::ALL {
            let cmd = format!("list map {fam} {TABLE} {}", map.name());
            if let Some(json) = self.kernel.list_json(&cmd)? {
                read_map(&json, map, &mut found.unowned).map_err(listing)?;
            }
        }
        let cmd = format!("list set {fam} {TABLE} hairpin");
        if let Some(json) = self.kernel.list_json(&cmd)? {
            let mut hairpin = BTreeSet::new();
            read_hairpin(&json, &mut hairpin).map_err(listing)?;
            found.hairpin_programmed(hairpin);
        }
        Ok(Some(found))
    }

    /// Applies `shared` and `plans` as one transaction; when refused, halves and retries, down
    /// to single service ports, which are reported as failed. Returns the changes applied.
    fn apply_plans(
        &mut self,
        f: Family,
        plans: &[&PortPlan],
        shared: Shared,
        desired: &Chunk,
        failures: &mut Vec<PortFailure>,
    ) -> usize {
        if plans.is_empty() && shared.is_empty() {
            return 0;
        }
        let script = render(f, plans, &shared);
        match self.kernel.apply(&script) {
            Ok(()) => {
                let programmed = self.tables.get_mut(&f).expect("base applied before plans");
                for p in plans {
                    let fp = p.owner.as_ref().map_or(0, |n| desired.fingerprint(n));
                    record(programmed, p, &desired.objects, fp);
                }
                record_shared(programmed, &shared);
                shared.changes() + plans.iter().map(|p| p.changes()).sum::<usize>()
            }
            Err(e) if plans.is_empty() => {
                tracing::warn!(family = f.keyword(), error = %e,
                    "cannot change the shared chains or the hairpin set; retried next sync");
                let programmed = self.tables.get_mut(&f).expect("base applied");
                let ips = shared.add_hairpin.iter().chain(&shared.delete_hairpin);
                programmed.hairpin_retry.extend(ips);
                0
            }
            Err(_) if plans.len() == 1 && !shared.is_empty() => {
                self.apply_plans(f, &[], shared, desired, failures)
                    + self.apply_plans(f, plans, Shared::default(), desired, failures)
            }
            Err(e) if plans.len() == 1 => {
                match &plans[0].owner {
                    Some(name) => {
                        tracing::warn!(service = %name, family = f.keyword(), error = %e,
                            "cannot program service port; it keeps its previous rules");
                        let programmed = self.tables.get_mut(&f).expect("base applied");
                        programmed.failed.insert(name.clone());
                        failures.push(PortFailure {
                            name: name.clone(),
                            reason: e.to_string(),
                        });
                    }
                    None => tracing::warn!(family = f.keyword(), error = %e,
                        "cannot remove leftover objects; retried next sync"),
                }
                0
            }
            Err(_) => {
                let (a, b) = plans.split_at(plans.len() / 2);
                let (first, last) = shared.split();
                self.apply_plans(f, a, first, desired, failures)
                    + self.apply_plans(f, b, last, desired, failures)
            }
        }
    }

    /// Creates the shared chains `chunk` needs, then applies its plans with the hairpin
    /// changes they make (every address looked at with `everything`).
    fn apply_chunk(&mut self, f: Family, chunk: Chunk, everything: bool, report: &mut SyncReport) {
        let programmed = self.tables.get_mut(&f).expect("base applied before plans");
        let classes = new_classes(programmed, &chunk.objects);
        if !classes.is_empty() {
            // A transaction of its own: see `render_classes`. Ports whose chain is missing
            // after a failure fail below.
            match self.kernel.apply(&render_classes(f, &classes)) {
                Ok(()) => {
                    report.changes += classes.len();
                    let programmed = self.tables.get_mut(&f).expect("base applied above");
                    programmed.classes.extend(classes);
                }
                Err(e) => tracing::warn!(family = f.keyword(), error = %e,
                    "cannot create the shared dnat chains"),
            }
        }
        let programmed = self.tables.get(&f).expect("base applied before plans");
        let shared = hairpin_changes(programmed, &chunk.objects, &chunk.plans, everything);
        // The addresses of refused changes are in `shared` now; refused again, they return.
        let programmed = self.tables.get_mut(&f).expect("base applied before plans");
        programmed.hairpin_retry.clear();
        let plans: Vec<&PortPlan> = chunk.plans.iter().collect();
        report.changes += self.apply_plans(f, &plans, shared, &chunk, &mut report.failures);
    }

    /// Brings `f`'s table to `model`, looking only at the ports of `names` when given (the
    /// others are as the table holds them). Ports whose fingerprint matches what the table
    /// holds are skipped; the others are computed, diffed and applied in chunks of at most
    /// [`NftConfig::max_transaction_lines`], so a full load never holds every port's objects.
    fn sync_family(
        &mut self,
        f: Family,
        model: &ServiceModel,
        names: Option<&BTreeSet<ServicePortName>>,
        report: &mut SyncReport,
    ) -> Result<(), DataplaneError> {
        let ctx = self.rule_context(f);
        if !self.tables.contains_key(&f) {
            // Without the table no port had an address of `f`, so only the named ones may.
            let any = any_port(model, names, |p| {
                p.cluster_ips.iter().any(|ip| Family::of(ip) == f)
            });
            if !any {
                return Ok(());
            }
            self.apply_base(f, Programmed::default())?;
        }
        let max = self.config.max_transaction_lines;
        let programmed = self.tables.get_mut(&f).expect("base applied above");
        // Failed ports are among the ones looked at (`names` holds them); failing again, they
        // return.
        programmed.failed.clear();
        let restarted = names.is_none() && !programmed.unowned.is_empty();
        let todo = match names {
            None => every_port(programmed, model, restarted),
            Some(names) => named_ports(programmed, model, names),
        };
        let mut chunk = Chunk::default();
        for (name, port, fp) in todo {
            let name = name.as_ref();
            let programmed = self.tables.get_mut(&f).expect("base applied above");
            let stored = programmed.ports.get(name);
            let objects = port.and_then(|p| port_objects(p, &ctx, f));
            if objects.is_none() && stored.is_none() {
                continue;
            }
            if let Some(objects) = &objects {
                claim_port(programmed, name, objects);
            }
            let plan = port_change(programmed, name, objects.as_ref());
            if plan.changes() == 0 {
                // The objects are right already: only the fingerprint is new.
                if let Some(objects) = &objects {
                    programmed.store(name, fp, &Inventory::of(objects));
                }
                continue;
            }
            if !chunk.plans.is_empty() && chunk.weight + plan.weight() > max {
                self.apply_chunk(f, std::mem::take(&mut chunk), false, report);
            }
            chunk.push(name, fp, objects, plan);
        }
        let programmed = self.tables.get(&f).expect("base applied above");
        if let Some(plan) = leftovers(programmed) {
            chunk.plans.push(plan);
        }
        self.apply_chunk(f, chunk, restarted, report);
        Ok(())
    }
}

/// Changed ports of a sync applied together: their desired objects and plans.
#[derive(Default)]
struct Chunk {
    /// Desired objects of the ports that keep some.
    objects: Desired,
    /// Fingerprints of the ports the objects were computed from.
    fingerprints: BTreeMap<ServicePortName, u64>,
    /// One plan per port (and the removal of leftovers, last).
    plans: Vec<PortPlan>,
    /// Script lines the plans take.
    weight: usize,
}

impl Chunk {
    fn push(
        &mut self,
        name: &ServicePortName,
        fp: u64,
        objects: Option<PortObjects>,
        plan: PortPlan,
    ) {
        if let Some(objects) = objects {
            self.objects.insert(name.clone(), objects);
            self.fingerprints.insert(name.clone(), fp);
        }
        self.weight += plan.weight();
        self.plans.push(plan);
    }

    fn fingerprint(&self, name: &ServicePortName) -> u64 {
        self.fingerprints.get(name).copied().unwrap_or(0)
    }
}

impl<K: NftKernel> Dataplane for NftDataplane<K> {
    fn name(&self) -> &'static str {
        BACKEND
    }

    fn load(&mut self) -> Result<(), DataplaneError> {
        self.compare_all = true;
        for f in Family::ALL {
            let Some(found) = self
                .read_table(f)
                .map_err(kernel_error("reading the table"))?
            else {
                continue;
            };
            tracing::info!(
                family = f.keyword(),
                chains = found.unowned.chains.len(),
                elements = found.unowned.elements.len(),
                sets = found.unowned.sets.len(),
                shared_chains = found.classes.len(),
                hairpin = found.hairpin.len(),
                "found programmed services; reconciling without flushing"
            );
            self.tables.remove(&f);
            self.apply_base(f, found)?;
            // Reading a large table back parses its whole listing: trim after the first sync.
            self.trim_next = true;
        }
        Ok(())
    }

    fn sync(
        &mut self,
        model: &ServiceModel,
        changes: &Changes,
    ) -> Result<SyncReport, DataplaneError> {
        let start = Instant::now();
        let mut report = SyncReport::default();
        let names = match changes {
            Changes::Ports(names) if !self.compare_all => Some(self.with_failed(names)),
            _ => None,
        };
        let before = names.as_ref().map_or(0, |names| self.held(names));
        // Cleared once every family is done: a sync failing half way is followed by a full one.
        self.compare_all = true;
        for f in Family::ALL {
            self.sync_family(f, model, names.as_ref(), &mut report)?;
        }
        self.compare_all = false;
        self.ports = match &names {
            Some(names) => (self.ports + self.held(names)).saturating_sub(before),
            None => self.held_all(),
        };
        report.ports = self.ports;
        report.objects = self.tables.values().map(Programmed::objects).sum();
        if report.changes > TRIM_AFTER_CHANGES || std::mem::take(&mut self.trim_next) {
            if let Err(e) = self.kernel.reset() {
                tracing::warn!(error = %e, "cannot renew the libnftables context");
            }
            for t in self.tables.values_mut() {
                t.compact();
            }
            // libnftables' parse trees of a large transaction leave the heap fragmented; give
            // the pages back so a node's proxy stays small after its first full load.
            // SAFETY: malloc_trim only releases free heap memory.
            unsafe { libc::malloc_trim(0) };
        }
        report.duration = start.elapsed();
        tracing::debug!(
            compared = names.as_ref().map_or(model.ports.len(), BTreeSet::len),
            ports = report.ports,
            changes = report.changes,
            failures = report.failures.len(),
            took_ms = report.duration.as_millis() as u64,
            "nftables sync"
        );
        Ok(report)
    }
}
