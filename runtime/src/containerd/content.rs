//! containerd's content store: blobs written under a lease, verified, labelled for GC.

use std::collections::{BTreeMap, HashMap};

use containerd_client::services::v1::content_client::ContentClient;
use containerd_client::services::v1::{
    AbortRequest, Info, InfoRequest, ReadContentRequest, UpdateRequest, WriteAction,
    WriteContentRequest, WriteContentResponse,
};
use futures::channel::mpsc;
use futures::{SinkExt, Stream, StreamExt};
use tonic::transport::Channel;

use crate::reference::Digest;
use crate::service::{Call, ServiceError};

use super::lease::{random_hex, Lease};
use super::status::{backend, is_already_exists, is_not_found, OrBackend};
use super::Connection;

/// Bytes sent per write message (containerd's own clients use 1 MiB).
pub(crate) const WRITE_CHUNK: usize = 1 << 20;

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

/// What a write did: stored the blob, or found it already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    /// The blob was written and committed.
    Stored,
    /// The blob was already in the store; only its labels were set.
    Existed,
}

/// The size of the blob when the content store has it.
pub(crate) async fn exists(
    conn: &Connection,
    call: Call,
    digest: &Digest,
) -> Result<Option<u64>, ServiceError> {
    let info = conn
        .content()
        .info(conn.request(InfoRequest {
            digest: digest.to_string(),
        }))
        .await;
    match info {
        Ok(response) => Ok(response
            .into_inner()
            .info
            .map(|info| u64::try_from(info.size).unwrap_or(0))),
        Err(status) if is_not_found(&status) => Ok(None),
        Err(status) => Err(backend(call, status)),
    }
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
    let chunks: Vec<Result<Vec<u8>, ServiceError>> =
        data.chunks(WRITE_CHUNK).map(|c| Ok(c.to_vec())).collect();
    write_stream(
        conn,
        call,
        lease,
        blob,
        labels,
        futures::stream::iter(chunks),
    )
    .await?;
    Ok(())
}

/// Writes the chunks of `source` as `blob` under `lease` (any chunk sizes; re-cut into
/// [`WRITE_CHUNK`] messages), committed with the expected digest and size and with `labels`.
/// A blob already present only gets the labels. An error item of `source` aborts the write
/// and is returned as is; nothing of the partial write is left.
pub(crate) async fn write_stream<S, B>(
    conn: &Connection,
    call: Call,
    lease: &Lease,
    blob: &Blob,
    labels: &BTreeMap<String, String>,
    source: S,
) -> Result<Written, ServiceError>
where
    S: Stream<Item = Result<B, ServiceError>> + Send,
    B: AsRef<[u8]> + Send + Sync,
{
    let reference = format!("skiff-{}-{}", blob.digest, random_hex(8));
    let written = match write_session(conn, lease, blob, labels, &reference, source).await {
        Ok(()) => Written::Stored,
        Err(WriteFailure::Status(status)) if is_already_exists(&status) => Written::Existed,
        Err(failure) => {
            abort(conn, &reference).await;
            return Err(match failure {
                WriteFailure::Status(status) => backend(call, status),
                WriteFailure::Source(error) => error,
            });
        }
    };
    if written == Written::Existed {
        abort(conn, &reference).await;
        lease
            .hold_content(conn, call, &blob.digest.to_string())
            .await?;
        set_labels(conn, call, &blob.digest, labels).await?;
    }
    tracing::debug!(digest = %blob.digest, size = blob.size, ?written, "blob in content store");
    Ok(written)
}

/// Sets `labels` on a blob in the store, leaving its other labels alone.
pub(crate) async fn set_labels(
    conn: &Connection,
    call: Call,
    digest: &Digest,
    labels: &BTreeMap<String, String>,
) -> Result<(), ServiceError> {
    if labels.is_empty() {
        return Ok(());
    }
    conn.content()
        .update(conn.request(label_update(digest, labels)))
        .await
        .or_backend(call)?;
    Ok(())
}

/// Reads a whole blob (manifests and configs; not meant for layers).
pub(crate) async fn read_all(
    conn: &Connection,
    call: Call,
    digest: &Digest,
) -> Result<Vec<u8>, ServiceError> {
    let mut stream = conn
        .content()
        .read(conn.request(ReadContentRequest {
            digest: digest.to_string(),
            offset: 0,
            size: 0,
        }))
        .await
        .or_backend(call)?
        .into_inner();
    let mut data = Vec::new();
    while let Some(chunk) = stream.next().await {
        data.extend_from_slice(&chunk.or_backend(call)?.data);
    }
    Ok(data)
}

