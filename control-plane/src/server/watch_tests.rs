//! Watch streams driven through `handle`: initial events, live events with selectors,
//! bookmarks, Tables, timeouts and an expired resourceVersion.

use std::time::Duration;

use super::test_support::{ended, read_events, TestServer, ADMIN};

const WAIT: Duration = Duration::from_secs(5);
const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

fn types(events: &[serde_json::Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn watch_without_resource_version_starts_with_current_objects() {
    let s = TestServer::new().await;
    s.put_pod("default", "a", "web").await;
    let resp = s
        .send(
            "GET",
            "/api/v1/namespaces/default/pods?watch=true",
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let mut body = resp.into_body();
    let first = read_events(&mut body, 1, WAIT).await;
    assert_eq!(types(&first), ["ADDED"]);
    assert_eq!(first[0]["object"]["metadata"]["name"], "a");
    s.put_pod("default", "a", "web").await;
    let del = s.delete_pod("default", "a").await;
    let later = read_events(&mut body, 2, WAIT).await;
    assert_eq!(types(&later), ["MODIFIED", "DELETED"]);
    assert_eq!(
        later[1]["object"]["metadata"]["resourceVersion"],
        del.to_string()
    );
}

#[tokio::test]
async fn watch_from_a_resource_version_replays_only_later_events() {
    let s = TestServer::new().await;
    let r1 = s.put_pod("default", "a", "web").await;
    s.put_pod("default", "b", "web").await;
    let resp = s
        .send(
            "GET",
            &format!("/api/v1/watch/namespaces/default/pods?resourceVersion={r1}"),
            Some(ADMIN),
            None,
        )
        .await;
    let mut body = resp.into_body();
    let ev = read_events(&mut body, 1, WAIT).await;
    assert_eq!(types(&ev), ["ADDED"]);
    assert_eq!(ev[0]["object"]["metadata"]["name"], "b");
}

#[tokio::test]
async fn objects_leaving_or_entering_the_selection_are_deleted_or_added() {
    let s = TestServer::new().await;
    let r = s.put_pod("default", "a", "web").await;
    let resp = s
        .send("GET", &format!("/api/v1/namespaces/default/pods?watch=1&labelSelector=app%3Dweb&resourceVersion={r}"), Some(ADMIN), None)
        .await;
    let mut body = resp.into_body();
    s.put_pod("default", "a", "db").await;
    s.put_pod("default", "a", "db").await;
    s.put_pod("default", "a", "web").await;
    let ev = read_events(&mut body, 2, WAIT).await;
    assert_eq!(types(&ev), ["DELETED", "ADDED"]);
    assert_eq!(ev[0]["object"]["metadata"]["labels"]["app"], "db");
}

#[tokio::test]
async fn single_object_watches_use_the_name_field_selector_or_watch_path() {
    let s = TestServer::new().await;
    let r = s.put_pod("default", "a", "web").await;
    for uri in [
        format!("/api/v1/namespaces/default/pods?watch=1&fieldSelector=metadata.name%3Db&resourceVersion={r}"),
        format!("/api/v1/watch/namespaces/default/pods/b?resourceVersion={r}"),
    ] {
        let mut body = s.send("GET", &uri, Some(ADMIN), None).await.into_body();
        s.put_pod("default", "other", "web").await;
        s.put_pod("default", "b", "web").await;
        let ev = read_events(&mut body, 1, WAIT).await;
        assert_eq!(ev[0]["object"]["metadata"]["name"], "b", "{uri}");
        s.delete_pod("default", "b").await;
        s.delete_pod("default", "other").await;
    }
}

#[tokio::test]
async fn send_initial_events_ends_with_the_initial_events_end_bookmark() {
    let s = TestServer::new().await;
    s.put_pod("default", "a", "web").await;
    let last = s.put_pod("default", "b", "web").await;
    let resp = s
        .send(
            "GET",
            "/api/v1/namespaces/default/pods?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true",
            Some(ADMIN),
            None,
        )
        .await;
    let mut body = resp.into_body();
    let ev = read_events(&mut body, 3, WAIT).await;
    assert_eq!(types(&ev), ["ADDED", "ADDED", "BOOKMARK"]);
    let bm = &ev[2]["object"];
    assert_eq!(bm["kind"], "Pod");
    assert_eq!(bm["apiVersion"], "v1");
    assert_eq!(bm["metadata"]["resourceVersion"], last.to_string());
    assert_eq!(
        bm["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
}

#[tokio::test]
async fn bookmarks_arrive_periodically_when_allowed() {
    let s = TestServer::new().await;
    let r = s.put_pod("default", "a", "web").await;
    let mut body = s
        .send(
            "GET",
            &format!("/api/v1/pods?watch=1&allowWatchBookmarks=true&resourceVersion={r}"),
            Some(ADMIN),
            None,
        )
        .await
        .into_body();
    let ev = read_events(&mut body, 1, WAIT).await;
    assert_eq!(types(&ev), ["BOOKMARK"]);
    assert_eq!(
        ev[0]["object"]["metadata"]["resourceVersion"],
        r.to_string()
    );
    assert_eq!(ev[0]["object"]["metadata"].as_object().unwrap().len(), 1);
}

#[tokio::test]
async fn expired_resource_version_is_an_in_stream_410() {
    let s = TestServer::with_history(2).await;
    for i in 0..6 {
        s.put_pod("default", "a", &format!("v{i}")).await;
    }
    s.state
        .store
        .compact(s.state.store.current_revision() - 1)
        .await
        .unwrap();
    let resp = s
        .send(
            "GET",
            "/api/v1/pods?watch=1&resourceVersion=1",
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let mut body = resp.into_body();
    let ev = read_events(&mut body, 1, WAIT).await;
    assert_eq!(types(&ev), ["ERROR"]);
    let st = &ev[0]["object"];
    assert_eq!(st["kind"], "Status");
    assert_eq!(st["code"], 410);
    assert_eq!(st["reason"], "Expired");
    assert!(st["message"]
        .as_str()
        .unwrap()
        .starts_with("too old resource version: 1 ("));
    assert!(ended(&mut body, WAIT).await);
}

#[tokio::test]
async fn timeout_seconds_ends_the_stream() {
    let s = TestServer::new().await;
    let mut body = s
        .send(
            "GET",
            "/api/v1/pods?watch=1&timeoutSeconds=0",
            Some(ADMIN),
            None,
        )
        .await
        .into_body();
    assert!(ended(&mut body, WAIT).await);
}

#[tokio::test]
async fn table_watches_send_column_definitions_only_first() {
    let s = TestServer::new().await;
    s.put_pod("default", "a", "web").await;
    let mut body = s
        .send(
            "GET",
            "/api/v1/namespaces/default/pods?watch=1",
            Some(ADMIN),
            Some(TABLE),
        )
        .await
        .into_body();
    s.put_pod("default", "b", "web").await;
    let ev = read_events(&mut body, 2, WAIT).await;
    assert_eq!(types(&ev), ["ADDED", "ADDED"]);
    assert_eq!(ev[0]["object"]["kind"], "Table");
    assert_eq!(ev[1]["object"]["kind"], "Table");
    assert_eq!(ev[1]["object"]["columnDefinitions"], serde_json::json!([]));
}

#[tokio::test]
async fn invalid_watch_options_are_answered_before_streaming() {
    let s = TestServer::new().await;
    let resp = s
        .send(
            "GET",
            "/api/v1/pods?watch=1&sendInitialEvents=true",
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(resp.status().as_u16(), 422);
}
