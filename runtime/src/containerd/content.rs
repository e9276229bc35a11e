//! containerd's content store: blobs written under a lease, verified, labelled for GC.

use std::collections::BTreeMap;

use crate::reference::Digest;
use crate::service::{Call, ServiceError};

use super::lease::Lease;
use super::Connection;

/// A blob's OCI descriptor: media type, digest and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Blob {
    /// Media type, e.g. `application/vnd.oci.image.layer.v1.tar+gzip`.
    pub media_type: String,
    /// Content digest.
    pub digest: Digest,
    /// Size in bytes.
    pub size: u64,
}

/// The size of the blob when the content store has it.
pub(crate) async fn exists(
    conn: &Connection,
    call: Call,
    digest: &Digest,
) -> Result<Option<u64>, ServiceError> {
    let _ = (conn, call, digest);
    unimplemented!("content::exists")
}

/// Writes `data` as `blob` under `lease`, verifying digest and size, with `labels` (GC refs);
/// a blob already present only gets the labels.
pub(crate) async fn write_bytes(
    conn: &Connection,
    call: Call,
    lease: &Lease,
    blob: &Blob,
    labels: &BTreeMap<String, String>,
    data: Vec<u8>,
) -> Result<(), ServiceError> {
    let _ = (conn, call, lease, blob, labels, data);
    unimplemented!("content::write_bytes")
}

/// Reads a whole blob (manifests and configs; not meant for layers).
pub(crate) async fn read_all(
    conn: &Connection,
    call: Call,
    digest: &Digest,
) -> Result<Vec<u8>, ServiceError> {
    let _ = (conn, call, digest);
    unimplemented!("content::read_all")
}
