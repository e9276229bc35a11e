//! Field sets read from objects: the set an applied configuration claims (upstream's
//! `ToFieldSet`) and the fields a write added, changed or removed (upstream's `Compare`).

use serde_json::{Map, Value};

use super::fieldset::{path_string, FieldSet, PathElement};
use super::shape::{item_element, live_elements, ItemError, Shape};
use crate::patch::schema::ListKind;

/// Where a walk is: field names for schema look-ups and the full path for sets and errors.
#[derive(Debug, Default)]
pub(crate) struct Cursor<'a> {
    pub names: Vec<&'a str>,
    pub path: Vec<PathElement>,
}

impl<'a> Cursor<'a> {
    pub fn push_field(&mut self, name: &'a str) {
        self.names.push(name);
        self.path.push(PathElement::Field(name.to_string()));
    }

    pub fn pop_field(&mut self) {
        self.names.pop();
        self.path.pop();
    }
}

/// An applied configuration that cannot be read as a typed object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A list item cannot be named by its keys.
    #[error("{path}: element {index}: {source}")]
    Item {
        /// The list's path.
        path: String,
        /// The item's position.
        index: usize,
        /// Why.
        source: ItemError,
    },
    /// Two items of a keyed or set list have the same key.
    #[error("{path}: duplicate entries for key {element}")]
    Duplicate {
        /// The list's path.
        path: String,
        /// The repeated key, as upstream prints it.
        element: String,
    },
}

/// The fields `config` sets: scalars, nulls, empty objects, atomic lists and objects are
/// members; keyed and set list items are members and carry their fields below them.
pub fn to_field_set(shape: &dyn Shape, config: &Value) -> Result<FieldSet, ConfigError> {
    let mut set = FieldSet::new();
    if let Value::Object(map) = config {
        object_fields(shape, &mut Cursor::default(), map, &mut set)?;
    }
    Ok(set)
}

fn object_fields<'a>(
    shape: &dyn Shape,
    cur: &mut Cursor<'a>,
    map: &'a Map<String, Value>,
    out: &mut FieldSet,
) -> Result<(), ConfigError> {
    for (key, value) in map {
        cur.push_field(key);
        let mut child = FieldSet::new();
        let member = value_fields(shape, cur, value, &mut child);
        cur.pop_field();
        let pe = PathElement::Field(key.clone());
        if member? {
            out.insert_member(pe.clone());
        }
        out.insert_child(pe, child);
    }
    Ok(())
}

/// Fills `out` with the fields below `value`; answers whether `value` itself is a member.
fn value_fields<'a>(
    shape: &dyn Shape,
    cur: &mut Cursor<'a>,
    value: &'a Value,
    out: &mut FieldSet,
) -> Result<bool, ConfigError> {
    match value {
        Value::Object(map) if map.is_empty() || shape.atomic_object(&cur.names) => Ok(true),
        Value::Object(map) => object_fields(shape, cur, map, out).map(|_| false),
        Value::Array(items) => match shape.list_kind(&cur.names) {
            ListKind::Atomic => Ok(true),
            kind => list_fields(shape, cur, kind, items, out).map(|_| false),
        },
        _ => Ok(true),
    }
}

fn list_fields<'a>(
    shape: &dyn Shape,
    cur: &mut Cursor<'a>,
    kind: ListKind,
    items: &'a [Value],
    out: &mut FieldSet,
) -> Result<(), ConfigError> {
    let atomic_items = shape.atomic_object(&cur.names);
    for (index, item) in items.iter().enumerate() {
        let pe = item_element(kind, item).map_err(|source| ConfigError::Item {
            path: path_string(&cur.path),
            index,
            source,
        })?;
        if out.has_member(&pe) {
            return Err(ConfigError::Duplicate {
                path: path_string(&cur.path),
                element: pe.to_string(),
            });
        }
        let mut child = FieldSet::new();
        if let (Value::Object(map), false) = (item, atomic_items) {
            cur.path.push(pe.clone());
            let r = object_fields(shape, cur, map, &mut child);
            cur.path.pop();
            r?;
        }
        out.insert_member(pe.clone());
        out.insert_child(pe, child);
    }
    Ok(())
}

/// What a write did, field by field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Present only after the write (leaves, and objects or list items that appeared).
    pub added: FieldSet,
    /// Leaves present on both sides with different values.
    pub modified: FieldSet,
    /// Present only before the write.
    pub removed: FieldSet,
}

impl Comparison {
    /// Added or modified fields.
    pub fn changed(&self) -> FieldSet {
        self.added.union(&self.modified)
    }

