//! Services: defaults (`SetDefaults_Service` plus the IP family fields the allocator fills on
//! a single-stack IPv4 cluster), create/update preparation and `ValidateService`.

use std::collections::HashSet;

use serde_json::{json, Value};

use super::field::{child, has, index, int_of, list_of, map_of, str_or_empty};
use super::meta;
use super::names;
use super::pod::{port_num_or_name, protocol};
use crate::api::FieldError;

/// NodePorts the cluster allocates from (k3s's default range).
pub const NODE_PORT_RANGE: (i64, i64) = (30000, 32767);
const SERVICE_TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
const MAX_CLIENT_IP_AFFINITY_SECONDS: i64 = 86400;

fn svc_type(spec: &Value) -> &str {
    str_or_empty(spec, "type")
}

fn externally_accessible(spec: &Value) -> bool {
    matches!(svc_type(spec), "LoadBalancer" | "NodePort")
        || (svc_type(spec) == "ClusterIP" && !list_of(spec, "externalIPs").is_empty())
}

fn is_headless(spec: &Value) -> bool {
    svc_type(spec) == "ClusterIP"
        && (str_or_empty(spec, "clusterIP") == "None"
            || list_of(spec, "clusterIPs").first().and_then(Value::as_str) == Some("None"))
}

/// `SetDefaults_Service` plus IP family defaults.
pub fn apply_defaults(obj: &mut Value) {
    let Some(spec) = super::field::obj_mut(obj, "spec") else {
        return;
    };
    let mut spec = Value::Object(std::mem::take(spec));
    defaults(&mut spec);
    obj["spec"] = spec;
}

