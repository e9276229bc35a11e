//! `metadata.managedFields`: one entry per (manager, operation, subresource — and apiVersion
//! for updates), read from and written back to objects in upstream's sort order.

use serde_json::{Map, Value};

use super::fields_v1::{self, FieldsV1Error};
use super::fieldset::FieldSet;

/// The operation that made a managedFields entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    /// Server-side apply.
    Apply,
    /// Create, update or patch.
    Update,
}

impl Operation {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One managedFields entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedEntry {
    /// The field manager's name.
    pub manager: String,
    /// Apply or Update.
    pub operation: Operation,
    /// The apiVersion the fields were written in.
    pub api_version: String,
    /// RFC 3339 time of the last change, if known.
    pub time: Option<String>,
    /// The subresource written through (`status`, `scale`), if any.
    pub subresource: Option<String>,
    /// The owned fields.
    pub fields: FieldSet,
}

/// A managedFields list that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManagedFieldsError {
    /// `metadata.managedFields` is not a list of objects.
    #[error("managedFields must be a list of objects")]
    NotList,
    /// An entry's operation is neither Apply nor Update.
    #[error("managedFields entry {0}: operation must be Apply or Update")]
    Operation(usize),
    /// An entry has a fieldsType other than FieldsV1.
    #[error("managedFields entry {0}: fieldsType must be FieldsV1")]
    FieldsType(usize),
    /// An entry's fieldsV1 is unreadable.
    #[error("managedFields entry {index}: {source}")]
    Fields {
        /// The entry's position.
        index: usize,
        /// Why.
        source: FieldsV1Error,
    },
}

impl ManagedEntry {
    /// Whether the two entries are the same manager (upstream's manager identifier: the
    /// apiVersion counts for updates only).
    pub fn same_identity(&self, other: &ManagedEntry) -> bool {
        self.manager == other.manager
            && self.operation == other.operation
            && self.subresource == other.subresource
            && (self.operation == Operation::Apply || self.api_version == other.api_version)
    }

    /// Upstream's manager identifier (a JSON `ManagedFieldsEntry` without fields and time),
    /// which orders conflicts.
    pub fn identifier(&self) -> String {
        let mut m = Map::new();
        m.insert("manager".into(), self.manager.clone().into());
        m.insert("operation".into(), self.operation.as_str().into());
        if self.operation == Operation::Update {
            m.insert("apiVersion".into(), self.api_version.clone().into());
        }
        if let Some(s) = &self.subresource {
            m.insert("subresource".into(), s.clone().into());
        }
        Value::Object(m).to_string()
    }

    /// How upstream names the manager in conflicts: `"kubectl" using apps/v1`.
    pub fn describe(&self) -> String {
        let mut out = format!("{:?}", self.manager);
        if let Some(s) = &self.subresource {
            out.push_str(&format!(" with subresource {s:?}"));
        }
        if self.operation == Operation::Update {
            out.push_str(&format!(" using {}", self.api_version));
        }
        out
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("manager".into(), self.manager.clone().into());
        m.insert("operation".into(), self.operation.as_str().into());
        m.insert("apiVersion".into(), self.api_version.clone().into());
        if let Some(t) = &self.time {
            m.insert("time".into(), t.clone().into());
        }
        m.insert("fieldsType".into(), "FieldsV1".into());
        m.insert("fieldsV1".into(), fields_v1::encode(&self.fields));
        if let Some(s) = &self.subresource {
            m.insert("subresource".into(), s.clone().into());
        }
        Value::Object(m)
    }

    fn from_json(index: usize, v: &Value) -> Result<ManagedEntry, ManagedFieldsError> {
        let obj = v.as_object().ok_or(ManagedFieldsError::NotList)?;
        let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
        let operation = match text("operation").as_deref() {
            Some("Apply") => Operation::Apply,
            Some("Update") => Operation::Update,
            // Upstream reads an entry without operation (`[{}]`, the way to clear the list) as
            // an empty manager that is then dropped.
            None if obj.get("fieldsV1").is_none() => Operation::Update,
            _ => return Err(ManagedFieldsError::Operation(index)),
        };
        match text("fieldsType").as_deref() {
            None | Some("FieldsV1") => {}
            Some(_) => return Err(ManagedFieldsError::FieldsType(index)),
        }
        let fields = match obj.get("fieldsV1") {
            Some(f) => fields_v1::decode(f)
                .map_err(|source| ManagedFieldsError::Fields { index, source })?,
            None => FieldSet::new(),
        };
        Ok(ManagedEntry {
            manager: text("manager").unwrap_or_default(),
            operation,
            api_version: text("apiVersion").unwrap_or_default(),
            time: text("time"),
            subresource: text("subresource").filter(|s| !s.is_empty()),
            fields,
        })
    }
}

