use serde_json::{json, Value};

use super::*;
use crate::registry::by_kind;

fn doc(path: &str) -> Value {
    let (_, bytes) = document(path).unwrap_or_else(|| panic!("{path} not served"));
    serde_json::from_slice(&bytes).unwrap()
}

fn params_of(op: &Value) -> Vec<&str> {
    op["parameters"]
        .as_array()
        .map(|ps| ps.iter().map(|p| p["name"].as_str().unwrap()).collect())
        .unwrap_or_default()
}

#[test]
fn index_points_at_every_group_version_by_hash() {
    let idx = index();
    let paths = idx["paths"].as_object().unwrap();
    let keys: Vec<&String> = paths.keys().collect();
    assert_eq!(
        keys,
        [
            "api/v1",
            "apis/apps/v1",
            "apis/discovery.k8s.io/v1",
            "apis/coordination.k8s.io/v1"
        ]
    );
    for (path, entry) in paths {
        let (hash, bytes) = document(path).unwrap();
        assert_eq!(hash.len(), 128);
        assert!(hash
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
        assert_eq!(hash, content_hash(&bytes));
        assert_eq!(
            entry["serverRelativeURL"],
            format!("/openapi/v3/{path}?hash={hash}")
        );
    }
    assert!(document("apis/batch/v1").is_none());
    assert_eq!(
        document("/api/v1/").unwrap().0,
        document("api/v1").unwrap().0
    );
}

#[test]
fn hashes_are_stable_across_rebuilds() {
    let fresh = document::build_all(&schemas::Definitions::build());
    for d in fresh {
        let (hash, bytes) = document(&d.path).unwrap();
        assert_eq!(d.hash, hash, "{}", d.path);
        assert_eq!(*d.bytes, *bytes);
    }
    assert_eq!(
        content_hash(b""),
        "CF83E1357EEFB8BDF1542850D66D8007D620E4050B5715DC83F4A921D36CE9CE47D0D13C5D85F2B0FF8318D2877EEC2F63B931BD47417A81A538327AF927DA3E"
    );
}

#[test]
fn core_document_describes_pod_operations_like_upstream() {
    let d = doc("api/v1");
    assert_eq!(d["openapi"], "3.0.0");
    let item = &d["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"];
    let read = &item["get"];
    assert_eq!(read["operationId"], "readCoreV1NamespacedPod");
    assert_eq!(read["x-kubernetes-action"], "get");
    assert_eq!(
        read["x-kubernetes-group-version-kind"],
        json!({"group": "", "kind": "Pod", "version": "v1"})
    );
    assert_eq!(read["tags"], json!(["core_v1"]));
    assert_eq!(
        read["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/io.k8s.api.core.v1.Pod"
    );
    let patch = &item["patch"];
    assert_eq!(patch["operationId"], "patchCoreV1NamespacedPod");
    assert_eq!(
        params_of(patch),
        ["dryRun", "fieldManager", "fieldValidation", "force"]
    );
    let media: Vec<&String> = patch["requestBody"]["content"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        media,
        [
            "application/apply-patch+yaml",
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/strategic-merge-patch+json"
        ]
    );
    assert_eq!(
        params_of(&item["put"]),
        ["dryRun", "fieldManager", "fieldValidation"]
    );
    assert_eq!(item["delete"]["operationId"], "deleteCoreV1NamespacedPod");
    assert_eq!(params_of(item), ["name", "namespace", "pretty"]);

    let collection = &d["paths"]["/api/v1/namespaces/{namespace}/pods"];
    assert_eq!(collection["get"]["operationId"], "listCoreV1NamespacedPod");
    assert_eq!(collection["get"]["x-kubernetes-action"], "list");
    assert_eq!(
        collection["post"]["operationId"],
        "createCoreV1NamespacedPod"
    );
    assert!(params_of(&collection["post"]).contains(&"fieldValidation"));
    assert_eq!(
        collection["delete"]["operationId"],
        "deleteCoreV1CollectionNamespacedPod"
    );
    assert_eq!(
        d["paths"]["/api/v1/pods"]["get"]["operationId"],
        "listCoreV1PodForAllNamespaces"
    );
    assert_eq!(
        d["paths"]["/api/v1/watch/namespaces/{namespace}/pods/{name}"]["get"]["operationId"],
        "watchCoreV1NamespacedPod"
    );
    assert_eq!(
        d["paths"]["/api/v1/watch/pods"]["get"]["x-kubernetes-action"],
        "watchlist"
    );
    let nodes = &d["paths"]["/api/v1/nodes/{name}"];
    assert_eq!(nodes["get"]["operationId"], "readCoreV1Node");
    assert_eq!(params_of(nodes), ["name", "pretty"]);
    assert!(d["paths"]["/api/v1/namespaces"].get("delete").is_none());
}

#[test]
fn core_document_describes_subresources() {
    let d = doc("api/v1");
    let status = &d["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/status"];
    assert_eq!(
        status["get"]["operationId"],
        "readCoreV1NamespacedPodStatus"
    );
    assert_eq!(
        status["patch"]["operationId"],
        "patchCoreV1NamespacedPodStatus"
    );
    assert_eq!(
        status["put"]["operationId"],
        "replaceCoreV1NamespacedPodStatus"
    );
    let eviction = &d["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/eviction"]["post"];
    assert_eq!(eviction["operationId"], "createCoreV1NamespacedPodEviction");
    assert_eq!(
        eviction["x-kubernetes-group-version-kind"],
        json!({"group": "policy", "kind": "Eviction", "version": "v1"})
    );
    let binding = &d["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/binding"]["post"];
    assert_eq!(binding["operationId"], "createCoreV1NamespacedPodBinding");
    let finalize = &d["paths"]["/api/v1/namespaces/{name}/finalize"];
    assert_eq!(
        finalize["put"]["operationId"],
        "replaceCoreV1NamespaceFinalize"
    );
    assert!(finalize.get("get").is_none());
    let schemas = d["components"]["schemas"].as_object().unwrap();
    for name in [
        "io.k8s.api.core.v1.Pod",
        "io.k8s.api.core.v1.PodList",
        "io.k8s.api.core.v1.Binding",
        "io.k8s.api.policy.v1.Eviction",
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
        "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent",
    ] {
        assert!(schemas.contains_key(name), "{name} missing");
    }
    assert!(!schemas.contains_key("io.k8s.api.apps.v1.Deployment"));
}

#[test]
fn apps_document_has_scale_as_autoscaling_v1() {
    let d = doc("apis/apps/v1");
    let scale = &d["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"];
    assert_eq!(
        scale["get"]["operationId"],
        "readAppsV1NamespacedDeploymentScale"
    );
    assert_eq!(
        scale["patch"]["x-kubernetes-group-version-kind"],
        json!({"group": "autoscaling", "kind": "Scale", "version": "v1"})
    );
    assert_eq!(params_of(scale), ["name", "namespace", "pretty"]);
    assert_eq!(scale["parameters"][0]["description"], "name of the Scale");
    let schemas = d["components"]["schemas"].as_object().unwrap();
    assert!(schemas.contains_key("io.k8s.api.autoscaling.v1.Scale"));
    assert_eq!(
        schemas["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"],
        json!([{"group": "apps", "kind": "Deployment", "version": "v1"}])
    );
    assert!(!schemas.contains_key("io.k8s.api.core.v1.Pod"));
}

/// kubectl decides on server-side validation from the first PATCH operation whose
/// group-version-kind matches; every one must carry `fieldValidation`.
#[test]
fn every_write_operation_offers_field_validation() {
    for path in index()["paths"].as_object().unwrap().keys() {
        let d = doc(path);
        for (p, item) in d["paths"].as_object().unwrap() {
            for method in ["post", "put", "patch"] {
                if let Some(op) = item.get(method) {
                    assert!(
                        params_of(op).contains(&"fieldValidation"),
                        "{method} {p} lacks fieldValidation"
                    );
                    assert!(op.get("x-kubernetes-group-version-kind").is_some());
                }
            }
        }
    }
}

#[test]
fn every_ref_in_a_document_resolves_within_it() {
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|c| refs(c, out));
            }
            Value::Array(a) => a.iter().for_each(|c| refs(c, out)),
            _ => {}
        }
    }
    for path in index()["paths"].as_object().unwrap().keys() {
        let d = doc(path);
        let mut all = Vec::new();
        refs(&d, &mut all);
        for r in all {
            let name = r.strip_prefix("#/components/schemas/").unwrap();
            assert!(
                d["components"]["schemas"].get(name).is_some(),
                "{path}: {r} dangles"
            );
        }
    }
}

