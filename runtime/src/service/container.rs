//! Container types: what the kubelet asks for and what the runtime reports.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::SystemTime;

use super::pod::{labels_match, SandboxId};
use crate::reference::ImageReference;
use crate::spec::ContainerSpecConfig;

/// The runtime's id of a container.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerId(String);

impl ContainerId {
    /// Wraps an id the runtime handed out.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A container's name in its pod and its restart attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerMetadata {
    /// Name of the container in the pod spec.
    pub name: String,
    /// How many times this container was created in this sandbox before.
    pub attempt: u32,
}

/// What the kubelet asks for when creating a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerConfig {
    /// Name and attempt.
    pub metadata: ContainerMetadata,
    /// The image to run; must be present on the node.
    pub image: ImageReference,
    /// The input of the OCI spec builder (args already resolved from the image).
    pub spec: ContainerSpecConfig,
    /// Log file path, relative to the sandbox's log directory.
    pub log_path: PathBuf,
    /// Labels, stored with the container and matched by [`ContainerFilter`].
    pub labels: BTreeMap<String, String>,
    /// Annotations, stored with the container.
    pub annotations: BTreeMap<String, String>,
}

/// The life-cycle state of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerState {
    /// Created, not started.
    Created,
    /// Its process runs.
    Running,
    /// Its process has exited.
    Exited,
    /// The runtime lost track of it (e.g. the task vanished).
    Unknown,
}

impl ContainerState {
    /// Lower-case name for messages.
    pub fn name(self) -> &'static str {
        match self {
            ContainerState::Created => "created",
            ContainerState::Running => "running",
            ContainerState::Exited => "exited",
            ContainerState::Unknown => "unknown",
        }
    }
}

/// Why a container exited, with the CRI's reason strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitReason {
    /// Exit code 0.
    Completed,
    /// A non-zero exit code.
    Error,
    /// Killed by the kernel's OOM killer.
    OomKilled,
}

impl ExitReason {
    /// The CRI's reason string: `Completed`, `Error` or `OOMKilled`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExitReason::Completed => "Completed",
            ExitReason::Error => "Error",
            ExitReason::OomKilled => "OOMKilled",
        }
    }

    /// The reason for an exit code when the OOM killer was not involved.
    pub fn for_exit_code(code: i32) -> Self {
        if code == 0 {
            ExitReason::Completed
        } else {
            ExitReason::Error
        }
    }
}

/// The runtime's view of one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerStatus {
    /// The container id.
    pub id: ContainerId,
    /// The sandbox it belongs to.
    pub sandbox_id: SandboxId,
    /// Name and attempt.
    pub metadata: ContainerMetadata,
    /// The image it was created from.
    pub image: ImageReference,
    /// Current state.
    pub state: ContainerState,
    /// Host pid of the process while running.
    pub pid: Option<u32>,
    /// Exit code once exited.
    pub exit_code: Option<i32>,
    /// When it was created.
    pub created_at: SystemTime,
    /// When its process started.
    pub started_at: Option<SystemTime>,
    /// When its process exited.
    pub finished_at: Option<SystemTime>,
    /// Why it exited.
    pub reason: Option<ExitReason>,
    /// A human-readable detail of the state, e.g. the start error.
    pub message: Option<String>,
    /// Absolute path of its log file.
    pub log_path: PathBuf,
    /// Labels given at creation.
    pub labels: BTreeMap<String, String>,
    /// Annotations given at creation.
    pub annotations: BTreeMap<String, String>,
}

/// Which containers [`list_containers`](super::RuntimeService::list_containers) returns;
/// unset fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerFilter {
    /// Only this container.
    pub id: Option<ContainerId>,
    /// Only containers of this sandbox.
    pub sandbox_id: Option<SandboxId>,
    /// Only containers in this state.
    pub state: Option<ContainerState>,
    /// Only containers carrying all of these labels.
    pub labels: BTreeMap<String, String>,
}

impl ContainerFilter {
    /// Whether `status` passes the filter.
    pub fn matches(&self, status: &ContainerStatus) -> bool {
        self.id.as_ref().is_none_or(|id| *id == status.id)
            && self
                .sandbox_id
                .as_ref()
                .is_none_or(|id| *id == status.sandbox_id)
            && self.state.is_none_or(|s| s == status.state)
            && labels_match(&self.labels, &status.labels)
    }
}

/// The outcome of a command run with [`exec_sync`](super::RuntimeService::exec_sync).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecResult {
    /// Everything the command wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything the command wrote to stderr.
    pub stderr: Vec<u8>,
    /// Its exit code.
    pub exit_code: i32,
}
