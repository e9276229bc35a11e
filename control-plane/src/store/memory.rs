//! The memory backend: the keyspace alone, for tests and throwaway servers.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::batch::{Change, WriteOp};
use super::keyspace_backed::KeyspaceBacked;
use super::mvcc::Keyspace;
use super::{Result, StoreOptions};

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
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl KeyspaceBacked for MemoryStore {
    fn keyspace(&self) -> &Keyspace {
        &self.keyspace
    }

    async fn write(&self, op: WriteOp) -> Result<Change> {
        self.keyspace.execute(op)
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
