//! Column definitions per kind, as upstream's `AddHandlers` declares them: name, type,
//! format, priority 1 for the `-o wide` columns, and the API documentation of the field the
//! column shows as its description (taken from the published OpenAPI schema).

use std::collections::HashMap;
use std::sync::OnceLock;

use k8s_openapi::api::{apps, coordination, core, discovery};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{json, Value};

const CONTAINERS: &str = "Names of each container in the template.";
const IMAGES: &str = "Images referenced by each container in the template.";

/// The documentation of `field` in the schema of `T`, `""` if it has none.
fn doc<T: JsonSchema>(field: &str) -> String {
    let schema = T::json_schema(&mut SchemaGenerator::default());
    schema.as_value()["properties"][field]["description"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// One column definition.
fn col(name: &str, ty: &str, format: &str, priority: i64, description: String) -> Value {
    json!({"name": name, "type": ty, "format": format, "description": description, "priority": priority})
}

fn name_col() -> Value {
    col("Name", "string", "name", 0, doc::<ObjectMeta>("name"))
}

fn age_col() -> Value {
    col(
        "Age",
        "string",
        "",
        0,
        doc::<ObjectMeta>("creationTimestamp"),
    )
}

fn s(name: &str, description: String) -> Value {
    col(name, "string", "", 0, description)
}

fn i(name: &str, description: String) -> Value {
    col(name, "integer", "", 0, description)
}

fn wide(name: &str, description: String) -> Value {
    col(name, "string", "", 1, description)
}

fn pod() -> Vec<Value> {
    vec![
        name_col(),
        s("Ready", "The aggregate readiness state of this pod for accepting traffic.".into()),
        s("Status", "The aggregate status of the containers in this pod.".into()),
        s("Restarts", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.".into()),
        age_col(),
        wide("IP", doc::<core::v1::PodStatus>("podIP")),
        wide("Node", doc::<core::v1::PodSpec>("nodeName")),
        wide("Nominated Node", doc::<core::v1::PodStatus>("nominatedNodeName")),
        wide("Readiness Gates", doc::<core::v1::PodSpec>("readinessGates")),
    ]
}

fn node() -> Vec<Value> {
    use core::v1::{NodeStatus, NodeSystemInfo};
    vec![
        name_col(),
        s("Status", "The status of the node".into()),
        s("Roles", "The roles of the node".into()),
        age_col(),
        s("Version", doc::<NodeSystemInfo>("kubeletVersion")),
        wide("Internal-IP", doc::<NodeStatus>("addresses")),
        wide("External-IP", doc::<NodeStatus>("addresses")),
        wide("OS-Image", doc::<NodeSystemInfo>("osImage")),
        wide("Kernel-Version", doc::<NodeSystemInfo>("kernelVersion")),
        wide(
            "Container-Runtime",
            doc::<NodeSystemInfo>("containerRuntimeVersion"),
        ),
    ]
}

fn event() -> Vec<Value> {
    use core::v1::{Event, ObjectReference};
    vec![
        s("Last Seen", doc::<Event>("lastTimestamp")),
        s("Type", doc::<Event>("type")),
        s("Reason", doc::<Event>("reason")),
        s("Object", doc::<Event>("involvedObject")),
        wide("Subobject", doc::<ObjectReference>("fieldPath")),
        wide("Source", doc::<Event>("source")),
        s("Message", doc::<Event>("message")),
        wide("First Seen", doc::<Event>("firstTimestamp")),
        wide("Count", doc::<Event>("count")),
        col("Name", "string", "name", 1, doc::<ObjectMeta>("name")),
    ]
}

fn service() -> Vec<Value> {
    use core::v1::ServiceSpec;
    vec![
        name_col(),
        s("Type", doc::<ServiceSpec>("type")),
        s("Cluster-IP", doc::<ServiceSpec>("clusterIP")),
        s("External-IP", doc::<ServiceSpec>("externalIPs")),
        s("Port(s)", doc::<ServiceSpec>("ports")),
        age_col(),
        wide("Selector", doc::<ServiceSpec>("selector")),
    ]
}

fn deployment() -> Vec<Value> {
    use apps::v1::{DeploymentSpec, DeploymentStatus};
    vec![
        name_col(),
        s("Ready", "Number of the pod with ready state".into()),
        s("Up-to-date", doc::<DeploymentStatus>("updatedReplicas")),
        s("Available", doc::<DeploymentStatus>("availableReplicas")),
        age_col(),
        wide("Containers", CONTAINERS.into()),
        wide("Images", IMAGES.into()),
        wide("Selector", doc::<DeploymentSpec>("selector")),
    ]
}

fn replica_set() -> Vec<Value> {
    use apps::v1::{ReplicaSetSpec, ReplicaSetStatus};
    vec![
        name_col(),
        i("Desired", doc::<ReplicaSetSpec>("replicas")),
        i("Current", doc::<ReplicaSetStatus>("replicas")),
        i("Ready", doc::<ReplicaSetStatus>("readyReplicas")),
        age_col(),
        wide("Containers", CONTAINERS.into()),
        wide("Images", IMAGES.into()),
        wide("Selector", doc::<ReplicaSetSpec>("selector")),
    ]
}

fn daemon_set() -> Vec<Value> {
    use apps::v1::{DaemonSetSpec, DaemonSetStatus};
    vec![
        name_col(),
        i("Desired", doc::<DaemonSetStatus>("desiredNumberScheduled")),
        i("Current", doc::<DaemonSetStatus>("currentNumberScheduled")),
        i("Ready", doc::<DaemonSetStatus>("numberReady")),
        i(
            "Up-to-date",
            doc::<DaemonSetStatus>("updatedNumberScheduled"),
        ),
        i("Available", doc::<DaemonSetStatus>("numberAvailable")),
        s("Node Selector", doc::<core::v1::PodSpec>("nodeSelector")),
        age_col(),
        wide("Containers", CONTAINERS.into()),
        wide("Images", IMAGES.into()),
        wide("Selector", doc::<DaemonSetSpec>("selector")),
    ]
}

fn endpoint_slice() -> Vec<Value> {
    use discovery::v1::EndpointSlice;
    vec![
        name_col(),
        s("AddressType", doc::<EndpointSlice>("addressType")),
        s("Ports", doc::<EndpointSlice>("ports")),
        s("Endpoints", doc::<EndpointSlice>("endpoints")),
        age_col(),
    ]
}

/// The default columns upstream serves for kinds without a printer.
fn default_columns() -> Vec<Value> {
    vec![
        name_col(),
        col(
            "Created At",
            "date",
            "",
            0,
            doc::<ObjectMeta>("creationTimestamp"),
        ),
    ]
}

fn build(kind: &str) -> Vec<Value> {
    match kind {
        "Pod" => pod(),
        "Node" => node(),
        "Event" => event(),
        "Service" => service(),
        "Deployment" => deployment(),
        "ReplicaSet" => replica_set(),
        "DaemonSet" => daemon_set(),
        "EndpointSlice" => endpoint_slice(),
        "Namespace" => vec![
            name_col(),
            s("Status", "The status of the namespace".into()),
            age_col(),
        ],
        "Endpoints" => vec![
            name_col(),
            s("Endpoints", doc::<core::v1::Endpoints>("subsets")),
            age_col(),
        ],
        "ConfigMap" => vec![
            name_col(),
            s("Data", doc::<core::v1::ConfigMap>("data")),
            age_col(),
        ],
        "Secret" => vec![
            name_col(),
            s("Type", doc::<core::v1::Secret>("type")),
            s("Data", doc::<core::v1::Secret>("data")),
            age_col(),
        ],
        "ServiceAccount" => vec![
            name_col(),
            s("Secrets", doc::<core::v1::ServiceAccount>("secrets")),
            age_col(),
        ],
        "Lease" => vec![
            name_col(),
            s(
                "Holder",
                doc::<coordination::v1::LeaseSpec>("holderIdentity"),
            ),
            age_col(),
        ],
        _ => default_columns(),
    }
}

/// Kinds with a dedicated printer.
pub const PRINTED_KINDS: &[&str] = &[
    "Namespace",
    "Node",
    "Pod",
    "Service",
    "Endpoints",
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "Event",
    "Deployment",
    "ReplicaSet",
    "DaemonSet",
    "EndpointSlice",
    "Lease",
];

/// The column definitions of `kind` (computed once per kind).
pub fn definitions(kind: &str) -> &'static [Value] {
    static CACHE: OnceLock<HashMap<&'static str, Vec<Value>>> = OnceLock::new();
    static DEFAULT: OnceLock<Vec<Value>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| PRINTED_KINDS.iter().map(|k| (*k, build(k))).collect());
    match cache.get(kind) {
        Some(cols) => cols,
        None => DEFAULT.get_or_init(default_columns),
    }
}
