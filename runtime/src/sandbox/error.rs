//! Typed errors of pod namespace pinning.

use super::NsKind;
use std::fmt;
use std::path::PathBuf;

/// A kernel or filesystem operation the pinning code performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// Creating the run dir and making it a shared mount point.
    PrepareRunDir,
    /// Creating the pod's directory.
    CreateDir,
    /// Creating an empty file to bind a namespace onto.
    CreateFile,
    /// Starting the thread that creates the namespaces.
    SpawnThread,
    /// Creating new namespaces with `unshare(2)`.
    Unshare,
    /// Setting the hostname inside the new uts namespace.
    SetHostname,
    /// Bind-mounting a namespace file onto its pin.
    BindMount,
    /// Detaching a pin's mount.
    Unmount,
    /// Deleting a pin file.
    RemoveFile,
    /// Deleting the pod's directory.
    RemoveDir,
    /// Listing the run dir.
    ListRunDir,
    /// Reading `/proc/self/mountinfo`.
    ReadMountTable,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::PrepareRunDir => "make shared run dir",
            Op::CreateDir => "create directory",
            Op::CreateFile => "create pin file",
            Op::SpawnThread => "spawn namespace thread",
            Op::Unshare => "unshare namespaces",
            Op::SetHostname => "set hostname",
            Op::BindMount => "bind-mount namespace onto",
            Op::Unmount => "unmount",
            Op::RemoveFile => "remove file",
            Op::RemoveDir => "remove directory",
            Op::ListRunDir => "list run dir",
            Op::ReadMountTable => "read mount table",
        })
    }
}

/// One failed operation on one path.
#[derive(Debug, thiserror::Error)]
#[error("{op} {}", path.display())]
pub struct StepError {
    /// What was being done.
    pub op: Op,
    /// The path it was done to.
    pub path: PathBuf,
    /// The kernel's answer.
    #[source]
    pub source: std::io::Error,
}

impl StepError {
    /// Builds a step error from an operation, a path and an I/O error.
    pub fn new(op: Op, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self {
            op,
            path: path.into(),
            source,
        }
    }
}

/// Formats a list of step errors with their causes, for errors that carry several.
struct StepList<'a>(&'a [StepError]);

impl fmt::Display for StepList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}: {}", e.source)?;
        }
        Ok(())
    }
}

/// Why pinning, loading or removing pod namespaces failed.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The pod id cannot be used as a directory name.
    #[error("invalid pod id {0:?}: must be 1-255 bytes of [A-Za-z0-9._-], not `.` or `..`")]
    InvalidPodId(String),
    /// The hostname is empty, longer than 64 bytes or contains a NUL byte.
    #[error("invalid hostname {0:?}: must be 1-64 bytes without NUL")]
    InvalidHostname(String),
    /// The pod already has a directory under the run dir; remove it first.
    #[error("namespaces of pod {pod} already exist at {}", path.display())]
    AlreadyExists {
        /// The pod id.
        pod: String,
        /// The pod's directory.
        path: PathBuf,
    },
    /// A single operation failed (while creating, or while listing/loading).
    #[error("pod {pod}")]
    Step {
        /// The pod id (empty when the step concerns the whole run dir).
        pod: String,
        /// The failed operation.
        #[source]
        source: StepError,
    },
    /// A pin is missing or is not an nsfs mount.
    #[error("{kind} namespace of pod {pod} is not pinned at {}", path.display())]
    NotPinned {
        /// The pod id.
        pod: String,
        /// The namespace type.
        kind: NsKind,
        /// Where the pin should be.
        path: PathBuf,
    },
    /// Creating failed and undoing the partial work failed too; what is listed is left behind.
    #[error("{cause}; undoing it also failed: {}", StepList(undo))]
    UndoFailed {
        /// Why creating failed.
        cause: Box<SandboxError>,
        /// Every undo step that failed.
        undo: Vec<StepError>,
    },
    /// Removal ran every step and these failed; the listed paths may be left behind.
    #[error("removing namespaces of pod {pod} failed: {}", StepList(errors))]
    Teardown {
        /// The pod id.
        pod: String,
        /// Every step that failed.
        errors: Vec<StepError>,
    },
}
