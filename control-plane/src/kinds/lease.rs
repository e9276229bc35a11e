//! coordination.k8s.io/v1 Leases.

use serde_json::{json, Value};

use super::field::int_of;
use super::meta;
use crate::api::FieldError;

/// `ValidateLease` / `ValidateLeaseUpdate`.
pub fn validate(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = meta::validate(obj, true, meta::subdomain_name);
    if let Some(old) = old {
        errs.extend(meta::validate_update(obj, old));
    }
    let empty = json!({});
    let spec = obj.get("spec").unwrap_or(&empty);
    if let Some(d) = int_of(spec, "leaseDurationSeconds").filter(|d| *d <= 0) {
        errs.push(FieldError::invalid(
            "spec.leaseDurationSeconds",
            json!(d),
            "must be greater than 0",
        ));
    }
    if let Some(t) = int_of(spec, "leaseTransitions").filter(|t| *t < 0) {
        errs.push(FieldError::invalid(
            "spec.leaseTransitions",
            json!(t),
            "must be greater than or equal to 0",
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_durations_must_be_positive() {
        let l = json!({"metadata": {"name": "node-1", "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40}});
        assert!(validate(&l, None).is_empty());
        let bad = json!({"metadata": {"name": "node-1", "namespace": "kube-node-lease"},
            "spec": {"leaseDurationSeconds": 0, "leaseTransitions": -1}});
        let errs = validate(&bad, None);
        assert_eq!(
            errs[0].message(),
            "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"
        );
        assert_eq!(errs[1].field, "spec.leaseTransitions");
    }
}
