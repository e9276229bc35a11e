//! Imports of OCI-layout and docker-archive tarballs.

use std::path::Path;

use crate::service::{ArchiveFormat, ImageInfo, ServiceError};

use super::ContainerdImages;

/// Imports every image of `tarball`.
pub(crate) async fn import(
    images: &ContainerdImages,
    tarball: &Path,
    format: ArchiveFormat,
) -> Result<Vec<ImageInfo>, ServiceError> {
    let _ = (images, tarball, format);
    unimplemented!("import")
}
