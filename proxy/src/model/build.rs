//! The whole model from Services, EndpointSlices and the node, and one Service's ports: the
//! full build and the per-service rebuild of [`super::ModelTracker`] share
//! [`service_ports_with_endpoints`].

use std::borrow::Borrow;
use std::collections::HashMap;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::{endpoints, service, ModelWarning, NodeContext, ServiceKey, ServiceModel, ServicePort};

/// The label tying an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// Builds the service model; pure. Parts that cannot be used are skipped and returned as
/// warnings.
pub fn build(
    services: &[Service],
    slices: &[EndpointSlice],
    node: &NodeContext,
) -> (ServiceModel, Vec<ModelWarning>) {
    let by_service = group_slices(slices);
    let mut model = ServiceModel::default();
    let mut warnings = Vec::new();
    for svc in services {
        let slices = by_service
            .get(&ServiceKey::of_service(svc))
            .map(Vec::as_slice)
            .unwrap_or_default();
        for port in service_ports_with_endpoints(Some(svc), slices, node, &mut warnings) {
            model.ports.insert(port.name.clone(), port);
        }
    }
    (model, warnings)
}

/// The slices grouped by the Service their label names; slices without the label are left out.
pub(crate) fn group_slices<S>(slices: &[S]) -> HashMap<ServiceKey, Vec<&EndpointSlice>>
where
    S: Borrow<EndpointSlice>,
{
    let mut by_service: HashMap<ServiceKey, Vec<&EndpointSlice>> = HashMap::new();
    for slice in slices {
        let slice = slice.borrow();
        if let Some(key) = ServiceKey::of_slice(slice) {
            by_service.entry(key).or_default().push(slice);
        }
    }
    by_service
}

/// One Service's ports with their endpoints chosen from `slices` (the slices labelled with the
/// Service, in any order); none when the Service is absent.
pub(crate) fn service_ports_with_endpoints(
    svc: Option<&Service>,
    slices: &[&EndpointSlice],
    node: &NodeContext,
    warnings: &mut Vec<ModelWarning>,
) -> Vec<ServicePort> {
    let Some(svc) = svc else {
        return Vec::new();
    };
    let mut ports = service::service_ports(svc, warnings);
    if ports.is_empty() {
        return ports;
    }
    // Deterministic: slices in name order, whatever order the store returned.
    let mut slices = slices.to_vec();
    slices.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    for port in &mut ports {
        let eps = endpoints::gather(port, &slices, node, warnings);
        endpoints::categorize(port, &eps);
    }
    ports
}
