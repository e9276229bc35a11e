//! Store reads of the write path, with store failures answered as API errors.

use crate::api::ApiError;
use crate::registry::KindInfo;
use crate::store::{KeyValue, ListOptions, Store};

/// The key-value at `key` (`None` when absent); a store failure is answered for `kind`/`name`.
pub(super) async fn get(
    store: &dyn Store,
    kind: &KindInfo,
    name: &str,
    key: &str,
) -> Result<Option<KeyValue>, ApiError> {
    let (kv, _) = store
        .get(key)
        .await
        .map_err(|e| super::store_error(kind, name, e))?;
    Ok(kv)
}

/// Every key-value under `prefix` at the current revision.
pub(super) async fn list_prefix(
    store: &dyn Store,
    prefix: String,
) -> Result<Vec<KeyValue>, ApiError> {
    let list = store
        .list(ListOptions {
            prefix,
            ..Default::default()
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(list.kvs)
}
