//! The pure part of an update: from the stored object and a proposed one (a PUT body, a
//! patch result, a subresource change) to the object to store, following upstream's
//! `rest.BeforeUpdate` and the status/scale/finalize strategies.

use serde_json::Value;

use crate::api::ApiError;
use crate::registry::KindInfo;

use super::body::{check_type, Expected};
use super::meta;

/// Which part of the object a write may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// The main endpoint: everything but status (for kinds with a status subresource).
    Main,
    /// `/status`: only status.
    Status,
    /// `/scale`: the main object's rules, recorded as the scale subresource.
    Scale,
    /// `namespaces/<n>/finalize`: only `spec.finalizers`.
    Finalize,
    /// Server bookkeeping (bindings): stored as proposed, no defaults or validation.
    Raw,
}

impl Target {
    /// The subresource name recorded in managedFields.
    pub fn subresource(self) -> Option<&'static str> {
        match self {
            Target::Main | Target::Raw => None,
            Target::Status => Some("status"),
            Target::Scale => Some("scale"),
            Target::Finalize => Some("finalize"),
        }
    }
}

/// Checks the proposal's identity against the request path: apiVersion/kind (filled when
/// empty), namespace (filled when empty) and name.
pub(super) fn check_identity(
    kind: &KindInfo,
    namespace: Option<&str>,
    name: &str,
    obj: &mut Value,
) -> Result<(), ApiError> {
    let api_version = kind.api_version();
    check_type(
        obj,
        Expected {
            api_versions: &[api_version.as_str()],
            kind: kind.kind,
        },
    )?;
    super::create::settle_namespace(kind, namespace, obj)?;
    let given = meta::name(obj);
    if given != name {
        return Err(ApiError::BadRequest(format!(
            "the name of the object ({given}) does not match the name on the URL ({name})"
        )));
    }
    Ok(())
}

/// The object to store for `target`, given the stored `current` and the `proposed` object;
/// without defaults' and validation's verdict (see [`finish`]).
pub(super) fn merge(
    kind: &KindInfo,
    target: Target,
    current: &Value,
    proposed: Value,
) -> Result<Value, ApiError> {
    let rv = meta::meta_str(&proposed, "resourceVersion").map(String::from);
    let mut new = match target {
        Target::Main | Target::Scale | Target::Raw => proposed,
        Target::Status => {
            let mut n = current.clone();
            match proposed.get("status") {
                Some(s) => n["status"] = s.clone(),
                None => {
                    n.as_object_mut().map(|m| m.remove("status"));
                }
            }
            if let Some(mf) = proposed.pointer("/metadata/managedFields") {
                meta::meta_mut(&mut n).insert("managedFields".into(), mf.clone());
            }
            n
        }
        Target::Finalize => {
            let mut n = current.clone();
            let fins = proposed
                .pointer("/spec/finalizers")
                .cloned()
                .unwrap_or(Value::Array(Vec::new()));
            n["spec"]["finalizers"] = fins;
            n
        }
    };
    match rv {
        Some(rv) => meta::meta_mut(&mut new).insert("resourceVersion".into(), rv.into()),
        None => meta::meta_mut(&mut new).remove("resourceVersion"),
    };
    let errs = meta::carry_system_fields(current, &mut new);
    if !errs.is_empty() {
        return Err(super::invalid(kind, meta::name(current), errs));
    }
    if matches!(target, Target::Main | Target::Scale) {
        if kind.has_subresource("status") {
            match current.get("status") {
                Some(s) => new["status"] = s.clone(),
                None => {
                    new.as_object_mut().map(|m| m.remove("status"));
                }
            }
        }
        if kind.group.is_empty() && kind.kind == "Namespace" {
            match current.pointer("/spec/finalizers") {
                Some(f) => new["spec"]["finalizers"] = f.clone(),
                None => {
                    new.get_mut("spec")
                        .and_then(Value::as_object_mut)
                        .map(|s| s.remove("finalizers"));
                }
            }
        }
    }
    if matches!(target, Target::Main | Target::Scale) {
        crate::kinds::prepare_for_update(kind, &mut new, current);
    }
    if target != Target::Raw {
        crate::kinds::apply_defaults(kind, &mut new);
    }
    if matches!(target, Target::Main | Target::Scale) {
        meta::bump_generation(kind, current, &mut new);
    }
    Ok(new)
}

/// Checks the resourceVersion precondition: a proposal with a resourceVersion must match the
/// stored one; without one the update is unconditional where the kind allows it.
pub(super) fn check_precondition(
    kind: &KindInfo,
    name: &str,
    current: &Value,
    proposed: &Value,
) -> Result<(), ApiError> {
    match meta::meta_str(proposed, "resourceVersion").filter(|rv| !rv.is_empty()) {
        Some(rv) if Some(rv) != meta::meta_str(current, "resourceVersion") => {
            Err(super::conflict(kind, name))
        }
        Some(_) => Ok(()),
        None if meta::allows_unconditional_update(kind) => Ok(()),
        None => Err(ApiError::Invalid {
            group: kind.group.into(),
            kind: kind.plural.into(),
            name: name.into(),
            causes: vec![crate::api::FieldError::invalid(
                "metadata.resourceVersion",
                0.into(),
                "must be specified for an update",
            )],
        }),
    }
}

/// Validation and managedFields of the merged object.
pub(super) fn finish(
    kind: &KindInfo,
    target: Target,
    current: &Value,
    new: &mut Value,
    manager: &super::options::Manager,
    now: &str,
) -> Result<(), ApiError> {
    if target != Target::Raw {
        let errs = crate::kinds::validate(kind, new, Some(current));
        if !errs.is_empty() {
            return Err(super::invalid(kind, meta::name(current), errs));
        }
    }
    if let super::options::Manager::Update(m) = manager {
        crate::apply::record_update(kind, Some(current), new, m, target.subresource(), now);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::by_kind;
    use serde_json::json;

    #[test]
    fn main_endpoint_keeps_status_and_status_endpoint_keeps_spec() {
        let deploy = by_kind("apps", "Deployment").unwrap();
        let current = json!({"metadata": {"name": "d", "uid": "u", "generation": 1, "resourceVersion": "5"},
            "spec": {"replicas": 1}, "status": {"replicas": 1}});
        let proposed =
            json!({"metadata": {"name": "d"}, "spec": {"replicas": 2}, "status": {"replicas": 7}});
        let main = merge(deploy, Target::Main, &current, proposed.clone()).unwrap();
        assert_eq!(main["spec"]["replicas"], 2);
        assert_eq!(main["status"]["replicas"], 1);
        assert_eq!(main["metadata"]["generation"], 2);
        let status = merge(deploy, Target::Status, &current, proposed).unwrap();
        assert_eq!(status["spec"]["replicas"], 1);
        assert_eq!(status["status"]["replicas"], 7);
        assert_eq!(status["metadata"]["generation"], 1);
    }

    #[test]
    fn stale_resource_version_conflicts_and_leases_need_one() {
        let cm = by_kind("", "ConfigMap").unwrap();
        let current = json!({"metadata": {"resourceVersion": "5"}});
        let stale = json!({"metadata": {"resourceVersion": "4"}});
        assert_eq!(
            check_precondition(cm, "a", &current, &stale)
                .unwrap_err()
                .code(),
            409
        );
        assert!(check_precondition(cm, "a", &current, &json!({})).is_ok());
        let lease = by_kind("coordination.k8s.io", "Lease").unwrap();
        assert_eq!(
            check_precondition(lease, "a", &current, &json!({}))
                .unwrap_err()
                .code(),
            422
        );
    }
}
