//! List merging of strategic merge patch: by merge key, as a set, or replaced; list
//! directives (`$patch` elements, `$setElementOrder/`, `$deleteFromPrimitiveList/`).

use serde_json::{Map, Value};

use super::order::{index_of, normalize, partition};
use super::{bad_patch_type, lookup, merge_map, SmpError, TypeRef, DIRECTIVE, SET_ELEMENT_ORDER};
use crate::patch::schema::FieldMerge;

/// Merges a patch list into the original list of a field with markers `merge`.
pub(super) fn merge_list_field(
    original: Vec<Value>,
    patch: Vec<Value>,
    merge: Option<FieldMerge>,
    elem: TypeRef,
    delete_list: bool,
) -> Result<Vec<Value>, SmpError> {
    if !merge.is_some_and(|m| m.merges()) && !delete_list {
        return Ok(patch);
    }
    let key = merge.and_then(|m| m.patch_merge_key);
    merge_slice(original, patch, key, elem, delete_list)
}

fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    key: Option<&str>,
    elem: TypeRef,
    delete_list: bool,
) -> Result<Vec<Value>, SmpError> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let objects = elements_are_objects(&original, &patch)?;
    if !objects {
        if delete_list {
            return Ok(original
                .into_iter()
                .filter(|v| !patch.contains(v))
                .collect());
        }
        let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
        for v in original.iter().chain(&patch) {
            if !merged.contains(v) {
                merged.push(v.clone());
            }
        }
        let (in_patch, server_only) = partition(merged, &patch, None);
        return Ok(normalize(in_patch, server_only, &patch, &original, None));
    }
    let key = key.ok_or_else(|| {
        SmpError::NoMergeKeyDeclared(elem.unwrap_or("an unknown type").to_string())
    })?;
    let (original, patch) = apply_special_elements(original, patch, key)?;
    let merged = merge_by_key(original.clone(), &patch, key, elem)?;
    let (in_patch, server_only) = partition(merged, &patch, Some(key));
    Ok(normalize(
        in_patch,
        server_only,
        &patch,
        &original,
        Some(key),
    ))
}

/// Whether the lists hold objects (`true`) or scalars; lists of lists and mixed lists fail.
fn elements_are_objects(original: &[Value], patch: &[Value]) -> Result<bool, SmpError> {
    let mut kind: Option<u8> = None;
    for v in original.iter().chain(patch) {
        let k = match v {
            Value::Array(_) => return Err(SmpError::ListOfLists),
            Value::Object(_) => 0,
            Value::String(_) => 1,
            Value::Number(_) => 2,
            Value::Bool(_) => 3,
            Value::Null => 4,
        };
        match kind {
            None => kind = Some(k),
            Some(prev) if prev != k => {
                let all: Vec<Value> = original.iter().chain(patch).cloned().collect();
                return Err(SmpError::MixedElements(Value::Array(all).to_string()));
            }
            Some(_) => {}
        }
    }
    Ok(kind == Some(0))
}

/// Handles `$patch` elements: `delete` removes the original entries with that key,
/// `replace` makes the remaining patch elements the whole list. Returns the new original and
/// the patch without directive elements.
fn apply_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
) -> Result<(Vec<Value>, Vec<Value>), SmpError> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for v in patch {
        let Some(directive) = v.get(DIRECTIVE) else {
            plain.push(v);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let Some(value) = v.get(key) else {
                    return Err(no_merge_key(&v, key));
                };
                original.retain(|o| o.get(key) != Some(value));
            }
            Some("replace") => replace = true,
            Some("merge") => return Err(SmpError::MergeDirectiveInList),
            _ => {
                let map = v.as_object().cloned().unwrap_or_default();
                return Err(bad_patch_type(directive, &map));
            }
        }
    }
    if replace {
        return Ok((plain, Vec::new()));
    }
    Ok((original, plain))
}

/// Merges each patch element into the original element with the same key, or appends it.
fn merge_by_key(
    mut original: Vec<Value>,
    patch: &[Value],
    key: &str,
    elem: TypeRef,
) -> Result<Vec<Value>, SmpError> {
    for v in patch {
        let Value::Object(p) = v else { continue };
        let Some(value) = p.get(key) else {
            return Err(no_merge_key(v, key));
        };
        let found = original.iter().position(|o| o.get(key) == Some(value));
        match found {
            Some(i) => {
                let o = match std::mem::take(&mut original[i]) {
                    Value::Object(o) => o,
                    _ => Map::new(),
                };
                original[i] = Value::Object(merge_map(o, p.clone(), elem)?);
            }
            None => original.push(Value::Object(merge_map(Map::new(), p.clone(), elem)?)),
        }
    }
    Ok(original)
}

/// Processes every `$setElementOrder/<list>` directive of `patch` together with its list,
/// removing both from `patch`: the merged list is ordered as the directive says, entries only
/// the server has keep their place relative to the live list.
pub(super) fn merge_ordered_lists(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    ty: TypeRef,
) -> Result<(), SmpError> {
    let directives: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
        .cloned()
        .collect();
    for directive in directives {
        let field = directive[SET_ELEMENT_ORDER.len()..].to_string();
        let Some(Value::Array(order)) = patch.shift_remove(&directive) else {
            return Err(SmpError::BadSetElementOrder);
        };
        if field.is_empty() {
            return Err(SmpError::BadSetElementOrder);
        }
        let (merge, elem) = lookup(ty, &field);
        let key = merge.and_then(|m| m.patch_merge_key);
        let patch_list = match patch.shift_remove(&field) {
            None => None,
            Some(Value::Array(l)) => Some(l),
            Some(_) => return Err(SmpError::BadSetElementOrder),
        };
        if let Some(p) = &patch_list {
            validate_order(p, &order, key)?;
        }
        let original_list = match original.get(&field) {
            Some(Value::Array(l)) => Some(l.clone()),
            _ => None,
        };
        let merged = match (original_list.clone(), patch_list) {
            (Some(o), Some(p)) => merge_list_field(o, p, merge, elem, false)?,
            (None, Some(p)) => merge_list_field(Vec::new(), p, merge, elem, false)?,
            (Some(o), None) => o,
            (None, None) => continue,
        };
        let key = key.filter(|_| merged.first().is_some_and(Value::is_object));
        if let Some(k) = key {
            if let Some(bad) = order.iter().find(|v| v.get(k).is_none()) {
                return Err(no_merge_key(bad, k));
            }
        }
        let (in_order, server_only) = partition(merged, &order, key);
        let live = original_list.unwrap_or_default();
        let ordered = normalize(in_order, server_only, &order, &live, key);
        original.insert(field, Value::Array(ordered));
    }
    Ok(())
}

/// Every non-directive patch element must appear in `order`, in the same relative order.
fn validate_order(patch: &[Value], order: &[Value], key: Option<&str>) -> Result<(), SmpError> {
    let mut positions = patch
        .iter()
        .filter(|v| v.get(DIRECTIVE).is_none())
        .map(|v| index_of(order, v, key));
    let mut last = None;
    positions.try_for_each(|pos| match pos {
        Some(p) if last.is_none_or(|l| p > l) => {
            last = Some(p);
            Ok(())
        }
        _ => Err(SmpError::BadSetElementOrder),
    })
}

fn no_merge_key(v: &Value, key: &str) -> SmpError {
    SmpError::NoMergeKey {
        map: v.to_string(),
        key: key.to_string(),
    }
}
