//! [`IpvsDataplane`]: the model as IPVS virtual servers on VIPs bound to `skiff-ipvs0`, with
//! masquerade in nftables, applying only the difference from what the kernel holds.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::IpAddr;
use std::time::Instant;

use super::aggregate::{Aggregate, Update};
use super::client::{IpvsError, IpvsSocket};
use super::host::{apply_sysctls, Conntrack, ConntrackTool};
use super::kernel::{dest_dump_key, IpvsKernel};
use super::masq::{delta, full_script, MasqPolicy, MasqSets};
use super::state::{
    diff, draining, record, DesiredService, DesiredServices, IpvsOp, Programmed, ProgrammedService,
    VirtualKey,
};
use super::table::{MasqKernel, MasqWriter};
use super::vip::{DummyLink, VipLink};
use super::wire::{parse_dest, parse_service, request};
use super::IpvsConfig;
use crate::dataplane::{Changes, Dataplane, DataplaneError, PortFailure, SyncReport};
use crate::model::{Protocol, ServiceModel};

const BACKEND: &str = "ipvs";

/// Changes turned into requests and sent at a time.
const REQUEST_BATCH: usize = 4096;

/// Virtual servers diffed and programmed at a time.
const KEY_CHUNK: usize = 512;

/// Syncs changing more objects than this return freed heap memory to the kernel.
const TRIM_AFTER_CHANGES: usize = 1000;

fn failed<E: std::error::Error + Send + Sync + 'static>(
    operation: &'static str,
) -> impl FnOnce(E) -> DataplaneError {
    move |e| DataplaneError::Kernel {
        backend: BACKEND,
        operation,
        source: Box::new(e),
    }
}

/// The virtual server `key` and its real servers, if programmed.
fn objects_of(programmed: &Programmed, key: &VirtualKey) -> usize {
    programmed.get(key).map_or(0, |s| 1 + s.reals.len())
}

/// The IPVS dataplane over its kernel seams: IPVS, the VIP interface, nftables, conntrack.
pub struct IpvsDataplane<K = IpvsSocket, L = DummyLink, N = MasqWriter, C = ConntrackTool> {
    kernel: K,
    link: L,
    masq: N,
    conntrack: C,
    config: IpvsConfig,
    loaded: bool,
    programmed: Programmed,
    bound: BTreeSet<IpAddr>,
    /// Whether the masquerade table was written whole since start.
    masq_written: bool,
    /// Whether the first sync after load (which reconciles everything) is done.
    reconciled: bool,
    aggregate: Aggregate,
    /// Virtual servers holding draining real servers, with what is desired of them.
    draining: DesiredServices,
    /// Virtual and real servers in `programmed`, kept as they change (a sync must not count
    /// them all).
    objects: usize,
}

impl<K, L, N, C> std::fmt::Debug for IpvsDataplane<K, L, N, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpvsDataplane")
            .field("config", &self.config)
            .field("services", &self.programmed.len())
            .finish_non_exhaustive()
    }
}

impl IpvsDataplane {
    /// A dataplane in the calling thread's network namespace: opens the IPVS socket (the
    /// `ip_vs` module must be loaded), rtnetlink, libnftables and nfnetlink.
    pub fn new(config: IpvsConfig) -> Result<Self, DataplaneError> {
        let kernel = IpvsSocket::open().map_err(failed::<IpvsError>("opening the IPVS socket"))?;
        let link = DummyLink::open().map_err(failed::<io::Error>("opening rtnetlink"))?;
        let masq = MasqWriter::open().map_err(failed("opening the masquerade table's writers"))?;
        Ok(Self::with_parts(kernel, link, masq, ConntrackTool, config))
    }
}

impl<K: IpvsKernel, L: VipLink, N: MasqKernel, C: Conntrack> IpvsDataplane<K, L, N, C> {
    /// A dataplane over the given seams (fakes in unit tests).
    pub fn with_parts(kernel: K, link: L, masq: N, conntrack: C, config: IpvsConfig) -> Self {
        Self {
            kernel,
            link,
            masq,
            conntrack,
            config,
            loaded: false,
            programmed: Programmed::new(),
            bound: BTreeSet::new(),
            masq_written: false,
            reconciled: false,
            aggregate: Aggregate::default(),
            draining: DesiredServices::new(),
            objects: 0,
        }
    }