fn defaults(spec: &mut Value) {
    use super::field::set_default;
    set_default(spec, "sessionAffinity", json!("None"));
    match str_or_empty(spec, "sessionAffinity") {
        "None" => {
            spec.as_object_mut()
                .map(|m| m.remove("sessionAffinityConfig"));
        }
        "ClientIP"
            if spec
                .pointer("/sessionAffinityConfig/clientIP/timeoutSeconds")
                .is_none_or(Value::is_null) =>
        {
            spec["sessionAffinityConfig"] = json!({"clientIP": {"timeoutSeconds": 10800}});
        }
        _ => {}
    }
    set_default(spec, "type", json!("ClusterIP"));
    super::field::each_mut(spec, "ports", |p| {
        set_default(p, "protocol", json!("TCP"));
        let unset = match p.get("targetPort") {
            None | Some(Value::Null) => true,
            Some(Value::Number(n)) => n.as_i64() == Some(0),
            Some(Value::String(s)) => s.is_empty(),
            _ => false,
        };
        if unset {
            if let Some(port) = p.get("port").cloned() {
                p["targetPort"] = port;
            }
        }
    });
    if externally_accessible(spec) {
        set_default(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    let t = svc_type(spec).to_string();
    if matches!(t.as_str(), "NodePort" | "LoadBalancer" | "ClusterIP") {
        set_default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if t == "LoadBalancer" {
        set_default(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    if t != "ExternalName" {
        let headless_without_selector =
            is_headless(spec) && map_of(spec, "selector").is_none_or(|m| m.is_empty());
        let policy = if headless_without_selector {
            "RequireDualStack"
        } else {
            "SingleStack"
        };
        set_default(spec, "ipFamilyPolicy", json!(policy));
        if list_of(spec, "ipFamilies").is_empty() {
            let families =
                if is_headless(spec) && str_or_empty(spec, "ipFamilyPolicy") != "SingleStack" {
                    json!(["IPv4", "IPv6"])
                } else {
                    json!(["IPv4"])
                };
            spec["ipFamilies"] = families;
        }
    }
}

/// `ServiceStrategy.PrepareForCreate`: empty status, `clusterIPs` follows `clusterIP`.
pub fn prepare_for_create(obj: &mut Value) {
    obj["status"] = json!({"loadBalancer": {}});
    if let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) {
        normalize_cluster_ips(spec);
    }
}

fn normalize_cluster_ips(spec: &mut Value) {
    let ip = str_or_empty(spec, "clusterIP").to_string();
    if !ip.is_empty() && list_of(spec, "clusterIPs").is_empty() {
        spec["clusterIPs"] = json!([ip]);
    }
}

/// `patchAllocatedValues` and `normalizeClusterIPs` on update: what the allocator assigned
/// stays when the new object leaves it out and the type still needs it.
pub fn prepare_for_update(obj: &mut Value, old: &Value) {
    let Some(old_spec) = old.get("spec") else {
        return;
    };
    let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) else {
        return;
    };
    let new_type = svc_type(spec).to_string();
    let old_type = svc_type(old_spec);
    if new_type != "ExternalName" && old_type != "ExternalName" {
        if str_or_empty(spec, "clusterIP").is_empty() && list_of(spec, "clusterIPs").is_empty() {
            for f in ["clusterIP", "clusterIPs"] {
                if let Some(v) = old_spec.get(f) {
                    spec[f] = v.clone();
                }
            }
        }
        for f in ["ipFamilies", "ipFamilyPolicy"] {
            if !has(spec, f) || spec[f].as_array().is_some_and(Vec::is_empty) {
                if let Some(v) = old_spec.get(f) {
                    spec[f] = v.clone();
                }
            }
        }
    }
    if matches!(new_type.as_str(), "NodePort" | "LoadBalancer") {
        let old_ports = list_of(old_spec, "ports").to_vec();
        super::field::each_mut(spec, "ports", |p| {
            if int_of(p, "nodePort").unwrap_or(0) != 0 {
                return;
            }
            let same = old_ports.iter().find(|o| {
                int_of(o, "port") == int_of(p, "port") && o.get("protocol") == p.get("protocol")
            });
            if let Some(np) = same.and_then(|o| o.get("nodePort")) {
                p["nodePort"] = np.clone();
            }
        });
        if new_type == "LoadBalancer" && int_of(spec, "healthCheckNodePort").unwrap_or(0) == 0 {
            if let Some(h) = old_spec.get("healthCheckNodePort") {
                spec["healthCheckNodePort"] = h.clone();
            }
        }
    }
    normalize_cluster_ips(spec);
}

/// `ValidateService` (create) and `ValidateServiceUpdate`.
pub fn validate(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let empty = json!({});
    let spec = obj.get("spec").unwrap_or(&empty);
    let mut errs = meta::validate(obj, true, meta::dns1035_name);
    if let Some(old) = old {
        errs.extend(meta::validate_update(obj, old));
        errs.extend(update_rules(spec, old.get("spec").unwrap_or(&empty)));
    }
    errs.extend(fields(spec));
    errs
}

fn update_rules(spec: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if svc_type(spec) == "ExternalName" || svc_type(old) == "ExternalName" {
        return errs;
    }
    let old_ips = list_of(old, "clusterIPs");
    let new_ips = list_of(spec, "clusterIPs");
    if let Some(first) = old_ips.first() {
        if new_ips.first() != Some(first) {
            errs.push(FieldError::invalid(
                "spec.clusterIPs[0]",
                Value::Array(new_ips.to_vec()),
                "may not change once set",
            ));
        }
    }
    let old_fams = list_of(old, "ipFamilies");
    let new_fams = list_of(spec, "ipFamilies");
    if let Some(first) = old_fams.first() {
        if let Some(n) = new_fams.first().filter(|n| *n != first) {
            errs.push(FieldError::invalid(
                "spec.ipFamilies[0]",
                n.clone(),
                "may not change once set",
            ));
        }
    }
    errs
}

fn fields(spec: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ports = list_of(spec, "ports");
    let headless = is_headless(spec);
    let t = svc_type(spec);
    if ports.is_empty() && !headless && t != "ExternalName" {
        errs.push(FieldError::required("spec.ports", ""));
    }
    let first_ip = list_of(spec, "clusterIPs")
        .first()
        .cloned()
        .unwrap_or_else(|| json!(str_or_empty(spec, "clusterIP")));
    let none = str_or_empty(spec, "clusterIP") == "None" || first_ip == "None";
    match t {
        "LoadBalancer" | "NodePort" if none => errs.push(FieldError::invalid(
            "spec.clusterIPs[0]",
            first_ip.clone(),
            format!("may not be set to 'None' for {t} services"),
        )),
        "ExternalName" => {
            if !str_or_empty(spec, "clusterIP").is_empty()
                || !list_of(spec, "clusterIPs").is_empty()
            {
                errs.push(FieldError::forbidden(
                    "spec.clusterIPs",
                    "may not be set for ExternalName services",
                ));
            }
            if !list_of(spec, "ipFamilies").is_empty() {
                errs.push(FieldError::forbidden(
                    "spec.ipFamilies",
                    "may not be set for ExternalName services",
                ));
            }
            if has(spec, "ipFamilyPolicy") {
                errs.push(FieldError::forbidden(
                    "spec.ipFamilyPolicy",
                    "may not be set for ExternalName services",
                ));
            }
            let cname = str_or_empty(spec, "externalName");
            let cname = cname.strip_suffix('.').unwrap_or(cname);
            if cname.is_empty() {
                errs.push(FieldError::required("spec.externalName", ""));
            } else {
                for m in names::dns1123_subdomain(cname) {
                    errs.push(FieldError::invalid("spec.externalName", json!(cname), m));
                }
            }
        }
        _ => {}
    }
    let mut port_names = HashSet::new();
    for (i, p) in ports.iter().enumerate() {
        errs.extend(port(
            p,
            &index("spec.ports", i),
            ports.len() > 1,
            &mut port_names,
        ));
    }
    errs.extend(meta::labels(spec, "selector", "spec.selector"));
    match str_or_empty(spec, "sessionAffinity") {
        "" => errs.push(FieldError::required("spec.sessionAffinity", "")),
        "ClientIP" => {
            let timeout = spec.pointer("/sessionAffinityConfig/clientIP/timeoutSeconds");
            match timeout.and_then(Value::as_i64) {
                None => errs.push(FieldError::required(
                    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                    "",
                )),
                Some(s) if s <= 0 || s > MAX_CLIENT_IP_AFFINITY_SECONDS => {
                    errs.push(FieldError::invalid(
                        "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                        json!(s),
                        format!(
                            "must be greater than 0 and less than {MAX_CLIENT_IP_AFFINITY_SECONDS}"
                        ),
                    ))
                }
                Some(_) => {}
            }
        }
        "None" => {
            if has(spec, "sessionAffinityConfig") {
                errs.push(FieldError::forbidden(
                    "spec.sessionAffinityConfig",
                    "must not be set when session affinity is None",
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            "spec.sessionAffinity",
            json!(other),
            &["ClientIP", "None"],
        )),
    }
    errs.extend(cluster_ips(spec));
    for (i, ip) in list_of(spec, "externalIPs").iter().enumerate() {
        let s = ip.as_str().unwrap_or("");
        if s.parse::<std::net::IpAddr>().is_err() {
            errs.push(FieldError::invalid(
                index("spec.externalIPs", i),
                json!(s),
                "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            ));
        }
    }
    match t {
        "" => errs.push(FieldError::required("spec.type", "")),
        x if SERVICE_TYPES.contains(&x) => {}
        x => errs.push(FieldError::not_supported(
            "spec.type",
            json!(x),
            SERVICE_TYPES,
        )),
    }
    errs.extend(node_ports(spec, ports));
    errs.extend(traffic_policies(spec));
    errs
}

fn port(p: &Value, path: &str, require_name: bool, seen: &mut HashSet<String>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = str_or_empty(p, "name");
    if require_name && name.is_empty() {
        errs.push(FieldError::required(child(path, "name"), ""));
    } else if !name.is_empty() {
        for m in names::dns1123_label(name) {
            errs.push(FieldError::invalid(child(path, "name"), json!(name), m));
        }
        if !seen.insert(name.to_string()) {
            errs.push(FieldError::duplicate(child(path, "name"), json!(name)));
        }
    }
    let number = int_of(p, "port").unwrap_or(0);
    for m in names::port_num(number) {
        errs.push(FieldError::invalid(child(path, "port"), json!(number), m));
    }
    errs.extend(protocol(p, &child(path, "protocol")));
    errs.extend(port_num_or_name(
        p.get("targetPort"),
        &child(path, "targetPort"),
    ));
    if let Some(ap) = p.get("appProtocol").and_then(Value::as_str) {
        for m in names::qualified_name(ap) {
            errs.push(FieldError::invalid(
                child(path, "appProtocol"),
                json!(ap),
                m,
            ));
        }
    }
    errs
}

fn node_ports(spec: &Value, ports: &[Value]) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let t = svc_type(spec);
    let mut seen_node = HashSet::new();
    let mut seen_port = HashSet::new();
    for (i, p) in ports.iter().enumerate() {
        let path = index("spec.ports", i);
        let proto = str_or_empty(p, "protocol");
        let np = int_of(p, "nodePort").unwrap_or(0);
        if np != 0 {
            if t == "ClusterIP" {
                errs.push(FieldError::forbidden(
                    child(&path, "nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                ));
            } else if !(NODE_PORT_RANGE.0..=NODE_PORT_RANGE.1).contains(&np) {
                errs.push(FieldError::invalid(
                    child(&path, "nodePort"),
                    json!(np),
                    format!(
                        "provided port is not in the valid range. The range of valid ports is {}-{}",
                        NODE_PORT_RANGE.0, NODE_PORT_RANGE.1
                    ),
                ));
            }
            if !seen_node.insert((proto, np)) {
                errs.push(FieldError::duplicate(child(&path, "nodePort"), json!(np)));
            }
        }
        let number = int_of(p, "port").unwrap_or(0);
        if !seen_port.insert((proto, number)) {
            errs.push(FieldError::duplicate(
                &path,
                json!({"port": number, "protocol": proto}),
            ));
        }
    }
    errs
}

fn cluster_ips(spec: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ip = str_or_empty(spec, "clusterIP");
    let ips = list_of(spec, "clusterIPs");
    let ips_value = Value::Array(ips.to_vec());
    if !ip.is_empty() {
        match ips.first() {
            None => errs.push(FieldError::required("spec.clusterIPs", "")),
            Some(first) if first != ip => errs.push(FieldError::invalid(
                "spec.clusterIPs",
                ips_value.clone(),
                "first value must match `clusterIP`",
            )),
            Some(_) => {}
        }
    } else if !ips.is_empty() {
        errs.push(FieldError::invalid(
            "spec.clusterIPs",
            ips_value.clone(),
            "must be empty when `clusterIP` is not specified",
        ));
    }
    let mut families = HashSet::new();
    for (i, f) in list_of(spec, "ipFamilies").iter().enumerate() {
        let s = f.as_str().unwrap_or("");
        if s != "IPv4" && s != "IPv6" {
            errs.push(FieldError::not_supported(
                index("spec.ipFamilies", i),
                json!(s),
                &["IPv4", "IPv6"],
            ));
        }
        if !families.insert(s) {
            errs.push(FieldError::duplicate(index("spec.ipFamilies", i), json!(s)));
        }
    }
    if let Some(p) = spec.get("ipFamilyPolicy").and_then(Value::as_str) {
        let ok = ["PreferDualStack", "RequireDualStack", "SingleStack"];
        if !ok.contains(&p) {
            errs.push(FieldError::not_supported(
                "spec.ipFamilyPolicy",
                json!(p),
                &ok,
            ));
        }
    }
    for (i, v) in ips.iter().enumerate() {
        let s = v.as_str().unwrap_or("");
        if i == 0 && s == "None" {
            if ips.len() > 1 {
                errs.push(FieldError::invalid(
                    "spec.clusterIPs",
                    ips_value.clone(),
                    "'None' must be the first and only value",
                ));
            }
            continue;
        }
        if s.parse::<std::net::IpAddr>().is_err() {
            errs.push(FieldError::invalid(
                index("spec.clusterIPs", i),
                json!(s),
                "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            ));
        }
    }
    if ips.len() > 2 {
        errs.push(FieldError::invalid(
            "spec.clusterIPs",
            ips_value,
            "may only hold up to 2 values",
        ));
    }
    errs
}

fn traffic_policies(spec: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let etp = str_or_empty(spec, "externalTrafficPolicy");
    if !externally_accessible(spec) {
        if !etp.is_empty() {
            errs.push(FieldError::invalid(
                "spec.externalTrafficPolicy",
                json!(etp),
                "may only be set for externally-accessible services",
            ));
        }
    } else if etp.is_empty() {
        errs.push(FieldError::required("spec.externalTrafficPolicy", ""));
    } else if etp != "Cluster" && etp != "Local" {
        errs.push(FieldError::not_supported(
            "spec.externalTrafficPolicy",
            json!(etp),
            &["Cluster", "Local"],
        ));
    }
    let hc = int_of(spec, "healthCheckNodePort").unwrap_or(0);
    if hc != 0 && !(svc_type(spec) == "LoadBalancer" && etp == "Local") {
        errs.push(FieldError::invalid(
            "spec.healthCheckNodePort",
            json!(hc),
            "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
        ));
    }
    match spec.get("internalTrafficPolicy").and_then(Value::as_str) {
        None if matches!(svc_type(spec), "NodePort" | "LoadBalancer" | "ClusterIP") => {
            errs.push(FieldError::required("spec.internalTrafficPolicy", ""));
        }
        Some(p) if p != "Cluster" && p != "Local" => {
            errs.push(FieldError::not_supported(
                "spec.internalTrafficPolicy",
                json!(p),
                &["Cluster", "Local"],
            ));
        }
        _ => {}
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(spec: Value) -> Value {
        let mut s = json!({"metadata": {"name": "web", "namespace": "default"}, "spec": spec});
        apply_defaults(&mut s);
        prepare_for_create(&mut s);
        s
    }

    fn fields(errs: &[FieldError]) -> Vec<&str> {
        errs.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn cluster_ip_service_gets_upstream_defaults() {
        let s = svc(json!({"selector": {"app": "web"}, "ports": [{"port": 80}]}));
        let spec = &s["spec"];
        assert_eq!(spec["type"], "ClusterIP");
        assert_eq!(spec["sessionAffinity"], "None");
        assert_eq!(
            spec["ports"][0],
            json!({"port": 80, "protocol": "TCP", "targetPort": 80})
        );
        assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
        assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
        assert_eq!(spec["internalTrafficPolicy"], "Cluster");
        assert!(spec.get("externalTrafficPolicy").is_none());
        assert_eq!(s["status"], json!({"loadBalancer": {}}));
        assert!(validate(&s, None).is_empty());
    }

    #[test]
    fn node_port_and_load_balancer_get_external_traffic_policy() {
        let s = svc(json!({"type": "LoadBalancer", "ports": [{"port": 80, "targetPort": "http"}]}));
        assert_eq!(s["spec"]["externalTrafficPolicy"], "Cluster");
        assert_eq!(s["spec"]["allocateLoadBalancerNodePorts"], true);
        assert_eq!(s["spec"]["ports"][0]["targetPort"], "http");
        assert!(validate(&s, None).is_empty());
        let s = svc(json!({"sessionAffinity": "ClientIP", "ports": [{"port": 80}]}));
        assert_eq!(
            s["spec"]["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"],
            10800
        );
    }

    #[test]
    fn headless_services_need_no_ports_and_external_names_no_ips() {
        let s = svc(json!({"clusterIP": "None", "selector": {"a": "b"}}));
        assert_eq!(s["spec"]["clusterIPs"], json!(["None"]));
        assert!(validate(&s, None).is_empty());
        let s = svc(json!({"type": "ExternalName", "externalName": "example.com."}));
        assert!(s["spec"].get("ipFamilies").is_none());
        assert!(validate(&s, None).is_empty());
        let s = svc(json!({"type": "ExternalName"}));
        assert_eq!(fields(&validate(&s, None)), ["spec.externalName"]);
    }

    #[test]
    fn service_names_are_dns1035_labels() {
        let mut s = svc(json!({"ports": [{"port": 80}]}));
        s["metadata"]["name"] = json!("1web");
        let errs = validate(&s, None);
        assert_eq!(fields(&errs), ["metadata.name"]);
        assert!(errs[0].detail.starts_with("a DNS-1035 label"));
    }

    #[test]
    fn ports_are_required_ranged_named_and_unique() {
        let s = svc(json!({"ports": []}));
        assert_eq!(fields(&validate(&s, None)), ["spec.ports"]);
        let s = svc(
            json!({"ports": [{"name": "a", "port": 0}, {"name": "a", "port": 80}, {"port": 80}]}),
        );
        let errs = validate(&s, None);
        assert_eq!(
            fields(&errs),
            [
                "spec.ports[0].port",
                "spec.ports[0].targetPort",
                "spec.ports[1].name",
                "spec.ports[2].name",
                "spec.ports[2]",
            ]
        );
        assert_eq!(
            errs[2].message(),
            "spec.ports[1].name: Duplicate value: \"a\""
        );
    }

    #[test]
    fn type_values_node_port_range_and_none_ip_rules() {
        let s = svc(json!({"type": "Magic", "ports": [{"port": 80}]}));
        let errs = validate(&s, None);
        assert_eq!(
            errs[0].message(),
            "spec.type: Unsupported value: \"Magic\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""
        );
        let s = svc(json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 80}]}));
        assert_eq!(fields(&validate(&s, None)), ["spec.ports[0].nodePort"]);
        let s = svc(json!({"ports": [{"port": 80, "nodePort": 30001}]}));
        assert_eq!(
            validate(&s, None)[0].message(),
            "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"
        );
        let s = svc(json!({"type": "NodePort", "clusterIP": "None", "ports": [{"port": 80}]}));
        assert_eq!(fields(&validate(&s, None)), ["spec.clusterIPs[0]"]);
        let s = svc(json!({"selector": {"bad key": "x"}, "ports": [{"port": 80}]}));
        assert_eq!(fields(&validate(&s, None)), ["spec.selector"]);
    }

    #[test]
    fn cluster_ip_may_not_change_once_set_but_is_kept_when_omitted() {
        let mut old = svc(json!({"ports": [{"port": 80}]}));
        old["spec"]["clusterIP"] = json!("10.43.0.10");
        old["spec"]["clusterIPs"] = json!(["10.43.0.10"]);
        let mut new = old.clone();
        new["spec"]["clusterIP"] = json!("10.43.0.11");
        new["spec"]["clusterIPs"] = json!(["10.43.0.11"]);
        let errs = validate(&new, Some(&old));
        assert_eq!(
            errs[0].message(),
            "spec.clusterIPs[0]: Invalid value: [\"10.43.0.11\"]: may not change once set"
        );
        let mut omitted =
            json!({"metadata": old["metadata"].clone(), "spec": {"ports": [{"port": 81}]}});
        apply_defaults(&mut omitted);
        prepare_for_update(&mut omitted, &old);
        assert_eq!(omitted["spec"]["clusterIPs"], json!(["10.43.0.10"]));
        assert!(validate(&omitted, Some(&old)).is_empty());
    }
}
