//! The objects each service port needs in one family's table, computed from the model alone.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;

use super::naming::{affinity_set, content_chain, readable_endpoint, readable_port, Family};
use crate::model::{Endpoint, ServiceModel, ServicePort, ServicePortName};

/// The verdict maps service ports put elements in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MapName {
    /// `daddr . l4proto . dport` of cluster, external and load-balancer IPs: `goto` a chain.
    ServiceIps,
    /// `l4proto . dport` of node ports on local addresses: `goto` an external chain.
    ServiceNodeports,
    /// Service IPs of ports without endpoints: reject (or drop).
    NoEndpointServices,
    /// Node ports without endpoints: reject (or drop).
    NoEndpointNodeports,
    /// `daddr . l4proto . dport . slot` of service and external IPs: the endpoint
    /// (`addr . port`) a `dnat-*` chain picks with `numgen random mod <count>`.
    Endpoints,
    /// `l4proto . dport . slot` of node ports: the endpoint a `dnat-nodeport-*` chain picks.
    NodeportEndpoints,
}

impl MapName {
    /// Every map.
    pub const ALL: [MapName; 6] = [
        MapName::ServiceIps,
        MapName::ServiceNodeports,
        MapName::NoEndpointServices,
        MapName::NoEndpointNodeports,
        MapName::Endpoints,
        MapName::NodeportEndpoints,
    ];

    /// The map's name in the table.
    pub fn name(self) -> &'static str {
        match self {
            MapName::ServiceIps => "service-ips",
            MapName::ServiceNodeports => "service-nodeports",
            MapName::NoEndpointServices => "no-endpoint-services",
            MapName::NoEndpointNodeports => "no-endpoint-nodeports",
            MapName::Endpoints => "endpoints",
            MapName::NodeportEndpoints => "nodeport-endpoints",
        }
    }

    /// Whether the key starts with an address.
    pub fn keyed_by_address(self) -> bool {
        matches!(
            self,
            MapName::ServiceIps | MapName::NoEndpointServices | MapName::Endpoints
        )
    }

    /// Whether its values are verdicts (else endpoints, `addr . port`).
    pub fn holds_verdicts(self) -> bool {
        !matches!(self, MapName::Endpoints | MapName::NodeportEndpoints)
    }
}

/// What a shared `dnat-*` chain does before picking an endpoint; with the endpoint count, the
/// chain's name fixes its content (a changed configuration uses other chains).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DnatKind {
    /// Traffic to a cluster IP, pod CIDRs unknown: no masquerade.
    Cluster,
    /// Traffic to a cluster IP, masqueraded from outside the pod CIDRs.
    ClusterOutside,
    /// Traffic to a cluster IP, always masqueraded (`--masquerade-all`).
    ClusterAll,
    /// Traffic to an external or load-balancer IP (always masqueraded).
    External,
    /// Traffic to a node port (always masqueraded).
    Nodeport,
}

impl DnatKind {
    const ALL: [DnatKind; 5] = [
        DnatKind::Cluster,
        DnatKind::ClusterOutside,
        DnatKind::ClusterAll,
        DnatKind::External,
        DnatKind::Nodeport,
    ];

    fn word(self) -> &'static str {
        match self {
            DnatKind::Cluster => "cluster",
            DnatKind::ClusterOutside => "cluster-outside",
            DnatKind::ClusterAll => "cluster-all",
            DnatKind::External => "external",
            DnatKind::Nodeport => "nodeport",
        }
    }

    /// The kind for cluster IPs under `ctx`.
    pub fn cluster(ctx: &RuleContext) -> DnatKind {
        if ctx.masquerade_all {
            DnatKind::ClusterAll
        } else if ctx.cluster_cidrs.is_empty() {
            DnatKind::Cluster
        } else {
            DnatKind::ClusterOutside
        }
    }
}

/// A shared chain `dnat-<kind>-<count>`: picks one of `count` endpoints from the endpoint maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DnatClass {
    /// What the chain does first.
    pub kind: DnatKind,
    /// Number of endpoints it picks from.
    pub count: usize,
}

impl DnatClass {
    /// The chain's name.
    pub fn chain(self) -> String {
        format!("dnat-{}-{}", self.kind.word(), self.count)
    }

