//! One Service's ports, before endpoints: addresses, node ports, affinity and traffic policies.

use std::net::IpAddr;
use std::time::Duration;

use k8s_openapi::api::core::v1::Service;

use super::{Endpoints, ModelWarning, Protocol, ServicePort, ServicePortName};

/// kube-proxy's default ClientIP affinity timeout (3 hours).
pub const DEFAULT_AFFINITY_TIMEOUT: Duration = Duration::from_secs(10800);

/// The ports of `svc` the dataplane must program, with empty endpoint lists; none for headless
/// and ExternalName Services.
pub fn service_ports(svc: &Service, warnings: &mut Vec<ModelWarning>) -> Vec<ServicePort> {
    let namespace = svc.metadata.namespace.clone().unwrap_or_default();
    let name = svc.metadata.name.clone().unwrap_or_default();
    let id = format!("{namespace}/{name}");
    let Some(spec) = svc.spec.as_ref() else {
        return Vec::new();
    };
    if spec.type_.as_deref() == Some("ExternalName") {
        return Vec::new();
    }
    let raw_cluster_ips: Vec<String> = match &spec.cluster_ips {
        Some(ips) if !ips.is_empty() => ips.clone(),
        _ => spec.cluster_ip.iter().cloned().collect(),
    };
    if raw_cluster_ips.is_empty() || raw_cluster_ips.iter().any(|ip| ip == "None") {
        return Vec::new();
    }
    let cluster_ips = parse_ips(&id, "clusterIPs", &raw_cluster_ips, warnings);
    if cluster_ips.is_empty() {
        return Vec::new();
    }
    let external_ips = parse_ips(
        &id,
        "externalIPs",
        spec.external_ips.as_deref().unwrap_or_default(),
        warnings,
    );
    let lb_ingress: Vec<String> = svc
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .into_iter()
        .flatten()
        // ipMode Proxy means the load balancer delivers to the node, not to the VIP.
        .filter(|ing| ing.ip_mode.as_deref().is_none_or(|m| m == "VIP"))
        .filter_map(|ing| ing.ip.clone())
        .filter(|ip| !ip.is_empty())
        .collect();
    let load_balancer_ips = parse_ips(&id, "loadBalancer.ingress", &lb_ingress, warnings);

    let type_ = spec.type_.as_deref().unwrap_or("ClusterIP");
    let externally_accessible =
        type_ == "NodePort" || type_ == "LoadBalancer" || !external_ips.is_empty();
    let external_local =
        externally_accessible && spec.external_traffic_policy.as_deref() == Some("Local");
    let internal_local = spec.internal_traffic_policy.as_deref() == Some("Local");
    let affinity_timeout = (spec.session_affinity.as_deref() == Some("ClientIP")).then(|| {
        spec.session_affinity_config
            .as_ref()
            .and_then(|c| c.client_ip.as_ref())
            .and_then(|c| c.timeout_seconds)
            .filter(|t| *t > 0)
            .map_or(DEFAULT_AFFINITY_TIMEOUT, |t| Duration::from_secs(t as u64))
    });
    let health_check_node_port = if external_local {
        spec.health_check_node_port
            .filter(|p| *p != 0)
            .and_then(|p| port_number(&id, "healthCheckNodePort", p, warnings))
    } else {
        None
    };

    let mut out = Vec::new();
    for sp in spec.ports.iter().flatten() {
        let protocol_text = sp.protocol.as_deref().unwrap_or("TCP");
        let Some(protocol) = parse_protocol(protocol_text) else {
            warnings.push(ModelWarning::UnsupportedProtocol {
                service: id.clone(),
                port: sp.port,
                protocol: protocol_text.to_string(),
            });
            continue;
        };
        let Some(port) = port_number(&id, "port", sp.port, warnings) else {
            continue;
        };
        let node_port = sp
            .node_port
            .filter(|p| *p != 0)
            .and_then(|p| port_number(&id, "nodePort", p, warnings));
        out.push(ServicePort {
            name: ServicePortName {
                namespace: namespace.clone(),
                name: name.clone(),
                port: sp.name.clone().unwrap_or_default(),
                protocol,
            },
            cluster_ips: cluster_ips.clone(),
            port,
            protocol,
            node_port,
            external_ips: external_ips.clone(),
            load_balancer_ips: load_balancer_ips.clone(),
            affinity_timeout,
            external_local,
            internal_local,
            health_check_node_port,
            cluster_endpoints: Endpoints::default(),
            external_endpoints: Endpoints::default(),
            local_ready_endpoints: 0,
        });
    }
    out
}

/// `TCP`, `UDP` or `SCTP` as the API spells them.
pub fn parse_protocol(text: &str) -> Option<Protocol> {
    match text {
        "TCP" => Some(Protocol::Tcp),
        "UDP" => Some(Protocol::Udp),
        "SCTP" => Some(Protocol::Sctp),
        _ => None,
    }
}

fn parse_ips(
    service: &str,
    field: &'static str,
    raw: &[String],
    warnings: &mut Vec<ModelWarning>,
) -> Vec<IpAddr> {
    let mut ips = Vec::new();
    for text in raw {
        match text.parse::<IpAddr>() {
            Ok(ip) if !ips.contains(&ip) => ips.push(ip),
            Ok(_) => {}
            Err(_) => warnings.push(ModelWarning::BadServiceIp {
                service: service.to_string(),
                field,
                value: text.clone(),
            }),
        }
    }
    ips
}

fn port_number(
    service: &str,
    field: &'static str,
    value: i32,
    warnings: &mut Vec<ModelWarning>,
) -> Option<u16> {
    match u16::try_from(value) {
        Ok(p) if p != 0 => Some(p),
        _ => {
            warnings.push(ModelWarning::BadPort {
                service: service.to_string(),
                field,
                value,
            });
            None
        }
    }
}
