//! The memory backend: the keyspace alone, for tests and throwaway servers.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::batch::WriteOp;
use super::mvcc::Keyspace;
use super::{
    KeyValue, ListOptions, ListResult, Result, Revision, Store, StoreOptions, WatchStream,
};

/// A store that keeps everything in memory and loses it on drop.
pub struct MemoryStore {
    keyspace: Keyspace,
}

impl MemoryStore {
    /// An empty store with default bounds.
    pub fn new() -> Self {
        Self::with_options(StoreOptions::default())
    }

    /// An empty store with the given history and watch bounds.
    pub fn with_options(opts: StoreOptions) -> Self {
        MemoryStore {
            keyspace: Keyspace::new(&opts, BTreeMap::new(), 0),
        }
    }

    /// How many watches are registered.
    pub fn watch_count(&self) -> usize {
        self.keyspace.watch_count()
    }

    fn put(&self, op: WriteOp) -> Result<KeyValue> {
        let change = self.keyspace.execute(op)?;
        Ok(change.returned())
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn get(&self, key: &str) -> Result<(Option<KeyValue>, Revision)> {
        Ok(self.keyspace.get(key))
    }

    async fn list(&self, opts: ListOptions) -> Result<ListResult> {
        self.keyspace.list(&opts)
    }

    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue> {
        self.put(WriteOp::Create {
            key: key.to_owned(),
            value,
        })
    }

    async fn update(&self, key: &str, value: Vec<u8>, expected: Revision) -> Result<KeyValue> {
        self.put(WriteOp::Update {
            key: key.to_owned(),
            value,
            expected,
        })
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(KeyValue, Revision)> {
        let change = self.keyspace.execute(WriteOp::Delete {
            key: key.to_owned(),
            expected,
        })?;
        Ok((change.returned(), change.revision))
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        self.keyspace.watch(prefix, after)
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        self.keyspace.compact(revision)
    }

    fn current_revision(&self) -> Revision {
        self.keyspace.current_revision()
    }

    fn oldest_revision(&self) -> Revision {
        self.keyspace.oldest_revision()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::MemoryStore;
    use crate::store::{Store, StoreOptions};

    fn memory_stores() -> impl Fn(StoreOptions) -> Arc<dyn Store> {
        |opts| Arc::new(MemoryStore::with_options(opts))
    }

    crate::store_conformance_tests!(memory_stores);
}
