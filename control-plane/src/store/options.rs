//! Tunables shared by every store backend.

/// Bounds of a store's in-memory history and watch buffers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Most events kept for watch replay and past-revision reads; older ones are compacted.
    pub history_events: usize,
    /// Most value bytes the history may hold (new versions only); older events are compacted.
    pub history_bytes: usize,
    /// Events a watcher may have queued beyond its replay before it is cut off.
    pub watch_buffer: usize,
}

impl Default for StoreOptions {
    /// 10 000 events or 32 MiB of history and 1 024 queued events per watcher: enough for a
    /// relisting client to resume after a short disconnect while keeping the idle RSS small.
    fn default() -> Self {
        StoreOptions {
            history_events: 10_000,
            history_bytes: 32 << 20,
            watch_buffer: 1024,
        }
    }
}
