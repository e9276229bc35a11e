//! The service model from objects as the real API server stores them: a Service and an
//! EndpointSlice created with kubectl, listed back with kube-rs, built into the model.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams};
use skiff_proxy::model::{build, NodeContext, Protocol};
use skiff_tests::apiserver::{ApiServer, Kubectl};
use skiff_tests::guard::{require, Need};
use skiff_tests::kube_client::client;

const MANIFEST: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: default}
spec:
  type: NodePort
  clusterIP: 10.43.0.60
  externalTrafficPolicy: Local
  sessionAffinity: ClientIP
  ports:
  - {name: tcp, port: 80, targetPort: 8080, nodePort: 30080}
  - {name: udp, port: 53, targetPort: 5353, protocol: UDP}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: echo-manual
  namespace: default
  labels: {kubernetes.io/service-name: echo, endpointslice.kubernetes.io/managed-by: skiff-tests}
addressType: IPv4
ports:
- {name: tcp, port: 8080, protocol: TCP}
- {name: udp, port: 5353, protocol: UDP}
endpoints:
- addresses: [10.42.0.5]
  nodeName: node-a
  conditions: {ready: true}
- addresses: [10.42.1.5]
  nodeName: node-b
- addresses: [10.42.0.6]
  nodeName: node-a
  conditions: {ready: false, serving: true, terminating: true}
"#;

#[test]
#[ignore = "needs the skiff-control-plane binary and kubectl"]
fn model_from_objects_created_with_kubectl() {
    require(&[Need::File(
        "/usr/lib/google-cloud-sdk/bin/kubectl.1.33",
        "google-cloud-sdk (kubectl 1.33)",
    )]);
    let server = ApiServer::start();
    Kubectl::new("1.33", &server).ok_stdin(&["create", "-f", "-"], MANIFEST);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (services, slices) = runtime.block_on(async {
        let client = client(&server).await;
        let services = Api::<Service>::all(client.clone())
            .list(&ListParams::default())
            .await
            .expect("list services");
        let slices = Api::<EndpointSlice>::all(client)
            .list(&ListParams::default())
            .await
            .expect("list endpointslices");
        (services.items, slices.items)
    });
    let node = NodeContext {
        name: "node-a".into(),
        node_ips: vec!["192.168.1.10".parse().unwrap()],
    };
    let (model, warnings) = build(&services, &slices, &node);
    assert!(warnings.is_empty(), "{warnings:?}");
    let echo: Vec<_> = model
        .ports
        .values()
        .filter(|p| p.name.namespace == "default" && p.name.name == "echo")
        .collect();
    assert_eq!(echo.len(), 2, "{model:?}");
    let tcp = echo.iter().find(|p| p.protocol == Protocol::Tcp).unwrap();
    let udp = echo.iter().find(|p| p.protocol == Protocol::Udp).unwrap();
    assert_eq!(
        tcp.cluster_ips,
        vec!["10.43.0.60".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!((tcp.port, tcp.node_port), (80, Some(30080)));
    assert!(tcp.affinity_timeout.is_some() && tcp.external_local);
    let addrs = |eps: &[skiff_proxy::model::Endpoint]| {
        eps.iter()
            .map(|e| format!("{}:{}", e.ip, e.port))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        addrs(&tcp.cluster_endpoints),
        ["10.42.0.5:8080", "10.42.1.5:8080"]
    );
    assert_eq!(addrs(&tcp.external_endpoints), ["10.42.0.5:8080"]);
    assert_eq!(
        addrs(&udp.cluster_endpoints),
        ["10.42.0.5:5353", "10.42.1.5:5353"]
    );
    assert_eq!(tcp.local_ready_endpoints, 1);
}