    /// The comparison without the fields at and below `ignored`'s members.
    pub fn without(&self, ignored: &FieldSet) -> Comparison {
        Comparison {
            added: self.added.recursive_difference(ignored),
            modified: self.modified.recursive_difference(ignored),
            removed: self.removed.recursive_difference(ignored),
        }
    }
}

/// Fields upstream's empty object already has on create (non-pointer structs), which a
/// create therefore does not add as members.
const ALWAYS_PRESENT: &[&str] = &[
    "metadata",
    "spec",
    "status",
    "template",
    "strategy",
    "updateStrategy",
];

/// Compares the object before and after a write.
pub fn compare(shape: &dyn Shape, old: &Value, new: &Value) -> Comparison {
    let mut out = Comparison::default();
    compare_node(
        shape,
        &mut Cursor::default(),
        Some(old),
        Some(new),
        &mut out,
    );
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Node {
    Absent,
    Leaf,
    Object,
    List(ListKind),
}

fn node(shape: &dyn Shape, cur: &Cursor<'_>, v: Option<&Value>) -> Node {
    match v {
        None => Node::Absent,
        Some(Value::Object(m)) if !m.is_empty() && !shape.atomic_object(&cur.names) => Node::Object,
        Some(Value::Array(a)) if !a.is_empty() => match shape.list_kind(&cur.names) {
            ListKind::Atomic => Node::Leaf,
            k => Node::List(k),
        },
        Some(Value::Object(_)) | Some(Value::Array(_)) => Node::Absent,
        Some(_) => Node::Leaf,
    }
}

fn compare_node<'a>(
    shape: &dyn Shape,
    cur: &mut Cursor<'a>,
    old: Option<&'a Value>,
    new: Option<&'a Value>,
    out: &mut Comparison,
) {
    let (l, r) = (node(shape, cur, old), node(shape, cur, new));
    // Empty containers count as leaves, so `{}` and `[]` are owned like values.
    let leaf = matches!(l, Node::Leaf)
        || matches!(r, Node::Leaf)
        || (l == Node::Absent && r == Node::Absent)
        || (l != Node::Absent
            && r != Node::Absent
            && std::mem::discriminant(&l) != std::mem::discriminant(&r));
    if leaf {
        match (old, new) {
            (None, None) => {}
            (None, Some(_)) => out.added.insert(&cur.path),
            (Some(_), None) => out.removed.insert(&cur.path),
            (Some(a), Some(b)) if a != b => out.modified.insert(&cur.path),
            _ => {}
        }
        return;
    }
    match (old, new) {
        (Some(Value::Object(_)), _) | (_, Some(Value::Object(_))) => {
            compare_objects(shape, cur, old, new, out)
        }
        _ => {
            let kind = match (l, r) {
                (Node::List(k), _) | (_, Node::List(k)) => k,
                _ => ListKind::Atomic,
            };
            compare_lists(shape, cur, kind, old, new, out);
        }
    }
    if cur.path.is_empty() {
        return;
    }
    let always_present = matches!(cur.path.last(), Some(PathElement::Field(n)) if ALWAYS_PRESENT.contains(&n.as_str()));
    if old.is_none() && !always_present {
        out.added.insert(&cur.path);
    }
    if new.is_none() {
        out.removed.insert(&cur.path);
    }
}

fn compare_objects<'a>(
    shape: &dyn Shape,
    cur: &mut Cursor<'a>,
    old: Option<&'a Value>,
    new: Option<&'a Value>,
    out: &mut Comparison,
) {
    let lm = old.and_then(Value::as_object);
    let rm = new.and_then(Value::as_object);
    for (key, lv) in lm.into_iter().flatten() {
        cur.push_field(key);
        compare_node(shape, cur, Some(lv), rm.and_then(|m| m.get(key)), out);
        cur.pop_field();
    }
    for (key, rv) in rm.into_iter().flatten() {
        if !lm.is_some_and(|m| m.contains_key(key)) {
            cur.push_field(key);
            compare_node(shape, cur, None, Some(rv), out);
            cur.pop_field();
        }
    }
}

