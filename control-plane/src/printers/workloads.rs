//! Rows of the apps/v1 workloads: deployments, replica sets and daemon sets.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::age::since;
use super::format::{
    container_cells, format_label_selector, format_labels, int_of, label_selector_string, str_of,
};

fn name(obj: &Value) -> Value {
    json!(str_of(&obj["metadata"]["name"]))
}

fn age(obj: &Value, now: DateTime<Utc>) -> Value {
    json!(since(&obj["metadata"]["creationTimestamp"], now))
}

/// `spec.replicas`, defaulted to 1 as apps/v1 does.
fn desired(obj: &Value) -> i64 {
    obj["spec"]["replicas"].as_i64().unwrap_or(1)
}

/// NAME READY UP-TO-DATE AVAILABLE AGE; wide CONTAINERS IMAGES SELECTOR.
pub fn deployment(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let status = &obj["status"];
    let (containers, images) = container_cells(&obj["spec"]["template"]["spec"]);
    // Upstream prints the selector's String() here: "" when empty, "<invalid>" when broken.
    let selector = label_selector_string(&obj["spec"]["selector"])
        .unwrap_or_else(|()| "<invalid>".to_string());
    vec![
        name(obj),
        json!(format!(
            "{}/{}",
            int_of(&status["readyReplicas"]),
            desired(obj)
        )),
        json!(int_of(&status["updatedReplicas"])),
        json!(int_of(&status["availableReplicas"])),
        age(obj, now),
        json!(containers),
        json!(images),
        json!(selector),
    ]
}

/// NAME DESIRED CURRENT READY AGE; wide CONTAINERS IMAGES SELECTOR.
pub fn replica_set(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let status = &obj["status"];
    let (containers, images) = container_cells(&obj["spec"]["template"]["spec"]);
    vec![
        name(obj),
        json!(desired(obj)),
        json!(int_of(&status["replicas"])),
        json!(int_of(&status["readyReplicas"])),
        age(obj, now),
        json!(containers),
        json!(images),
        json!(format_label_selector(&obj["spec"]["selector"])),
    ]
}

/// NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE; wide CONTAINERS IMAGES
/// SELECTOR.
pub fn daemon_set(obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let status = &obj["status"];
    let pod_spec = &obj["spec"]["template"]["spec"];
    let (containers, images) = container_cells(pod_spec);
    vec![
        name(obj),
        json!(int_of(&status["desiredNumberScheduled"])),
        json!(int_of(&status["currentNumberScheduled"])),
        json!(int_of(&status["numberReady"])),
        json!(int_of(&status["updatedNumberScheduled"])),
        json!(int_of(&status["numberAvailable"])),
        json!(format_labels(&pod_spec["nodeSelector"])),
        age(obj, now),
        json!(containers),
        json!(images),
        json!(format_label_selector(&obj["spec"]["selector"])),
    ]
}
