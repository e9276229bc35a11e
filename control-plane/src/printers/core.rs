//! Rows of the core kinds other than pods and networking: namespaces, nodes, configmaps,
//! secrets, service accounts, events and leases.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::age::since;
use super::format::{arr_of, int_of, len_of_map, or_none, str_of};

const LABEL_NODE_ROLE_PREFIX: &str = "node-role.kubernetes.io/";
const NODE_LABEL_ROLE: &str = "kubernetes.io/role";

fn name(obj: &Value) -> Value {
    json!(str_of(&obj["metadata"]["name"]))
}

fn age(obj: &Value, now: DateTime<Utc>) -> Value {
    json!(since(&obj["metadata"]["creationTimestamp"], now))
}

/// NAME STATUS AGE.
pub fn namespace(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(obj),
        json!(str_of(&obj["status"]["phase"])),
        age(obj, now),
    ]
}

/// Node STATUS: `Ready`/`NotReady` from the Ready condition (`Unknown` without one), plus
/// `SchedulingDisabled` when cordoned.
pub fn node_status(node: &Value) -> String {
    // Upstream keys conditions by type, so the last Ready condition wins.
    let ready = arr_of(&node["status"]["conditions"])
        .iter()
        .rfind(|c| str_of(&c["type"]) == "Ready");
    let mut status = vec![match ready {
        Some(c) if str_of(&c["status"]) == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if node["spec"]["unschedulable"].as_bool() == Some(true) {
        status.push("SchedulingDisabled");
    }
    status.join(",")
}

/// Node roles from `node-role.kubernetes.io/<role>` and `kubernetes.io/role=<role>` labels,
/// sorted and deduplicated.
pub fn node_roles(node: &Value) -> Vec<String> {
    let mut roles: Vec<String> = Vec::new();
    if let Some(labels) = node["metadata"]["labels"].as_object() {
        for (k, v) in labels {
            if let Some(role) = k.strip_prefix(LABEL_NODE_ROLE_PREFIX) {
                if !role.is_empty() {
                    roles.push(role.to_string());
                }
            } else if k == NODE_LABEL_ROLE && !str_of(v).is_empty() {
                roles.push(str_of(v).to_string());
            }
        }
    }
    roles.sort();
    roles.dedup();
    roles
}

fn node_address(node: &Value, ty: &str) -> String {
    arr_of(&node["status"]["addresses"])
        .iter()
        .find(|a| str_of(&a["type"]) == ty)
        .map_or_else(
            || "<none>".to_string(),
            |a| str_of(&a["address"]).to_string(),
        )
}

fn or_unknown(s: &str) -> String {
    if s.is_empty() {
        "<unknown>".to_string()
    } else {
        s.to_string()
    }
}

/// NAME STATUS ROLES AGE VERSION; wide INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION
/// CONTAINER-RUNTIME.
pub fn node(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let info = &obj["status"]["nodeInfo"];
    vec![
        name(obj),
        json!(node_status(obj)),
        json!(or_none(node_roles(obj).join(","))),
        age(obj, now),
        json!(str_of(&info["kubeletVersion"])),
        json!(node_address(obj, "InternalIP")),
        json!(node_address(obj, "ExternalIP")),
        json!(or_unknown(str_of(&info["osImage"]))),
        json!(or_unknown(str_of(&info["kernelVersion"]))),
        json!(or_unknown(str_of(&info["containerRuntimeVersion"]))),
    ]
}

/// NAME DATA AGE (data and binaryData keys).
pub fn config_map(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let data = len_of_map(&obj["data"]) + len_of_map(&obj["binaryData"]);
    vec![name(obj), json!(data), age(obj, now)]
}

/// NAME TYPE DATA AGE. `stringData` keys count as data, as upstream merges them on decode.
pub fn secret(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let mut data = len_of_map(&obj["data"]);
    if let Some(sd) = obj["stringData"].as_object() {
        data += sd
            .keys()
            .filter(|k| obj["data"].get(k.as_str()).is_none())
            .count();
    }
    vec![
        name(obj),
        json!(str_of(&obj["type"])),
        json!(data),
        age(obj, now),
    ]
}

/// NAME SECRETS AGE.
pub fn service_account(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(obj),
        json!(arr_of(&obj["secrets"]).len()),
        age(obj, now),
    ]
}

/// NAME HOLDER AGE.
pub fn lease(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(obj),
        json!(str_of(&obj["spec"]["holderIdentity"])),
        age(obj, now),
    ]
}

fn first_non_empty<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.is_empty() {
        b
    } else {
        a
    }
}

/// Upstream's `formatEventSource`: `component[, host]`, falling back to the reporting
/// controller and instance.
fn event_source(ev: &Value) -> String {
    let component = first_non_empty(
        str_of(&ev["source"]["component"]),
        str_of(&ev["reportingComponent"]),
    );
    let host = first_non_empty(
        str_of(&ev["source"]["host"]),
        str_of(&ev["reportingInstance"]),
    );
    if host.is_empty() {
        component.to_string()
    } else {
        format!("{component}, {host}")
    }
}

/// LAST SEEN TYPE REASON OBJECT; wide SUBOBJECT SOURCE; MESSAGE; wide FIRST SEEN COUNT NAME.
pub fn event(ev: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let first = if ev["firstTimestamp"].as_str().is_some_and(|s| !s.is_empty()) {
        since(&ev["firstTimestamp"], now)
    } else {
        since(&ev["eventTime"], now)
    };
    let mut last = if ev["lastTimestamp"].as_str().is_some_and(|s| !s.is_empty()) {
        since(&ev["lastTimestamp"], now)
    } else {
        first.clone()
    };
    let mut count = int_of(&ev["count"]);
    if ev["series"].is_object() {
        last = since(&ev["series"]["lastObservedTime"], now);
        count = int_of(&ev["series"]["count"]);
    } else if count == 0 {
        // Singleton events of the events.k8s.io API carry no count.
        count = 1;
    }
    let involved = &ev["involvedObject"];
    let kind = str_of(&involved["kind"]).to_lowercase();
    let target = match str_of(&involved["name"]) {
        "" => kind,
        n => format!("{kind}/{n}"),
    };
    vec![
        json!(last),
        json!(str_of(&ev["type"])),
        json!(str_of(&ev["reason"])),
        json!(target),
        json!(str_of(&involved["fieldPath"])),
        json!(event_source(ev)),
        json!(str_of(&ev["message"]).trim()),
        json!(first),
        json!(count),
        name(ev),
    ]
}
