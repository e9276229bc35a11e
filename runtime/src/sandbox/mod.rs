//! Pod sandboxes without a pause container: a pod's net, ipc and uts namespaces are created
//! once and pinned as bind-mounted nsfs files under a run dir (default `/run/skiff/netns`),
//! `<run_dir>/<pod_id>/{net,ipc,uts}`. Containers join them through their OCI spec; the pins
//! outlive the process that made them and are found again after a restart with `load`.
//!
//! The run dir is made a shared-propagation mount point first (as CNI's netns helpers and
//! containerd do) so pins made in one mount namespace are visible in its peers. The new
//! namespaces are created on a dedicated thread, so the caller's namespaces never change.
//! Networking is left alone: not even `lo` is brought up; that is the CNI plugin's job.

mod error;
mod layout;
mod mountinfo;
mod ops;
mod pinner;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

pub use error::{Op, SandboxError, StepError};
pub use layout::DEFAULT_RUN_DIR;
pub use ops::{HostNamespaceOps, NamespaceOps, PinFailure};
pub use pinner::NamespacePinner;

use nix::sched::CloneFlags;
use std::fmt;
use std::path::{Path, PathBuf};

/// A namespace type a pod shares between its containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NsKind {
    /// Network: interfaces, addresses, routes, ports.
    Net,
    /// System V IPC and POSIX message queues.
    Ipc,
    /// Hostname and domain name.
    Uts,
}

impl NsKind {
    /// Every kind a pod pins, in pin order.
    pub const ALL: [NsKind; 3] = [NsKind::Net, NsKind::Ipc, NsKind::Uts];

    /// The name used in `/proc/<tid>/ns/` and for the pin file.
    pub fn name(self) -> &'static str {
        match self {
            NsKind::Net => "net",
            NsKind::Ipc => "ipc",
            NsKind::Uts => "uts",
        }
    }

    /// The `unshare(2)`/`setns(2)` flag of this kind.
    pub fn clone_flag(self) -> CloneFlags {
        match self {
            NsKind::Net => CloneFlags::CLONE_NEWNET,
            NsKind::Ipc => CloneFlags::CLONE_NEWIPC,
            NsKind::Uts => CloneFlags::CLONE_NEWUTS,
        }
    }
}

impl fmt::Display for NsKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The pinned namespaces of one pod: the paths containers join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedNamespaces {
    /// The pod id (the directory name under the run dir).
    pub pod_id: String,
    /// The run dir the pins live under (canonical).
    pub run_dir: PathBuf,
    /// The pod's directory, `<run_dir>/<pod_id>`.
    pub dir: PathBuf,
    /// The network namespace pin (what CNI gets as `CNI_NETNS`).
    pub net: PathBuf,
    /// The ipc namespace pin.
    pub ipc: PathBuf,
    /// The uts namespace pin.
    pub uts: PathBuf,
}

impl PinnedNamespaces {
    /// The pins of `pod_id` under `run_dir` (paths only; nothing is checked).
    pub(crate) fn at(run_dir: &Path, pod_id: &str) -> Self {
        Self {
            pod_id: pod_id.to_string(),
            run_dir: run_dir.to_path_buf(),
            dir: layout::pod_dir(run_dir, pod_id),
            net: layout::pin_path(run_dir, pod_id, NsKind::Net),
            ipc: layout::pin_path(run_dir, pod_id, NsKind::Ipc),
            uts: layout::pin_path(run_dir, pod_id, NsKind::Uts),
        }
    }

    /// The pin of one namespace kind.
    pub fn path(&self, kind: NsKind) -> &Path {
        match kind {
            NsKind::Net => &self.net,
            NsKind::Ipc => &self.ipc,
            NsKind::Uts => &self.uts,
        }
    }

    /// Unmounts and deletes these pins (see [`PodNamespaces::remove`]).
    pub fn remove(&self) -> Result<(), SandboxError> {
        PodNamespaces::remove(&self.run_dir, &self.pod_id)
    }
}

/// A pod directory found under the run dir whose pins are not all nsfs mounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenPod {
    /// The pod id.
    pub pod_id: String,
    /// The kinds whose pin is missing or not mounted.
    pub missing: Vec<NsKind>,
}

/// What `load_all` found under the run dir.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Pods with all three pins mounted, by pod id.
    pub pinned: Vec<PinnedNamespaces>,
    /// Pods with a directory but missing pins; remove them.
    pub broken: Vec<BrokenPod>,
}

/// Pinned pod namespaces on this host (the kernel through [`HostNamespaceOps`]).
#[derive(Debug, Clone, Copy)]
pub struct PodNamespaces;

impl PodNamespaces {
    /// Creates and pins new net, ipc and uts namespaces for `pod_id` with `hostname` set.
    pub fn create(
        run_dir: &Path,
        pod_id: &str,
        hostname: &str,
    ) -> Result<PinnedNamespaces, SandboxError> {
        NamespacePinner::new(run_dir, HostNamespaceOps).create(pod_id, hostname)
    }

    /// Unmounts (detaching) and deletes a pod's pins and directory; missing is fine.
    pub fn remove(run_dir: &Path, pod_id: &str) -> Result<(), SandboxError> {
        NamespacePinner::new(run_dir, HostNamespaceOps).remove(pod_id)
    }

    /// Finds the pins of one pod, checking each is an nsfs mount.
    pub fn load(run_dir: &Path, pod_id: &str) -> Result<PinnedNamespaces, SandboxError> {
        NamespacePinner::new(run_dir, HostNamespaceOps).load(pod_id)
    }

    /// Finds every pod's pins under the run dir (after a restart).
    pub fn load_all(run_dir: &Path) -> Result<LoadReport, SandboxError> {
        NamespacePinner::new(run_dir, HostNamespaceOps).load_all()
    }

    /// Creates the run dir and makes it a shared mount point; returns its canonical path.
    /// `create` does this itself; call it early to share pins with later mount namespaces.
    pub fn prepare_run_dir(run_dir: &Path) -> Result<PathBuf, SandboxError> {
        NamespacePinner::new(run_dir, HostNamespaceOps).prepare_run_dir()
    }
}
