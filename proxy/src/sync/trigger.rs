//! The signal from the watchers to the sync loop: "something changed". Signals that arrive
//! while a sync is pending coalesce into one.

use std::sync::Arc;

use tokio::sync::Notify;

/// A cloneable change signal.
#[derive(Debug, Clone, Default)]
pub struct SyncTrigger(Arc<Notify>);

impl SyncTrigger {
    /// Asks for a sync; cheap, never blocks, repeated calls before the sync count once.
    pub fn notify(&self) {
        self.0.notify_one();
    }

    /// Waits for the next signal.
    pub async fn changed(&self) {
        self.0.notified().await;
    }
}
