//! [`FakeRuntime`]: an in-memory sandbox and container state machine with the CRI's rules.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use super::{FakeImages, RecordedCall, Script};
use crate::sandbox::{PinnedNamespaces, DEFAULT_RUN_DIR};
use crate::service::{
    Call, ContainerId, ContainerState, ContainerStatus, EventHub, ExecResult, ExitReason,
    ObjectKind, RuntimeEvent, SandboxId, SandboxStatus, ServiceError,
};

/// Exit code of a stopped container unless set otherwise: 128 + SIGTERM.
const DEFAULT_STOP_EXIT_CODE: i32 = 143;
/// Exit code of a killed container: 128 + SIGKILL.
const KILLED_EXIT_CODE: i32 = 137;
/// The fake clock's start, a fixed instant so statuses compare equal across runs.
const CLOCK_START_SECS: u64 = 1_700_000_000;

#[derive(Debug)]
pub(super) struct RuntimeState {
    pub(super) now: SystemTime,
    pub(super) next_id: u64,
    pub(super) next_pid: u32,
    pub(super) sandboxes: BTreeMap<SandboxId, SandboxStatus>,
    pub(super) containers: BTreeMap<ContainerId, ContainerStatus>,
    pub(super) stop_exit_codes: HashMap<ContainerId, i32>,
    pub(super) exec_results: HashMap<ContainerId, VecDeque<ExecResult>>,
    pub(super) script: Script,
}

impl RuntimeState {
    pub(super) fn container(&self, id: &ContainerId) -> Result<&ContainerStatus, ServiceError> {
        self.containers
            .get(id)
            .ok_or_else(|| ServiceError::NotFound {
                kind: ObjectKind::Container,
                id: id.to_string(),
            })
    }

    pub(super) fn container_mut(
        &mut self,
        id: &ContainerId,
    ) -> Result<&mut ContainerStatus, ServiceError> {
        self.containers
            .get_mut(id)
            .ok_or_else(|| ServiceError::NotFound {
                kind: ObjectKind::Container,
                id: id.to_string(),
            })
    }

    /// Moves a running container to exited; a no-op in any other state.
    pub(super) fn exit(&mut self, id: &ContainerId, code: i32, reason: ExitReason, hub: &EventHub) {
        let now = self.now;
        let Some(c) = self.containers.get_mut(id) else {
            return;
        };
        if c.state != ContainerState::Running {
            return;
        }
        c.state = ContainerState::Exited;
        c.pid = None;
        c.exit_code = Some(code);
        c.finished_at = Some(now);
        c.reason = Some(reason);
        hub.publish(RuntimeEvent::ContainerExited {
            id: id.clone(),
            exit_code: code,
            at: now,
        });
    }

    pub(super) fn stop_code(&self, id: &ContainerId) -> i32 {
        self.stop_exit_codes
            .get(id)
            .copied()
            .unwrap_or(DEFAULT_STOP_EXIT_CODE)
    }

    /// Kills the container if it runs, then forgets it.
    pub(super) fn remove_container(&mut self, id: &ContainerId, hub: &EventHub) {
        if !self.containers.contains_key(id) {
            return;
        }
        self.exit(id, KILLED_EXIT_CODE, ExitReason::Error, hub);
        self.containers.remove(id);
        self.stop_exit_codes.remove(id);
        self.exec_results.remove(id);
        hub.publish(RuntimeEvent::ContainerRemoved {
            id: id.clone(),
            at: self.now,
        });
    }

    pub(super) fn containers_of(&self, sandbox: &SandboxId) -> Vec<ContainerId> {
        self.containers
            .values()
            .filter(|c| c.sandbox_id == *sandbox)
            .map(|c| c.id.clone())
            .collect()
    }
}

