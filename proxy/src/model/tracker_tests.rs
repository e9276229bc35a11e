//! Unit tests of the per-service model tracker.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::{json, Value};

use super::*;

fn svc(name: &str, ip: &str, ports: Value) -> Service {
    serde_json::from_value(json!({
        "metadata": {"namespace": "default", "name": name},
        "spec": {"clusterIP": ip, "ports": ports},
    }))
    .unwrap()
}

fn web() -> Service {
    svc(
        "web",
        "10.43.0.10",
        json!([{"name": "http", "port": 80}, {"name": "https", "port": 443}]),
    )
}

fn db() -> Service {
    svc("db", "10.43.0.11", json!([{"name": "pg", "port": 5432}]))
}

fn slice(name: &str, service: &str, port: &str, addresses: &[&str]) -> EndpointSlice {
    let endpoints: Vec<Value> = addresses
        .iter()
        .map(|a| json!({"addresses": [a], "conditions": {"ready": true}, "nodeName": "node-a"}))
        .collect();
    serde_json::from_value(json!({
        "metadata": {"namespace": "default", "name": name,
                     "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "ports": [{"name": port, "port": 8080, "protocol": "TCP"}],
        "endpoints": endpoints,
    }))
    .unwrap()
}

fn node() -> NodeContext {
    NodeContext {
        name: "node-a".into(),
        node_ips: vec!["192.168.1.10".parse().unwrap()],
    }
}

fn key(name: &str) -> ServiceKey {
    ServiceKey::new("default", name)
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn shown(changed: &BTreeSet<ServicePortName>) -> BTreeSet<String> {
    changed.iter().map(ToString::to_string).collect()
}

/// A tracker holding `web` (with one slice for `http`) and `db`.
fn tracker() -> ModelTracker {
    let mut t = ModelTracker::new(node());
    let web_slice = slice("web-1", "web", "http", &["10.42.0.5"]);
    t.update_service(&key("web"), Some(&web()), &[&web_slice]);
    t.update_service::<&EndpointSlice>(&key("db"), Some(&db()), &[]);
    t
}

#[test]
fn a_changed_slice_reports_only_the_port_it_feeds() {
    let mut t = tracker();
    let before = t.model().clone();
    let moved = slice("web-1", "web", "http", &["10.42.0.5", "10.42.0.6"]);
    let changed = t.update_service(&key("web"), Some(&web()), &[&moved]);
    assert_eq!(shown(&changed), names(&["default/web:http/tcp"]));
    assert_eq!(t.model().ports.len(), before.ports.len());
    for (name, port) in &before.ports {
        if !changed.contains(name) {
            assert_eq!(
                t.model().ports.get(name),
                Some(port),
                "{name} must not change"
            );
        }
    }
}

#[test]
fn an_unchanged_rebuild_reports_nothing() {
    let mut t = tracker();
    let same = slice("web-1", "web", "http", &["10.42.0.5"]);
    assert!(t
        .update_service(&key("web"), Some(&web()), &[&same])
        .is_empty());
}

#[test]
fn a_removed_port_of_a_service_is_reported_and_dropped() {
    let mut t = tracker();
    let narrower = svc("web", "10.43.0.10", json!([{"name": "http", "port": 80}]));
    let same = slice("web-1", "web", "http", &["10.42.0.5"]);
    let changed = t.update_service(&key("web"), Some(&narrower), &[&same]);
    assert_eq!(shown(&changed), names(&["default/web:https/tcp"]));
    assert_eq!(t.model().ports.len(), 2);
}

#[test]
fn a_deleted_service_removes_exactly_its_ports() {
    let mut t = tracker();
    let changed = t.update_service::<&EndpointSlice>(&key("web"), None, &[]);
    assert_eq!(
        shown(&changed),
        names(&["default/web:http/tcp", "default/web:https/tcp"])
    );
    let left: Vec<String> = t.model().ports.keys().map(ToString::to_string).collect();
    assert_eq!(left, ["default/db:pg/tcp"]);
    assert!(t
        .update_service::<&EndpointSlice>(&key("web"), None, &[])
        .is_empty());
}

#[test]
fn a_slice_moved_between_services_changes_both() {
    let mut t = tracker();
    let to_db = slice("web-1", "db", "pg", &["10.42.0.5"]);
    let mut changed = t.update_service::<&EndpointSlice>(&key("web"), Some(&web()), &[]);
    changed.extend(t.update_service(&key("db"), Some(&db()), &[&to_db]));
    assert_eq!(
        shown(&changed),
        names(&["default/web:http/tcp", "default/db:pg/tcp"])
    );
    let db_port = &t.model().ports[changed.iter().next().unwrap()];
    assert_eq!(db_port.cluster_endpoints.len(), 1);
}

#[test]
fn warnings_are_kept_per_service_and_reported_once() {
    let mut t = ModelTracker::new(node());
    let bad = svc(
        "bad",
        "10.43.0.12",
        json!([{"port": 80, "protocol": "ICMP"}, {"name": "ok", "port": 81}]),
    );
    t.update_service::<&EndpointSlice>(&key("bad"), Some(&bad), &[]);
    t.update_service::<&EndpointSlice>(&key("db"), Some(&db()), &[]);
    assert_eq!(t.service_warnings(&key("bad")).len(), 1);
    assert!(t.service_warnings(&key("db")).is_empty());
    assert_eq!(t.take_new_warnings().len(), 1);

    t.update_service::<&EndpointSlice>(&key("bad"), Some(&bad), &[]);
    t.update_service::<&EndpointSlice>(&key("db"), None, &[]);
    assert!(
        t.take_new_warnings().is_empty(),
        "a standing warning is not repeated"
    );
    assert_eq!(t.warnings().count(), 1);

    t.update_service::<&EndpointSlice>(&key("bad"), None, &[]);
    assert_eq!(t.warnings().count(), 0);
}

#[test]
fn a_full_rebuild_equals_build_and_replaces_the_previous_model() {
    let services = vec![
        web(),
        db(),
        svc(
            "bad",
            "10.43.0.12",
            json!([{"port": 80, "protocol": "ICMP"}]),
        ),
    ];
    let slices = vec![
        slice("web-2", "web", "http", &["10.42.0.7"]),
        slice("web-1", "web", "http", &["10.42.0.5", "not-an-ip"]),
        slice("db-1", "db", "pg", &["10.42.0.9"]),
        slice("orphan", "gone", "http", &["10.42.0.10"]),
    ];
    let (expected, expected_warnings) = build(&services, &slices, &node());

    let mut t = tracker();
    let stale = svc("stale", "10.43.0.99", json!([{"port": 80}]));
    t.update_service::<&EndpointSlice>(&key("stale"), Some(&stale), &[]);
    t.rebuild_all(&services, &slices);
    assert_eq!(t.model(), &expected);
    let mut got: Vec<String> = t.warnings().map(ToString::to_string).collect();
    let mut want: Vec<String> = expected_warnings.iter().map(ToString::to_string).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);

    // After a full rebuild, per-service rebuilds still know every service's ports.
    let changed = t.update_service::<&EndpointSlice>(&key("web"), None, &[]);
    assert_eq!(
        shown(&changed),
        names(&["default/web:http/tcp", "default/web:https/tcp"])
    );
}

#[test]
fn a_slice_names_its_service_by_label() {
    let s = slice("web-1", "web", "http", &[]);
    assert_eq!(ServiceKey::of_slice(&s), Some(key("web")));
    assert_eq!(ServiceKey::of_service(&web()).to_string(), "default/web");
}
