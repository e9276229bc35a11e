//! Registered watches and the delivery of changes to them.
//!
//! Delivery never blocks the writer: each watcher has a bounded channel, and a watcher whose
//! channel is full is cut off with a final [`StoreError::WatchOverflow`] item (one slot is kept
//! free for it). Its stream then ends; the API server closes that watch and the client watches
//! again from the last revision it saw (or relists if that revision has been compacted).

use tokio::sync::mpsc;

use super::batch::Change;
use super::{Event, Result, StoreError};

struct Watcher {
    prefix: String,
    events: mpsc::Sender<Result<Event>>,
}

/// Every live watch.
#[derive(Default)]
pub(crate) struct Watchers {
    watchers: Vec<Watcher>,
}

impl Watchers {
    /// Registers a watch on `prefix` whose channel keeps one slot free for the overflow error.
    pub fn add(&mut self, prefix: &str, events: mpsc::Sender<Result<Event>>) {
        self.watchers.retain(|w| !w.events.is_closed());
        self.watchers.push(Watcher {
            prefix: prefix.to_owned(),
            events,
        });
    }

    /// Sends `change` to every watch whose prefix matches; drops watches that are gone or full.
    pub fn dispatch(&mut self, change: &Change) {
        let key = change.key();
        let mut event: Option<Event> = None;
        self.watchers.retain(|watcher| {
            if !key.starts_with(&watcher.prefix) {
                return true;
            }
            if watcher.events.capacity() <= 1 {
                tracing::warn!(
                    prefix = %watcher.prefix,
                    revision = change.revision,
                    "watch fell behind and is closed; the client watches again"
                );
                let _ = watcher.events.try_send(Err(StoreError::WatchOverflow));
                return false;
            }
            let event = event.get_or_insert_with(|| change.to_event()).clone();
            watcher.events.try_send(Ok(event)).is_ok()
        });
    }

    /// How many watches are registered.
    pub fn len(&self) -> usize {
        self.watchers.len()
    }
}
