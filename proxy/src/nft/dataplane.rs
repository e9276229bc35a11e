//! [`NftDataplane`]: the model programmed into Skiff's own nftables tables, applying only the
//! difference from what is programmed.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use skiff_cni::nft::{NftError, NftRunner};

use super::base::base_script;
use super::desired::{desired, Desired, MapName, RuleContext};
use super::kernel::NftKernel;
use super::listing::{read_chains, read_hairpin, read_map, read_sets};
use super::naming::{Family, TABLE};
use super::plan::{
    claim, new_classes, plan, record, record_shared, render, render_classes, shared, PortPlan,
    Programmed, Shared,
};
use super::NftConfig;
use crate::dataplane::{Dataplane, DataplaneError, PortFailure, SyncReport};
use crate::model::ServiceModel;

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
        }
    }

    /// The kernel seam.
    pub fn kernel(&self) -> &K {
        &self.kernel
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
            read_hairpin(&json, &mut found.hairpin).map_err(listing)?;
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
        desired: &Desired,
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
                    record(programmed, p, desired);
                }
                record_shared(programmed, &shared);
                shared.changes() + plans.iter().map(|p| p.changes()).sum::<usize>()
            }
            Err(e) if plans.is_empty() => {
                tracing::warn!(family = f.keyword(), error = %e,
                    "cannot change the shared chains or the hairpin set; retried next sync");
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

    fn sync_family(
        &mut self,
        f: Family,
        model: &ServiceModel,
        report: &mut SyncReport,
    ) -> Result<(), DataplaneError> {
        let ctx = self.rule_context(f);
        let desired = desired(model, &ctx, f);
        if !self.tables.contains_key(&f) {
            if desired.is_empty() {
                return Ok(());
            }
            self.apply_base(f, Programmed::default())?;
        }
        let programmed = self.tables.get_mut(&f).expect("base applied above");
        claim(programmed, &desired);
        let classes = new_classes(programmed, &desired);
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
        let programmed = self.tables.get(&f).expect("base applied above");
        let plans = plan(programmed, &desired);
        let (first, mut last) = shared(programmed, &desired).split();
        // Hairpin additions go with the first transaction, hairpin deletions with the last.
        // Very large changes go in several transactions, each holding whole service ports.
        let mut pending = Some(first);
        let mut batch: Vec<&PortPlan> = Vec::new();
        let mut weight = 0;
        for p in &plans {
            if !batch.is_empty() && weight + p.weight() > self.config.max_transaction_lines {
                let extra = pending.take().unwrap_or_default();
                report.changes +=
                    self.apply_plans(f, &batch, extra, &desired, &mut report.failures);
                batch.clear();
                weight = 0;
            }
            weight += p.weight();
            batch.push(p);
        }
        let mut extra = pending.take().unwrap_or_default();
        extra.delete_hairpin = std::mem::take(&mut last.delete_hairpin);
        report.changes += self.apply_plans(f, &batch, extra, &desired, &mut report.failures);
        Ok(())
    }
}

impl<K: NftKernel> Dataplane for NftDataplane<K> {
    fn name(&self) -> &'static str {
        BACKEND
    }

    fn load(&mut self) -> Result<(), DataplaneError> {
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
        }
        Ok(())
    }

    fn sync(&mut self, model: &ServiceModel) -> Result<SyncReport, DataplaneError> {
        let start = Instant::now();
        let mut report = SyncReport::default();
        for f in Family::ALL {
            self.sync_family(f, model, &mut report)?;
        }
        let names: BTreeSet<_> = self.tables.values().flat_map(|t| t.ports.keys()).collect();
        report.ports = names.len();
        report.objects = self.tables.values().map(Programmed::objects).sum();
        if report.changes > TRIM_AFTER_CHANGES {
            // libnftables' parse trees of a large transaction leave the heap fragmented; give
            // the pages back so a node's proxy stays small after its first full load.
            // SAFETY: malloc_trim only releases free heap memory.
            unsafe { libc::malloc_trim(0) };
        }
        report.duration = start.elapsed();
        tracing::debug!(
            ports = report.ports,
            changes = report.changes,
            failures = report.failures.len(),
            took_ms = report.duration.as_millis() as u64,
            "nftables sync"
        );
        Ok(report)
    }
}
