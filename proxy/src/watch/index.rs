//! Which Services changed since the sync loop last looked, and which EndpointSlices belong to
//! each Service; pure, fed by the reflector events.

use std::collections::{BTreeSet, HashMap};

use k8s_openapi::api::discovery::v1::EndpointSlice;

use crate::model::ServiceKey;
use crate::sync::Dirty;

/// The dirty Services and the slice ↔ Service index.
#[derive(Debug, Default)]
pub struct WatchIndex {
    all: bool,
    dirty: BTreeSet<ServiceKey>,
    /// `(namespace, slice name)` → the Service its label named when last seen.
    slice_service: HashMap<(String, String), ServiceKey>,
    /// Service → names of its slices (same namespace).
    service_slices: HashMap<ServiceKey, BTreeSet<String>>,
}

impl WatchIndex {
    /// An empty index with nothing dirty.
    pub fn new() -> Self {
        Self::default()
    }

    /// A Service was added, changed or deleted.
    pub fn service_changed(&mut self, key: ServiceKey) {
        self.mark(key);
    }

    /// An EndpointSlice was added or changed: dirties the Service it names and, when its label
    /// changed, the one it named before.
    pub fn slice_applied(&mut self, slice: &EndpointSlice) {
        let id = slice_id(slice);
        let now = ServiceKey::of_slice(slice);
        let before = self.detach(&id);
        if let Some(key) = &now {
            self.service_slices
                .entry(key.clone())
                .or_default()
                .insert(id.1.clone());
            self.slice_service.insert(id, key.clone());
            self.mark(key.clone());
        }
        if let Some(before) = before {
            if Some(&before) != now.as_ref() {
                self.mark(before);
            }
        }
    }

    /// An EndpointSlice was deleted: dirties the Service it belonged to.
    pub fn slice_deleted(&mut self, slice: &EndpointSlice) {
        let id = slice_id(slice);
        if let Some(before) = self.detach(&id) {
            self.mark(before);
        }
        // The deleted object's own label, in case the index never saw it.
        if let Some(key) = ServiceKey::of_slice(slice) {
            self.mark(key);
        }
    }

    /// The slice store was relisted: rebuilds the index from `slices` and dirties everything.
    pub fn slices_relisted<'a>(&mut self, slices: impl IntoIterator<Item = &'a EndpointSlice>) {
        self.slice_service.clear();
        self.service_slices.clear();
        for slice in slices {
            if let Some(key) = ServiceKey::of_slice(slice) {
                let id = slice_id(slice);
                self.service_slices
                    .entry(key.clone())
                    .or_default()
                    .insert(id.1.clone());
                self.slice_service.insert(id, key);
            }
        }
        self.mark_all();
    }

    /// Everything may have changed (a relist).
    pub fn mark_all(&mut self) {
        self.all = true;
        self.dirty.clear();
    }

    /// Takes what changed since the last call.
    pub fn take_dirty(&mut self) -> Dirty {
        if std::mem::take(&mut self.all) {
            self.dirty.clear();
            Dirty::All
        } else {
            Dirty::Services(std::mem::take(&mut self.dirty))
        }
    }

    /// Names of the slices labelled with Service `key`, in the same namespace.
    pub fn slices_of(&self, key: &ServiceKey) -> Vec<String> {
        self.service_slices
            .get(key)
            .map(|names| names.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn mark(&mut self, key: ServiceKey) {
        if !self.all {
            self.dirty.insert(key);
        }
    }

    fn detach(&mut self, id: &(String, String)) -> Option<ServiceKey> {
        let before = self.slice_service.remove(id)?;
        if let Some(names) = self.service_slices.get_mut(&before) {
            names.remove(&id.1);
            if names.is_empty() {
                self.service_slices.remove(&before);
            }
        }
        Some(before)
    }
}

fn slice_id(slice: &EndpointSlice) -> (String, String) {
    (
        slice.metadata.namespace.clone().unwrap_or_default(),
        slice.metadata.name.clone().unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn slice(name: &str, service: Option<&str>) -> EndpointSlice {
        let labels = service.map(|s| json!({"kubernetes.io/service-name": s}));
        serde_json::from_value(json!({
            "metadata": {"namespace": "default", "name": name, "labels": labels},
            "addressType": "IPv4",
            "endpoints": [],
        }))
        .unwrap()
    }

    fn key(name: &str) -> ServiceKey {
        ServiceKey::new("default", name)
    }

    fn dirty(keys: &[&str]) -> Dirty {
        Dirty::Services(keys.iter().map(|k| key(k)).collect())
    }

    #[test]
    fn a_service_event_dirties_that_service_once() {
        let mut index = WatchIndex::new();
        index.service_changed(key("web"));
        index.service_changed(key("web"));
        assert_eq!(index.take_dirty(), dirty(&["web"]));
        assert_eq!(index.take_dirty(), dirty(&[]));
    }

    #[test]
    fn a_slice_moved_between_services_dirties_both_and_moves_in_the_index() {
        let mut index = WatchIndex::new();
        index.slice_applied(&slice("s1", Some("web")));
        index.slice_applied(&slice("s2", Some("web")));
        assert_eq!(index.take_dirty(), dirty(&["web"]));
        assert_eq!(index.slices_of(&key("web")), ["s1", "s2"]);

        index.slice_applied(&slice("s1", Some("db")));
        assert_eq!(index.take_dirty(), dirty(&["db", "web"]));
        assert_eq!(index.slices_of(&key("web")), ["s2"]);
        assert_eq!(index.slices_of(&key("db")), ["s1"]);

        index.slice_applied(&slice("s1", None));
        assert_eq!(index.take_dirty(), dirty(&["db"]));
        assert!(index.slices_of(&key("db")).is_empty());
    }

    #[test]
    fn a_deleted_slice_dirties_its_service_and_leaves_the_index() {
        let mut index = WatchIndex::new();
        index.slice_applied(&slice("s1", Some("web")));
        index.take_dirty();
        index.slice_deleted(&slice("s1", Some("web")));
        assert_eq!(index.take_dirty(), dirty(&["web"]));
        assert!(index.slices_of(&key("web")).is_empty());
    }

    #[test]
    fn a_relist_rebuilds_the_index_and_dirties_everything() {
        let mut index = WatchIndex::new();
        index.slice_applied(&slice("old", Some("web")));
        let listed = [slice("s1", Some("db")), slice("s2", None)];
        index.slices_relisted(listed.iter());
        index.slice_applied(&slice("s3", Some("web")));
        assert_eq!(index.take_dirty(), Dirty::All);
        assert_eq!(index.slices_of(&key("db")), ["s1"]);
        assert_eq!(index.slices_of(&key("web")), ["s3"]);
        assert_eq!(index.take_dirty(), dirty(&[]));
    }
}
