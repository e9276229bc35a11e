//! The whole router driven through `handle`: authentication, authorization, routing, get and
//! list with selectors, paging, resourceVersion rules and representations.

use serde_json::json;

use super::test_support::{TestServer, ADMIN, BOB};

const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

#[tokio::test]
async fn anonymous_clients_get_only_health_and_version() {
    let s = TestServer::new().await;
    for p in ["/healthz", "/livez", "/readyz"] {
        let (code, body) = s.get_as(p, None, None).await;
        assert_eq!((code, body), (200, json!("ok")), "{p}");
    }
    let (code, v) = s.get_as("/version", None, None).await;
    assert_eq!(code, 200);
    assert_eq!(v["major"], "1");
    assert_eq!(v["minor"], "33");
    assert_eq!(v["gitVersion"], "v1.33.0");
    assert_eq!(v["platform"], "linux/amd64");
    for p in ["/api", "/apis", "/api/v1/pods", "/openapi/v3", "/nothing"] {
        let (code, st) = s.get_as(p, None, None).await;
        assert_eq!(code, 401, "{p}");
        assert_eq!(
            st,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
        );
    }
}

#[tokio::test]
async fn a_token_that_does_not_authenticate_is_refused_everywhere() {
    let s = TestServer::new().await;
    let (code, _) = s.get_as("/healthz", Some("wrong"), None).await;
    assert_eq!(code, 401);
}

