//! Which k8s-openapi type describes each kind, and the other types the documents reference
//! (subresource bodies, meta types).

use k8s_openapi::api::{
    apps::v1 as apps, autoscaling::v1 as autoscaling, batch::v1 as batch,
    coordination::v1 as coordination, core::v1 as core, discovery::v1 as discovery,
    events::v1 as events, networking::v1 as networking, policy::v1 as policy, rbac::v1 as rbac,
    scheduling::v1 as scheduling, storage::v1 as storage,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use schemars::{JsonSchema, SchemaGenerator};

/// Adds a type's schema (and everything it references) to the generator; returns its name.
pub type AddSchema = fn(&mut SchemaGenerator) -> String;

/// One kind and the type that describes it.
pub struct TypeEntry {
    /// API group, `""` for core.
    pub group: &'static str,
    /// Version.
    pub version: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Adds the type's schema.
    pub add: AddSchema,
}

fn add<T: JsonSchema>(gen: &mut SchemaGenerator) -> String {
    gen.subschema_for::<T>();
    T::schema_name().into_owned()
}

macro_rules! entries {
    ($($group:literal $version:literal $kind:ident => $ty:ty),* $(,)?) => {
        /// Every kind the documents can describe (served kinds and subresource bodies).
        pub static TYPES: &[TypeEntry] = &[$(TypeEntry {
            group: $group,
            version: $version,
            kind: stringify!($kind),
            add: add::<$ty>,
        }),*];
    };
}

entries! {
    "" "v1" Binding => core::Binding,
    "" "v1" ConfigMap => core::ConfigMap,
    "" "v1" Endpoints => core::Endpoints,
    "" "v1" Event => core::Event,
    "" "v1" LimitRange => core::LimitRange,
    "" "v1" Namespace => core::Namespace,
    "" "v1" Node => core::Node,
    "" "v1" PersistentVolume => core::PersistentVolume,
    "" "v1" PersistentVolumeClaim => core::PersistentVolumeClaim,
    "" "v1" Pod => core::Pod,
    "" "v1" PodTemplate => core::PodTemplate,
    "" "v1" ReplicationController => core::ReplicationController,
    "" "v1" ResourceQuota => core::ResourceQuota,
    "" "v1" Secret => core::Secret,
    "" "v1" Service => core::Service,
    "" "v1" ServiceAccount => core::ServiceAccount,
    "apps" "v1" ControllerRevision => apps::ControllerRevision,
    "apps" "v1" DaemonSet => apps::DaemonSet,
    "apps" "v1" Deployment => apps::Deployment,
    "apps" "v1" ReplicaSet => apps::ReplicaSet,
    "apps" "v1" StatefulSet => apps::StatefulSet,
    "autoscaling" "v1" Scale => autoscaling::Scale,
    "batch" "v1" CronJob => batch::CronJob,
    "batch" "v1" Job => batch::Job,
    "coordination.k8s.io" "v1" Lease => coordination::Lease,
    "discovery.k8s.io" "v1" EndpointSlice => discovery::EndpointSlice,
    "events.k8s.io" "v1" Event => events::Event,
    "networking.k8s.io" "v1" Ingress => networking::Ingress,
    "networking.k8s.io" "v1" IngressClass => networking::IngressClass,
    "networking.k8s.io" "v1" NetworkPolicy => networking::NetworkPolicy,
    "policy" "v1" Eviction => policy::Eviction,
    "policy" "v1" PodDisruptionBudget => policy::PodDisruptionBudget,
    "rbac.authorization.k8s.io" "v1" ClusterRole => rbac::ClusterRole,
    "rbac.authorization.k8s.io" "v1" ClusterRoleBinding => rbac::ClusterRoleBinding,
    "rbac.authorization.k8s.io" "v1" Role => rbac::Role,
    "rbac.authorization.k8s.io" "v1" RoleBinding => rbac::RoleBinding,
    "scheduling.k8s.io" "v1" PriorityClass => scheduling::PriorityClass,
    "storage.k8s.io" "v1" StorageClass => storage::StorageClass,
}

/// The entry describing `group`/`version`/`kind`, if the table has one.
pub fn lookup(group: &str, version: &str, kind: &str) -> Option<&'static TypeEntry> {
    TYPES
        .iter()
        .find(|t| t.group == group && t.version == version && t.kind == kind)
}

/// Schema name of `DeleteOptions`.
pub const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
/// Schema name of `Status`.
pub const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
/// Schema name of `WatchEvent`.
pub const WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
/// Schema name of `Patch`.
pub const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
/// Schema name of `ObjectMeta`.
pub const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
/// Schema name of `ListMeta`.
pub const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
/// Schema name of `APIResourceList`.
pub const API_RESOURCE_LIST: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList";

/// Adds the meta types every group-version document references.
pub fn add_meta(gen: &mut SchemaGenerator) {
    gen.subschema_for::<meta::DeleteOptions>();
    gen.subschema_for::<meta::Status>();
    gen.subschema_for::<meta::WatchEvent<core::Pod>>();
    gen.subschema_for::<meta::Patch>();
    gen.subschema_for::<meta::ListMeta>();
    gen.subschema_for::<meta::APIResourceList>();
}