fn compare_lists<'a>(
    shape: &dyn Shape,
    cur: &mut Cursor<'a>,
    kind: ListKind,
    old: Option<&'a Value>,
    new: Option<&'a Value>,
    out: &mut Comparison,
) {
    let la: &'a [Value] = old.and_then(Value::as_array).map_or(&[], Vec::as_slice);
    let ra: &'a [Value] = new.and_then(Value::as_array).map_or(&[], Vec::as_slice);
    let lpe = live_elements(kind, la);
    let rpe = live_elements(kind, ra);
    let atomic_items = shape.atomic_object(&cur.names);
    let find = |pes: &[PathElement], items: &'a [Value], pe: &PathElement| {
        pes.iter().position(|p| p == pe).map(|i| &items[i])
    };
    let mut seen: Vec<&PathElement> = Vec::new();
    for pe in lpe.iter().chain(rpe.iter()) {
        if seen.contains(&pe) {
            continue;
        }
        seen.push(pe);
        let (lv, rv) = (find(&lpe, la, pe), find(&rpe, ra, pe));
        cur.path.push(pe.clone());
        if atomic_items {
            match (lv, rv) {
                (None, Some(_)) => out.added.insert(&cur.path),
                (Some(_), None) => out.removed.insert(&cur.path),
                (Some(a), Some(b)) if a != b => out.modified.insert(&cur.path),
                _ => {}
            }
        } else {
            compare_item(shape, cur, lv, rv, out);
        }
        cur.path.pop();
    }
}

/// A list item: its fields compare like an object's, and the item itself is added or removed.
fn compare_item<'a>(
    shape: &dyn Shape,
    cur: &mut Cursor<'a>,
    old: Option<&'a Value>,
    new: Option<&'a Value>,
    out: &mut Comparison,
) {
    let objects = old.is_none_or(Value::is_object) && new.is_none_or(Value::is_object);
    if objects {
        compare_objects(shape, cur, old, new, out);
    } else if let (Some(a), Some(b)) = (old, new) {
        if a != b {
            out.modified.insert(&cur.path);
        }
    }
    if old.is_none() {
        out.added.insert(&cur.path);
    }
    if new.is_none() {
        out.removed.insert(&cur.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::fields_v1::encode;
    use crate::apply::shape::FakeShape;
    use serde_json::json;

    #[test]
    fn config_field_set_names_keyed_items_and_set_values() {
        let config = json!({
            "metadata": {"name": "x", "labels": {"app": "web"}, "finalizers": ["a", "b"]},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "containers": [{"name": "web", "image": "nginx"}],
                "args": ["x"],
                "securityContext": {}
            }
        });
        let set = to_field_set(&FakeShape::pod_like(), &config).unwrap();
        assert_eq!(
            encode(&set),
            json!({
                "f:metadata": {
                    "f:finalizers": {"v:\"a\"": {}, "v:\"b\"": {}},
                    "f:labels": {"f:app": {}},
                    "f:name": {}
                },
                "f:spec": {
                    "f:args": {},
                    "f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}},
                    "f:securityContext": {},
                    "f:selector": {}
                }
            })
        );
    }

    #[test]
    fn duplicate_keys_and_missing_keys_are_config_errors() {
        let dup = json!({"spec": {"containers": [{"name": "a"}, {"name": "a"}]}});
        let err = to_field_set(&FakeShape::pod_like(), &dup).unwrap_err();
        assert_eq!(
            err.to_string(),
            ".spec.containers: duplicate entries for key [name=\"a\"]"
        );
        let missing = json!({"spec": {"containers": [{"image": "a"}]}});
        assert!(matches!(
            to_field_set(&FakeShape::pod_like(), &missing),
            Err(ConfigError::Item { index: 0, .. })
        ));
    }

    #[test]
    fn compare_reports_added_items_changed_leaves_and_removed_fields() {
        let old = json!({"spec": {"replicas": 1, "paused": true, "containers": [{"name": "a", "image": "x"}]}});
        let new = json!({"spec": {"replicas": 2, "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}});
        let c = compare(&FakeShape::pod_like(), &old, &new);
        assert_eq!(encode(&c.modified), json!({"f:spec": {"f:replicas": {}}}));
        assert_eq!(encode(&c.removed), json!({"f:spec": {"f:paused": {}}}));
        assert_eq!(
            encode(&c.added),
            json!({"f:spec": {"f:containers": {"k:{\"name\":\"b\"}": {".": {}, "f:image": {}, "f:name": {}}}}})
        );
    }

    #[test]
    fn create_adds_new_maps_as_members_but_not_always_present_structs() {
        let new = json!({"metadata": {"labels": {"app": "a"}}, "spec": {"x": 1}});
        let c = compare(&FakeShape::pod_like(), &json!({}), &new);
        assert_eq!(
            encode(&c.added),
            json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}}, "f:spec": {"f:x": {}}})
        );
    }
}
