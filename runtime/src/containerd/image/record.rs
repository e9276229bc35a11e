//! Image records: creating them once content is written and unpacked, listing, status, removal.

use crate::reference::{Digest, ImageReference};
use crate::service::{Call, ImageInfo, ServiceError};

use super::super::content::Blob;
use super::super::Connection;
use super::ContainerdImages;

/// An image ready to run: what the image service reports and the snapshot to start from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The image as the image service reports it.
    pub info: ImageInfo,
    /// The top chain id: the committed snapshot a container's rootfs is prepared from.
    pub chain_id: Digest,
}

/// Finds the image record `reference` (or one with its digest) and the snapshot it unpacked
/// to; `None` when the image is absent. Images imported by `ctr` resolve too.
pub(crate) async fn resolve(
    conn: &Connection,
    call: Call,
    reference: &ImageReference,
) -> Result<Option<Resolved>, ServiceError> {
    let _ = (conn, call, reference);
    unimplemented!("record::resolve")
}

/// Creates or updates the image record `reference` pointing at the manifest `target`, and
/// returns what the image service reports for it. The manifest, its config and layers must be
/// in the content store and unpacked.
pub(crate) async fn put(
    images: &ContainerdImages,
    call: Call,
    reference: &ImageReference,
    target: &Blob,
) -> Result<ImageInfo, ServiceError> {
    let _ = (images, call, reference, target);
    unimplemented!("record::put")
}

/// All images, sorted by reference.
pub(crate) async fn list(images: &ContainerdImages) -> Result<Vec<ImageInfo>, ServiceError> {
    let _ = images;
    unimplemented!("record::list")
}

/// The image stored under `reference` (or with its digest), if any.
pub(crate) async fn status(
    images: &ContainerdImages,
    reference: &ImageReference,
) -> Result<Option<ImageInfo>, ServiceError> {
    let _ = (images, reference);
    unimplemented!("record::status")
}

/// Removes the image record; its content and snapshots are collected by containerd's GC.
pub(crate) async fn remove(
    images: &ContainerdImages,
    reference: &ImageReference,
) -> Result<(), ServiceError> {
    let _ = (images, reference);
    unimplemented!("record::remove")
}
