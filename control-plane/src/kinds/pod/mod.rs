//! Pods and the `PodSpec` every workload's template carries: defaults, create-time status,
//! validation and the pod update rules.

mod admission;
mod container;
pub mod defaults;
pub mod qos;
mod spec;
mod update;

pub use container::{port_num_or_name, protocol, PROTOCOLS};
pub use update::POD_UPDATE_FORBIDDEN;

use serde_json::{json, Value};

use crate::api::FieldError;
use crate::kinds::field::{list_of, str_or_empty};
use crate::kinds::meta;

/// Defaults of a Pod.
pub fn apply_defaults(obj: &mut Value) {
    defaults::pod(obj);
}

/// `PodStrategy.PrepareForCreate`: a fresh status with phase Pending and the QoS class, the
/// SchedulingGated condition, and what default admission adds.
pub fn prepare_for_create(obj: &mut Value) {
    if let Some(spec) = obj.get_mut("spec") {
        admission::admit(spec);
    }
    let spec = obj.get("spec").cloned().unwrap_or(json!({}));
    let mut status = json!({"phase": "Pending", "qosClass": qos::class(&spec)});
    if !list_of(&spec, "schedulingGates").is_empty() {
        status["conditions"] = json!([{
            "type": "PodScheduled",
            "status": "False",
            "lastProbeTime": null,
            "lastTransitionTime": null,
            "reason": "SchedulingGated",
            "message": "Scheduling is blocked due to non-empty scheduling gates",
        }]);
    }
    if let Some(o) = obj.as_object_mut() {
        o.insert("status".into(), status);
    }
}

/// Validates a Pod on create or update.
pub fn validate(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let null = json!({});
    let spec = obj.get("spec").unwrap_or(&null);
    let mut errs = meta::validate(obj, true, meta::subdomain_name);
    if let Some(old) = old {
        errs.extend(meta::validate_update(obj, old));
    }
    errs.extend(spec::validate(spec, "spec"));
    for list in ["containers", "initContainers"] {
        errs.extend(container::validate_image_for_pod(
            list_of(spec, list),
            &format!("spec.{list}"),
        ));
    }
    match old {
        None => {
            if !list_of(spec, "ephemeralContainers").is_empty() {
                errs.push(FieldError::forbidden(
                    "spec.ephemeralContainers",
                    "cannot be set on create",
                ));
            }
            if !str_or_empty(spec, "nodeName").is_empty()
                && !list_of(spec, "schedulingGates").is_empty()
            {
                errs.push(FieldError::forbidden(
                    "spec.nodeName",
                    "cannot be set until all schedulingGates have been cleared",
                ));
            }
        }
        Some(old) => errs.extend(update::validate(spec, old.get("spec").unwrap_or(&null))),
    }
    errs
}

/// `ValidatePodTemplateSpec` for the template at `path` (`spec.template`).
pub fn validate_template(template: &Value, path: &str) -> Vec<FieldError> {
    let null = json!({});
    let tmeta = template.get("metadata").unwrap_or(&null);
    let mpath = format!("{path}.metadata");
    let mut errs = meta::labels(tmeta, "labels", &format!("{mpath}.labels"));
    errs.extend(meta::annotations(tmeta, &format!("{mpath}.annotations")));
    let spec = template.get("spec").unwrap_or(&null);
    let spath = format!("{path}.spec");
    errs.extend(spec::validate(spec, &spath));
    if !list_of(spec, "ephemeralContainers").is_empty() {
        errs.push(FieldError::forbidden(
            format!("{spath}.ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
    errs
}

#[cfg(test)]
mod tests;
