//! The image service: pull, import, list, status and remove, over Skiff's image types.

use std::fmt;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::ServiceError;
use crate::reference::{Digest, ImageReference};

/// Credentials for one registry.
#[derive(Clone, PartialEq, Eq)]
pub enum RegistryAuth {
    /// HTTP basic auth (also used to fetch a bearer token from the registry's auth server).
    Basic {
        /// User name.
        username: String,
        /// Password or access token.
        password: String,
    },
    /// A bearer token sent as is.
    Bearer {
        /// The token.
        token: String,
    },
}

// Secrets never reach logs through `{:?}`.
impl fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryAuth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            RegistryAuth::Bearer { .. } => f
                .debug_struct("Bearer")
                .field("token", &"<redacted>")
                .finish(),
        }
    }
}

/// The layout of an image tarball given to [`ImageService::import`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// An OCI image layout (`oci-layout`, `index.json`, `blobs/`).
    OciLayout,
    /// A `docker save` archive (`manifest.json`, `repositories`).
    DockerArchive,
}

/// Transport protocol of an exposed port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PortProtocol {
    /// TCP (the default when the image says only `80`).
    #[default]
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

/// A port the image declares (`ExposedPorts` of the image config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExposedPort {
    /// Port number.
    pub port: u16,
    /// Protocol.
    pub protocol: PortProtocol,
}

/// What the image config says about running the image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageConfig {
    /// `Entrypoint`; empty when unset.
    pub entrypoint: Vec<String>,
    /// `Cmd`; empty when unset.
    pub cmd: Vec<String>,
    /// `Env`, split at the first `=`, in order.
    pub env: Vec<(String, String)>,
    /// `WorkingDir`, when set.
    pub working_dir: Option<PathBuf>,
    /// `User` as written (`uid`, `uid:gid`, `name`, `name:group`), when set.
    pub user: Option<String>,
    /// `ExposedPorts`, sorted.
    pub exposed_ports: Vec<ExposedPort>,
}

/// One image known to the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// The reference the image is stored under.
    pub reference: ImageReference,
    /// Digest of the manifest (of the platform's manifest when pulled from an index).
    pub digest: Digest,
    /// Size in bytes of the unpacked layers.
    pub size: u64,
    /// The image's run configuration.
    pub config: ImageConfig,
}

/// Images on the node, shaped like the CRI `ImageService`; object safe, held as
/// `Arc<dyn ImageService>`.
#[async_trait]
pub trait ImageService: Send + Sync {
    /// Pulls an image (resolving an index to the node's platform) and unpacks it.
    async fn pull(
        &self,
        reference: &ImageReference,
        auth: Option<&RegistryAuth>,
    ) -> Result<ImageInfo, ServiceError>;

    /// Imports every image of a tarball (air-gapped nodes).
    async fn import(
        &self,
        tarball: &Path,
        format: ArchiveFormat,
    ) -> Result<Vec<ImageInfo>, ServiceError>;

    /// All images, sorted by reference.
    async fn list(&self) -> Result<Vec<ImageInfo>, ServiceError>;

    /// The image stored under `reference` (or, for a digest reference, with that digest);
    /// `None` when absent.
    async fn status(&self, reference: &ImageReference) -> Result<Option<ImageInfo>, ServiceError>;

    /// Removes the image; removing an absent image succeeds, as in the CRI.
    async fn remove(&self, reference: &ImageReference) -> Result<(), ServiceError>;
}
