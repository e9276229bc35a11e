//! Per-kind behaviour upstream's registry strategies carry: defaults, create-time preparation
//! and validation with field paths. Dispatched on [`KindInfo::kind`].

pub mod apps;
pub mod config;
pub mod discovery;
pub mod event;
pub(crate) mod field;
pub mod lease;
pub mod meta;
pub mod names;
pub mod namespace;
pub mod node;
pub mod pod;
pub mod quantity;
pub mod service;

use serde_json::Value;

use crate::api::FieldError;
use crate::registry::KindInfo;

/// Fills upstream's defaults in place (on create, update and patch results), e.g. a pod's
/// `restartPolicy: Always` or a deployment's 25%/25% rolling update strategy.
pub fn apply_defaults(kind: &KindInfo, obj: &mut Value) {
    if !obj.is_object() {
        return;
    }
    match kind.kind {
        "Pod" => pod::apply_defaults(obj),
        "Service" => service::apply_defaults(obj),
        "Deployment" | "ReplicaSet" | "DaemonSet" => apps::apply_defaults(kind.kind, obj),
        "Secret" => config::secret_defaults(obj),
        "Namespace" => namespace::apply_defaults(obj),
        "Node" => node::apply_defaults(obj),
        "Endpoints" | "EndpointSlice" => discovery::apply_defaults(kind.kind, obj),
        _ => {}
    }
}

/// Create-time preparation upstream's `PrepareForCreate` does beyond defaults (e.g. a new pod's
/// `status.phase: Pending` and `qosClass`).
pub fn prepare_for_create(kind: &KindInfo, obj: &mut Value) {
    if !obj.is_object() {
        return;
    }
    match kind.kind {
        "Pod" => pod::prepare_for_create(obj),
        "Service" => service::prepare_for_create(obj),
        "Deployment" | "ReplicaSet" | "DaemonSet" => apps::prepare_for_create(kind.kind, obj),
        "Namespace" => namespace::prepare_for_create(obj),
        _ => {}
    }
}

/// Update-time preparation upstream's `PrepareForUpdate` does that the write path cannot know
/// generically: a service keeps its allocated ClusterIPs, IP families and NodePorts when the
/// new object leaves them out; a daemonset's template generation follows template changes.
pub fn prepare_for_update(kind: &KindInfo, obj: &mut Value, old: &Value) {
    if !obj.is_object() {
        return;
    }
    match kind.kind {
        "Service" => service::prepare_for_update(obj, old),
        "DaemonSet" => apps::prepare_daemonset_update(obj, old),
        _ => {}
    }
}

/// Validates an object on create (`old == None`) or update; empty means valid.
///
/// As upstream's `BeforeCreate`/`BeforeUpdate`: the kind's own rules first; only when they pass,
/// the generic metadata rules (names must fit a URL path segment) so errors are not doubled.
pub fn validate(kind: &KindInfo, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let errs = match kind.kind {
        "Pod" => pod::validate(obj, old),
        "Service" => service::validate(obj, old),
        "Deployment" => apps::validate_deployment(obj, old),
        "ReplicaSet" => apps::validate_replicaset(obj, old),
        "DaemonSet" => apps::validate_daemonset(obj, old),
        "ConfigMap" => config::validate_configmap(obj, old),
        "Secret" => config::validate_secret(obj, old),
        "ServiceAccount" => config::validate_serviceaccount(obj, old),
        "Event" => event::validate(obj, old),
        "Endpoints" => discovery::validate_endpoints(obj, old),
        "EndpointSlice" => discovery::validate_endpointslice(obj, old),
        "Lease" => lease::validate(obj, old),
        "Node" => node::validate(obj, old),
        "Namespace" => namespace::validate(obj, old),
        _ => Vec::new(),
    };
    if !errs.is_empty() {
        return errs;
    }
    let mut errs = meta::validate(obj, kind.namespaced, meta::path_segment_name);
    if let Some(old) = old {
        errs.extend(meta::validate_update(obj, old));
    }
    errs
}

#[cfg(test)]
mod tests;
