//! How objects are kept in the store: JSON without `metadata.resourceVersion`, which is the
//! key's mod revision and is filled in on every read.

mod scan;

use std::io::Write;

use serde::Deserialize;
use serde_json::Value;

use crate::api::ApiError;
use crate::store::{KeyValue, Revision};

use scan::Metadata;

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

/// A stored object read in place: its bytes and where its `metadata` object is.
pub struct StoredObject<'a> {
    bytes: &'a [u8],
    metadata: Metadata,
}

impl<'a> StoredObject<'a> {
    /// Locates the `metadata` of stored `bytes`; `None` when the bytes are not plainly a stored
    /// object (escaped or repeated keys, a stored `resourceVersion`): decode those instead.
    pub fn locate(bytes: &'a [u8]) -> Option<Self> {
        scan::locate(bytes).map(|metadata| Self { bytes, metadata })
    }

    /// `metadata.labels` (`None` when absent); an error when `metadata` does not decode as
    /// upstream's shape demands (callers then decode the whole object).
    pub fn labels(&self) -> Result<Option<Value>, serde_json::Error> {
        #[derive(Deserialize)]
        struct Labels {
            labels: Option<Value>,
        }
        match &self.metadata {
            Metadata::Object(r) => {
                serde_json::from_slice::<Labels>(&self.bytes[r.clone()]).map(|m| m.labels)
            }
            Metadata::Absent => Ok(None),
        }
    }

    /// Appends the object as JSON with `metadata.resourceVersion` set to `revision`, byte for
    /// byte what [`from_store`] followed by `serde_json::to_writer` gives for stored bytes
    /// (which `serde_json` wrote): the version is spliced in as the last member of `metadata`.
    pub fn write_json(&self, out: &mut Vec<u8>, revision: Revision) {
        let Metadata::Object(r) = &self.metadata else {
            out.extend_from_slice(self.bytes);
            return;
        };
        let close = r.end - 1;
        out.extend_from_slice(&self.bytes[..close]);
        if !scan::is_blank(self.bytes, r.start + 1..close) {
            out.push(b',');
        }
        write!(out, "\"resourceVersion\":\"{revision}\"").expect("writing to a Vec never fails");
        out.extend_from_slice(&self.bytes[close..]);
    }
}

/// Appends stored `value` as JSON with `metadata.resourceVersion` = `revision`, copying the
/// stored bytes when possible and decoding them otherwise.
pub fn write_json(out: &mut Vec<u8>, value: &[u8], revision: Revision) -> Result<(), ApiError> {
    match StoredObject::locate(value) {
        Some(obj) => obj.write_json(out, revision),
        None => serde_json::to_writer(out, &from_store(value, revision)?)
            .expect("a JSON value always serializes"),
    }
    Ok(())
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

    /// What `write_json` must give: decode, set the version, serialize.
    fn by_value(stored: &[u8], rev: Revision) -> Vec<u8> {
        serde_json::to_vec(&from_store(stored, rev).unwrap()).unwrap()
    }

    fn spliced(stored: &[u8], rev: Revision) -> Vec<u8> {
        let mut out = Vec::new();
        write_json(&mut out, stored, rev).unwrap();
        out
    }

    #[test]
    fn spliced_bytes_equal_the_decoded_object_for_tricky_stored_objects() {
        let objects = [
            json!({"metadata": {"name": "a", "labels": {"x": "y"}}, "spec": {}}),
            json!({"kind": "Pod", "spec": {"metadata": {"name": "inner"}}, "metadata": {"name": "b"}}),
            json!({"metadata": {}}),
            json!({"apiVersion": "v1", "metadata": {}, "data": {"k": "\"metadata\":{\"x\":1}"}}),
            json!({"data": {"\"metadata\":{": "}\\\"", "metadata": {"nested": true}}, "metadata": {"name": "c"}}),
            json!({"metadata": {"name": "d", "annotations": {"a": "{[\"]}"}}, "list": [1, [2, {"metadata": {}}], "]"]}),
            json!({"metadata": null, "spec": 1}),
            json!({"metadata": "text"}),
            json!({"spec": {"x": 1.5e300, "y": -0.0, "z": [true, false, null]}}),
            json!({}),
            json!({"metadata": {"name": "ünïcödé\u{1}\n\t", "generation": 3}}),
        ];
        for obj in objects {
            let stored = to_store(&obj);
            assert_eq!(
                String::from_utf8(spliced(&stored, 42)).unwrap(),
                String::from_utf8(by_value(&stored, 42)).unwrap(),
                "{obj}"
            );
        }
    }

    #[test]
    fn unusual_stored_bytes_fall_back_to_decoding() {
        let cases: [&[u8]; 6] = [
            br#"{"metadata":{"name":"a","resourceVersion":"3"},"spec":{}}"#,
            br#"{"metadata":{"name":"a"},"metadata":{"name":"b"}}"#,
            br#"{"\u006detadata":{"name":"a"}}"#,
            br#"{"metadata":{"\u0072esourceVersion":"1"}}"#,
            br#" { "metadata" : { } , "a" : [ 1 , 2 ] } "#,
            br#"{"metadata":{"name":"a"}}  "#,
        ];
        for stored in cases {
            let got: Value = serde_json::from_slice(&spliced(stored, 7)).unwrap();
            let want: Value = serde_json::from_slice(&by_value(stored, 7)).unwrap();
            assert_eq!(got, want, "{}", String::from_utf8_lossy(stored));
            assert_eq!(got["metadata"]["resourceVersion"], "7");
        }
        assert!(StoredObject::locate(cases[0]).is_none());
        assert!(StoredObject::locate(cases[1]).is_none());
        assert!(StoredObject::locate(cases[2]).is_none());
        assert!(write_json(&mut Vec::new(), b"{\"metadata\":", 1).is_err());
        assert!(write_json(&mut Vec::new(), b"[1]", 1).is_ok());
    }

    #[test]
    fn labels_are_read_from_metadata_only() {
        let stored = to_store(
            &json!({"spec": {"labels": {"no": "x"}}, "metadata": {"labels": {"app": "web"}}}),
        );
        let obj = StoredObject::locate(&stored).unwrap();
        assert_eq!(obj.labels().unwrap(), Some(json!({"app": "web"})));
        let none = to_store(&json!({"metadata": {"name": "a"}}));
        assert_eq!(StoredObject::locate(&none).unwrap().labels().unwrap(), None);
        let absent = to_store(&json!({"spec": {}}));
        assert_eq!(
            StoredObject::locate(&absent).unwrap().labels().unwrap(),
            None
        );
    }
}
