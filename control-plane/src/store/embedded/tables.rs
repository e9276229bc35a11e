//! The on-disk layout of the embedded store: one redb file with two tables.
//!
//! `keys` maps each key to `(create_revision, mod_revision, value)`; `meta` holds the global
//! revision under `revision` (deletes advance it without leaving a key behind).

use std::collections::BTreeMap;
use std::sync::Arc;

use redb::{Database, Durability, ReadableTable, TableDefinition};

use crate::store::batch::Change;
use crate::store::{KeyValue, Revision};

/// A redb failure, boxed: redb's error type is large and only ever reported.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub(super) struct DbError(Box<redb::Error>);

macro_rules! db_error_from {
    ($($source:ty),*) => {
        $(impl From<$source> for DbError {
            fn from(error: $source) -> Self {
                DbError(Box::new(error.into()))
            }
        })*
    };
}

db_error_from!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

const KEYS: TableDefinition<&str, (i64, i64, &[u8])> = TableDefinition::new("keys");
const META: TableDefinition<&str, i64> = TableDefinition::new("meta");
const REVISION: &str = "revision";

/// Everything stored, as loaded on open.
pub(super) struct Loaded {
    /// Every key.
    pub state: BTreeMap<String, Arc<KeyValue>>,
    /// The last committed revision.
    pub revision: Revision,
}

/// Creates the tables if missing and reads every key and the revision.
pub(super) fn init_and_load(db: &Database) -> Result<Loaded, DbError> {
    let txn = db.begin_write()?;
    {
        txn.open_table(KEYS)?;
        txn.open_table(META)?;
    }
    txn.commit()?;

    let txn = db.begin_read()?;
    let meta = txn.open_table(META)?;
    let revision = meta.get(REVISION)?.map_or(0, |rev| rev.value());
    let keys = txn.open_table(KEYS)?;
    let mut state = BTreeMap::new();
    for entry in keys.iter()? {
        let (key, row) = entry?;
        let (create_revision, mod_revision, value) = row.value();
        let kv = KeyValue {
            key: key.value().to_owned(),
            value: value.to_vec(),
            create_revision,
            mod_revision,
        };
        state.insert(kv.key.clone(), Arc::new(kv));
    }
    Ok(Loaded { state, revision })
}

/// Writes `changes` (in revision order) in one transaction and fsyncs it before returning.
pub(super) fn commit_changes(db: &Database, changes: &[Change]) -> Result<(), DbError> {
    let Some(last) = changes.last() else {
        return Ok(());
    };
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate);
    {
        let mut keys = txn.open_table(KEYS)?;
        for change in changes {
            match change.after() {
                Some(kv) => {
                    keys.insert(
                        kv.key.as_str(),
                        (kv.create_revision, kv.mod_revision, kv.value.as_slice()),
                    )?;
                }
                None => {
                    keys.remove(change.key())?;
                }
            }
        }
        txn.open_table(META)?.insert(REVISION, last.revision)?;
    }
    txn.commit()?;
    Ok(())
}
