use serde_json::json;

use super::kind;
use crate::api::status::ApiError;
use crate::printers::columns::PRINTED_KINDS;
use crate::printers::{field_value, parse_field_selector, supports_field, FieldOp};

#[test]
fn every_kind_supports_name_and_namespace() {
    for k in PRINTED_KINDS {
        assert!(supports_field(kind(k), "metadata.name"), "{k}");
        assert!(supports_field(kind(k), "metadata.namespace"), "{k}");
        assert!(!supports_field(kind(k), "spec.bogus"), "{k}");
    }
    let node = json!({"metadata": {"name": "n1"}});
    assert_eq!(
        field_value(kind("Node"), &node, "metadata.namespace").as_deref(),
        Some("")
    );
    assert!(!supports_field(kind("EndpointSlice"), "addressType"));
    assert!(!supports_field(kind("Deployment"), "status.replicas"));
}

#[test]
fn pod_field_values_follow_upstream_selectable_fields() {
    let k = kind("Pod");
    let pod = json!({"metadata": {"name": "web", "namespace": "default"},
        "spec": {"nodeName": "n1", "restartPolicy": "Always", "schedulerName": "default-scheduler", "serviceAccountName": "default"},
        "status": {"phase": "Running", "podIP": "10.42.0.5", "podIPs": [{"ip": "10.42.0.5"}], "nominatedNodeName": "n2"}});
    let v = |l: &str| field_value(k, &pod, l);
    assert_eq!(v("spec.nodeName").as_deref(), Some("n1"));
    assert_eq!(v("spec.host").as_deref(), Some("n1"));
    assert_eq!(v("spec.restartPolicy").as_deref(), Some("Always"));
    assert_eq!(
        v("spec.schedulerName").as_deref(),
        Some("default-scheduler")
    );
    assert_eq!(v("spec.serviceAccountName").as_deref(), Some("default"));
    assert_eq!(v("spec.hostNetwork").as_deref(), Some("false"));
    assert_eq!(v("status.phase").as_deref(), Some("Running"));
    assert_eq!(v("status.podIP").as_deref(), Some("10.42.0.5"));
    assert_eq!(v("status.podIPs").as_deref(), Some(""));
    assert_eq!(v("status.nominatedNodeName").as_deref(), Some("n2"));
    assert_eq!(v("metadata.namespace").as_deref(), Some("default"));
    assert_eq!(v("spec.containers"), None);
    let host = json!({"spec": {"hostNetwork": true}});
    assert_eq!(
        field_value(k, &host, "spec.hostNetwork").as_deref(),
        Some("true")
    );
}

#[test]
fn event_node_namespace_secret_service_and_replica_set_fields() {
    let ev = json!({"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "namespace": "ns", "name": "web", "uid": "u1",
        "apiVersion": "v1", "resourceVersion": "5", "fieldPath": "spec"}, "reason": "Started", "type": "Normal",
        "reportingComponent": "kubelet"});
    let v = |l: &str| field_value(kind("Event"), &ev, l);
    assert_eq!(v("involvedObject.kind").as_deref(), Some("Pod"));
    assert_eq!(v("involvedObject.namespace").as_deref(), Some("ns"));
    assert_eq!(v("involvedObject.uid").as_deref(), Some("u1"));
    assert_eq!(v("involvedObject.apiVersion").as_deref(), Some("v1"));
    assert_eq!(v("involvedObject.resourceVersion").as_deref(), Some("5"));
    assert_eq!(v("involvedObject.fieldPath").as_deref(), Some("spec"));
    assert_eq!(v("reason").as_deref(), Some("Started"));
    assert_eq!(v("type").as_deref(), Some("Normal"));
    assert_eq!(v("reportingComponent").as_deref(), Some("kubelet"));
    assert_eq!(v("source").as_deref(), Some("kubelet"));
    let ev2 = json!({"source": {"component": "scheduler"}, "reportingComponent": "x"});
    assert_eq!(
        field_value(kind("Event"), &ev2, "source").as_deref(),
        Some("scheduler")
    );
    assert_eq!(
        field_value(
            kind("Node"),
            &json!({"spec": {"unschedulable": true}}),
            "spec.unschedulable"
        )
        .as_deref(),
        Some("true")
    );
    assert_eq!(
        field_value(kind("Node"), &json!({}), "spec.unschedulable").as_deref(),
        Some("false")
    );
    assert_eq!(
        field_value(
            kind("Namespace"),
            &json!({"status": {"phase": "Terminating"}}),
            "status.phase"
        )
        .as_deref(),
        Some("Terminating")
    );
    assert_eq!(
        field_value(
            kind("Secret"),
            &json!({"type": "kubernetes.io/tls"}),
            "type"
        )
        .as_deref(),
        Some("kubernetes.io/tls")
    );
    assert_eq!(
        field_value(
            kind("ReplicaSet"),
            &json!({"status": {"replicas": 3}}),
            "status.replicas"
        )
        .as_deref(),
        Some("3")
    );
    assert_eq!(
        field_value(kind("ReplicaSet"), &json!({}), "status.replicas").as_deref(),
        Some("0")
    );
    let svc = json!({"spec": {"clusterIP": "10.43.0.1", "type": "ClusterIP"}});
    assert_eq!(
        field_value(kind("Service"), &svc, "spec.clusterIP").as_deref(),
        Some("10.43.0.1")
    );
    assert_eq!(
        field_value(kind("Service"), &svc, "spec.type").as_deref(),
        Some("ClusterIP")
    );
}

