//! [`ImageService`] over containerd: pulls with `oci-client`, tarball imports, image records.

mod import;
mod pull;
pub(crate) mod record;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

use crate::reference::ImageReference;
use crate::service::{ArchiveFormat, ImageInfo, ImageService, RegistryAuth, ServiceError};

use super::{Connection, ContainerdConfig};

/// Images in one containerd namespace.
#[derive(Clone)]
pub struct ContainerdImages {
    pub(crate) conn: Connection,
    pub(crate) config: Arc<ContainerdConfig>,
    pub(crate) pulls: Arc<pull::InFlight>,
}

impl ContainerdImages {
    pub(crate) fn new(conn: Connection, config: Arc<ContainerdConfig>) -> Self {
        Self {
            conn,
            config,
            pulls: Arc::default(),
        }
    }
}

#[async_trait]
impl ImageService for ContainerdImages {
    async fn pull(
        &self,
        reference: &ImageReference,
        auth: Option<&RegistryAuth>,
    ) -> Result<ImageInfo, ServiceError> {
        pull::pull(self, reference, auth).await
    }

    async fn import(
        &self,
        tarball: &Path,
        format: ArchiveFormat,
    ) -> Result<Vec<ImageInfo>, ServiceError> {
        import::import(self, tarball, format).await
    }

    async fn list(&self) -> Result<Vec<ImageInfo>, ServiceError> {
        record::list(self).await
    }

    async fn status(&self, reference: &ImageReference) -> Result<Option<ImageInfo>, ServiceError> {
        record::status(self, reference).await
    }

    async fn remove(&self, reference: &ImageReference) -> Result<(), ServiceError> {
        record::remove(self, reference).await
    }
}
