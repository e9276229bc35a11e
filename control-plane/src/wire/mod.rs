//! Request body encodings beyond JSON: Kubernetes protobuf (`application/vnd.kubernetes.protobuf`,
//! the `k8s\0` envelope).

use serde_json::Value;

use crate::api::ApiError;

/// Decodes a protobuf request body into the object's JSON form (with apiVersion and kind).
pub fn decode_protobuf(body: &[u8]) -> Result<Value, ApiError> {
    let _ = body;
    Err(ApiError::UnsupportedMediaType(
        "protobuf bodies are not supported yet".into(),
    ))
}
