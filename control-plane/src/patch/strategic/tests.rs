use serde_json::{json, Value};

use crate::patch::strategic_merge_patch;
use crate::registry::by_kind;

fn smp(group: &str, kind: &str, doc: Value, patch: Value) -> Value {
    let k = by_kind(group, kind).expect("served kind");
    strategic_merge_patch(k, &doc, &patch).expect("patch applies")
}

fn smp_err(group: &str, kind: &str, doc: Value, patch: Value) -> u16 {
    let k = by_kind(group, kind).expect("served kind");
    strategic_merge_patch(k, &doc, &patch)
        .expect_err("patch is rejected")
        .code()
}

fn demo_deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "patch-demo"},
        "spec": {
            "replicas": 2,
            "template": {"spec": {
                "containers": [{"name": "patch-demo-ctr", "image": "nginx"}],
                "tolerations": [{"effect": "NoSchedule", "key": "dedicated", "value": "test-team"}]
            }}
        }
    })
}

#[test]
fn containers_merge_by_name_with_new_entries_first() {
    // "Update API Objects in Place Using kubectl patch": patch-file.yaml.
    let out = smp(
        "apps",
        "Deployment",
        demo_deployment(),
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "patch-demo-ctr-2", "image": "redis"}
        ]}}}}),
    );
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"],
        json!([
            {"name": "patch-demo-ctr-2", "image": "redis"},
            {"name": "patch-demo-ctr", "image": "nginx"}
        ])
    );
    assert_eq!(out["spec"]["replicas"], 2);
}

#[test]
fn tolerations_are_replaced_as_a_whole() {
    // patch-file-tolerations.yaml: tolerations have no patch strategy.
    let out = smp(
        "apps",
        "Deployment",
        demo_deployment(),
        json!({"spec": {"template": {"spec": {"tolerations": [
            {"effect": "NoSchedule", "key": "disktype", "value": "ssd"}
        ]}}}}),
    );
    assert_eq!(
        out["spec"]["template"]["spec"]["tolerations"],
        json!([{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}])
    );
}

#[test]
fn retain_keys_drops_rolling_update_when_switching_to_recreate() {
    // patch-file-retainkeys.yaml.
    let doc = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "30%"}}}});
    let out = smp(
        "apps",
        "Deployment",
        doc.clone(),
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
    );
    assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
    // Without the directive the map merges and rollingUpdate stays.
    let out = smp(
        "apps",
        "Deployment",
        doc,
        json!({"spec": {"strategy": {"type": "Recreate"}}}),
    );
    assert_eq!(out["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "30%");
}

#[test]
fn patch_delete_element_removes_the_entry_with_that_key() {
    let doc = json!({"spec": {"containers": [
        {"name": "a", "image": "x"}, {"name": "b", "image": "y"}
    ]}});
    let out = smp(
        "",
        "Pod",
        doc,
        json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}}),
    );
    assert_eq!(
        out["spec"]["containers"],
        json!([{"name": "b", "image": "y"}])
    );
}

#[test]
fn patch_replace_in_a_list_and_on_a_map() {
    let doc = json!({
        "metadata": {"labels": {"a": "1", "b": "2"}},
        "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}
    });
    let out = smp(
        "",
        "Pod",
        doc,
        json!({
            "metadata": {"labels": {"$patch": "replace", "c": "3"}},
            "spec": {"containers": [{"name": "c", "image": "z"}, {"$patch": "replace"}]}
        }),
    );
    assert_eq!(out["metadata"]["labels"], json!({"c": "3"}));
    assert_eq!(
        out["spec"]["containers"],
        json!([{"name": "c", "image": "z"}])
    );
}

#[test]
fn patch_delete_on_a_map_empties_it() {
    let doc = json!({"metadata": {"name": "p", "labels": {"a": "1"}}});
    let out = smp(
        "",
        "Pod",
        doc,
        json!({"metadata": {"labels": {"$patch": "delete"}}}),
    );
    assert_eq!(out["metadata"], json!({"name": "p", "labels": {}}));
}