    /// The IPVS seam.
    pub fn kernel(&self) -> &K {
        &self.kernel
    }

    /// What the dataplane believes the kernel holds.
    pub fn programmed(&self) -> &Programmed {
        &self.programmed
    }

    /// Re-reads the connection counts of draining real servers and deletes those with none
    /// left; returns how many were deleted. Sync does this too; call it on a periodic tick.
    pub fn reap_drained(&mut self) -> Result<usize, DataplaneError> {
        if self.draining.is_empty() {
            return Ok(0);
        }
        let wanted = std::mem::take(&mut self.draining);
        let keys: BTreeSet<VirtualKey> = wanted.keys().copied().collect();
        for key in &keys {
            self.refresh(key)?;
        }
        let plan = diff(&self.subset(&keys), &wanted);
        let ops: Vec<IpvsOp> = plan
            .ops
            .into_iter()
            .filter(|op| matches!(op, IpvsOp::DelReal(..)))
            .collect();
        let (applied, _) = self.execute(&ops)?;
        self.note_draining(&keys, &wanted);
        Ok(applied)
    }

    fn subset(&self, keys: &BTreeSet<VirtualKey>) -> Programmed {
        keys.iter()
            .filter_map(|k| self.programmed.get(k).map(|s| (*k, s.clone())))
            .collect()
    }

    fn wanted_subset(&self, model: &ServiceModel, keys: &BTreeSet<VirtualKey>) -> DesiredServices {
        keys.iter()
            .filter_map(|k| self.aggregate.service(model, k).map(|d| (*k, d)))
            .collect()
    }

    /// Re-derives which of `keys` hold draining real servers, given what is desired of them.
    fn note_draining(&mut self, keys: &BTreeSet<VirtualKey>, wanted: &DesiredServices) {
        for k in keys {
            self.draining.remove(k);
        }
        for k in draining(&self.subset(keys), wanted) {
            let desired = wanted.get(&k).cloned().unwrap_or_else(|| DesiredService {
                spec: self.programmed[&k].spec,
                reals: BTreeSet::new(),
            });
            self.draining.insert(k, desired);
        }
    }

    /// Re-reads the real servers (weights, connection counts) of one virtual server.
    fn refresh(&mut self, key: &VirtualKey) -> Result<(), DataplaneError> {
        let dests = self
            .kernel
            .dests(&dest_dump_key(key))
            .map_err(failed("reading real servers"))?;
        if let Some(svc) = self.programmed.get_mut(key) {
            self.objects -= svc.reals.len();
            svc.reals = dests.iter().filter_map(parse_dest).collect();
            self.objects += svc.reals.len();
        }
        Ok(())
    }

    /// Sends `ops`; records the successful ones. Returns how many succeeded and the
    /// failures as (op, errno).
    fn execute(
        &mut self,
        ops: &[IpvsOp],
    ) -> Result<(usize, Vec<(IpvsOp, io::Error)>), DataplaneError> {
        if ops.is_empty() {
            return Ok((0, Vec::new()));
        }
        let mut ok = 0;
        let mut failures = Vec::new();
        // Requests are built a batch at a time, so a full load never holds them all.
        for batch in ops.chunks(REQUEST_BATCH) {
            let requests: Vec<_> = batch.iter().map(request).collect();
            let outcomes = self
                .kernel
                .execute(&requests)
                .map_err(failed("programming virtual servers"))?;
            for (op, outcome) in batch.iter().zip(outcomes) {
                match outcome {
                    Ok(()) => {
                        let key = op.key();
                        self.objects -= objects_of(&self.programmed, key);
                        record(&mut self.programmed, op);
                        self.objects += objects_of(&self.programmed, key);
                        ok += 1;
                    }
                    Err(e) => failures.push((op.clone(), e)),
                }
            }
        }
        Ok((ok, failures))
    }