    /// The class a chain name stands for, if it is one.
    pub fn parse(chain: &str) -> Option<DnatClass> {
        let (kind, digits) = chain.strip_prefix("dnat-")?.rsplit_once('-')?;
        let kind = DnatKind::ALL.into_iter().find(|k| k.word() == kind)?;
        let count: usize = digits.parse().ok()?;
        (count > 0 && count.to_string() == digits).then_some(DnatClass { kind, count })
    }

    /// The chain's rules in `family`'s table.
    pub fn rules(self, f: Family) -> Vec<String> {
        let fam = f.keyword();
        let mut rules = Vec::new();
        match self.kind {
            DnatKind::Cluster => {}
            DnatKind::ClusterOutside => rules.push(format!(
                "{fam} saddr != @cluster-cidrs jump mark-for-masquerade"
            )),
            DnatKind::ClusterAll | DnatKind::External | DnatKind::Nodeport => {
                rules.push("jump mark-for-masquerade".to_string())
            }
        }
        let (key, map) = match self.kind {
            DnatKind::Nodeport => (
                "meta l4proto . th dport".to_string(),
                MapName::NodeportEndpoints,
            ),
            _ => (
                format!("{fam} daddr . meta l4proto . th dport"),
                MapName::Endpoints,
            ),
        };
        rules.push(format!(
            "dnat {fam} to {key} . numgen random mod {} map @{}",
            self.count,
            map.name()
        ));
        rules
    }
}

/// A map element's identity: the map and the key as nftables prints it.
pub type ElementKey = (MapName, String);

/// Everything one service port owns in one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortObjects {
    /// Chains by name, with their rules.
    pub chains: BTreeMap<String, Vec<String>>,
    /// Affinity sets.
    pub sets: BTreeSet<String>,
    /// Map elements with their verdicts (or endpoints).
    pub elements: BTreeMap<ElementKey, String>,
    /// Shared `dnat-*` chains its elements jump to.
    pub classes: BTreeSet<DnatClass>,
    /// Endpoint addresses reached through the shared chains: connections from such an address
    /// to itself are masqueraded (hairpin) by the `hairpin` set.
    pub hairpin: BTreeSet<IpAddr>,
}

/// The desired objects of one table, by service port.
pub type Desired = BTreeMap<ServicePortName, PortObjects>;

/// What the rules depend on besides the model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleContext {
    /// Pod CIDRs of this family; empty when unknown.
    pub cluster_cidrs: Vec<IpNet>,
    /// Masquerade every packet to a cluster IP.
    pub masquerade_all: bool,
}

/// The desired objects of `family`'s table for `model`.
pub fn desired(model: &ServiceModel, ctx: &RuleContext, family: Family) -> Desired {
    model
        .ports
        .iter()
        .filter_map(|(name, port)| Some((name.clone(), port_objects(port, ctx, family)?)))
        .collect()
}

fn of_family<'a>(ips: impl IntoIterator<Item = &'a IpAddr>, f: Family) -> Vec<IpAddr> {
    ips.into_iter()
        .filter(|ip| Family::of(ip) == f)
        .copied()
        .collect()
}

fn eps_of_family(eps: &[Endpoint], f: Family) -> Vec<&Endpoint> {
    eps.iter().filter(|e| Family::of(&e.ip) == f).collect()
}

/// `ip:port`, bracketed for IPv6.
fn socket(ip: &IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(_) => format!("{ip}:{port}"),
        IpAddr::V6(_) => format!("[{ip}]:{port}"),
    }
}

