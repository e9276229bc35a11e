//! Containers: a container record (labels and extension), a rootfs snapshot prepared from the
//! image, and a runc task in the pod's shim with its output going to the log driver.

use std::time::Duration;

use crate::service::{
    ContainerConfig, ContainerFilter, ContainerId, ContainerStatus, SandboxId, ServiceError,
};

use super::Inner;

/// Creates (does not start) a container in a ready sandbox.
pub(crate) async fn create(
    inner: &Inner,
    sandbox: &SandboxId,
    config: &ContainerConfig,
) -> Result<ContainerId, ServiceError> {
    let _ = (inner, sandbox, config);
    unimplemented!("container::create")
}

/// Starts a created container.
pub(crate) async fn start(inner: &Inner, id: &ContainerId) -> Result<(), ServiceError> {
    let _ = (inner, id);
    unimplemented!("container::start")
}

/// SIGTERM, SIGKILL after `grace`, and waits for the exit.
pub(crate) async fn stop(
    inner: &Inner,
    id: &ContainerId,
    grace: Duration,
) -> Result<(), ServiceError> {
    let _ = (inner, id, grace);
    unimplemented!("container::stop")
}

/// Removes the container, killing it first if it runs.
pub(crate) async fn remove(inner: &Inner, id: &ContainerId) -> Result<(), ServiceError> {
    let _ = (inner, id);
    unimplemented!("container::remove")
}

/// The container's status.
pub(crate) async fn status(
    inner: &Inner,
    id: &ContainerId,
) -> Result<ContainerStatus, ServiceError> {
    let _ = (inner, id);
    unimplemented!("container::status")
}

/// Containers passing the filter, sorted by id.
pub(crate) async fn list(
    inner: &Inner,
    filter: &ContainerFilter,
) -> Result<Vec<ContainerStatus>, ServiceError> {
    let _ = (inner, filter);
    unimplemented!("container::list")
}
