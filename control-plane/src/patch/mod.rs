//! Patches: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and Kubernetes strategic merge
//! patch with merge keys and directives.

pub mod json;
pub mod merge;
pub mod pointer;
pub mod schema;
pub mod strategic;

use serde_json::Value;

use crate::api::ApiError;
use crate::registry::KindInfo;

/// Applies a JSON patch (an array of operations) to `doc`.
///
/// A patch that is not an array of operations is a 400 `BadRequest`; an operation that does
/// not apply (missing path, failed `test`, bad index) is a 422 `Invalid`, as upstream answers.
pub fn json_patch(doc: &Value, patch: &Value) -> Result<Value, ApiError> {
    json::apply(doc, patch).map_err(|e| match e {
        json::JsonPatchError::Malformed(m) => ApiError::BadRequest(m),
        json::JsonPatchError::NotApplicable(m) => ApiError::PatchNotApplicable(m),
    })
}

/// Applies a JSON merge patch to `doc`.
pub fn merge_patch(doc: &Value, patch: &Value) -> Result<Value, ApiError> {
    let mut out = doc.clone();
    merge::apply(&mut out, patch);
    Ok(out)
}

/// Applies a strategic merge patch to `doc`, an object of `kind`.
///
/// Malformed patches and directives are a 400 `BadRequest`; lists of lists and content that
/// contradicts `$retainKeys` a 422 `Invalid`, as upstream answers.
pub fn strategic_merge_patch(
    kind: &KindInfo,
    doc: &Value,
    patch: &Value,
) -> Result<Value, ApiError> {
    let root = schema::root_type(kind);
    let root = schema::type_known(&root);
    strategic::apply(doc, patch, root).map_err(|e| {
        if e.is_unprocessable() {
            ApiError::PatchNotApplicable(e.to_string())
        } else {
            ApiError::BadRequest(e.to_string())
        }
    })
}

#[cfg(test)]
mod tests;
