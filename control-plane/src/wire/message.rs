//! Decodes a message by its schema table into the JSON the Go type marshals to: fields in Go
//! declaration order, `omitempty` dropping zero scalars and empty lists, value structs always
//! present, nil pointers, slices and maps omitted or `null`. Unknown field numbers are skipped.

use base64::Engine;
use serde_json::{Map, Value};

use super::reader::{Fields, Raw, WireError};
use super::schema::{Field, Message, Shape, Ty};
use super::special;

/// Deeper than any Kubernetes type nests.
const MAX_DEPTH: usize = 64;

/// The JSON object of an encoded `msg`.
pub(crate) fn decode(msg: &'static Message, buf: &[u8]) -> Result<Value, WireError> {
    let mut out = Map::new();
    decode_into(msg, buf, 0, &mut out)?;
    Ok(Value::Object(out))
}

fn decode_into(
    msg: &'static Message,
    buf: &[u8],
    depth: usize,
    out: &mut Map<String, Value>,
) -> Result<(), WireError> {
    if depth > MAX_DEPTH {
        return Err(WireError::TooDeep);
    }
    let mut seen: Vec<Vec<Raw<'_>>> = vec![Vec::new(); msg.fields.len()];
    for item in Fields::new(buf) {
        let (number, raw) = item?;
        if let Some(i) = msg.fields.iter().position(|f| f.number == number) {
            seen[i].push(raw);
        }
    }
    for (field, raws) in msg.fields.iter().zip(&seen) {
        if field.shape == Shape::Inline {
            let Ty::Message(inner) = field.ty else {
                unreachable!("inline field of {} is not a message", msg.name)
            };
            decode_into(inner, &concat(msg, field, raws)?, depth + 1, out)?;
            continue;
        }
        if let Some(value) = field_json(msg, field, raws, depth)? {
            out.insert(field.json.to_string(), value);
        }
    }
    Ok(())
}