#[test]
fn selectors_parse_equal_double_equal_and_not_equal() {
    let k = kind("Pod");
    let sel = parse_field_selector(
        k,
        "status.phase!=Failed,spec.nodeName==n1,metadata.name=web",
    )
    .unwrap();
    assert_eq!(sel.requirements.len(), 3);
    assert_eq!(sel.required_value("spec.nodeName"), Some("n1"));
    assert_eq!(sel.required_value("status.phase"), None);
    assert!(sel
        .requirements
        .iter()
        .any(|r| r.field == "status.phase" && r.op == FieldOp::NotEquals));
    let running = json!({"metadata": {"name": "web"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
    let failed = json!({"metadata": {"name": "web"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Failed"}});
    let elsewhere = json!({"metadata": {"name": "web"}, "spec": {"nodeName": "n2"}, "status": {"phase": "Running"}});
    assert!(sel.matches(k, &running));
    assert!(!sel.matches(k, &failed));
    assert!(!sel.matches(k, &elsewhere));
    let unscheduled = parse_field_selector(k, "spec.nodeName=").unwrap();
    assert!(unscheduled.matches(k, &json!({"spec": {}})));
    assert!(!unscheduled.matches(k, &running));
    let legacy = parse_field_selector(k, "spec.host=n1").unwrap();
    assert_eq!(legacy.requirements[0].field, "spec.nodeName");
    assert!(legacy.matches(k, &running));
}

#[test]
fn empty_selectors_match_everything() {
    let k = kind("ConfigMap");
    for s in ["", ",", "metadata.name=a,"] {
        let sel = parse_field_selector(k, s).unwrap();
        assert!(sel.matches(k, &json!({"metadata": {"name": "a"}})), "{s:?}");
    }
    assert!(parse_field_selector(k, "").unwrap().is_empty());
}

#[test]
fn escaped_values_are_unescaped_and_bare_specials_rejected() {
    let k = kind("ConfigMap");
    let sel = parse_field_selector(k, r"metadata.name=a\,b\=c\\d").unwrap();
    assert_eq!(sel.requirements[0].value, r"a,b=c\d");
    assert!(parse_field_selector(k, "metadata.name=a=b").is_err());
    assert!(parse_field_selector(k, r"metadata.name=a\x").is_err());
    assert!(parse_field_selector(k, "metadata.name").is_err());
    let err = parse_field_selector(k, "bogus=1,zzz").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid selector: 'bogus=1,zzz'; can't understand 'zzz'"
    );
}

#[test]
fn unsupported_labels_are_a_bad_request_naming_the_label() {
    let err =
        parse_field_selector(kind("Deployment"), "metadata.name=a,spec.replicas=3").unwrap_err();
    match err {
        ApiError::BadRequest(msg) => assert_eq!(msg, "field label not supported: spec.replicas"),
        other => panic!("unexpected {other:?}"),
    }
    let err = parse_field_selector(kind("Pod"), "foo=bar").unwrap_err();
    assert_eq!(err.to_string(), "field label not supported: foo");
}
