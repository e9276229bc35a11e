//! The whole model from Services, EndpointSlices and the node.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::{endpoints, service, ModelWarning, NodeContext, ServiceModel};

/// The label tying an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// Builds the service model; pure. Parts that cannot be used are skipped and returned as
/// warnings.
pub fn build(
    services: &[Service],
    slices: &[EndpointSlice],
    node: &NodeContext,
) -> (ServiceModel, Vec<ModelWarning>) {
    let mut by_service: HashMap<(&str, &str), Vec<&EndpointSlice>> = HashMap::new();
    for slice in slices {
        let namespace = slice.metadata.namespace.as_deref().unwrap_or_default();
        let Some(svc) = slice
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(SERVICE_NAME_LABEL))
        else {
            continue;
        };
        by_service
            .entry((namespace, svc.as_str()))
            .or_default()
            .push(slice);
    }
    // Deterministic: slices in name order, whatever order the store returned.
    for list in by_service.values_mut() {
        list.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    }

    let mut model = ServiceModel::default();
    let mut warnings = Vec::new();
    for svc in services {
        let key = (
            svc.metadata.namespace.as_deref().unwrap_or_default(),
            svc.metadata.name.as_deref().unwrap_or_default(),
        );
        let slices = by_service.get(&key).map(Vec::as_slice).unwrap_or_default();
        for mut port in service::service_ports(svc, &mut warnings) {
            let eps = endpoints::gather(&port, slices, node, &mut warnings);
            endpoints::categorize(&mut port, &eps);
            model.ports.insert(port.name.clone(), port);
        }
    }
    (model, warnings)
}
