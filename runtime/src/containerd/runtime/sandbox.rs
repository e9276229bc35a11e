//! Sandboxes: pinned net, ipc and uts namespaces plus a task-less container record whose
//! labels and extension hold the sandbox's metadata.

use crate::service::{SandboxConfig, SandboxFilter, SandboxId, SandboxStatus, ServiceError};

use super::Inner;

/// Pins the pod's namespaces and records the sandbox.
pub(crate) async fn create(
    inner: &Inner,
    config: &SandboxConfig,
) -> Result<SandboxId, ServiceError> {
    let _ = (inner, config);
    unimplemented!("sandbox::create")
}

/// Stops the sandbox's containers and releases its namespaces.
pub(crate) async fn stop(inner: &Inner, id: &SandboxId) -> Result<(), ServiceError> {
    let _ = (inner, id);
    unimplemented!("sandbox::stop")
}

/// Removes the sandbox and its containers.
pub(crate) async fn remove(inner: &Inner, id: &SandboxId) -> Result<(), ServiceError> {
    let _ = (inner, id);
    unimplemented!("sandbox::remove")
}

/// The sandbox's status.
pub(crate) async fn status(inner: &Inner, id: &SandboxId) -> Result<SandboxStatus, ServiceError> {
    let _ = (inner, id);
    unimplemented!("sandbox::status")
}

/// Sandboxes passing the filter, sorted by id.
pub(crate) async fn list(
    inner: &Inner,
    filter: &SandboxFilter,
) -> Result<Vec<SandboxStatus>, ServiceError> {
    let _ = (inner, filter);
    unimplemented!("sandbox::list")
}
