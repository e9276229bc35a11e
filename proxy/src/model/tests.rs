//! Unit tests of the model builder: one small fixture per rule and fallback.

use std::net::IpAddr;
use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::{json, Value};

use super::*;

fn svc(name: &str, spec: Value) -> Service {
    serde_json::from_value(json!({
        "metadata": {"namespace": "default", "name": name},
        "spec": spec,
    }))
    .unwrap()
}

fn slice(name: &str, service: &str, ports: Value, endpoints: Value) -> EndpointSlice {
    serde_json::from_value(json!({
        "metadata": {"namespace": "default", "name": name,
                     "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "ports": ports,
        "endpoints": endpoints,
    }))
    .unwrap()
}

fn node() -> NodeContext {
    NodeContext {
        name: "node-a".into(),
        node_ips: vec![ip("192.168.1.10")],
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn web(extra: Value) -> Service {
    let mut spec = json!({"clusterIP": "10.43.0.10", "ports": [{"name": "http", "port": 80}]});
    spec.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    svc("web", spec)
}

fn http_slice(endpoints: Value) -> EndpointSlice {
    slice(
        "web-1",
        "web",
        json!([{"name": "http", "port": 8080, "protocol": "TCP"}]),
        endpoints,
    )
}

fn only_port(services: &[Service], slices: &[EndpointSlice]) -> ServicePort {
    let (model, warnings) = build(services, slices, &node());
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(model.ports.len(), 1, "{model:?}");
    model.ports.into_values().next().unwrap()
}

fn ips(eps: &[Endpoint]) -> Vec<String> {
    eps.iter().map(|e| e.ip.to_string()).collect()
}

#[test]
fn cluster_ip_service_gets_its_ready_endpoints_on_the_target_port() {
    let p = only_port(
        &[web(json!({}))],
        &[http_slice(json!([
            {"addresses": ["10.42.0.5"], "conditions": {"ready": true}, "nodeName": "node-a"},
            {"addresses": ["10.42.1.5"], "conditions": {"ready": true}, "nodeName": "node-b"},
        ]))],
    );
    assert_eq!(p.name.to_string(), "default/web:http/tcp");
    assert_eq!(p.cluster_ips, vec![ip("10.43.0.10")]);
    assert_eq!((p.port, p.protocol, p.node_port), (80, Protocol::Tcp, None));
    assert_eq!(ips(&p.cluster_endpoints), ["10.42.0.5", "10.42.1.5"]);
    assert_eq!(p.cluster_endpoints, p.external_endpoints);
    // With both traffic policies Cluster the two lists are one, held once.
    assert!(std::sync::Arc::ptr_eq(
        &p.cluster_endpoints,
        &p.external_endpoints
    ));
    assert!(p.cluster_endpoints.iter().all(|e| e.port == 8080));
    assert!(p.cluster_endpoints[0].local && !p.cluster_endpoints[1].local);
    assert_eq!(p.local_ready_endpoints, 1);
    assert_eq!(p.affinity_timeout, None);
}

#[test]
fn headless_and_external_name_services_are_not_programmed() {
    let headless = svc(
        "headless",
        json!({"clusterIP": "None", "ports": [{"port": 80}]}),
    );
    let external = svc(
        "ext",
        json!({"type": "ExternalName", "externalName": "example.org", "ports": [{"port": 80}]}),
    );
    let no_ip = svc("pending", json!({"ports": [{"port": 80}]}));
    let (model, warnings) = build(&[headless, external, no_ip], &[], &node());
    assert!(model.ports.is_empty() && warnings.is_empty());
}

#[test]
fn dual_stack_cluster_ips_all_carried() {
    let s = svc(
        "dual",
        json!({"clusterIP": "10.43.0.11", "clusterIPs": ["10.43.0.11", "fd00:43::11"],
               "ports": [{"port": 53, "protocol": "UDP"}]}),
    );
    let p = only_port(&[s], &[]);
    assert_eq!(p.cluster_ips, vec![ip("10.43.0.11"), ip("fd00:43::11")]);
    assert_eq!(p.name.to_string(), "default/dual/udp");
}

#[test]
fn tcp_udp_and_sctp_ports_each_become_a_service_port_and_others_warn() {
    let s = svc(
        "multi",
        json!({"clusterIP": "10.43.0.12", "ports": [
            {"name": "a", "port": 1}, {"name": "b", "port": 2, "protocol": "UDP"},
            {"name": "c", "port": 3, "protocol": "SCTP"}, {"name": "d", "port": 4, "protocol": "QUIC"}]}),
    );
    let (model, warnings) = build(&[s], &[], &node());
    let protocols: Vec<Protocol> = model.ports.values().map(|p| p.protocol).collect();
    assert_eq!(protocols, [Protocol::Tcp, Protocol::Udp, Protocol::Sctp]);
    assert!(matches!(
        &warnings[..],
        [ModelWarning::UnsupportedProtocol { port: 4, .. }]
    ));
}

#[test]
fn node_port_external_ips_and_vip_load_balancer_ingress_are_carried() {
    let mut s = svc(
        "lb",
        json!({"type": "LoadBalancer", "clusterIP": "10.43.0.13", "externalIPs": ["203.0.113.7"],
               "ports": [{"port": 443, "nodePort": 30443}]}),
    );
    s.status = serde_json::from_value(json!({"loadBalancer": {"ingress": [
        {"ip": "198.51.100.1"}, {"ip": "198.51.100.2", "ipMode": "Proxy"},
        {"hostname": "lb.example.org"}]}}))
    .unwrap();
    let p = only_port(&[s], &[]);
    assert_eq!(p.node_port, Some(30443));
    assert_eq!(p.external_ips, vec![ip("203.0.113.7")]);
    assert_eq!(p.load_balancer_ips, vec![ip("198.51.100.1")]);
}

#[test]
fn client_ip_affinity_defaults_to_three_hours_and_honours_timeout_seconds() {
    let default = only_port(&[web(json!({"sessionAffinity": "ClientIP"}))], &[]);
    assert_eq!(default.affinity_timeout, Some(DEFAULT_AFFINITY_TIMEOUT));
    assert_eq!(DEFAULT_AFFINITY_TIMEOUT, Duration::from_secs(10800));
    let custom = only_port(
        &[web(json!({"sessionAffinity": "ClientIP",
                     "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}}))],
        &[],
    );
    assert_eq!(custom.affinity_timeout, Some(Duration::from_secs(60)));
    let none = only_port(&[web(json!({"sessionAffinity": "None"}))], &[]);
    assert_eq!(none.affinity_timeout, None);
}

#[test]
fn slice_ports_match_by_name_and_protocol() {
    let s = svc(
        "dns",
        json!({"clusterIP": "10.43.0.10", "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]}),
    );
    let sl = slice(
        "dns-1",
        "dns",
        json!([{"name": "dns", "port": 5353, "protocol": "UDP"},
               {"name": "dns-tcp", "port": 5354, "protocol": "TCP"},
               {"name": "dns", "port": 9999, "protocol": "TCP"}]),
        json!([{"addresses": ["10.42.0.9"]}]),
    );
    let (model, _) = build(&[s], &[sl], &node());
    let ports: Vec<(String, u16)> = model
        .ports
        .values()
        .map(|p| (p.name.to_string(), p.cluster_endpoints[0].port))
        .collect();
    assert_eq!(
        ports,
        [
            ("default/dns:dns/udp".to_string(), 5353),
            ("default/dns:dns-tcp/tcp".to_string(), 5354)
        ]
    );
}

#[test]
fn slices_of_other_services_namespaces_or_unlabelled_are_ignored() {
    let mut other_ns = http_slice(json!([{"addresses": ["10.42.0.1"]}]));
    other_ns.metadata.namespace = Some("kube-system".into());
    let other_svc = slice(
        "api-1",
        "api",
        json!([{"name": "http", "port": 8080}]),
        json!([{"addresses": ["10.42.0.2"]}]),
    );
    let mut unlabelled = http_slice(json!([{"addresses": ["10.42.0.3"]}]));
    unlabelled.metadata.labels = None;
    let p = only_port(&[web(json!({}))], &[other_ns, other_svc, unlabelled]);
    assert!(p.cluster_endpoints.is_empty());
}

#[test]
fn endpoints_in_several_slices_are_deduplicated_and_a_ready_copy_wins() {
    let a = http_slice(json!([{"addresses": ["10.42.0.5"], "conditions": {"ready": false}}]));
    let mut b = http_slice(json!([
        {"addresses": ["10.42.0.5"], "conditions": {"ready": true}},
        {"addresses": ["10.42.0.6"]}]));
    b.metadata.name = Some("web-2".into());
    let p = only_port(&[web(json!({}))], &[a, b]);
    assert_eq!(ips(&p.cluster_endpoints), ["10.42.0.5", "10.42.0.6"]);
    assert!(p.cluster_endpoints[0].ready);
}

#[test]
fn unset_conditions_take_upstream_defaults() {
    let p = only_port(
        &[web(json!({}))],
        &[http_slice(json!([
            {"addresses": ["10.42.0.1"]},
            {"addresses": ["10.42.0.2"], "conditions": {"ready": false, "terminating": true}},
        ]))],
    );
    // Unset ready is ready; unset serving follows ready; unset terminating is false.
    assert_eq!(ips(&p.cluster_endpoints), ["10.42.0.1"]);
    let e = &p.cluster_endpoints[0];
    assert!(e.ready && e.serving && !e.terminating);
}

#[test]
fn without_ready_endpoints_cluster_traffic_falls_back_to_serving_terminating_ones() {
    let p = only_port(
        &[web(json!({}))],
        &[http_slice(json!([
            {"addresses": ["10.42.0.1"], "conditions": {"ready": false, "serving": true, "terminating": true}},
            {"addresses": ["10.42.0.2"], "conditions": {"ready": false, "serving": false, "terminating": true}},
            {"addresses": ["10.42.0.3"], "conditions": {"ready": false, "serving": false, "terminating": false}},
        ]))],
    );
    assert_eq!(ips(&p.cluster_endpoints), ["10.42.0.1"]);
    assert_eq!(ips(&p.external_endpoints), ["10.42.0.1"]);
}

#[test]
fn with_a_ready_endpoint_terminating_ones_are_not_used() {
    let p = only_port(
        &[web(json!({}))],
        &[http_slice(json!([
            {"addresses": ["10.42.0.1"], "conditions": {"ready": false, "serving": true, "terminating": true}},
            {"addresses": ["10.42.0.2"], "conditions": {"ready": true}},
        ]))],
    );
    assert_eq!(ips(&p.cluster_endpoints), ["10.42.0.2"]);
}

#[test]
fn internal_traffic_policy_local_uses_only_local_endpoints_and_never_remote_ones() {
    let local_and_remote = json!([
        {"addresses": ["10.42.0.1"], "nodeName": "node-a"},
        {"addresses": ["10.42.1.1"], "nodeName": "node-b"},
    ]);
    let p = only_port(
        &[web(json!({"internalTrafficPolicy": "Local"}))],
        &[http_slice(local_and_remote)],
    );
    assert_eq!(ips(&p.cluster_endpoints), ["10.42.0.1"]);

    let remote_only = json!([{"addresses": ["10.42.1.1"], "nodeName": "node-b"}]);
    let p = only_port(
        &[web(json!({"internalTrafficPolicy": "Local"}))],
        &[http_slice(remote_only)],
    );
    assert!(p.cluster_endpoints.is_empty());
}

#[test]
fn internal_local_falls_back_to_local_serving_terminating_endpoints() {
    let p = only_port(
        &[web(json!({"internalTrafficPolicy": "Local"}))],
        &[http_slice(json!([
            {"addresses": ["10.42.0.1"], "nodeName": "node-a",
             "conditions": {"ready": false, "serving": true, "terminating": true}},
            {"addresses": ["10.42.1.1"], "nodeName": "node-b"},
        ]))],
    );
    assert_eq!(ips(&p.cluster_endpoints), ["10.42.0.1"]);
}

#[test]
fn external_traffic_policy_local_limits_external_traffic_but_not_cluster_traffic() {
    let s = web(json!({"type": "NodePort", "externalTrafficPolicy": "Local",
                       "ports": [{"name": "http", "port": 80, "nodePort": 30080}]}));
    let p = only_port(
        &[s],
        &[http_slice(json!([
            {"addresses": ["10.42.0.1"], "nodeName": "node-a"},
            {"addresses": ["10.42.1.1"], "nodeName": "node-b"},
        ]))],
    );
    assert!(p.external_local && !p.internal_local);
    assert_eq!(ips(&p.external_endpoints), ["10.42.0.1"]);
    assert_eq!(ips(&p.cluster_endpoints), ["10.42.0.1", "10.42.1.1"]);
}

#[test]
fn external_local_falls_back_to_local_serving_terminating_then_to_nothing() {
    let s = || {
        web(json!({"type": "NodePort", "externalTrafficPolicy": "Local",
                   "ports": [{"name": "http", "port": 80, "nodePort": 30080}]}))
    };
    let p = only_port(
        &[s()],
        &[http_slice(json!([
            {"addresses": ["10.42.0.1"], "nodeName": "node-a",
             "conditions": {"ready": false, "serving": true, "terminating": true}},
            {"addresses": ["10.42.1.1"], "nodeName": "node-b"},
        ]))],
    );
    assert_eq!(ips(&p.external_endpoints), ["10.42.0.1"]);
    assert_eq!(p.local_ready_endpoints, 0);
    let p = only_port(
        &[s()],
        &[http_slice(
            json!([{"addresses": ["10.42.1.1"], "nodeName": "node-b"}]),
        )],
    );
    assert!(p.external_endpoints.is_empty());
    assert_eq!(ips(&p.cluster_endpoints), ["10.42.1.1"]);
}

#[test]
fn external_policy_local_without_external_access_is_ignored() {
    let p = only_port(&[web(json!({"externalTrafficPolicy": "Local"}))], &[]);
    assert!(!p.external_local);
}

#[test]
fn health_check_node_port_is_kept_only_with_external_policy_local() {
    let lb = |policy: &str| {
        web(
            json!({"type": "LoadBalancer", "externalTrafficPolicy": policy,
                   "healthCheckNodePort": 32000,
                   "ports": [{"name": "http", "port": 80, "nodePort": 30080}]}),
        )
    };
    let local = only_port(
        &[lb("Local")],
        &[http_slice(json!([
            {"addresses": ["10.42.0.1"], "nodeName": "node-a"},
            {"addresses": ["10.42.0.2"], "nodeName": "node-a"},
            {"addresses": ["10.42.0.3"], "nodeName": "node-a", "conditions": {"ready": false}},
        ]))],
    );
    assert_eq!(local.health_check_node_port, Some(32000));
    assert_eq!(local.local_ready_endpoints, 2);
    assert_eq!(
        only_port(&[lb("Cluster")], &[]).health_check_node_port,
        None
    );
}

#[test]
fn unusable_addresses_are_reported_and_skipped() {
    let s = web(json!({"externalIPs": ["not-an-ip"]}));
    let sl = http_slice(json!([{"addresses": ["10.42.0.1"]}, {"addresses": ["bogus"]}]));
    let (model, warnings) = build(&[s], &[sl], &node());
    let p = model.ports.values().next().unwrap();
    assert!(p.external_ips.is_empty());
    assert_eq!(ips(&p.cluster_endpoints), ["10.42.0.1"]);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].to_string().contains("default/web"));
    assert!(warnings[1].to_string().contains("default/web-1"));
}

#[test]
fn endpoints_are_not_local_when_the_node_name_is_unknown() {
    let (model, _) = build(
        &[web(json!({}))],
        &[http_slice(json!([{"addresses": ["10.42.0.1"]}]))],
        &NodeContext::default(),
    );
    assert!(!model.ports.values().next().unwrap().cluster_endpoints[0].local);
}
