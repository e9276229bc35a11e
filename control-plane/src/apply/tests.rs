use serde_json::{json, Value};

use super::*;
use crate::registry;

const T1: &str = "2026-01-02T03:04:05Z";
const T2: &str = "2026-01-02T03:05:00Z";
const T3: &str = "2026-01-02T03:06:00Z";

fn deployments() -> &'static KindInfo {
    registry::by_kind("apps", "Deployment").expect("deployments are served")
}

fn configmaps() -> &'static KindInfo {
    registry::by_kind("", "ConfigMap").expect("configmaps are served")
}

fn pods() -> &'static KindInfo {
    registry::by_kind("", "Pod").expect("pods are served")
}

fn deployment(replicas: i64, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image, "ports": [{"containerPort": 80}]}]}
            }
        }
    })
}

fn entry<'a>(obj: &'a Value, manager: &str, operation: &str) -> Option<&'a Value> {
    obj["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .find(|e| e["manager"] == manager && e["operation"] == operation)
}

fn conflict_parts(err: ApiError) -> (String, Vec<Value>) {
    let status = err.to_status();
    assert_eq!(status["code"], 409);
    assert_eq!(status["reason"], "Conflict");
    let causes = status["details"]["causes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    (status["message"].as_str().unwrap().to_string(), causes)
}

#[test]
fn apply_creates_the_object_with_one_apply_entry() {
    let out = apply(
        deployments(),
        None,
        &deployment(2, "nginx:1"),
        "kubectl",
        false,
        T1,
    )
    .unwrap();
    assert_eq!(out["spec"]["replicas"], 2);
    assert_eq!(out["metadata"]["name"], "web");
    let fields = out["metadata"]["managedFields"].as_array().unwrap();
    assert_eq!(fields.len(), 1);
    assert_eq!(
        fields[0],
        json!({
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "apps/v1",
            "time": T1,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:replicas": {},
                    "f:selector": {},
                    "f:template": {
                        "f:metadata": {"f:labels": {"f:app": {}}},
                        "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {
                            ".": {},
                            "f:image": {},
                            "f:name": {},
                            "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                                ".": {},
                                "f:containerPort": {}
                            }}
                        }}}
                    }
                }
            }
        })
    );
}

#[test]
fn second_apply_changes_values_and_removes_dropped_fields() {
    let first = apply(
        deployments(),
        None,
        &deployment(2, "nginx:1"),
        "kubectl",
        false,
        T1,
    )
    .unwrap();
    let mut config = deployment(3, "nginx:2");
    config["metadata"].as_object_mut().unwrap().remove("labels");
    let second = apply(deployments(), Some(&first), &config, "kubectl", false, T2).unwrap();
    assert_eq!(second["spec"]["replicas"], 3);
    assert_eq!(
        second["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:2"
    );
    assert!(second["metadata"].get("labels").is_none(), "{second}");
    let e = entry(&second, "kubectl", "Apply").unwrap();
    assert_eq!(e["time"], T2);
    assert!(e["fieldsV1"]["f:metadata"].is_null());
}

#[test]
fn dropped_field_owned_by_another_manager_stays() {
    let first = apply(
        configmaps(),
        None,
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}}),
        "one",
        false,
        T1,
    )
    .unwrap();
    let both = apply(
        configmaps(),
        Some(&first),
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c"}, "data": {"b": "2"}}),
        "two",
        false,
        T2,
    )
    .unwrap();
    let after = apply(
        configmaps(),
        Some(&both),
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c"}, "data": {"c": "3"}}),
        "one",
        false,
        T3,
    )
    .unwrap();
    assert_eq!(after["data"], json!({"b": "2", "c": "3"}));
}

#[test]
fn changing_a_field_another_manager_owns_is_a_conflict_like_upstream() {
    let mut created = deployment(2, "nginx:1");
    record_update(
        deployments(),
        None,
        &mut created,
        "kubectl-client-side-apply",
        None,
        T1,
    );
    let err = apply(
        deployments(),
        Some(&created),
        &deployment(5, "nginx:1"),
        "kubectl",
        false,
        T2,
    )
    .unwrap_err();
    let (message, causes) = conflict_parts(err);
    assert_eq!(
        message,
        "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.replicas"
    );
    assert_eq!(
        causes,
        vec![json!({
            "reason": "FieldManagerConflict",
            "message": "conflict with \"kubectl-client-side-apply\" using apps/v1",
            "field": ".spec.replicas"
        })]
    );
}

