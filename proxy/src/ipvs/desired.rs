//! The model turned into what the IPVS dataplane should program: virtual servers, the
//! addresses bound on the dummy interface, and the masquerade table's sets. Pure.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::state::{DesiredService, DesiredServices, RealKey, VirtualKey, VirtualSpec};
use crate::dataplane::PortFailure;
use crate::model::{Endpoint, ServiceModel, ServicePort, ServicePortName};

/// Everything one model asks of the IPVS dataplane.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpvsDesired {
    /// Virtual servers.
    pub services: DesiredServices,
    /// Which service port owns each virtual server.
    pub owners: BTreeMap<VirtualKey, ServicePortName>,
    /// Addresses to bind on the dummy interface (cluster, external and load-balancer IPs).
    pub vips: BTreeSet<IpAddr>,
    /// Cluster-IP virtual servers (masqueraded when from outside the cluster CIDRs).
    pub cluster_vips: BTreeSet<VirtualKey>,
    /// Node-port, external and load-balancer virtual servers with
    /// `externalTrafficPolicy: Cluster` (always masqueraded).
    pub external_vips: BTreeSet<VirtualKey>,
    /// Endpoint addresses, for hairpin masquerade (an endpoint reaching itself).
    pub endpoint_ips: BTreeSet<IpAddr>,
    /// Service ports that could not be programmed.
    pub failures: Vec<PortFailure>,
}

/// Builds the desired state: `scheduler` for every virtual server, node ports on `node_ips`.
pub fn desired(model: &ServiceModel, scheduler: &str, node_ips: &[IpAddr]) -> IpvsDesired {
    let mut out = IpvsDesired::default();
    for port in model.ports.values() {
        if port.cluster_ips.is_empty() {
            continue;
        }
        let spec = VirtualSpec {
            scheduler: scheduler.to_string(),
            persistence: port
                .affinity_timeout
                .map(|t| t.as_secs().clamp(1, u32::MAX as u64) as u32),
        };
        let mut wanted: Vec<(VirtualKey, &[Endpoint], Kind)> = Vec::new();
        for ip in &port.cluster_ips {
            wanted.push((
                key(port, *ip, port.port),
                &port.cluster_endpoints,
                Kind::Cluster,
            ));
        }
        for ip in port.external_ips.iter().chain(&port.load_balancer_ips) {
            wanted.push((
                key(port, *ip, port.port),
                &port.external_endpoints,
                Kind::External,
            ));
        }
        if let Some(node_port) = port.node_port {
            for ip in node_ips {
                wanted.push((
                    key(port, *ip, node_port),
                    &port.external_endpoints,
                    Kind::NodePort,
                ));
            }
        }
        if let Some(clash) = wanted
            .iter()
            .find_map(|(k, _, _)| out.owners.get(k).map(|owner| (*k, owner.clone())))
        {
            out.failures.push(PortFailure {
                name: port.name.clone(),
                reason: format!(
                    "{} {}:{} is already used by {}",
                    clash.0.protocol.name(),
                    clash.0.addr,
                    clash.0.port,
                    clash.1
                ),
            });
            continue;
        }
        for (k, endpoints, kind) in wanted {
            let reals = endpoints
                .iter()
                .filter(|e| e.ip.is_ipv4() == k.addr.is_ipv4())
                .map(|e| RealKey {
                    addr: e.ip,
                    port: e.port,
                })
                .collect();
            out.endpoint_ips
                .extend(endpoints.iter().map(|e| e.ip).filter(|ip| ip.is_ipv4()));
            match kind {
                Kind::Cluster => {
                    out.vips.insert(k.addr);
                    out.cluster_vips.insert(k);
                }
                Kind::External => {
                    out.vips.insert(k.addr);
                    if !port.external_local {
                        out.external_vips.insert(k);
                    }
                }
                Kind::NodePort => {
                    if !port.external_local {
                        out.external_vips.insert(k);
                    }
                }
            }
            out.owners.insert(k, port.name.clone());
            out.services.insert(
                k,
                DesiredService {
                    spec: spec.clone(),
                    reals,
                },
            );
        }
    }
    out
}

#[derive(Clone, Copy)]
enum Kind {
    Cluster,
    External,
    NodePort,
}

fn key(port: &ServicePort, addr: IpAddr, number: u16) -> VirtualKey {
    VirtualKey {
        protocol: port.protocol,
        addr,
        port: number,
    }
}
