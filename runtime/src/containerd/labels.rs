//! Label keys on containerd's container records, so all state can be rebuilt from containerd.

/// `sandbox` or `container`.
pub(crate) const KIND: &str = "io.skiff.kind";
/// [`KIND`] value of a sandbox record.
pub(crate) const KIND_SANDBOX: &str = "sandbox";
/// [`KIND`] value of a container record.
pub(crate) const KIND_CONTAINER: &str = "container";
/// The sandbox a container belongs to.
pub(crate) const SANDBOX_ID: &str = "io.skiff.sandbox-id";
/// The pod's uid.
pub(crate) const POD_UID: &str = "io.skiff.pod.uid";
/// The pod's namespace.
pub(crate) const POD_NAMESPACE: &str = "io.skiff.pod.namespace";
/// The pod's name.
pub(crate) const POD_NAME: &str = "io.skiff.pod.name";
/// The container's name in the pod.
pub(crate) const CONTAINER_NAME: &str = "io.skiff.container.name";
/// The sandbox's or container's attempt.
pub(crate) const ATTEMPT: &str = "io.skiff.attempt";
/// Set to `true` on a container once the OOM killer hit it.
pub(crate) const OOM_KILLED: &str = "io.skiff.oom-killed";
/// Annotation grouping a pod's containers into one runc shim.
pub(crate) const SHIM_GROUP: &str = "io.containerd.runc.v2.group";
