//! JSON patch (RFC 6902) over `serde_json::Value`, with the error texts of the library
//! upstream's API server uses.

use serde_json::Value;

use super::pointer::{parse_index, Pointer};

/// Why a JSON patch was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JsonPatchError {
    /// The patch is not an array of operations (upstream answers 400).
    #[error("{0}")]
    Malformed(String),
    /// An operation does not apply to the document (upstream answers 422).
    #[error("{0}")]
    NotApplicable(String),
}

use JsonPatchError::{Malformed, NotApplicable};

/// One decoded operation.
#[derive(Debug)]
enum Op<'a> {
    Add(Pointer, &'a Value),
    Remove(Pointer),
    Replace(Pointer, &'a Value),
    Move { from: Pointer, path: Pointer },
    Copy { from: Pointer, path: Pointer },
    Test(Pointer, &'a Value),
}

/// Applies `patch` (an array of operations) to a copy of `doc`.
pub fn apply(doc: &Value, patch: &Value) -> Result<Value, JsonPatchError> {
    let ops = decode(patch)?;
    let mut out = doc.clone();
    for op in ops {
        apply_op(&mut out, op)?;
    }
    Ok(out)
}

fn decode(patch: &Value) -> Result<Vec<Op<'_>>, JsonPatchError> {
    let Value::Array(items) = patch else {
        return Err(Malformed(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
            go_kind(patch)
        )));
    };
    items.iter().map(decode_op).collect()
}

fn decode_op(item: &Value) -> Result<Op<'_>, JsonPatchError> {
    let Value::Object(m) = item else {
        return Err(Malformed(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Operation",
            go_kind(item)
        )));
    };
    let kind = m.get("op").and_then(Value::as_str).unwrap_or("unknown");
    let pointer = |field: &str| -> Result<Pointer, JsonPatchError> {
        let raw = m
            .get(field)
            .and_then(Value::as_str)
            .ok_or_else(|| NotApplicable(format!("{kind} operation missing {field} field")))?;
        Pointer::parse(raw).map_err(|e| NotApplicable(format!("{kind} operation: {e}")))
    };
    let value = || {
        m.get("value")
            .ok_or_else(|| NotApplicable(format!("{kind} operation missing value field")))
    };
    Ok(match kind {
        "add" => Op::Add(pointer("path")?, value()?),
        "remove" => Op::Remove(pointer("path")?),
        "replace" => Op::Replace(pointer("path")?, value()?),
        "move" => Op::Move {
            from: pointer("from")?,
            path: pointer("path")?,
        },
        "copy" => Op::Copy {
            from: pointer("from")?,
            path: pointer("path")?,
        },
        "test" => Op::Test(pointer("path")?, value()?),
        other => {
            return Err(NotApplicable(format!(
                "Unexpected kind: {other}: unknown object type"
            )))
        }
    })
}

fn apply_op(doc: &mut Value, op: Op<'_>) -> Result<(), JsonPatchError> {
    match op {
        Op::Add(path, value) => add(doc, &path, value.clone(), "add"),
        Op::Remove(path) => remove(doc, &path).map(drop),
        Op::Replace(path, value) => {
            let target = path.get_mut(doc).ok_or_else(|| {
                NotApplicable(format!(
                    "replace operation does not apply: doc is missing path: \"{path}\": missing value"
                ))
            })?;
            *target = value.clone();
            Ok(())
        }
        Op::Move { from, path } => {
            if path.starts_with(&from) && path != from {
                return Err(NotApplicable(format!(
                    "move operation does not apply: path {path} is a child of from {from}"
                )));
            }
            if from.get(doc).is_none() {
                return Err(NotApplicable(format!(
                    "move operation does not apply: doc is missing from path: {from}: missing value"
                )));
            }
            let value = remove(doc, &from)?;
            add(doc, &path, value, "move")
        }
        Op::Copy { from, path } => {
            let value = from.get(doc).cloned().ok_or_else(|| {
                NotApplicable(format!(
                    "copy operation does not apply: doc is missing from path: {from}: missing value"
                ))
            })?;
            add(doc, &path, value, "copy")
        }
        Op::Test(path, value) => match path.get(doc) {
            Some(actual) if values_equal(actual, value) => Ok(()),
            _ => Err(NotApplicable(format!(
                "testing value {path} failed: test failed"
            ))),
        },
    }
}

fn add(doc: &mut Value, path: &Pointer, value: Value, op: &str) -> Result<(), JsonPatchError> {
    let Some((parent, last)) = path.split_last() else {
        *doc = value;
        return Ok(());
    };
    let missing = || {
        NotApplicable(format!(
            "{op} operation does not apply: doc is missing path: \"{path}\": missing value"
        ))
    };
    match parent.get_mut(doc).ok_or_else(missing)? {
        Value::Object(m) => {
            m.insert(last.to_string(), value);
            Ok(())
        }
        Value::Array(items) => {
            if last == "-" {
                items.push(value);
                return Ok(());
            }
            let idx = parse_index(last)
                .filter(|i| *i <= items.len())
                .ok_or_else(|| invalid_index(last))?;
            items.insert(idx, value);
            Ok(())
        }
        _ => Err(missing()),
    }
}

fn remove(doc: &mut Value, path: &Pointer) -> Result<Value, JsonPatchError> {
    let missing = || {
        NotApplicable(format!(
            "remove operation does not apply: doc is missing path: \"{path}\": missing value"
        ))
    };
    let Some((parent, last)) = path.split_last() else {
        return Err(missing());
    };
    match parent.get_mut(doc).ok_or_else(missing)? {
        Value::Object(m) => m.shift_remove(last).ok_or_else(|| {
            NotApplicable(format!(
                "error in remove for path: '{path}': Unable to remove nonexistent key: {last}: missing value"
            ))
        }),
        Value::Array(items) => {
            let idx = parse_index(last)
                .filter(|i| *i < items.len())
                .ok_or_else(|| invalid_index(last))?;
            Ok(items.remove(idx))
        }
        _ => Err(missing()),
    }
}

fn invalid_index(token: &str) -> JsonPatchError {
    NotApplicable(format!(
        "Unable to access invalid index: {token}: invalid index referenced"
    ))
}

/// Deep equality where numbers compare by value (`1` equals `1.0`).
fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| values_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}

/// How Go's JSON decoder names a value's kind in its errors.
fn go_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