    /// Binds (`adding`) or unbinds the candidates that need it.
    fn sync_vips(
        &mut self,
        candidates: &BTreeSet<IpAddr>,
        adding: bool,
    ) -> Result<usize, DataplaneError> {
        let list: Vec<IpAddr> = candidates
            .iter()
            .filter(|ip| {
                self.aggregate.wants_vip(ip) == adding && self.bound.contains(*ip) != adding
            })
            .copied()
            .collect();
        if list.is_empty() {
            return Ok(0);
        }
        let (add, remove): (&[IpAddr], &[IpAddr]) =
            if adding { (&list, &[]) } else { (&[], &list) };
        let outcomes = self
            .link
            .change(add, remove)
            .map_err(failed("binding virtual IPs"))?;
        let mut changed = 0;
        for (ip, outcome) in list.iter().zip(outcomes) {
            match outcome {
                Ok(()) if adding => {
                    self.bound.insert(*ip);
                    changed += 1;
                }
                Ok(()) => {
                    self.bound.remove(ip);
                    changed += 1;
                }
                Err(e) => tracing::warn!(vip = %ip, error = %e, "could not change a virtual IP"),
            }
        }
        Ok(changed)
    }

    /// One sync; on failure the caller marks everything for reconciling.
    fn sync_changes(
        &mut self,
        model: &ServiceModel,
        changes: &Changes,
    ) -> Result<SyncReport, DataplaneError> {
        let started = Instant::now();
        if !self.loaded {
            self.load()?;
        }
        let update = self.aggregate.update(
            model,
            changes,
            &self.config.scheduler,
            &self.config.node_ips,
        );
        let mut touched = update.touched.clone();
        let mut vips = update.vips.clone();
        if !self.reconciled {
            // The first sync after load reconciles everything the kernel holds.
            touched.extend(self.programmed.keys().copied());
            touched.extend(self.aggregate.keys().copied());
            vips.extend(self.bound.iter().copied());
            vips.extend(self.aggregate.vips().copied());
        }
        let draining_now: Vec<VirtualKey> = self.draining.keys().copied().collect();
        for key in draining_now {
            self.refresh(&key)?;
            touched.insert(key);
        }
        let mut changes = self.sync_vips(&vips, true)?;
        let mut op_failures = Vec::new();
        // A slice of keys at a time, so a full load never holds the whole desired state and
        // plan (their short-lived allocations would be interleaved with the long-lived
        // record of what is programmed, and leave the heap fragmented).
        let keys: Vec<VirtualKey> = touched.into_iter().collect();
        for chunk in keys.chunks(KEY_CHUNK) {
            let chunk: BTreeSet<VirtualKey> = chunk.iter().copied().collect();
            let (applied, failed) = self.sync_keys(model, &chunk)?;
            changes += applied;
            op_failures.extend(failed);
        }
        changes += self.sync_vips(&vips, false)?;
        changes += usize::from(self.sync_masq(&update)?);
        self.reconciled = true;

        let mut failures = update.failures;
        let mut failed_ports = BTreeSet::new();
        for (op, e) in op_failures {
            let key = op.key();
            tracing::warn!(vip = %key.addr, port = key.port, error = %e, ?op, "IPVS refused a change");
            if let Some(name) = self.aggregate.owner(key) {
                if failed_ports.insert(name.clone()) {
                    failures.push(PortFailure {
                        name: name.clone(),
                        reason: format!("IPVS refused {op:?}: {e}"),
                    });
                }
            }
        }
        Ok(SyncReport {
            ports: model.ports.len().saturating_sub(failures.len()),
            objects: self.objects,
            changes,
            failures,
            duration: started.elapsed(),
        })
    }

    /// Brings the virtual servers `keys` to what `model` asks; returns how many changes were
    /// applied and the refused ones.
    fn sync_keys(
        &mut self,
        model: &ServiceModel,
        keys: &BTreeSet<VirtualKey>,
    ) -> Result<(usize, Vec<(IpvsOp, io::Error)>), DataplaneError> {
        let wanted = self.wanted_subset(model, keys);
        let mut plan = diff(&self.subset(keys), &wanted);
        // A real server about to go is deleted only if the kernel's counts say it is idle.
        let retiring: BTreeSet<VirtualKey> = plan
            .ops
            .iter()
            .filter_map(|op| match op {
                IpvsOp::DelReal(k, _) if k.protocol != Protocol::Udp => Some(*k),
                _ => None,
            })
            .collect();
        if !retiring.is_empty() {
            for key in &retiring {
                self.refresh(key)?;
            }
            plan = diff(&self.subset(keys), &wanted);
        }
        let outcome = self.execute(&plan.ops)?;
        self.note_draining(keys, &wanted);
        for (vs, real) in &plan.clear_conntrack {
            if let Err(e) = self
                .conntrack
                .clear_udp(vs.addr, vs.port, real.addr, real.port)
            {
                tracing::warn!(vip = %vs.addr, endpoint = %real.addr, error = %e, "could not clear UDP conntrack entries");
            }
        }
        Ok(outcome)
    }

