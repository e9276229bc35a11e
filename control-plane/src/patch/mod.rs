//! Patches: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and Kubernetes strategic merge
//! patch with merge keys and directives.

pub mod schema;

use serde_json::Value;

use crate::api::ApiError;
use crate::registry::KindInfo;

/// Applies a JSON patch (an array of operations) to `doc`.
pub fn json_patch(doc: &Value, patch: &Value) -> Result<Value, ApiError> {
    let _ = (doc, patch);
    Err(ApiError::UnsupportedMediaType(
        "json patch is not supported yet".into(),
    ))
}

/// Applies a JSON merge patch to `doc`.
pub fn merge_patch(doc: &Value, patch: &Value) -> Result<Value, ApiError> {
    let _ = (doc, patch);
    Err(ApiError::UnsupportedMediaType(
        "merge patch is not supported yet".into(),
    ))
}

/// Applies a strategic merge patch to `doc`, an object of `kind`.
pub fn strategic_merge_patch(
    kind: &KindInfo,
    doc: &Value,
    patch: &Value,
) -> Result<Value, ApiError> {
    let _ = (kind, doc, patch);
    Err(ApiError::UnsupportedMediaType(
        "strategic merge patch is not supported yet".into(),
    ))
}
