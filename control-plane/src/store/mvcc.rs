//! The in-memory keyspace every backend serves reads and watches from.
//!
//! One lock guards the current state, the revision, the history and the watchers, so a watch
//! registered from a past revision replays history and joins live delivery atomically: no event
//! is missed or delivered twice. Backends decide when a change is applied here; the embedded
//! backend applies only what is already durable.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use tokio::sync::mpsc;

use super::batch::{Change, Planner, WriteOp};
use super::history::History;
use super::range::{list_at, list_latest};
use super::watchers::Watchers;
use super::{
    KeyValue, ListOptions, ListResult, Result, Revision, StoreError, StoreOptions, WatchStream,
};

struct Inner {
    state: BTreeMap<String, Arc<KeyValue>>,
    revision: Revision,
    history: History,
    watchers: Watchers,
}

impl Inner {
    fn apply(&mut self, change: Change) {
        match change.after() {
            Some(kv) => {
                self.state.insert(kv.key.clone(), Arc::clone(kv));
            }
            None => {
                self.state.remove(change.key());
            }
        }
        self.revision = change.revision;
        self.watchers.dispatch(&change);
        self.history.push(change);
    }
}

/// Current state, revision, bounded history and watchers behind one lock.
pub(crate) struct Keyspace {
    inner: RwLock<Inner>,
    watch_buffer: usize,
}

impl Keyspace {
    /// A keyspace holding `state` at `revision`, with no history before it.
    pub fn new(
        opts: &StoreOptions,
        state: BTreeMap<String, Arc<KeyValue>>,
        revision: Revision,
    ) -> Self {
        Keyspace {
            inner: RwLock::new(Inner {
                state,
                revision,
                history: History::new(revision, opts.history_events, opts.history_bytes),
                watchers: Watchers::default(),
            }),
            watch_buffer: opts.watch_buffer,
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads one key and the current revision.
    pub fn get(&self, key: &str) -> (Option<KeyValue>, Revision) {
        let inner = self.read();
        (
            inner.state.get(key).map(|kv| KeyValue::clone(kv)),
            inner.revision,
        )
    }

    /// Lists a prefix at the latest or a past revision.
    pub fn list(&self, opts: &ListOptions) -> Result<ListResult> {
        let inner = self.read();
        match opts.revision {
            None | Some(0) => Ok(list_latest(&inner.state, opts, inner.revision)),
            Some(at) if at == inner.revision => Ok(list_latest(&inner.state, opts, at)),
            Some(at) => {
                check_readable(&inner, at)?;
                Ok(list_at(&inner.state, inner.history.since(at), opts, at))
            }
        }
    }

    /// Replays history after `after` for `prefix`, then delivers live changes.
    pub fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        let mut inner = self.write();
        let replay: Vec<_> = if after == 0 {
            Vec::new()
        } else {
            check_readable(&inner, after)?;
            inner
                .history
                .since(after)
                .filter(|change| change.key().starts_with(prefix))
                .map(Change::to_event)
                .collect()
        };
        let (tx, rx) = mpsc::channel(replay.len() + self.watch_buffer + 1);
        for event in replay {
            // Cannot fail: the channel has room for the whole replay.
            let _ = tx.try_send(Ok(event));
        }
        inner.watchers.add(prefix, tx);
        Ok(WatchStream { events: rx })
    }

    /// Drops history up to and including `revision`.
    pub fn compact(&self, revision: Revision) -> Result<()> {
        let mut inner = self.write();
        if revision > inner.revision {
            return Err(StoreError::FutureRevision {
                requested: revision,
                current: inner.revision,
            });
        }
        inner.history.compact(revision);
        Ok(())
    }

    /// Checks and applies one write atomically (for backends where memory is the record).
    pub fn execute(&self, op: WriteOp) -> Result<Change> {
        let mut inner = self.write();
        let change = Planner::new(&inner.state, inner.revision).stage(op)?;
        inner.apply(change.clone());
        Ok(change)
    }

    /// Checks a batch of writes in order without applying them. Only the backend's single
    /// writer may call this, then [`Keyspace::apply`] with the accepted changes.
    pub fn plan(&self, ops: Vec<WriteOp>) -> Vec<Result<Change>> {
        let inner = self.read();
        let mut planner = Planner::new(&inner.state, inner.revision);
        ops.into_iter().map(|op| planner.stage(op)).collect()
    }

    /// Applies accepted changes in order, making them visible to reads and watches.
    pub fn apply(&self, changes: impl IntoIterator<Item = Change>) {
        let mut inner = self.write();
        for change in changes {
            inner.apply(change);
        }
    }

    /// The last write's revision.
    pub fn current_revision(&self) -> Revision {
        self.read().revision
    }

    /// The oldest revision a watch or past read may start from.
    pub fn oldest_revision(&self) -> Revision {
        self.read().history.compacted()
    }

    /// How many watches are registered.
    pub fn watch_count(&self) -> usize {
        self.read().watchers.len()
    }
}

fn check_readable(inner: &Inner, at: Revision) -> Result<()> {
    if at > inner.revision {
        return Err(StoreError::FutureRevision {
            requested: at,
            current: inner.revision,
        });
    }
    let oldest = inner.history.compacted();
    if at < oldest {
        return Err(StoreError::Compacted {
            requested: at,
            oldest,
        });
    }
    Ok(())
}
