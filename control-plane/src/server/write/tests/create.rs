use serde_json::json;

use super::*;

#[tokio::test]
async fn create_fills_uid_timestamp_and_resource_version() {
    let h = Harness::new().await;
    let obj = h.create("ConfigMap", Some("default"), configmap("a")).await;
    assert_eq!(obj["metadata"]["namespace"], "default");
    assert_eq!(obj["metadata"]["uid"].as_str().unwrap().len(), 36);
    assert!(obj["metadata"]["creationTimestamp"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert!(!rv(&obj).is_empty());
    assert!(obj["metadata"].get("generation").is_none());
    let stored = h.stored("ConfigMap", Some("default"), "a").await.unwrap();
    assert_eq!(stored, obj);
}

#[tokio::test]
async fn create_records_the_user_agent_as_field_manager() {
    let h = Harness::new().await;
    let obj = h.create("ConfigMap", Some("default"), configmap("a")).await;
    let managers: Vec<_> = obj["metadata"]["managedFields"]
        .as_array()
        .map(|a| a.iter().map(|m| m["manager"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(managers, vec![json!("kubectl")], "{obj}");
}

#[tokio::test]
async fn deployments_start_at_generation_one() {
    let h = Harness::new().await;
    let obj = h
        .create("Deployment", Some("default"), deployment("web", 1))
        .await;
    assert_eq!(obj["metadata"]["generation"], 1);
}

#[tokio::test]
async fn generate_name_appends_five_random_characters() {
    let h = Harness::new().await;
    let body = json!({"metadata": {"generateName": "web-"}, "data": {}});
    let a = h.create("ConfigMap", Some("default"), body.clone()).await;
    let b = h.create("ConfigMap", Some("default"), body).await;
    let name = a["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with("web-") && name.len() == 9, "{name}");
    assert_ne!(a["metadata"]["name"], b["metadata"]["name"]);
}

#[tokio::test]
async fn second_create_is_already_exists() {
    let h = Harness::new().await;
    h.create("ConfigMap", Some("default"), configmap("a")).await;
    let e = h
        .send(req(
            "create",
            "ConfigMap",
            Some("default"),
            None,
            configmap("a"),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 409);
    assert_eq!(e.reason(), "AlreadyExists");
}

#[tokio::test]
async fn create_without_a_name_is_invalid() {
    let h = Harness::new().await;
    let e = h
        .send(req(
            "create",
            "ConfigMap",
            Some("default"),
            None,
            json!({"data": {}}),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 422);
    assert!(
        e.to_string().contains("name or generateName is required"),
        "{e}"
    );
}

#[tokio::test]
async fn validation_errors_are_422_with_causes() {
    let h = Harness::new().await;
    let bad = json!({"metadata": {"name": "p"}, "spec": {"containers": []}});
    let e = h
        .send(req("create", "Pod", Some("default"), None, bad))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 422, "{e}");
    assert!(e.to_status()["details"]["causes"]
        .as_array()
        .is_some_and(|c| !c.is_empty()));
    assert!(h.stored("Pod", Some("default"), "p").await.is_none());
}

#[tokio::test]
async fn namespace_mismatch_and_wrong_kind_are_bad_requests() {
    let h = Harness::new().await;
    let mut cm = configmap("a");
    cm["metadata"]["namespace"] = "kube-system".into();
    let e = h
        .send(req("create", "ConfigMap", Some("default"), None, cm))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 400);
    assert_eq!(
        e.to_string(),
        "the namespace of the provided object does not match the namespace sent on the request"
    );
    let e = h
        .send(req("create", "ConfigMap", Some("default"), None, pod("x")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 400);
}

#[tokio::test]
async fn missing_or_terminating_namespace_refuses_content() {
    let h = Harness::new().await;
    let e = h
        .send(req(
            "create",
            "ConfigMap",
            Some("nope"),
            None,
            configmap("a"),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 404);
    assert_eq!(e.to_string(), "namespaces \"nope\" not found");

    h.create("Namespace", None, json!({"metadata": {"name": "t"}}))
        .await;
    // A bound pod keeps the namespace terminating while the test looks.
    let mut p = pod("p");
    p["spec"]["nodeName"] = "n1".into();
    h.create("Pod", Some("t"), p).await;
    h.send(req("delete", "Namespace", None, Some("t"), Value::Null))
        .await
        .unwrap();
    let e = h
        .send(req("create", "ConfigMap", Some("t"), None, configmap("a")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 403);
    assert_eq!(
        e.to_string(),
        "configmaps \"a\" is forbidden: unable to create new content in namespace t because it is being terminated"
    );
}

#[tokio::test]
async fn creating_a_namespace_creates_its_default_service_account() {
    let h = Harness::new().await;
    h.create("Namespace", None, json!({"metadata": {"name": "team"}}))
        .await;
    assert!(h
        .stored("ServiceAccount", Some("team"), "default")
        .await
        .is_some());
}

#[tokio::test]
async fn dry_run_create_writes_nothing() {
    let h = Harness::new().await;
    let r = with_query(
        req("create", "ConfigMap", Some("default"), None, configmap("a")),
        &[("dryRun", "All")],
    );
    let reply = h.send(r).await.unwrap();
    assert_eq!(reply.status, 201);
    assert_eq!(reply.body["metadata"]["name"], "a");
    assert!(h.stored("ConfigMap", Some("default"), "a").await.is_none());
    let bad = with_query(
        req("create", "ConfigMap", Some("default"), None, configmap("a")),
        &[("dryRun", "Some")],
    );
    assert!(h.send(bad).await.is_err());
}

#[tokio::test]
async fn unknown_fields_warn_by_default_fail_when_strict_and_are_dropped() {
    let h = Harness::new().await;
    let mut cm = configmap("a");
    cm["spec"] = json!({"foo": 1});
    let reply = h
        .send(req(
            "create",
            "ConfigMap",
            Some("default"),
            None,
            cm.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(reply.warnings, vec!["unknown field \"spec\"".to_string()]);
    assert!(reply.body.get("spec").is_none());
    cm["metadata"]["name"] = "b".into();
    let strict = with_query(
        req("create", "ConfigMap", Some("default"), None, cm.clone()),
        &[("fieldValidation", "Strict")],
    );
    let e = h.send(strict).await.unwrap_err();
    assert_eq!(e.code(), 400);
    assert_eq!(
        e.to_string(),
        "strict decoding error: unknown field \"spec\""
    );
    let ignore = with_query(
        req("create", "ConfigMap", Some("default"), None, cm),
        &[("fieldValidation", "Ignore")],
    );
    assert!(h.send(ignore).await.unwrap().warnings.is_empty());
}

#[tokio::test]
async fn duplicate_json_keys_are_reported() {
    let h = Harness::new().await;
    let body = br#"{"metadata":{"name":"a","name":"b"},"data":{}}"#;
    let r = with_body(
        req("create", "ConfigMap", Some("default"), None, Value::Null),
        None,
        body,
    );
    let reply = h.send(r.clone()).await.unwrap();
    assert_eq!(
        reply.warnings,
        vec!["duplicate field \"metadata.name\"".to_string()]
    );
    assert_eq!(reply.body["metadata"]["name"], "b");
    let strict = with_query(r, &[("fieldValidation", "Strict")]);
    assert_eq!(h.send(strict).await.unwrap_err().code(), 400);
}

#[tokio::test]
async fn bodies_decode_by_content_type() {
    let h = Harness::new().await;
    let yaml = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata:\n  k: v\n";
    let r = with_body(
        req("create", "ConfigMap", Some("default"), None, Value::Null),
        Some("application/yaml"),
        yaml,
    );
    assert_eq!(h.send(r).await.unwrap().body["data"]["k"], "v");
    let r = with_body(
        req("create", "ConfigMap", Some("default"), None, Value::Null),
        None,
        br#"{"metadata":{"name":"n"}}"#,
    );
    assert_eq!(h.send(r).await.unwrap().status, 201);
    let r = with_body(
        req("create", "ConfigMap", Some("default"), None, Value::Null),
        Some("text/plain"),
        b"x",
    );
    assert_eq!(h.send(r).await.unwrap_err().code(), 415);
    let r = with_body(
        req("create", "ConfigMap", Some("default"), None, Value::Null),
        None,
        b"{\"metadata\": ",
    );
    assert_eq!(h.send(r).await.unwrap_err().code(), 400);
    let r = with_body(
        req("create", "ConfigMap", Some("default"), None, Value::Null),
        None,
        b"[1,2]",
    );
    assert_eq!(h.send(r).await.unwrap_err().code(), 400);
}

#[tokio::test]
async fn resource_version_on_create_is_refused() {
    let h = Harness::new().await;
    let mut cm = configmap("a");
    cm["metadata"]["resourceVersion"] = "5".into();
    let e = h
        .send(req("create", "ConfigMap", Some("default"), None, cm))
        .await
        .unwrap_err();
    assert_eq!(e.code(), 400);
}