/// Objects of one port in one family; `None` when it has no cluster IP there.
pub fn port_objects(sp: &ServicePort, ctx: &RuleContext, f: Family) -> Option<PortObjects> {
    let cluster_ips = of_family(&sp.cluster_ips, f);
    if cluster_ips.is_empty() {
        return None;
    }
    let external_ips = of_family(sp.external_ips.iter().chain(&sp.load_balancer_ips), f);
    let cluster_eps = eps_of_family(&sp.cluster_endpoints, f);
    let external_eps = eps_of_family(&sp.external_endpoints, f);
    if sp.affinity_timeout.is_none() && !sp.external_local {
        return Some(slot_objects(
            sp,
            DnatKind::cluster(ctx),
            &cluster_ips,
            &external_ips,
            &cluster_eps,
            &external_eps,
        ));
    }
    let fam = f.keyword();
    let proto = sp.protocol.name();
    let readable = readable_port(&sp.name);
    let mut o = PortObjects::default();

    // One chain per endpoint, shared by the cluster and external dispatch.
    let mut endpoint_chains: BTreeMap<(IpAddr, u16), (String, Option<String>)> = BTreeMap::new();
    for ep in cluster_eps.iter().chain(&external_eps) {
        if endpoint_chains.contains_key(&(ep.ip, ep.port)) {
            continue;
        }
        let ep_readable = readable_endpoint(&sp.name, &ep.ip, ep.port);
        let set = sp.affinity_timeout.map(|_| affinity_set(&ep_readable));
        let mut rules = vec![format!("{fam} saddr {} jump mark-for-masquerade", ep.ip)];
        if let (Some(set), Some(timeout)) = (&set, sp.affinity_timeout) {
            rules.push(format!(
                "update @{set} {{ {fam} saddr timeout {}s }}",
                timeout.as_secs().max(1)
            ));
        }
        rules.push(format!(
            "meta l4proto {proto} dnat to {}",
            socket(&ep.ip, ep.port)
        ));
        let chain = content_chain("endpoint", &ep_readable, &rules);
        o.chains.insert(chain.clone(), rules);
        if let Some(set) = &set {
            o.sets.insert(set.clone());
        }
        endpoint_chains.insert((ep.ip, ep.port), (chain, set));
    }
    let dispatch = |eps: &[&Endpoint]| -> Vec<String> {
        let chosen: Vec<&(String, Option<String>)> = eps
            .iter()
            .map(|e| &endpoint_chains[&(e.ip, e.port)])
            .collect();
        let mut rules: Vec<String> = chosen
            .iter()
            .filter_map(|(chain, set)| {
                set.as_ref()
                    .map(|set| format!("{fam} saddr @{set} goto {chain}"))
            })
            .collect();
        if !chosen.is_empty() {
            let arms: Vec<String> = chosen
                .iter()
                .enumerate()
                .map(|(i, (chain, _))| format!("{i} : goto {chain}"))
                .collect();
            rules.push(format!(
                "numgen random mod {} vmap {{ {} }}",
                chosen.len(),
                arms.join(", ")
            ));
        }
        rules
    };
    let no_endpoints = |others: bool| {
        if others {
            "drop".to_string()
        } else {
            "goto reject-chain".to_string()
        }
    };

    // Traffic to the cluster IPs.
    let service_chain = if cluster_eps.is_empty() {
        for ip in &cluster_ips {
            let verdict = no_endpoints(sp.internal_local && !external_eps.is_empty());
            o.elements.insert(
                (
                    MapName::NoEndpointServices,
                    format!("{ip} . {proto} . {}", sp.port),
                ),
                verdict,
            );
        }
        None
    } else {
        let mut rules = Vec::new();
        for ip in &cluster_ips {
            let matched = format!("{fam} daddr {ip} {proto} dport {}", sp.port);
            if ctx.masquerade_all {
                rules.push(format!("{matched} jump mark-for-masquerade"));
            } else if !ctx.cluster_cidrs.is_empty() {
                rules.push(format!(
                    "{matched} {fam} saddr != @cluster-cidrs jump mark-for-masquerade"
                ));
            }
        }
        rules.extend(dispatch(&cluster_eps));
        let chain = content_chain("service", &readable, &rules);
        o.chains.insert(chain.clone(), rules);
        for ip in &cluster_ips {
            o.elements.insert(
                (MapName::ServiceIps, format!("{ip} . {proto} . {}", sp.port)),
                format!("goto {chain}"),
            );
        }
        Some(chain)
    };

    // Traffic to node ports, external IPs and load-balancer IPs.
    if sp.node_port.is_none() && external_ips.is_empty() {
        return Some(o);
    }
    let mut rules = Vec::new();
    if sp.external_local {
        // Pods and the node itself reach the service as if through its cluster IP.
        if let Some(svc) = &service_chain {
            if !ctx.cluster_cidrs.is_empty() {
                rules.push(format!("{fam} saddr @cluster-cidrs goto {svc}"));
            }
            rules.push("fib saddr type local jump mark-for-masquerade".to_string());
            rules.push(format!("fib saddr type local goto {svc}"));
        }
    } else {
        rules.push("jump mark-for-masquerade".to_string());
    }
    rules.extend(dispatch(&external_eps));
    let needed = !external_eps.is_empty() || (sp.external_local && service_chain.is_some());
    let external_chain = needed.then(|| content_chain("external", &readable, &rules));
    if let Some(chain) = &external_chain {
        o.chains.insert(chain.clone(), rules);
        for ip in &external_ips {
            o.elements.insert(
                (MapName::ServiceIps, format!("{ip} . {proto} . {}", sp.port)),
                format!("goto {chain}"),
            );
        }
        if let Some(np) = sp.node_port {
            o.elements.insert(
                (MapName::ServiceNodeports, format!("{proto} . {np}")),
                format!("goto {chain}"),
            );
        }
    }
    if external_eps.is_empty() {
        let verdict = no_endpoints(!cluster_eps.is_empty());
        for ip in &external_ips {
            o.elements.insert(
                (
                    MapName::NoEndpointServices,
                    format!("{ip} . {proto} . {}", sp.port),
                ),
                verdict.clone(),
            );
        }
        if let Some(np) = sp.node_port {
            o.elements.insert(
                (MapName::NoEndpointNodeports, format!("{proto} . {np}")),
                verdict,
            );
        }
    }
    Some(o)
}

