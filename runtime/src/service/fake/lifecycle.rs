//! The [`RuntimeService`] rules of [`FakeRuntime`]: every call is logged, a scripted failure
//! wins over the rules and leaves state unchanged.

use std::time::Duration;

use async_trait::async_trait;

use super::runtime::invalid;
use super::{FakeRuntime, RecordedCall};
use crate::service::{
    Call, ContainerConfig, ContainerFilter, ContainerId, ContainerState, ContainerStatus,
    ExecResult, ExitReason, ObjectKind, RuntimeEvent, RuntimeEvents, RuntimeService, SandboxConfig,
    SandboxFilter, SandboxId, SandboxState, SandboxStatus, ServiceError,
};

#[async_trait]
impl RuntimeService for FakeRuntime {
    async fn create_sandbox(&self, config: &SandboxConfig) -> Result<SandboxId, ServiceError> {
        let mut state = self.lock();
        state
            .script
            .record(RecordedCall::CreateSandbox(config.metadata.clone()))?;
        let meta = &config.metadata;
        for (field, value) in [
            ("metadata.pod_uid", &meta.pod_uid),
            ("metadata.namespace", &meta.namespace),
            ("metadata.name", &meta.name),
        ] {
            if value.is_empty() {
                return Err(invalid(field, "must not be empty"));
            }
        }
        if let Some(existing) = state.sandboxes.values().find(|s| s.metadata == *meta) {
            return Err(ServiceError::SandboxExists {
                name: meta.unique_name(),
                existing: existing.id.to_string(),
            });
        }
        let id = SandboxId::new(format!("sandbox-{}", state.next_id));
        state.next_id += 1;
        let status = SandboxStatus {
            id: id.clone(),
            metadata: meta.clone(),
            state: SandboxState::Ready,
            created_at: state.now,
            namespaces: Some(Self::fake_namespaces(&id)),
            hostname: config.hostname.clone(),
            log_directory: config.log_directory.clone(),
            cgroup_parent: config.cgroup_parent.clone(),
            labels: config.labels.clone(),
            annotations: config.annotations.clone(),
        };
        state.sandboxes.insert(id.clone(), status);
        tracing::debug!(sandbox = %id, pod = %meta.unique_name(), "fake sandbox created");
        Ok(id)
    }

    async fn stop_sandbox(&self, id: &SandboxId) -> Result<(), ServiceError> {
        let mut state = self.lock();
        state.script.record(RecordedCall::StopSandbox(id.clone()))?;
        if !state.sandboxes.contains_key(id) {
            return Ok(());
        }
        for c in state.containers_of(id) {
            let code = state.stop_code(&c);
            state.exit(&c, code, ExitReason::for_exit_code(code), &self.hub);
        }
        let now = state.now;
        let Some(sandbox) = state.sandboxes.get_mut(id) else {
            return Ok(());
        };
        if sandbox.state == SandboxState::Ready {
            sandbox.state = SandboxState::NotReady;
            sandbox.namespaces = None;
            self.hub.publish(RuntimeEvent::SandboxStopped {
                id: id.clone(),
                at: now,
            });
        }
        Ok(())
    }

    async fn remove_sandbox(&self, id: &SandboxId) -> Result<(), ServiceError> {
        let mut state = self.lock();
        state
            .script
            .record(RecordedCall::RemoveSandbox(id.clone()))?;
        for c in state.containers_of(id) {
            state.remove_container(&c, &self.hub);
        }
        if let Some(sandbox) = state.sandboxes.remove(id) {
            if sandbox.state == SandboxState::Ready {
                self.hub.publish(RuntimeEvent::SandboxStopped {
                    id: id.clone(),
                    at: state.now,
                });
            }
        }
        Ok(())
    }

    async fn sandbox_status(&self, id: &SandboxId) -> Result<SandboxStatus, ServiceError> {
        let mut state = self.lock();
        state
            .script
            .record(RecordedCall::SandboxStatus(id.clone()))?;
        state
            .sandboxes
            .get(id)
            .cloned()
            .ok_or_else(|| ServiceError::NotFound {
                kind: ObjectKind::Sandbox,
                id: id.to_string(),
            })
    }

    async fn list_sandboxes(
        &self,
        filter: &SandboxFilter,
    ) -> Result<Vec<SandboxStatus>, ServiceError> {
        let mut state = self.lock();
        state
            .script
            .record(RecordedCall::ListSandboxes(filter.clone()))?;
        Ok(state
            .sandboxes
            .values()
            .filter(|s| filter.matches(s))
            .cloned()
            .collect())
    }

