//! API discovery: legacy documents (`/api`, `/api/v1`, `/apis`, `/apis/<g>`, `/apis/<g>/<v>`)
//! and aggregated discovery v2, all generated from the registry.

pub mod aggregated;
pub mod legacy;
pub mod subresources;

use serde_json::{json, Value};

pub use aggregated::{
    aggregated_in, requested_version, AggregatedVersion, AGGREGATED_CONTENT_TYPE,
    AGGREGATED_V2BETA1_CONTENT_TYPE,
};
pub use legacy::storage_version_hash;

/// `/api` (APIVersions).
pub fn api_versions(server_address: &str) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]})
}

/// `/apis` (APIGroupList).
pub fn api_group_list() -> Value {
    legacy::api_group_list()
}

/// `/apis/<group>` (APIGroup), `None` if not served.
pub fn api_group(group: &str) -> Option<Value> {
    legacy::api_group(group)
}

/// `/api/v1` or `/apis/<group>/<version>` (APIResourceList), `None` if not served.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    legacy::resource_list(group, version)
}

/// Aggregated discovery v2 for `/api` (`legacy == true`) or `/apis`.
pub fn aggregated(legacy: bool) -> Value {
    aggregated_in(legacy, AggregatedVersion::V2)
}