/// An update of `digest` that sets exactly `labels` (field mask `labels.<key>` per key).
fn label_update(digest: &Digest, labels: &BTreeMap<String, String>) -> UpdateRequest {
    UpdateRequest {
        info: Some(Info {
            digest: digest.to_string(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<HashMap<_, _>>(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: labels.keys().map(|k| format!("labels.{k}")).collect(),
        }),
    }
}

/// The message writing `data` at `offset`; a commit carries the labels.
fn write_message(
    reference: &str,
    blob: &Blob,
    action: WriteAction,
    offset: u64,
    data: Vec<u8>,
    labels: &BTreeMap<String, String>,
) -> WriteContentRequest {
    WriteContentRequest {
        action: action as i32,
        r#ref: reference.to_string(),
        total: blob.size as i64,
        expected: blob.digest.to_string(),
        offset: offset as i64,
        data,
        labels: if action == WriteAction::Commit {
            labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        } else {
            HashMap::new()
        },
    }
}

enum WriteFailure {
    Status(tonic::Status),
    Source(ServiceError),
}

/// One write session: each message is answered before the next is sent (containerd's
/// content writer protocol), the last one commits.
async fn write_session<S, B>(
    conn: &Connection,
    lease: &Lease,
    blob: &Blob,
    labels: &BTreeMap<String, String>,
    reference: &str,
    source: S,
) -> Result<(), WriteFailure>
where
    S: Stream<Item = Result<B, ServiceError>> + Send,
    B: AsRef<[u8]> + Send + Sync,
{
    let mut source = std::pin::pin!(source);
    let mut buffer: Vec<u8> = Vec::with_capacity(WRITE_CHUNK.min(blob.size as usize));
    let mut offset: u64 = 0;
    let mut session: Option<Session> = None;
    loop {
        match source.next().await {
            Some(Ok(chunk)) => {
                let mut chunk = chunk.as_ref();
                while !chunk.is_empty() {
                    let take = (WRITE_CHUNK - buffer.len()).min(chunk.len());
                    buffer.extend_from_slice(&chunk[..take]);
                    chunk = &chunk[take..];
                    if buffer.len() == WRITE_CHUNK {
                        let data = std::mem::replace(&mut buffer, Vec::with_capacity(WRITE_CHUNK));
                        let len = data.len() as u64;
                        let message = write_message(
                            reference,
                            blob,
                            WriteAction::Write,
                            offset,
                            data,
                            labels,
                        );
                        exchange(conn, lease, &mut session, message).await?;
                        offset += len;
                    }
                }
            }
            Some(Err(error)) => return Err(WriteFailure::Source(error)),
            None => break,
        }
    }
    let message = write_message(reference, blob, WriteAction::Commit, offset, buffer, labels);
    exchange(conn, lease, &mut session, message).await?;
    Ok(())
}

/// An open write stream: where requests go and where answers come from.
struct Session {
    requests: mpsc::Sender<WriteContentRequest>,
    responses: tonic::Streaming<WriteContentResponse>,
}

/// Sends one message (opening the stream with the first) and waits for its answer.
async fn exchange(
    conn: &Connection,
    lease: &Lease,
    session: &mut Option<Session>,
    message: WriteContentRequest,
) -> Result<(), WriteFailure> {
    let closed = || WriteFailure::Status(tonic::Status::aborted("content write stream closed"));
    match session {
        Some(open) => open.requests.send(message).await.map_err(|_| closed())?,
        None => {
            let (mut requests, rx) = mpsc::channel(1);
            // Queued before the call: containerd answers the headers with the first reply.
            requests.send(message).await.map_err(|_| closed())?;
            let mut client: ContentClient<Channel> = conn.content();
            let responses = client
                .write(conn.leased(rx, lease.id()))
                .await
                .map_err(WriteFailure::Status)?
                .into_inner();
            *session = Some(Session {
                requests,
                responses,
            });
        }
    }
    let open = session.as_mut().expect("session opened above");
    match open.responses.message().await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(closed()),
        Err(status) => Err(WriteFailure::Status(status)),
    }
}

/// Drops a partial write; failures only logged (the lease's expiry collects it anyway).
async fn abort(conn: &Connection, reference: &str) {
    let aborted = conn
        .content()
        .abort(conn.request(AbortRequest {
            r#ref: reference.to_string(),
        }))
        .await;
    match aborted {
        Ok(_) => {}
        Err(status) if is_not_found(&status) => {}
        Err(status) => {
            tracing::debug!(reference, error = %status, "content write not aborted");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob() -> Blob {
        Blob {
            media_type: "application/vnd.oci.image.layer.v1.tar".into(),
            digest: Digest::sha256_of(b"abc"),
            size: 3,
        }
    }

    #[test]
    fn label_update_masks_exactly_the_given_labels() {
        let labels = BTreeMap::from([
            (
                "containerd.io/gc.ref.content.l.0".to_string(),
                "sha256:aa".to_string(),
            ),
            (
                "containerd.io/uncompressed".to_string(),
                "sha256:bb".to_string(),
            ),
        ]);
        let update = label_update(&blob().digest, &labels);
        let info = update.info.unwrap();
        assert_eq!(info.digest, blob().digest.to_string());
        assert_eq!(info.labels.len(), 2);
        assert_eq!(
            update.update_mask.unwrap().paths,
            vec![
                "labels.containerd.io/gc.ref.content.l.0",
                "labels.containerd.io/uncompressed"
            ]
        );
    }

    #[test]
    fn only_the_commit_message_carries_labels_and_every_message_names_digest_and_size() {
        let labels = BTreeMap::from([("k".to_string(), "v".to_string())]);
        let write = write_message("r", &blob(), WriteAction::Write, 0, b"ab".to_vec(), &labels);
        assert_eq!(write.action, WriteAction::Write as i32);
        assert!(write.labels.is_empty());
        assert_eq!(write.expected, blob().digest.to_string());
        assert_eq!(write.total, 3);
        let commit = write_message("r", &blob(), WriteAction::Commit, 2, b"c".to_vec(), &labels);
        assert_eq!(commit.action, WriteAction::Commit as i32);
        assert_eq!(commit.offset, 2);
        assert_eq!(commit.labels.get("k").map(String::as_str), Some("v"));
    }
}
