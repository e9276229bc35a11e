//! `ObjectMeta` rules shared by every kind, label selectors, and the update checks upstream
//! runs on metadata (`ValidateObjectMetaAccessor`, `ValidateObjectMetaAccessorUpdate`).

use serde_json::{json, Value};

use super::field::{child, index, list_of, map_of, str_of, str_or_empty, string_map};
use super::names;
use crate::api::FieldError;

/// Upstream's `FieldImmutableErrorMsg`.
pub const IMMUTABLE: &str = "field is immutable";
/// Upstream's `TotalAnnotationSizeLimitB`.
const ANNOTATIONS_MAX_BYTES: usize = 256 * 1024;

/// A name rule: the value and whether it is a `generateName` prefix → problems.
pub type NameRule = fn(&str, bool) -> Vec<String>;

/// Object names that must be DNS-1123 subdomains (most kinds).
pub fn subdomain_name(name: &str, prefix: bool) -> Vec<String> {
    names::dns1123_subdomain(&masked(name, prefix))
}

/// Object names that must be DNS-1123 labels (namespaces).
pub fn label_name(name: &str, prefix: bool) -> Vec<String> {
    names::dns1123_label(&masked(name, prefix))
}

/// Object names that must be DNS-1035 labels (services).
pub fn dns1035_name(name: &str, prefix: bool) -> Vec<String> {
    names::dns1035_label(&masked(name, prefix))
}

/// Object names that only need to fit in a URL path segment (the generic rule).
pub fn path_segment_name(name: &str, prefix: bool) -> Vec<String> {
    names::path_segment(&masked(name, prefix))
}

fn masked(name: &str, prefix: bool) -> String {
    if prefix {
        names::mask_trailing_dash(name)
    } else {
        name.to_string()
    }
}

/// `ValidateObjectMeta`: name (or generateName), namespace scope, labels, annotations, owner
/// references, finalizers.
pub fn validate(obj: &Value, namespaced: bool, rule: NameRule) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let empty = json!({});
    let meta = obj.get("metadata").unwrap_or(&empty);
    let generate = str_or_empty(meta, "generateName");
    if !generate.is_empty() {
        for msg in rule(generate, true) {
            errs.push(FieldError::invalid(
                "metadata.generateName",
                json!(generate),
                msg,
            ));
        }
    }
    let name = str_or_empty(meta, "name");
    if name.is_empty() {
        errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        for msg in rule(name, false) {
            errs.push(FieldError::invalid("metadata.name", json!(name), msg));
        }
    }
    let namespace = str_or_empty(meta, "namespace");
    if namespaced {
        if namespace.is_empty() {
            errs.push(FieldError::required("metadata.namespace", ""));
        } else {
            for msg in names::dns1123_label(namespace) {
                errs.push(FieldError::invalid(
                    "metadata.namespace",
                    json!(namespace),
                    msg,
                ));
            }
        }
    } else if !namespace.is_empty() {
        errs.push(FieldError::forbidden(
            "metadata.namespace",
            "not allowed on this type",
        ));
    }
    if let Some(g) = meta.get("generation").and_then(Value::as_i64) {
        errs.extend(nonnegative(g, "metadata.generation"));
    }
    errs.extend(common(meta));
    errs.extend(finalizers(meta));
    errs
}

/// Labels, annotations and owner references: checked on create and on update.
fn common(meta: &Value) -> Vec<FieldError> {
    let mut errs = labels(meta, "labels", "metadata.labels");
    errs.extend(annotations(meta, "metadata.annotations"));
    errs.extend(owner_references(meta));
    errs
}

/// `ValidateLabels` on the map at `parent[name]`, reported at `path`.
pub fn labels(parent: &Value, name: &str, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (k, v) in string_map(parent, name) {
        for msg in names::qualified_name(k) {
            errs.push(FieldError::invalid(path, json!(k), msg));
        }
        for msg in names::label_value(v) {
            errs.push(FieldError::invalid(path, json!(v), msg));
        }
    }
    errs
}

/// `ValidateAnnotations` on `meta.annotations`: keys are qualified names in any case; the
/// total size is limited to 256 KiB.
pub fn annotations(meta: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut size = 0;
    for (k, v) in string_map(meta, "annotations") {
        for msg in names::qualified_name(&k.to_lowercase()) {
            errs.push(FieldError::invalid(path, json!(k), msg));
        }
        size += k.len() + v.len();
    }
    if size > ANNOTATIONS_MAX_BYTES {
        errs.push(FieldError::too_long(path, ANNOTATIONS_MAX_BYTES));
    }
    errs
}

