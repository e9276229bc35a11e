//! The unknown-field check behind `fieldValidation=Strict|Warn`: walks an object against its
//! kind's schema and reports every field the schema does not declare.

use serde_json::Value;

use super::schemas::Definitions;

/// Deeper than any served kind's schema; stops runaway recursion on hostile input.
const MAX_DEPTH: usize = 64;

/// Paths (`spec.foo`, `spec.containers[0].bar`) of fields in `obj` that `schema` does not
/// declare. Objects without declared properties or value schema (`RawExtension`, `FieldsV1`)
/// and `x-kubernetes-preserve-unknown-fields` accept anything.
pub fn unknown_fields(defs: &Definitions, schema: &Value, obj: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(defs, schema, obj, String::new(), 0, &mut out);
    out
}

fn walk(
    defs: &Definitions,
    schema: &Value,
    value: &Value,
    path: String,
    depth: usize,
    out: &mut Vec<String>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let schema = defs.resolve(schema);
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        return;
    }
    match value {
        Value::Object(fields) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            if properties.is_none() && additional.is_none() {
                return;
            }
            for (key, child) in fields {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match (properties.and_then(|p| p.get(key)), additional) {
                    (Some(sub), _) | (None, Some(sub)) => {
                        walk(defs, sub, child, child_path, depth + 1, out)
                    }
                    (None, None) => out.push(child_path),
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    walk(
                        defs,
                        item_schema,
                        item,
                        format!("{path}[{i}]"),
                        depth + 1,
                        out,
                    );
                }
            }
        }
        _ => {}
    }
}
