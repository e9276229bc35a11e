//! [`RuntimeService`] over containerd: sandboxes as pinned namespaces plus a container record,
//! containers as container records with runc tasks (one shim per pod), logs through the
//! `binary://` log driver, exec through FIFOs, exits and OOM kills from containerd's events.

mod container;
mod exec;
mod monitor;
mod publisher;
mod sandbox;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::service::{
    ContainerConfig, ContainerFilter, ContainerId, ContainerStatus, ExecResult, RuntimeEvents,
    RuntimeService, SandboxConfig, SandboxFilter, SandboxId, SandboxStatus, ServiceError,
};

use super::{Connection, ContainerdConfig};

/// Pods and containers in one containerd namespace.
#[derive(Clone)]
pub struct ContainerdRuntime {
    inner: Arc<Inner>,
}

/// What every operation shares.
pub(crate) struct Inner {
    pub(crate) conn: Connection,
    pub(crate) config: Arc<ContainerdConfig>,
    pub(crate) hub: publisher::Publisher,
    _monitor: monitor::Monitor,
}

impl ContainerdRuntime {
    /// Starts following containerd's task events; the state itself is always read from
    /// containerd, so nothing needs rebuilding beyond that.
    pub(crate) async fn start(
        conn: Connection,
        config: Arc<ContainerdConfig>,
    ) -> Result<Self, ServiceError> {
        let hub = publisher::Publisher::default();
        let monitor = monitor::Monitor::spawn(conn.clone(), hub.clone()).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                conn,
                config,
                hub,
                _monitor: monitor,
            }),
        })
    }
}

#[async_trait]
impl RuntimeService for ContainerdRuntime {
    async fn create_sandbox(&self, config: &SandboxConfig) -> Result<SandboxId, ServiceError> {
        sandbox::create(&self.inner, config).await
    }

    async fn stop_sandbox(&self, id: &SandboxId) -> Result<(), ServiceError> {
        sandbox::stop(&self.inner, id).await
    }

    async fn remove_sandbox(&self, id: &SandboxId) -> Result<(), ServiceError> {
        sandbox::remove(&self.inner, id).await
    }

    async fn sandbox_status(&self, id: &SandboxId) -> Result<SandboxStatus, ServiceError> {
        sandbox::status(&self.inner, id).await
    }

    async fn list_sandboxes(
        &self,
        filter: &SandboxFilter,
    ) -> Result<Vec<SandboxStatus>, ServiceError> {
        sandbox::list(&self.inner, filter).await
    }

    async fn create_container(
        &self,
        sandbox: &SandboxId,
        config: &ContainerConfig,
    ) -> Result<ContainerId, ServiceError> {
        container::create(&self.inner, sandbox, config).await
    }

    async fn start_container(&self, id: &ContainerId) -> Result<(), ServiceError> {
        container::start(&self.inner, id).await
    }

    async fn stop_container(&self, id: &ContainerId, grace: Duration) -> Result<(), ServiceError> {
        container::stop(&self.inner, id, grace).await
    }

    async fn remove_container(&self, id: &ContainerId) -> Result<(), ServiceError> {
        container::remove(&self.inner, id).await
    }

    async fn container_status(&self, id: &ContainerId) -> Result<ContainerStatus, ServiceError> {
        container::status(&self.inner, id).await
    }

    async fn list_containers(
        &self,
        filter: &ContainerFilter,
    ) -> Result<Vec<ContainerStatus>, ServiceError> {
        container::list(&self.inner, filter).await
    }

    async fn exec_sync(
        &self,
        id: &ContainerId,
        cmd: &[String],
        timeout: Duration,
    ) -> Result<ExecResult, ServiceError> {
        exec::exec_sync(&self.inner, id, cmd, timeout).await
    }

    async fn events(&self) -> Result<RuntimeEvents, ServiceError> {
        Ok(self.inner.hub.subscribe())
    }
}