#[test]
fn v2_document_follows_accept() {
    let (ct, body) = v2_document("application/com.github.proto-openapi.spec.v2@v1.0+protobuf");
    assert_eq!(ct, v2::PROTOBUF_CONTENT_TYPE);
    assert_eq!(&body[..5], b"\x0a\x032.0");
    let (ct, body) = v2_document("application/json");
    assert_eq!(ct, "application/json");
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["swagger"], "2.0");
}

fn pod(extra_container: Value, extra_spec: Value) -> Value {
    let mut container = json!({
        "name": "web", "image": "nginx",
        "ports": [{"containerPort": 80, "protocol": "TCP"}],
        "resources": {"limits": {"cpu": "500m", "memory": 134217728}},
        "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
    });
    container
        .as_object_mut()
        .unwrap()
        .extend(extra_container.as_object().unwrap().clone());
    let mut spec = json!({"containers": [container], "restartPolicy": "Always"});
    spec.as_object_mut()
        .unwrap()
        .extend(extra_spec.as_object().unwrap().clone());
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "p", "labels": {"app": "web", "any/key": "x"},
            "annotations": {"a": "b"},
            "managedFields": [{"manager": "kubectl", "operation": "Apply",
                "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:containers": {}}}}],
        },
        "spec": spec,
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    })
}

