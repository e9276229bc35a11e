//! The bounded window of recent changes that watches replay and past reads roll back.
//!
//! Every revision is exactly one change, so the window always holds the changes
//! `compacted + 1 ..= current` with no gaps.

use std::collections::VecDeque;

use super::batch::Change;
use super::Revision;

/// Recent changes in revision order, bounded by count and by bytes.
pub(crate) struct History {
    changes: VecDeque<Change>,
    bytes: usize,
    compacted: Revision,
    max_changes: usize,
    max_bytes: usize,
}

impl History {
    /// An empty history whose changes up to and including `compacted` are gone.
    pub fn new(compacted: Revision, max_changes: usize, max_bytes: usize) -> Self {
        History {
            changes: VecDeque::new(),
            bytes: 0,
            compacted,
            max_changes,
            max_bytes,
        }
    }

    /// The last revision no longer kept: reads and watches may start from here on.
    pub fn compacted(&self) -> Revision {
        self.compacted
    }

    /// Appends the next change and trims the oldest ones beyond the bounds.
    pub fn push(&mut self, change: Change) {
        self.bytes += change.weight();
        self.changes.push_back(change);
        while self.changes.len() > self.max_changes || self.bytes > self.max_bytes {
            if !self.pop_oldest() {
                break;
            }
        }
    }

    /// Drops every change up to and including `revision`.
    pub fn compact(&mut self, revision: Revision) {
        while self
            .changes
            .front()
            .is_some_and(|change| change.revision <= revision)
        {
            self.pop_oldest();
        }
        self.compacted = self.compacted.max(revision);
    }

    fn pop_oldest(&mut self) -> bool {
        match self.changes.pop_front() {
            Some(change) => {
                self.bytes -= change.weight();
                self.compacted = change.revision;
                true
            }
            None => false,
        }
    }

    /// The kept changes with a revision strictly greater than `after`, oldest first.
    pub fn since(&self, after: Revision) -> impl DoubleEndedIterator<Item = &Change> {
        let start = self
            .changes
            .partition_point(|change| change.revision <= after);
        self.changes.range(start..)
    }

    /// How many changes are kept.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.changes.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::batch::Applied;
    use crate::store::KeyValue;

    fn put(revision: Revision, size: usize) -> Change {
        Change {
            revision,
            applied: Applied::Put {
                new: Arc::new(KeyValue {
                    key: format!("/k{revision}"),
                    value: vec![0; size],
                    create_revision: revision,
                    mod_revision: revision,
                }),
                prev: None,
            },
        }
    }

    #[test]
    fn oldest_changes_are_dropped_beyond_the_count_bound() {
        let mut history = History::new(0, 3, usize::MAX);
        for revision in 1..=5 {
            history.push(put(revision, 1));
        }
        assert_eq!(history.len(), 3);
        assert_eq!(history.compacted(), 2);
        let kept: Vec<_> = history.since(0).map(|c| c.revision).collect();
        assert_eq!(kept, [3, 4, 5]);
    }

    #[test]
    fn oldest_changes_are_dropped_beyond_the_byte_bound() {
        let mut history = History::new(0, usize::MAX, 1000);
        for revision in 1..=4 {
            history.push(put(revision, 400));
        }
        assert_eq!(history.compacted(), 2);
        assert_eq!(
            history.since(3).map(|c| c.revision).collect::<Vec<_>>(),
            [4]
        );
    }

    #[test]
    fn compact_moves_the_oldest_revision_forward() {
        let mut history = History::new(0, 10, usize::MAX);
        for revision in 1..=4 {
            history.push(put(revision, 1));
        }
        history.compact(2);
        assert_eq!(history.compacted(), 2);
        assert_eq!(history.len(), 2);
    }
}