/// The JSON of one field, `None` when Go's marshalling leaves it out.
fn field_json(
    msg: &'static Message,
    field: &'static Field,
    raws: &[Raw<'_>],
    depth: usize,
) -> Result<Option<Value>, WireError> {
    let absent = || {
        if field.omit_empty {
            None
        } else {
            Some(Value::Null)
        }
    };
    match field.shape {
        Shape::Repeated => {
            let mut items = Vec::new();
            for raw in raws {
                match (raw, is_packable(field.ty)) {
                    (Raw::Bytes(b), true) => {
                        let mut pos = 0;
                        while pos < b.len() {
                            let v = super::reader::varint(b, &mut pos)?;
                            items.push(scalar(msg, field, Raw::Varint(v))?);
                        }
                    }
                    _ => items.push(value(msg, field, &[*raw], depth)?),
                }
            }
            Ok(if items.is_empty() {
                absent()
            } else {
                Some(Value::Array(items))
            })
        }
        Shape::Map => {
            let mut map = Map::new();
            for raw in raws {
                let Raw::Bytes(entry) = raw else {
                    return Err(wrong(msg, field, *raw));
                };
                let (key, val) = map_entry(msg, field, entry, depth)?;
                map.insert(key, val);
            }
            Ok(if map.is_empty() {
                absent()
            } else {
                Some(Value::Object(map))
            })
        }
        Shape::Pointer if raws.is_empty() => Ok(absent()),
        Shape::Pointer => value(msg, field, raws, depth).map(Some),
        Shape::Value | Shape::Inline => {
            let v = value(msg, field, raws, depth)?;
            // Go's omitempty never drops a struct (messages and the special types).
            let scalar_ty = !matches!(field.ty, Ty::Message(_)) && !is_special(field.ty);
            let zero = match &v {
                Value::Bool(b) => !b,
                Value::Number(n) => n.as_f64() == Some(0.0),
                Value::String(s) => s.is_empty(),
                Value::Null => true,
                _ => false,
            };
            Ok(if zero && scalar_ty && field.omit_empty {
                None
            } else {
                Some(v)
            })
        }
    }
}

fn is_special(ty: Ty) -> bool {
    matches!(
        ty,
        Ty::Time
            | Ty::MicroTime
            | Ty::Duration
            | Ty::FieldsV1
            | Ty::Quantity
            | Ty::IntOrString
            | Ty::RawExtension
    )
}

fn is_packable(ty: Ty) -> bool {
    matches!(ty, Ty::Bool | Ty::Int32 | Ty::Int64)
}

/// The value of a non-repeated field: the last scalar wins, message occurrences merge.
fn value(
    msg: &'static Message,
    field: &'static Field,
    raws: &[Raw<'_>],
    depth: usize,
) -> Result<Value, WireError> {
    match field.ty {
        Ty::Message(inner) => {
            let mut out = Map::new();
            decode_into(inner, &concat(msg, field, raws)?, depth + 1, &mut out)?;
            Ok(Value::Object(out))
        }
        ty if is_special(ty) => special::decode(ty, &concat(msg, field, raws)?),
        Ty::Bytes if raws.is_empty() => Ok(Value::Null),
        _ => match raws.last() {
            Some(raw) => scalar(msg, field, *raw),
            None => Ok(zero(field.ty)),
        },
    }
}

fn zero(ty: Ty) -> Value {
    match ty {
        Ty::String => Value::String(String::new()),
        Ty::Bool => Value::Bool(false),
        Ty::Double => Value::from(0.0),
        _ => Value::from(0),
    }
}

/// Occurrences of a message field joined, which protobuf defines as merging them.
fn concat<'a>(
    msg: &'static Message,
    field: &'static Field,
    raws: &[Raw<'a>],
) -> Result<std::borrow::Cow<'a, [u8]>, WireError> {
    match raws {
        [] => Ok(std::borrow::Cow::Borrowed(&[])),
        [Raw::Bytes(b)] => Ok(std::borrow::Cow::Borrowed(b)),
        _ => {
            let mut joined = Vec::new();
            for raw in raws {
                let Raw::Bytes(b) = raw else {
                    return Err(wrong(msg, field, *raw));
                };
                joined.extend_from_slice(b);
            }
            Ok(std::borrow::Cow::Owned(joined))
        }
    }
}

fn scalar(msg: &'static Message, field: &'static Field, raw: Raw<'_>) -> Result<Value, WireError> {
    Ok(match (field.ty, raw) {
        (Ty::String, Raw::Bytes(b)) => Value::String(String::from_utf8_lossy(b).into_owned()),
        (Ty::Bytes, Raw::Bytes(b)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        (Ty::Bool, Raw::Varint(v)) => Value::Bool(v != 0),
        (Ty::Int32, Raw::Varint(v)) => Value::from(v as i32),
        (Ty::Int64, Raw::Varint(v)) => Value::from(v as i64),
        (Ty::Double, Raw::Fixed64(v)) => {
            let f = f64::from_bits(v);
            serde_json::Number::from_f64(f)
                .map(Value::Number)
                .ok_or(WireError::BadValue {
                    field: field.json,
                    detail: format!("{f} is not a JSON number"),
                })?
        }
        _ => return Err(wrong(msg, field, raw)),
    })
}

/// A map entry: 1 key (string), 2 value; a missing value is the type's zero value.
fn map_entry(
    msg: &'static Message,
    field: &'static Field,
    entry: &[u8],
    depth: usize,
) -> Result<(String, Value), WireError> {
    let mut key = String::new();
    let mut vals = Vec::new();
    for item in Fields::new(entry) {
        match item? {
            (1, Raw::Bytes(b)) => key = String::from_utf8_lossy(b).into_owned(),
            (1, raw) => return Err(wrong(msg, field, raw)),
            (2, raw) => vals.push(raw),
            _ => {}
        }
    }
    let val = match field.ty {
        Ty::Bytes | Ty::String if vals.is_empty() => Value::String(String::new()),
        _ => value(msg, field, &vals, depth)?,
    };
    Ok((key, val))
}

fn wrong(msg: &'static Message, field: &'static Field, raw: Raw<'_>) -> WireError {
    WireError::WrongWireType {
        message: msg.name,
        field: field.json,
        wire: raw.wire_type(),
    }
}