#[tokio::test]
async fn denied_requests_get_upstreams_forbidden_message() {
    let s = TestServer::new().await;
    let (code, st) = s
        .get_as("/api/v1/namespaces/default/pods", Some(BOB), None)
        .await;
    assert_eq!(code, 403);
    assert_eq!(st["reason"], "Forbidden");
    assert!(
        st["message"].as_str().unwrap().starts_with(
            "pods is forbidden: User \"bob\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
        ),
        "{st}"
    );
    let (_, st) = s
        .get_as("/apis/apps/v1/namespaces/x/deployments/d", Some(BOB), None)
        .await;
    assert!(st["message"].as_str().unwrap().starts_with(
        "deployments.apps \"d\" is forbidden: User \"bob\" cannot get resource \"deployments\" in API group \"apps\" in the namespace \"x\""
    ));
    let (_, st) = s
        .get_as(
            "/api/v1/nodes?fieldSelector=metadata.name%3Dn1&watch=1",
            Some(BOB),
            None,
        )
        .await;
    assert!(st["message"].as_str().unwrap().starts_with(
        "nodes \"n1\" is forbidden: User \"bob\" cannot watch resource \"nodes\" in API group \"\" at the cluster scope"
    ));
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405() {
    let s = TestServer::new().await;
    let (code, st) = s.get("/apis/widgets.io/v1/widgets").await;
    assert_eq!(code, 404);
    assert_eq!(st["reason"], "NotFound");
    assert_eq!(
        st["message"],
        "the server could not find the requested resource"
    );
    let resp = s
        .send(
            "POST",
            "/api/v1/namespaces/default/pods/web",
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(resp.status().as_u16(), 405);
    let resp = s
        .send("PUT", "/api/v1/namespaces/default/pods", Some(ADMIN), None)
        .await;
    assert_eq!(resp.status().as_u16(), 405);
    let resp = s.send("DELETE", "/version", Some(ADMIN), None).await;
    assert_eq!(resp.status().as_u16(), 405);
}

#[tokio::test]
async fn get_returns_the_object_with_its_resource_version_or_not_found() {
    let s = TestServer::new().await;
    let rev = s.put_pod("default", "web", "web").await;
    let (code, pod) = s.get("/api/v1/namespaces/default/pods/web").await;
    assert_eq!(code, 200);
    assert_eq!(pod["metadata"]["resourceVersion"], rev.to_string());
    let (code, st) = s.get("/api/v1/namespaces/default/pods/nope").await;
    assert_eq!(code, 404);
    assert_eq!(st["message"], "pods \"nope\" not found");
    assert_eq!(st["details"], json!({"name": "nope", "kind": "pods"}));
    let (code, meta) = s
        .get_as(
            "/api/v1/namespaces/default/pods/web",
            Some(ADMIN),
            Some("application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(meta["kind"], "PartialObjectMetadata");
    assert_eq!(meta["metadata"]["name"], "web");
    assert!(meta.get("spec").is_none());
}

#[tokio::test]
async fn lists_filter_by_label_and_field_selectors() {
    let s = TestServer::new().await;
    s.put_pod("default", "a", "web").await;
    s.put_pod("default", "b", "db").await;
    let last = s.put_pod("other", "c", "web").await;
    let names = |v: &serde_json::Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let (code, all) = s.get("/api/v1/pods").await;
    assert_eq!(code, 200);
    assert_eq!(all["kind"], "PodList");
    assert_eq!(all["apiVersion"], "v1");
    assert_eq!(all["metadata"]["resourceVersion"], last.to_string());
    assert_eq!(names(&all), ["a", "b", "c"]);
    let (_, web) = s.get("/api/v1/pods?labelSelector=app%20in%20(web)").await;
    assert_eq!(names(&web), ["a", "c"]);
    let (_, ns) = s
        .get("/api/v1/namespaces/default/pods?labelSelector=app!%3Dweb")
        .await;
    assert_eq!(names(&ns), ["b"]);
    let (_, f) = s
        .get("/api/v1/pods?fieldSelector=metadata.namespace%3Dother")
        .await;
    assert_eq!(names(&f), ["c"]);
    let (code, st) = s.get("/api/v1/pods?labelSelector=app%20in%20(").await;
    assert_eq!((code, st["reason"].as_str()), (400, Some("BadRequest")));
    let (code, st) = s.get("/api/v1/configmaps?fieldSelector=spec.foo%3Dx").await;
    assert_eq!(code, 400);
    assert_eq!(st["message"], "field label not supported: spec.foo");
    let (_, empty) = s.get("/api/v1/namespaces/nowhere/pods").await;
    assert_eq!(empty["items"], json!([]));
}

#[tokio::test]
async fn limit_and_continue_page_at_the_first_pages_revision() {
    let s = TestServer::new().await;
    for n in ["a", "b", "c", "d", "e"] {
        s.put_pod("default", n, "web").await;
    }
    let (_, p1) = s.get("/api/v1/namespaces/default/pods?limit=2").await;
    let rv = p1["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(p1["items"].as_array().unwrap().len(), 2);
    assert_eq!(p1["metadata"]["remainingItemCount"], 3);
    let token = p1["metadata"]["continue"].as_str().unwrap().to_string();
    // A change after the first page is not seen by later pages.
    s.put_pod("default", "f", "web").await;
    let (_, p2) = s
        .get(&format!(
            "/api/v1/namespaces/default/pods?limit=2&continue={token}"
        ))
        .await;
    assert_eq!(p2["metadata"]["resourceVersion"], rv);
    assert_eq!(p2["items"][0]["metadata"]["name"], "c");
    let token = p2["metadata"]["continue"].as_str().unwrap().to_string();
    let (_, p3) = s
        .get(&format!(
            "/api/v1/namespaces/default/pods?limit=2&continue={token}"
        ))
        .await;
    assert_eq!(p3["items"].as_array().unwrap().len(), 1);
    assert!(p3["metadata"].get("continue").is_none());
    assert!(p3["metadata"].get("remainingItemCount").is_none());
    // With a selector, pages still fill up and no remaining count is promised.
    let (_, sel) = s
        .get("/api/v1/namespaces/default/pods?limit=2&labelSelector=app%3Dweb")
        .await;
    assert_eq!(sel["items"].as_array().unwrap().len(), 2);
    assert!(sel["metadata"].get("remainingItemCount").is_none());
    let (code, _) = s
        .get("/api/v1/namespaces/default/pods?continue=garbage")
        .await;
    assert_eq!(code, 400);
}

#[tokio::test]
async fn compacted_revisions_answer_410_expired() {
    let s = TestServer::with_history(2).await;
    for n in ["a", "b", "c"] {
        s.put_pod("default", n, "web").await;
    }
    let (_, p1) = s.get("/api/v1/namespaces/default/pods?limit=1").await;
    let token = p1["metadata"]["continue"].as_str().unwrap().to_string();
    for i in 0..5 {
        s.put_pod("default", "z", &format!("v{i}")).await;
    }
    s.state
        .store
        .compact(s.state.store.current_revision() - 1)
        .await
        .unwrap();
    let (code, st) = s
        .get(&format!(
            "/api/v1/namespaces/default/pods?limit=1&continue={token}"
        ))
        .await;
    assert_eq!(code, 410);
    assert_eq!(st["reason"], "Expired");
    assert!(st["message"]
        .as_str()
        .unwrap()
        .starts_with("The provided continue parameter is too old"));
    let fresh = st["metadata"]["continue"].as_str().unwrap().to_string();
    let (code, next) = s
        .get(&format!(
            "/api/v1/namespaces/default/pods?limit=1&continue={fresh}"
        ))
        .await;
    assert_eq!(code, 200);
    assert_eq!(next["items"][0]["metadata"]["name"], "b");
    let (code, st) = s
        .get("/api/v1/pods?resourceVersion=1&resourceVersionMatch=Exact")
        .await;
    assert_eq!(code, 410);
    assert_eq!(
        st["message"],
        "The resourceVersion for the provided list is too old."
    );
}

#[tokio::test]
async fn resource_version_rules_of_lists() {
    let s = TestServer::new().await;
    let r1 = s.put_pod("default", "a", "web").await;
    s.put_pod("default", "b", "web").await;
    let (_, exact) = s
        .get(&format!(
            "/api/v1/pods?resourceVersion={r1}&resourceVersionMatch=Exact"
        ))
        .await;
    assert_eq!(exact["metadata"]["resourceVersion"], r1.to_string());
    assert_eq!(exact["items"].as_array().unwrap().len(), 1);
    let (code, _) = s
        .get(&format!(
            "/api/v1/pods?resourceVersion={r1}&resourceVersionMatch=NotOlderThan"
        ))
        .await;
    assert_eq!(code, 200);
    let (code, st) = s.get("/api/v1/pods?resourceVersion=999").await;
    assert_eq!(code, 504);
    assert_eq!(
        st["details"]["causes"][0]["reason"],
        "ResourceVersionTooLarge"
    );
    let (code, st) = s.get("/api/v1/pods?resourceVersionMatch=Exact").await;
    assert_eq!(code, 422);
    assert_eq!(st["reason"], "Invalid");
}

#[tokio::test]
async fn tables_and_metadata_lists_are_negotiated() {
    let s = TestServer::new().await;
    s.put_pod("default", "a", "web").await;
    let (code, t) = s
        .get_as("/api/v1/namespaces/default/pods", Some(ADMIN), Some(TABLE))
        .await;
    assert_eq!(code, 200);
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
    assert!(t["metadata"]["resourceVersion"].is_string());
    let (_, one) = s
        .get_as(
            "/api/v1/namespaces/default/pods/a",
            Some(ADMIN),
            Some(TABLE),
        )
        .await;
    assert_eq!(one["kind"], "Table");
    let (_, m) = s
        .get_as(
            "/api/v1/pods",
            Some(ADMIN),
            Some("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"),
        )
        .await;
    assert_eq!(m["kind"], "PartialObjectMetadataList");
    assert_eq!(m["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(m["items"][0]["kind"], "PartialObjectMetadata");
    assert_eq!(m["items"][0]["metadata"]["name"], "a");
    let (code, st) = s
        .get_as(
            "/api/v1/pods",
            Some(ADMIN),
            Some("application/vnd.kubernetes.protobuf"),
        )
        .await;
    assert_eq!(code, 406);
    assert_eq!(st["reason"], "NotAcceptable");
    let (code, _) = s
        .get_as(
            "/api/v1/pods?includeObject=Everything",
            Some(ADMIN),
            Some(TABLE),
        )
        .await;
    assert_eq!(code, 400);
}

#[tokio::test]
async fn discovery_serves_legacy_and_aggregated_documents() {
    let s = TestServer::new().await;
    let (code, api) = s.get("/api").await;
    assert_eq!(code, 200);
    assert_eq!(api["kind"], "APIVersions");
    let resp = s
        .send("GET", "/apis", Some(ADMIN), Some("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"))
        .await;
    assert_eq!(
        resp.headers()["content-type"],
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    );
    let (code, _) = s.get("/apis/nope.io").await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn openapi_documents_are_immutable_at_their_hash() {
    let s = TestServer::new().await;
    let (code, index) = s.get("/openapi/v3").await;
    assert_eq!(code, 200);
    let Some(url) = index["paths"]["api/v1"]["serverRelativeURL"].as_str() else {
        return; // documents not generated in this build
    };
    let resp = s.send("GET", url, Some(ADMIN), None).await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["cache-control"], "public, immutable");
    let resp = s
        .send("GET", "/openapi/v3/api/v1?hash=stale", Some(ADMIN), None)
        .await;
    assert_eq!(resp.status().as_u16(), 301);
}