#[test]
fn several_conflicts_are_listed_per_manager() {
    let first = apply(
        deployments(),
        None,
        &deployment(2, "nginx:1"),
        "alpha",
        false,
        T1,
    )
    .unwrap();
    let err = apply(
        deployments(),
        Some(&first),
        &deployment(3, "nginx:2"),
        "beta",
        false,
        T2,
    )
    .unwrap_err();
    let (message, causes) = conflict_parts(err);
    assert_eq!(
        message,
        "Apply failed with 2 conflicts: conflicts with \"alpha\":\n- .spec.replicas\n- .spec.template.spec.containers[name=\"web\"].image"
    );
    assert_eq!(causes.len(), 2);
    assert_eq!(
        causes[1]["field"],
        ".spec.template.spec.containers[name=\"web\"].image"
    );
    assert_eq!(causes[1]["message"], "conflict with \"alpha\"");
}

#[test]
fn force_takes_ownership_of_conflicting_fields() {
    let first = apply(
        deployments(),
        None,
        &deployment(2, "nginx:1"),
        "alpha",
        false,
        T1,
    )
    .unwrap();
    let out = apply(
        deployments(),
        Some(&first),
        &deployment(7, "nginx:1"),
        "beta",
        true,
        T2,
    )
    .unwrap();
    assert_eq!(out["spec"]["replicas"], 7);
    let alpha = entry(&out, "alpha", "Apply").unwrap();
    assert!(alpha["fieldsV1"]["f:spec"].get("f:replicas").is_none());
    assert!(alpha["fieldsV1"]["f:spec"].get("f:selector").is_some());
    let beta = entry(&out, "beta", "Apply").unwrap();
    assert!(beta["fieldsV1"]["f:spec"].get("f:replicas").is_some());
}

#[test]
fn applying_the_same_value_shares_ownership() {
    let first = apply(
        deployments(),
        None,
        &deployment(2, "nginx:1"),
        "alpha",
        false,
        T1,
    )
    .unwrap();
    let out = apply(
        deployments(),
        Some(&first),
        &deployment(2, "nginx:1"),
        "beta",
        false,
        T2,
    )
    .unwrap();
    for m in ["alpha", "beta"] {
        let e = entry(&out, m, "Apply").unwrap();
        assert!(e["fieldsV1"]["f:spec"].get("f:replicas").is_some(), "{m}");
    }
    // Once shared, beta dropping the field leaves it to alpha.
    let mut without = deployment(2, "nginx:1");
    without["spec"].as_object_mut().unwrap().remove("replicas");
    let after = apply(deployments(), Some(&out), &without, "beta", false, T3).unwrap();
    assert_eq!(after["spec"]["replicas"], 2);
}

#[test]
fn update_after_apply_transfers_ownership() {
    let applied = apply(
        deployments(),
        None,
        &deployment(2, "nginx:1"),
        "kubectl",
        false,
        T1,
    )
    .unwrap();
    let mut edited = applied.clone();
    edited["spec"]["replicas"] = json!(4);
    record_update(
        deployments(),
        Some(&applied),
        &mut edited,
        "kubectl-edit",
        None,
        T2,
    );
    let mine = entry(&edited, "kubectl-edit", "Update").unwrap();
    assert_eq!(mine["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));
    assert_eq!(mine["apiVersion"], "apps/v1");
    assert_eq!(mine["time"], T2);
    let applier = entry(&edited, "kubectl", "Apply").unwrap();
    assert!(applier["fieldsV1"]["f:spec"].get("f:replicas").is_none());
    // Apply entries sort before update entries.
    assert_eq!(edited["metadata"]["managedFields"][0]["operation"], "Apply");
    // Re-applying the old value now conflicts with the editor.
    let err = apply(
        deployments(),
        Some(&edited),
        &deployment(2, "nginx:1"),
        "kubectl",
        false,
        T3,
    )
    .unwrap_err();
    assert!(conflict_parts(err)
        .0
        .contains("\"kubectl-edit\" using apps/v1: .spec.replicas"));
}

#[test]
fn create_owns_every_set_field_and_new_maps_as_members() {
    let mut obj = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "default", "uid": "u", "labels": {"a": "b"}},
        "data": {"k": "v"}});
    record_update(configmaps(), None, &mut obj, "kubectl-create", None, T1);
    let fields = obj["metadata"]["managedFields"].as_array().unwrap();
    assert_eq!(fields.len(), 1);
    assert_eq!(
        fields[0]["fieldsV1"],
        json!({"f:data": {".": {}, "f:k": {}}, "f:metadata": {"f:labels": {".": {}, "f:a": {}}}})
    );
    assert_eq!(fields[0]["operation"], "Update");
    assert!(fields[0].get("subresource").is_none());
}

