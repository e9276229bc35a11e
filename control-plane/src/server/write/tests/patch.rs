use serde_json::json;

use super::*;

fn patch_req(kind: &str, name: &str, ct: &str, body: &[u8]) -> ResourceRequest {
    with_body(
        req("patch", kind, Some("default"), Some(name), Value::Null),
        Some(ct),
        body,
    )
}

#[tokio::test]
async fn the_three_patch_types_change_the_stored_object() {
    let h = Harness::new().await;
    h.create("ConfigMap", Some("default"), configmap("a")).await;
    let r = h
        .send(patch_req(
            "ConfigMap",
            "a",
            "application/merge-patch+json",
            br#"{"data":{"b":"2"}}"#,
        ))
        .await
        .unwrap();
    assert_eq!(r.body["data"], json!({"a": "1", "b": "2"}));
    let r = h
        .send(patch_req(
            "ConfigMap",
            "a",
            "application/json-patch+json",
            br#"[{"op":"remove","path":"/data/a"}]"#,
        ))
        .await
        .unwrap();
    assert_eq!(r.body["data"], json!({"b": "2"}));
    let r = h
        .send(patch_req(
            "ConfigMap",
            "a",
            "application/strategic-merge-patch+json",
            br#"{"metadata":{"labels":{"x":"y"}}}"#,
        ))
        .await
        .unwrap();
    assert_eq!(r.body["metadata"]["labels"]["x"], "y");
    assert_eq!(
        h.stored("ConfigMap", Some("default"), "a").await.unwrap(),
        r.body
    );
}

#[tokio::test]
async fn patching_a_missing_object_is_not_found() {
    let h = Harness::new().await;
    let e = h
        .send(patch_req(
            "ConfigMap",
            "nope",
            "application/merge-patch+json",
            b"{}",
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 404);
}

#[tokio::test]
async fn unknown_patch_content_type_is_415_and_bad_bodies_400() {
    let h = Harness::new().await;
    h.create("ConfigMap", Some("default"), configmap("a")).await;
    let e = h
        .send(patch_req("ConfigMap", "a", "application/json", b"{}"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 415);
    let e = h
        .send(patch_req(
            "ConfigMap",
            "a",
            "application/json-patch+json",
            b"{}",
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 400);
    let e = h
        .send(patch_req(
            "ConfigMap",
            "a",
            "application/merge-patch+json",
            b"{oops",
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 400);
}

#[tokio::test]
async fn patch_with_a_stale_resource_version_conflicts() {
    let h = Harness::new().await;
    h.create("ConfigMap", Some("default"), configmap("a")).await;
    let e = h
        .send(patch_req(
            "ConfigMap",
            "a",
            "application/merge-patch+json",
            br#"{"metadata":{"resourceVersion":"1"},"data":{"b":"2"}}"#,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 409);
}

#[tokio::test]
async fn apply_needs_a_field_manager_and_creates_missing_objects() {
    let h = Harness::new().await;
    let yaml = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  k: v\n";
    let e = h
        .send(patch_req(
            "ConfigMap",
            "applied",
            "application/apply-patch+yaml",
            yaml,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 422);
    let r = with_query(
        patch_req("ConfigMap", "applied", "application/apply-patch+yaml", yaml),
        &[("fieldManager", "me")],
    );
    let reply = h.send(r.clone()).await.unwrap();
    assert_eq!(reply.status, 201);
    assert_eq!(reply.body["data"]["k"], "v");
    let again = h.send(r).await.unwrap();
    assert_eq!(again.status, 200);
}

#[tokio::test]
async fn force_is_only_for_apply() {
    let h = Harness::new().await;
    h.create("ConfigMap", Some("default"), configmap("a")).await;
    let r = with_query(
        patch_req("ConfigMap", "a", "application/merge-patch+json", b"{}"),
        &[("force", "true")],
    );
    assert_eq!(h.send(r).await.unwrap_err().code(), 422);
}

#[tokio::test]
async fn status_patch_changes_only_status() {
    let h = Harness::new().await;
    h.create("Deployment", Some("default"), deployment("web", 1))
        .await;
    let r = on(
        patch_req(
            "Deployment",
            "web",
            "application/merge-patch+json",
            br#"{"spec":{"replicas":9},"status":{"readyReplicas":1}}"#,
        ),
        "status",
    );
    let reply = h.send(r).await.unwrap();
    assert_eq!(reply.body["spec"]["replicas"], 1);
    assert_eq!(reply.body["status"]["readyReplicas"], 1);
}

#[tokio::test]
async fn patch_unknown_fields_warn() {
    let h = Harness::new().await;
    h.create("ConfigMap", Some("default"), configmap("a")).await;
    let reply = h
        .send(patch_req(
            "ConfigMap",
            "a",
            "application/merge-patch+json",
            br#"{"bogus":1}"#,
        ))
        .await
        .unwrap();
    assert_eq!(reply.warnings, vec!["unknown field \"bogus\"".to_string()]);
    assert!(reply.body.get("bogus").is_none());
}
