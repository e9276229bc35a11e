//! What the image and runtime services report, mapped from containerd and registry errors.

use std::fmt;
use std::time::Duration;

use crate::spec::SpecError;

/// One operation of [`ImageService`](super::ImageService) or
/// [`RuntimeService`](super::RuntimeService); names the step an error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Call {
    /// `ImageService::pull`.
    PullImage,
    /// `ImageService::import`.
    ImportImages,
    /// `ImageService::list`.
    ListImages,
    /// `ImageService::status`.
    ImageStatus,
    /// `ImageService::remove`.
    RemoveImage,
    /// `RuntimeService::create_sandbox`.
    CreateSandbox,
    /// `RuntimeService::stop_sandbox`.
    StopSandbox,
    /// `RuntimeService::remove_sandbox`.
    RemoveSandbox,
    /// `RuntimeService::sandbox_status`.
    SandboxStatus,
    /// `RuntimeService::list_sandboxes`.
    ListSandboxes,
    /// `RuntimeService::create_container`.
    CreateContainer,
    /// `RuntimeService::start_container`.
    StartContainer,
    /// `RuntimeService::stop_container`.
    StopContainer,
    /// `RuntimeService::remove_container`.
    RemoveContainer,
    /// `RuntimeService::container_status`.
    ContainerStatus,
    /// `RuntimeService::list_containers`.
    ListContainers,
    /// `RuntimeService::exec_sync`.
    ExecSync,
    /// `RuntimeService::events`.
    Events,
}

impl Call {
    /// The CRI-style name of the operation, e.g. `StartContainer`.
    pub fn name(self) -> &'static str {
        match self {
            Call::PullImage => "PullImage",
            Call::ImportImages => "ImportImages",
            Call::ListImages => "ListImages",
            Call::ImageStatus => "ImageStatus",
            Call::RemoveImage => "RemoveImage",
            Call::CreateSandbox => "CreateSandbox",
            Call::StopSandbox => "StopSandbox",
            Call::RemoveSandbox => "RemoveSandbox",
            Call::SandboxStatus => "SandboxStatus",
            Call::ListSandboxes => "ListSandboxes",
            Call::CreateContainer => "CreateContainer",
            Call::StartContainer => "StartContainer",
            Call::StopContainer => "StopContainer",
            Call::RemoveContainer => "RemoveContainer",
            Call::ContainerStatus => "ContainerStatus",
            Call::ListContainers => "ListContainers",
            Call::ExecSync => "ExecSync",
            Call::Events => "Events",
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kind of object an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// A pod sandbox.
    Sandbox,
    /// A container.
    Container,
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectKind::Sandbox => "sandbox",
            ObjectKind::Container => "container",
        })
    }
}

/// An error of the image or runtime service; each variant maps to one gRPC status a CRI
/// server would send (NotFound, Unavailable, Unauthenticated, AlreadyExists, ...).
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The registry or the local store has no such image (NotFound).
    #[error("image {reference} not found")]
    ImageNotFound {
        /// The reference asked for.
        reference: String,
    },
    /// The registry could not be reached (Unavailable); retrying may help.
    #[error("registry {registry} unreachable")]
    RegistryUnreachable {
        /// Registry host.
        registry: String,
        /// The connection or protocol failure.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The registry refused the credentials, or asked for some and none were given.
    #[error("registry {registry} refused the credentials for {reference}")]
    Unauthorized {
        /// Registry host.
        registry: String,
        /// The reference asked for.
        reference: String,
    },
    /// A sandbox with the same pod uid, namespace, name and attempt exists (AlreadyExists).
    #[error("sandbox {name} already exists as {existing}")]
    SandboxExists {
        /// The sandbox's unique name.
        name: String,
        /// Id of the existing sandbox.
        existing: String,
    },
    /// A container with the same name and attempt exists in the sandbox (AlreadyExists).
    #[error("container {name} already exists as {existing}")]
    ContainerExists {
        /// The container's unique name.
        name: String,
        /// Id of the existing container.
        existing: String,
    },
    /// No sandbox or container has this id (NotFound).
    #[error("{kind} {id} not found")]
    NotFound {
        /// Sandbox or container.
        kind: ObjectKind,
        /// The id asked for.
        id: String,
    },
    /// The object exists but its state does not allow the operation (FailedPrecondition).
    #[error("{call} on {kind} {id}: not allowed while {state}")]
    WrongState {
        /// The refused operation.
        call: Call,
        /// Sandbox or container.
        kind: ObjectKind,
        /// The object's id.
        id: String,
        /// Its current state, e.g. `exited` or `not ready`.
        state: &'static str,
    },
    /// A config value is invalid (InvalidArgument); names the field.
    #[error("invalid config: {field}: {reason}")]
    InvalidConfig {
        /// The offending field, e.g. `metadata.name` or `spec.mounts[2].destination`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The container spec cannot become an OCI spec (InvalidArgument).
    #[error("invalid container spec")]
    InvalidSpec(#[from] SpecError),
    /// The operation did not finish in time (DeadlineExceeded).
    #[error("{call} timed out after {after:?}")]
    Timeout {
        /// The operation that timed out.
        call: Call,
        /// How long it was given.
        after: Duration,
    },
    /// containerd (or another backend) failed the step (Internal or Unknown).
    #[error("{call} failed in the backend")]
    Backend {
        /// The operation that failed.
        call: Call,
        /// The backend's error, e.g. a gRPC status.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl ServiceError {
    /// Whether retrying the same call later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ServiceError::RegistryUnreachable { .. } | ServiceError::Timeout { .. }
        )
    }

    /// Whether the error says the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            ServiceError::NotFound { .. } | ServiceError::ImageNotFound { .. }
        )
    }
}