fn owner_references(meta: &Value) -> Vec<FieldError> {
    let path = "metadata.ownerReferences";
    let mut errs = Vec::new();
    let mut first_controller: Option<String> = None;
    let refs = list_of(meta, "ownerReferences");
    for r in refs {
        let api_version = str_or_empty(r, "apiVersion");
        let version = api_version.rsplit('/').next().unwrap_or("");
        if version.is_empty() {
            errs.push(FieldError::invalid(
                child(path, "apiVersion"),
                json!(api_version),
                "version must not be empty",
            ));
        }
        for f in ["kind", "name", "uid"] {
            let v = str_or_empty(r, f);
            if v.is_empty() {
                errs.push(FieldError::invalid(
                    child(path, f),
                    json!(v),
                    "must not be empty",
                ));
            }
        }
        if r.get("controller").and_then(Value::as_bool) == Some(true) {
            let current = format!("{}/{}", str_or_empty(r, "kind"), str_or_empty(r, "name"));
            match &first_controller {
                Some(first) => errs.push(FieldError::invalid(
                    path,
                    Value::Array(refs.to_vec()),
                    format!("Only one reference can have Controller set to true. Found \"true\" in references for {first} and {current}"),
                )),
                None => first_controller = Some(current),
            }
        }
    }
    errs
}

