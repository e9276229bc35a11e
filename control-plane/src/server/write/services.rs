//! ClusterIPs and NodePorts of Service objects: what a stored service holds, and the
//! reservations a create or update makes (committed after the store write, undone on failure
//! or dry run). Mirrors upstream's service REST: requested values honoured, missing ones
//! allocated or carried over from the old object, type changes release what is no longer used.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde_json::{json, Value};

use crate::api::{ApiError, FieldError};
use crate::registry::{by_kind, KindInfo};
use crate::store::Store;

use super::alloc::{random_seed, AllocError, Allocators};
use super::WriteState;

/// What one service holds in the allocators.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Held {
    /// ClusterIPs (headless `None` excluded).
    pub ips: Vec<Ipv4Addr>,
    /// NodePorts and the health-check NodePort.
    pub ports: Vec<u16>,
}

/// The ClusterIPs and NodePorts a stored service object holds.
pub(super) fn held(svc: &Value) -> Held {
    let spec = &svc["spec"];
    let mut ips: Vec<Ipv4Addr> = spec["clusterIPs"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()?.parse().ok()).collect())
        .unwrap_or_default();
    if ips.is_empty() {
        ips.extend(
            spec["clusterIP"]
                .as_str()
                .and_then(|s| s.parse::<Ipv4Addr>().ok()),
        );
    }
    let mut ports: Vec<u16> = spec["ports"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| port_value(&p["nodePort"]))
                .collect()
        })
        .unwrap_or_default();
    ports.extend(port_value(&spec["healthCheckNodePort"]));
    ports.sort_unstable();
    ports.dedup();
    Held { ips, ports }
}

fn port_value(v: &Value) -> Option<u16> {
    v.as_u64()
        .filter(|p| *p > 0)
        .and_then(|p| u16::try_from(p).ok())
}

/// Marks every stored service's ClusterIPs and NodePorts as taken.
pub(super) async fn load_allocations(
    store: &dyn Store,
    a: &mut Allocators,
) -> Result<(), ApiError> {
    let kind = services_kind();
    for kv in &super::stored::list_prefix(store, kind.prefix()).await? {
        let Ok(svc) = serde_json::from_slice::<Value>(&kv.value) else {
            tracing::warn!(key = %kv.key, "stored service does not decode; its allocations are not restored");
            continue;
        };
        let h = held(&svc);
        for ip in h.ips {
            if let Err(e) = a.ips.allocate(ip) {
                tracing::warn!(key = %kv.key, %ip, error = %e, "stored ClusterIP not restored");
            }
        }
        for port in h.ports {
            if let Err(e) = a.ports.allocate(port) {
                tracing::warn!(key = %kv.key, port, error = %e, "stored NodePort not restored");
            }
        }
    }
    Ok(())
}

fn services_kind() -> &'static KindInfo {
    by_kind("", "Service").expect("services are served")
}

/// Whether `kind` is the core Service.
pub(super) fn is_service(kind: &KindInfo) -> bool {
    kind.group.is_empty() && kind.kind == "Service"
}

/// Allocations made for one write: `taken` is undone by [`Reservation::abort`], `release`
/// (what the old object held and the new one does not) is given back by
/// [`Reservation::commit`].
#[derive(Debug, Default)]
#[must_use = "a reservation must be committed or aborted"]
pub(super) struct Reservation {
    taken: Held,
    release: Held,
}

impl Reservation {
    /// Nothing reserved.
    pub fn none() -> Self {
        Self::default()
    }

    /// The write happened: give back what the old object no longer holds.
    pub fn commit(self, write: &WriteState) {
        release(write, &self.release);
    }

    /// The write did not happen (failure or dry run): give back what was taken.
    pub fn abort(self, write: &WriteState) {
        release(write, &self.taken);
    }
}

/// Gives back everything `h` holds.
pub(super) fn release(write: &WriteState, h: &Held) {
    if h.ips.is_empty() && h.ports.is_empty() {
        return;
    }
    let mut a = write.allocators();
    for ip in &h.ips {
        a.ips.release(*ip);
    }
    for port in &h.ports {
        a.ports.release(*port);
    }
}

