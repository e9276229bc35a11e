//! The CRI-shaped services the kubelet drives pods through: [`ImageService`] (pull, import,
//! list, status, remove) and [`RuntimeService`] (sandboxes, containers, exec, events), over
//! Skiff's own types rather than the CRI's protobuf messages, plus a recording fake of both.
//!
//! Both traits use `#[async_trait]` (methods return `Pin<Box<dyn Future + Send>>`) rather than
//! native `async fn` in traits: the kubelet holds them as `Arc<dyn RuntimeService>` and
//! `Arc<dyn ImageService>`, and native async trait methods are not object safe. One boxed
//! future per call is noise next to a gRPC round trip to containerd.
//!
//! The fakes ([`FakeRuntime`], [`FakeImages`]) keep the same state rules as the containerd
//! implementation, record every call, fail on request and emit events; they are part of the
//! public API so other crates' unit tests can pass them in.

mod container;
mod error;
mod events;
mod fake;
mod image;
mod pod;
mod runtime;

pub use container::{
    ContainerConfig, ContainerFilter, ContainerId, ContainerMetadata, ContainerState,
    ContainerStatus, ExecResult, ExitReason,
};
pub use error::{Call, ObjectKind, ServiceError};
pub use events::{EventHub, EventStreamError, RuntimeEvent, RuntimeEvents, EVENT_BUFFER};
pub use fake::{FakeImages, FakeRuntime, RecordedCall};
pub use image::{
    ArchiveFormat, ExposedPort, ImageConfig, ImageInfo, ImageService, PortProtocol, RegistryAuth,
};
pub use pod::{
    SandboxConfig, SandboxFilter, SandboxId, SandboxMetadata, SandboxState, SandboxStatus,
};
pub use runtime::RuntimeService;
