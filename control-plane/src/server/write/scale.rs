//! The `scale` subresource of deployments and replica sets: an `autoscaling/v1` Scale view
//! (spec.replicas, status.replicas, status.selector as a selector string) that reads and
//! writes the owner's `spec.replicas`.

use serde_json::{json, Value};

use crate::api::{ApiError, FieldError};

use super::body::{self, Expected, PatchType};
use super::options::{Manager, WriteOptions};
use super::prepare::Target;
use super::update::{guaranteed_update, UpdateCall};
use super::{meta, patching, subresource, Ctx, Reply, ResourceRequest};

const SCALE: Expected<'static> = Expected {
    api_versions: &["autoscaling/v1"],
    kind: "Scale",
};

/// The Scale view of a deployment or replica set.
pub(super) fn to_scale(obj: &Value) -> Value {
    let mut metadata = json!({});
    for f in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = obj.pointer(&format!("/metadata/{f}")) {
            metadata[f] = v.clone();
        }
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": metadata,
        "spec": {"replicas": obj.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(0)},
        "status": {
            "replicas": obj.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0),
            "selector": selector_string(&obj["spec"]["selector"]),
        },
    })
}

/// A label selector object as a selector string (`app=web,tier in (a,b)`), requirements
/// sorted by key as upstream prints them.
pub(super) fn selector_string(sel: &Value) -> String {
    let mut reqs: Vec<(String, String)> = Vec::new();
    if let Some(labels) = sel["matchLabels"].as_object() {
        for (k, v) in labels {
            reqs.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or_default())));
        }
    }
    for e in sel["matchExpressions"].as_array().into_iter().flatten() {
        let key = e["key"].as_str().unwrap_or_default().to_string();
        let mut values: Vec<&str> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        values.sort_unstable();
        let text = match e["operator"].as_str().unwrap_or_default() {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.clone(),
            "DoesNotExist" => format!("!{key}"),
            _ => continue,
        };
        reqs.push((key, text));
    }
    reqs.sort_by(|a, b| a.0.cmp(&b.0));
    reqs.into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join(",")
}

fn replicas_of(scale: &Value, name: &str) -> Result<i64, ApiError> {
    let v = &scale["spec"]["replicas"];
    let invalid = |detail: &str| ApiError::Invalid {
        group: "autoscaling".into(),
        kind: "Scale".into(),
        name: name.into(),
        causes: vec![FieldError::invalid("spec.replicas", v.clone(), detail)],
    };
    match v {
        Value::Null => Ok(0),
        Value::Number(n) => match n.as_i64() {
            Some(r) if r >= 0 && r <= i32::MAX as i64 => Ok(r),
            Some(_) => Err(invalid("must be greater than or equal to 0")),
            None => Err(invalid("must be an integer")),
        },
        _ => Err(invalid("must be an integer")),
    }
}

/// The owner with the Scale's replicas and resourceVersion (a precondition when given).
fn scaled(current: &Value, scale: &Value, name: &str) -> Result<Value, ApiError> {
    let replicas = replicas_of(scale, name)?;
    let mut n = current.clone();
    n["spec"]["replicas"] = replicas.into();
    match meta::meta_str(scale, "resourceVersion").filter(|rv| !rv.is_empty()) {
        Some(rv) => meta::meta_mut(&mut n).insert("resourceVersion".into(), rv.into()),
        None => meta::meta_mut(&mut n).remove("resourceVersion"),
    };
    Ok(n)
}

/// GET scale.
pub(super) async fn get(ctx: &Ctx, req: &ResourceRequest) -> Result<Reply, ApiError> {
    Ok(Reply::ok(to_scale(&subresource::read(ctx, req).await?)))
}

async fn write(
    ctx: &Ctx,
    req: &ResourceRequest,
    opts: &WriteOptions,
    propose: impl FnMut(Option<&Value>) -> Result<Value, ApiError> + Send,
) -> Result<Value, ApiError> {
    let manager = Manager::Update(opts.manager.clone());
    let call = UpdateCall {
        kind: req.kind,
        namespace: req.namespace.as_deref(),
        name: super::path_name(req)?,
        target: Target::Scale,
        opts,
        manager: &manager,
        create_on_missing: false,
    };
    let outcome = guaranteed_update(ctx, &call, propose).await?;
    Ok(to_scale(outcome.object()))
}

/// PUT scale.
pub(super) async fn put(ctx: &Ctx, req: &ResourceRequest) -> Result<Reply, ApiError> {
    let name = super::path_name(req)?;
    let opts = WriteOptions::from_request(req, "UpdateOptions")?;
    let decoded = body::decode_object(req, SCALE, None, opts.validation)?;
    let scale = decoded.obj;
    let given = meta::name(&scale);
    if !given.is_empty() && given != name {
        return Err(ApiError::BadRequest(format!(
            "the name of the object ({given}) does not match the name on the URL ({name})"
        )));
    }
    replicas_of(&scale, name)?;
    let body = write(ctx, req, &opts, |cur| {
        scaled(cur.expect("not created on update"), &scale, name)
    })
    .await?;
    Ok(Reply::ok(body))
}

/// PATCH scale (JSON patch, merge patch; a strategic merge patch of a Scale is a merge patch).
pub(super) async fn patch(ctx: &Ctx, req: &ResourceRequest) -> Result<Reply, ApiError> {
    let name = super::path_name(req)?;
    let patch = patching::parse_patch(req)?;
    let opts = WriteOptions::from_request(req, "PatchOptions")?;
    let body = write(ctx, req, &opts, |cur| {
        let cur = cur.expect("not created on patch");
        let view = to_scale(cur);
        let patched = match patch.kind {
            PatchType::Json => crate::patch::json_patch(&view, &patch.doc)?,
            PatchType::Merge | PatchType::Strategic => {
                crate::patch::merge_patch(&view, &patch.doc)?
            }
            PatchType::Apply => {
                return Err(ApiError::UnsupportedMediaType(
                    "apply patches are not supported on the scale subresource".into(),
                ))
            }
        };
        scaled(cur, &patched, name)
    })
    .await?;
    Ok(Reply::ok(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_strings_sort_requirements_by_key() {
        let sel = json!({"matchLabels": {"tier": "web", "app": "x"},
            "matchExpressions": [{"key": "env", "operator": "In", "values": ["b", "a"]},
                                 {"key": "zz", "operator": "DoesNotExist"}]});
        assert_eq!(selector_string(&sel), "app=x,env in (a,b),tier=web,!zz");
    }
}
