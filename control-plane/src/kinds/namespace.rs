//! Namespaces: the `kubernetes.io/metadata.name` label, phase Active and the `kubernetes`
//! finalizer on create, DNS-label names.

use serde_json::{json, Value};

use super::field::{index, list_of, str_or_empty};
use super::meta;
use super::names;
use crate::api::FieldError;

/// The label every namespace carries with its own name.
pub const NAME_LABEL: &str = "kubernetes.io/metadata.name";
const STANDARD_FINALIZERS: &[&str] = &["kubernetes", "orphan", "foregroundDeletion"];

/// `SetDefaults_Namespace` (name label) and `SetDefaults_NamespaceStatus` (phase Active).
pub fn apply_defaults(obj: &mut Value) {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !name.is_empty() {
        if let Some(meta) = super::field::obj_mut(obj, "metadata") {
            let labels = meta.entry("labels").or_insert_with(|| json!({}));
            if !labels.is_object() {
                *labels = json!({});
            }
            labels[NAME_LABEL] = json!(name);
        }
    }
    if let Some(status) = super::field::obj_mut(obj, "status") {
        let mut s = Value::Object(std::mem::take(status));
        super::field::set_default(&mut s, "phase", json!("Active"));
        obj["status"] = s;
    }
}

/// `namespaceStrategy.PrepareForCreate`: status Active, and the `kubernetes` finalizer.
pub fn prepare_for_create(obj: &mut Value) {
    obj["status"] = json!({"phase": "Active"});
    let mut finalizers = obj
        .pointer("/spec/finalizers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !finalizers.iter().any(|f| f == "kubernetes") {
        finalizers.push(json!("kubernetes"));
    }
    if let Some(spec) = super::field::obj_mut(obj, "spec") {
        spec.insert("finalizers".into(), Value::Array(finalizers));
    }
}

/// `ValidateNamespace` / `ValidateNamespaceUpdate`.
pub fn validate(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = meta::validate(obj, false, meta::label_name);
    if let Some(old) = old {
        errs.extend(meta::validate_update(obj, old));
    }
    let empty = json!({});
    let spec = obj.get("spec").unwrap_or(&empty);
    for (i, f) in list_of(spec, "finalizers").iter().enumerate() {
        let s = f.as_str().unwrap_or("");
        let p = index("spec.finalizers", i);
        for m in names::qualified_name(s) {
            errs.push(FieldError::invalid(&p, json!(s), m));
        }
        if !s.contains('/') && !STANDARD_FINALIZERS.contains(&s) {
            errs.push(FieldError::invalid(
                &p,
                json!(s),
                "name is neither a standard finalizer name nor is it fully qualified",
            ));
        }
    }
    let status = obj.get("status").unwrap_or(&empty);
    match str_or_empty(status, "phase") {
        "" | "Active" | "Terminating" => {}
        p => errs.push(FieldError::not_supported(
            "status.phase",
            json!(p),
            &["Active", "Terminating"],
        )),
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_namespace_is_active_labelled_and_finalized() {
        let mut ns = json!({"metadata": {"name": "team-a"}});
        apply_defaults(&mut ns);
        prepare_for_create(&mut ns);
        assert_eq!(ns["metadata"]["labels"][NAME_LABEL], "team-a");
        assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
        assert_eq!(ns["status"], json!({"phase": "Active"}));
        assert!(validate(&ns, None).is_empty());
    }

    #[test]
    fn namespace_names_are_dns_labels() {
        let ns = json!({"metadata": {"name": "team.a"}});
        let errs = validate(&ns, None);
        assert_eq!(
            errs[0].message(),
            "metadata.name: Invalid value: \"team.a\": must not contain dots"
        );
        let ns = json!({"metadata": {"name": "a"}, "spec": {"finalizers": ["custom"]}});
        assert_eq!(validate(&ns, None)[0].field, "spec.finalizers[0]");
    }
}
