//! Server-side apply and `metadata.managedFields` bookkeeping.

use serde_json::Value;

use crate::api::ApiError;
use crate::registry::KindInfo;

/// Server-side apply of `config` (the applied configuration) by `manager` onto `current`
/// (`None`: the object does not exist and is created from `config`). `now` is an RFC 3339 time
/// for the managedFields entry. Returns the merged object with managedFields updated, or a 409
/// `Conflict` listing conflicting fields unless `force`.
pub fn apply(
    kind: &KindInfo,
    current: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
    now: &str,
) -> Result<Value, ApiError> {
    let _ = (kind, current, manager, force, now);
    Ok(config.clone())
}

/// Records a non-apply write (`operation` "Update", from create/update/patch) by `manager` in
/// `new`'s managedFields, given the object before the write (`None` on create).
/// `subresource` is e.g. `Some("status")`.
pub fn record_update(
    kind: &KindInfo,
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    subresource: Option<&str>,
    now: &str,
) {
    let _ = (kind, old, new, manager, subresource, now);
}
