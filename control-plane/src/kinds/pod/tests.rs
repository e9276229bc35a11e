use serde_json::{json, Value};

use super::*;

fn pod(spec: Value) -> Value {
    let mut p = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default"}, "spec": spec});
    apply_defaults(&mut p);
    p
}

fn fields(errs: &[FieldError]) -> Vec<&str> {
    errs.iter().map(|e| e.field.as_str()).collect()
}

fn simple() -> Value {
    pod(json!({"containers": [{"name": "c", "image": "nginx"}]}))
}

#[test]
fn defaulted_minimal_pod_is_valid() {
    assert_eq!(validate(&simple(), None), vec![]);
}

#[test]
fn pod_without_containers_requires_them() {
    let errs = validate(&pod(json!({})), None);
    assert_eq!(fields(&errs), ["spec.containers"]);
    assert_eq!(errs[0].message(), "spec.containers: Required value");
}

#[test]
fn container_names_must_be_dns_labels_and_unique_across_lists() {
    let p = pod(json!({
        "initContainers": [{"name": "a", "image": "x"}],
        "containers": [{"name": "a", "image": "x"}, {"name": "Bad_Name", "image": "x"}, {"image": "x"}]}));
    let errs = validate(&p, None);
    assert_eq!(
        fields(&errs),
        [
            "spec.containers[0].name",
            "spec.containers[1].name",
            "spec.containers[2].name"
        ]
    );
    assert_eq!(
        errs[0].message(),
        "spec.containers[0].name: Duplicate value: \"a\""
    );
    assert!(errs[1].detail.starts_with("a lowercase RFC 1123 label"));
    assert_eq!(errs[2].kind, crate::api::CauseKind::Required);
}

#[test]
fn pod_image_is_required_but_template_image_is_not() {
    let p = pod(json!({"containers": [{"name": "c"}]}));
    let errs = validate(&p, None);
    assert_eq!(fields(&errs), ["spec.containers[0].image"]);
    let mut spec = json!({"containers": [{"name": "c"}]});
    defaults::pod_spec(&mut spec);
    let t = json!({"metadata": {"labels": {"app": "x"}}, "spec": spec});
    assert!(validate_template(&t, "spec.template").is_empty());
}

#[test]
fn container_ports_are_checked_for_range_protocol_and_names() {
    let p = pod(json!({"containers": [{"name": "c", "image": "x", "ports": [
        {"containerPort": 70000}, {"containerPort": 80, "protocol": "HTTP"},
        {"name": "web", "containerPort": 81}, {"name": "web", "containerPort": 82},
        {"containerPort": 83, "hostPort": -1}, {"name": "x", "protocol": "TCP"}]}]}));
    let errs = validate(&p, None);
    assert_eq!(
        fields(&errs),
        [
            "spec.containers[0].ports[0].containerPort",
            "spec.containers[0].ports[1].protocol",
            "spec.containers[0].ports[3].name",
            "spec.containers[0].ports[4].hostPort",
            "spec.containers[0].ports[5].containerPort",
        ]
    );
    assert_eq!(
        errs[0].message(),
        "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"
    );
    assert_eq!(
        errs[1].message(),
        "spec.containers[0].ports[1].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\""
    );
}

#[test]
fn restart_and_dns_policies_must_be_known_values() {
    let p = pod(json!({"restartPolicy": "Sometimes", "dnsPolicy": "Google",
        "containers": [{"name": "c", "image": "x"}]}));
    let errs = validate(&p, None);
    assert_eq!(fields(&errs), ["spec.restartPolicy", "spec.dnsPolicy"]);
    assert_eq!(
        errs[0].message(),
        "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""
    );
    let p = pod(json!({"dnsPolicy": "None", "containers": [{"name": "c", "image": "x"}]}));
    assert_eq!(fields(&validate(&p, None)), ["spec.dnsConfig"]);
}

#[test]
fn volumes_must_be_unique_and_mounts_must_name_a_volume() {
    let p = pod(json!({
        "volumes": [{"name": "data", "emptyDir": {}}, {"name": "data", "emptyDir": {}},
            {"name": "both", "emptyDir": {}, "hostPath": {"path": "/x"}}],
        "containers": [{"name": "c", "image": "x", "volumeMounts": [
            {"name": "data", "mountPath": "/d"}, {"name": "nope", "mountPath": "/d"}]}]}));
    let errs = validate(&p, None);
    assert_eq!(
        fields(&errs),
        [
            "spec.volumes[1].name",
            "spec.volumes[2].emptyDir",
            "spec.containers[0].volumeMounts[1].name",
            "spec.containers[0].volumeMounts[1].mountPath",
        ]
    );
    assert_eq!(
        errs[1].message(),
        "spec.volumes[2].emptyDir: Forbidden: may not specify more than 1 volume type"
    );
    assert_eq!(
        errs[2].message(),
        "spec.containers[0].volumeMounts[1].name: Not found: \"nope\""
    );
}

