use serde_json::json;

use super::*;

#[tokio::test]
async fn stale_resource_version_is_a_conflict() {
    let h = Harness::new().await;
    let cm = h.create("ConfigMap", Some("default"), configmap("a")).await;
    let mut first = cm.clone();
    first["data"]["a"] = "2".into();
    let r = h
        .send(req(
            "update",
            "ConfigMap",
            Some("default"),
            Some("a"),
            first,
        ))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_ne!(rv(&r.body), rv(&cm));
    let mut stale = cm.clone();
    stale["data"]["a"] = "3".into();
    let e = h
        .send(req(
            "update",
            "ConfigMap",
            Some("default"),
            Some("a"),
            stale,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 409);
    assert_eq!(
        e.to_string(),
        "Operation cannot be fulfilled on configmaps \"a\": the object has been modified; please apply your changes to the latest version and try again"
    );
}

#[tokio::test]
async fn update_without_resource_version_is_unconditional() {
    let h = Harness::new().await;
    h.create("ConfigMap", Some("default"), configmap("a")).await;
    let mut cm = configmap("a");
    cm["data"]["a"] = "9".into();
    let r = h
        .send(req("update", "ConfigMap", Some("default"), Some("a"), cm))
        .await
        .unwrap();
    assert_eq!(r.body["data"]["a"], "9");
}

#[tokio::test]
async fn update_keeps_uid_and_creation_timestamp() {
    let h = Harness::new().await;
    let cm = h.create("ConfigMap", Some("default"), configmap("a")).await;
    let mut new = configmap("a");
    new["metadata"]["creationTimestamp"] = "2000-01-01T00:00:00Z".into();
    let r = h
        .send(req("update", "ConfigMap", Some("default"), Some("a"), new))
        .await
        .unwrap();
    assert_eq!(r.body["metadata"]["uid"], cm["metadata"]["uid"]);
    assert_eq!(
        r.body["metadata"]["creationTimestamp"],
        cm["metadata"]["creationTimestamp"]
    );
}

#[tokio::test]
async fn name_mismatch_and_missing_objects() {
    let h = Harness::new().await;
    let e = h
        .send(req(
            "update",
            "ConfigMap",
            Some("default"),
            Some("b"),
            configmap("a"),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 400);
    assert_eq!(
        e.to_string(),
        "the name of the object (a) does not match the name on the URL (b)"
    );
    let e = h
        .send(req(
            "update",
            "ConfigMap",
            Some("default"),
            Some("a"),
            configmap("a"),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 404);
}

#[tokio::test]
async fn put_creates_where_upstream_allows_it() {
    let h = Harness::new().await;
    let ep = json!({"metadata": {"name": "e"}, "subsets": []});
    let r = h
        .send(req("update", "Endpoints", Some("default"), Some("e"), ep))
        .await
        .unwrap();
    assert_eq!(r.status, 201);
    let lease = json!({"metadata": {"name": "l"}, "spec": {"holderIdentity": "n1"}});
    let r = h
        .send(req("update", "Lease", Some("default"), Some("l"), lease))
        .await
        .unwrap();
    assert_eq!(r.status, 201);
}

#[tokio::test]
async fn lease_update_needs_a_resource_version() {
    let h = Harness::new().await;
    let lease = json!({"metadata": {"name": "l"}, "spec": {"holderIdentity": "n1"}});
    h.create("Lease", Some("default"), lease.clone()).await;
    let e = h
        .send(req("update", "Lease", Some("default"), Some("l"), lease))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 422);
}

#[tokio::test]
async fn generation_follows_spec_changes_only() {
    let h = Harness::new().await;
    let d = h
        .create("Deployment", Some("default"), deployment("web", 1))
        .await;
    let mut labels = d.clone();
    labels["metadata"]["labels"] = json!({"x": "y"});
    let r = h
        .send(req(
            "update",
            "Deployment",
            Some("default"),
            Some("web"),
            labels,
        ))
        .await
        .unwrap();
    assert_eq!(r.body["metadata"]["generation"], 1);
    let mut spec = r.body.clone();
    spec["spec"]["replicas"] = 3.into();
    let r = h
        .send(req(
            "update",
            "Deployment",
            Some("default"),
            Some("web"),
            spec,
        ))
        .await
        .unwrap();
    assert_eq!(r.body["metadata"]["generation"], 2);
}

#[tokio::test]
async fn main_endpoint_ignores_status_and_status_endpoint_ignores_spec() {
    let h = Harness::new().await;
    let d = h
        .create("Deployment", Some("default"), deployment("web", 1))
        .await;
    let mut both = d.clone();
    both["spec"]["replicas"] = 2.into();
    both["status"] = json!({"replicas": 5});
    let r = h
        .send(req(
            "update",
            "Deployment",
            Some("default"),
            Some("web"),
            both.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(r.body["spec"]["replicas"], 2);
    assert_ne!(r.body["status"]["replicas"], 5);
    let mut st = r.body.clone();
    st["spec"]["replicas"] = 7.into();
    st["status"] = json!({"replicas": 5});
    let r = h
        .send(on(
            req("update", "Deployment", Some("default"), Some("web"), st),
            "status",
        ))
        .await
        .unwrap();
    assert_eq!(r.body["spec"]["replicas"], 2);
    assert_eq!(r.body["status"]["replicas"], 5);
    assert_eq!(r.body["metadata"]["generation"], 2);
}

#[tokio::test]
async fn a_no_op_update_keeps_the_resource_version() {
    let h = Harness::new().await;
    let cm = h.create("ConfigMap", Some("default"), configmap("a")).await;
    let r = h
        .send(req(
            "update",
            "ConfigMap",
            Some("default"),
            Some("a"),
            cm.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(rv(&r.body), rv(&cm));
}

#[tokio::test]
async fn removing_the_last_finalizer_of_a_deleted_object_deletes_it() {
    let h = Harness::new().await;
    let mut cm = configmap("a");
    cm["metadata"]["finalizers"] = json!(["example.com/keep"]);
    h.create("ConfigMap", Some("default"), cm).await;
    let r = h
        .send(req(
            "delete",
            "ConfigMap",
            Some("default"),
            Some("a"),
            Value::Null,
        ))
        .await
        .unwrap();
    assert!(
        r.body["metadata"]["deletionTimestamp"].is_string(),
        "{}",
        r.body
    );
    let mut cur = h.stored("ConfigMap", Some("default"), "a").await.unwrap();
    cur["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("finalizers");
    h.send(req("update", "ConfigMap", Some("default"), Some("a"), cur))
        .await
        .unwrap();
    assert!(h.stored("ConfigMap", Some("default"), "a").await.is_none());
}

#[tokio::test]
async fn dry_run_update_writes_nothing() {
    let h = Harness::new().await;
    let cm = h.create("ConfigMap", Some("default"), configmap("a")).await;
    let mut new = cm.clone();
    new["data"]["a"] = "2".into();
    let r = with_query(
        req("update", "ConfigMap", Some("default"), Some("a"), new),
        &[("dryRun", "All")],
    );
    assert_eq!(h.send(r).await.unwrap().body["data"]["a"], "2");
    assert_eq!(
        h.stored("ConfigMap", Some("default"), "a").await.unwrap(),
        cm
    );
}