    async fn create_container(
        &self,
        sandbox: &SandboxId,
        config: &ContainerConfig,
    ) -> Result<ContainerId, ServiceError> {
        let mut state = self.lock();
        state.script.record(RecordedCall::CreateContainer {
            sandbox: sandbox.clone(),
            metadata: config.metadata.clone(),
        })?;
        if config.metadata.name.is_empty() {
            return Err(invalid("metadata.name", "must not be empty"));
        }
        crate::spec::build(&config.spec)?;
        let pod = state
            .sandboxes
            .get(sandbox)
            .ok_or_else(|| ServiceError::NotFound {
                kind: ObjectKind::Sandbox,
                id: sandbox.to_string(),
            })?;
        if pod.state != SandboxState::Ready {
            return Err(ServiceError::WrongState {
                call: Call::CreateContainer,
                kind: ObjectKind::Sandbox,
                id: sandbox.to_string(),
                state: pod.state.name(),
            });
        }
        if let Some(images) = &self.images {
            if !images.contains(&config.image) {
                return Err(ServiceError::ImageNotFound {
                    reference: config.image.to_string(),
                });
            }
        }
        let unique_name = format!(
            "{}_{}_{}",
            config.metadata.name,
            pod.metadata.unique_name(),
            config.metadata.attempt
        );
        if let Some(existing) = state
            .containers
            .values()
            .find(|c| c.sandbox_id == *sandbox && c.metadata == config.metadata)
        {
            return Err(ServiceError::ContainerExists {
                name: unique_name,
                existing: existing.id.to_string(),
            });
        }
        let log_path = pod.log_directory.join(&config.log_path);
        let id = ContainerId::new(format!("container-{}", state.next_id));
        state.next_id += 1;
        let status = ContainerStatus {
            id: id.clone(),
            sandbox_id: sandbox.clone(),
            metadata: config.metadata.clone(),
            image: config.image.clone(),
            state: ContainerState::Created,
            pid: None,
            exit_code: None,
            created_at: state.now,
            started_at: None,
            finished_at: None,
            reason: None,
            message: None,
            log_path,
            labels: config.labels.clone(),
            annotations: config.annotations.clone(),
        };
        state.containers.insert(id.clone(), status);
        self.hub.publish(RuntimeEvent::ContainerCreated {
            id: id.clone(),
            sandbox_id: sandbox.clone(),
            at: state.now,
        });
        tracing::debug!(container = %id, name = %unique_name, "fake container created");
        Ok(id)
    }

    async fn start_container(&self, id: &ContainerId) -> Result<(), ServiceError> {
        let mut state = self.lock();
        state
            .script
            .record(RecordedCall::StartContainer(id.clone()))?;
        let (now, pid) = (state.now, state.next_pid);
        let c = state.container_mut(id)?;
        if c.state != ContainerState::Created {
            return Err(ServiceError::WrongState {
                call: Call::StartContainer,
                kind: ObjectKind::Container,
                id: id.to_string(),
                state: c.state.name(),
            });
        }
        c.state = ContainerState::Running;
        c.pid = Some(pid);
        c.started_at = Some(now);
        state.next_pid += 1;
        self.hub.publish(RuntimeEvent::ContainerStarted {
            id: id.clone(),
            pid,
            at: now,
        });
        Ok(())
    }

    async fn stop_container(&self, id: &ContainerId, grace: Duration) -> Result<(), ServiceError> {
        let mut state = self.lock();
        state.script.record(RecordedCall::StopContainer {
            id: id.clone(),
            grace,
        })?;
        state.container(id)?;
        let code = state.stop_code(id);
        state.exit(id, code, ExitReason::for_exit_code(code), &self.hub);
        Ok(())
    }

    async fn remove_container(&self, id: &ContainerId) -> Result<(), ServiceError> {
        let mut state = self.lock();
        state
            .script
            .record(RecordedCall::RemoveContainer(id.clone()))?;
        state.remove_container(id, &self.hub);
        Ok(())
    }

    async fn container_status(&self, id: &ContainerId) -> Result<ContainerStatus, ServiceError> {
        let mut state = self.lock();
        state
            .script
            .record(RecordedCall::ContainerStatus(id.clone()))?;
        state.container(id).cloned()
    }

    async fn list_containers(
        &self,
        filter: &ContainerFilter,
    ) -> Result<Vec<ContainerStatus>, ServiceError> {
        let mut state = self.lock();
        state
            .script
            .record(RecordedCall::ListContainers(filter.clone()))?;
        Ok(state
            .containers
            .values()
            .filter(|c| filter.matches(c))
            .cloned()
            .collect())
    }

    async fn exec_sync(
        &self,
        id: &ContainerId,
        cmd: &[String],
        timeout: Duration,
    ) -> Result<ExecResult, ServiceError> {
        let mut state = self.lock();
        state.script.record(RecordedCall::ExecSync {
            id: id.clone(),
            cmd: cmd.to_vec(),
            timeout,
        })?;
        if cmd.is_empty() {
            return Err(invalid("cmd", "must not be empty"));
        }
        let c = state.container(id)?;
        if c.state != ContainerState::Running {
            return Err(ServiceError::WrongState {
                call: Call::ExecSync,
                kind: ObjectKind::Container,
                id: id.to_string(),
                state: c.state.name(),
            });
        }
        Ok(state
            .exec_results
            .get_mut(id)
            .and_then(|q| q.pop_front())
            .unwrap_or_default())
    }

    async fn events(&self) -> Result<RuntimeEvents, ServiceError> {
        self.lock().script.record(RecordedCall::Events)?;
        Ok(self.hub.subscribe())
    }
}