/// Reserves what `new` (a service being created, or updated from `old`) needs and fills the
/// allocated values in.
pub(super) fn reserve(
    write: &WriteState,
    old: Option<&Value>,
    new: &mut Value,
) -> Result<Reservation, ApiError> {
    let mut a = write.allocators();
    let mut res = Reservation::none();
    match reserve_in(&mut a, old, new, &mut res) {
        Ok(()) => {
            let old_held = old.map(held).unwrap_or_default();
            let new_held = held(new);
            res.release = Held {
                ips: diff(&old_held.ips, &new_held.ips),
                ports: diff(&old_held.ports, &new_held.ports),
            };
            Ok(res)
        }
        Err(e) => {
            for ip in &res.taken.ips {
                a.ips.release(*ip);
            }
            for port in &res.taken.ports {
                a.ports.release(*port);
            }
            Err(e)
        }
    }
}

fn diff<T: PartialEq + Copy>(a: &[T], b: &[T]) -> Vec<T> {
    a.iter().filter(|x| !b.contains(x)).copied().collect()
}

fn svc_type(svc: &Value) -> &str {
    svc["spec"]["type"].as_str().unwrap_or("ClusterIP")
}

/// A 422 on a service; the name is filled in by [`name_error`].
fn invalid_svc(causes: Vec<FieldError>) -> ApiError {
    super::invalid(services_kind(), "", causes)
}

fn reserve_in(
    a: &mut Allocators,
    old: Option<&Value>,
    new: &mut Value,
    res: &mut Reservation,
) -> Result<(), ApiError> {
    if !new.get("spec").is_some_and(Value::is_object) {
        new["spec"] = json!({});
    }
    reserve_cluster_ip(a, old, new, res)?;
    reserve_node_ports(a, old, new, res)?;
    reserve_health_check_port(a, old, new, res)
}

fn reserve_cluster_ip(
    a: &mut Allocators,
    old: Option<&Value>,
    new: &mut Value,
    res: &mut Reservation,
) -> Result<(), ApiError> {
    let old_spec = old.map(|o| o["spec"].clone()).unwrap_or(Value::Null);
    let old_ip = old_spec["clusterIP"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let requested = new["spec"]["clusterIP"]
        .as_str()
        .filter(|s| !s.is_empty())
        .or_else(|| new["spec"]["clusterIPs"][0].as_str())
        .unwrap_or_default()
        .to_string();
    let spec = new["spec"].as_object_mut().expect("spec is an object");
    if spec.get("type").and_then(Value::as_str) == Some("ExternalName") {
        // Upstream drops type-dependent fields the user left as they were.
        if requested.is_empty() || requested == old_ip {
            for f in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
                spec.remove(f);
            }
        }
        return Ok(());
    }
    let ip = if requested.is_empty() && !old_ip.is_empty() {
        if let Some(ips) = old_spec.get("clusterIPs") {
            spec.insert("clusterIPs".into(), ips.clone());
        }
        old_ip
    } else if requested == "None" || (!requested.is_empty() && requested == old_ip) {
        requested
    } else if requested.is_empty() {
        let ip = a
            .ips
            .allocate_next(random_seed())
            .map_err(|e| ApiError::Internal(format!("failed to allocate a serviceIP: {e}")))?;
        res.taken.ips.push(ip);
        ip.to_string()
    } else {
        let value = json!([requested]);
        let field_err =
            |detail: String| FieldError::invalid("spec.clusterIPs", value.clone(), detail);
        if !old_ip.is_empty() && old_ip != "None" {
            let e = FieldError::invalid(
                "spec.clusterIPs[0]",
                value.clone(),
                "may not change once set",
            );
            return Err(invalid_svc(vec![e]));
        }
        let parsed: Ipv4Addr = requested.parse().map_err(|_| {
            invalid_svc(vec![field_err(
                "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)".into(),
            )])
        })?;
        a.ips.allocate(parsed).map_err(|e| {
            invalid_svc(vec![field_err(format!(
                "failed to allocate IP {parsed}: {e}"
            ))])
        })?;
        res.taken.ips.push(parsed);
        requested
    };
    spec.insert("clusterIP".into(), ip.clone().into());
    if !spec.get("clusterIPs").is_some_and(|v| v[0] == ip.as_str()) {
        spec.insert("clusterIPs".into(), json!([ip]));
    }
    spec.entry("ipFamilies").or_insert_with(|| json!(["IPv4"]));
    spec.entry("ipFamilyPolicy")
        .or_insert_with(|| json!("SingleStack"));
    Ok(())
}

fn needs_node_ports(svc: &Value) -> bool {
    match svc_type(svc) {
        "NodePort" => true,
        "LoadBalancer" => svc["spec"]["allocateLoadBalancerNodePorts"] != json!(false),
        _ => false,
    }
}

