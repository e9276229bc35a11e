//! The single writer of the embedded store: group commit on a dedicated thread.
//!
//! Callers queue write requests. The committer takes every request waiting (up to a batch
//! bound), checks them in order against the state plus the earlier writes of the batch, writes
//! the accepted ones in one redb transaction, fsyncs, and only then applies them to the
//! keyspace and answers each caller. Many concurrent writers therefore share one fsync, and
//! reads and watches only ever see durable data.

use std::path::{Path, PathBuf};
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
    serve(&keyspace, &requests, &path, |changes| {
        tables::commit_changes(&db, changes)
    });
}

/// The committer loop with the durable step as `commit` (redb outside tests).
fn serve<E: std::fmt::Display>(
    keyspace: &Keyspace,
    requests: &Receiver<Request>,
    path: &Path,
    mut commit: impl FnMut(&[Change]) -> std::result::Result<(), E>,
) {
    while let Ok(first) = requests.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match requests.try_recv() {
                Ok(request) => batch.push(request),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        commit_batch(keyspace, batch, path, &mut commit);
    }
}

fn commit_batch<E: std::fmt::Display>(
    keyspace: &Keyspace,
    batch: Vec<Request>,
    path: &Path,
    commit: &mut impl FnMut(&[Change]) -> std::result::Result<(), E>,
) {
    let (ops, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|r| (r.op, r.reply)).unzip();
    let mut outcomes = keyspace.plan(ops);
    let accepted: Vec<Change> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok())
        .cloned()
        .collect();
    if let Err(error) = commit(&accepted) {
        tracing::error!(
            path = %path.display(),
            writes = accepted.len(),
            %error,
            "store commit failed; the writes were not applied"
        );
        // Every answer of the batch fails: a refusal (AlreadyExists, Conflict, NotFound) may
        // have been decided against an earlier write of the batch that was not applied.
        let message = error.to_string();
        for outcome in &mut outcomes {
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::mpsc;

    use super::*;
    use crate::store::StoreOptions;

    fn create(key: &str) -> (Request, oneshot::Receiver<Result<Change>>) {
        let (reply, outcome) = oneshot::channel();
        let op = WriteOp::Create {
            key: key.into(),
            value: b"v".to_vec(),
        };
        (Request { op, reply }, outcome)
    }

    fn empty_keyspace() -> Keyspace {
        Keyspace::new(&StoreOptions::default(), BTreeMap::new(), 0)
    }

    #[test]
    fn a_failed_commit_fails_every_caller_of_the_batch_and_leaves_memory_untouched() {
        let keyspace = empty_keyspace();
        let (first, first_outcome) = create("/a");
        // Refused only because of the first write, which the failed commit did not apply.
        let (second, second_outcome) = create("/a");
        let mut commit = |_: &[Change]| Err("disk full");
        commit_batch(&keyspace, vec![first, second], Path::new("t"), &mut commit);
        for outcome in [first_outcome, second_outcome] {
            let err = outcome.blocking_recv().unwrap().unwrap_err();
            assert!(
                matches!(err, StoreError::Backend(ref m) if m == "disk full"),
                "{err}"
            );
        }
        assert_eq!(keyspace.get("/a"), (None, 0));
    }

    #[test]
    fn a_panicking_committer_answers_waiting_and_later_writers_with_an_error() {
        let (requests, queue) = mpsc::channel();
        let committer = std::thread::spawn(move || {
            let keyspace = empty_keyspace();
            serve(&keyspace, &queue, Path::new("t"), |_: &[Change]| {
                panic!("commit step failed");
                #[allow(unreachable_code)]
                Ok::<(), &str>(())
            });
        });
        let (waiting, waiting_outcome) = create("/a");
        requests.send(waiting).unwrap();
        assert!(waiting_outcome.blocking_recv().is_err());
        assert!(committer.join().is_err());
        let (later, _) = create("/b");
        assert!(requests.send(later).is_err());
    }
}