#[test]
fn unchanged_update_keeps_entries_and_times() {
    let mut obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}});
    record_update(configmaps(), None, &mut obj, "writer", None, T1);
    let mut again = obj.clone();
    record_update(configmaps(), Some(&obj), &mut again, "other", None, T2);
    assert_eq!(
        again["metadata"]["managedFields"],
        obj["metadata"]["managedFields"]
    );
}

#[test]
fn status_writes_are_recorded_under_the_subresource_and_apply_ignores_status() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "i"}]}, "status": {"phase": "Pending"}});
    let created = apply(pods(), None, &pod, "kubectl", false, T1).unwrap();
    let e = entry(&created, "kubectl", "Apply").unwrap();
    assert!(e["fieldsV1"].get("f:status").is_none());
    assert!(created.get("status").is_none());

    let mut running = created.clone();
    running["status"] = json!({"phase": "Running"});
    record_update(
        pods(),
        Some(&created),
        &mut running,
        "kubelet",
        Some("status"),
        T2,
    );
    let s = entry(&running, "kubelet", "Update").unwrap();
    assert_eq!(s["subresource"], "status");
    assert_eq!(s["fieldsV1"], json!({"f:status": {"f:phase": {}}}));
}

#[test]
fn noop_apply_keeps_the_previous_time() {
    let first = apply(
        deployments(),
        None,
        &deployment(2, "nginx:1"),
        "kubectl",
        false,
        T1,
    )
    .unwrap();
    let again = apply(
        deployments(),
        Some(&first),
        &deployment(2, "nginx:1"),
        "kubectl",
        false,
        T2,
    )
    .unwrap();
    assert_eq!(again, first);
}

#[test]
fn bad_configs_are_bad_requests() {
    let mut with_fields = deployment(1, "x");
    with_fields["metadata"]["managedFields"] = json!([{"manager": "x"}]);
    let err = apply(deployments(), None, &with_fields, "kubectl", false, T1).unwrap_err();
    assert_eq!(err.code(), 400);
    assert_eq!(err.to_string(), "metadata.managedFields must be nil");

    let mut dup = deployment(1, "x");
    dup["spec"]["template"]["spec"]["containers"] =
        json!([{"name": "a", "image": "1"}, {"name": "a", "image": "2"}]);
    let err = apply(deployments(), None, &dup, "kubectl", false, T1).unwrap_err();
    assert_eq!(err.code(), 400);
    assert!(
        err.to_string()
            .contains("duplicate entries for key [name=\"a\"]"),
        "{err}"
    );
}

#[test]
fn client_written_managed_fields_replace_the_stored_ones() {
    let applied = apply(
        deployments(),
        None,
        &deployment(2, "nginx:1"),
        "kubectl",
        false,
        T1,
    )
    .unwrap();
    let mut cleared = applied.clone();
    cleared["metadata"]["managedFields"] = json!([{}]);
    record_update(
        deployments(),
        Some(&applied),
        &mut cleared,
        "kubectl-patch",
        None,
        T2,
    );
    assert!(
        cleared["metadata"].get("managedFields").is_none(),
        "{cleared}"
    );
}

#[test]
fn set_lists_are_owned_per_value() {
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "finalizers": ["example.com/a"]}});
    let out = apply(configmaps(), None, &config, "kubectl", false, T1).unwrap();
    let e = entry(&out, "kubectl", "Apply").unwrap();
    assert_eq!(
        e["fieldsV1"],
        json!({"f:metadata": {"f:finalizers": {"v:\"example.com/a\"": {}}}})
    );
    let other = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "finalizers": ["example.com/b"]}});
    let both = apply(configmaps(), Some(&out), &other, "second", false, T2).unwrap();
    assert_eq!(
        both["metadata"]["finalizers"],
        json!(["example.com/a", "example.com/b"])
    );
}
