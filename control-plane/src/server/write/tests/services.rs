use std::net::Ipv4Addr;

use serde_json::json;

use super::*;

fn ip_of(svc: &Value) -> Ipv4Addr {
    svc["spec"]["clusterIP"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn services_get_a_cluster_ip_from_the_range() {
    let h = Harness::new().await;
    let s = h
        .create("Service", Some("default"), service("web", json!({})))
        .await;
    let ip = ip_of(&s);
    assert!(h.state.settings.service_cidr.contains(&ip));
    assert_ne!(ip, Ipv4Addr::new(10, 43, 0, 1));
    assert_eq!(s["spec"]["clusterIPs"], json!([ip.to_string()]));
    assert!(h.state.write.allocators().ips.is_allocated(ip));
}

#[tokio::test]
async fn requested_cluster_ips_are_honoured_or_refused() {
    let h = Harness::new().await;
    let s = h
        .create(
            "Service",
            Some("default"),
            service("a", json!({"clusterIP": "10.43.7.7"})),
        )
        .await;
    assert_eq!(s["spec"]["clusterIP"], "10.43.7.7");
    let e = h
        .send(req(
            "create",
            "Service",
            Some("default"),
            None,
            service("b", json!({"clusterIP": "10.43.7.7"})),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 422);
    assert!(
        e.to_string().contains("provided IP is already allocated"),
        "{e}"
    );
    assert!(e.to_string().starts_with("Service \"b\" is invalid"), "{e}");
    let e = h
        .send(req(
            "create",
            "Service",
            Some("default"),
            None,
            service("c", json!({"clusterIP": "10.0.0.5"})),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 422);
    assert!(
        e.to_string()
            .contains("is not in the valid range. The range of valid IPs is 10.43.0.0/16"),
        "{e}"
    );
}

#[tokio::test]
async fn headless_and_external_name_services_get_no_ip() {
    let h = Harness::new().await;
    let s = h
        .create(
            "Service",
            Some("default"),
            service("h", json!({"clusterIP": "None"})),
        )
        .await;
    assert_eq!(s["spec"]["clusterIP"], "None");
    let ext = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
        "spec": {"type": "ExternalName", "externalName": "example.com"}});
    let s = h.create("Service", Some("default"), ext).await;
    assert!(s["spec"].get("clusterIP").is_none(), "{s}");
    assert!(s["spec"].get("ports").is_none(), "{s}");
}

#[tokio::test]
async fn node_ports_are_allocated_and_released() {
    let h = Harness::new().await;
    let s = h
        .create(
            "Service",
            Some("default"),
            service("np", json!({"type": "NodePort"})),
        )
        .await;
    let port = s["spec"]["ports"][0]["nodePort"].as_u64().unwrap() as u16;
    assert!((30000..=32767).contains(&port));
    let taken =
        json!({"type": "NodePort", "ports": [{"name": "http", "port": 80, "nodePort": port}]});
    let e = h
        .send(req(
            "create",
            "Service",
            Some("default"),
            None,
            service("np2", taken.clone()),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 422);
    assert!(
        e.to_string().contains("provided port is already allocated"),
        "{e}"
    );
    let ip = ip_of(&s);
    h.send(req(
        "delete",
        "Service",
        Some("default"),
        Some("np"),
        Value::Null,
    ))
    .await
    .unwrap();
    assert!(!h.state.write.allocators().ports.is_allocated(port));
    assert!(!h.state.write.allocators().ips.is_allocated(ip));
    h.create("Service", Some("default"), service("np2", taken))
        .await;
}

#[tokio::test]
async fn failed_and_dry_run_creates_release_what_they_took() {
    let h = Harness::new().await;
    let r = with_query(
        req(
            "create",
            "Service",
            Some("default"),
            None,
            service(
                "d",
                json!({"clusterIP": "10.43.9.9", "type": "NodePort",
            "ports": [{"name": "http", "port": 80, "nodePort": 30123}]}),
            ),
        ),
        &[("dryRun", "All")],
    );
    h.send(r).await.unwrap();
    assert!(!h
        .state
        .write
        .allocators()
        .ips
        .is_allocated("10.43.9.9".parse().unwrap()));
    assert!(!h.state.write.allocators().ports.is_allocated(30123));
    // Invalid because the second port's node port is out of range: the first is given back.
    let bad = service(
        "e",
        json!({"type": "NodePort", "ports": [
        {"name": "a", "port": 80, "nodePort": 30124}, {"name": "b", "port": 81, "nodePort": 80}]}),
    );
    assert_eq!(
        h.send(req("create", "Service", Some("default"), None, bad))
            .await
            .unwrap_err()
            .code(),
        422
    );
    assert!(!h.state.write.allocators().ports.is_allocated(30124));
}

#[tokio::test]
async fn updates_keep_allocations_and_type_changes_adjust_them() {
    let h = Harness::new().await;
    let s = h
        .create(
            "Service",
            Some("default"),
            service("t", json!({"type": "NodePort"})),
        )
        .await;
    let ip = ip_of(&s);
    let port = s["spec"]["ports"][0]["nodePort"].as_u64().unwrap() as u16;
    // A PUT that leaves out clusterIP and nodePort keeps them.
    let r = h
        .send(req(
            "update",
            "Service",
            Some("default"),
            Some("t"),
            service("t", json!({"type": "NodePort"})),
        ))
        .await
        .unwrap();
    assert_eq!(ip_of(&r.body), ip);
    assert_eq!(r.body["spec"]["ports"][0]["nodePort"], port);
    // Back to ClusterIP: the node port is released.
    let mut back = r.body.clone();
    back["spec"]["type"] = "ClusterIP".into();
    back["spec"]
        .as_object_mut()
        .unwrap()
        .remove("externalTrafficPolicy");
    let r = h
        .send(req("update", "Service", Some("default"), Some("t"), back))
        .await;
    let r = r.unwrap_or_else(|e| panic!("{:?}", e.to_status()));
    assert!(
        r.body["spec"]["ports"][0].get("nodePort").is_none(),
        "{}",
        r.body
    );
    assert!(!h.state.write.allocators().ports.is_allocated(port));
    assert!(h.state.write.allocators().ips.is_allocated(ip));
}

#[tokio::test]
async fn allocations_are_rebuilt_from_stored_services() {
    let h = Harness::new().await;
    let s = h
        .create(
            "Service",
            Some("default"),
            service("r", json!({"type": "NodePort"})),
        )
        .await;
    let again = Harness::with_store(h.state.store.clone()).await;
    let a = again.state.write.allocators();
    assert!(a.ips.is_allocated(ip_of(&s)));
    assert!(a.ips.is_allocated(Ipv4Addr::new(10, 43, 0, 1)));
    assert!(a
        .ports
        .is_allocated(s["spec"]["ports"][0]["nodePort"].as_u64().unwrap() as u16));
}