fn port_error(field: String, port: u16, e: AllocError) -> ApiError {
    invalid_svc(vec![FieldError::invalid(field, port.into(), e.to_string())])
}

fn reserve_node_ports(
    a: &mut Allocators,
    old: Option<&Value>,
    new: &mut Value,
    res: &mut Reservation,
) -> Result<(), ApiError> {
    let old_needs = old.is_some_and(needs_node_ports);
    let old_ports = old.map(held).unwrap_or_default().ports;
    let needs = needs_node_ports(new);
    let Some(ports) = new
        .get_mut("spec")
        .and_then(|s| s.get_mut("ports"))
        .and_then(Value::as_array_mut)
    else {
        return Ok(());
    };
    if !needs {
        // Drop node ports carried over unchanged from a NodePort/LoadBalancer service.
        for p in ports.iter_mut() {
            if port_value(&p["nodePort"]).is_some_and(|np| old_ports.contains(&np)) {
                p.as_object_mut().map(|m| m.remove("nodePort"));
            }
        }
        return Ok(());
    }
    if old_needs {
        // Patch in the old values by port name, unless another new port uses them.
        let by_name: BTreeMap<String, u16> = old.unwrap()["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                Some((
                    p["name"].as_str().unwrap_or_default().to_string(),
                    port_value(&p["nodePort"])?,
                ))
            })
            .collect();
        let used: Vec<u16> = ports
            .iter()
            .filter_map(|p| port_value(&p["nodePort"]))
            .collect();
        for p in ports.iter_mut() {
            if port_value(&p["nodePort"]).is_none() {
                let name = p["name"].as_str().unwrap_or_default();
                if let Some(np) = by_name.get(name).filter(|np| !used.contains(np)) {
                    p["nodePort"] = (*np).into();
                }
            }
        }
    }
    let mut mine: Vec<u16> = Vec::new();
    for (i, p) in ports.iter_mut().enumerate() {
        match port_value(&p["nodePort"]) {
            Some(np) if old_ports.contains(&np) || mine.contains(&np) => {}
            Some(np) => {
                a.ports
                    .allocate(np)
                    .map_err(|e| port_error(format!("spec.ports[{i}].nodePort"), np, e))?;
                res.taken.ports.push(np);
                mine.push(np);
            }
            None => {
                let np = a.ports.allocate_next(random_seed()).map_err(|e| {
                    ApiError::Internal(format!("failed to allocate a nodePort: {e}"))
                })?;
                res.taken.ports.push(np);
                mine.push(np);
                p["nodePort"] = np.into();
            }
        }
    }
    Ok(())
}

fn reserve_health_check_port(
    a: &mut Allocators,
    old: Option<&Value>,
    new: &mut Value,
    res: &mut Reservation,
) -> Result<(), ApiError> {
    let needs = svc_type(new) == "LoadBalancer"
        && new["spec"]["externalTrafficPolicy"].as_str() == Some("Local");
    let old_port = old.and_then(|o| port_value(&o["spec"]["healthCheckNodePort"]));
    let spec = new["spec"].as_object_mut().expect("spec is an object");
    let requested = spec.get("healthCheckNodePort").and_then(port_value);
    if !needs {
        if requested.is_some() && requested == old_port {
            spec.remove("healthCheckNodePort");
        }
        return Ok(());
    }
    match (requested, old_port) {
        (None, Some(p)) => {
            spec.insert("healthCheckNodePort".into(), p.into());
        }
        (Some(p), Some(o)) if p == o => {}
        (Some(p), _) => {
            a.ports
                .allocate(p)
                .map_err(|e| port_error("spec.healthCheckNodePort".into(), p, e))?;
            res.taken.ports.push(p);
        }
        (None, None) => {
            let p = a
                .ports
                .allocate_next(random_seed())
                .map_err(|e| ApiError::Internal(format!("failed to allocate a nodePort: {e}")))?;
            res.taken.ports.push(p);
            spec.insert("healthCheckNodePort".into(), p.into());
        }
    }
    Ok(())
}

/// Fixes the name in allocation errors raised before the name was known.
pub(super) fn name_error(err: ApiError, name: &str) -> ApiError {
    match err {
        ApiError::Invalid {
            group,
            kind,
            causes,
            ..
        } if kind == "Service" => ApiError::Invalid {
            group,
            kind,
            name: name.into(),
            causes,
        },
        other => other,
    }
}
