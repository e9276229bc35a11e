//! Behaviour tests of the write path, driving [`super::handle`] over a memory store.

mod bootstrap;
mod create;
mod delete;
mod patch;
mod services;
mod subresources;
mod update;

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{json, Value};

use crate::api::ApiError;
use crate::auth::{MastersOnly, UserInfo};
use crate::registry::{by_kind, KindInfo};
use crate::server::{ApiState, Reply, ResourceRequest, ServerSettings};
use crate::store::{MemoryStore, Store};

use super::WriteState;

/// A server over a fresh memory store, bootstrapped.
pub(super) struct Harness {
    pub state: ApiState,
}

impl Harness {
    pub async fn new() -> Self {
        let h = Self::unbootstrapped().await;
        super::bootstrap(&h.state).await.unwrap();
        h
    }

    pub async fn unbootstrapped() -> Self {
        Self::with_store(Arc::new(MemoryStore::new())).await
    }

    pub async fn with_store(store: Arc<dyn Store>) -> Self {
        let settings = ServerSettings::default();
        let write = WriteState::load(&*store, &settings).await.unwrap();
        Self {
            state: ApiState {
                store,
                authorizer: Arc::new(MastersOnly),
                settings,
                write,
            },
        }
    }

    pub async fn send(&self, req: ResourceRequest) -> Result<Reply, ApiError> {
        super::handle(&self.state, &req).await
    }

    /// The stored object, if any.
    pub async fn stored(&self, kind: &str, ns: Option<&str>, name: &str) -> Option<Value> {
        let k = kind_of(kind);
        let (kv, _) = self.state.store.get(&k.key(ns, name)).await.unwrap();
        kv.map(|kv| crate::server::object::from_kv(&kv).unwrap())
    }

    pub async fn create(&self, kind: &str, ns: Option<&str>, body: Value) -> Value {
        let r = self.send(req("create", kind, ns, None, body)).await;
        let r = r.unwrap_or_else(|e| panic!("create failed: {:?}", e.to_status()));
        assert_eq!(r.status, 201);
        r.body
    }
}

/// A kind by its name (`Pod`, `Deployment`, …).
pub(super) fn kind_of(kind: &str) -> &'static KindInfo {
    ["", "apps", "discovery.k8s.io", "coordination.k8s.io"]
        .iter()
        .find_map(|g| by_kind(g, kind))
        .unwrap_or_else(|| panic!("unknown kind {kind}"))
}

/// A request with a JSON body (`Value::Null`: empty body).
pub(super) fn req(
    verb: &'static str,
    kind: &str,
    ns: Option<&str>,
    name: Option<&str>,
    body: Value,
) -> ResourceRequest {
    ResourceRequest {
        verb,
        kind: kind_of(kind),
        namespace: ns.map(String::from),
        name: name.map(String::from),
        subresource: None,
        query: Vec::new(),
        content_type: Some("application/json".into()),
        body: if body.is_null() {
            Bytes::new()
        } else {
            Bytes::from(serde_json::to_vec(&body).unwrap())
        },
        user: UserInfo {
            name: "admin".into(),
            groups: vec!["system:masters".into()],
        },
        user_agent: Some("kubectl/v1.33.0 (linux/amd64) kubernetes/abc".into()),
    }
}

/// Adds query parameters.
pub(super) fn with_query(mut r: ResourceRequest, q: &[(&str, &str)]) -> ResourceRequest {
    r.query
        .extend(q.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    r
}

/// Targets a subresource.
pub(super) fn on(mut r: ResourceRequest, sub: &str) -> ResourceRequest {
    r.subresource = Some(sub.into());
    r
}

/// A raw body with a Content-Type.
pub(super) fn with_body(mut r: ResourceRequest, ct: Option<&str>, body: &[u8]) -> ResourceRequest {
    r.content_type = ct.map(String::from);
    r.body = Bytes::copy_from_slice(body);
    r
}

pub(super) fn configmap(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "1"}})
}

pub(super) fn pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
}

pub(super) fn deployment(name: &str, replicas: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
}

pub(super) fn service(name: &str, spec: Value) -> Value {
    let mut s = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80}]}});
    for (k, v) in spec.as_object().unwrap() {
        s["spec"][k] = v.clone();
    }
    s
}

pub(super) fn rv(obj: &Value) -> String {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .expect("resourceVersion")
        .to_string()
}