#[test]
fn probes_need_one_handler_and_liveness_success_threshold_one() {
    let p = pod(json!({"containers": [{"name": "c", "image": "x",
        "livenessProbe": {"successThreshold": 2, "tcpSocket": {"port": 80}},
        "readinessProbe": {"periodSeconds": 5}}]}));
    let errs = validate(&p, None);
    assert_eq!(
        fields(&errs),
        [
            "spec.containers[0].livenessProbe.successThreshold",
            "spec.containers[0].readinessProbe"
        ]
    );
    assert_eq!(errs[1].detail, "must specify a handler type");
}

#[test]
fn requests_above_limits_and_bad_quantities_are_invalid() {
    let p = pod(
        json!({"containers": [{"name": "c", "image": "x", "resources": {
        "limits": {"cpu": "500m", "memory": "lots"}, "requests": {"cpu": "1"}}}]}),
    );
    let errs = validate(&p, None);
    assert_eq!(
        fields(&errs),
        [
            "spec.containers[0].resources.limits[memory]",
            "spec.containers[0].resources.requests[memory]",
            "spec.containers[0].resources.requests[cpu]",
        ]
    );
    assert_eq!(
        errs[2].message(),
        "spec.containers[0].resources.requests[cpu]: Invalid value: \"1\": must be less than or equal to cpu limit of 500m"
    );
}

#[test]
fn tolerations_and_env_are_validated() {
    let p = pod(json!({"tolerations": [{"operator": "Equal", "value": "x"},
            {"key": "k", "operator": "Exists", "value": "v"}, {"key": "k", "tolerationSeconds": 5, "effect": "NoSchedule"}],
        "containers": [{"name": "c", "image": "x", "env": [{"name": "A=B"}, {"value": "x"}]}]}));
    let errs = validate(&p, None);
    assert_eq!(
        fields(&errs),
        [
            "spec.containers[0].env[0].name",
            "spec.containers[0].env[1].name",
            "spec.tolerations[0].operator",
            "spec.tolerations[1].operator",
            "spec.tolerations[2].effect",
        ]
    );
}

#[test]
fn new_pod_is_pending_with_qos_class() {
    let mut p = pod(json!({"containers": [{"name": "c", "image": "x",
        "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}));
    p["status"] = json!({"phase": "Running"});
    prepare_for_create(&mut p);
    assert_eq!(
        p["status"],
        json!({"phase": "Pending", "qosClass": "Guaranteed"})
    );
    assert_eq!(p["spec"]["serviceAccountName"], "default");
    assert_eq!(p["spec"]["preemptionPolicy"], "PreemptLowerPriority");
    assert!(validate(&p, None).is_empty());
}

#[test]
fn gated_pod_gets_scheduling_gated_condition() {
    let mut p = pod(
        json!({"schedulingGates": [{"name": "g"}], "containers": [{"name": "c", "image": "x"}]}),
    );
    prepare_for_create(&mut p);
    assert_eq!(p["status"]["conditions"][0]["reason"], "SchedulingGated");
}

#[test]
fn pod_update_may_change_image_but_not_other_spec_fields() {
    let old = simple();
    let mut new = old.clone();
    new["spec"]["containers"][0]["image"] = json!("nginx:1.27");
    assert!(validate(&new, Some(&old)).is_empty());
    new["spec"]["restartPolicy"] = json!("Never");
    let errs = validate(&new, Some(&old));
    assert_eq!(fields(&errs), ["spec"]);
    assert_eq!(errs[0].kind, crate::api::CauseKind::Forbidden);
    assert!(errs[0].detail.starts_with(POD_UPDATE_FORBIDDEN));
    assert!(errs[0].detail.contains("restartPolicy"));
}

#[test]
fn pod_update_allows_toleration_additions_and_shorter_deadlines() {
    let mut old = simple();
    old["spec"]["tolerations"] = json!([{"key": "a", "operator": "Exists"}]);
    old["spec"]["activeDeadlineSeconds"] = json!(100);
    let mut new = old.clone();
    new["spec"]["tolerations"] =
        json!([{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Exists"}]);
    new["spec"]["activeDeadlineSeconds"] = json!(50);
    assert!(validate(&new, Some(&old)).is_empty());
    new["spec"]["activeDeadlineSeconds"] = json!(200);
    let errs = validate(&new, Some(&old));
    assert_eq!(
        errs[0].message(),
        "spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to previous value"
    );
    let mut removed = old.clone();
    removed["spec"]["tolerations"] = json!([]);
    let errs = validate(&removed, Some(&old));
    assert_eq!(fields(&errs), ["spec.tolerations"]);
}

#[test]
fn ephemeral_containers_cannot_be_set_on_create() {
    let mut p = simple();
    p["spec"]["ephemeralContainers"] = json!([{"name": "dbg", "image": "busybox"}]);
    let errs = validate(&p, None);
    assert_eq!(fields(&errs), ["spec.ephemeralContainers"]);
}
