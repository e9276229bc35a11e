//! Endpoints (core/v1) and EndpointSlices (discovery.k8s.io/v1): port defaults, address and
//! port validation, the immutable address type.

use std::collections::HashSet;
use std::net::IpAddr;

use serde_json::{json, Value};

use super::field::{child, each_mut, has, index, int_of, list_of, set_default, str_or_empty};
use super::meta;
use super::names;
use super::pod::protocol;
use crate::api::FieldError;

const ADDRESS_TYPES: &[&str] = &["FQDN", "IPv4", "IPv6"];
const MAX_ENDPOINTS: usize = 1000;
const MAX_ADDRESSES: usize = 100;
const MAX_PORTS: usize = 20000;
const MAX_TOPOLOGY_LABELS: usize = 16;

/// Port defaults: protocol TCP (and an empty port name on slices).
pub fn apply_defaults(kind: &str, obj: &mut Value) {
    match kind {
        "Endpoints" => each_mut(obj, "subsets", |s| {
            each_mut(s, "ports", |p| set_default(p, "protocol", json!("TCP")))
        }),
        "EndpointSlice" => each_mut(obj, "ports", |p| {
            if !has(p, "name") {
                p["name"] = json!("");
            }
            set_default(p, "protocol", json!("TCP"));
        }),
        _ => {}
    }
}

/// `ValidateEndpointIP`: addresses a service may not route to.
fn endpoint_ip(ip: &str, path: &str) -> Vec<FieldError> {
    let Ok(addr) = ip.parse::<IpAddr>() else {
        return vec![FieldError::invalid(
            path,
            json!(ip),
            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        )];
    };
    let msg = match addr {
        a if a.is_unspecified() => Some("may not be unspecified (0.0.0.0)"),
        a if a.is_loopback() => Some("may not be in the loopback range (127.0.0.0/8, ::1/128)"),
        IpAddr::V4(v4) if v4.is_link_local() => {
            Some("may not be in the link-local range (169.254.0.0/16, fe80::/10)")
        }
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => {
            Some("may not be in the link-local range (169.254.0.0/16, fe80::/10)")
        }
        IpAddr::V4(v4) if v4.octets()[..3] == [224, 0, 0] => {
            Some("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")
        }
        IpAddr::V6(v6)
            if (v6.segments()[0] & 0xffc0) == 0xff00 && (v6.segments()[0] & 0x000f) == 2 =>
        {
            Some("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")
        }
        _ => None,
    };
    msg.map(|m| FieldError::invalid(path, json!(ip), m))
        .into_iter()
        .collect()
}

fn node_name(v: &Value, path: &str) -> Vec<FieldError> {
    let n = str_or_empty(v, "nodeName");
    if n.is_empty() {
        return Vec::new();
    }
    names::dns1123_subdomain(n)
        .into_iter()
        .map(|m| FieldError::invalid(child(path, "nodeName"), json!(n), m))
        .collect()
}

fn hostname(v: &Value, path: &str) -> Vec<FieldError> {
    let h = str_or_empty(v, "hostname");
    if h.is_empty() {
        return Vec::new();
    }
    names::dns1123_label(h)
        .into_iter()
        .map(|m| FieldError::invalid(child(path, "hostname"), json!(h), m))
        .collect()
}

/// `ValidateEndpoints` (create and update).
pub fn validate_endpoints(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = meta::validate(obj, true, meta::subdomain_name);
    if let Some(old) = old {
        errs.extend(meta::validate_update(obj, old));
    }
    for (i, s) in list_of(obj, "subsets").iter().enumerate() {
        let p = index("subsets", i);
        if list_of(s, "addresses").is_empty() && list_of(s, "notReadyAddresses").is_empty() {
            errs.push(FieldError::required(
                &p,
                "must specify `addresses` or `notReadyAddresses`",
            ));
        }
        for list in ["addresses", "notReadyAddresses"] {
            for (j, a) in list_of(s, list).iter().enumerate() {
                let ap = index(&child(&p, list), j);
                errs.extend(endpoint_ip(str_or_empty(a, "ip"), &child(&ap, "ip")));
                errs.extend(hostname(a, &ap));
                errs.extend(node_name(a, &ap));
            }
        }
        let ports = list_of(s, "ports");
        for (j, port) in ports.iter().enumerate() {
            let pp = index(&child(&p, "ports"), j);
            let name = str_or_empty(port, "name");
            if ports.len() > 1 && name.is_empty() {
                errs.push(FieldError::required(child(&pp, "name"), ""));
            } else if !name.is_empty() {
                for m in names::dns1123_label(name) {
                    errs.push(FieldError::invalid(child(&pp, "name"), json!(name), m));
                }
            }
            let n = int_of(port, "port").unwrap_or(0);
            for m in names::port_num(n) {
                errs.push(FieldError::invalid(child(&pp, "port"), json!(n), m));
            }
            errs.extend(protocol(port, &child(&pp, "protocol")));
        }
    }
    errs
}

