//! The watched objects, kept small: each is pruned to the fields the service model reads and
//! held as its JSON bytes, decoded again only when its Service is rebuilt. A node's proxy keeps
//! every Service and EndpointSlice of the cluster; as full objects (with managed fields, owner
//! references, per-endpoint target references) 10k services took over 150 MB, as pruned bytes
//! they take a few.

use std::collections::{BTreeMap, HashMap};
use std::marker::PhantomData;
use std::sync::{Arc, RwLock};

use k8s_openapi::api::core::v1::{Service, ServiceStatus};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::watch;

use crate::model::SERVICE_NAME_LABEL;

/// An object the store keeps: pruned to what the model reads before it is stored.
pub trait Pruned: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Drops every field the service model does not read.
    fn prune(&mut self);
    /// Namespace and name.
    fn key(&self) -> (String, String);
}

fn kept_meta(meta: &ObjectMeta, label: Option<&str>) -> ObjectMeta {
    let labels: Option<BTreeMap<String, String>> = label.and_then(|l| {
        let value = meta.labels.as_ref()?.get(l)?;
        Some(BTreeMap::from([(l.to_string(), value.clone())]))
    });
    ObjectMeta {
        name: meta.name.clone(),
        namespace: meta.namespace.clone(),
        labels,
        ..ObjectMeta::default()
    }
}

