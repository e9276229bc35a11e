//! Rows of the networking kinds: services, endpoints and endpoint slices.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::age::since;
use super::format::{arr_of, format_labels, int_of, list_with_more, or_none, str_of};

fn name(obj: &Value) -> Value {
    json!(str_of(&obj["metadata"]["name"]))
}

fn age(obj: &Value, now: DateTime<Utc>) -> Value {
    json!(since(&obj["metadata"]["creationTimestamp"], now))
}

fn strings(v: &Value) -> Vec<String> {
    arr_of(v).iter().map(|s| str_of(s).to_string()).collect()
}

/// Load balancer ingress IPs (or host names), sorted and deduplicated, comma-joined.
fn load_balancer_ingress(svc: &Value) -> String {
    let mut out: Vec<String> = arr_of(&svc["status"]["loadBalancer"]["ingress"])
        .iter()
        .filter_map(|i| {
            let ip = str_of(&i["ip"]);
            let host = str_of(&i["hostname"]);
            match (ip.is_empty(), host.is_empty()) {
                (false, _) => Some(ip.to_string()),
                (true, false) => Some(host.to_string()),
                (true, true) => None,
            }
        })
        .collect();
    out.sort();
    out.dedup();
    out.join(",")
}

/// Upstream's `getServiceExternalIP` (wide: the load balancer list is not clipped).
pub fn service_external_ip(svc: &Value) -> String {
    let external = strings(&svc["spec"]["externalIPs"]);
    match str_of(&svc["spec"]["type"]) {
        "ClusterIP" | "NodePort" => {
            if external.is_empty() {
                "<none>".to_string()
            } else {
                external.join(",")
            }
        }
        "LoadBalancer" => {
            let lb = load_balancer_ingress(svc);
            if !external.is_empty() {
                let mut all: Vec<String> = Vec::new();
                if !lb.is_empty() {
                    all.extend(lb.split(',').map(str::to_string));
                }
                all.extend(external);
                return all.join(",");
            }
            if lb.is_empty() {
                "<pending>".to_string()
            } else {
                lb
            }
        }
        "ExternalName" => str_of(&svc["spec"]["externalName"]).to_string(),
        _ => "<unknown>".to_string(),
    }
}

/// Upstream's `makePortString`: `80/TCP`, `80:30080/TCP`, comma-joined.
pub fn service_ports(svc: &Value) -> String {
    arr_of(&svc["spec"]["ports"])
        .iter()
        .map(|p| {
            let protocol = p["protocol"].as_str().unwrap_or("TCP");
            let node_port = int_of(&p["nodePort"]);
            if node_port > 0 {
                format!("{}:{node_port}/{protocol}", int_of(&p["port"]))
            } else {
                format!("{}/{protocol}", int_of(&p["port"]))
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE; wide SELECTOR.
pub fn service(svc: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let spec = &svc["spec"];
    let cluster_ip = match arr_of(&spec["clusterIPs"]).first() {
        Some(ip) => str_of(ip).to_string(),
        None => str_of(&spec["clusterIP"]).to_string(),
    };
    vec![
        name(svc),
        json!(str_of(&spec["type"])),
        json!(or_none(cluster_ip)),
        json!(service_external_ip(svc)),
        json!(or_none(service_ports(svc))),
        age(svc, now),
        json!(format_labels(&spec["selector"])),
    ]
}

/// Go's `net.JoinHostPort`: IPv6 addresses in brackets.
fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Upstream's `formatEndpoints`: up to three `ip:port`, then ` + N more...`; `<none>`
/// without subsets.
pub fn format_endpoints(ep: &Value) -> String {
    const MAX: usize = 3;
    let subsets = arr_of(&ep["subsets"]);
    if subsets.is_empty() {
        return "<none>".to_string();
    }
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0;
    for ss in subsets {
        let addresses = arr_of(&ss["addresses"]);
        let ports = arr_of(&ss["ports"]);
        if ports.is_empty() {
            // Headless services may have no ports.
            count += addresses.len();
            for a in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(str_of(&a["ip"]).to_string());
            }
            continue;
        }
        for port in ports {
            count += addresses.len();
            for a in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(join_host_port(str_of(&a["ip"]), int_of(&port["port"])));
            }
        }
    }
    let joined = list.join(",");
    if more {
        format!("{joined} + {} more...", count - MAX)
    } else {
        joined
    }
}

/// NAME ENDPOINTS AGE.
pub fn endpoints(ep: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![name(ep), json!(format_endpoints(ep)), age(ep, now)]
}

/// NAME ADDRESSTYPE PORTS ENDPOINTS AGE.
pub fn endpoint_slice(slice: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let ports: Vec<String> = arr_of(&slice["ports"])
        .iter()
        .map(|p| match (p["port"].as_i64(), p["name"].as_str()) {
            (Some(n), _) => n.to_string(),
            (None, Some(n)) => n.to_string(),
            (None, None) => "*".to_string(),
        })
        .collect();
    let addresses: Vec<String> = arr_of(&slice["endpoints"])
        .iter()
        .flat_map(|e| strings(&e["addresses"]))
        .collect();
    vec![
        name(slice),
        json!(str_of(&slice["addressType"])),
        json!(list_with_more(&ports, 3)),
        json!(list_with_more(&addresses, 3)),
        age(slice, now),
    ]
}
