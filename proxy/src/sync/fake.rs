//! A dataplane that programs nothing and records every model and change set it was given, and
//! every housekeeping call, for tests. It also checks the [`Changes`] contract: ports outside a
//! [`Changes::Ports`] set must equal those of the previous successful sync.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::dataplane::{Changes, Dataplane, DataplaneError, PortFailure, SyncReport};
use crate::model::{ServiceModel, ServicePortName};

/// Shared record of what a [`FakeDataplane`] saw; clone it before moving the dataplane away.
#[derive(Debug, Clone, Default)]
pub struct FakeRecord {
    inner: Arc<Mutex<FakeState>>,
}

#[derive(Debug, Default)]
struct FakeState {
    loads: usize,
    models: Vec<ServiceModel>,
    changes: Vec<Changes>,
    violations: Vec<String>,
    housekeeps: usize,
    fail_next: usize,
    fail_next_housekeeps: usize,
    failing_ports: BTreeSet<ServicePortName>,
}

impl FakeRecord {
    /// Every model synced so far, oldest first.
    pub fn models(&self) -> Vec<ServiceModel> {
        self.lock().models.clone()
    }

    /// The changes of every sync call, failed ones included, oldest first.
    pub fn changes(&self) -> Vec<Changes> {
        self.lock().changes.clone()
    }

    /// Ports that differed from the previous successful sync although the changes passed
    /// with them did not include them; empty when the caller keeps the contract.
    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }

    /// How many times `housekeep` ran.
    pub fn housekeeps(&self) -> usize {
        self.lock().housekeeps
    }

    /// Makes the next `n` housekeeping calls fail.
    pub fn fail_next_housekeeps(&self, n: usize) {
        self.lock().fail_next_housekeeps = n;
    }

    /// How many times `load` ran.
    pub fn loads(&self) -> usize {
        self.lock().loads
    }

    /// Makes the next `n` syncs fail as a whole.
    pub fn fail_next_syncs(&self, n: usize) {
        self.lock().fail_next = n;
    }

    /// Makes `port` fail to program (a [`PortFailure`]) while it is in the model.
    pub fn fail_port(&self, port: ServicePortName) {
        self.lock().failing_ports.insert(port);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A dataplane that records models instead of programming a kernel.
#[derive(Debug, Clone, Default)]
pub struct FakeDataplane {
    record: FakeRecord,
}

impl FakeDataplane {
    /// A fake with an empty record.
    pub fn new() -> Self {
        Self::default()
    }

    /// The record this fake writes to.
    pub fn record(&self) -> FakeRecord {
        self.record.clone()
    }
}

/// Error a [`FakeDataplane`] returns when told to fail.
#[derive(Debug, thiserror::Error)]
#[error("injected failure")]
pub struct InjectedFailure;

impl Dataplane for FakeDataplane {
    fn name(&self) -> &'static str {
        "fake"
    }

    fn load(&mut self) -> Result<(), DataplaneError> {
        self.record.lock().loads += 1;
        Ok(())
    }

    fn sync(
        &mut self,
        model: &ServiceModel,
        changes: &Changes,
    ) -> Result<SyncReport, DataplaneError> {
        let mut state = self.record.lock();
        state.changes.push(changes.clone());
        if state.fail_next > 0 {
            state.fail_next -= 1;
            return Err(DataplaneError::Kernel {
                backend: "fake",
                operation: "sync",
                source: Box::new(InjectedFailure),
            });
        }
        if let (Some(previous), Changes::Ports(_)) = (state.models.last(), changes) {
            let unannounced = previous_differences(previous, model)
                .filter(|name| !changes.includes(name))
                .map(|name| name.to_string())
                .collect::<Vec<_>>();
            state.violations.extend(unannounced);
        }
        state.models.push(model.clone());
        let failures: Vec<PortFailure> = model
            .ports
            .keys()
            .filter(|name| state.failing_ports.contains(*name))
            .map(|name| PortFailure {
                name: name.clone(),
                reason: "injected failure".into(),
            })
            .collect();
        let objects = model
            .ports
            .values()
            .map(|p| 1 + p.cluster_endpoints.len())
            .sum();
        Ok(SyncReport {
            ports: model.ports.len() - failures.len(),
            objects,
            changes: 0,
            failures,
            duration: Duration::from_micros(100),
        })
    }

    fn housekeep(&mut self) -> Result<usize, DataplaneError> {
        let mut state = self.record.lock();
        state.housekeeps += 1;
        if state.fail_next_housekeeps > 0 {
            state.fail_next_housekeeps -= 1;
            return Err(DataplaneError::Kernel {
                backend: "fake",
                operation: "housekeep",
                source: Box::new(InjectedFailure),
            });
        }
        Ok(0)
    }
}

/// Names of the ports that differ between `before` and `after` (added, removed or changed).
fn previous_differences<'a>(
    before: &'a ServiceModel,
    after: &'a ServiceModel,
) -> impl Iterator<Item = &'a ServicePortName> {
    let removed_or_changed = before
        .ports
        .iter()
        .filter(|(name, port)| after.ports.get(*name) != Some(*port))
        .map(|(name, _)| name);
    let added = after
        .ports
        .keys()
        .filter(|name| !before.ports.contains_key(*name));
    removed_or_changed.chain(added)
}
