//! API discovery: legacy documents (`/api`, `/api/v1`, `/apis`, `/apis/<g>`, `/apis/<g>/<v>`)
//! and aggregated discovery v2, all generated from the registry.

use serde_json::{json, Value};

/// Content type of aggregated discovery v2 responses.
pub const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// `/api` (APIVersions).
pub fn api_versions(server_address: &str) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]})
}

/// `/apis` (APIGroupList).
pub fn api_group_list() -> Value {
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []})
}

/// `/apis/<group>` (APIGroup), `None` if not served.
pub fn api_group(group: &str) -> Option<Value> {
    let _ = group;
    None
}

/// `/api/v1` or `/apis/<group>/<version>` (APIResourceList), `None` if not served.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let _ = (group, version);
    None
}

/// Aggregated discovery for `/api` (`legacy == true`) or `/apis`.
pub fn aggregated(legacy: bool) -> Value {
    let _ = legacy;
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": []})
}
