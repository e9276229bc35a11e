//! What upstream's default admission plugins add to a new pod (Priority, ServiceAccount,
//! DefaultTolerationSeconds), done at create time because Skiff runs no admission chain.

use serde_json::{json, Value};

use crate::kinds::field::{list_of, str_or_empty};

/// Taints the node lifecycle controller puts on unhealthy nodes.
const DEFAULT_TOLERATED_TAINTS: [&str; 2] = [
    "node.kubernetes.io/not-ready",
    "node.kubernetes.io/unreachable",
];

/// Fills `priority`/`preemptionPolicy`, `serviceAccountName` and the 300 s NoExecute
/// tolerations for not-ready and unreachable nodes.
pub fn admit(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    if str_or_empty(spec, "priorityClassName").is_empty() && spec.get("priority").is_none() {
        spec["priority"] = json!(0);
    }
    if spec.get("preemptionPolicy").is_none_or(Value::is_null) {
        spec["preemptionPolicy"] = json!("PreemptLowerPriority");
    }
    if str_or_empty(spec, "serviceAccountName").is_empty() {
        spec["serviceAccountName"] = json!("default");
        spec["serviceAccount"] = json!("default");
    }
    let mut added = Vec::new();
    for key in DEFAULT_TOLERATED_TAINTS {
        let tolerated = list_of(spec, "tolerations").iter().any(|t| {
            let effect = str_or_empty(t, "effect");
            let key_ok = str_or_empty(t, "key") == key
                || (str_or_empty(t, "key").is_empty() && str_or_empty(t, "operator") == "Exists");
            key_ok && (effect.is_empty() || effect == "NoExecute")
        });
        if !tolerated {
            added.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
        }
    }
    if !added.is_empty() {
        let mut list = list_of(spec, "tolerations").to_vec();
        list.extend(added);
        spec["tolerations"] = Value::Array(list);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_pod_gets_priority_service_account_and_default_tolerations() {
        let mut spec = json!({"containers": []});
        admit(&mut spec);
        assert_eq!(spec["priority"], 0);
        assert_eq!(spec["preemptionPolicy"], "PreemptLowerPriority");
        assert_eq!(spec["serviceAccountName"], "default");
        assert_eq!(spec["tolerations"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            spec["tolerations"][0]["key"],
            "node.kubernetes.io/not-ready"
        );
        assert_eq!(spec["tolerations"][1]["tolerationSeconds"], 300);
    }

    #[test]
    fn existing_tolerations_are_kept_and_not_duplicated() {
        let mut spec = json!({"tolerations": [{"operator": "Exists"}], "serviceAccountName": "sa"});
        admit(&mut spec);
        assert_eq!(spec["tolerations"], json!([{"operator": "Exists"}]));
        assert_eq!(spec["serviceAccountName"], "sa");
    }
}
