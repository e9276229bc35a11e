//! Server-side printing (`meta.k8s.io/v1` Table) with kubectl's usual columns per kind, as
//! kube-apiserver's `pkg/printers/internalversion` prints them, and the field labels each
//! kind supports in field selectors.
//!
//! Rows always carry the `-o wide` cells (upstream's table convertor prints wide); kubectl
//! hides the priority-1 columns unless asked for them.

mod age;
mod columns;
mod core;
mod fields;
mod format;
mod network;
mod pod;
mod workloads;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::api::status::ApiError;
use crate::registry::KindInfo;

pub use age::human_duration;
pub use fields::{
    field_value, parse_field_selector, supported_fields, supports_field, FieldOp, FieldRequirement,
    FieldSelector,
};

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

impl IncludeObject {
    /// Parses the `includeObject` query parameter (`None`, `Metadata`, `Object`; absent or
    /// empty means `Metadata`).
    pub fn from_query(value: Option<&str>) -> Result<Self, ApiError> {
        match value.unwrap_or("") {
            "" | "Metadata" => Ok(Self::Metadata),
            "None" => Ok(Self::None),
            "Object" => Ok(Self::Object),
            other => Err(ApiError::BadRequest(format!(
                "unrecognized includeObject value: \"{other}\""
            ))),
        }
    }
}

/// The cells of one row (wide cells included) for an object of `kind`.
fn cells(kind: &KindInfo, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    match kind.kind {
        "Pod" => pod::cells(obj, now),
        "Namespace" => core::namespace(obj, now),
        "Node" => core::node(obj, now),
        "ConfigMap" => core::config_map(obj, now),
        "Secret" => core::secret(obj, now),
        "ServiceAccount" => core::service_account(obj, now),
        "Event" => core::event(obj, now),
        "Lease" => core::lease(obj, now),
        "Service" => network::service(obj, now),
        "Endpoints" => network::endpoints(obj, now),
        "EndpointSlice" => network::endpoint_slice(obj, now),
        "Deployment" => workloads::deployment(obj, now),
        "ReplicaSet" => workloads::replica_set(obj, now),
        "DaemonSet" => workloads::daemon_set(obj, now),
        // Upstream's default table: name and creation timestamp.
        _ => vec![
            json!(obj["metadata"]["name"].as_str().unwrap_or("")),
            obj["metadata"]["creationTimestamp"].clone(),
        ],
    }
}

/// The `PartialObjectMetadata` upstream puts in rows by default.
fn partial_metadata(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// One Table row (`{cells, object}`, plus `conditions` for finished pods), e.g. for a watch
/// event carrying a Table.
pub fn row(kind: &KindInfo, obj: &Value, include: IncludeObject, now: DateTime<Utc>) -> Value {
    let mut row = Map::new();
    row.insert("cells".into(), Value::Array(cells(kind, obj, now)));
    if kind.kind == "Pod" {
        if let Some(conditions) = pod::conditions(obj) {
            row.insert("conditions".into(), conditions);
        }
    }
    match include {
        IncludeObject::None => {}
        IncludeObject::Metadata => {
            row.insert("object".into(), partial_metadata(obj));
        }
        IncludeObject::Object => {
            row.insert("object".into(), obj.clone());
        }
    }
    Value::Object(row)
}

/// The `columnDefinitions` of `kind`: `[{name, type, format, description, priority}]`.
pub fn column_definitions(kind: &KindInfo) -> Value {
    Value::Array(columns::definitions(kind.kind).to_vec())
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
    let rows: Vec<Value> = objects.iter().map(|o| row(kind, o, include, now)).collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_metadata,
        "columnDefinitions": column_definitions(kind),
        "rows": rows,
    })
}

/// A Table holding one object (a get, or one watch event). Its `metadata` carries the
/// object's resourceVersion. Upstream sends column definitions only with the first event of
/// a watch; later events have `columnDefinitions: null` (`with_columns == false`).
pub fn object_table(
    kind: &KindInfo,
    obj: &Value,
    include: IncludeObject,
    now: DateTime<Utc>,
    with_columns: bool,
) -> Value {
    let mut metadata = Map::new();
    if let Some(rv) = obj["metadata"]["resourceVersion"].as_str() {
        metadata.insert("resourceVersion".into(), json!(rv));
    }
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": if with_columns { column_definitions(kind) } else { Value::Null },
        "rows": [row(kind, obj, include, now)],
    })
}
