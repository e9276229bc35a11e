//! Nodes: allocatable defaults to capacity, taints, pod CIDRs and the update rules for
//! `podCIDRs` and `providerID`.

use std::collections::HashSet;

use serde_json::{json, Value};

use super::field::{child, index, list_of, str_or_empty};
use super::meta;
use super::names;
use crate::api::FieldError;

const TAINT_EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// `SetDefaults_NodeStatus`: `allocatable` copies `capacity` when unset.
pub fn apply_defaults(obj: &mut Value) {
    let Some(status) = obj.get_mut("status").filter(|s| s.is_object()) else {
        return;
    };
    if status.get("allocatable").is_none_or(Value::is_null) {
        if let Some(cap) = status.get("capacity").filter(|c| c.is_object()).cloned() {
            status["allocatable"] = cap;
        }
    }
}

/// `ValidateNode` / `ValidateNodeUpdate`.
pub fn validate(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = meta::validate(obj, false, meta::subdomain_name);
    let empty = json!({});
    let spec = obj.get("spec").unwrap_or(&empty);
    let mut unique = HashSet::new();
    for (i, t) in list_of(spec, "taints").iter().enumerate() {
        let p = index("spec.taints", i);
        let key = str_or_empty(t, "key");
        if key.is_empty() {
            errs.push(FieldError::required(child(&p, "key"), ""));
        }
        for m in names::qualified_name(key) {
            errs.push(FieldError::invalid(child(&p, "key"), json!(key), m));
        }
        let value = str_or_empty(t, "value");
        for m in names::label_value(value) {
            errs.push(FieldError::invalid(child(&p, "value"), json!(value), m));
        }
        let effect = str_or_empty(t, "effect");
        if effect.is_empty() {
            errs.push(FieldError::required(child(&p, "effect"), ""));
        } else if !TAINT_EFFECTS.contains(&effect) {
            errs.push(FieldError::not_supported(
                child(&p, "effect"),
                json!(effect),
                TAINT_EFFECTS,
            ));
        }
        if !unique.insert((key, effect)) {
            let mut e = FieldError::duplicate(&p, t.clone());
            e.detail = "taints must be unique by key and effect pair".into();
            errs.push(e);
        }
    }
    let cidrs = list_of(spec, "podCIDRs");
    for (i, c) in cidrs.iter().enumerate() {
        let s = c.as_str().unwrap_or("");
        if s.parse::<ipnet::IpNet>().is_err() {
            errs.push(FieldError::invalid(
                index("spec.podCIDRs", i),
                json!(s),
                "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
            ));
        }
    }
    let pod_cidr = str_or_empty(spec, "podCIDR");
    if !pod_cidr.is_empty() && cidrs.first().and_then(Value::as_str) != Some(pod_cidr) {
        errs.push(FieldError::invalid(
            "spec.podCIDRs",
            Value::Array(cidrs.to_vec()),
            "first value must match `podCIDR`",
        ));
    }
    if let Some(old) = old {
        errs.extend(meta::validate_update(obj, old));
        let old_spec = old.get("spec").unwrap_or(&empty);
        let old_cidrs = list_of(old_spec, "podCIDRs");
        if !old_cidrs.is_empty() && old_cidrs != cidrs {
            errs.push(FieldError::forbidden(
                "spec.podCIDRs",
                "node updates may not change podCIDR except from \"\" to valid",
            ));
        }
        let old_provider = str_or_empty(old_spec, "providerID");
        if !old_provider.is_empty() && old_provider != str_or_empty(spec, "providerID") {
            errs.push(FieldError::forbidden(
                "spec.providerID",
                "node updates may not change providerID except from \"\" to valid",
            ));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocatable_defaults_to_capacity() {
        let mut n = json!({"metadata": {"name": "n1"}, "status": {"capacity": {"cpu": "2", "pods": "110"}}});
        apply_defaults(&mut n);
        assert_eq!(
            n["status"]["allocatable"],
            json!({"cpu": "2", "pods": "110"})
        );
    }

    #[test]
    fn taints_need_key_and_known_effect_and_must_be_unique() {
        let n = json!({"metadata": {"name": "n1"}, "spec": {"taints": [
            {"key": "a", "effect": "NoSchedule"}, {"key": "a", "effect": "NoSchedule"}, {"key": "b", "effect": "Never"}]}});
        let fields: Vec<_> = validate(&n, None).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["spec.taints[1]", "spec.taints[2].effect"]);
    }

    #[test]
    fn pod_cidr_may_be_set_once_but_not_changed() {
        let old = json!({"metadata": {"name": "n1"}, "spec": {}});
        let set = json!({"metadata": {"name": "n1"}, "spec": {"podCIDR": "10.42.1.0/24", "podCIDRs": ["10.42.1.0/24"]}});
        assert!(validate(&set, Some(&old)).is_empty());
        let changed = json!({"metadata": {"name": "n1"}, "spec": {"podCIDR": "10.42.2.0/24", "podCIDRs": ["10.42.2.0/24"]}});
        let errs = validate(&changed, Some(&set));
        assert_eq!(errs[0].message(), "spec.podCIDRs: Forbidden: node updates may not change podCIDR except from \"\" to valid");
    }
}