/// A recording fake [`RuntimeService`] with containerd's CRI state rules, a settable clock,
/// settable exit codes, scripted failures and events. Clones share state.
#[derive(Debug, Clone)]
pub struct FakeRuntime {
    state: Arc<Mutex<RuntimeState>>,
    pub(super) hub: EventHub,
    pub(super) images: Option<FakeImages>,
}

impl Default for FakeRuntime {
    fn default() -> Self {
        Self::new()
    }
}

pub(super) fn invalid(field: &str, reason: &str) -> ServiceError {
    ServiceError::InvalidConfig {
        field: field.to_owned(),
        reason: reason.to_owned(),
    }
}

impl FakeRuntime {
    /// A runtime with no sandboxes that accepts any image reference.
    pub fn new() -> Self {
        Self {
            state: Arc::new(Mutex::new(RuntimeState {
                now: SystemTime::UNIX_EPOCH + Duration::from_secs(CLOCK_START_SECS),
                next_id: 1,
                next_pid: 1000,
                sandboxes: BTreeMap::new(),
                containers: BTreeMap::new(),
                stop_exit_codes: HashMap::new(),
                exec_results: HashMap::new(),
                script: Script::default(),
            })),
            hub: EventHub::new(),
            images: None,
        }
    }

    /// A runtime whose `create_container` fails with `ImageNotFound` unless `images` holds
    /// the image.
    pub fn with_images(images: FakeImages) -> Self {
        Self {
            images: Some(images),
            ..Self::new()
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, RuntimeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every call received so far, in order.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.lock().script.calls.clone()
    }

    /// Forgets the calls received so far.
    pub fn clear_calls(&self) {
        self.lock().script.calls.clear();
    }

    /// Makes the next call of kind `call` fail with `error`, leaving state unchanged.
    pub fn fail_next(&self, call: Call, error: ServiceError) {
        self.lock().script.fail_next(call, error);
    }

    /// The fake clock's current time, stamped on every state change.
    pub fn now(&self) -> SystemTime {
        self.lock().now
    }

    /// Moves the fake clock forward.
    pub fn advance(&self, by: Duration) {
        self.lock().now += by;
    }

    /// The exit code `stop_container` (or `stop_sandbox`) gives this container; 143 if unset.
    pub fn set_stop_exit_code(&self, id: &ContainerId, code: i32) {
        self.lock().stop_exit_codes.insert(id.clone(), code);
    }

    /// Queues the result of the next `exec_sync` in this container; the default is exit 0
    /// with no output.
    pub fn push_exec_result(&self, id: &ContainerId, result: ExecResult) {
        self.lock()
            .exec_results
            .entry(id.clone())
            .or_default()
            .push_back(result);
    }

    /// Makes a running container's process exit with `code`, as if it ended by itself.
    pub fn exit(&self, id: &ContainerId, code: i32) -> Result<(), ServiceError> {
        self.end(id, code, ExitReason::for_exit_code(code))
    }

    /// Makes the OOM killer kill a running container: an OOM event, then an exit with 137.
    pub fn oom_kill(&self, id: &ContainerId) -> Result<(), ServiceError> {
        self.end(id, KILLED_EXIT_CODE, ExitReason::OomKilled)
    }

    fn end(&self, id: &ContainerId, code: i32, reason: ExitReason) -> Result<(), ServiceError> {
        let mut state = self.lock();
        let c = state.container(id)?;
        if c.state != ContainerState::Running {
            return Err(ServiceError::WrongState {
                call: Call::StopContainer,
                kind: ObjectKind::Container,
                id: id.to_string(),
                state: c.state.name(),
            });
        }
        if reason == ExitReason::OomKilled {
            self.hub.publish(RuntimeEvent::ContainerOom {
                id: id.clone(),
                at: state.now,
            });
        }
        state.exit(id, code, reason, &self.hub);
        Ok(())
    }

    pub(super) fn fake_namespaces(id: &SandboxId) -> PinnedNamespaces {
        PinnedNamespaces::at(Path::new(DEFAULT_RUN_DIR), id.as_str())
    }
}
