//! Pod subresources that act: `binding` (the scheduler assigns a node) and `eviction` (a
//! graceful delete through the policy API; no PodDisruptionBudgets are served, so every
//! eviction is allowed).

use serde_json::{json, Value};

use crate::api::{ApiError, FieldError};

use super::body::{self, Expected};
use super::delete::{delete_object, DeleteOptions};
use super::options::{Manager, WriteOptions};
use super::prepare::Target;
use super::update::{guaranteed_update, UpdateCall};
use super::{meta, success_status, Ctx, Reply, ResourceRequest};

fn binding_conflict(name: &str, message: String) -> ApiError {
    ApiError::Conflict {
        group: String::new(),
        resource: "pods/binding".into(),
        name: name.into(),
        message,
        causes: Vec::new(),
    }
}

fn check_body_identity(
    req: &ResourceRequest,
    obj: &Value,
    what: &str,
    name: &str,
) -> Result<(), ApiError> {
    let given = meta::name(obj);
    if !given.is_empty() && given != name {
        return Err(ApiError::BadRequest(format!(
            "name in URL does not match name in {what} object"
        )));
    }
    match meta::meta_str(obj, "namespace") {
        Some(ns) if !ns.is_empty() && Some(ns) != req.namespace.as_deref() => Err(ApiError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request".into(),
        )),
        _ => Ok(()),
    }
}

/// The pod bound to `node`, with the binding's annotations and a PodScheduled condition.
fn bound(pod: &Value, binding: &Value, node: &str, now: &str) -> Result<Value, ApiError> {
    let name = meta::name(pod);
    if meta::meta_str(pod, "deletionTimestamp").is_some() {
        return Err(binding_conflict(
            name,
            format!("pod {name} is being deleted, cannot be assigned to a host"),
        ));
    }
    if let Some(uid) = meta::meta_str(binding, "uid").filter(|u| !u.is_empty()) {
        let have = meta::meta_str(pod, "uid").unwrap_or_default();
        if uid != have {
            return Err(binding_conflict(
                name,
                format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {have}"
                ),
            ));
        }
    }
    let assigned = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !assigned.is_empty() {
        return Err(binding_conflict(
            name,
            format!("pod {name} is already assigned to node \"{assigned}\""),
        ));
    }
    let mut n = pod.clone();
    n["spec"]["nodeName"] = node.into();
    if let Some(ann) = binding
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
    {
        let m = meta::meta_mut(&mut n);
        let target = m.entry("annotations").or_insert_with(|| json!({}));
        for (k, v) in ann {
            target[k] = v.clone();
        }
    }
    if !n.get("status").is_some_and(Value::is_object) {
        n["status"] = json!({});
    }
    let conds = n["status"]
        .as_object_mut()
        .expect("status is an object")
        .entry("conditions")
        .or_insert_with(|| json!([]));
    if !conds.is_array() {
        *conds = json!([]);
    }
    let list = conds.as_array_mut().expect("conditions is an array");
    match list.iter_mut().find(|c| c["type"] == "PodScheduled") {
        Some(c) if c["status"] == "True" => {}
        Some(c) => {
            c["status"] = "True".into();
            c["lastTransitionTime"] = now.into();
            c.as_object_mut().map(|m| {
                m.remove("reason");
                m.remove("message")
            });
        }
        None => list.push(json!({
            "type": "PodScheduled",
            "status": "True",
            "lastProbeTime": null,
            "lastTransitionTime": now,
        })),
    }
    Ok(n)
}

/// POST pods/<name>/binding.
pub(super) async fn bind(ctx: &Ctx, req: &ResourceRequest) -> Result<Reply, ApiError> {
    let name = super::path_name(req)?;
    let opts = WriteOptions::from_request(req, "CreateOptions")?;
    let expected = Expected {
        api_versions: &["v1"],
        kind: "Binding",
    };
    let binding = body::decode_object(req, expected, None, opts.validation)?.obj;
    check_body_identity(req, &binding, "Binding", name)?;
    let target_kind = binding
        .pointer("/target/kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let node = binding
        .pointer("/target/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut errs = Vec::new();
    if !target_kind.is_empty() && target_kind != "Node" {
        errs.push(FieldError::not_supported(
            "target.kind",
            target_kind.into(),
            &["Node"],
        ));
    }
    if node.is_empty() {
        errs.push(FieldError::required("target.name", ""));
    }
    if !errs.is_empty() {
        return Err(ApiError::Invalid {
            group: String::new(),
            kind: "Binding".into(),
            name: name.into(),
            causes: errs,
        });
    }
    let now = meta::now();
    let call = UpdateCall {
        kind: req.kind,
        namespace: req.namespace.as_deref(),
        name,
        target: Target::Raw,
        opts: &opts,
        manager: &Manager::Untracked,
        create_on_missing: false,
    };
    guaranteed_update(ctx, &call, |cur| {
        bound(cur.expect("not created on binding"), &binding, node, &now)
    })
    .await?;
    tracing::debug!(namespace = ?req.namespace, pod = name, node, "pod bound");
    Ok(Reply {
        status: 201,
        body: success_status(Some(201), None),
        warnings: Vec::new(),
    })
}

/// POST pods/<name>/eviction.
pub(super) async fn evict(ctx: &Ctx, req: &ResourceRequest) -> Result<Reply, ApiError> {
    let name = super::path_name(req)?;
    let opts = WriteOptions::from_request(req, "CreateOptions")?;
    let expected = Expected {
        api_versions: &["policy/v1", "policy/v1beta1"],
        kind: "Eviction",
    };
    let eviction = body::decode_object(req, expected, None, opts.validation)?.obj;
    check_body_identity(req, &eviction, "Eviction", name)?;
    let mut delete_opts = match eviction.get("deleteOptions") {
        Some(v) if v.is_object() => DeleteOptions::from_value(v)?,
        _ => DeleteOptions::default(),
    };
    delete_opts.dry_run |= opts.dry_run;
    delete_object(ctx, req.kind, req.namespace.as_deref(), name, &delete_opts).await?;
    tracing::debug!(namespace = ?req.namespace, pod = name, "pod evicted");
    Ok(Reply {
        status: 201,
        body: success_status(Some(201), None),
        warnings: Vec::new(),
    })
}
