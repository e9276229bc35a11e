//! Pod types: spec, containers, volumes, affinity, status.

use super::super::fields::{atomic, keyed, keyed_retain, keyed_smp_only, obj, ssa_map};
use super::super::{Field, TypeDef};
use super::{at, t, KEY_NAME, KEY_TYPE};

/// Container and EphemeralContainer share their fields (`EphemeralContainerCommon`).
const CONTAINER_FIELDS: &[Field] = &[
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

const HANDLER_FIELDS: &[Field] = &[
    obj("exec", core!("ExecAction")),
    obj("httpGet", core!("HTTPGetAction")),
];

const POD_AFFINITY_FIELDS: &[Field] = &[
    atomic(
        "requiredDuringSchedulingIgnoredDuringExecution",
        Some(core!("PodAffinityTerm")),
    ),
    atomic(
        "preferredDuringSchedulingIgnoredDuringExecution",
        Some(core!("WeightedPodAffinityTerm")),
    ),
];

/// The pod types with their markers.
pub(super) static TYPES: &[TypeDef] = &[
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
];
