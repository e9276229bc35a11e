//! The embedded durable backend, the default: one redb file, every key also held in memory.
//!
//! Why redb: it is pure Rust (no C toolchain to build or ship, unlike SQLite or RocksDB), keeps
//! everything in a single file, and is a copy-on-write B-tree whose commit atomically switches
//! to the new root, so a crash at any point leaves the last committed state intact without a
//! separate write-ahead log. With `Durability::Immediate` a commit returns only after fsync.
//!
//! Writes go through one committer thread ([`committer`]) that groups whatever requests are
//! waiting into one transaction, so concurrent clients share fsyncs. Reads and watches are
//! served from the in-memory keyspace, which receives a batch only after it is durable. The
//! history is memory only: after a restart it starts empty at the stored revision, so a watch
//! from before that revision gets `Compacted` and the client relists.

mod committer;
mod raw_rate;
mod tables;

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use async_trait::async_trait;
use tokio::sync::oneshot;

use super::batch::{Change, WriteOp};
use super::keyspace_backed::KeyspaceBacked;
use super::mvcc::Keyspace;
use super::{Result, StoreError, StoreOptions};
use committer::Request;

pub use raw_rate::measure_raw_write_rate;

/// A durable store in one redb file; an acknowledged write survives a crash.
pub struct EmbeddedStore {
    keyspace: Arc<Keyspace>,
    requests: Option<mpsc::Sender<Request>>,
    committer: Option<JoinHandle<()>>,
}

/// redb page cache size.
const STORE_CACHE_BYTES: usize = 16 << 20;

impl EmbeddedStore {
    /// Opens (or creates) the store file at `path` and loads every key into memory.
    pub fn open(path: &Path, opts: StoreOptions) -> Result<Self> {
        let fail = |what: &'static str, error: String| {
            tracing::error!(path = %path.display(), %error, "{what}");
            StoreError::Backend(format!("{}: {error}", path.display()))
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| fail("cannot create the store directory", e.to_string()))?;
        }
        // Every key is also held in memory (the keyspace serves all reads), so redb's page cache
        // only has to help the committer; its default (up to 1 GiB) would grow with the data.
        let db = redb::Builder::new()
            .set_cache_size(STORE_CACHE_BYTES)
            .create(path)
            .map_err(|e| fail("cannot open the store file", e.to_string()))?;
        let loaded = tables::init_and_load(&db)
            .map_err(|e| fail("cannot load the store file", e.to_string()))?;
        tracing::info!(
            path = %path.display(),
            keys = loaded.state.len(),
            revision = loaded.revision,
            "store opened"
        );
        let keyspace = Arc::new(Keyspace::new(&opts, loaded.state, loaded.revision));
        let (requests, queue) = mpsc::channel();
        let committer = {
            let keyspace = Arc::clone(&keyspace);
            let path = PathBuf::from(path);
            std::thread::Builder::new()
                .name("store-commit".into())
                .spawn(move || committer::run(db, keyspace, queue, path))
                .map_err(|e| fail("cannot start the store committer", e.to_string()))?
        };
        Ok(EmbeddedStore {
            keyspace,
            requests: Some(requests),
            committer: Some(committer),
        })
    }

    /// How many watches are registered.
    pub fn watch_count(&self) -> usize {
        self.keyspace.watch_count()
    }
}

impl Drop for EmbeddedStore {
    /// Lets the committer finish queued writes and close the file, so it can be reopened.
    fn drop(&mut self) {
        self.requests.take();
        if let Some(committer) = self.committer.take() {
            if committer.join().is_err() {
                tracing::error!("store committer panicked");
            }
        }
    }
}

#[async_trait]
impl KeyspaceBacked for EmbeddedStore {
    fn keyspace(&self) -> &Keyspace {
        &self.keyspace
    }

    /// Queues the write for the committer and waits until it is durable.
    async fn write(&self, op: WriteOp) -> Result<Change> {
        let (reply, outcome) = oneshot::channel();
        self.requests
            .as_ref()
            .ok_or(StoreError::Closed)?
            .send(Request { op, reply })
            .map_err(|_| StoreError::Closed)?;
        outcome.await.map_err(|_| StoreError::Closed)?
    }
}

#[cfg(test)]
mod tests;
