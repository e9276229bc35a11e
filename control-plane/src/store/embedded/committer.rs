//! The single writer of the embedded store: group commit on a dedicated thread.
//!
//! Callers queue write requests. The committer takes every request waiting (up to a batch
//! bound), checks them in order against the state plus the earlier writes of the batch, writes
//! the accepted ones in one redb transaction, fsyncs, and only then applies them to the
//! keyspace and answers each caller. Many concurrent writers therefore share one fsync, and
//! reads and watches only ever see durable data.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;

use redb::Database;
use tokio::sync::oneshot;

use crate::store::batch::{Change, WriteOp};
use crate::store::mvcc::Keyspace;
use crate::store::{Result, StoreError};

use super::tables;

/// Most requests committed in one transaction.
const MAX_BATCH: usize = 1024;

/// One queued write and where to send its outcome.
pub(super) struct Request {
    /// The write.
    pub op: WriteOp,
    /// Receives the accepted change or why it was refused.
    pub reply: oneshot::Sender<Result<Change>>,
}

/// Runs until every sender of `requests` is gone.
pub(super) fn run(
    db: Database,
    keyspace: Arc<Keyspace>,
    requests: Receiver<Request>,
    path: PathBuf,
) {
    while let Ok(first) = requests.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match requests.try_recv() {
                Ok(request) => batch.push(request),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        commit_batch(&db, &keyspace, batch, &path);
    }
}

fn commit_batch(db: &Database, keyspace: &Keyspace, batch: Vec<Request>, path: &std::path::Path) {
    let (ops, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|r| (r.op, r.reply)).unzip();
    let mut outcomes = keyspace.plan(ops);
    let accepted: Vec<Change> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok())
        .cloned()
        .collect();
    if let Err(error) = tables::commit_changes(db, &accepted) {
        tracing::error!(
            path = %path.display(),
            writes = accepted.len(),
            %error,
            "store commit failed; the writes were not applied"
        );
        let message = error.to_string();
        for outcome in outcomes.iter_mut().filter(|o| o.is_ok()) {
            *outcome = Err(StoreError::Backend(message.clone()));
        }
    } else {
        keyspace.apply(accepted);
    }
    for (reply, outcome) in replies.into_iter().zip(outcomes) {
        // A caller that stopped waiting no longer needs its answer; the write stands.
        let _ = reply.send(outcome);
    }
}