fn finalizers(meta: &Value) -> Vec<FieldError> {
    let path = "metadata.finalizers";
    let mut errs = Vec::new();
    let list: Vec<&str> = list_of(meta, "finalizers")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for f in &list {
        for msg in names::qualified_name(f) {
            errs.push(FieldError::invalid(path, json!(f), msg));
        }
    }
    if list.contains(&"orphan") && list.contains(&"foregroundDeletion") {
        errs.push(FieldError::invalid(
            path,
            json!(list),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
    errs
}

/// `ValidateObjectMetaAccessorUpdate`: identity fields are immutable; no new finalizers once
/// deletion started. A field the new object leaves empty (uid, creationTimestamp) is one the
/// write path copies from the stored object, so only a different value is an error.
pub fn validate_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let empty = json!({});
    let meta = obj.get("metadata").unwrap_or(&empty);
    let old_meta = old.get("metadata").unwrap_or(&empty);
    let mut errs = Vec::new();
    if old_meta
        .get("deletionTimestamp")
        .is_some_and(|v| !v.is_null())
    {
        let before: Vec<&Value> = list_of(old_meta, "finalizers").iter().collect();
        let extra: Vec<String> = list_of(meta, "finalizers")
            .iter()
            .filter(|f| !before.contains(f))
            .filter_map(|f| f.as_str().map(|s| format!("{s:?}")))
            .collect();
        if !extra.is_empty() {
            errs.push(FieldError::forbidden(
                "metadata.finalizers",
                format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                    extra.join(", ")
                ),
            ));
        }
    }
    for (f, always) in [
        ("name", true),
        ("namespace", true),
        ("uid", false),
        ("creationTimestamp", false),
        ("deletionTimestamp", false),
    ] {
        let new = meta.get(f).filter(|v| !v.is_null() && *v != "");
        let before = old_meta.get(f).filter(|v| !v.is_null() && *v != "");
        if new == before || (!always && new.is_none()) {
            continue;
        }
        errs.push(FieldError::invalid(
            format!("metadata.{f}"),
            new.cloned().unwrap_or(json!("")),
            IMMUTABLE,
        ));
    }
    errs.extend(common(meta));
    errs
}

/// `ValidateImmutableField`: `path: Invalid value: <new>: field is immutable` when changed.
pub fn immutable(new: Option<&Value>, old: Option<&Value>, path: &str) -> Vec<FieldError> {
    let norm = |v: Option<&Value>| v.filter(|x| !x.is_null()).cloned();
    if norm(new) == norm(old) {
        Vec::new()
    } else {
        vec![FieldError::invalid(
            path,
            norm(new).unwrap_or(Value::Null),
            IMMUTABLE,
        )]
    }
}

/// `ValidateNonnegativeField`.
pub fn nonnegative(v: i64, path: &str) -> Vec<FieldError> {
    if v < 0 {
        vec![FieldError::invalid(
            path,
            json!(v),
            "must be greater than or equal to 0",
        )]
    } else {
        Vec::new()
    }
}

/// `ValidateLabelSelector` (strict: label values in expressions must be valid).
pub fn label_selector(sel: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = labels(sel, "matchLabels", &child(path, "matchLabels"));
    for (i, expr) in list_of(sel, "matchExpressions").iter().enumerate() {
        let p = index(&child(path, "matchExpressions"), i);
        let values = list_of(expr, "values");
        match str_or_empty(expr, "operator") {
            "In" | "NotIn" if values.is_empty() => errs.push(FieldError::required(
                child(&p, "values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            )),
            "Exists" | "DoesNotExist" if !values.is_empty() => errs.push(FieldError::forbidden(
                child(&p, "values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            op => errs.push(FieldError::invalid(
                child(&p, "operator"),
                json!(op),
                "not a valid selector operator",
            )),
        }
        let k = str_or_empty(expr, "key");
        for msg in names::qualified_name(k) {
            errs.push(FieldError::invalid(child(&p, "key"), json!(k), msg));
        }
        for (j, v) in values.iter().enumerate() {
            let s = v.as_str().unwrap_or("");
            for msg in names::label_value(s) {
                errs.push(FieldError::invalid(
                    index(&child(&p, "values"), j),
                    json!(s),
                    msg,
                ));
            }
        }
    }
    errs
}

/// True when a selector has neither `matchLabels` nor `matchExpressions`.
pub fn selector_is_empty(sel: &Value) -> bool {
    map_of(sel, "matchLabels").is_none_or(|m| m.is_empty())
        && list_of(sel, "matchExpressions").is_empty()
}

/// Whether `labels` (an object of strings) satisfies a `LabelSelector`; an empty selector
/// matches everything.
pub fn selector_matches(sel: &Value, labels: Option<&Value>) -> bool {
    let empty = json!({});
    let labels = labels.filter(|l| l.is_object()).unwrap_or(&empty);
    let label = |k: &str| str_of(labels, k);
    let by_labels = string_map(sel, "matchLabels")
        .into_iter()
        .all(|(k, v)| label(k) == Some(v));
    let by_exprs = list_of(sel, "matchExpressions").iter().all(|e| {
        let k = str_or_empty(e, "key");
        let values: Vec<&str> = list_of(e, "values")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        match str_or_empty(e, "operator") {
            "In" => label(k).is_some_and(|v| values.contains(&v)),
            "NotIn" => label(k).is_none_or(|v| !values.contains(&v)),
            "Exists" => label(k).is_some(),
            "DoesNotExist" => label(k).is_none(),
            _ => false,
        }
    });
    by_labels && by_exprs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_name_and_bad_labels_are_reported_with_paths() {
        let obj = json!({"metadata": {"namespace": "default", "labels": {"-bad": "x y"}}});
        let errs = validate(&obj, true, subdomain_name);
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["metadata.name", "metadata.labels", "metadata.labels"]
        );
        assert_eq!(
            errs[0].message(),
            "metadata.name: Required value: name or generateName is required"
        );
    }

    #[test]
    fn namespace_is_required_on_namespaced_kinds_and_forbidden_on_cluster_kinds() {
        let errs = validate(&json!({"metadata": {"name": "a"}}), true, subdomain_name);
        assert_eq!(errs[0].field, "metadata.namespace");
        let errs = validate(
            &json!({"metadata": {"name": "a", "namespace": "x"}}),
            false,
            subdomain_name,
        );
        assert_eq!(
            errs[0].message(),
            "metadata.namespace: Forbidden: not allowed on this type"
        );
    }

    #[test]
    fn generate_name_prefix_with_trailing_dash_is_valid() {
        let obj =
            json!({"metadata": {"generateName": "web-", "name": "web-abcde", "namespace": "d"}});
        assert!(validate(&obj, true, subdomain_name).is_empty());
        let obj =
            json!({"metadata": {"generateName": "Web-", "name": "web-abcde", "namespace": "d"}});
        assert_eq!(
            validate(&obj, true, subdomain_name)[0].field,
            "metadata.generateName"
        );
    }

    #[test]
    fn second_controller_owner_reference_is_invalid() {
        let r = |n: &str| json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": n, "uid": "u", "controller": true});
        let obj = json!({"metadata": {"name": "a", "namespace": "d", "ownerReferences": [r("x"), r("y")]}});
        let errs = validate(&obj, true, subdomain_name);
        assert_eq!(errs.len(), 1);
        assert!(errs[0].detail.contains("ReplicaSet/x and ReplicaSet/y"));
    }

    #[test]
    fn update_may_not_change_name_or_uid() {
        let old = json!({"metadata": {"name": "a", "namespace": "d", "uid": "1"}});
        let new = json!({"metadata": {"name": "b", "namespace": "d", "uid": "2"}});
        let errs = validate_update(&new, &old);
        assert_eq!(
            errs[0].message(),
            "metadata.name: Invalid value: \"b\": field is immutable"
        );
        assert_eq!(errs[1].field, "metadata.uid");
        let same = json!({"metadata": {"name": "a", "namespace": "d"}});
        assert!(validate_update(&same, &old).is_empty());
    }

    #[test]
    fn finalizers_cannot_be_added_during_deletion() {
        let old = json!({"metadata": {"name": "a", "deletionTimestamp": "2026-01-01T00:00:00Z", "finalizers": ["a/b"]}});
        let new = json!({"metadata": {"name": "a", "deletionTimestamp": "2026-01-01T00:00:00Z", "finalizers": ["a/b", "c/d"]}});
        let errs = validate_update(&new, &old);
        assert_eq!(errs[0].message(), "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"c/d\"}");
    }

    #[test]
    fn selectors_validate_and_match_like_upstream() {
        let sel = json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}, {"key": "x", "operator": "DoesNotExist"}]});
        assert!(label_selector(&sel, "spec.selector").is_empty());
        assert!(selector_matches(
            &sel,
            Some(&json!({"app": "web", "tier": "b"}))
        ));
        assert!(!selector_matches(
            &sel,
            Some(&json!({"app": "web", "tier": "c"}))
        ));
        let bad = json!({"matchExpressions": [{"key": "k", "operator": "In"}, {"key": "k", "operator": "Has"}]});
        let errs = label_selector(&bad, "spec.selector");
        assert_eq!(errs[0].field, "spec.selector.matchExpressions[0].values");
        assert_eq!(errs[1].field, "spec.selector.matchExpressions[1].operator");
    }
}
