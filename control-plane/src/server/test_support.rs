//! A server over a memory store for driving [`super::handle`] in tests.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use serde_json::{json, Value};

use crate::auth::{Authenticator, MastersOnly, UserInfo};
use crate::store::{MemoryStore, Store, StoreOptions};

use super::{handle, object, write, ApiState, Body, ServerSettings};

/// Bearer token of a `system:masters` user.
pub const ADMIN: &str = "admin-token";
/// Bearer token of an ordinary user `bob`.
pub const BOB: &str = "bob-token";

/// A server, its authenticator and direct access to its store.
pub struct TestServer {
    pub state: Arc<ApiState>,
    pub authn: Authenticator,
}

impl TestServer {
    pub async fn new() -> Self {
        Self::with_store(MemoryStore::new()).await
    }

    pub async fn with_history(events: usize) -> Self {
        Self::with_store(MemoryStore::with_options(StoreOptions {
            history_events: events,
            ..StoreOptions::default()
        }))
        .await
    }

    async fn with_store(store: MemoryStore) -> Self {
        let store: Arc<dyn Store> = Arc::new(store);
        let settings = ServerSettings {
            bookmark_interval: Duration::from_millis(50),
            ..ServerSettings::default()
        };
        let write = write::WriteState::load(store.as_ref(), &settings)
            .await
            .unwrap();
        let state = Arc::new(ApiState {
            store,
            authorizer: Arc::new(MastersOnly),
            settings,
            write,
        });
        let user = |name: &str, groups: &[&str]| UserInfo {
            name: name.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        };
        let tokens = HashMap::from([
            (
                ADMIN.to_string(),
                user("admin", &["system:masters", "system:authenticated"]),
            ),
            (BOB.to_string(), user("bob", &["system:authenticated"])),
        ]);
        Self {
            state,
            authn: Authenticator::new(tokens),
        }
    }

    /// Sends a request; `token` None is anonymous.
    pub async fn send(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        accept: Option<&str>,
    ) -> Response<Body> {
        let mut b = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        if let Some(a) = accept {
            b = b.header("accept", a);
        }
        handle(
            &self.state,
            &self.authn,
            b.body(Bytes::new()).unwrap(),
            None,
        )
        .await
    }

    /// A GET as admin, answered as (status, JSON).
    pub async fn get(&self, uri: &str) -> (u16, Value) {
        self.get_as(uri, Some(ADMIN), None).await
    }

    pub async fn get_as(
        &self,
        uri: &str,
        token: Option<&str>,
        accept: Option<&str>,
    ) -> (u16, Value) {
        let resp = self.send("GET", uri, token, accept).await;
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, value)
    }

    /// Stores a pod directly; returns its revision.
    pub async fn put_pod(&self, ns: &str, name: &str, app: &str) -> i64 {
        let kind = crate::registry::by_resource("", "v1", "pods").unwrap();
        let key = kind.key(Some(ns), name);
        let obj = pod(ns, name, app);
        let (existing, _) = self.state.store.get(&key).await.unwrap();
        let kv = match existing {
            Some(kv) => self
                .state
                .store
                .update(&key, object::to_store(&obj), kv.mod_revision)
                .await
                .unwrap(),
            None => self
                .state
                .store
                .create(&key, object::to_store(&obj))
                .await
                .unwrap(),
        };
        kv.mod_revision
    }

    /// Deletes a pod directly; returns the revision of the delete.
    pub async fn delete_pod(&self, ns: &str, name: &str) -> i64 {
        let kind = crate::registry::by_resource("", "v1", "pods").unwrap();
        self.state
            .store
            .delete(&kind.key(Some(ns), name), None)
            .await
            .unwrap()
            .1
    }
}

pub fn pod(ns: &str, name: &str, app: &str) -> Value {
    json!({
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": app}, "creationTimestamp": "2026-01-02T03:04:05Z"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}], "nodeName": "n1"},
        "status": {"phase": "Running"}
    })
}

/// Reads watch events from a streaming body until `n` arrived or `wait` passed.
pub async fn read_events(body: &mut Body, n: usize, wait: Duration) -> Vec<Value> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while out.len() < n {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(f))) => f,
            _ => break,
        };
        if let Ok(data) = frame.into_data() {
            buf.extend_from_slice(&data);
            while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=pos).collect();
                out.push(serde_json::from_slice(&line).unwrap());
            }
        }
    }
    out
}

/// Whether the stream has ended (no more frames) within `wait`.
pub async fn ended(body: &mut Body, wait: Duration) -> bool {
    matches!(tokio::time::timeout(wait, body.frame()).await, Ok(None))
}
