//! End-to-end: kube-rs (client, watcher, reflector, aggregated discovery) against
//! `skiff-control-plane`.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::{reflector, watcher, WatchStreamExt};
use serde_json::json;
use skiff_tests::apiserver::ApiServer;
use skiff_tests::kube_client::client;

fn config_map(name: &str, data: &[(&str, &str)]) -> ConfigMap {
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some(name.to_string());
    cm.data = Some(
        data.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    );
    cm
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
#[ignore = "needs the skiff-control-plane binary"]
fn crud_round_trip() {
    let server = ApiServer::start();
    runtime().block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
        let created = api
            .create(&PostParams::default(), &config_map("one", &[("a", "1")]))
            .await
            .unwrap();
        assert!(created.metadata.uid.is_some() && created.metadata.resource_version.is_some());
        let got = api.get("one").await.unwrap();
        assert_eq!(got.data.unwrap()["a"], "1");

        let mut changed = created.clone();
        changed.data = Some([("a".to_string(), "2".to_string())].into());
        let replaced = api
            .replace("one", &PostParams::default(), &changed)
            .await
            .unwrap();
        assert_ne!(
            replaced.metadata.resource_version,
            created.metadata.resource_version
        );
        // A replace carrying the old resourceVersion is a conflict.
        let stale = api
            .replace("one", &PostParams::default(), &changed)
            .await
            .unwrap_err();
        assert!(
            matches!(stale, kube::Error::Api(ref s) if s.code == 409),
            "{stale:?}"
        );

        let list = api.list(&ListParams::default()).await.unwrap();
        assert_eq!(
            list.items
                .iter()
                .filter(|c| c.metadata.name.as_deref() == Some("one"))
                .count(),
            1
        );
        api.delete("one", &DeleteParams::default()).await.unwrap();
        let gone = api.get("one").await.unwrap_err();
        assert!(
            matches!(gone, kube::Error::Api(ref s) if s.code == 404 && s.reason == "NotFound"),
            "{gone:?}"
        );
    });
}

#[test]
#[ignore = "needs the skiff-control-plane binary"]
fn all_four_patch_types() {
    let server = ApiServer::start();
    runtime().block_on(async {
        let api: Api<Deployment> = Api::namespaced(client(&server).await, "default");
        let apply = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                             "spec": {"containers": [{"name": "web", "image": "busybox:1.36"}]}}
            }
        });
        let pp = PatchParams::apply("kube-rs-test");
        let d = api.patch("web", &pp, &Patch::Apply(&apply)).await.unwrap();
        assert_eq!(d.spec.as_ref().unwrap().replicas, Some(1));
        assert!(d.metadata.managed_fields.unwrap().iter().any(|m| m.manager.as_deref() == Some("kube-rs-test")));

        let merge = json!({"metadata": {"labels": {"tier": "front"}}});
        let d = api.patch("web", &PatchParams::default(), &Patch::Merge(&merge)).await.unwrap();
        assert_eq!(d.metadata.labels.unwrap()["tier"], "front");

        let strategic = json!({"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "busybox:1.36"}]}}}});
        let d = api.patch("web", &PatchParams::default(), &Patch::Strategic(&strategic)).await.unwrap();
        let names: Vec<String> =
            d.spec.unwrap().template.spec.unwrap().containers.into_iter().map(|c| c.name).collect();
        assert_eq!(names.len(), 2, "strategic merge keeps both containers: {names:?}");

        let ops: json_patch::Patch = serde_json::from_value(json!([{"op": "replace", "path": "/spec/replicas", "value": 4}])).unwrap();
        let d = api.patch("web", &PatchParams::default(), &Patch::Json::<()>(ops)).await.unwrap();
        assert_eq!(d.spec.unwrap().replicas, Some(4));
    });
}

#[test]
#[ignore = "needs the skiff-control-plane binary"]
fn aggregated_discovery_lists_served_groups() {
    let server = ApiServer::start();
    runtime().block_on(async {
        let discovery = kube::Discovery::new(client(&server).await)
            .run_aggregated()
            .await
            .unwrap();
        let groups: Vec<String> = discovery.groups().map(|g| g.name().to_string()).collect();
        for want in ["", "apps", "discovery.k8s.io", "coordination.k8s.io"] {
            assert!(
                groups.iter().any(|g| g == want),
                "group {want:?} missing from {groups:?}"
            );
        }
        let apps = discovery.groups().find(|g| g.name() == "apps").unwrap();
        let kinds: Vec<String> = apps
            .recommended_resources()
            .into_iter()
            .map(|(r, _)| r.kind)
            .collect();
        assert!(kinds.contains(&"Deployment".to_string()), "{kinds:?}");
    });
}

#[test]
#[ignore = "needs the skiff-control-plane binary"]
fn watcher_and_reflector_survive_a_forced_410() {
    let mut server = ApiServer::start();
    let rt = runtime();
    let client = rt.block_on(client(&server));
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let (reader, writer) = reflector::store();
    let stream = watcher(api.clone(), watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects();
    let names = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = names.clone();
    rt.spawn(async move {
        let mut stream = std::pin::pin!(stream);
        // Errors (connection refused while the server restarts, the 410) are reported in the
        // stream; the watcher recovers by itself, so keep reading.
        while let Some(item) = stream.next().await {
            if let Ok(cm) = item {
                seen.lock()
                    .unwrap()
                    .push(cm.metadata.name.unwrap_or_default());
            }
        }
    });
    let log_path = server.data_dir().join("server.log");
    let wait_for = |name: &str| {
        rt.block_on(async {
            for _ in 0..300 {
                if reader
                    .get(&kube::runtime::reflector::ObjectRef::new(name).within("default"))
                    .is_some()
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!(
                "reflector never saw {name}; applied: {:?}; server log:\n{}",
                names.lock().unwrap(),
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        })
    };
    let before = rt
        .block_on(api.create(&PostParams::default(), &config_map("before", &[])))
        .unwrap();
    wait_for("before");
    let old_rv = before.metadata.resource_version.unwrap();

    // Writes the watcher does not see (another namespace) move the revision past its
    // resourceVersion. The restarted server keeps no watch history, so that resourceVersion is
    // now too old: the resumed watch gets an in-stream 410, and kube-rs relists.
    let elsewhere: Api<ConfigMap> = Api::namespaced(api.clone().into_client(), "kube-system");
    for n in 0..3 {
        rt.block_on(elsewhere.create(
            &PostParams::default(),
            &config_map(&format!("other-{n}"), &[]),
        ))
        .unwrap();
    }
    server.restart();
    rt.block_on(api.create(&PostParams::default(), &config_map("after", &[])))
        .unwrap();
    wait_for("after");
    // The resumed watch really was refused: a watch from the old resourceVersion now gets an
    // in-stream ERROR event carrying a 410 Status.
    let first = rt.block_on(async {
        let mut events = std::pin::pin!(api.watch(&WatchParams::default(), &old_rv).await.unwrap());
        tokio::time::timeout(Duration::from_secs(10), events.try_next())
            .await
            .expect("an event")
            .unwrap()
    });
    assert!(
        matches!(first, Some(WatchEvent::Error(ref e)) if e.code == 410),
        "{first:?}"
    );
    let state: Vec<String> = reader
        .state()
        .iter()
        .map(|c| c.metadata.name.clone().unwrap_or_default())
        .collect();
    assert!(
        state.contains(&"before".to_string()) && state.contains(&"after".to_string()),
        "{state:?}"
    );
}
