//! The type tree of the served kinds with the merge markers of upstream's Go types (v1.33),
//! keyed by OpenAPI schema name. Only fields that carry a marker or lead to one are listed;
//! everything else merges as a plain map or is replaced as a plain list.

use super::fields::{atomic, atomic_map, keyed, keyed_smp_only, merge_set, obj, retain, ssa_set};
use super::TypeDef;

macro_rules! core {
    ($n:literal) => {
        concat!("io.k8s.api.core.v1.", $n)
    };
}
macro_rules! meta {
    ($n:literal) => {
        concat!("io.k8s.apimachinery.pkg.apis.meta.v1.", $n)
    };
}
macro_rules! apps {
    ($n:literal) => {
        concat!("io.k8s.api.apps.v1.", $n)
    };
}
macro_rules! discovery {
    ($n:literal) => {
        concat!("io.k8s.api.discovery.v1.", $n)
    };
}

mod pod;

pub(super) const fn t(name: &'static str, fields: &'static [super::Field]) -> TypeDef {
    TypeDef {
        name,
        atomic: false,
        fields,
    }
}

/// A `+structType=atomic` (`x-kubernetes-map-type: atomic`) type.
pub(super) const fn at(name: &'static str, fields: &'static [super::Field]) -> TypeDef {
    TypeDef {
        name,
        atomic: true,
        fields,
    }
}

pub(super) const KEY_NAME: &[&str] = &["name"];
pub(super) const KEY_TYPE: &[&str] = &["type"];

/// Every type in the tree.
pub(super) static TYPES: &[&[TypeDef]] = &[OTHER, pod::TYPES];

