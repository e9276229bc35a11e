//! The storage seam: a key-value store with etcd's semantics.
//!
//! One global revision counts every write. Each key carries the revision that created it and
//! the revision that last modified it; updates and deletes may be conditioned on the latter
//! (compare-and-swap). Watches replay a bounded history of events from a given revision; a
//! revision older than that history is answered with [`StoreError::Compacted`], which the API
//! server turns into a 410 `Expired` status so clients relist.

use async_trait::async_trait;

mod batch;
pub mod conformance;
pub mod embedded;
mod history;
mod keyspace_backed;
pub mod memory;
mod mvcc;
mod options;
mod range;
mod watchers;

pub use embedded::{measure_raw_write_rate, EmbeddedStore};
pub use memory::MemoryStore;
pub use options::StoreOptions;

/// A store revision: `0` means "none" / "latest" depending on context; real revisions start at 1.
pub type Revision = i64;

/// One stored key with its value and revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// Full key, e.g. `/registry/pods/default/web-0`.
    pub key: String,
    /// Serialized object (JSON bytes for the API server).
    pub value: Vec<u8>,
    /// Revision of the write that created this key (unchanged by updates).
    pub create_revision: Revision,
    /// Revision of the last write to this key.
    pub mod_revision: Revision,
}

/// What happened to a key in one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Created or updated (`prev` tells which).
    Put,
    /// Deleted.
    Delete,
}

/// One change, as delivered to watchers and kept in the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Put or delete.
    pub kind: EventKind,
    /// For a put, the new key-value. For a delete, the deleted key-value with `mod_revision`
    /// set to the revision of the delete (its value is the last value the key had).
    pub kv: KeyValue,
    /// The key-value before this event (`None` for a create).
    pub prev: Option<KeyValue>,
}

impl Event {
    /// The revision at which this event happened.
    pub fn revision(&self) -> Revision {
        self.kv.mod_revision
    }
}

/// A range read over all keys starting with `prefix`, in key order.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// Keys must start with this prefix.
    pub prefix: String,
    /// Only keys strictly greater than this (a continue token's last key).
    pub start_after: Option<String>,
    /// At most this many keys (`None` = all).
    pub limit: Option<usize>,
    /// Read the state as of this revision (`None` = latest). Older than the history: `Compacted`.
    pub revision: Option<Revision>,
}

/// The answer to a range read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListResult {
    /// Matching keys in key order.
    pub kvs: Vec<KeyValue>,
    /// The revision the read was served at.
    pub revision: Revision,
    /// Whether more keys match beyond `limit`.
    pub more: bool,
    /// How many matching keys were left out because of `limit`.
    pub remaining: usize,
}

/// Errors a store reports. The API server maps each to a Kubernetes `Status`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Create of a key that exists.
    #[error("key {key} already exists")]
    AlreadyExists {
        /// The key.
        key: String,
    },
    /// Update or delete of a key that does not exist.
    #[error("key {key} not found")]
    NotFound {
        /// The key.
        key: String,
    },
    /// Compare-and-swap failed: the key's mod revision is not the expected one.
    #[error("key {key} was modified: expected revision {expected}, current {current}")]
    Conflict {
        /// The key.
        key: String,
        /// The revision the caller expected.
        expected: Revision,
        /// The key's current mod revision.
        current: Revision,
    },
    /// The requested revision is older than the kept history.
    #[error("revision {requested} has been compacted; oldest available is {oldest}")]
    Compacted {
        /// The revision asked for.
        requested: Revision,
        /// The oldest revision still served.
        oldest: Revision,
    },
    /// The requested revision is newer than the store's current revision.
    #[error("revision {requested} is in the future; current is {current}")]
    FutureRevision {
        /// The revision asked for.
        requested: Revision,
        /// The current revision.
        current: Revision,
    },
    /// A watcher fell too far behind and was cut off; it must re-watch from its last revision.
    #[error("watch fell behind and was closed")]
    WatchOverflow,
    /// The backend failed (I/O, corruption); the write was not applied.
    #[error("storage backend failed: {0}")]
    Backend(String),
    /// The store is shutting down.
    #[error("store is closed")]
    Closed,
}

/// `Result` with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A stream of events for one watch. Dropping it cancels the watch.
pub struct WatchStream {
    /// Events in revision order. An `Err` (e.g. `WatchOverflow`) is the last item.
    pub events: tokio::sync::mpsc::Receiver<Result<Event>>,
}

/// A key-value store with etcd's semantics. Every successful write returns only once it is
/// durable (for durable backends) and visible to reads and watches.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Reads one key. Returns the key (if present) and the current revision.
    async fn get(&self, key: &str) -> Result<(Option<KeyValue>, Revision)>;

    /// Reads a range of keys by prefix, optionally at a past revision, with paging.
    async fn list(&self, opts: ListOptions) -> Result<ListResult>;

    /// Creates `key` if absent; `AlreadyExists` otherwise. Returns the stored key-value.
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue>;

    /// Replaces `key` if its mod revision equals `expected` (`Conflict` otherwise, `NotFound`
    /// if absent). Returns the stored key-value.
    async fn update(&self, key: &str, value: Vec<u8>, expected: Revision) -> Result<KeyValue>;

    /// Deletes `key`, if `expected` is given only when its mod revision equals it. Returns the
    /// deleted key-value and the revision of the delete.
    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(KeyValue, Revision)>;

    /// Watches keys under `prefix` for events with revision strictly greater than `after`
    /// (`after == 0`: from now on). `after` older than the history: `Compacted`.
    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream>;

    /// Drops history up to and including `revision`.
    async fn compact(&self, revision: Revision) -> Result<()>;

    /// The current revision (the last write's).
    fn current_revision(&self) -> Revision;

    /// The oldest revision a watch or past read may start from.
    fn oldest_revision(&self) -> Revision;
}
