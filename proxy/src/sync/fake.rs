//! A dataplane that programs nothing and records every model it was given, for tests.

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
    fail_next: usize,
    failing_ports: BTreeSet<ServicePortName>,
}

impl FakeRecord {
    /// Every model synced so far, oldest first.
    pub fn models(&self) -> Vec<ServiceModel> {
        self.lock().models.clone()
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
        _changes: &Changes,
    ) -> Result<SyncReport, DataplaneError> {
        let mut state = self.record.lock();
        if state.fail_next > 0 {
            state.fail_next -= 1;
            return Err(DataplaneError::Kernel {
                backend: "fake",
                operation: "sync",
                source: Box::new(InjectedFailure),
            });
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
}
