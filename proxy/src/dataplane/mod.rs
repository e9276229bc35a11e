//! What a dataplane does with the model: compute the kernel state it should have and apply only
//! the difference.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::model::{ServiceModel, ServicePortName};

/// Which service ports may differ from the model of the previous successful sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changes {
    /// Any port may differ: the dataplane compares every port (the first sync, periodic
    /// resyncs, the sync after a failed one).
    All,
    /// Only these ports may differ; a name missing from the model was removed. Every other
    /// port is the same as in the previous successful sync.
    Ports(BTreeSet<ServicePortName>),
}

impl Changes {
    /// Whether `name` may have changed.
    pub fn includes(&self, name: &ServicePortName) -> bool {
        match self {
            Changes::All => true,
            Changes::Ports(names) => names.contains(name),
        }
    }
}

/// One service port the dataplane could not program; the others are programmed regardless.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortFailure {
    /// The service port.
    pub name: ServicePortName,
    /// Why it failed.
    pub reason: String,
}

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Service ports programmed after the sync.
    pub ports: usize,
    /// Kernel objects (virtual servers, real servers, rules, map elements) programmed.
    pub objects: usize,
    /// Changes applied by this sync.
    pub changes: usize,
    /// Service ports that could not be programmed.
    pub failures: Vec<PortFailure>,
    /// How long the sync took.
    pub duration: Duration,
}

/// A service dataplane: IPVS with nftables masquerade, or nftables alone.
pub trait Dataplane: Send {
    /// The backend's name for logs and metrics (`ipvs`, `nftables`).
    fn name(&self) -> &'static str;

    /// Reads what the kernel has (once, at start), so the first sync changes only what differs
    /// and never flushes.
    fn load(&mut self) -> Result<(), DataplaneError>;

    /// Brings the kernel to `model`, applying only the difference from the last sync. With
    /// [`Changes::Ports`] the work follows the number of changed ports, not the model's size.
    fn sync(
        &mut self,
        model: &ServiceModel,
        changes: &Changes,
    ) -> Result<SyncReport, DataplaneError>;

    /// Periodic work between syncs (the IPVS backend deletes drained real servers); returns
    /// how many kernel objects it changed.
    fn housekeep(&mut self) -> Result<usize, DataplaneError> {
        Ok(0)
    }
}

/// A failure of the dataplane as a whole (one bad service port is a [`PortFailure`] instead).
#[derive(Debug, thiserror::Error)]
pub enum DataplaneError {
    /// The kernel refused or could not be reached.
    #[error("{backend}: {operation} failed")]
    Kernel {
        /// Backend name.
        backend: &'static str,
        /// What was being done.
        operation: &'static str,
        /// The kernel's or library's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}
