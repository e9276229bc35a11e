//! OpenAPI v3: the `/openapi/v3` index and one document per group-version, generated from
//! k8s-openapi's schemas, plus the unknown-field check behind `fieldValidation`.
//!
//! Everything is built once, on first use, and cached: the documents do not change while the
//! server runs, so their content hashes are stable.

pub mod document;
pub mod params;
pub mod paths;
pub mod schemas;
pub mod types;
pub mod unknown;
pub mod v2;

use std::sync::{Arc, OnceLock};

use serde_json::Value;

use crate::registry::KindInfo;
pub use document::content_hash;
use document::Document;
use schemas::Definitions;

/// The schemas of every served kind, built on first use.
pub fn definitions() -> &'static Definitions {
    static DEFS: OnceLock<Definitions> = OnceLock::new();
    DEFS.get_or_init(Definitions::build)
}

struct Documents {
    docs: Vec<Document>,
    index: Value,
}

fn documents() -> &'static Documents {
    static DOCS: OnceLock<Documents> = OnceLock::new();
    DOCS.get_or_init(|| {
        let docs = document::build_all(definitions());
        let index = document::index(&docs);
        tracing::debug!(documents = docs.len(), "built OpenAPI v3 documents");
        Documents { docs, index }
    })
}

/// The `/openapi/v3` index (paths to content-hash URLs).
pub fn index() -> Value {
    documents().index.clone()
}

/// The document for `path` (e.g. `api/v1`, `apis/apps/v1`): its content hash and JSON bytes.
pub fn document(path: &str) -> Option<(String, std::sync::Arc<Vec<u8>>)> {
    let path = path.trim_matches('/');
    documents()
        .docs
        .iter()
        .find(|d| d.path == path)
        .map(|d| (d.hash.clone(), Arc::clone(&d.bytes)))
}

/// `/openapi/v2` for `accept`: its Content-Type and body. A Swagger 2.0 document without
/// definitions; kubectl 1.27–1.28 need it to answer before `explain` reads OpenAPI v3.
pub fn v2_document(accept: &str) -> (&'static str, Vec<u8>) {
    if v2::wants_protobuf(accept) {
        (v2::PROTOBUF_CONTENT_TYPE, v2::protobuf())
    } else {
        ("application/json", v2::json())
    }
}

/// Paths (`spec.foo`, `spec.containers[0].bar`) of fields in `obj` that `kind`'s schema does
/// not declare, for `fieldValidation=Strict|Warn`.
pub fn unknown_fields(kind: &KindInfo, obj: &Value) -> Vec<String> {
    let defs = definitions();
    match defs.kind_schema(kind) {
        Some(schema) => unknown::unknown_fields(defs, schema, obj),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