fn key_of(meta: &ObjectMeta) -> (String, String) {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

impl Pruned for Service {
    fn prune(&mut self) {
        self.metadata = kept_meta(&self.metadata, None);
        self.status = self.status.take().map(|s| ServiceStatus {
            load_balancer: s.load_balancer,
            conditions: None,
        });
    }

    fn key(&self) -> (String, String) {
        key_of(&self.metadata)
    }
}

impl Pruned for EndpointSlice {
    fn prune(&mut self) {
        self.metadata = kept_meta(&self.metadata, Some(SERVICE_NAME_LABEL));
        for endpoint in &mut self.endpoints {
            endpoint.deprecated_topology = None;
            endpoint.hints = None;
            endpoint.hostname = None;
            endpoint.target_ref = None;
            endpoint.zone = None;
        }
    }

    fn key(&self) -> (String, String) {
        key_of(&self.metadata)
    }
}

/// Pruned objects as JSON, by namespace and name.
type Encoded = HashMap<(String, String), Box<[u8]>>;

struct Objects {
    current: Encoded,
    /// A relist in progress: it replaces `current` when complete.
    relist: Option<Encoded>,
}

/// Objects of one kind by namespace and name, shared between the watcher that writes it and
/// the sync loop that reads it.
pub struct CompactStore<K> {
    objects: Arc<RwLock<Objects>>,
    ready: watch::Sender<bool>,
    kind: PhantomData<fn() -> K>,
}

impl<K> Clone for CompactStore<K> {
    fn clone(&self) -> Self {
        Self {
            objects: self.objects.clone(),
            ready: self.ready.clone(),
            kind: PhantomData,
        }
    }
}

impl<K: Pruned> Default for CompactStore<K> {
    fn default() -> Self {
        Self {
            objects: Arc::new(RwLock::new(Objects {
                current: HashMap::new(),
                relist: None,
            })),
            ready: watch::Sender::new(false),
            kind: PhantomData,
        }
    }
}

fn encode<K: Pruned>(mut object: K) -> ((String, String), Box<[u8]>) {
    object.prune();
    let key = object.key();
    // Serializing a typed object to a vector cannot fail.
    let bytes = serde_json::to_vec(&object).unwrap_or_default();
    (key, bytes.into_boxed_slice())
}

fn decode<K: Pruned>(bytes: &[u8]) -> Option<Arc<K>> {
    match serde_json::from_slice(bytes) {
        Ok(object) => Some(Arc::new(object)),
        Err(error) => {
            tracing::error!(%error, "a stored object does not decode; it is skipped");
            None
        }
    }
}

impl<K: Pruned> CompactStore<K> {
    /// An empty store, not ready.
    pub fn new() -> Self {
        Self::default()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Objects> {
        self.objects.write().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Objects> {
        self.objects.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds or replaces `object`.
    pub fn apply(&self, object: K) {
        let (key, bytes) = encode(object);
        self.write().current.insert(key, bytes);
    }

    /// Removes `object`.
    pub fn delete(&self, object: &K) {
        self.write().current.remove(&object.key());
    }

    /// A relist starts: the objects that follow replace the current ones at [`Self::relisted`].
    pub fn relist_started(&self) {
        self.write().relist = Some(HashMap::new());
    }

    /// One object of the relist.
    pub fn relist_object(&self, object: K) {
        let (key, bytes) = encode(object);
        self.write()
            .relist
            .get_or_insert_with(HashMap::new)
            .insert(key, bytes);
    }

    /// The relist is complete: its objects become the store's, which is ready from now on.
    pub fn relisted(&self) {
        let mut objects = self.write();
        objects.current = objects.relist.take().unwrap_or_default();
        objects.current.shrink_to_fit();
        drop(objects);
        self.ready.send_replace(true);
    }

    /// The object `namespace/name`.
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        let objects = self.read();
        let bytes = objects
            .current
            .get(&(namespace.to_string(), name.to_string()))?;
        decode(bytes)
    }

    /// Every object.
    pub fn state(&self) -> Vec<Arc<K>> {
        self.read()
            .current
            .values()
            .filter_map(|b| decode(b))
            .collect()
    }

    /// How many objects are stored.
    pub fn len(&self) -> usize {
        self.read().current.len()
    }

    /// Whether no object is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits for the first complete list.
    pub async fn wait_until_ready(&self) {
        let mut ready = self.ready.subscribe();
        // The sender lives as long as this store, so the wait ends only when it is ready.
        let _ = ready.wait_for(|r| *r).await;
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::discovery::v1::Endpoint;
    use serde_json::json;

    use super::*;

    fn slice(name: &str, ips: &[&str]) -> EndpointSlice {
        serde_json::from_value(json!({
            "metadata": {
                "name": name, "namespace": "default",
                "labels": {SERVICE_NAME_LABEL: "web", "endpointslice.kubernetes.io/managed-by": "x"},
                "managedFields": [{"manager": "kubectl", "operation": "Update",
                                   "fieldsType": "FieldsV1", "fieldsV1": {"f:endpoints": {}}}],
                "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": "web",
                                     "uid": "u"}],
            },
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": ips.iter().map(|ip| json!({
                "addresses": [ip], "conditions": {"ready": true}, "nodeName": "node-a",
                "zone": "z1", "targetRef": {"kind": "Pod", "name": "web-1"},
            })).collect::<Vec<_>>(),
        }))
        .unwrap()
    }

    #[test]
    fn stored_objects_keep_what_the_model_reads_and_nothing_else() {
        let store = CompactStore::<EndpointSlice>::new();
        store.apply(slice("web-a", &["10.42.0.5"]));
        let got = store.get("default", "web-a").unwrap();
        let labels = got.metadata.labels.clone().unwrap();
        assert_eq!(labels.len(), 1);
        assert_eq!(labels[SERVICE_NAME_LABEL], "web");
        assert!(got.metadata.managed_fields.is_none());
        assert!(got.metadata.owner_references.is_none());
        assert_eq!(got.ports, slice("x", &[]).ports);
        let Endpoint {
            addresses,
            conditions,
            node_name,
            target_ref,
            zone,
            ..
        } = &got.endpoints[0];
        assert_eq!(addresses, &["10.42.0.5"]);
        assert_eq!(conditions.as_ref().unwrap().ready, Some(true));
        assert_eq!(node_name.as_deref(), Some("node-a"));
        assert!(target_ref.is_none() && zone.is_none());
    }

    #[test]
    fn a_relist_replaces_the_objects_only_when_complete() {
        let store = CompactStore::<EndpointSlice>::new();
        store.apply(slice("old", &["10.42.0.5"]));
        store.relist_started();
        store.relist_object(slice("new", &["10.42.0.6"]));
        assert!(store.get("default", "old").is_some());
        assert!(store.get("default", "new").is_none());
        store.relisted();
        assert!(store.get("default", "old").is_none());
        assert_eq!(store.state().len(), 1);
        store.delete(&slice("new", &[]));
        assert!(store.is_empty());
    }

    #[tokio::test]
    async fn the_store_is_ready_after_its_first_list() {
        let store = CompactStore::<Service>::new();
        let waiting = tokio::spawn({
            let store = store.clone();
            async move { store.wait_until_ready().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        store.relist_started();
        store.relisted();
        waiting.await.unwrap();
    }
}
