//! The model's types; plain data, compared and diffed by the dataplanes.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Transport protocol of a service port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    /// Lower-case name, as nftables and IPVS tools spell it.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// Names one port of one Service: `namespace/name:port-name/protocol`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServicePortName {
    /// The Service's namespace.
    pub namespace: String,
    /// The Service's name.
    pub name: String,
    /// The port's name (empty for a single unnamed port).
    pub port: String,
    /// The port's protocol.
    pub protocol: Protocol,
}

impl fmt::Display for ServicePortName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)?;
        if !self.port.is_empty() {
            write!(f, ":{}", self.port)?;
        }
        write!(f, "/{}", self.protocol.name())
    }
}

/// One endpoint a service port sends traffic to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// The endpoint's address.
    pub ip: IpAddr,
    /// The target port.
    pub port: u16,
    /// `conditions.ready` (unset counts as ready).
    pub ready: bool,
    /// `conditions.serving` (unset: same as ready).
    pub serving: bool,
    /// `conditions.terminating` (unset: false).
    pub terminating: bool,
    /// Whether the endpoint runs on this node.
    pub local: bool,
}

/// A list of endpoints, shared by the lists that hold the same endpoints (a node keeps one model
/// of every service port: with both policies Cluster, the two lists are one).
pub type Endpoints = Arc<[Endpoint]>;

/// Everything the dataplane needs to program for one service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    /// Which Service and port.
    pub name: ServicePortName,
    /// ClusterIPs (one per IP family); empty for headless services, which are not programmed.
    pub cluster_ips: Vec<IpAddr>,
    /// The Service port.
    pub port: u16,
    /// Protocol.
    pub protocol: Protocol,
    /// NodePort, for NodePort and LoadBalancer services.
    pub node_port: Option<u16>,
    /// `spec.externalIPs`.
    pub external_ips: Vec<IpAddr>,
    /// `status.loadBalancer.ingress[].ip`.
    pub load_balancer_ips: Vec<IpAddr>,
    /// ClientIP session affinity timeout; `None` without affinity.
    pub affinity_timeout: Option<Duration>,
    /// `externalTrafficPolicy: Local`.
    pub external_local: bool,
    /// `internalTrafficPolicy: Local`.
    pub internal_local: bool,
    /// `healthCheckNodePort` (LoadBalancer with externalTrafficPolicy Local).
    pub health_check_node_port: Option<u16>,
    /// Endpoints for traffic to the cluster IPs, after the internal policy and fallbacks.
    pub cluster_endpoints: Endpoints,
    /// Endpoints for traffic to node ports, external and load-balancer IPs, after the external
    /// policy and fallbacks; usually the same list as `cluster_endpoints`, shared.
    pub external_endpoints: Endpoints,
    /// Ready local endpoints, which the health-check node port reports.
    pub local_ready_endpoints: usize,
}

impl Endpoint {
    /// A ready endpoint (so serving, not terminating) on another node.
    pub fn ready(ip: IpAddr, port: u16) -> Self {
        Self {
            ip,
            port,
            ready: true,
            serving: true,
            terminating: false,
            local: false,
        }
    }
}

impl ServicePort {
    /// A plain cluster-IP port: `name` answering on `cluster_ips` at `port` and sending cluster
    /// and external traffic alike to `endpoints`, every other setting at its default.
    pub fn cluster_ip(
        name: ServicePortName,
        cluster_ips: Vec<IpAddr>,
        port: u16,
        endpoints: Endpoints,
    ) -> Self {
        Self {
            protocol: name.protocol,
            name,
            cluster_ips,
            port,
            node_port: None,
            external_ips: Vec::new(),
            load_balancer_ips: Vec::new(),
            affinity_timeout: None,
            external_local: false,
            internal_local: false,
            health_check_node_port: None,
            cluster_endpoints: endpoints.clone(),
            external_endpoints: endpoints,
            local_ready_endpoints: 0,
        }
    }
}

/// The node the proxy runs on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeContext {
    /// The node's name (matched against `endpoints[].nodeName`).
    pub name: String,
    /// The node's addresses, where node ports answer.
    pub node_ips: Vec<IpAddr>,
}

/// Every service port to program, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceModel {
    /// Service ports by name.
    pub ports: BTreeMap<ServicePortName, ServicePort>,
}
