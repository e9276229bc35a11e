//! The model kept up to date one Service at a time: rebuilding a Service replaces exactly its
//! ports and says which port names changed, so a sync costs work proportional to the change.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::build::{group_slices, service_ports_with_endpoints, SERVICE_NAME_LABEL};
use super::{ModelWarning, NodeContext, ServiceModel, ServicePortName};

/// Names one Service: `namespace/name`; its EndpointSlices carry the name in their label.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceKey {
    /// The Service's namespace.
    pub namespace: String,
    /// The Service's name.
    pub name: String,
}

impl ServiceKey {
    /// The key of `namespace/name`.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// The key of a Service object.
    pub fn of_service(svc: &Service) -> Self {
        Self::new(
            svc.metadata.namespace.as_deref().unwrap_or_default(),
            svc.metadata.name.as_deref().unwrap_or_default(),
        )
    }

    /// The Service an EndpointSlice belongs to (its `kubernetes.io/service-name` label).
    pub fn of_slice(slice: &EndpointSlice) -> Option<Self> {
        let service = slice.metadata.labels.as_ref()?.get(SERVICE_NAME_LABEL)?;
        Some(Self::new(
            slice.metadata.namespace.as_deref().unwrap_or_default(),
            service.as_str(),
        ))
    }
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The current [`ServiceModel`], which ports each Service produced, and each Service's
/// warnings; pure.
#[derive(Debug, Clone, Default)]
pub struct ModelTracker {
    node: NodeContext,
    model: ServiceModel,
    ports_by_service: BTreeMap<ServiceKey, Vec<ServicePortName>>,
    warnings: BTreeMap<ServiceKey, Vec<ModelWarning>>,
    fresh: Vec<ModelWarning>,
}

impl ModelTracker {
    /// An empty model for `node`.
    pub fn new(node: NodeContext) -> Self {
        Self {
            node,
            ..Self::default()
        }
    }

    /// The current model.
    pub fn model(&self) -> &ServiceModel {
        &self.model
    }

    /// The warnings of one Service's last rebuild.
    pub fn service_warnings(&self, key: &ServiceKey) -> &[ModelWarning] {
        self.warnings
            .get(key)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Every current warning, by Service key order.
    pub fn warnings(&self) -> impl Iterator<Item = &ModelWarning> {
        self.warnings.values().flatten()
    }

    /// Warnings that appeared since the last call (a Service's warning already present before
    /// its rebuild is not repeated); for logging each once.
    pub fn take_new_warnings(&mut self) -> Vec<ModelWarning> {
        std::mem::take(&mut self.fresh)
    }

    /// Rebuilds the ports of Service `key` from `service` (`None` when it no longer exists)
    /// and the EndpointSlices labelled with it; returns the port names added, removed or
    /// changed.
    pub fn update_service<S>(
        &mut self,
        key: &ServiceKey,
        service: Option<&Service>,
        slices: &[S],
    ) -> BTreeSet<ServicePortName>
    where
        S: Borrow<EndpointSlice>,
    {
        let slices: Vec<&EndpointSlice> = slices.iter().map(Borrow::borrow).collect();
        let mut warnings = Vec::new();
        let ports = service_ports_with_endpoints(service, &slices, &self.node, &mut warnings);

        let mut changed = BTreeSet::new();
        let old_names = self.ports_by_service.remove(key).unwrap_or_default();
        let mut old: BTreeMap<ServicePortName, _> = old_names
            .into_iter()
            .filter_map(|name| self.model.ports.remove_entry(&name))
            .collect();
        let mut names = Vec::with_capacity(ports.len());
        for port in ports {
            if old.remove(&port.name).as_ref() != Some(&port) {
                changed.insert(port.name.clone());
            }
            names.push(port.name.clone());
            self.model.ports.insert(port.name.clone(), port);
        }
        changed.extend(old.into_keys());
        if !names.is_empty() {
            self.ports_by_service.insert(key.clone(), names);
        }
        self.record_warnings(key, warnings);
        changed
    }

    /// Rebuilds everything from every Service and EndpointSlice (the dataplane then compares
    /// every port: `Changes::All`); the result equals [`super::build`]'s model.
    pub fn rebuild_all<V, S>(&mut self, services: &[V], slices: &[S])
    where
        V: Borrow<Service>,
        S: Borrow<EndpointSlice>,
    {
        let by_service = group_slices(slices);
        let previous = std::mem::take(&mut self.warnings);
        self.model = ServiceModel::default();
        self.ports_by_service.clear();
        for svc in services {
            let svc = svc.borrow();
            let key = ServiceKey::of_service(svc);
            let slices = by_service.get(&key).map(Vec::as_slice).unwrap_or_default();
            let mut warnings = Vec::new();
            let ports = service_ports_with_endpoints(Some(svc), slices, &self.node, &mut warnings);
            let names = ports.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
            for port in ports {
                self.model.ports.insert(port.name.clone(), port);
            }
            if !names.is_empty() {
                self.ports_by_service.insert(key.clone(), names);
            }
            let known = previous.get(&key).map(Vec::as_slice).unwrap_or_default();
            self.fresh
                .extend(warnings.iter().filter(|w| !known.contains(w)).cloned());
            if !warnings.is_empty() {
                self.warnings.insert(key, warnings);
            }
        }
    }

    fn record_warnings(&mut self, key: &ServiceKey, warnings: Vec<ModelWarning>) {
        let known = self.service_warnings(key);
        let fresh: Vec<ModelWarning> = warnings
            .iter()
            .filter(|w| !known.contains(w))
            .cloned()
            .collect();
        self.fresh.extend(fresh);
        if warnings.is_empty() {
            self.warnings.remove(key);
        } else {
            self.warnings.insert(key.clone(), warnings);
        }
    }
}