    /// Writes the touched elements (one batch), or the whole table when its content is unknown
    /// (the first sync after finding it at start, after a failed sync); a refused element
    /// change is repaired by a whole write.
    fn sync_masq(&mut self, update: &Update) -> Result<bool, DataplaneError> {
        if self.masq_written {
            let changes = delta(&update.masq_before, &update.masq_after);
            if changes.is_empty() {
                return Ok(false);
            }
            match self.masq.change_elements(&changes) {
                Ok(()) => return Ok(true),
                Err(e) => {
                    tracing::warn!(error = %e, source = ?std::error::Error::source(&e),
                        "masquerade element changes refused; rewriting the table");
                }
            }
        }
        // Redefined and refilled in one transaction: no moment without masquerade.
        self.masq
            .apply_script(&full_script(&self.masq_policy(), &self.aggregate.masq))
            .map_err(failed("writing the masquerade table"))?;
        self.masq_written = true;
        Ok(true)
    }

    fn masq_policy(&self) -> MasqPolicy {
        MasqPolicy {
            cluster_cidrs: self.config.cluster_cidrs.clone(),
            masquerade_all: self.config.masquerade_all,
        }
    }
}

impl<K: IpvsKernel, L: VipLink, N: MasqKernel, C: Conntrack> Dataplane
    for IpvsDataplane<K, L, N, C>
{
    fn name(&self) -> &'static str {
        BACKEND
    }

    fn housekeep(&mut self) -> Result<usize, DataplaneError> {
        self.reap_drained()
    }

    fn load(&mut self) -> Result<(), DataplaneError> {
        if let Some(root) = &self.config.sysctl_root {
            apply_sysctls(root).map_err(failed("setting sysctls"))?;
        }
        self.link.ensure().map_err(failed("creating skiff-ipvs0"))?;
        self.bound = self
            .link
            .addresses()
            .map_err(failed("listing virtual IPs"))?;
        let services = self
            .kernel
            .services()
            .map_err(failed("reading virtual servers"))?;
        self.programmed.clear();
        for attrs in &services {
            let Some((key, spec)) = parse_service(attrs) else {
                continue;
            };
            // Only virtual servers on Skiff's VIPs or node IPs are Skiff's.
            if !self.bound.contains(&key.addr) && !self.config.node_ips.contains(&key.addr) {
                continue;
            }
            let dests = self
                .kernel
                .dests(attrs)
                .map_err(failed("reading real servers"))?;
            let reals: BTreeMap<_, _> = dests.iter().filter_map(parse_dest).collect();
            self.programmed
                .insert(key, ProgrammedService { spec, reals });
        }
        self.objects = self.programmed.values().map(|s| 1 + s.reals.len()).sum();
        tracing::info!(
            virtual_servers = self.programmed.len(),
            vips = self.bound.len(),
            "read IPVS state"
        );
        let exists = self
            .masq
            .table_exists()
            .map_err(failed("looking up the masquerade table"))?;
        if !exists {
            // A new table is created empty now, so the first sync fills it with one element
            // batch, which the kernel takes far faster than libnftables parses a full table.
            self.masq
                .apply_script(&full_script(&self.masq_policy(), &MasqSets::default()))
                .map_err(failed("creating the masquerade table"))?;
        }
        self.loaded = true;
        self.reconciled = false;
        // An existing table is rewritten whole by the first sync (its content is unknown).
        self.masq_written = !exists && self.aggregate.masq == MasqSets::default();
        Ok(())
    }

    fn sync(
        &mut self,
        model: &ServiceModel,
        changes: &Changes,
    ) -> Result<SyncReport, DataplaneError> {
        let result = self.sync_changes(model, changes);
        if result
            .as_ref()
            .is_ok_and(|r| r.changes > TRIM_AFTER_CHANGES)
        {
            // A large sync's transient requests, dumps and libnftables' parse of the whole
            // masquerade table leave freed pages in the heaps; give them back so a node's proxy
            // stays small after its first full load.
            // SAFETY: malloc_trim only releases free heap memory.
            unsafe { libc::malloc_trim(0) };
        }
        if result.is_err() {
            // What this sync did not finish is found by reconciling everything next time.
            self.reconciled = false;
            self.masq_written = false;
        }
        result
    }
}
