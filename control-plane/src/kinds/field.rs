//! Small accessors over `serde_json::Value` objects and upstream's field path notation
//! (`spec.containers[0].name`, `data[key]`).

use serde_json::{Map, Value};

/// `parent.child`, or `child` at the root.
pub(crate) fn child(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// `parent[i]`.
pub(crate) fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// `parent[key]` (upstream prints map keys unquoted).
pub(crate) fn key(parent: &str, k: &str) -> String {
    format!("{parent}[{k}]")
}

/// The string at `v[name]`, if it is a string.
pub(crate) fn str_of<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

/// The string at `v[name]`, or `""`.
pub(crate) fn str_or_empty<'a>(v: &'a Value, name: &str) -> &'a str {
    str_of(v, name).unwrap_or("")
}

/// The integer at `v[name]`, if it is an integer.
pub(crate) fn int_of(v: &Value, name: &str) -> Option<i64> {
    v.get(name).and_then(Value::as_i64)
}

/// The array at `v[name]`, or an empty slice.
pub(crate) fn list_of<'a>(v: &'a Value, name: &str) -> &'a [Value] {
    v.get(name)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The object at `v[name]`, if it is one.
pub(crate) fn map_of<'a>(v: &'a Value, name: &str) -> Option<&'a Map<String, Value>> {
    v.get(name).and_then(Value::as_object)
}

/// True when `v[name]` is present and not null.
pub(crate) fn has(v: &Value, name: &str) -> bool {
    v.get(name).is_some_and(|x| !x.is_null())
}

/// The object at `v[name]`, created (or replaced when not an object) so it can be filled.
pub(crate) fn obj_mut<'a>(v: &'a mut Value, name: &str) -> Option<&'a mut Map<String, Value>> {
    let m = v.as_object_mut()?;
    let slot = m
        .entry(name.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}

/// Sets `v[name] = value` when it is absent, null or an empty string.
pub(crate) fn set_default(v: &mut Value, name: &str, value: Value) {
    let Some(m) = v.as_object_mut() else { return };
    let missing = match m.get(name) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        _ => false,
    };
    if missing {
        m.insert(name.to_string(), value);
    }
}

/// Calls `f` on every element of the array at `v[name]`.
pub(crate) fn each_mut(v: &mut Value, name: &str, mut f: impl FnMut(&mut Value)) {
    if let Some(items) = v.get_mut(name).and_then(Value::as_array_mut) {
        items.iter_mut().for_each(&mut f);
    }
}

/// A string-to-string map at `v[name]` as pairs (non-string values are skipped).
pub(crate) fn string_map<'a>(v: &'a Value, name: &str) -> Vec<(&'a str, &'a str)> {
    map_of(v, name)
        .map(|m| {
            m.iter()
                .map(|(k, x)| (k.as_str(), x.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default()
}
