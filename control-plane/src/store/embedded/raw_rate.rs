//! The durable write rate of redb itself, the ceiling the embedded store is measured against.

use std::path::Path;
use std::time::Instant;

use redb::{Database, Durability, TableDefinition};

use super::tables::DbError;
use crate::store::{Result, StoreError};

const SCRATCH: TableDefinition<&str, &[u8]> = TableDefinition::new("scratch");

/// Writes `writes` single keys in sequential transactions with immediate durability (one fsync
/// each) to a scratch file in `dir`, and returns the writes per second achieved.
pub fn measure_raw_write_rate(dir: &Path, writes: usize) -> Result<f64> {
    let path = dir.join("raw-write-rate.redb");
    let result = write_sequentially(&path, writes.max(1));
    let _ = std::fs::remove_file(&path);
    result.map_err(|error| {
        tracing::error!(path = %path.display(), %error, "raw write rate measurement failed");
        StoreError::Backend(error.to_string())
    })
}

fn write_sequentially(path: &Path, writes: usize) -> Result<f64, DbError> {
    let db = Database::create(path)?;
    let value = [0u8; 512];
    let started = Instant::now();
    for i in 0..writes {
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate);
        txn.open_table(SCRATCH)?
            .insert(format!("/raw/{i:08}").as_str(), value.as_slice())?;
        txn.commit()?;
    }
    Ok(writes as f64 / started.elapsed().as_secs_f64().max(f64::EPSILON))
}