#[test]
fn unknown_fields_accepts_a_valid_pod() {
    let pods = by_kind("", "Pod").unwrap();
    assert_eq!(
        unknown_fields(pods, &pod(json!({}), json!({}))),
        Vec::<String>::new()
    );
}

#[test]
fn unknown_fields_reports_dotted_paths_with_indices() {
    let pods = by_kind("", "Pod").unwrap();
    let mut obj = pod(json!({"bogus": 1}), json!({"foo": {"bar": 1}}));
    obj["metadata"]["nmae"] = json!("x");
    obj["extra"] = json!(true);
    obj["spec"]["containers"][0]["ports"][0]["hostPortt"] = json!(1);
    let mut found = unknown_fields(pods, &obj);
    found.sort();
    assert_eq!(
        found,
        [
            "extra",
            "metadata.nmae",
            "spec.containers[0].bogus",
            "spec.containers[0].ports[0].hostPortt",
            "spec.foo",
        ]
    );
}

#[test]
fn unknown_fields_walks_maps_and_nested_templates() {
    let cm = by_kind("", "ConfigMap").unwrap();
    let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
        "data": {"any-key": "v", "other.key": "w"}, "binaryData": {"b": "AAEC"}});
    assert!(unknown_fields(cm, &obj).is_empty());
    let deploy = by_kind("apps", "Deployment").unwrap();
    let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "d"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
            "template": {"metadata": {"labels": {"app": "d"}},
                "spec": {"containers": [{"name": "c", "image": "i", "imagePullPolicy": "Always", "unknownThing": 1}]}}}});
    assert_eq!(
        unknown_fields(deploy, &obj),
        ["spec.template.spec.containers[0].unknownThing"]
    );
    let node = by_kind("", "Node").unwrap();
    let obj = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
        "status": {"capacity": {"cpu": "4", "pods": 110}, "nodeInfo": {"kubeletVersion": "v1.33.0", "bogus": ""}}});
    assert_eq!(unknown_fields(node, &obj), ["status.nodeInfo.bogus"]);
}

#[test]
fn unknown_fields_of_every_served_kind_accepts_its_envelope() {
    for kind in crate::registry::KINDS {
        assert!(
            definitions().kind_schema(kind).is_some(),
            "{} has no schema",
            kind.kind
        );
        let obj = json!({"apiVersion": kind.api_version(), "kind": kind.kind,
            "metadata": {"name": "x", "namespace": "default", "uid": "u", "resourceVersion": "1",
                "creationTimestamp": "2026-01-02T03:04:05Z", "finalizers": ["f"],
                "ownerReferences": [{"apiVersion": "v1", "kind": "K", "name": "o", "uid": "u"}]}});
        assert!(unknown_fields(kind, &obj).is_empty(), "{}", kind.kind);
    }
}
