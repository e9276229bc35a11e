//! Where served kinds' lists merge by key: the patch merge keys and strategies upstream's Go
//! types declare (`patchMergeKey`, `patchStrategy`, `listType`, `listMapKeys`, `mapType`).
//!
//! The markers live on a small type tree keyed by OpenAPI schema name
//! (`io.k8s.api.core.v1.PodSpec`), so a path such as `spec.template.spec.containers[*].env`
//! resolves through the types it crosses.

mod fields;
mod types;

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::registry::KindInfo;

/// How a list field merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// Replaced as a whole.
    Atomic,
    /// A list of primitives merged as a set (`finalizers`).
    Set,
    /// A list of objects merged by key: `merge_key` for strategic merge patch, `keys` for
    /// server-side apply (`listMapKeys`).
    Map {
        /// The strategic merge patch key (`name`, `containerPort`).
        merge_key: &'static str,
        /// Server-side apply's key fields.
        keys: &'static [&'static str],
    },
}

/// The merge markers of one field, as upstream's OpenAPI extensions carry them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldMerge {
    /// `x-kubernetes-patch-merge-key` (`+patchMergeKey`).
    pub patch_merge_key: Option<&'static str>,
    /// `x-kubernetes-patch-strategy` (`merge`, `retainKeys`, `merge,retainKeys`).
    pub patch_strategy: Option<&'static str>,
    /// `x-kubernetes-list-type` (`atomic`, `set`, `map`).
    pub list_type: Option<&'static str>,
    /// `x-kubernetes-list-map-keys` (empty unless `list_type` is `map`).
    pub list_map_keys: &'static [&'static str],
    /// `x-kubernetes-map-type` of a map-valued field (`atomic`).
    pub map_type: Option<&'static str>,
}

impl FieldMerge {
    /// The `x-kubernetes-*` extensions to add to the field's OpenAPI property.
    pub fn extensions(&self) -> Map<String, Value> {
        let mut out = Map::new();
        if let Some(k) = self.patch_merge_key {
            out.insert("x-kubernetes-patch-merge-key".into(), k.into());
        }
        if let Some(s) = self.patch_strategy {
            out.insert("x-kubernetes-patch-strategy".into(), s.into());
        }
        if let Some(t) = self.list_type {
            out.insert("x-kubernetes-list-type".into(), t.into());
        }
        if !self.list_map_keys.is_empty() {
            let keys = self.list_map_keys.iter().map(|k| Value::from(*k)).collect();
            out.insert("x-kubernetes-list-map-keys".into(), Value::Array(keys));
        }
        if let Some(t) = self.map_type {
            out.insert("x-kubernetes-map-type".into(), t.into());
        }
        out
    }

    /// How server-side apply merges the list (`listType`; no marker means atomic).
    pub fn ssa_list_kind(&self) -> ListKind {
        match self.list_type {
            Some("set") => ListKind::Set,
            Some("map") if !self.list_map_keys.is_empty() => ListKind::Map {
                merge_key: self.patch_merge_key.unwrap_or(self.list_map_keys[0]),
                keys: self.list_map_keys,
            },
            _ => ListKind::Atomic,
        }
    }

    /// Whether the patch strategy contains `merge` (strategic merge patch merges the list).
    pub fn merges(&self) -> bool {
        self.has_strategy("merge")
    }

    /// Whether the patch strategy contains `retainKeys`.
    pub fn retains_keys(&self) -> bool {
        self.has_strategy("retainKeys")
    }

    fn has_strategy(&self, s: &str) -> bool {
        self.patch_strategy
            .is_some_and(|p| p.split(',').any(|part| part == s))
    }
}

/// One field of a type in the tree.
#[derive(Debug)]
struct Field {
    name: &'static str,
    /// The field's type (the element type of a list) when it is an object in the tree.
    ty: Option<&'static str>,
    merge: FieldMerge,
}