/// `ValidateEndpointSlice` / `ValidateEndpointSliceUpdate`.
pub fn validate_endpointslice(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = meta::validate(obj, true, meta::subdomain_name);
    if let Some(old) = old {
        errs.extend(meta::validate_update(obj, old));
    }
    let address_type = str_or_empty(obj, "addressType");
    match address_type {
        "" => errs.push(FieldError::required("addressType", "")),
        t if ADDRESS_TYPES.contains(&t) => {}
        t => errs.push(FieldError::not_supported(
            "addressType",
            json!(t),
            ADDRESS_TYPES,
        )),
    }
    let endpoints = list_of(obj, "endpoints");
    if endpoints.len() > MAX_ENDPOINTS {
        errs.push(FieldError::too_many(
            "endpoints",
            endpoints.len(),
            MAX_ENDPOINTS,
        ));
    } else {
        for (i, e) in endpoints.iter().enumerate() {
            errs.extend(slice_endpoint(e, &index("endpoints", i), address_type));
        }
    }
    let ports = list_of(obj, "ports");
    if ports.len() > MAX_PORTS {
        errs.push(FieldError::too_many("ports", ports.len(), MAX_PORTS));
    } else {
        let mut seen = HashSet::new();
        for (i, port) in ports.iter().enumerate() {
            let p = index("ports", i);
            let name = str_or_empty(port, "name");
            if !name.is_empty() {
                for m in names::dns1123_label(name) {
                    errs.push(FieldError::invalid(child(&p, "name"), json!(name), m));
                }
            }
            if !seen.insert(name) {
                errs.push(FieldError::duplicate(child(&p, "name"), json!(name)));
            }
            errs.extend(protocol(port, &child(&p, "protocol")));
            if let Some(ap) = port.get("appProtocol").and_then(Value::as_str) {
                for m in names::qualified_name(ap) {
                    errs.push(FieldError::invalid(child(&p, "appProtocol"), json!(ap), m));
                }
            }
        }
    }
    if let Some(old) = old {
        errs.extend(meta::immutable(
            obj.get("addressType"),
            old.get("addressType"),
            "addressType",
        ));
    }
    errs
}

fn slice_endpoint(e: &Value, p: &str, address_type: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ap = child(p, "addresses");
    let addresses = list_of(e, "addresses");
    if addresses.is_empty() {
        errs.push(FieldError::required(&ap, "must contain at least 1 address"));
    } else if addresses.len() > MAX_ADDRESSES {
        errs.push(FieldError::too_many(&ap, addresses.len(), MAX_ADDRESSES));
    }
    for (i, a) in addresses.iter().enumerate() {
        let s = a.as_str().unwrap_or("");
        let path = index(&ap, i);
        let err = match address_type {
            "IPv4" if !matches!(s.parse::<IpAddr>(), Ok(IpAddr::V4(_))) => {
                Some("must be a valid IPv4 address")
            }
            "IPv6" if !matches!(s.parse::<IpAddr>(), Ok(IpAddr::V6(_))) => {
                Some("must be a valid IPv6 address")
            }
            "FQDN" if !s.contains('.') || !names::dns1123_subdomain(s).is_empty() => {
                Some("should be a domain with at least two segments separated by dots")
            }
            _ => None,
        };
        if let Some(m) = err {
            errs.push(FieldError::invalid(path, json!(s), m));
        }
    }
    errs.extend(node_name(e, p));
    errs.extend(hostname(e, p));
    let topo = child(p, "deprecatedTopology");
    let n = super::field::map_of(e, "deprecatedTopology").map_or(0, |m| m.len());
    if n > MAX_TOPOLOGY_LABELS {
        errs.push(FieldError::too_many(&topo, n, MAX_TOPOLOGY_LABELS));
    }
    errs.extend(meta::labels(e, "deprecatedTopology", &topo));
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(errs: &[FieldError]) -> Vec<&str> {
        errs.iter().map(|e| e.field.as_str()).collect()
    }

    fn slice(extra: Value) -> Value {
        let mut s =
            json!({"metadata": {"name": "web-abc", "namespace": "default"}, "addressType": "IPv4"});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            s[k] = v;
        }
        apply_defaults("EndpointSlice", &mut s);
        s
    }

    #[test]
    fn slice_ports_default_to_tcp_with_empty_name() {
        let s = slice(
            json!({"ports": [{"port": 80}], "endpoints": [{"addresses": ["10.42.0.5"], "conditions": {"ready": true}}]}),
        );
        assert_eq!(
            s["ports"][0],
            json!({"port": 80, "name": "", "protocol": "TCP"})
        );
        assert!(validate_endpointslice(&s, None).is_empty());
    }

    #[test]
    fn slice_address_type_and_addresses_are_checked() {
        let s = slice(json!({"addressType": "IPX"}));
        assert_eq!(
            validate_endpointslice(&s, None)[0].message(),
            "addressType: Unsupported value: \"IPX\": supported values: \"FQDN\", \"IPv4\", \"IPv6\""
        );
        let s = slice(
            json!({"endpoints": [{"addresses": ["fd00::1"]}, {"addresses": []}],
            "ports": [{"name": "a", "port": 1}, {"name": "a", "port": 2}]}),
        );
        let errs = validate_endpointslice(&s, None);
        assert_eq!(
            fields(&errs),
            [
                "endpoints[0].addresses[0]",
                "endpoints[1].addresses",
                "ports[1].name"
            ]
        );
        let old = slice(json!({}));
        let new = slice(json!({"addressType": "IPv6"}));
        assert_eq!(
            fields(&validate_endpointslice(&new, Some(&old))),
            ["addressType"]
        );
    }

    #[test]
    fn endpoints_subsets_need_addresses_and_valid_ips() {
        let mut e = json!({"metadata": {"name": "web", "namespace": "default"}, "subsets": [
            {"addresses": [{"ip": "127.0.0.1"}, {"ip": "10.42.0.1"}], "ports": [{"port": 80}, {"name": "b", "port": 81}]},
            {"ports": [{"port": 80}]}]});
        apply_defaults("Endpoints", &mut e);
        assert_eq!(e["subsets"][0]["ports"][0]["protocol"], "TCP");
        let errs = validate_endpoints(&e, None);
        assert_eq!(
            fields(&errs),
            [
                "subsets[0].addresses[0].ip",
                "subsets[0].ports[0].name",
                "subsets[1]"
            ]
        );
        assert_eq!(
            errs[0].detail,
            "may not be in the loopback range (127.0.0.0/8, ::1/128)"
        );
    }
}
