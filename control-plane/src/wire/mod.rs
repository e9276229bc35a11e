//! Request body encodings beyond JSON: Kubernetes protobuf (`application/vnd.kubernetes.protobuf`,
//! the `k8s\0` envelope around a `runtime.Unknown`), decoded by generated schema tables
//! (`tables/`, from `gen_schema.py`) into the JSON the same object has.

mod message;
mod reader;
mod schema;
mod special;
mod tables;

#[cfg(test)]
mod tests;

use serde_json::Value;

use crate::api::ApiError;
pub use reader::WireError;
use reader::{Fields, Raw};

/// The 4-byte prefix of every Kubernetes protobuf body.
pub const PROTOBUF_MAGIC: &[u8; 4] = b"k8s\0";

/// The fields of the `runtime.Unknown` envelope.
#[derive(Debug, Default, PartialEq)]
struct Envelope<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
    content_encoding: String,
}

/// Decodes a protobuf request body into the object's JSON form (with apiVersion and kind).
pub fn decode_protobuf(body: &[u8]) -> Result<Value, ApiError> {
    let Some(rest) = body.strip_prefix(PROTOBUF_MAGIC) else {
        return Err(ApiError::BadRequest(format!(
            "provided data does not appear to be a protobuf message, expected prefix {:?}",
            PROTOBUF_MAGIC
        )));
    };
    let envelope = envelope(rest).map_err(|e| {
        ApiError::BadRequest(format!("unable to decode the protobuf envelope: {e}"))
    })?;
    if !envelope.content_encoding.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "unsupported protobuf content encoding {:?}",
            envelope.content_encoding
        )));
    }
    if envelope.kind.is_empty() {
        return Err(ApiError::BadRequest(
            "Object 'Kind' is missing in the protobuf body".into(),
        ));
    }
    let Some(msg) = schema::root(&envelope.api_version, &envelope.kind) else {
        return Err(ApiError::BadRequest(format!(
            "no kind {:?} is registered for version {:?}",
            envelope.kind, envelope.api_version
        )));
    };
    let object = message::decode(msg, envelope.raw).map_err(|e| {
        ApiError::BadRequest(format!(
            "unable to decode {} {} from protobuf: {e}",
            envelope.api_version, envelope.kind
        ))
    })?;
    let mut out = serde_json::Map::new();
    out.insert("apiVersion".into(), Value::String(envelope.api_version));
    out.insert("kind".into(), Value::String(envelope.kind));
    if let Value::Object(fields) = object {
        out.extend(fields);
    }
    tracing::debug!(kind = %out["kind"], bytes = body.len(), "decoded protobuf body");
    Ok(Value::Object(out))
}

/// Reads `runtime.Unknown` {1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding, 4 contentType}.
fn envelope(buf: &[u8]) -> Result<Envelope<'_>, WireError> {
    let mut out = Envelope::default();
    for item in Fields::new(buf) {
        match item? {
            (1, Raw::Bytes(type_meta)) => {
                for item in Fields::new(type_meta) {
                    match item? {
                        (1, Raw::Bytes(b)) => out.api_version = text(b),
                        (2, Raw::Bytes(b)) => out.kind = text(b),
                        (1 | 2, raw) => return Err(wrong("TypeMeta", raw)),
                        _ => {}
                    }
                }
            }
            (2, Raw::Bytes(b)) => out.raw = b,
            (3, Raw::Bytes(b)) => out.content_encoding = text(b),
            (4, Raw::Bytes(_)) => {}
            (1..=4, raw) => return Err(wrong("Unknown", raw)),
            _ => {}
        }
    }
    Ok(out)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn wrong(message: &'static str, raw: Raw<'_>) -> WireError {
    WireError::WrongWireType {
        message,
        field: "envelope",
        wire: raw.wire_type(),
    }
}
