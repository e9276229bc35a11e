use serde_json::json;

use super::*;

fn bound_pod(name: &str, grace: i64) -> Value {
    let mut p = pod(name);
    p["spec"]["nodeName"] = "n1".into();
    p["spec"]["terminationGracePeriodSeconds"] = grace.into();
    p
}

fn delete(kind: &str, ns: Option<&str>, name: &str) -> ResourceRequest {
    req("delete", kind, ns, Some(name), Value::Null)
}

#[tokio::test]
async fn unbound_pods_and_configmaps_go_at_once() {
    let h = Harness::new().await;
    let p = h.create("Pod", Some("default"), pod("p")).await;
    let r = h.send(delete("Pod", Some("default"), "p")).await.unwrap();
    assert_eq!(r.body["metadata"]["uid"], p["metadata"]["uid"]);
    assert!(h.stored("Pod", Some("default"), "p").await.is_none());

    let cm = h.create("ConfigMap", Some("default"), configmap("a")).await;
    let r = h
        .send(delete("ConfigMap", Some("default"), "a"))
        .await
        .unwrap();
    assert_eq!(r.body["kind"], "Status");
    assert_eq!(r.body["status"], "Success");
    assert_eq!(
        r.body["details"],
        json!({"name": "a", "kind": "configmaps", "uid": cm["metadata"]["uid"]})
    );
    let e = h
        .send(delete("ConfigMap", Some("default"), "a"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 404);
}

#[tokio::test]
async fn bound_pods_are_deleted_gracefully_and_finished_with_grace_zero() {
    let h = Harness::new().await;
    h.create("Pod", Some("default"), bound_pod("p", 30)).await;
    let r = h.send(delete("Pod", Some("default"), "p")).await.unwrap();
    assert_eq!(r.body["metadata"]["deletionGracePeriodSeconds"], 30);
    assert!(r.body["metadata"]["deletionTimestamp"].is_string());
    let kept = h.stored("Pod", Some("default"), "p").await.unwrap();
    assert_eq!(kept, r.body);
    // A second delete without a shorter grace period changes nothing.
    let again = h.send(delete("Pod", Some("default"), "p")).await.unwrap();
    assert_eq!(rv(&again.body), rv(&kept));
    // A shorter one moves the deadline.
    let r = with_query(
        delete("Pod", Some("default"), "p"),
        &[("gracePeriodSeconds", "10")],
    );
    let shorter = h.send(r).await.unwrap();
    assert_eq!(shorter.body["metadata"]["deletionGracePeriodSeconds"], 10);
    // The kubelet finishes with grace 0.
    let body = json!({"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0});
    h.send(req("delete", "Pod", Some("default"), Some("p"), body))
        .await
        .unwrap();
    assert!(h.stored("Pod", Some("default"), "p").await.is_none());
}

#[tokio::test]
async fn grace_zero_deletes_a_bound_pod_at_once() {
    let h = Harness::new().await;
    h.create("Pod", Some("default"), bound_pod("p", 30)).await;
    let r = with_query(
        delete("Pod", Some("default"), "p"),
        &[("gracePeriodSeconds", "0")],
    );
    h.send(r).await.unwrap();
    assert!(h.stored("Pod", Some("default"), "p").await.is_none());
}

#[tokio::test]
async fn finalizers_keep_the_object_marked() {
    let h = Harness::new().await;
    let mut cm = configmap("a");
    cm["metadata"]["finalizers"] = json!(["example.com/x"]);
    h.create("ConfigMap", Some("default"), cm).await;
    let r = h
        .send(delete("ConfigMap", Some("default"), "a"))
        .await
        .unwrap();
    assert_eq!(r.body["metadata"]["deletionGracePeriodSeconds"], 0);
    assert!(r.body["metadata"]["deletionTimestamp"].is_string());
    assert!(h.stored("ConfigMap", Some("default"), "a").await.is_some());
}

#[tokio::test]
async fn propagation_policies_become_finalizers() {
    let h = Harness::new().await;
    h.create("Deployment", Some("default"), deployment("fg", 1))
        .await;
    let r = with_query(
        delete("Deployment", Some("default"), "fg"),
        &[("propagationPolicy", "Foreground")],
    );
    let r = h.send(r).await.unwrap();
    assert_eq!(
        r.body["metadata"]["finalizers"],
        json!(["foregroundDeletion"])
    );
    assert_eq!(r.body["metadata"]["generation"], 2);

    h.create("Deployment", Some("default"), deployment("or", 1))
        .await;
    let body = json!({"orphanDependents": true});
    let r = h
        .send(req(
            "delete",
            "Deployment",
            Some("default"),
            Some("or"),
            body,
        ))
        .await
        .unwrap();
    assert_eq!(r.body["metadata"]["finalizers"], json!(["orphan"]));

    h.create("Deployment", Some("default"), deployment("bg", 1))
        .await;
    let r = with_query(
        delete("Deployment", Some("default"), "bg"),
        &[("propagationPolicy", "Background")],
    );
    h.send(r).await.unwrap();
    assert!(h
        .stored("Deployment", Some("default"), "bg")
        .await
        .is_none());

    let r = with_query(
        delete("Deployment", Some("default"), "or"),
        &[("propagationPolicy", "Sideways")],
    );
    assert_eq!(h.send(r).await.unwrap_err().code(), 422);
}

#[tokio::test]
async fn preconditions_are_checked() {
    let h = Harness::new().await;
    h.create("ConfigMap", Some("default"), configmap("a")).await;
    let body = json!({"preconditions": {"uid": "other"}});
    let e = h
        .send(req("delete", "ConfigMap", Some("default"), Some("a"), body))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 409);
    let body = json!({"preconditions": {"resourceVersion": "1"}});
    let e = h
        .send(req("delete", "ConfigMap", Some("default"), Some("a"), body))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 409);
    assert!(h.stored("ConfigMap", Some("default"), "a").await.is_some());
}

#[tokio::test]
async fn dry_run_delete_keeps_the_object() {
    let h = Harness::new().await;
    h.create("ConfigMap", Some("default"), configmap("a")).await;
    let r = with_query(
        delete("ConfigMap", Some("default"), "a"),
        &[("dryRun", "All")],
    );
    h.send(r).await.unwrap();
    assert!(h.stored("ConfigMap", Some("default"), "a").await.is_some());
}

#[tokio::test]
async fn deletecollection_honours_label_selectors() {
    let h = Harness::new().await;
    for (name, app) in [("a", "x"), ("b", "x"), ("c", "y")] {
        let mut cm = configmap(name);
        cm["metadata"]["labels"] = json!({"app": app});
        h.create("ConfigMap", Some("default"), cm).await;
    }
    let r = with_query(
        req(
            "deletecollection",
            "ConfigMap",
            Some("default"),
            None,
            Value::Null,
        ),
        &[("labelSelector", "app=x")],
    );
    let reply = h.send(r).await.unwrap();
    assert_eq!(reply.body["kind"], "ConfigMapList");
    assert_eq!(reply.body["items"].as_array().unwrap().len(), 2);
    assert!(h.stored("ConfigMap", Some("default"), "a").await.is_none());
    assert!(h.stored("ConfigMap", Some("default"), "c").await.is_some());
}

#[tokio::test]
async fn protected_namespaces_cannot_be_deleted() {
    let h = Harness::new().await;
    for ns in ["default", "kube-system", "kube-public"] {
        let e = h.send(delete("Namespace", None, ns)).await.unwrap_err();
        assert_eq!(e.code(), 403, "{ns}");
    }
    assert_eq!(
        h.send(delete("Namespace", None, "default"))
            .await
            .unwrap_err()
            .to_string(),
        "namespaces \"default\" is forbidden: this namespace may not be deleted"
    );
}

#[tokio::test]
async fn deleting_a_namespace_terminates_it_then_removes_its_content() {
    let h = Harness::new().await;
    h.create("Namespace", None, json!({"metadata": {"name": "team"}}))
        .await;
    h.create("ConfigMap", Some("team"), configmap("a")).await;
    h.create("Pod", Some("team"), pod("p")).await;
    let r = h.send(delete("Namespace", None, "team")).await.unwrap();
    assert_eq!(r.body["status"]["phase"], "Terminating");
    assert!(r.body["metadata"]["deletionTimestamp"].is_string());
    let mut gone = false;
    for _ in 0..200 {
        if h.stored("Namespace", None, "team").await.is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(gone, "namespace still there");
    assert!(h.stored("ConfigMap", Some("team"), "a").await.is_none());
    assert!(h.stored("Pod", Some("team"), "p").await.is_none());
    assert!(h
        .stored("ServiceAccount", Some("team"), "default")
        .await
        .is_none());
}
