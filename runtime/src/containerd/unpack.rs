//! Layers applied into snapshots through containerd's diff service, one committed snapshot
//! per chain id, reusing those that already exist.

use std::collections::HashMap;

use containerd_client::services::v1::snapshots::{
    CommitSnapshotRequest, PrepareSnapshotRequest, RemoveSnapshotRequest, StatSnapshotRequest,
};
use containerd_client::services::v1::ApplyRequest;
use containerd_client::types::{Descriptor, Mount};

use crate::reference::Digest;
use crate::service::{Call, ServiceError};

use super::content::Blob;
use super::lease::{random_hex, Lease};
use super::status::{backend, is_already_exists, is_not_found, OrBackend};
use super::Connection;

/// Label containerd's unpacker puts on layer snapshots: the chain id they are committed as.
pub(crate) const LABEL_SNAPSHOT_REF: &str = "containerd.io/snapshot.ref";

/// Why a layer could not be unpacked although containerd answered every call.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UnpackError {
    /// The diff service applied a layer whose uncompressed digest is not the config's.
    #[error("layer {layer} unpacked to {applied}, but the image config says {diff_id}")]
    DiffIdMismatch {
        /// The layer blob.
        layer: Digest,
        /// The config's `rootfs.diff_ids` entry.
        diff_id: Digest,
        /// What the diff service reported.
        applied: String,
    },
}

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
    let diff_ids: Vec<Digest> = layers.iter().map(|l| l.diff_id.clone()).collect();
    let chains = chain_ids(&diff_ids);
    let mut parent: Option<&Digest> = None;
    for (layer, chain_id) in layers.iter().zip(&chains) {
        if committed(conn, call, snapshotter, chain_id).await? {
            tracing::debug!(chain_id = %chain_id, "layer already unpacked");
        } else {
            apply_layer(conn, call, lease, snapshotter, layer, chain_id, parent).await?;
        }
        parent = Some(chain_id);
    }
    parent.cloned().ok_or_else(|| ServiceError::Backend {
        call,
        source: "image has no layers".into(),
    })
}

/// Whether a snapshot named `chain_id` exists.
async fn committed(
    conn: &Connection,
    call: Call,
    snapshotter: &str,
    chain_id: &Digest,
) -> Result<bool, ServiceError> {
    let stat = conn
        .snapshots()
        .stat(conn.request(StatSnapshotRequest {
            snapshotter: snapshotter.to_string(),
            key: chain_id.to_string(),
        }))
        .await;
    match stat {
        Ok(_) => Ok(true),
        Err(status) if is_not_found(&status) => Ok(false),
        Err(status) => Err(backend(call, status)),
    }
}

/// Prepare, apply, commit as `chain_id`; the prepared snapshot is removed on any failure.
async fn apply_layer(
    conn: &Connection,
    call: Call,
    lease: &Lease,
    snapshotter: &str,
    layer: &Layer,
    chain_id: &Digest,
    parent: Option<&Digest>,
) -> Result<(), ServiceError> {
    let key = extract_key(&random_hex(16), chain_id);
    let mounts = conn
        .snapshots()
        .prepare(conn.leased(
            PrepareSnapshotRequest {
                snapshotter: snapshotter.to_string(),
                key: key.clone(),
                parent: parent.map(ToString::to_string).unwrap_or_default(),
                labels: snapshot_labels(chain_id),
            },
            lease.id(),
        ))
        .await
        .or_backend(call)?
        .into_inner()
        .mounts;
    let result = apply_and_commit(
        conn,
        call,
        lease,
        snapshotter,
        layer,
        chain_id,
        &key,
        mounts,
    )
    .await;
    if !matches!(result, Ok(Committed::Here)) {
        let removed = conn
            .snapshots()
            .remove(conn.request(RemoveSnapshotRequest {
                snapshotter: snapshotter.to_string(),
                key: key.clone(),
            }))
            .await;
        if let Some(status) = removed.as_ref().err().filter(|s| !is_not_found(s)) {
            tracing::warn!(key, error = %status, "prepared snapshot not removed");
        }
    }
    result.map(|_| ())
}

