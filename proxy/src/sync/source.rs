//! Where the sync loop reads Services and EndpointSlices: everything at once for a full
//! rebuild, or one Service's objects for the Services that changed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

use crate::model::ServiceKey;
use crate::watch::WatchIndex;

/// Which Services changed since the loop last looked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dirty {
    /// Any Service may have changed (the objects were relisted).
    All,
    /// Only these Services changed (a Service or one of its slices was added, changed or
    /// deleted).
    Services(BTreeSet<ServiceKey>),
}

/// One Service's objects, shared with the store that holds them.
#[derive(Debug, Clone, Default)]
pub struct ServiceObjects {
    /// The Service; `None` when it does not exist (any more).
    pub service: Option<Arc<Service>>,
    /// The EndpointSlices labelled with the Service.
    pub slices: Vec<Arc<EndpointSlice>>,
}

/// Where the loop reads the current Services and EndpointSlices.
pub trait ObjectSource: Send + Sync {
    /// Every Service and every EndpointSlice, as last seen; shared, not copied.
    fn snapshot(&self) -> (Vec<Arc<Service>>, Vec<Arc<EndpointSlice>>);

    /// Takes the Services changed since the last call. A change made after this call is
    /// reported by the next one, so reading objects after taking never misses a change.
    fn take_dirty(&self) -> Dirty;

    /// Service `key` and its EndpointSlices, as last seen.
    fn service(&self, key: &ServiceKey) -> ServiceObjects;
}

/// An in-memory [`ObjectSource`] tracking changes like the watchers do; for tests and
/// benchmarks.
#[derive(Debug, Default)]
pub struct MemorySource(Mutex<MemoryState>);

#[derive(Debug, Default)]
struct MemoryState {
    services: BTreeMap<ServiceKey, Arc<Service>>,
    slices: BTreeMap<(String, String), Arc<EndpointSlice>>,
    index: WatchIndex,
}

impl MemorySource {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces every object, as a relist does (everything dirty).
    pub fn replace_all(&self, services: Vec<Service>, slices: Vec<EndpointSlice>) {
        let mut state = self.lock();
        state.services = services
            .into_iter()
            .map(|s| (ServiceKey::of_service(&s), Arc::new(s)))
            .collect();
        state.slices = slices
            .into_iter()
            .map(|s| (slice_id(&s), Arc::new(s)))
            .collect();
        let MemoryState { slices, index, .. } = &mut *state;
        index.slices_relisted(slices.values().map(|s| &**s));
    }

    /// Adds or replaces a Service.
    pub fn apply_service(&self, svc: Service) {
        let key = ServiceKey::of_service(&svc);
        let mut state = self.lock();
        state.services.insert(key.clone(), Arc::new(svc));
        state.index.service_changed(key);
    }

    /// Deletes a Service.
    pub fn delete_service(&self, key: &ServiceKey) {
        let mut state = self.lock();
        state.services.remove(key);
        state.index.service_changed(key.clone());
    }

    /// Adds or replaces an EndpointSlice.
    pub fn apply_slice(&self, slice: EndpointSlice) {
        let mut state = self.lock();
        state.index.slice_applied(&slice);
        state.slices.insert(slice_id(&slice), Arc::new(slice));
    }

    /// Deletes EndpointSlice `namespace/name`.
    pub fn delete_slice(&self, namespace: &str, name: &str) {
        let mut state = self.lock();
        if let Some(slice) = state.slices.remove(&(namespace.into(), name.into())) {
            state.index.slice_deleted(&slice);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ObjectSource for MemorySource {
    fn snapshot(&self) -> (Vec<Arc<Service>>, Vec<Arc<EndpointSlice>>) {
        let state = self.lock();
        (
            state.services.values().cloned().collect(),
            state.slices.values().cloned().collect(),
        )
    }

    fn take_dirty(&self) -> Dirty {
        self.lock().index.take_dirty()
    }

    fn service(&self, key: &ServiceKey) -> ServiceObjects {
        let state = self.lock();
        let slices = state
            .index
            .slices_of(key)
            .into_iter()
            .filter_map(|name| state.slices.get(&(key.namespace.clone(), name)).cloned())
            .filter(|s| ServiceKey::of_slice(s).as_ref() == Some(key))
            .collect();
        ServiceObjects {
            service: state.services.get(key).cloned(),
            slices,
        }
    }
}

fn slice_id(slice: &EndpointSlice) -> (String, String) {
    (
        slice.metadata.namespace.clone().unwrap_or_default(),
        slice.metadata.name.clone().unwrap_or_default(),
    )
}