/// Every type with a marker or on the way to one, except the pod types.
static OTHER: &[TypeDef] = &[
    // meta/v1
    t(
        meta!("ObjectMeta"),
        &[
            merge_set("finalizers"),
            keyed("ownerReferences", meta!("OwnerReference"), "uid", &["uid"]),
            atomic("managedFields", Some(meta!("ManagedFieldsEntry"))),
        ],
    ),
    at(meta!("OwnerReference"), &[]),
    at(
        meta!("LabelSelector"),
        &[atomic(
            "matchExpressions",
            Some(meta!("LabelSelectorRequirement")),
        )],
    ),
    t(meta!("LabelSelectorRequirement"), &[atomic("values", None)]),
    // core/v1 Namespace
    t(
        core!("Namespace"),
        &[
            obj("metadata", meta!("ObjectMeta")),
            obj("spec", core!("NamespaceSpec")),
            obj("status", core!("NamespaceStatus")),
        ],
    ),
    t(core!("NamespaceSpec"), &[atomic("finalizers", None)]),
    t(
        core!("NamespaceStatus"),
        &[keyed(
            "conditions",
            core!("NamespaceCondition"),
            "type",
            KEY_TYPE,
        )],
    ),
    // core/v1 Node
    t(
        core!("Node"),
        &[
            obj("metadata", meta!("ObjectMeta")),
            obj("spec", core!("NodeSpec")),
            obj("status", core!("NodeStatus")),
        ],
    ),
    t(
        core!("NodeSpec"),
        &[
            merge_set("podCIDRs"),
            atomic("taints", Some(core!("Taint"))),
        ],
    ),
    t(
        core!("NodeStatus"),
        &[
            keyed("conditions", core!("NodeCondition"), "type", KEY_TYPE),
            keyed("addresses", core!("NodeAddress"), "type", KEY_TYPE),
            atomic("images", Some(core!("ContainerImage"))),
            atomic("volumesInUse", None),
            atomic("volumesAttached", Some(core!("AttachedVolume"))),
            atomic("runtimeHandlers", Some(core!("NodeRuntimeHandler"))),
        ],
    ),
    t(core!("ContainerImage"), &[atomic("names", None)]),
    // core/v1 Service, Endpoints
    t(
        core!("Service"),
        &[
            obj("metadata", meta!("ObjectMeta")),
            obj("spec", core!("ServiceSpec")),
            obj("status", core!("ServiceStatus")),
        ],
    ),
    t(
        core!("ServiceSpec"),
        &[
            keyed("ports", core!("ServicePort"), "port", &["port", "protocol"]),
            atomic_map("selector"),
            atomic("clusterIPs", None),
            atomic("externalIPs", None),
            atomic("loadBalancerSourceRanges", None),
            atomic("ipFamilies", None),
        ],
    ),
    t(
        core!("ServiceStatus"),
        &[
            obj("loadBalancer", core!("LoadBalancerStatus")),
            keyed("conditions", meta!("Condition"), "type", KEY_TYPE),
        ],
    ),
    t(
        core!("LoadBalancerStatus"),
        &[atomic("ingress", Some(core!("LoadBalancerIngress")))],
    ),
    t(
        core!("LoadBalancerIngress"),
        &[atomic("ports", Some(core!("PortStatus")))],
    ),
    t(
        core!("Endpoints"),
        &[
            obj("metadata", meta!("ObjectMeta")),
            atomic("subsets", Some(core!("EndpointSubset"))),
        ],
    ),
    t(
        core!("EndpointSubset"),
        &[
            atomic("addresses", Some(core!("EndpointAddress"))),
            atomic("notReadyAddresses", Some(core!("EndpointAddress"))),
            atomic("ports", Some(core!("EndpointPort"))),
        ],
    ),
    t(
        core!("EndpointAddress"),
        &[obj("targetRef", core!("ObjectReference"))],
    ),
    at(core!("ObjectReference"), &[]),
    // core/v1 ConfigMap, Secret, ServiceAccount, Event
    t(core!("ConfigMap"), &[obj("metadata", meta!("ObjectMeta"))]),
    t(core!("Secret"), &[obj("metadata", meta!("ObjectMeta"))]),
    t(
        core!("ServiceAccount"),
        &[
            obj("metadata", meta!("ObjectMeta")),
            keyed_smp_only("secrets", core!("ObjectReference"), "name"),
            atomic("imagePullSecrets", Some(core!("LocalObjectReference"))),
        ],
    ),
    t(
        core!("Event"),
        &[
            obj("metadata", meta!("ObjectMeta")),
            obj("involvedObject", core!("ObjectReference")),
            obj("related", core!("ObjectReference")),
        ],
    ),
    // apps/v1
    t(
        apps!("Deployment"),
        &[
            obj("metadata", meta!("ObjectMeta")),
            obj("spec", apps!("DeploymentSpec")),
            obj("status", apps!("DeploymentStatus")),
        ],
    ),
    t(
        apps!("DeploymentSpec"),
        &[
            obj("selector", meta!("LabelSelector")),
            obj("template", core!("PodTemplateSpec")),
            retain("strategy", apps!("DeploymentStrategy")),
        ],
    ),
    t(
        apps!("DeploymentStatus"),
        &[keyed(
            "conditions",
            apps!("DeploymentCondition"),
            "type",
            KEY_TYPE,
        )],
    ),
    t(
        apps!("ReplicaSet"),
        &[
            obj("metadata", meta!("ObjectMeta")),
            obj("spec", apps!("ReplicaSetSpec")),
            obj("status", apps!("ReplicaSetStatus")),
        ],
    ),
    t(
        apps!("ReplicaSetSpec"),
        &[
            obj("selector", meta!("LabelSelector")),
            obj("template", core!("PodTemplateSpec")),
        ],
    ),
    t(
        apps!("ReplicaSetStatus"),
        &[keyed(
            "conditions",
            apps!("ReplicaSetCondition"),
            "type",
            KEY_TYPE,
        )],
    ),
    t(
        apps!("DaemonSet"),
        &[
            obj("metadata", meta!("ObjectMeta")),
            obj("spec", apps!("DaemonSetSpec")),
            obj("status", apps!("DaemonSetStatus")),
        ],
    ),
    t(
        apps!("DaemonSetSpec"),
        &[
            obj("selector", meta!("LabelSelector")),
            obj("template", core!("PodTemplateSpec")),
        ],
    ),
    t(
        apps!("DaemonSetStatus"),
        &[keyed(
            "conditions",
            apps!("DaemonSetCondition"),
            "type",
            KEY_TYPE,
        )],
    ),
    // discovery.k8s.io/v1
    t(
        discovery!("EndpointSlice"),
        &[
            obj("metadata", meta!("ObjectMeta")),
            atomic("endpoints", Some(discovery!("Endpoint"))),
            atomic("ports", Some(discovery!("EndpointPort"))),
        ],
    ),
    t(
        discovery!("Endpoint"),
        &[
            ssa_set("addresses"),
            obj("targetRef", core!("ObjectReference")),
            obj("hints", discovery!("EndpointHints")),
        ],
    ),
    t(
        discovery!("EndpointHints"),
        &[
            atomic("forZones", Some(discovery!("ForZone"))),
            atomic("forNodes", Some(discovery!("ForNode"))),
        ],
    ),
    // coordination.k8s.io/v1
    t(
        "io.k8s.api.coordination.v1.Lease",
        &[obj("metadata", meta!("ObjectMeta"))],
    ),
];
