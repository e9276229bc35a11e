//! What a dataplane does with the model: compute the kernel state it should have and apply only
//! the difference.

use std::time::Duration;

use crate::model::{ServiceModel, ServicePortName};

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

    /// Brings the kernel to `model`, applying only the difference from the last sync.
    fn sync(&mut self, model: &ServiceModel) -> Result<SyncReport, DataplaneError>;
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
