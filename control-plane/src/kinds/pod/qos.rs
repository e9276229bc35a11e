//! The QoS class of a pod (`ComputePodQOS`): Guaranteed, Burstable or BestEffort.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::kinds::field::list_of;
use crate::kinds::quantity::Quantity;

/// Only CPU and memory decide the class.
const QOS_RESOURCES: [&str; 2] = ["cpu", "memory"];

/// The `status.qosClass` upstream computes from the containers' requests and limits.
pub fn class(spec: &Value) -> &'static str {
    let mut requests: BTreeMap<&str, Quantity> = BTreeMap::new();
    let mut limits: BTreeMap<&str, Quantity> = BTreeMap::new();
    let mut guaranteed = true;
    let containers = list_of(spec, "containers")
        .iter()
        .chain(list_of(spec, "initContainers"));
    for c in containers {
        let sum = |which: &str, into: &mut BTreeMap<&'static str, Quantity>| {
            let mut found = Vec::new();
            for name in QOS_RESOURCES {
                let q = c
                    .pointer(&format!("/resources/{which}/{name}"))
                    .and_then(Quantity::from_value);
                if let Some(q) = q.filter(|q| q.is_positive()) {
                    let e = into.entry(name).or_insert(Quantity(0));
                    e.0 += q.0;
                    found.push(name);
                }
            }
            found
        };
        sum("requests", &mut requests);
        if sum("limits", &mut limits).len() != QOS_RESOURCES.len() {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed && requests.iter().any(|(k, r)| limits.get(k) != Some(r)) {
        guaranteed = false;
    }
    if guaranteed && requests.len() == limits.len() {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(resources: Value) -> Value {
        json!({"containers": [{"name": "c", "image": "x", "resources": resources}]})
    }

    #[test]
    fn no_requests_or_limits_is_best_effort() {
        assert_eq!(class(&spec(json!({}))), "BestEffort");
        assert_eq!(
            class(&spec(json!({"requests": {"cpu": "0"}}))),
            "BestEffort"
        );
    }

    #[test]
    fn equal_cpu_and_memory_limits_and_requests_is_guaranteed() {
        let r = json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1000m", "memory": "1Gi"}});
        assert_eq!(class(&spec(r)), "Guaranteed");
    }

    #[test]
    fn partial_or_unequal_resources_is_burstable() {
        assert_eq!(
            class(&spec(json!({"requests": {"cpu": "100m"}}))),
            "Burstable"
        );
        let r = json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m", "memory": "1Gi"}});
        assert_eq!(class(&spec(r)), "Burstable");
        assert_eq!(
            class(&spec(
                json!({"limits": {"cpu": "1"}, "requests": {"cpu": "1"}})
            )),
            "Burstable"
        );
    }
}
