use serde_json::json;

use super::*;

#[tokio::test]
async fn bootstrap_creates_namespaces_service_accounts_and_the_kubernetes_service() {
    let h = Harness::new().await;
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let n = h
            .stored("Namespace", None, ns)
            .await
            .unwrap_or_else(|| panic!("{ns}"));
        assert!(n["metadata"]["uid"].is_string());
        assert!(
            h.stored("ServiceAccount", Some(ns), "default")
                .await
                .is_some(),
            "{ns}"
        );
    }
    let svc = h
        .stored("Service", Some("default"), "kubernetes")
        .await
        .unwrap();
    assert_eq!(svc["spec"]["clusterIP"], "10.43.0.1");
    assert_eq!(svc["spec"]["ports"][0]["name"], "https");
    assert_eq!(svc["spec"]["ports"][0]["port"], 443);
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 6443);
    let ep = h
        .stored("Endpoints", Some("default"), "kubernetes")
        .await
        .unwrap();
    assert_eq!(ep["subsets"][0]["addresses"][0]["ip"], "127.0.0.1");
    let slice = h
        .stored("EndpointSlice", Some("default"), "kubernetes")
        .await
        .unwrap();
    assert_eq!(slice["endpoints"][0]["addresses"], json!(["127.0.0.1"]));
    assert_eq!(slice["ports"][0]["port"], 6443);
}

#[tokio::test]
async fn bootstrap_is_idempotent_across_restarts() {
    let h = Harness::new().await;
    let before = h.state.store.current_revision();
    let again = Harness::with_store(h.state.store.clone()).await;
    crate::server::write::bootstrap(&again.state).await.unwrap();
    assert_eq!(again.state.store.current_revision(), before);
}

#[tokio::test]
async fn bootstrap_follows_a_new_advertise_address() {
    let h = Harness::new().await;
    let mut settings = h.state.settings.clone();
    settings.advertise_address = "192.0.2.7".parse().unwrap();
    let write = WriteState::load(&*h.state.store, &settings).await.unwrap();
    let state = ApiState {
        store: h.state.store.clone(),
        authorizer: h.state.authorizer.clone(),
        settings,
        write,
    };
    crate::server::write::bootstrap(&state).await.unwrap();
    let ep = h
        .stored("Endpoints", Some("default"), "kubernetes")
        .await
        .unwrap();
    assert_eq!(ep["subsets"][0]["addresses"][0]["ip"], "192.0.2.7");
}