/// One Go type: its OpenAPI name, whether it is `+structType=atomic`, its marked fields.
#[derive(Debug)]
struct TypeDef {
    name: &'static str,
    atomic: bool,
    fields: &'static [Field],
}

fn index() -> &'static HashMap<&'static str, &'static TypeDef> {
    static INDEX: OnceLock<HashMap<&'static str, &'static TypeDef>> = OnceLock::new();
    INDEX.get_or_init(|| {
        types::TYPES
            .iter()
            .flat_map(|group| group.iter())
            .map(|t| (t.name, t))
            .collect()
    })
}

fn field(type_name: &str, name: &str) -> Option<&'static Field> {
    index()
        .get(type_name)?
        .fields
        .iter()
        .find(|f| f.name == name)
}

/// The OpenAPI schema name of a served kind's object (`io.k8s.api.apps.v1.Deployment`).
pub fn root_type(kind: &KindInfo) -> String {
    let package = match kind.group {
        "" => "core",
        g => g.split('.').next().unwrap_or(g),
    };
    format!("io.k8s.api.{package}.{}.{}", kind.version, kind.kind)
}

/// The static name of a type the tree knows (`io.k8s.api.core.v1.PodSpec`), if it does.
pub fn type_known(type_name: &str) -> Option<&'static str> {
    index().get(type_name).map(|t| t.name)
}

/// The merge markers of `field` in the type named `type_name` (OpenAPI name, e.g.
/// `io.k8s.api.core.v1.PodSpec`, `containers`), if it has any.
pub fn field_extensions(type_name: &str, field_name: &str) -> Option<FieldMerge> {
    let f = field(type_name, field_name)?;
    let m = f.merge;
    let marked = m.patch_merge_key.is_some()
        || m.patch_strategy.is_some()
        || m.list_type.is_some()
        || m.map_type.is_some();
    marked.then_some(m)
}

/// The OpenAPI name of the type of `field` in `type_name` (the element type for lists), when
/// the tree knows it.
pub fn field_type(type_name: &str, field_name: &str) -> Option<&'static str> {
    field(type_name, field_name)?.ty
}

/// Whether the type is `+structType=atomic` (`x-kubernetes-map-type: atomic`), e.g.
/// `io.k8s.api.core.v1.LocalObjectReference`, `io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector`.
pub fn is_atomic_struct(type_name: &str) -> bool {
    index().get(type_name).is_some_and(|t| t.atomic)
}

/// The OpenAPI name of the type at `path` in an object of `kind` (list levels skipped).
pub fn type_at(kind: &KindInfo, path: &[&str]) -> Option<&'static str> {
    let root = root_type(kind);
    let mut ty: &'static str = index().get(root.as_str())?.name;
    for seg in path {
        ty = field_type(ty, seg)?;
    }
    Some(ty)
}

/// The merge markers of the field at `path` (object keys from the root, list levels skipped)
/// in an object of `kind`.
pub fn field_merge(kind: &KindInfo, path: &[&str]) -> Option<FieldMerge> {
    let (last, parents) = path.split_last()?;
    let parent = type_at(kind, parents)?;
    field_extensions(parent, last)
}

/// Server-side apply's list kind of the field at `path` (object keys from the root, list
/// levels skipped: `["spec", "containers", "ports"]`) in an object of `kind`. Lists without a
/// `listType` marker, and unknown fields, are atomic. For `Map`, `merge_key` is the strategic
/// merge patch key when one is declared, else the first list map key.
pub fn list_kind(kind: &KindInfo, path: &[&str]) -> ListKind {
    field_merge(kind, path).map_or(ListKind::Atomic, |m| m.ssa_list_kind())
}

/// Whether the map at `path` has the `retainKeys` patch strategy (pod volumes, deployment
/// strategy).
pub fn retains_keys(kind: &KindInfo, path: &[&str]) -> bool {
    field_merge(kind, path).is_some_and(|m| m.retains_keys())
}

#[cfg(test)]
mod tests;
