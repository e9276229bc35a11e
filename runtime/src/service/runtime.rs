//! The runtime service: pod sandboxes, containers, exec and events.

use std::time::Duration;

use async_trait::async_trait;

use super::{
    ContainerConfig, ContainerFilter, ContainerId, ContainerStatus, ExecResult, RuntimeEvents,
    SandboxConfig, SandboxFilter, SandboxId, SandboxStatus, ServiceError,
};

/// Pods and containers on the node, shaped like the CRI `RuntimeService`; object safe, held
/// as `Arc<dyn RuntimeService>`.
///
/// Idempotence follows containerd's CRI plugin: stopping or removing an absent sandbox and
/// removing an absent container succeed; stopping a container that is not running succeeds;
/// removing a running container or a sandbox with containers kills them first.
#[async_trait]
pub trait RuntimeService: Send + Sync {
    /// Pins the pod's namespaces and records the sandbox.
    async fn create_sandbox(&self, config: &SandboxConfig) -> Result<SandboxId, ServiceError>;

    /// Stops every container of the sandbox and releases its namespaces.
    async fn stop_sandbox(&self, id: &SandboxId) -> Result<(), ServiceError>;

    /// Removes the sandbox and all its containers.
    async fn remove_sandbox(&self, id: &SandboxId) -> Result<(), ServiceError>;

    /// The sandbox's status; `NotFound` when absent.
    async fn sandbox_status(&self, id: &SandboxId) -> Result<SandboxStatus, ServiceError>;

    /// Sandboxes passing the filter, sorted by id.
    async fn list_sandboxes(
        &self,
        filter: &SandboxFilter,
    ) -> Result<Vec<SandboxStatus>, ServiceError>;

    /// Creates (does not start) a container in a ready sandbox.
    async fn create_container(
        &self,
        sandbox: &SandboxId,
        config: &ContainerConfig,
    ) -> Result<ContainerId, ServiceError>;

    /// Starts a created container.
    async fn start_container(&self, id: &ContainerId) -> Result<(), ServiceError>;

    /// Sends SIGTERM, then SIGKILL after `grace`, and waits for the exit.
    async fn stop_container(&self, id: &ContainerId, grace: Duration) -> Result<(), ServiceError>;

    /// Removes the container, killing it first if it runs.
    async fn remove_container(&self, id: &ContainerId) -> Result<(), ServiceError>;

    /// The container's status; `NotFound` when absent.
    async fn container_status(&self, id: &ContainerId) -> Result<ContainerStatus, ServiceError>;

    /// Containers passing the filter, sorted by id.
    async fn list_containers(
        &self,
        filter: &ContainerFilter,
    ) -> Result<Vec<ContainerStatus>, ServiceError>;

    /// Runs `cmd` in a running container and captures its output; `Timeout` after `timeout`.
    async fn exec_sync(
        &self,
        id: &ContainerId,
        cmd: &[String],
        timeout: Duration,
    ) -> Result<ExecResult, ServiceError>;

    /// Subscribes to events from now on; pair with a list to learn the current state.
    async fn events(&self) -> Result<RuntimeEvents, ServiceError>;
}
