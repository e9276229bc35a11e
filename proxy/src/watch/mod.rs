//! Watching the API server: watchers over Services and EndpointSlices in every namespace,
//! feeding compact stores the sync loop reads, recording which Services each change touches
//! and signalling the loop; and the node's identity from its Node object.

mod index;
mod node;
mod store;

use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client};
use tokio::task::JoinHandle;

use crate::model::ServiceKey;
use crate::sync::{Dirty, ObjectSource, ServiceObjects, SyncTrigger};

pub use index::WatchIndex;
pub use node::{node_context, node_ips, NodeLookupError};
pub use store::{CompactStore, Pruned};

/// The watched Services and EndpointSlices, and which Services changed.
#[derive(Clone)]
pub struct Stores {
    services: CompactStore<Service>,
    slices: CompactStore<EndpointSlice>,
    index: Arc<Mutex<WatchIndex>>,
}

impl Stores {
    /// Waits until both stores hold their initial lists.
    pub async fn wait_ready(&self) {
        self.services.wait_until_ready().await;
        self.slices.wait_until_ready().await;
    }

    fn index(&self) -> std::sync::MutexGuard<'_, WatchIndex> {
        lock(&self.index)
    }
}

fn lock(index: &Mutex<WatchIndex>) -> std::sync::MutexGuard<'_, WatchIndex> {
    index.lock().unwrap_or_else(|e| e.into_inner())
}

impl ObjectSource for Stores {
    fn snapshot(&self) -> (Vec<Arc<Service>>, Vec<Arc<EndpointSlice>>) {
        (self.services.state(), self.slices.state())
    }

    fn take_dirty(&self) -> Dirty {
        self.index().take_dirty()
    }

    fn service(&self, key: &ServiceKey) -> ServiceObjects {
        let names = self.index().slices_of(key);
        let slices = names
            .iter()
            .filter_map(|name| self.slices.get(&key.namespace, name))
            // The index may lag the store by one event; that event dirties the Service again.
            .filter(|s| ServiceKey::of_slice(s).as_ref() == Some(key))
            .collect();
        ServiceObjects {
            service: self.services.get(&key.namespace, &key.name),
            slices,
        }
    }
}

/// Starts the watchers on the current tokio runtime; every change is recorded in the index
/// and notifies `trigger`.
pub fn start(client: Client, trigger: SyncTrigger) -> (Stores, Vec<JoinHandle<()>>) {
    let index = Arc::new(Mutex::new(WatchIndex::new()));
    let stores = Stores {
        services: CompactStore::new(),
        slices: CompactStore::new(),
        index: index.clone(),
    };
    let service_index = index.clone();
    let slice_index = index;
    let slice_store = stores.slices.clone();
    let tasks = vec![
        tokio::spawn(reflect(
            Api::<Service>::all(client.clone()),
            stores.services.clone(),
            trigger.clone(),
            "services",
            move |event: &watcher::Event<Service>| {
                let mut index = lock(&service_index);
                match event {
                    watcher::Event::Apply(svc) | watcher::Event::Delete(svc) => {
                        index.service_changed(ServiceKey::of_service(svc));
                    }
                    watcher::Event::InitDone => index.mark_all(),
                    watcher::Event::Init | watcher::Event::InitApply(_) => {}
                }
            },
        )),
        tokio::spawn(reflect(
            Api::<EndpointSlice>::all(client),
            stores.slices.clone(),
            trigger,
            "endpointslices",
            move |event: &watcher::Event<EndpointSlice>| {
                let mut index = lock(&slice_index);
                match event {
                    watcher::Event::Apply(slice) => index.slice_applied(slice),
                    watcher::Event::Delete(slice) => index.slice_deleted(slice),
                    // The store swapped in the relisted objects at InitDone.
                    watcher::Event::InitDone => {
                        let listed = slice_store.state();
                        index.slices_relisted(listed.iter().map(|s| &**s));
                    }
                    watcher::Event::Init | watcher::Event::InitApply(_) => {}
                }
            },
        )),
    ];
    (stores, tasks)
}

async fn reflect<K>(
    api: Api<K>,
    store: CompactStore<K>,
    trigger: SyncTrigger,
    resource: &'static str,
    record: impl Fn(&watcher::Event<K>) + Send + 'static,
) where
    K: kube::Resource<DynamicType = ()> + Pruned + Clone + std::fmt::Debug,
{
    let stream = watcher(api, watcher::Config::default()).default_backoff();
    let mut stream = std::pin::pin!(stream);
    while let Some(event) = stream.next().await {
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(resource, %error, "watch failed; retrying");
                continue;
            }
        };
        // Each event reaches the store before the index records it, so by the time the loop
        // reads a dirty Service the store holds the change. A relist is applied as a whole at
        // InitDone; the pieces before are not yet the new state.
        match event {
            watcher::Event::Init => store.relist_started(),
            watcher::Event::InitApply(object) => store.relist_object(object),
            watcher::Event::InitDone => {
                store.relisted();
                record(&watcher::Event::InitDone);
                trigger.notify();
            }
            watcher::Event::Apply(mut object) => {
                // Pruned first: the index reads only names and the service label, so the copy
                // it is given is the small one.
                object.prune();
                let event = watcher::Event::Apply(object.clone());
                store.apply(object);
                record(&event);
                trigger.notify();
            }
            watcher::Event::Delete(object) => {
                store.delete(&object);
                record(&watcher::Event::Delete(object));
                trigger.notify();
            }
        }
    }
}
