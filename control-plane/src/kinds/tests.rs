use serde_json::{json, Value};

use super::*;
use crate::registry::{by_kind, KINDS};

fn kind(group: &str, k: &str) -> &'static KindInfo {
    by_kind(group, k).expect("served kind")
}

/// What the write path does on create: defaults, preparation, validation.
fn create(k: &KindInfo, mut obj: Value) -> (Value, Vec<FieldError>) {
    apply_defaults(k, &mut obj);
    prepare_for_create(k, &mut obj);
    let errs = validate(k, &obj, None);
    (obj, errs)
}

#[test]
fn every_served_kind_accepts_a_minimal_valid_object() {
    let pod_spec = json!({"containers": [{"name": "c", "image": "nginx"}]});
    let template = json!({"metadata": {"labels": {"app": "web"}}, "spec": pod_spec});
    let sel = json!({"matchLabels": {"app": "web"}});
    let m = json!({"name": "web", "namespace": "default"});
    let samples = [
        ("", "Namespace", json!({"metadata": {"name": "team-a"}})),
        ("", "Node", json!({"metadata": {"name": "node-1"}})),
        ("", "Pod", json!({"metadata": m, "spec": pod_spec})),
        (
            "",
            "Service",
            json!({"metadata": m, "spec": {"ports": [{"port": 80}]}}),
        ),
        ("", "Endpoints", json!({"metadata": m, "subsets": []})),
        ("", "ConfigMap", json!({"metadata": m, "data": {"k": "v"}})),
        (
            "",
            "Secret",
            json!({"metadata": m, "stringData": {"k": "v"}}),
        ),
        ("", "ServiceAccount", json!({"metadata": m})),
        (
            "",
            "Event",
            json!({"metadata": m, "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"}}),
        ),
        (
            "apps",
            "Deployment",
            json!({"metadata": m, "spec": {"selector": sel, "template": template}}),
        ),
        (
            "apps",
            "ReplicaSet",
            json!({"metadata": m, "spec": {"selector": sel, "template": template}}),
        ),
        (
            "apps",
            "DaemonSet",
            json!({"metadata": m, "spec": {"selector": sel, "template": template}}),
        ),
        (
            "discovery.k8s.io",
            "EndpointSlice",
            json!({"metadata": m, "addressType": "IPv4", "endpoints": []}),
        ),
        (
            "coordination.k8s.io",
            "Lease",
            json!({"metadata": m, "spec": {}}),
        ),
    ];
    assert_eq!(samples.len(), KINDS.len());
    for (g, k, obj) in samples {
        let (out, errs) = create(kind(g, k), obj);
        assert!(errs.is_empty(), "{k}: {errs:?}");
        let mut again = out.clone();
        apply_defaults(kind(g, k), &mut again);
        assert_eq!(again, out, "{k}: defaults are idempotent");
    }
}

#[test]
fn generic_path_segment_rule_applies_when_kind_rules_pass() {
    // Events have no name rule of their own in core/v1; the generic rule still holds.
    let e = json!({"metadata": {"name": "a%b", "namespace": "default"}, "involvedObject": {"namespace": "default"}});
    let errs = validate(kind("", "Event"), &e, None);
    assert_eq!(errs.len(), 1);
    assert_eq!(
        errs[0].message(),
        "metadata.name: Invalid value: \"a%b\": may not contain '%'"
    );
}

#[test]
fn kind_errors_are_not_doubled_by_the_generic_metadata_rules() {
    let cm = json!({"metadata": {"name": "Bad", "namespace": "default", "labels": {"a b": "c"}}});
    let errs = validate(kind("", "ConfigMap"), &cm, None);
    let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["metadata.name", "metadata.labels"]);
}

#[test]
fn immutable_metadata_is_checked_on_update_for_every_kind() {
    for k in KINDS {
        let ns = if k.namespaced {
            json!("default")
        } else {
            Value::Null
        };
        let old = json!({"metadata": {"name": "a", "namespace": ns, "uid": "u1", "creationTimestamp": "2026-01-01T00:00:00Z"}});
        let mut new = old.clone();
        new["metadata"]["uid"] = json!("u2");
        let errs = validate(k, &new, Some(&old));
        assert!(
            errs.iter()
                .any(|e| e.field == "metadata.uid" && e.detail == "field is immutable"),
            "{}: {errs:?}",
            k.kind
        );
    }
}

#[test]
fn invalid_status_reports_pod_causes_with_paths() {
    let k = kind("", "Pod");
    let (_, errs) = create(
        k,
        json!({"metadata": {"name": "web", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 0}]}]}}),
    );
    let status = crate::api::ApiError::Invalid {
        group: String::new(),
        kind: "Pod".into(),
        name: "web".into(),
        causes: errs,
    }
    .to_status();
    assert_eq!(
        status["message"],
        "Pod \"web\" is invalid: spec.containers[0].ports[0].containerPort: Required value"
    );
    assert_eq!(
        status["details"]["causes"][0]["field"],
        "spec.containers[0].ports[0].containerPort"
    );
}
