//! Pod sandbox types: what the kubelet asks for and what the runtime reports.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::SystemTime;

use crate::sandbox::PinnedNamespaces;

/// The runtime's id of a pod sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SandboxId(String);

impl SandboxId {
    /// Wraps an id the runtime handed out.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SandboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who a sandbox belongs to; with `attempt` it names the sandbox uniquely.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SandboxMetadata {
    /// The pod's uid.
    pub pod_uid: String,
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub name: String,
    /// How many sandboxes this pod had before this one.
    pub attempt: u32,
}

impl SandboxMetadata {
    /// The unique name `name_namespace_uid_attempt`, as containerd's CRI plugin reserves it.
    pub fn unique_name(&self) -> String {
        format!(
            "{}_{}_{}_{}",
            self.name, self.namespace, self.pod_uid, self.attempt
        )
    }
}

/// What the kubelet asks for when creating a pod sandbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxConfig {
    /// Pod uid, namespace, name and attempt.
    pub metadata: SandboxMetadata,
    /// Hostname set once in the pod's UTS namespace.
    pub hostname: String,
    /// Directory the pod's container logs go under.
    pub log_directory: PathBuf,
    /// Labels, stored with the sandbox and matched by [`SandboxFilter`].
    pub labels: BTreeMap<String, String>,
    /// Annotations, stored with the sandbox.
    pub annotations: BTreeMap<String, String>,
    /// cgroup parent of the pod's containers, when not the runtime's default.
    pub cgroup_parent: Option<String>,
}

/// Whether a sandbox can run containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SandboxState {
    /// Namespaces are pinned; containers may be created.
    Ready,
    /// Stopped (or broken); only removal is left.
    NotReady,
}

impl SandboxState {
    /// Lower-case name for messages.
    pub fn name(self) -> &'static str {
        match self {
            SandboxState::Ready => "ready",
            SandboxState::NotReady => "not ready",
        }
    }
}

/// The runtime's view of one sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxStatus {
    /// The sandbox id.
    pub id: SandboxId,
    /// Pod uid, namespace, name and attempt.
    pub metadata: SandboxMetadata,
    /// Ready or not.
    pub state: SandboxState,
    /// When it was created.
    pub created_at: SystemTime,
    /// The pinned namespaces containers join; `None` once stopped.
    pub namespaces: Option<PinnedNamespaces>,
    /// The hostname of the pod.
    pub hostname: String,
    /// The pod's log directory.
    pub log_directory: PathBuf,
    /// cgroup parent given at creation.
    pub cgroup_parent: Option<String>,
    /// Labels given at creation.
    pub labels: BTreeMap<String, String>,
    /// Annotations given at creation.
    pub annotations: BTreeMap<String, String>,
}

/// Which sandboxes [`list_sandboxes`](super::RuntimeService::list_sandboxes) returns; unset
/// fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxFilter {
    /// Only this sandbox.
    pub id: Option<SandboxId>,
    /// Only sandboxes in this state.
    pub state: Option<SandboxState>,
    /// Only sandboxes carrying all of these labels.
    pub labels: BTreeMap<String, String>,
}

impl SandboxFilter {
    /// Whether `status` passes the filter.
    pub fn matches(&self, status: &SandboxStatus) -> bool {
        self.id.as_ref().is_none_or(|id| *id == status.id)
            && self.state.is_none_or(|s| s == status.state)
            && labels_match(&self.labels, &status.labels)
    }
}

/// Whether every selector label is present with the same value.
pub(crate) fn labels_match(
    selector: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}
