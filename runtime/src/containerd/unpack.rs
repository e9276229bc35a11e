//! Layers applied into snapshots through containerd's diff service, one committed snapshot
//! per chain id, reusing those that already exist.

use crate::reference::Digest;
use crate::service::{Call, ServiceError};

use super::content::Blob;
use super::lease::Lease;
use super::Connection;

/// One layer to unpack: its blob in the content store and its uncompressed digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layer {
    /// The (possibly compressed) layer blob.
    pub blob: Blob,
    /// The digest of the uncompressed tar (the config's `rootfs.diff_ids` entry).
    pub diff_id: Digest,
}

/// The chain ids of a stack of diff ids (OCI image spec: `sha256(parent + " " + diff_id)`).
pub(crate) fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for diff_id in diff_ids {
        let next = match out.last() {
            None => diff_id.clone(),
            Some(parent) => Digest::sha256_of(format!("{parent} {diff_id}").as_bytes()),
        };
        out.push(next);
    }
    out
}

/// Unpacks `layers` (bottom first) into committed snapshots of `snapshotter` under `lease`;
/// returns the top chain id (the snapshot containers are prepared from).
pub(crate) async fn unpack(
    conn: &Connection,
    call: Call,
    lease: &Lease,
    snapshotter: &str,
    layers: &[Layer],
) -> Result<Digest, ServiceError> {
    let _ = (conn, call, lease, snapshotter, layers);
    unimplemented!("unpack::unpack")
}
