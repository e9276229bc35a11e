//! A minimal `/openapi/v2` (Swagger 2.0) document. kubectl 1.27–1.28 fetch it before every
//! `explain` even when they render from OpenAPI v3, and fail if it is missing; it carries no
//! definitions, so clients fall back to v3 or to their built-in types.

use serde_json::json;

use super::document::API_VERSION;

/// Content type of the protobuf (gnostic `openapi_v2.Document`) encoding kubectl asks for.
pub const PROTOBUF_CONTENT_TYPE: &str =
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// Whether `accept` asks for the protobuf encoding.
pub fn wants_protobuf(accept: &str) -> bool {
    accept.contains("application/com.github.proto-openapi.spec.v2")
}

fn field(tag: u8, bytes: &[u8], out: &mut Vec<u8>) {
    out.push((tag << 3) | 2);
    encode_len(bytes.len(), out);
    out.extend_from_slice(bytes);
}

fn encode_len(mut n: usize, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// The protobuf document: `swagger: "2.0"` and `info { title, version }`.
pub fn protobuf() -> Vec<u8> {
    let mut info = Vec::new();
    field(1, b"Kubernetes", &mut info);
    field(2, API_VERSION.as_bytes(), &mut info);
    let mut doc = Vec::new();
    field(1, b"2.0", &mut doc);
    field(2, &info, &mut doc);
    doc
}

/// The JSON document.
pub fn json() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": API_VERSION},
        "paths": {},
        "definitions": {},
    }))
    .expect("a JSON value always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protobuf_document_encodes_swagger_and_info() {
        let doc = protobuf();
        assert_eq!(&doc[..5], b"\x0a\x032.0");
        assert_eq!(doc[5], 0x12);
        assert_eq!(doc[6] as usize, doc.len() - 7);
        assert_eq!(&doc[7..9], b"\x0a\x0a");
        assert_eq!(&doc[9..19], b"Kubernetes");
    }

    #[test]
    fn accept_selects_protobuf() {
        assert!(wants_protobuf(
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
        ));
        assert!(!wants_protobuf("application/json"));
    }
}
