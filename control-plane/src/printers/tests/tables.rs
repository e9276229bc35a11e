use serde_json::{json, Value};

use super::{ago, kind, now};
use crate::printers::columns::PRINTED_KINDS;
use crate::printers::{column_definitions, object_table, row, table, IncludeObject};

fn names(kind_name: &str) -> Vec<(String, i64)> {
    column_definitions(kind(kind_name))
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_uppercase(),
                c["priority"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn headers(kind_name: &str, wide: bool) -> String {
    names(kind_name)
        .into_iter()
        .filter(|(_, p)| wide || *p == 0)
        .map(|(n, _)| n)
        .collect::<Vec<_>>()
        .join(" ")
}

fn cells(kind_name: &str, obj: &Value) -> Vec<Value> {
    row(kind(kind_name), obj, IncludeObject::None, now())["cells"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn columns_match_kubectl_headers_for_every_served_kind() {
    let expect = [
        ("Namespace", "NAME STATUS AGE", "NAME STATUS AGE"),
        ("Node", "NAME STATUS ROLES AGE VERSION", "NAME STATUS ROLES AGE VERSION INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION CONTAINER-RUNTIME"),
        ("Pod", "NAME READY STATUS RESTARTS AGE", "NAME READY STATUS RESTARTS AGE IP NODE NOMINATED NODE READINESS GATES"),
        ("Service", "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE", "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE SELECTOR"),
        ("Endpoints", "NAME ENDPOINTS AGE", "NAME ENDPOINTS AGE"),
        ("ConfigMap", "NAME DATA AGE", "NAME DATA AGE"),
        ("Secret", "NAME TYPE DATA AGE", "NAME TYPE DATA AGE"),
        ("ServiceAccount", "NAME SECRETS AGE", "NAME SECRETS AGE"),
        ("Event", "LAST SEEN TYPE REASON OBJECT MESSAGE", "LAST SEEN TYPE REASON OBJECT SUBOBJECT SOURCE MESSAGE FIRST SEEN COUNT NAME"),
        ("Deployment", "NAME READY UP-TO-DATE AVAILABLE AGE", "NAME READY UP-TO-DATE AVAILABLE AGE CONTAINERS IMAGES SELECTOR"),
        ("ReplicaSet", "NAME DESIRED CURRENT READY AGE", "NAME DESIRED CURRENT READY AGE CONTAINERS IMAGES SELECTOR"),
        ("DaemonSet", "NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE", "NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE CONTAINERS IMAGES SELECTOR"),
        ("EndpointSlice", "NAME ADDRESSTYPE PORTS ENDPOINTS AGE", "NAME ADDRESSTYPE PORTS ENDPOINTS AGE"),
        ("Lease", "NAME HOLDER AGE", "NAME HOLDER AGE"),
    ];
    for (k, narrow, wide) in expect {
        assert_eq!(headers(k, false), narrow, "{k}");
        assert_eq!(headers(k, true), wide, "{k} wide");
    }
}

#[test]
fn column_definitions_carry_types_formats_and_descriptions() {
    let cols = column_definitions(kind("Pod"));
    let name = &cols[0];
    assert_eq!(name["name"], "Name");
    assert_eq!(name["type"], "string");
    assert_eq!(name["format"], "name");
    assert_eq!(name["priority"], 0);
    assert!(name["description"]
        .as_str()
        .unwrap()
        .starts_with("Name must be unique within a namespace"));
    assert_eq!(cols[3]["name"], "Restarts");
    assert_eq!(cols[3]["type"], "string");
    assert_eq!(cols[3]["format"], "");
    assert!(cols[4]["description"]
        .as_str()
        .unwrap()
        .starts_with("CreationTimestamp is a timestamp"));
    assert!(cols[5]["description"]
        .as_str()
        .unwrap()
        .starts_with("podIP address allocated"));
    let rs = column_definitions(kind("ReplicaSet"));
    assert_eq!(rs[1]["type"], "integer");
    assert!(!rs[1]["description"].as_str().unwrap().is_empty());
    let ev = column_definitions(kind("Event"));
    assert_eq!(ev[9]["format"], "name");
    assert_eq!(ev[9]["priority"], 1);
    for k in [
        "Namespace",
        "Node",
        "Service",
        "Secret",
        "Lease",
        "EndpointSlice",
        "DaemonSet",
    ] {
        for c in column_definitions(kind(k)).as_array().unwrap() {
            assert!(
                c["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{k} {}",
                c["name"]
            );
        }
    }
}

#[test]
fn every_row_has_one_cell_per_column() {
    for k in PRINTED_KINDS {
        let cols = column_definitions(kind(k)).as_array().unwrap().len();
        assert_eq!(
            cells(k, &json!({"metadata": {"name": "x"}})).len(),
            cols,
            "{k}"
        );
    }
}

#[test]
fn table_copies_list_metadata_and_includes_objects_as_asked() {
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default", "resourceVersion": "7", "creationTimestamp": ago(45)}, "status": {"phase": "Active"}});
    let t = table(
        kind("Namespace"),
        std::slice::from_ref(&ns),
        json!({"resourceVersion": "9", "continue": "abc"}),
        IncludeObject::Metadata,
        now(),
    );
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(
        t["metadata"],
        json!({"resourceVersion": "9", "continue": "abc"})
    );
    assert_eq!(t["rows"][0]["cells"], json!(["default", "Active", "45s"]));
    assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(t["rows"][0]["object"]["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(t["rows"][0]["object"]["metadata"]["resourceVersion"], "7");
    assert!(t["rows"][0]["object"].get("status").is_none());
    let none = row(kind("Namespace"), &ns, IncludeObject::None, now());
    assert!(none.get("object").is_none());
    let full = row(kind("Namespace"), &ns, IncludeObject::Object, now());
    assert_eq!(full["object"], ns);
    let event = object_table(kind("Namespace"), &ns, IncludeObject::None, now(), false);
    assert_eq!(event["metadata"], json!({"resourceVersion": "7"}));
    assert_eq!(event["columnDefinitions"], Value::Null);
    assert_eq!(event["rows"].as_array().unwrap().len(), 1);
    let first = object_table(kind("Namespace"), &ns, IncludeObject::None, now(), true);
    assert_eq!(first["columnDefinitions"].as_array().unwrap().len(), 3);
}

#[test]
fn include_object_parses_the_query_parameter() {
    use crate::printers::IncludeObject as I;
    assert_eq!(I::from_query(None).unwrap(), I::Metadata);
    assert_eq!(I::from_query(Some("None")).unwrap(), I::None);
    assert_eq!(I::from_query(Some("Object")).unwrap(), I::Object);
    assert!(I::from_query(Some("All")).is_err());
}

#[test]
fn node_rows_show_status_roles_and_wide_info() {
    let node = json!({
        "metadata": {"name": "n1", "creationTimestamp": ago(51 * 3600), "labels": {
            "node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/master": "",
            "kubernetes.io/role": "worker", "node-role.kubernetes.io/": "x"}},
        "spec": {"unschedulable": true},
        "status": {
            "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
            "addresses": [{"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "10.0.0.5"}],
            "nodeInfo": {"kubeletVersion": "v1.33.0", "osImage": "Debian", "kernelVersion": "6.1.0"}
        }
    });
    assert_eq!(
        cells("Node", &node),
        vec![
            json!("n1"),
            json!("Ready,SchedulingDisabled"),
            json!("control-plane,master,worker"),
            json!("2d3h"),
            json!("v1.33.0"),
            json!("10.0.0.5"),
            json!("<none>"),
            json!("Debian"),
            json!("6.1.0"),
            json!("<unknown>")
        ]
    );
    let bare = json!({"metadata": {"name": "n2"}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
    let c = cells("Node", &bare);
    assert_eq!(c[1], "NotReady");
    assert_eq!(c[2], "<none>");
    assert_eq!(c[3], "<unknown>");
    assert_eq!(
        cells("Node", &json!({"metadata": {"name": "n3"}}))[1],
        "Unknown"
    );
}

#[test]
fn service_rows_print_ports_and_external_ips() {
    let svc = |ty: &str, extra: Value| {
        let mut s = json!({"metadata": {"name": "web", "creationTimestamp": ago(3600 * 5)},
            "spec": {"type": ty, "clusterIP": "10.43.0.10", "clusterIPs": ["10.43.0.10"],
                     "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP", "nodePort": 30053}],
                     "selector": {"app": "web"}}});
        if let (Some(spec), Some(extra)) = (s["spec"].as_object_mut(), extra.as_object()) {
            spec.extend(extra.clone());
        }
        s
    };
    let c = cells("Service", &svc("NodePort", json!({})));
    assert_eq!(
        c,
        vec![
            json!("web"),
            json!("NodePort"),
            json!("10.43.0.10"),
            json!("<none>"),
            json!("80/TCP,53:30053/UDP"),
            json!("5h"),
            json!("app=web")
        ]
    );
    assert_eq!(
        cells(
            "Service",
            &svc("ClusterIP", json!({"externalIPs": ["1.2.3.4"]}))
        )[3],
        "1.2.3.4"
    );
    assert_eq!(
        cells("Service", &svc("LoadBalancer", json!({})))[3],
        "<pending>"
    );
    let mut lb = svc("LoadBalancer", json!({"externalIPs": ["9.9.9.9"]}));
    lb["status"] =
        json!({"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}, {"hostname": "lb.example.com"}]}});
    assert_eq!(cells("Service", &lb)[3], "5.6.7.8,lb.example.com,9.9.9.9");
    assert_eq!(
        cells(
            "Service",
            &svc("ExternalName", json!({"externalName": "db.example.com"}))
        )[3],
        "db.example.com"
    );
    let headless = json!({"metadata": {"name": "h"}, "spec": {"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"]}});
    let c = cells("Service", &headless);
    assert_eq!(c[2], "None");
    assert_eq!(c[4], "<none>");
    assert_eq!(c[6], "<none>");
}

#[test]
fn endpoints_rows_list_three_addresses_then_more() {
    let ep = json!({"metadata": {"name": "web"}, "subsets": [
        {"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 80}, {"port": 443}]},
        {"addresses": [{"ip": "fd00::1"}]}
    ]});
    assert_eq!(
        cells("Endpoints", &ep)[1],
        "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 2 more..."
    );
    let v6 = json!({"metadata": {"name": "x"}, "subsets": [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}]});
    assert_eq!(cells("Endpoints", &v6)[1], "[fd00::1]:80");
    assert_eq!(
        cells("Endpoints", &json!({"metadata": {"name": "e"}}))[1],
        "<none>"
    );
    let slice = json!({"metadata": {"name": "web-abc"}, "addressType": "IPv4",
        "ports": [{"port": 80}, {"name": "dns"}, {}],
        "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3", "10.0.0.4"]}]});
    let c = cells("EndpointSlice", &slice);
    assert_eq!(c[1], "IPv4");
    assert_eq!(c[2], "80,dns,*");
    assert_eq!(c[3], "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...");
    assert_eq!(
        cells("EndpointSlice", &json!({"metadata": {"name": "e"}}))[3],
        "<unset>"
    );
}

#[test]
fn config_secret_account_and_lease_rows_count_their_content() {
    let cm =
        json!({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}, "binaryData": {"c": ""}});
    assert_eq!(cells("ConfigMap", &cm)[1], 3);
    let secret = json!({"metadata": {"name": "s"}, "type": "Opaque", "data": {"a": ""}, "stringData": {"a": "x", "b": "y"}});
    assert_eq!(cells("Secret", &secret)[1..3], [json!("Opaque"), json!(2)]);
    let sa = json!({"metadata": {"name": "default"}, "secrets": [{"name": "t"}]});
    assert_eq!(cells("ServiceAccount", &sa)[1], 1);
    assert_eq!(
        cells("ServiceAccount", &json!({"metadata": {"name": "d"}}))[1],
        0
    );
    let lease = json!({"metadata": {"name": "n1"}, "spec": {"holderIdentity": "n1"}});
    assert_eq!(cells("Lease", &lease)[1], "n1");
    assert_eq!(cells("Lease", &json!({"metadata": {"name": "l"}}))[1], "");
}

#[test]
fn event_rows_follow_upstream_fallbacks() {
    let ev = json!({"metadata": {"name": "web.1"}, "type": "Normal", "reason": "Scheduled",
        "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{c}"},
        "source": {"component": "default-scheduler"}, "message": " Successfully assigned \n",
        "firstTimestamp": ago(600), "lastTimestamp": ago(30), "count": 3});
    assert_eq!(
        cells("Event", &ev),
        vec![
            json!("30s"),
            json!("Normal"),
            json!("Scheduled"),
            json!("pod/web"),
            json!("spec.containers{c}"),
            json!("default-scheduler"),
            json!("Successfully assigned"),
            json!("10m"),
            json!(3),
            json!("web.1")
        ]
    );
    let new_api = json!({"metadata": {"name": "e"}, "involvedObject": {"kind": "Node"},
        "eventTime": format!("{}", ago(91).replace('Z', ".123456Z")), "reportingComponent": "kubelet", "reportingInstance": "n1"});
    let c = cells("Event", &new_api);
    assert_eq!(c[0], "90s");
    assert_eq!(c[3], "node");
    assert_eq!(c[5], "kubelet, n1");
    assert_eq!(c[7], "90s");
    assert_eq!(c[8], 1);
    let series = json!({"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p"},
        "eventTime": ago(3600), "series": {"count": 7, "lastObservedTime": ago(5)}});
    let c = cells("Event", &series);
    assert_eq!((c[0].clone(), c[8].clone()), (json!("5s"), json!(7)));
}

#[test]
fn workload_rows_print_replicas_containers_and_selectors() {
    let template = json!({"spec": {"containers": [{"name": "web", "image": "nginx:1"}, {"name": "log", "image": "busybox"}], "nodeSelector": {"disk": "ssd"}}});
    let selector = json!({"matchLabels": {"app": "web"}});
    let dep = json!({"metadata": {"name": "web", "creationTimestamp": ago(200)},
        "spec": {"replicas": 3, "selector": selector, "template": template},
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}});
    assert_eq!(
        cells("Deployment", &dep),
        vec![
            json!("web"),
            json!("2/3"),
            json!(3),
            json!(2),
            json!("3m20s"),
            json!("web,log"),
            json!("nginx:1,busybox"),
            json!("app=web")
        ]
    );
    let empty_dep = json!({"metadata": {"name": "d"}, "spec": {}});
    let c = cells("Deployment", &empty_dep);
    assert_eq!((c[1].clone(), c[7].clone()), (json!("0/1"), json!("")));
    let rs = json!({"metadata": {"name": "web-1"}, "spec": {"replicas": 2, "selector": selector, "template": template}, "status": {"replicas": 2, "readyReplicas": 1}});
    assert_eq!(
        cells("ReplicaSet", &rs)[1..4],
        [json!(2), json!(2), json!(1)]
    );
    assert_eq!(cells("ReplicaSet", &rs)[7], "app=web");
    let ds = json!({"metadata": {"name": "agent"}, "spec": {"selector": selector, "template": template},
        "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2, "updatedNumberScheduled": 3, "numberAvailable": 2}});
    let c = cells("DaemonSet", &ds);
    assert_eq!(
        c[1..7],
        [
            json!(3),
            json!(3),
            json!(2),
            json!(3),
            json!(2),
            json!("disk=ssd")
        ]
    );
    assert_eq!(c[10], "app=web");
    assert_eq!(
        cells("DaemonSet", &json!({"metadata": {"name": "d"}}))[6],
        "<none>"
    );
}
