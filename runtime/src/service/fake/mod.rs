//! Recording in-memory fakes of [`ImageService`](super::ImageService) and
//! [`RuntimeService`](super::RuntimeService) for unit tests of their callers.

mod images;
mod lifecycle;
mod runtime;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::Duration;

pub use images::FakeImages;
pub use runtime::FakeRuntime;

use super::{
    ArchiveFormat, Call, ContainerFilter, ContainerId, ContainerMetadata, RegistryAuth,
    SandboxFilter, SandboxId, SandboxMetadata, ServiceError,
};
use crate::reference::ImageReference;

/// One call a fake received, with the arguments that matter for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordedCall {
    /// `pull(reference, auth)`.
    PullImage {
        /// The reference pulled.
        reference: ImageReference,
        /// The credentials given.
        auth: Option<RegistryAuth>,
    },
    /// `import(tarball, format)`.
    ImportImages {
        /// The tarball path.
        tarball: PathBuf,
        /// Its format.
        format: ArchiveFormat,
    },
    /// `list()` of images.
    ListImages,
    /// `status(reference)` of an image.
    ImageStatus(ImageReference),
    /// `remove(reference)` of an image.
    RemoveImage(ImageReference),
    /// `create_sandbox(config)`.
    CreateSandbox(SandboxMetadata),
    /// `stop_sandbox(id)`.
    StopSandbox(SandboxId),
    /// `remove_sandbox(id)`.
    RemoveSandbox(SandboxId),
    /// `sandbox_status(id)`.
    SandboxStatus(SandboxId),
    /// `list_sandboxes(filter)`.
    ListSandboxes(SandboxFilter),
    /// `create_container(sandbox, config)`.
    CreateContainer {
        /// The sandbox.
        sandbox: SandboxId,
        /// Name and attempt of the container.
        metadata: ContainerMetadata,
    },
    /// `start_container(id)`.
    StartContainer(ContainerId),
    /// `stop_container(id, grace)`.
    StopContainer {
        /// The container.
        id: ContainerId,
        /// The grace period given.
        grace: Duration,
    },
    /// `remove_container(id)`.
    RemoveContainer(ContainerId),
    /// `container_status(id)`.
    ContainerStatus(ContainerId),
    /// `list_containers(filter)`.
    ListContainers(ContainerFilter),
    /// `exec_sync(id, cmd, timeout)`.
    ExecSync {
        /// The container.
        id: ContainerId,
        /// The command.
        cmd: Vec<String>,
        /// The timeout given.
        timeout: Duration,
    },
    /// `events()`.
    Events,
}

impl RecordedCall {
    /// Which operation this was.
    pub fn call(&self) -> Call {
        match self {
            RecordedCall::PullImage { .. } => Call::PullImage,
            RecordedCall::ImportImages { .. } => Call::ImportImages,
            RecordedCall::ListImages => Call::ListImages,
            RecordedCall::ImageStatus(_) => Call::ImageStatus,
            RecordedCall::RemoveImage(_) => Call::RemoveImage,
            RecordedCall::CreateSandbox(_) => Call::CreateSandbox,
            RecordedCall::StopSandbox(_) => Call::StopSandbox,
            RecordedCall::RemoveSandbox(_) => Call::RemoveSandbox,
            RecordedCall::SandboxStatus(_) => Call::SandboxStatus,
            RecordedCall::ListSandboxes(_) => Call::ListSandboxes,
            RecordedCall::CreateContainer { .. } => Call::CreateContainer,
            RecordedCall::StartContainer(_) => Call::StartContainer,
            RecordedCall::StopContainer { .. } => Call::StopContainer,
            RecordedCall::RemoveContainer(_) => Call::RemoveContainer,
            RecordedCall::ContainerStatus(_) => Call::ContainerStatus,
            RecordedCall::ListContainers(_) => Call::ListContainers,
            RecordedCall::ExecSync { .. } => Call::ExecSync,
            RecordedCall::Events => Call::Events,
        }
    }
}

/// The call log and the scripted failures of one fake.
#[derive(Debug, Default)]
struct Script {
    calls: Vec<RecordedCall>,
    failures: HashMap<Call, VecDeque<ServiceError>>,
}

impl Script {
    /// Logs the call, then hands out the next failure scripted for it, if any.
    fn record(&mut self, call: RecordedCall) -> Result<(), ServiceError> {
        let kind = call.call();
        self.calls.push(call);
        match self.failures.get_mut(&kind).and_then(VecDeque::pop_front) {
            Some(error) => {
                tracing::debug!(call = %kind, %error, "scripted failure");
                Err(error)
            }
            None => Ok(()),
        }
    }

    fn fail_next(&mut self, call: Call, error: ServiceError) {
        self.failures.entry(call).or_default().push_back(error);
    }
}
