//! The `FieldsV1` encoding of a field set, as stored in `metadata.managedFields[].fieldsV1`:
//! `{"f:spec":{"f:containers":{"k:{\"name\":\"web\"}":{".":{},"f:image":{}}}}}`. `f:` names a
//! field, `k:` a keyed list item, `v:` a set item, `i:` an item by index; `.` marks a node that
//! is itself a member and also has members below it.

use serde_json::{Map, Value};

use super::fieldset::{FieldSet, PathElement};

/// Why a `fieldsV1` value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldsV1Error {
    /// A node is not a JSON object.
    #[error("expected an object at {0:?}")]
    NotObject(String),
    /// A key has no known `f:`/`k:`/`v:`/`i:` prefix or an unreadable value.
    #[error("unparseable path element {0:?}")]
    BadElement(String),
}

/// The `fieldsV1` JSON of a set, keys in upstream's order.
pub fn encode(set: &FieldSet) -> Value {
    Value::Object(contents(set, false))
}

fn contents(set: &FieldSet, include_self: bool) -> Map<String, Value> {
    let mut out = Map::new();
    if include_self && !set.is_empty() {
        out.insert(".".into(), Value::Object(Map::new()));
    }
    let mut members = set.members().peekable();
    let mut children = set.children().peekable();
    loop {
        let take_member = match (members.peek(), children.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(m), Some((c, _))) => m < c,
        };
        if take_member {
            let m = members.next().expect("peeked");
            out.insert(element_key(m), Value::Object(Map::new()));
        } else {
            let (pe, child) = children.next().expect("peeked");
            let also_member = members.peek().is_some_and(|m| *m == pe);
            if also_member {
                members.next();
            }
            out.insert(element_key(pe), Value::Object(contents(child, also_member)));
        }
    }
    out
}

/// The `fieldsV1` key of one element: `f:name`, `k:{"name":"web"}`, `v:"a"`, `i:0`.
pub fn element_key(pe: &PathElement) -> String {
    match pe {
        PathElement::Field(name) => format!("f:{name}"),
        PathElement::Key(fields) => {
            let obj: Map<String, Value> = fields.iter().cloned().collect();
            format!("k:{}", Value::Object(obj))
        }
        PathElement::Value(v) => format!("v:{v}"),
        PathElement::Index(i) => format!("i:{i}"),
    }
}

/// Reads a `fieldsV1` JSON value.
pub fn decode(value: &Value) -> Result<FieldSet, FieldsV1Error> {
    read(value, "").map(|(set, _)| set)
}

fn read(value: &Value, at: &str) -> Result<(FieldSet, bool), FieldsV1Error> {
    let obj = value
        .as_object()
        .ok_or_else(|| FieldsV1Error::NotObject(at.to_string()))?;
    let mut set = FieldSet::new();
    let mut itself = false;
    for (key, sub) in obj {
        if key == "." {
            itself = true;
            continue;
        }
        let pe = parse_element(key)?;
        let (child, marked) = read(sub, key)?;
        if child.is_empty() || marked {
            set.insert_member(pe.clone());
        }
        set.insert_child(pe, child);
    }
    Ok((set, itself))
}

/// Parses one `fieldsV1` key.
pub fn parse_element(key: &str) -> Result<PathElement, FieldsV1Error> {
    let bad = || FieldsV1Error::BadElement(key.to_string());
    let (prefix, rest) = key.split_once(':').ok_or_else(bad)?;
    match prefix {
        "f" => Ok(PathElement::Field(rest.to_string())),
        "k" => {
            let v: Value = serde_json::from_str(rest).map_err(|_| bad())?;
            let obj = v.as_object().ok_or_else(bad)?;
            let mut fields: Vec<(String, Value)> =
                obj.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(PathElement::Key(fields))
        }
        "v" => serde_json::from_str(rest)
            .map(PathElement::Value)
            .map_err(|_| bad()),
        "i" => rest.parse().map(PathElement::Index).map_err(|_| bad()),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keyed_list_items_encode_with_dot_for_the_item_itself() {
        let raw = json!({
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}}}
        });
        let set = decode(&raw).unwrap();
        let web = PathElement::Key(vec![("name".into(), json!("web"))]);
        let item = vec![
            PathElement::Field("spec".into()),
            PathElement::Field("containers".into()),
            web,
        ];
        assert!(set.has(&item));
        assert_eq!(encode(&set), raw);
        assert_eq!(
            serde_json::to_string(&encode(&set)).unwrap(),
            serde_json::to_string(&raw).unwrap()
        );
    }

    #[test]
    fn set_items_and_multi_field_keys_round_trip() {
        let raw = json!({
            "f:metadata": {"f:finalizers": {".": {}, "v:\"a/b\"": {}, "v:\"c\"": {}}},
            "f:spec": {"f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}}}}
        });
        let set = decode(&raw).unwrap();
        assert_eq!(encode(&set), raw);
        assert_eq!(
            element_key(&PathElement::Key(vec![
                ("port".into(), json!(80)),
                ("protocol".into(), json!("TCP"))
            ])),
            "k:{\"port\":80,\"protocol\":\"TCP\"}"
        );
    }

    #[test]
    fn unknown_prefix_is_rejected() {
        assert!(matches!(
            decode(&json!({"x:y": {}})),
            Err(FieldsV1Error::BadElement(_))
        ));
        assert!(matches!(
            decode(&json!({"f:a": 1})),
            Err(FieldsV1Error::NotObject(_))
        ));
    }
}