/// The entries of `obj`'s `metadata.managedFields` (none when absent); a later entry with the
/// same identity replaces an earlier one.
pub fn decode(obj: &Value) -> Result<Vec<ManagedEntry>, ManagedFieldsError> {
    let raw = match obj.pointer("/metadata/managedFields") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(ManagedFieldsError::NotList),
    };
    let mut out: Vec<ManagedEntry> = Vec::new();
    for (i, v) in raw.iter().enumerate() {
        let e = ManagedEntry::from_json(i, v)?;
        out.retain(|o| !o.same_identity(&e));
        out.push(e);
    }
    Ok(out)
}

fn unix_seconds(time: Option<&str>) -> i64 {
    time.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map_or(0, |t| t.timestamp())
}

/// The managedFields JSON list of `entries`: empty sets dropped, sorted as upstream does
/// (operation, time, manager, apiVersion, subresource). `None` when nothing is left.
pub fn encode(mut entries: Vec<ManagedEntry>) -> Option<Value> {
    entries.retain(|e| !e.fields.is_empty());
    if entries.is_empty() {
        return None;
    }
    entries.sort_by(|p, q| {
        p.operation
            .as_str()
            .cmp(q.operation.as_str())
            .then_with(|| unix_seconds(p.time.as_deref()).cmp(&unix_seconds(q.time.as_deref())))
            .then_with(|| p.manager.cmp(&q.manager))
            .then_with(|| p.api_version.cmp(&q.api_version))
            .then_with(|| p.subresource.cmp(&q.subresource))
    });
    Some(Value::Array(
        entries.iter().map(ManagedEntry::to_json).collect(),
    ))
}

/// Sets (or removes, for `None`) `obj`'s `metadata.managedFields`.
pub fn store(obj: &mut Value, list: Option<Value>) {
    let Some(root) = obj.as_object_mut() else {
        return;
    };
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(meta) = meta.as_object_mut() else {
        return;
    };
    match list {
        Some(l) => {
            meta.insert("managedFields".into(), l);
        }
        None => {
            meta.remove("managedFields");
        }
    }
}

/// `obj` without `metadata.managedFields`.
pub fn without(obj: &Value) -> Value {
    let mut out = obj.clone();
    if let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entries_round_trip_and_sort_apply_first_then_by_time() {
        let obj = json!({"metadata": {"managedFields": [
            {"manager": "late", "operation": "Update", "apiVersion": "v1", "time": "2026-01-02T00:00:00Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:b": {}}}},
            {"manager": "early", "operation": "Update", "apiVersion": "v1", "time": "2026-01-01T00:00:00Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:a": {}}}},
            {"manager": "kubectl", "operation": "Apply", "apiVersion": "v1", "time": "2026-01-03T00:00:00Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:c": {}}}}
        ]}});
        let entries = decode(&obj).unwrap();
        let list = encode(entries).unwrap();
        let names: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["manager"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["kubectl", "early", "late"]);
        assert_eq!(
            list[0],
            json!({"manager": "kubectl", "operation": "Apply", "apiVersion": "v1", "time": "2026-01-03T00:00:00Z",
                   "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:c": {}}}})
        );
    }

    #[test]
    fn a_single_empty_entry_decodes_to_nothing_kept() {
        let entries = decode(&json!({"metadata": {"managedFields": [{}]}})).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(encode(entries), None);
        assert!(decode(
            &json!({"metadata": {"managedFields": [{"operation": "Patch", "fieldsV1": {}}]}})
        )
        .is_err());
    }

    #[test]
    fn managers_are_described_like_upstream() {
        let e = ManagedEntry {
            manager: "kubectl-client-side-apply".into(),
            operation: Operation::Update,
            api_version: "apps/v1".into(),
            time: None,
            subresource: None,
            fields: FieldSet::new(),
        };
        assert_eq!(e.describe(), "\"kubectl-client-side-apply\" using apps/v1");
        assert_eq!(
            e.identifier(),
            r#"{"manager":"kubectl-client-side-apply","operation":"Update","apiVersion":"apps/v1"}"#
        );
    }
}