#[test]
fn set_element_order_orders_the_merged_list() {
    let doc = json!({"spec": {"containers": [
        {"name": "a", "image": "x"}, {"name": "b", "image": "y"}
    ]}});
    let out = smp(
        "",
        "Pod",
        doc,
        json!({"spec": {
            "$setElementOrder/containers": [{"name": "b"}, {"name": "c"}, {"name": "a"}],
            "containers": [{"name": "c", "image": "z"}]
        }}),
    );
    let names: Vec<&str> = out["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["b", "c", "a"]);
    assert!(out["spec"].get("$setElementOrder/containers").is_none());
}

#[test]
fn set_element_order_keeps_appended_entries_in_order() {
    // The two-way patch kubectl computes when adding a third container.
    let doc = json!({"spec": {"containers": [{"name": "1"}, {"name": "2"}]}});
    let out = smp(
        "",
        "Pod",
        doc,
        json!({"spec": {
            "$setElementOrder/containers": [{"name": "1"}, {"name": "2"}, {"name": "3"}],
            "containers": [{"name": "3"}]
        }}),
    );
    assert_eq!(
        out["spec"]["containers"],
        json!([{"name": "1"}, {"name": "2"}, {"name": "3"}])
    );
}

#[test]
fn finalizers_merge_as_a_set_and_delete_from_primitive_list_removes() {
    let doc = json!({"metadata": {"finalizers": ["a", "b"]}});
    let out = smp(
        "",
        "Pod",
        doc.clone(),
        json!({"metadata": {"finalizers": ["b", "c"]}}),
    );
    assert_eq!(out["metadata"]["finalizers"], json!(["a", "b", "c"]));
    let out = smp(
        "",
        "Pod",
        doc,
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
    );
    assert_eq!(out["metadata"]["finalizers"], json!(["b"]));
}

#[test]
fn null_deletes_and_nested_lists_merge_by_their_keys() {
    let doc = json!({
        "metadata": {"labels": {"app": "web", "tier": "x"}},
        "spec": {"containers": [{
            "name": "web",
            "image": "nginx",
            "ports": [{"containerPort": 80}],
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
        }]}
    });
    let out = smp(
        "",
        "Pod",
        doc,
        json!({
            "metadata": {"labels": {"tier": null}},
            "spec": {"containers": [{
                "name": "web",
                "ports": [{"containerPort": 443}],
                "env": [{"name": "B", "value": "3"}]
            }]}
        }),
    );
    assert_eq!(out["metadata"]["labels"], json!({"app": "web"}));
    let c = &out["spec"]["containers"][0];
    assert_eq!(c["image"], "nginx");
    assert_eq!(
        c["ports"],
        json!([{"containerPort": 443}, {"containerPort": 80}])
    );
    assert_eq!(
        c["env"],
        json!([{"name": "A", "value": "1"}, {"name": "B", "value": "3"}])
    );
}

#[test]
fn service_ports_merge_by_port_and_unknown_lists_replace() {
    let doc = json!({"spec": {
        "ports": [{"port": 80, "name": "http"}],
        "externalIPs": ["1.1.1.1"]
    }});
    let out = smp(
        "",
        "Service",
        doc,
        json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}], "externalIPs": ["2.2.2.2"]}}),
    );
    assert_eq!(
        out["spec"]["ports"],
        json!([{"port": 80, "name": "http", "targetPort": 8080}])
    );
    assert_eq!(out["spec"]["externalIPs"], json!(["2.2.2.2"]));
}

#[test]
fn keys_keep_their_position_and_new_keys_come_last() {
    let doc = json!({"a": 1, "b": {"x": 1}, "c": 3});
    let out = smp("", "ConfigMap", doc, json!({"b": {"y": 2}, "d": 4}));
    let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["a", "b", "c", "d"]);
}

#[test]
fn malformed_directives_are_bad_requests() {
    let pod = json!({"spec": {"containers": [{"name": "a"}]}});
    let bad = [
        json!({"spec": {"containers": [{"name": "a", "$patch": "merge"}]}}),
        json!({"spec": {"containers": [{"name": "a", "$patch": "frob"}]}}),
        json!({"metadata": {"labels": {"$patch": "merge"}}}),
        json!({"spec": {"containers": [{"image": "no-name"}]}}),
        json!({"spec": {"containers": [{"$patch": "delete"}]}}),
        json!({"spec": {"$retainKeys": "type"}}),
        json!({"spec": {"$setElementOrder/containers": {"name": "a"}}}),
        json!({"spec": {"$setElementOrder/containers": [{"name": "b"}], "containers": [{"name": "a"}]}}),
        json!("not an object"),
    ];
    for p in bad {
        assert_eq!(smp_err("", "Pod", pod.clone(), p.clone()), 400, "{p}");
    }
}

#[test]
fn retain_keys_contradicted_by_content_is_unprocessable() {
    let doc = json!({"spec": {"strategy": {"type": "RollingUpdate"}}});
    let p = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": {}}}});
    assert_eq!(smp_err("apps", "Deployment", doc, p), 422);
}

#[test]
fn lists_of_lists_are_unprocessable() {
    let doc = json!({"metadata": {"finalizers": ["a"]}});
    let p = json!({"metadata": {"finalizers": [["b"]]}});
    assert_eq!(smp_err("", "Pod", doc, p), 422);
}

#[test]
fn volumes_merge_by_name_and_retain_keys_switches_source() {
    let doc = json!({"spec": {"volumes": [
        {"name": "data", "emptyDir": {}},
        {"name": "cfg", "configMap": {"name": "c"}}
    ]}});
    let out = smp(
        "",
        "Pod",
        doc,
        json!({"spec": {"volumes": [
            {"name": "data", "$retainKeys": ["name", "hostPath"], "hostPath": {"path": "/d"}}
        ]}}),
    );
    assert_eq!(
        out["spec"]["volumes"],
        json!([
            {"name": "data", "hostPath": {"path": "/d"}},
            {"name": "cfg", "configMap": {"name": "c"}}
        ])
    );
}

#[test]
fn directives_in_new_fields_are_applied_not_stored() {
    let out = smp(
        "",
        "Pod",
        json!({"spec": {}}),
        json!({"spec": {
            "containers": [{"name": "a", "image": "x", "stale": null}, {"name": "z", "$patch": "delete"}],
            "nodeSelector": {"$patch": "replace", "disk": "ssd"}
        }}),
    );
    assert_eq!(
        out["spec"],
        json!({"containers": [{"name": "a", "image": "x"}], "nodeSelector": {"disk": "ssd"}})
    );
}
