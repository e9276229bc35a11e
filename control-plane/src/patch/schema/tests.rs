use super::*;
use crate::registry::by_kind;

fn kind(group: &str, k: &str) -> &'static KindInfo {
    by_kind(group, k).expect("served kind")
}

#[test]
fn containers_env_resolves_through_deployment_template() {
    let d = kind("apps", "Deployment");
    assert_eq!(
        list_kind(d, &["spec", "template", "spec", "containers", "env"]),
        ListKind::Map {
            merge_key: "name",
            keys: &["name"]
        }
    );
    assert_eq!(
        type_at(d, &["spec", "template", "spec", "containers"]),
        Some("io.k8s.api.core.v1.Container")
    );
}

#[test]
fn container_ports_merge_on_port_and_apply_keys_on_port_and_protocol() {
    let p = kind("", "Pod");
    assert_eq!(
        list_kind(p, &["spec", "containers", "ports"]),
        ListKind::Map {
            merge_key: "containerPort",
            keys: &["containerPort", "protocol"]
        }
    );
    let s = kind("", "Service");
    assert_eq!(
        list_kind(s, &["spec", "ports"]),
        ListKind::Map {
            merge_key: "port",
            keys: &["port", "protocol"]
        }
    );
}

#[test]
fn finalizers_are_a_set_and_tolerations_atomic() {
    let p = kind("", "Pod");
    assert_eq!(list_kind(p, &["metadata", "finalizers"]), ListKind::Set);
    assert_eq!(list_kind(p, &["spec", "tolerations"]), ListKind::Atomic);
    assert_eq!(
        list_kind(p, &["status", "containerStatuses"]),
        ListKind::Atomic
    );
    assert_eq!(list_kind(p, &["spec", "unknownList"]), ListKind::Atomic);
}

#[test]
fn volumes_and_deployment_strategy_retain_keys() {
    assert!(retains_keys(kind("", "Pod"), &["spec", "volumes"]));
    assert!(retains_keys(
        kind("apps", "Deployment"),
        &["spec", "strategy"]
    ));
    assert!(!retains_keys(kind("", "Pod"), &["spec", "containers"]));
}

#[test]
fn conditions_merge_by_type_in_every_status() {
    for (g, k) in [
        ("", "Pod"),
        ("", "Node"),
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
        ("apps", "DaemonSet"),
    ] {
        assert_eq!(
            list_kind(kind(g, k), &["status", "conditions"]),
            ListKind::Map {
                merge_key: "type",
                keys: &["type"]
            },
            "{k}"
        );
    }
}

#[test]
fn openapi_extensions_carry_upstream_names() {
    let ext = field_extensions("io.k8s.api.core.v1.PodSpec", "containers")
        .unwrap()
        .extensions();
    assert_eq!(ext["x-kubernetes-patch-merge-key"], "name");
    assert_eq!(ext["x-kubernetes-patch-strategy"], "merge");
    assert_eq!(ext["x-kubernetes-list-type"], "map");
    assert_eq!(
        ext["x-kubernetes-list-map-keys"],
        serde_json::json!(["name"])
    );
    assert_eq!(
        field_extensions("io.k8s.api.core.v1.PodSpec", "volumes")
            .unwrap()
            .patch_strategy,
        Some("merge,retainKeys")
    );
    assert!(field_extensions("io.k8s.api.core.v1.PodSpec", "nodeName").is_none());
    assert!(is_atomic_struct(
        "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"
    ));
    assert!(!is_atomic_struct("io.k8s.api.core.v1.PodSpec"));
}

#[test]
fn every_field_type_names_a_known_type_or_a_leaf() {
    // Types referenced but deliberately not listed have no markers of their own.
    for t in types::TYPES.iter().flat_map(|g| g.iter()) {
        for f in t.fields {
            if f.merge.list_type == Some("map") {
                assert!(!f.merge.list_map_keys.is_empty(), "{}.{}", t.name, f.name);
            }
        }
    }
    for k in crate::registry::KINDS {
        assert!(index().contains_key(root_type(k).as_str()), "{}", k.kind);
    }
}
