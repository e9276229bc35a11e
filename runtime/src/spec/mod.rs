//! OCI runtime spec generation: a pure function from Skiff's [`ContainerSpecConfig`] to the
//! `config.json` containerd hands to runc, with containerd's CRI plugin defaults
//! (capabilities, mounts, masked and read-only paths, RuntimeDefault seccomp).

mod capabilities;
mod config;
mod error;
mod linux;
mod mounts;
mod process;
mod seccomp;
mod seccomp_syscalls;
mod validate;

#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use oci_spec::runtime::{Root, Spec};

pub use capabilities::CapabilitySet;
pub use config::{
    CapabilityChanges, ContainerSpecConfig, MountConfig, MountKind, MountPropagation,
    NamespaceMode, Namespaces, ProcMount, ProcessUser, Resources, Rlimit, RlimitResource,
    SandboxFiles, SeccompArch, SeccompProfile, SecurityConfig,
};
pub use error::SpecError;
pub use linux::{MASKED_PATHS, READONLY_PATHS};

/// The root filesystem path, relative to the bundle, where containerd mounts the snapshot.
pub const ROOTFS_PATH: &str = "rootfs";

/// Builds the OCI runtime spec for one container, or names the first invalid field.
pub fn build(config: &ContainerSpecConfig) -> Result<Spec, SpecError> {
    validate::validate(config)?;
    let caps = capabilities::resolve(&config.security)?;

    let mut root = Root::default();
    root.set_path(ROOTFS_PATH.into())
        .set_readonly(config.security.read_only_root.then_some(true));

    let annotations: HashMap<String, String> = config
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();

    // Every field is set explicitly: oci-spec's Default fills in a sample container.
    let mut spec = Spec::default();
    spec.set_version(oci_spec::runtime::VERSION.to_string())
        .set_root(Some(root))
        .set_mounts(Some(mounts::build(config)))
        .set_process(Some(process::build(config, caps)))
        .set_hostname(config.hostname.clone())
        .set_domainname(None)
        .set_hooks(None)
        .set_annotations((!annotations.is_empty()).then_some(annotations))
        .set_linux(Some(linux::build(config, caps)));
    tracing::debug!(
        args0 = %config.args[0],
        privileged = config.security.privileged,
        mounts = spec.mounts().as_ref().map_or(0, Vec::len),
        "built OCI runtime spec"
    );
    Ok(spec)
}
