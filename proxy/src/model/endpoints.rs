//! Endpoints of a service port: gathered from its EndpointSlices, then chosen for cluster and
//! external traffic exactly as kube-proxy's `CategorizeEndpoints` (pkg/proxy/topology.go, 1.28+).
//!
//! Topology hints (`hints.forZones`, `trafficDistribution`) are ignored: every ready endpoint is
//! eligible for cluster traffic regardless of zone.

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::service::parse_protocol;
use super::{Endpoint, Endpoints, ModelWarning, NodeContext, ServicePort};

/// Every endpoint the slices list for `port` (matched by port name and protocol), deduplicated by
/// (ip, port): when slices disagree, a ready copy wins over a not-ready one.
pub fn gather(
    port: &ServicePort,
    slices: &[&EndpointSlice],
    node: &NodeContext,
    warnings: &mut Vec<ModelWarning>,
) -> Vec<Endpoint> {
    let mut found: BTreeMap<(IpAddr, u16), Endpoint> = BTreeMap::new();
    for slice in slices {
        if slice.address_type == "FQDN" {
            continue;
        }
        let Some(target) = slice_port(slice, port) else {
            continue;
        };
        for ep in &slice.endpoints {
            // kube-proxy uses the first address only; the API says all are fungible.
            let Some(address) = ep.addresses.first() else {
                continue;
            };
            let Ok(ip) = address.parse::<IpAddr>() else {
                warnings.push(ModelWarning::BadEndpointAddress {
                    slice: format!(
                        "{}/{}",
                        slice.metadata.namespace.as_deref().unwrap_or_default(),
                        slice.metadata.name.as_deref().unwrap_or_default()
                    ),
                    address: address.clone(),
                });
                continue;
            };
            let cond = ep.conditions.as_ref();
            let ready = cond.and_then(|c| c.ready).unwrap_or(true);
            let endpoint = Endpoint {
                ip,
                port: target,
                ready,
                serving: cond.and_then(|c| c.serving).unwrap_or(ready),
                terminating: cond.and_then(|c| c.terminating).unwrap_or(false),
                local: !node.name.is_empty() && ep.node_name.as_deref() == Some(&node.name),
            };
            let key = (ip, target);
            if ready || !found.contains_key(&key) {
                found.insert(key, endpoint);
            }
        }
    }
    found.into_values().collect()
}

/// The slice's target port number for `port`, if the slice carries it.
fn slice_port(slice: &EndpointSlice, port: &ServicePort) -> Option<u16> {
    slice.ports.iter().flatten().find_map(|p| {
        let name_matches = p.name.as_deref().unwrap_or_default() == port.name.port;
        let protocol = parse_protocol(p.protocol.as_deref().unwrap_or("TCP"));
        if !name_matches || protocol != Some(port.protocol) {
            return None;
        }
        p.port
            .and_then(|n| u16::try_from(n).ok())
            .filter(|n| *n != 0)
    })
}

/// Fills `cluster_endpoints`, `external_endpoints` and `local_ready_endpoints` of `port` from
/// `endpoints`, by kube-proxy's rules.
pub fn categorize(port: &mut ServicePort, endpoints: &[Endpoint]) {
    // kube-proxy computes each list only when a policy uses it; computing both always gives
    // the same result for the lists that are used.
    let cluster: Endpoints = ready_else_serving_terminating(endpoints, |_| true).into();
    let local: Endpoints = ready_else_serving_terminating(endpoints, |e| e.local).into();
    port.local_ready_endpoints = endpoints.iter().filter(|e| e.local && e.ready).count();
    // Clones of one list share it.
    port.cluster_endpoints = if port.internal_local {
        local.clone()
    } else {
        cluster.clone()
    };
    port.external_endpoints = if port.external_local { local } else { cluster };
}

/// The ready endpoints among those `eligible`; when there are none, the ones still serving while
/// terminating.
fn ready_else_serving_terminating(
    endpoints: &[Endpoint],
    eligible: impl Fn(&Endpoint) -> bool,
) -> Vec<Endpoint> {
    let ready = pick(endpoints, |e| eligible(e) && e.ready);
    if ready.is_empty() {
        pick(endpoints, |e| eligible(e) && e.serving && e.terminating)
    } else {
        ready
    }
}

fn pick(endpoints: &[Endpoint], keep: impl Fn(&Endpoint) -> bool) -> Vec<Endpoint> {
    endpoints.iter().filter(|e| keep(e)).cloned().collect()
}
