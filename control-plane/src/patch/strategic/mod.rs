//! Strategic merge patch as upstream's `strategicpatch.StrategicMergeMapPatch` applies it:
//! maps merge recursively and `null` deletes; lists merge by the field's patch merge key,
//! as a set for primitive merge lists, or are replaced; directives `$patch`,
//! `$setElementOrder/<list>`, `$retainKeys` and `$deleteFromPrimitiveList/<list>`.

mod list;
mod order;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use super::schema::{field_extensions, field_type, FieldMerge};

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";

/// Why a strategic merge patch was rejected; texts as upstream's `mergepatch` errors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SmpError {
    /// The patch document is not an object.
    #[error("invalid JSON document")]
    BadJsonDoc,
    /// A `$patch` value that is not allowed where it appears.
    #[error("unknown patch type: {directive} in map: {map}")]
    BadPatchType {
        /// The directive value.
        directive: String,
        /// The map that carried it.
        map: String,
    },
    /// `$patch: merge` inside a list.
    #[error("merging lists cannot yet be specified in the patch")]
    MergeDirectiveInList,
    /// A list element without the list's merge key.
    #[error("map: {map} does not contain declared merge key: {key}")]
    NoMergeKey {
        /// The element.
        map: String,
        /// The merge key.
        key: String,
    },
    /// `$deleteFromPrimitiveList/` malformed.
    #[error("invalid patch format of primitive list")]
    BadPrimitiveList,
    /// `$retainKeys` not a list.
    #[error("invalid patch format of retainKeys")]
    BadRetainKeys,
    /// `$setElementOrder/` malformed or not matching its list.
    #[error("invalid patch format of setElementOrder list")]
    BadSetElementOrder,
    /// A key set by the patch is missing from `$retainKeys`.
    #[error("patch content doesn't match retainKeys list")]
    ContentNotMatchRetainKeys,
    /// A list whose elements are lists.
    #[error("lists of lists are not supported")]
    ListOfLists,
    /// A list mixing element types.
    #[error("list element types are not identical: {0}")]
    MixedElements(String),
    /// A list of objects with the merge strategy but no merge key.
    #[error("cannot merge lists without merge key for {0}")]
    NoMergeKeyDeclared(String),
}

impl SmpError {
    /// Whether upstream answers 422 (content that cannot be applied) rather than 400.
    pub fn is_unprocessable(&self) -> bool {
        matches!(
            self,
            SmpError::ListOfLists | SmpError::ContentNotMatchRetainKeys
        )
    }
}

/// Where in the type tree a value sits: the OpenAPI name of its type, if known.
pub type TypeRef = Option<&'static str>;

/// Applies `patch` to `original` whose type is `root` (`io.k8s.api.core.v1.Pod`).
pub fn apply(original: &Value, patch: &Value, root: TypeRef) -> Result<Value, SmpError> {
    let Value::Object(patch) = patch else {
        return Err(SmpError::BadJsonDoc);
    };
    let original = match original {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    merge_map(original, patch.clone(), root).map(Value::Object)
}

/// The merge markers and element/child type of `key` under `ty`.
fn lookup(ty: TypeRef, key: &str) -> (Option<FieldMerge>, TypeRef) {
    match ty {
        Some(t) => (field_extensions(t, key), field_type(t, key)),
        None => (None, None),
    }
}

fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    ty: TypeRef,
) -> Result<Map<String, Value>, SmpError> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        return match directive.as_str() {
            Some("replace") => {
                patch.shift_remove(DIRECTIVE);
                merge_map(Map::new(), patch, ty)
            }
            Some("delete") => Ok(Map::new()),
            _ => Err(bad_patch_type(directive, &patch)),
        };
    }
    apply_retain_keys(&mut original, &mut patch)?;
    list::merge_ordered_lists(&mut original, &mut patch, ty)?;

    for (key, patch_v) in patch {
        let (key, delete_list) = match key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
            Some("") => return Err(SmpError::BadPrimitiveList),
            Some(k) => (k.to_string(), true),
            None => (key, false),
        };
        if patch_v.is_null() {
            original.shift_remove(&key);
            continue;
        }
        let (merge, child) = lookup(ty, &key);
        let Some(slot) = original.get_mut(&key) else {
            if !delete_list {
                let v = fresh(patch_v, merge, child)?;
                original.insert(key, v);
            }
            continue;
        };
        // Replacing the value in its slot keeps the key where it was.
        *slot = match (std::mem::take(slot), patch_v) {
            (Value::Object(o), Value::Object(p)) => merge_map_field(o, p, merge, child)?,
            (Value::Array(o), Value::Array(p)) => {
                Value::Array(list::merge_list_field(o, p, merge, child, delete_list)?)
            }
            (o, _) if delete_list => o,
            (_, p) => fresh(p, merge, child)?,
        };
    }
    Ok(original)
}

fn merge_map_field(
    original: Map<String, Value>,
    patch: Map<String, Value>,
    merge: Option<FieldMerge>,
    child: TypeRef,
) -> Result<Value, SmpError> {
    let replace = merge.and_then(|m| m.patch_strategy) == Some("replace");
    if replace {
        return merge_map(Map::new(), patch, child).map(Value::Object);
    }
    merge_map(original, patch, child).map(Value::Object)
}

/// A patch value for a key the original lacks (or holds with another type): its directives
/// are applied against nothing and its `null`s dropped.
fn fresh(patch: Value, merge: Option<FieldMerge>, child: TypeRef) -> Result<Value, SmpError> {
    match patch {
        Value::Object(p) => merge_map(Map::new(), p, child).map(Value::Object),
        Value::Array(p) => {
            list::merge_list_field(Vec::new(), p, merge, child, false).map(Value::Array)
        }
        other => Ok(other),
    }
}

fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), SmpError> {
    let Some(retain) = patch.shift_remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let keep: Vec<String> = match retain {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(SmpError::BadRetainKeys),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(SmpError::BadRetainKeys),
    };
    let sets_unlisted = patch
        .iter()
        .any(|(k, v)| !k.starts_with('$') && !v.is_null() && !keep.contains(k));
    if sets_unlisted {
        return Err(SmpError::ContentNotMatchRetainKeys);
    }
    original.retain(|k, _| keep.contains(k));
    Ok(())
}

fn bad_patch_type(directive: &Value, map: &Map<String, Value>) -> SmpError {
    SmpError::BadPatchType {
        directive: directive
            .as_str()
            .map_or_else(|| directive.to_string(), str::to_string),
        map: Value::Object(map.clone()).to_string(),
    }
}
