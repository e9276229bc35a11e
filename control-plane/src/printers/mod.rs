//! Server-side printing (`meta.k8s.io/v1` Table) with kubectl's usual columns per kind, and the
//! field labels each kind supports in field selectors.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::registry::KindInfo;

/// What each Table row carries in `object` (`includeObject` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncludeObject {
    /// No object.
    None,
    /// A `PartialObjectMetadata` (the default).
    #[default]
    Metadata,
    /// The whole object.
    Object,
}

/// Builds a Table for `objects` of one kind. `list_metadata` (resourceVersion, continue) is
/// copied into the table's `metadata`.
pub fn table(
    kind: &KindInfo,
    objects: &[Value],
    list_metadata: Value,
    include: IncludeObject,
    now: DateTime<Utc>,
) -> Value {
    let _ = (kind, objects, include, now);
    serde_json::json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_metadata, "columnDefinitions": [], "rows": []})
}

/// Whether `label` (e.g. `spec.nodeName`) may be used in a field selector for this kind.
/// `metadata.name` and `metadata.namespace` are always supported.
pub fn supports_field(kind: &KindInfo, label: &str) -> bool {
    let _ = kind;
    matches!(label, "metadata.name" | "metadata.namespace")
}

/// The value of field label `label` on `obj` (`None` if the kind does not support it).
pub fn field_value(kind: &KindInfo, obj: &Value, label: &str) -> Option<String> {
    let _ = kind;
    match label {
        "metadata.name" => Some(obj["metadata"]["name"].as_str().unwrap_or("").to_string()),
        "metadata.namespace" => Some(
            obj["metadata"]["namespace"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        ),
        _ => None,
    }
}