/// Who committed the snapshot named after the chain id.
enum Committed {
    /// This unpack; the prepared key became the committed snapshot.
    Here,
    /// A concurrent unpack; the prepared key is still there.
    ByOther,
}

/// Applies the layer onto the prepared `mounts` and commits it as `chain_id`.
#[allow(clippy::too_many_arguments)]
async fn apply_and_commit(
    conn: &Connection,
    call: Call,
    lease: &Lease,
    snapshotter: &str,
    layer: &Layer,
    chain_id: &Digest,
    key: &str,
    mounts: Vec<Mount>,
) -> Result<Committed, ServiceError> {
    let applied = conn
        .diff()
        .apply(conn.request(apply_request(&layer.blob, mounts)))
        .await
        .or_backend(call)?
        .into_inner()
        .applied
        .map(|d| d.digest)
        .unwrap_or_default();
    if applied != layer.diff_id.to_string() {
        return Err(ServiceError::Backend {
            call,
            source: Box::new(UnpackError::DiffIdMismatch {
                layer: layer.blob.digest.clone(),
                diff_id: layer.diff_id.clone(),
                applied,
            }),
        });
    }
    let commit = conn
        .snapshots()
        .commit(conn.leased(
            CommitSnapshotRequest {
                snapshotter: snapshotter.to_string(),
                name: chain_id.to_string(),
                key: key.to_string(),
                labels: snapshot_labels(chain_id),
            },
            lease.id(),
        ))
        .await;
    match commit {
        Ok(_) => {
            tracing::debug!(chain_id = %chain_id, layer = %layer.blob.digest, "layer unpacked");
            Ok(Committed::Here)
        }
        // Another unpack of the same layer committed first: its snapshot serves as well.
        Err(status) if is_already_exists(&status) => {
            tracing::debug!(chain_id = %chain_id, "layer unpacked concurrently");
            Ok(Committed::ByOther)
        }
        Err(status) => Err(backend(call, status)),
    }
}

/// The active snapshot key a layer is extracted into: containerd's `extract-<unique> <chain id>`.
fn extract_key(unique: &str, chain_id: &Digest) -> String {
    format!("extract-{unique} {chain_id}")
}

/// Labels of layer snapshots, as containerd's unpacker sets them.
fn snapshot_labels(chain_id: &Digest) -> HashMap<String, String> {
    HashMap::from([(LABEL_SNAPSHOT_REF.to_string(), chain_id.to_string())])
}

/// The diff service request applying `blob` onto `mounts`.
fn apply_request(blob: &Blob, mounts: Vec<Mount>) -> ApplyRequest {
    ApplyRequest {
        diff: Some(Descriptor {
            media_type: blob.media_type.clone(),
            digest: blob.digest.to_string(),
            size: blob.size as i64,
            annotations: HashMap::new(),
        }),
        mounts,
        payloads: HashMap::new(),
        sync_fs: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(s: &str) -> Digest {
        Digest::sha256_of(s.as_bytes())
    }

    #[test]
    fn chain_id_of_one_layer_is_its_diff_id_and_later_ones_hash_the_parent() {
        let (a, b) = (digest("a"), digest("b"));
        let chains = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(chains[0], a);
        assert_eq!(chains[1], Digest::sha256_of(format!("{a} {b}").as_bytes()));
        assert!(chain_ids(&[]).is_empty());
    }

    #[test]
    fn extract_key_has_containerds_form() {
        let chain = digest("a");
        assert_eq!(extract_key("00ff", &chain), format!("extract-00ff {chain}"));
    }

    #[test]
    fn snapshots_are_labelled_with_their_chain_id() {
        let chain = digest("a");
        let labels = snapshot_labels(&chain);
        assert_eq!(labels.get(LABEL_SNAPSHOT_REF), Some(&chain.to_string()));
    }

    #[test]
    fn apply_request_describes_the_layer_blob() {
        let blob = Blob {
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
            digest: digest("layer"),
            size: 42,
        };
        let request = apply_request(&blob, vec![]);
        let desc = request.diff.unwrap();
        assert_eq!(desc.media_type, blob.media_type);
        assert_eq!(desc.digest, blob.digest.to_string());
        assert_eq!(desc.size, 42);
    }
}
