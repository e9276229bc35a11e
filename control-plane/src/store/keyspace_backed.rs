//! The `Store` of a backend built on the in-memory keyspace: reads, watches and compaction are
//! served from the keyspace; the backend only says how a write is carried out.

use async_trait::async_trait;

use super::batch::{Change, WriteOp};
use super::mvcc::Keyspace;
use super::{KeyValue, ListOptions, ListResult, Result, Revision, Store, WatchStream};

/// A backend serving from a keyspace and writing by its own path (direct or through a file).
#[async_trait]
pub(crate) trait KeyspaceBacked: Send + Sync + 'static {
    /// The keyspace reads and watches are served from.
    fn keyspace(&self) -> &Keyspace;

    /// Carries out one write; the change is in the keyspace when this returns `Ok`.
    async fn write(&self, op: WriteOp) -> Result<Change>;
}

#[async_trait]
impl<T: KeyspaceBacked> Store for T {
    async fn get(&self, key: &str) -> Result<(Option<KeyValue>, Revision)> {
        Ok(self.keyspace().get(key))
    }

    async fn list(&self, opts: ListOptions) -> Result<ListResult> {
        self.keyspace().list(&opts)
    }

    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue> {
        let op = WriteOp::Create {
            key: key.to_owned(),
            value,
        };
        Ok(self.write(op).await?.returned())
    }

    async fn update(&self, key: &str, value: Vec<u8>, expected: Revision) -> Result<KeyValue> {
        let op = WriteOp::Update {
            key: key.to_owned(),
            value,
            expected,
        };
        Ok(self.write(op).await?.returned())
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(KeyValue, Revision)> {
        let op = WriteOp::Delete {
            key: key.to_owned(),
            expected,
        };
        let change = self.write(op).await?;
        Ok((change.returned(), change.revision))
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        self.keyspace().watch(prefix, after)
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        self.keyspace().compact(revision)
    }

    fn current_revision(&self) -> Revision {
        self.keyspace().current_revision()
    }

    fn oldest_revision(&self) -> Revision {
        self.keyspace().oldest_revision()
    }
}
