use serde_json::json;

use super::*;

#[tokio::test]
async fn scale_reads_and_writes_replicas() {
    let h = Harness::new().await;
    h.create("Deployment", Some("default"), deployment("web", 2))
        .await;
    let r = h
        .send(on(
            req(
                "get",
                "Deployment",
                Some("default"),
                Some("web"),
                Value::Null,
            ),
            "scale",
        ))
        .await
        .unwrap();
    assert_eq!(r.body["kind"], "Scale");
    assert_eq!(r.body["apiVersion"], "autoscaling/v1");
    assert_eq!(r.body["spec"]["replicas"], 2);
    assert_eq!(r.body["status"]["selector"], "app=web");
    let mut scale = r.body.clone();
    scale["spec"]["replicas"] = 5.into();
    let r = h
        .send(on(
            req("update", "Deployment", Some("default"), Some("web"), scale),
            "scale",
        ))
        .await
        .unwrap();
    assert_eq!(r.body["spec"]["replicas"], 5);
    let d = h
        .stored("Deployment", Some("default"), "web")
        .await
        .unwrap();
    assert_eq!(d["spec"]["replicas"], 5);
    assert_eq!(d["metadata"]["generation"], 2);
    let patch = with_body(
        on(
            req(
                "patch",
                "Deployment",
                Some("default"),
                Some("web"),
                Value::Null,
            ),
            "scale",
        ),
        Some("application/merge-patch+json"),
        br#"{"spec":{"replicas":1}}"#,
    );
    assert_eq!(h.send(patch).await.unwrap().body["spec"]["replicas"], 1);
    let neg = json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web"}, "spec": {"replicas": -1}});
    let e = h
        .send(on(
            req("update", "Deployment", Some("default"), Some("web"), neg),
            "scale",
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 422);
}

#[tokio::test]
async fn stale_scale_is_a_conflict() {
    let h = Harness::new().await;
    let d = h
        .create("Deployment", Some("default"), deployment("web", 2))
        .await;
    let mut scale = json!({"apiVersion": "autoscaling/v1", "kind": "Scale",
        "metadata": {"name": "web", "resourceVersion": rv(&d)}, "spec": {"replicas": 3}});
    h.send(on(
        req(
            "update",
            "Deployment",
            Some("default"),
            Some("web"),
            scale.clone(),
        ),
        "scale",
    ))
    .await
    .unwrap();
    scale["spec"]["replicas"] = 4.into();
    let e = h
        .send(on(
            req("update", "Deployment", Some("default"), Some("web"), scale),
            "scale",
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 409);
}

fn binding(pod: &str, node: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": pod}, "target": {"kind": "Node", "name": node}})
}

#[tokio::test]
async fn binding_assigns_the_node_once() {
    let h = Harness::new().await;
    h.create("Pod", Some("default"), pod("p")).await;
    let r = h
        .send(on(
            req(
                "create",
                "Pod",
                Some("default"),
                Some("p"),
                binding("p", "n1"),
            ),
            "binding",
        ))
        .await
        .unwrap();
    assert_eq!(r.status, 201);
    assert_eq!(r.body["status"], "Success");
    assert_eq!(r.body["code"], 201);
    let p = h.stored("Pod", Some("default"), "p").await.unwrap();
    assert_eq!(p["spec"]["nodeName"], "n1");
    let conds = p["status"]["conditions"].as_array().unwrap();
    assert!(conds
        .iter()
        .any(|c| c["type"] == "PodScheduled" && c["status"] == "True"));
    let e = h
        .send(on(
            req(
                "create",
                "Pod",
                Some("default"),
                Some("p"),
                binding("p", "n2"),
            ),
            "binding",
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 409);
    assert!(
        e.to_string().contains("is already assigned to node \"n1\""),
        "{e}"
    );
    let e = h
        .send(on(
            req(
                "create",
                "Pod",
                Some("default"),
                Some("p"),
                binding("q", "n2"),
            ),
            "binding",
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 400);
}

#[tokio::test]
async fn eviction_deletes_gracefully() {
    let h = Harness::new().await;
    let mut p = pod("p");
    p["spec"]["nodeName"] = "n1".into();
    h.create("Pod", Some("default"), p).await;
    let ev = json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "p", "namespace": "default"}});
    let r = h
        .send(on(
            req("create", "Pod", Some("default"), Some("p"), ev),
            "eviction",
        ))
        .await
        .unwrap();
    assert_eq!(r.status, 201);
    let p = h.stored("Pod", Some("default"), "p").await.unwrap();
    assert!(p["metadata"]["deletionTimestamp"].is_string());
    let ev = json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "gone"}});
    let e = h
        .send(on(
            req("create", "Pod", Some("default"), Some("gone"), ev),
            "eviction",
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 404);
}

#[tokio::test]
async fn status_get_returns_the_object() {
    let h = Harness::new().await;
    let p = h.create("Pod", Some("default"), pod("p")).await;
    let r = h
        .send(on(
            req("get", "Pod", Some("default"), Some("p"), Value::Null),
            "status",
        ))
        .await
        .unwrap();
    assert_eq!(r.body, p);
}

#[tokio::test]
async fn finalize_changes_only_spec_finalizers() {
    let h = Harness::new().await;
    let ns = h
        .create("Namespace", None, json!({"metadata": {"name": "f"}}))
        .await;
    let mut body = ns.clone();
    body["spec"]["finalizers"] = json!([]);
    body["metadata"]["labels"] = json!({"x": "y"});
    let r = h
        .send(on(
            req("update", "Namespace", None, Some("f"), body),
            "finalize",
        ))
        .await
        .unwrap();
    assert_eq!(r.body["spec"]["finalizers"], json!([]), "{}", r.body);
    assert!(r.body["metadata"]
        .get("labels")
        .is_none_or(|l| l.get("x").is_none()));
}
