//! What server-side apply needs to know about an object's schema: how each list merges and
//! which objects are atomic, and how a list item is named in a field path.

use serde_json::Value;

use super::fieldset::PathElement;
use crate::patch::schema::{self, ListKind};
use crate::registry::KindInfo;

/// The schema facts apply's walks consult. `path` is object keys from the root with list levels
/// skipped (`["spec", "containers", "ports"]`).
pub trait Shape {
    /// How the list at `path` merges.
    fn list_kind(&self, path: &[&str]) -> ListKind;
    /// Whether the object at `path` (or each item of the list at `path`) is owned as a whole
    /// (`+structType=atomic`, `+mapType=atomic`).
    fn atomic_object(&self, path: &[&str]) -> bool;
}

/// The shape of a served kind, from the patch schema's type tree.
#[derive(Debug, Clone, Copy)]
pub struct KindShape<'a>(pub &'a KindInfo);

impl Shape for KindShape<'_> {
    fn list_kind(&self, path: &[&str]) -> ListKind {
        schema::list_kind(self.0, path)
    }

    fn atomic_object(&self, path: &[&str]) -> bool {
        schema::field_merge(self.0, path).is_some_and(|m| m.map_type == Some("atomic"))
            || schema::type_at(self.0, path).is_some_and(schema::is_atomic_struct)
    }
}

/// Why a list item cannot be named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemError {
    /// A keyed list item lacks a key field that has no default.
    #[error("associative list with keys has an element that omits key field {0:?} (and doesn't have default value)")]
    MissingKey(String),
    /// A keyed list item is not an object.
    #[error("associative list with keys may only contain objects")]
    NotObject,
    /// A set item is not a scalar.
    #[error("associative list without keys may only contain scalars")]
    NotScalar,
}

/// Default values of list key fields (upstream's schema defaults: ports' `protocol` is `TCP`).
fn key_default(field: &str) -> Option<Value> {
    (field == "protocol").then(|| Value::from("TCP"))
}

/// The path element naming `item` in a list of kind `kind`.
pub fn item_element(kind: ListKind, item: &Value) -> Result<PathElement, ItemError> {
    match kind {
        ListKind::Map { keys, .. } => {
            let obj = item.as_object().ok_or(ItemError::NotObject)?;
            let mut fields = Vec::with_capacity(keys.len());
            for key in keys {
                let v = match obj.get(*key) {
                    Some(v) => v.clone(),
                    None => {
                        key_default(key).ok_or_else(|| ItemError::MissingKey(key.to_string()))?
                    }
                };
                fields.push((key.to_string(), v));
            }
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(PathElement::Key(fields))
        }
        ListKind::Set | ListKind::Atomic => match item {
            Value::Array(_) | Value::Object(_) => Err(ItemError::NotScalar),
            v => Ok(PathElement::Value(v.clone())),
        },
    }
}

/// Path elements of a live list's items; an item that cannot be named gets its index, so it
/// is carried along but never matched.
pub fn live_elements(kind: ListKind, items: &[Value]) -> Vec<PathElement> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| item_element(kind, item).unwrap_or(PathElement::Index(i)))
        .collect()
}

/// A shape given by closures, for tests over made-up objects.
#[cfg(test)]
pub struct FakeShape {
    /// List kinds by dotted path (`spec.containers`).
    pub lists: Vec<(&'static str, ListKind)>,
    /// Atomic objects by dotted path.
    pub atomic: Vec<&'static str>,
}

#[cfg(test)]
impl FakeShape {
    /// Keyed `spec.containers` (by name), set `metadata.finalizers`, atomic `spec.selector`.
    pub fn pod_like() -> Self {
        FakeShape {
            lists: vec![
                (
                    "spec.containers",
                    ListKind::Map {
                        merge_key: "name",
                        keys: &["name"],
                    },
                ),
                ("metadata.finalizers", ListKind::Set),
            ],
            atomic: vec!["spec.selector"],
        }
    }
}

#[cfg(test)]
impl Shape for FakeShape {
    fn list_kind(&self, path: &[&str]) -> ListKind {
        let dotted = path.join(".");
        self.lists
            .iter()
            .find(|(p, _)| *p == dotted)
            .map_or(ListKind::Atomic, |(_, k)| *k)
    }

    fn atomic_object(&self, path: &[&str]) -> bool {
        self.atomic.contains(&path.join(".").as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry;
    use serde_json::json;

    #[test]
    fn port_keys_take_the_tcp_default_and_sort_by_name() {
        let kind = ListKind::Map {
            merge_key: "containerPort",
            keys: &["containerPort", "protocol"],
        };
        let pe = item_element(kind, &json!({"containerPort": 80})).unwrap();
        assert_eq!(
            pe,
            PathElement::Key(vec![
                ("containerPort".into(), json!(80)),
                ("protocol".into(), json!("TCP"))
            ])
        );
        let names = ListKind::Map {
            merge_key: "name",
            keys: &["name"],
        };
        assert_eq!(
            item_element(names, &json!({"image": "x"})),
            Err(ItemError::MissingKey("name".into()))
        );
    }

    #[test]
    fn served_kinds_know_keyed_lists_and_atomic_selectors() {
        let deploy = registry::by_kind("apps", "Deployment").unwrap();
        let shape = KindShape(deploy);
        assert!(matches!(
            shape.list_kind(&["spec", "template", "spec", "containers"]),
            ListKind::Map { .. }
        ));
        assert!(shape.atomic_object(&["spec", "selector"]));
        assert!(!shape.atomic_object(&["spec", "template"]));
    }
}
