//! Checking writes against the current state: the pure step every backend shares.
//!
//! A [`Planner`] sees the committed state plus the writes it has already accepted, so a batch of
//! writes checked one after the other behaves exactly like the same writes applied one by one.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::{Event, EventKind, KeyValue, Result, Revision, StoreError};

/// One write as a caller asked for it.
#[derive(Debug, Clone)]
pub(crate) enum WriteOp {
    /// Create if absent.
    Create { key: String, value: Vec<u8> },
    /// Replace if the mod revision matches.
    Update {
        key: String,
        value: Vec<u8>,
        expected: Revision,
    },
    /// Delete, optionally only at a given mod revision.
    Delete {
        key: String,
        expected: Option<Revision>,
    },
}

/// One accepted write: what it changed and at which revision. The unit of history.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    /// The revision this write was given.
    pub revision: Revision,
    /// What the write did.
    pub applied: Applied,
}

/// The effect of one accepted write.
#[derive(Debug, Clone)]
pub(crate) enum Applied {
    /// Created (`prev` is `None`) or replaced a key.
    Put {
        new: Arc<KeyValue>,
        prev: Option<Arc<KeyValue>>,
    },
    /// Deleted a key whose last version was `last`.
    Delete { last: Arc<KeyValue> },
}

impl Change {
    /// The key this change touched.
    pub fn key(&self) -> &str {
        match &self.applied {
            Applied::Put { new, .. } => &new.key,
            Applied::Delete { last } => &last.key,
        }
    }

    /// The key-value after the change (`None` after a delete).
    pub fn after(&self) -> Option<&Arc<KeyValue>> {
        match &self.applied {
            Applied::Put { new, .. } => Some(new),
            Applied::Delete { .. } => None,
        }
    }

    /// The key-value before the change (`None` before a create).
    pub fn before(&self) -> Option<&Arc<KeyValue>> {
        match &self.applied {
            Applied::Put { prev, .. } => prev.as_ref(),
            Applied::Delete { last } => Some(last),
        }
    }

    /// What the writer gets back: the new key-value of a put, the deleted one of a delete.
    pub fn returned(&self) -> KeyValue {
        match &self.applied {
            Applied::Put { new, .. } => KeyValue::clone(new),
            Applied::Delete { last } => KeyValue::clone(last),
        }
    }

    /// The event watchers see for this change.
    pub fn to_event(&self) -> Event {
        match &self.applied {
            Applied::Put { new, prev } => Event {
                kind: EventKind::Put,
                kv: KeyValue::clone(new),
                prev: prev.as_deref().cloned(),
            },
            Applied::Delete { last } => Event {
                kind: EventKind::Delete,
                kv: KeyValue {
                    mod_revision: self.revision,
                    ..KeyValue::clone(last)
                },
                prev: Some(KeyValue::clone(last)),
            },
        }
    }

    /// Bytes this change keeps alive in the history (its new version; deletes count little).
    pub fn weight(&self) -> usize {
        const OVERHEAD: usize = 64;
        OVERHEAD + self.after().map_or(0, |kv| kv.key.len() + kv.value.len())
    }
}

/// Checks writes one after another against a committed state plus the writes accepted so far.
pub(crate) struct Planner<'a> {
    base: &'a BTreeMap<String, Arc<KeyValue>>,
    overlay: HashMap<String, Option<Arc<KeyValue>>>,
    revision: Revision,
}

impl<'a> Planner<'a> {
    /// Starts planning on top of `base`, whose last write had `revision`.
    pub fn new(base: &'a BTreeMap<String, Arc<KeyValue>>, revision: Revision) -> Self {
        Planner {
            base,
            overlay: HashMap::new(),
            revision,
        }
    }

    fn current(&self, key: &str) -> Option<Arc<KeyValue>> {
        match self.overlay.get(key) {
            Some(staged) => staged.clone(),
            None => self.base.get(key).cloned(),
        }
    }

    fn existing(&self, key: &str) -> Result<Arc<KeyValue>> {
        self.current(key).ok_or_else(|| StoreError::NotFound {
            key: key.to_owned(),
        })
    }

    /// Accepts `op` if it holds against the state so far, giving it the next revision.
    pub fn stage(&mut self, op: WriteOp) -> Result<Change> {
        let revision = self.revision + 1;
        let applied = match op {
            WriteOp::Create { key, value } => {
                if self.current(&key).is_some() {
                    return Err(StoreError::AlreadyExists { key });
                }
                Applied::Put {
                    new: Arc::new(KeyValue {
                        key,
                        value,
                        create_revision: revision,
                        mod_revision: revision,
                    }),
                    prev: None,
                }
            }
            WriteOp::Update {
                key,
                value,
                expected,
            } => {
                let cur = self.existing(&key)?;
                check_revision(&cur, expected)?;
                Applied::Put {
                    new: Arc::new(KeyValue {
                        key,
                        value,
                        create_revision: cur.create_revision,
                        mod_revision: revision,
                    }),
                    prev: Some(cur),
                }
            }
            WriteOp::Delete { key, expected } => {
                let cur = self.existing(&key)?;
                if let Some(expected) = expected {
                    check_revision(&cur, expected)?;
                }
                Applied::Delete { last: cur }
            }
        };
        let change = Change { revision, applied };
        self.revision = revision;
        self.overlay
            .insert(change.key().to_owned(), change.after().cloned());
        Ok(change)
    }
}

fn check_revision(cur: &KeyValue, expected: Revision) -> Result<()> {
    if cur.mod_revision == expected {
        Ok(())
    } else {
        Err(StoreError::Conflict {
            key: cur.key.clone(),
            expected,
            current: cur.mod_revision,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(key: &str) -> WriteOp {
        WriteOp::Create {
            key: key.into(),
            value: b"v".to_vec(),
        }
    }

    #[test]
    fn later_writes_in_a_batch_see_earlier_ones() {
        let base = BTreeMap::new();
        let mut planner = Planner::new(&base, 7);
        let first = planner.stage(create("/a")).unwrap();
        assert_eq!(first.revision, 8);
        assert!(matches!(
            planner.stage(create("/a")),
            Err(StoreError::AlreadyExists { .. })
        ));
        let update = WriteOp::Update {
            key: "/a".into(),
            value: b"w".to_vec(),
            expected: 8,
        };
        let second = planner.stage(update).unwrap();
        assert_eq!(second.revision, 9);
        assert_eq!(second.after().unwrap().create_revision, 8);
        let delete = WriteOp::Delete {
            key: "/a".into(),
            expected: Some(8),
        };
        assert!(matches!(
            planner.stage(delete),
            Err(StoreError::Conflict { current: 9, .. })
        ));
    }

    #[test]
    fn delete_event_carries_last_value_at_delete_revision() {
        let old = Arc::new(KeyValue {
            key: "/k".into(),
            value: b"last".to_vec(),
            create_revision: 2,
            mod_revision: 3,
        });
        let change = Change {
            revision: 5,
            applied: Applied::Delete { last: old.clone() },
        };
        let event = change.to_event();
        assert_eq!(event.kind, EventKind::Delete);
        assert_eq!(event.kv.value, b"last");
        assert_eq!(event.kv.mod_revision, 5);
        assert_eq!(event.prev.as_ref(), Some(&*old));
    }
}
