//! How objects are kept in the store: JSON without `metadata.resourceVersion`, which is the
//! key's mod revision and is filled in on every read.

use serde_json::Value;

use crate::api::ApiError;
use crate::store::{KeyValue, Revision};

/// Decodes a stored object and sets its `metadata.resourceVersion` to `revision`.
pub fn from_store(value: &[u8], revision: Revision) -> Result<Value, ApiError> {
    let mut obj: Value = serde_json::from_slice(value)
        .map_err(|e| ApiError::Internal(format!("stored object does not decode: {e}")))?;
    set_resource_version(&mut obj, revision);
    Ok(obj)
}

/// Decodes a stored key-value (resourceVersion = its mod revision).
pub fn from_kv(kv: &KeyValue) -> Result<Value, ApiError> {
    from_store(&kv.value, kv.mod_revision)
}

/// Encodes an object for the store, dropping `metadata.resourceVersion`.
pub fn to_store(obj: &Value) -> Vec<u8> {
    let mut obj = obj.clone();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
    }
    serde_json::to_vec(&obj).expect("a JSON value always serializes")
}

/// Sets `metadata.resourceVersion` to the decimal `revision`.
pub fn set_resource_version(obj: &mut Value, revision: Revision) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert(
            "resourceVersion".into(),
            Value::String(revision.to_string()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resource_version_is_the_mod_revision_not_stored() {
        let obj = json!({"metadata": {"name": "a", "resourceVersion": "3"}});
        let bytes = to_store(&obj);
        assert!(!String::from_utf8_lossy(&bytes).contains("resourceVersion"));
        let back = from_store(&bytes, 9).unwrap();
        assert_eq!(back["metadata"]["resourceVersion"], "9");
    }
}