/// Objects of a port without affinity nor `externalTrafficPolicy: Local`: no chain of its own,
/// only elements sending its traffic to the shared `dnat-*` chains and filling the endpoint
/// maps, one element per endpoint slot.
fn slot_objects(
    sp: &ServicePort,
    cluster_kind: DnatKind,
    cluster_ips: &[IpAddr],
    external_ips: &[IpAddr],
    cluster_eps: &[&Endpoint],
    external_eps: &[&Endpoint],
) -> PortObjects {
    let proto = sp.protocol.name();
    let mut o = PortObjects::default();
    let dispatch = |o: &mut PortObjects, kind: DnatKind, key: &str, eps: &[&Endpoint]| {
        let class = DnatClass {
            kind,
            count: eps.len(),
        };
        let (verdicts, endpoints) = match kind {
            DnatKind::Nodeport => (MapName::ServiceNodeports, MapName::NodeportEndpoints),
            _ => (MapName::ServiceIps, MapName::Endpoints),
        };
        o.elements.insert(
            (verdicts, key.to_string()),
            format!("goto {}", class.chain()),
        );
        for (slot, ep) in eps.iter().enumerate() {
            o.elements.insert(
                (endpoints, format!("{key} . {slot}")),
                format!("{} . {}", ep.ip, ep.port),
            );
            o.hairpin.insert(ep.ip);
        }
        o.classes.insert(class);
    };
    for ip in cluster_ips {
        let key = format!("{ip} . {proto} . {}", sp.port);
        if cluster_eps.is_empty() {
            let verdict = if sp.internal_local && !external_eps.is_empty() {
                "drop"
            } else {
                "goto reject-chain"
            };
            o.elements
                .insert((MapName::NoEndpointServices, key), verdict.to_string());
        } else {
            dispatch(&mut o, cluster_kind, &key, cluster_eps);
        }
    }
    let verdict = if cluster_eps.is_empty() {
        "goto reject-chain"
    } else {
        "drop"
    };
    for ip in external_ips {
        let key = format!("{ip} . {proto} . {}", sp.port);
        if external_eps.is_empty() {
            o.elements
                .insert((MapName::NoEndpointServices, key), verdict.to_string());
        } else {
            dispatch(&mut o, DnatKind::External, &key, external_eps);
        }
    }
    if let Some(np) = sp.node_port {
        let key = format!("{proto} . {np}");
        if external_eps.is_empty() {
            o.elements
                .insert((MapName::NoEndpointNodeports, key), verdict.to_string());
        } else {
            dispatch(&mut o, DnatKind::Nodeport, &key, external_eps);
        }
    }
    o
}
