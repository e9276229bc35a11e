//! Assembles one OpenAPI v3 document per served group-version (its paths and the schemas they
//! reach), the `/openapi/v3` index, and their content hashes.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha512};

use super::paths;
use super::schemas::{Definitions, REF_PREFIX};
use crate::registry;

/// `info.version` of the documents, the Kubernetes version the API follows.
pub const API_VERSION: &str = "v1.33.0";

/// One rendered document.
#[derive(Debug, Clone)]
pub struct Document {
    /// Index path (`api/v1`, `apis/apps/v1`).
    pub path: String,
    /// Upper-case hex SHA-512 of `bytes`.
    pub hash: String,
    /// The JSON document.
    pub bytes: Arc<Vec<u8>>,
}

/// Upstream's content hash: upper-case hex SHA-512.
pub fn content_hash(bytes: &[u8]) -> String {
    Sha512::digest(bytes)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// The index path of a group-version (`api/v1`, `apis/apps/v1`).
pub fn index_path(group: &str, version: &str) -> String {
    paths::prefix(group, version)[1..].to_string()
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix(REF_PREFIX))
            {
                out.push(name.to_string());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// The schemas `root` references, transitively, sorted by name.
fn reachable(defs: &Definitions, root: &Value) -> Map<String, Value> {
    let mut pending = Vec::new();
    collect_refs(root, &mut pending);
    let mut seen = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if let Some(schema) = defs.schemas.get(&name) {
            if seen.insert(name) {
                collect_refs(schema, &mut pending);
            }
        }
    }
    seen.into_iter()
        .filter_map(|name| defs.schemas.get(&name).map(|s| (name, s.clone())))
        .collect()
}

/// The document of `group`/`version` as JSON.
pub fn render(defs: &Definitions, group: &str, version: &str) -> Value {
    let paths = Value::Object(paths::paths(defs, group, version));
    let schemas = reachable(defs, &paths);
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": API_VERSION},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "BearerToken": {
                    "type": "apiKey",
                    "description": "Bearer Token authentication",
                    "name": "authorization",
                    "in": "header",
                },
            },
        },
        "security": [{"BearerToken": []}],
    })
}

/// Every served group-version's document, core first.
pub fn build_all(defs: &Definitions) -> Vec<Document> {
    registry::groups()
        .into_iter()
        .flat_map(|(group, versions)| versions.into_iter().map(move |v| (group, v)))
        .map(|(group, version)| {
            let bytes = serde_json::to_vec(&render(defs, group, version))
                .expect("a JSON value always serialises");
            Document {
                path: index_path(group, version),
                hash: content_hash(&bytes),
                bytes: Arc::new(bytes),
            }
        })
        .collect()
}

/// The `/openapi/v3` index of `docs`.
pub fn index(docs: &[Document]) -> Value {
    let paths: Map<String, Value> = docs
        .iter()
        .map(|d| {
            (
                d.path.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{}?hash={}", d.path, d.hash)}),
            )
        })
        .collect();
    json!({"paths": paths})
}
