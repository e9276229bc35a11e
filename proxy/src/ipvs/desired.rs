//! The model turned into what the IPVS dataplane should program: virtual servers, the
//! addresses bound on the dummy interface, and the masquerade table's sets. Pure.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::state::{DesiredService, DesiredServices, RealKey, VirtualKey, VirtualSpec};
use crate::dataplane::PortFailure;
use crate::model::{Endpoint, ServiceModel, ServicePort, ServicePortName};

/// What one service port asks of the IPVS dataplane.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortDesired {
    /// Its virtual servers.
    pub services: Vec<(VirtualKey, DesiredService)>,
    /// Addresses to bind on the dummy interface (cluster, external and load-balancer IPs).
    pub vips: Vec<IpAddr>,
    /// The virtual servers on those addresses (not the node ports).
    pub vip_keys: Vec<VirtualKey>,
    /// Cluster-IP virtual servers (masqueraded when from outside the cluster CIDRs).
    pub cluster_vips: Vec<VirtualKey>,
    /// Node-port, external and load-balancer virtual servers with
    /// `externalTrafficPolicy: Cluster` (always masqueraded).
    pub external_vips: Vec<VirtualKey>,
    /// Addresses of endpoints on this node (of the virtual servers' families), for hairpin masquerade.
    pub endpoint_ips: BTreeSet<IpAddr>,
}

/// Everything one model asks of the IPVS dataplane.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpvsDesired {
    /// Virtual servers.
    pub services: DesiredServices,
    /// Which service port owns each virtual server.
    pub owners: BTreeMap<VirtualKey, ServicePortName>,
    /// Addresses to bind on the dummy interface.
    pub vips: BTreeSet<IpAddr>,
    /// Cluster-IP virtual servers.
    pub cluster_vips: BTreeSet<VirtualKey>,
    /// Virtual servers whose traffic is always masqueraded.
    pub external_vips: BTreeSet<VirtualKey>,
    /// Endpoint addresses.
    pub endpoint_ips: BTreeSet<IpAddr>,
    /// Service ports that could not be programmed.
    pub failures: Vec<PortFailure>,
}

/// The virtual servers of one port: `scheduler` for each, node ports on `node_ips`; `None`
/// for a headless port.
pub fn port_desired(
    port: &ServicePort,
    scheduler: &str,
    node_ips: &[IpAddr],
) -> Option<PortDesired> {
    if port.cluster_ips.is_empty() {
        return None;
    }
    let spec = VirtualSpec {
        scheduler: scheduler.into(),
        persistence: port
            .affinity_timeout
            .map(|t| t.as_secs().clamp(1, u32::MAX as u64) as u32),
    };
    let mut out = PortDesired::default();
    let add = |out: &mut PortDesired, k: VirtualKey, endpoints: &[Endpoint]| {
        let reals = endpoints
            .iter()
            .filter(|e| e.ip.is_ipv4() == k.addr.is_ipv4())
            .map(|e| RealKey {
                addr: e.ip,
                port: e.port,
            })
            .collect();
        // Only an endpoint on this node can reach itself through a service here.
        out.endpoint_ips.extend(
            endpoints
                .iter()
                .filter(|e| e.local && e.ip.is_ipv4() == k.addr.is_ipv4())
                .map(|e| e.ip),
        );
        out.services.push((k, DesiredService { spec, reals }));
    };
    for ip in &port.cluster_ips {
        let k = key(port, *ip, port.port);
        add(&mut out, k, &port.cluster_endpoints);
        out.vips.push(*ip);
        out.vip_keys.push(k);
        out.cluster_vips.push(k);
    }
    for ip in port.external_ips.iter().chain(&port.load_balancer_ips) {
        let k = key(port, *ip, port.port);
        add(&mut out, k, &port.external_endpoints);
        out.vips.push(*ip);
        out.vip_keys.push(k);
        if !port.external_local {
            out.external_vips.push(k);
        }
    }
    if let Some(node_port) = port.node_port {
        // Node ports answer in the service's own families only.
        let families: Vec<bool> = port.cluster_ips.iter().map(IpAddr::is_ipv4).collect();
        for ip in node_ips
            .iter()
            .filter(|ip| families.contains(&ip.is_ipv4()))
        {
            let k = key(port, *ip, node_port);
            add(&mut out, k, &port.external_endpoints);
            if !port.external_local {
                out.external_vips.push(k);
            }
        }
    }
    Some(out)
}

/// The failure of a port whose virtual server `key` another port (`owner`) holds.
pub fn clash(port: &ServicePortName, key: &VirtualKey, owner: &ServicePortName) -> PortFailure {
    PortFailure {
        name: port.clone(),
        reason: format!(
            "{} {}:{} is already used by {owner}",
            key.protocol.name(),
            key.addr,
            key.port
        ),
    }
}

/// Builds the whole desired state of `model` at once.
pub fn desired(model: &ServiceModel, scheduler: &str, node_ips: &[IpAddr]) -> IpvsDesired {
    let mut out = IpvsDesired::default();
    for port in model.ports.values() {
        let Some(p) = port_desired(port, scheduler, node_ips) else {
            continue;
        };
        if let Some((k, owner)) = p
            .services
            .iter()
            .find_map(|(k, _)| out.owners.get(k).map(|o| (k, o)))
        {
            out.failures.push(clash(&port.name, k, owner));
            continue;
        }
        for (k, svc) in p.services {
            out.owners.insert(k, port.name.clone());
            out.services.insert(k, svc);
        }
        out.vips.extend(p.vips);
        out.cluster_vips.extend(p.cluster_vips);
        out.external_vips.extend(p.external_vips);
        out.endpoint_ips.extend(p.endpoint_ips);
    }
    out
}

fn key(port: &ServicePort, addr: IpAddr, number: u16) -> VirtualKey {
    VirtualKey {
        protocol: port.protocol,
        addr,
        port: number,
    }
}
