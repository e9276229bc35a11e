//! Pulls from OCI and Docker registries with `oci-client`.

use crate::reference::ImageReference;
use crate::service::{ImageInfo, RegistryAuth, ServiceError};

use super::ContainerdImages;

/// Pulls in progress, so concurrent pulls of one image share a download.
#[derive(Default)]
pub(crate) struct InFlight {}

/// Pulls `reference` into containerd and unpacks it.
pub(crate) async fn pull(
    images: &ContainerdImages,
    reference: &ImageReference,
    auth: Option<&RegistryAuth>,
) -> Result<ImageInfo, ServiceError> {
    let _ = (images, reference, auth);
    unimplemented!("pull")
}
