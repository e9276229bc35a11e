//! The type tree of the served kinds with the merge markers of upstream's Go types (v1.33),
//! keyed by OpenAPI schema name. Only fields that carry a marker or lead to one are listed;
//! everything else merges as a plain map or is replaced as a plain list.

use super::fields::{
    atomic, atomic_map, keyed, keyed_retain, keyed_smp_only, merge_set, obj, retain, ssa_map,
    ssa_set,
};
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

const fn t(name: &'static str, fields: &'static [super::Field]) -> TypeDef {
    TypeDef {
        name,
        atomic: false,
        fields,
    }
}

/// A `+structType=atomic` (`x-kubernetes-map-type: atomic`) type.
const fn at(name: &'static str, fields: &'static [super::Field]) -> TypeDef {
    TypeDef {
        name,
        atomic: true,
        fields,
    }
}

const KEY_NAME: &[&str] = &["name"];
const KEY_TYPE: &[&str] = &["type"];

/// Container and EphemeralContainer share their fields (`EphemeralContainerCommon`).
const CONTAINER_FIELDS: &[super::Field] = &[
    atomic("command", None),
    atomic("args", None),
    keyed(
        "ports",
        core!("ContainerPort"),
        "containerPort",
        &["containerPort", "protocol"],
    ),
    atomic("envFrom", Some(core!("EnvFromSource"))),
    keyed("env", core!("EnvVar"), "name", KEY_NAME),
    obj("resources", core!("ResourceRequirements")),
    atomic("resizePolicy", Some(core!("ContainerResizePolicy"))),
    keyed(
        "volumeMounts",
        core!("VolumeMount"),
        "mountPath",
        &["mountPath"],
    ),
    keyed(
        "volumeDevices",
        core!("VolumeDevice"),
        "devicePath",
        &["devicePath"],
    ),
    obj("livenessProbe", core!("Probe")),
    obj("readinessProbe", core!("Probe")),
    obj("startupProbe", core!("Probe")),
    obj("lifecycle", core!("Lifecycle")),
    obj("securityContext", core!("SecurityContext")),
];

const HANDLER_FIELDS: &[super::Field] = &[
    obj("exec", core!("ExecAction")),
    obj("httpGet", core!("HTTPGetAction")),
];

