//! The spec's `linux` section: namespaces, cgroup path and resources, masked paths, seccomp.

use oci_spec::runtime::{
    Linux, LinuxCpu, LinuxDeviceCgroup, LinuxMemory, LinuxNamespace, LinuxNamespaceType, LinuxPids,
    LinuxResources,
};

use super::capabilities::CapabilitySet;
use super::config::{ContainerSpecConfig, NamespaceMode, ProcMount, Resources, SeccompProfile};
use super::{mounts, seccomp};

/// containerd's masked paths: hidden behind /dev/null or an empty read-only tmpfs.
pub const MASKED_PATHS: [&str; 11] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
    "/proc/scsi",
];

/// containerd's read-only paths.
pub const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// The linux section for a validated config and its resolved capabilities.
pub fn build(config: &ContainerSpecConfig, caps: CapabilitySet) -> Linux {
    let security = &config.security;
    let confined = !security.privileged && security.proc_mount == ProcMount::Default;
    let paths =
        |list: &[&str]| confined.then(|| list.iter().map(|p| p.to_string()).collect::<Vec<_>>());
    let seccomp = match security.seccomp {
        SeccompProfile::RuntimeDefault if !security.privileged => {
            Some(seccomp::runtime_default(security.seccomp_arch, caps))
        }
        _ => None,
    };

    // Start from an empty section: oci-spec's Default fills in its own defaults.
    let mut linux = Linux::default();
    linux
        .set_resources(Some(resources(&config.resources, security.privileged)))
        .set_cgroups_path(config.cgroup_path.as_ref().map(Into::into))
        .set_namespaces(Some(namespaces(config)))
        .set_masked_paths(paths(&MASKED_PATHS))
        .set_readonly_paths(paths(&READONLY_PATHS))
        .set_rootfs_propagation(mounts::rootfs_propagation(config).map(String::from))
        .set_seccomp(seccomp)
        .set_devices(None)
        .set_uid_mappings(None)
        .set_gid_mappings(None)
        .set_sysctl(None);
    linux
}

/// In containerd's order: pid, ipc, uts, mount, network, then cgroup. Joined namespaces
/// carry their path; host namespaces are left out.
fn namespaces(config: &ContainerSpecConfig) -> Vec<LinuxNamespace> {
    let ns = &config.namespaces;
    let new = NamespaceMode::New;
    [
        (LinuxNamespaceType::Pid, &ns.pid),
        (LinuxNamespaceType::Ipc, &ns.ipc),
        (LinuxNamespaceType::Uts, &ns.uts),
        (LinuxNamespaceType::Mount, &new),
        (LinuxNamespaceType::Network, &ns.network),
        (LinuxNamespaceType::Cgroup, &ns.cgroup),
    ]
    .into_iter()
    .filter_map(|(typ, mode)| {
        let path = match mode {
            NamespaceMode::New => None,
            NamespaceMode::Join(path) => Some(path.clone()),
            NamespaceMode::Host => return None,
        };
        let mut namespace = LinuxNamespace::default();
        namespace.set_typ(typ).set_path(path);
        Some(namespace)
    })
    .collect()
}

/// cgroup limits; the device rule denies everything (runc adds its standard devices) unless
/// privileged, which allows every device.
fn resources(r: &Resources, privileged: bool) -> LinuxResources {
    let mut devices = LinuxDeviceCgroup::default();
    devices
        .set_allow(privileged)
        .set_access(Some("rwm".to_string()));

    let mut out = LinuxResources::default();
    out.set_devices(Some(vec![devices]));

    let cpu_given = r.cpu_shares.is_some()
        || r.cpu_quota.is_some()
        || r.cpu_period.is_some()
        || r.cpuset_cpus.is_some()
        || r.cpuset_mems.is_some();
    if cpu_given {
        let mut cpu = LinuxCpu::default();
        cpu.set_shares(r.cpu_shares)
            .set_quota(r.cpu_quota)
            .set_period(r.cpu_period)
            .set_cpus(r.cpuset_cpus.clone())
            .set_mems(r.cpuset_mems.clone());
        out.set_cpu(Some(cpu));
    }
    if r.memory_limit_bytes.is_some() || r.memory_swap_bytes.is_some() {
        let mut memory = LinuxMemory::default();
        memory
            .set_limit(r.memory_limit_bytes)
            .set_swap(r.memory_swap_bytes);
        out.set_memory(Some(memory));
    }
    if let Some(limit) = r.pids_limit {
        let mut pids = LinuxPids::default();
        pids.set_limit(limit);
        out.set_pids(Some(pids));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_namespaces_are_joined_by_path_and_host_ones_left_out() {
        let mut config = ContainerSpecConfig::default();
        config.namespaces.network = NamespaceMode::Join("/run/skiff/netns/p-net".into());
        config.namespaces.ipc = NamespaceMode::Join("/run/skiff/netns/p-ipc".into());
        config.namespaces.uts = NamespaceMode::Host;
        config.namespaces.cgroup = NamespaceMode::Host;
        let got: Vec<_> = namespaces(&config)
            .iter()
            .map(|n| (n.typ().to_string(), n.path().clone()))
            .collect();
        assert_eq!(
            got,
            [
                ("pid".to_string(), None),
                ("ipc".to_string(), Some("/run/skiff/netns/p-ipc".into())),
                ("mnt".to_string(), None),
                ("net".to_string(), Some("/run/skiff/netns/p-net".into())),
            ]
        );
    }

    #[test]
    fn empty_resources_only_deny_devices() {
        let r = resources(&Resources::default(), false);
        assert!(r.cpu().is_none() && r.memory().is_none() && r.pids().is_none());
        let devices = r.devices().as_ref().unwrap();
        assert_eq!(devices.len(), 1);
        assert!(!devices[0].allow());
    }
}