/// Every type with a marker or on the way to one.
pub(super) static TYPES: &[TypeDef] = &[
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
    // core/v1 Pod
    t(
        core!("Pod"),
        &[
            obj("metadata", meta!("ObjectMeta")),
            obj("spec", core!("PodSpec")),
            obj("status", core!("PodStatus")),
        ],
    ),
    t(
        core!("PodTemplateSpec"),
        &[
            obj("metadata", meta!("ObjectMeta")),
            obj("spec", core!("PodSpec")),
        ],
    ),
    t(
        core!("PodSpec"),
        &[
            keyed_retain("volumes", core!("Volume"), "name", KEY_NAME),
            keyed("initContainers", core!("Container"), "name", KEY_NAME),
            keyed("containers", core!("Container"), "name", KEY_NAME),
            keyed(
                "ephemeralContainers",
                core!("EphemeralContainer"),
                "name",
                KEY_NAME,
            ),
            keyed_smp_only("imagePullSecrets", core!("LocalObjectReference"), "name"),
            keyed_smp_only("hostAliases", core!("HostAlias"), "ip"),
            atomic("tolerations", Some(core!("Toleration"))),
            atomic("readinessGates", Some(core!("PodReadinessGate"))),
            keyed(
                "topologySpreadConstraints",
                core!("TopologySpreadConstraint"),
                "topologyKey",
                &["topologyKey", "whenUnsatisfiable"],
            ),
            keyed_retain(
                "resourceClaims",
                core!("PodResourceClaim"),
                "name",
                KEY_NAME,
            ),
            keyed(
                "schedulingGates",
                core!("PodSchedulingGate"),
                "name",
                KEY_NAME,
            ),
            obj("securityContext", core!("PodSecurityContext")),
            obj("affinity", core!("Affinity")),
            obj("dnsConfig", core!("PodDNSConfig")),
            obj("resources", core!("ResourceRequirements")),
        ],
    ),
    at(core!("LocalObjectReference"), &[]),
    t(core!("HostAlias"), &[atomic("hostnames", None)]),
    t(
        core!("TopologySpreadConstraint"),
        &[
            obj("labelSelector", meta!("LabelSelector")),
            atomic("matchLabelKeys", None),
        ],
    ),
    t(
        core!("PodSecurityContext"),
        &[
            atomic("supplementalGroups", None),
            atomic("sysctls", Some(core!("Sysctl"))),
        ],
    ),
    t(
        core!("PodDNSConfig"),
        &[
            atomic("nameservers", None),
            atomic("searches", None),
            atomic("options", Some(core!("PodDNSConfigOption"))),
        ],
    ),
    t(
        core!("Affinity"),
        &[
            obj("nodeAffinity", core!("NodeAffinity")),
            obj("podAffinity", core!("PodAffinity")),
            obj("podAntiAffinity", core!("PodAntiAffinity")),
        ],
    ),
    t(
        core!("NodeAffinity"),
        &[
            obj(
                "requiredDuringSchedulingIgnoredDuringExecution",
                core!("NodeSelector"),
            ),
            atomic(
                "preferredDuringSchedulingIgnoredDuringExecution",
                Some(core!("PreferredSchedulingTerm")),
            ),
        ],
    ),
    at(
        core!("NodeSelector"),
        &[atomic("nodeSelectorTerms", Some(core!("NodeSelectorTerm")))],
    ),
    at(
        core!("NodeSelectorTerm"),
        &[
            atomic("matchExpressions", Some(core!("NodeSelectorRequirement"))),
            atomic("matchFields", Some(core!("NodeSelectorRequirement"))),
        ],
    ),
    t(core!("NodeSelectorRequirement"), &[atomic("values", None)]),
    t(
        core!("PreferredSchedulingTerm"),
        &[obj("preference", core!("NodeSelectorTerm"))],
    ),
    t(core!("PodAffinity"), POD_AFFINITY_FIELDS),
    t(core!("PodAntiAffinity"), POD_AFFINITY_FIELDS),
    t(
        core!("WeightedPodAffinityTerm"),
        &[obj("podAffinityTerm", core!("PodAffinityTerm"))],
    ),
    t(
        core!("PodAffinityTerm"),
        &[
            obj("labelSelector", meta!("LabelSelector")),
            atomic("namespaces", None),
            obj("namespaceSelector", meta!("LabelSelector")),
            atomic("matchLabelKeys", None),
            atomic("mismatchLabelKeys", None),
        ],
    ),
    t(core!("Container"), CONTAINER_FIELDS),
    t(core!("EphemeralContainer"), CONTAINER_FIELDS),
    t(core!("EnvVar"), &[obj("valueFrom", core!("EnvVarSource"))]),
    t(
        core!("EnvVarSource"),
        &[
            obj("configMapKeyRef", core!("ConfigMapKeySelector")),
            obj("secretKeyRef", core!("SecretKeySelector")),
            obj("fieldRef", core!("ObjectFieldSelector")),
            obj("resourceFieldRef", core!("ResourceFieldSelector")),
        ],
    ),
    at(core!("ConfigMapKeySelector"), &[]),
    at(core!("SecretKeySelector"), &[]),
    at(core!("ObjectFieldSelector"), &[]),
    at(core!("ResourceFieldSelector"), &[]),
    t(
        core!("EnvFromSource"),
        &[
            obj("configMapRef", core!("ConfigMapEnvSource")),
            obj("secretRef", core!("SecretEnvSource")),
        ],
    ),
    at(core!("ConfigMapEnvSource"), &[]),
    at(core!("SecretEnvSource"), &[]),
    t(
        core!("ResourceRequirements"),
        &[ssa_map("claims", core!("ResourceClaim"), KEY_NAME)],
    ),
    t(
        core!("SecurityContext"),
        &[obj("capabilities", core!("Capabilities"))],
    ),
    t(
        core!("Capabilities"),
        &[atomic("add", None), atomic("drop", None)],
    ),
    t(core!("Probe"), HANDLER_FIELDS),
    t(
        core!("Lifecycle"),
        &[
            obj("postStart", core!("LifecycleHandler")),
            obj("preStop", core!("LifecycleHandler")),
        ],
    ),
    t(core!("LifecycleHandler"), HANDLER_FIELDS),
    t(core!("ExecAction"), &[atomic("command", None)]),
    t(
        core!("HTTPGetAction"),
        &[atomic("httpHeaders", Some(core!("HTTPHeader")))],
    ),
    t(
        core!("Volume"),
        &[
            obj("secret", core!("SecretVolumeSource")),
            obj("configMap", core!("ConfigMapVolumeSource")),
            obj("projected", core!("ProjectedVolumeSource")),
            obj("downwardAPI", core!("DownwardAPIVolumeSource")),
        ],
    ),
    t(
        core!("SecretVolumeSource"),
        &[atomic("items", Some(core!("KeyToPath")))],
    ),
    t(
        core!("ConfigMapVolumeSource"),
        &[atomic("items", Some(core!("KeyToPath")))],
    ),
    t(
        core!("DownwardAPIVolumeSource"),
        &[atomic("items", Some(core!("DownwardAPIVolumeFile")))],
    ),
    t(
        core!("ProjectedVolumeSource"),
        &[atomic("sources", Some(core!("VolumeProjection")))],
    ),
    t(
        core!("VolumeProjection"),
        &[
            obj("secret", core!("SecretProjection")),
            obj("configMap", core!("ConfigMapProjection")),
            obj("downwardAPI", core!("DownwardAPIProjection")),
        ],
    ),
    t(
        core!("SecretProjection"),
        &[atomic("items", Some(core!("KeyToPath")))],
    ),
    t(
        core!("ConfigMapProjection"),
        &[atomic("items", Some(core!("KeyToPath")))],
    ),
    t(
        core!("DownwardAPIProjection"),
        &[atomic("items", Some(core!("DownwardAPIVolumeFile")))],
    ),
    t(
        core!("PodStatus"),
        &[
            keyed("conditions", core!("PodCondition"), "type", KEY_TYPE),
            keyed("podIPs", core!("PodIP"), "ip", &["ip"]),
            keyed_smp_only("hostIPs", core!("HostIP"), "ip"),
            atomic("initContainerStatuses", Some(core!("ContainerStatus"))),
            atomic("containerStatuses", Some(core!("ContainerStatus"))),
            atomic("ephemeralContainerStatuses", Some(core!("ContainerStatus"))),
            keyed_retain(
                "resourceClaimStatuses",
                core!("PodResourceClaimStatus"),
                "name",
                KEY_NAME,
            ),
        ],
    ),
    t(
        core!("ContainerStatus"),
        &[
            keyed(
                "volumeMounts",
                core!("VolumeMountStatus"),
                "mountPath",
                &["mountPath"],
            ),
            keyed(
                "allocatedResourcesStatus",
                core!("ResourceStatus"),
                "name",
                KEY_NAME,
            ),
        ],
    ),
    t(
        core!("ResourceStatus"),
        &[ssa_map(
            "resources",
            core!("ResourceHealth"),
            &["resourceID"],
        )],
    ),
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

const POD_AFFINITY_FIELDS: &[super::Field] = &[
    atomic(
        "requiredDuringSchedulingIgnoredDuringExecution",
        Some(core!("PodAffinityTerm")),
    ),
    atomic(
        "preferredDuringSchedulingIgnoredDuringExecution",
        Some(core!("WeightedPodAffinityTerm")),
    ),
];
