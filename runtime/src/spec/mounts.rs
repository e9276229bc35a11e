//! The container's mount list: containerd's CRI default mounts merged with the caller's.

use std::path::{Path, PathBuf};

use oci_spec::runtime::Mount;

use super::config::{ContainerSpecConfig, MountConfig, MountKind, MountPropagation};

/// The mounts every container gets unless one of the same destination is supplied; `/run`
/// is left to the image, as containerd's CRI plugin does.
const DEFAULTS: [(&str, &str, &str, &[&str]); 7] = [
    ("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
    (
        "/dev",
        "tmpfs",
        "tmpfs",
        &["nosuid", "strictatime", "mode=755", "size=65536k"],
    ),
    (
        "/dev/pts",
        "devpts",
        "devpts",
        &[
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5",
        ],
    ),
    (
        "/dev/shm",
        "tmpfs",
        "shm",
        &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
    ),
    (
        "/dev/mqueue",
        "mqueue",
        "mqueue",
        &["nosuid", "noexec", "nodev"],
    ),
    (
        "/sys",
        "sysfs",
        "sysfs",
        &["nosuid", "noexec", "nodev", "ro"],
    ),
    (
        "/sys/fs/cgroup",
        "cgroup",
        "cgroup",
        &["nosuid", "noexec", "nodev", "relatime", "ro"],
    ),
];

/// The full mount list in the order the runtime mounts it: the defaults not overridden
/// (everything under `/dev` goes when `/dev` itself is supplied), then the supplied mounts
/// sorted by depth so a parent is mounted before its children.
///
/// Privileged containers get `/sys` and `/sys/fs/cgroup` writable.
pub fn build(config: &ContainerSpecConfig) -> Vec<Mount> {
    let supplied = supplied(config);
    let overridden = |dst: &Path| {
        supplied.iter().any(|m| m.destination == dst)
            || (dst.starts_with("/dev/")
                && supplied.iter().any(|m| m.destination == Path::new("/dev")))
    };
    let privileged = config.security.privileged;
    let mut mounts = Vec::with_capacity(DEFAULTS.len() + supplied.len());
    for (destination, typ, source, options) in DEFAULTS {
        if overridden(Path::new(destination)) {
            continue;
        }
        let writable_when_privileged = matches!(typ, "sysfs" | "cgroup");
        let options = options
            .iter()
            .filter(|o| !(privileged && writable_when_privileged && **o == "ro"))
            .map(|o| o.to_string())
            .collect();
        mounts.push(mount(destination.into(), typ, source.into(), options));
    }
    mounts.extend(supplied.iter().map(to_oci));
    mounts
}

/// The rootfs propagation the bind mounts need: `rshared` for a bidirectional mount,
/// `rslave` for a host-to-container one, none otherwise (runc's default `rprivate`).
pub fn rootfs_propagation(config: &ContainerSpecConfig) -> Option<&'static str> {
    let propagations = config.mounts.iter().filter_map(|m| match &m.kind {
        MountKind::Bind { propagation, .. } => Some(*propagation),
        MountKind::Tmpfs { .. } => None,
    });
    let mut result = None;
    for propagation in propagations {
        match propagation {
            MountPropagation::Bidirectional => return Some("rshared"),
            MountPropagation::HostToContainer => result = Some("rslave"),
            MountPropagation::Private => {}
        }
    }
    result
}

/// The caller's mounts plus the pod files not overridden by them, sorted by depth (stable,
/// so mounts of equal depth keep their order).
fn supplied(config: &ContainerSpecConfig) -> Vec<MountConfig> {
    let mut mounts = config.mounts.clone();
    let files = &config.sandbox_files;
    let read_only = config.security.read_only_root;
    for (destination, source, read_only) in [
        ("/etc/hostname", &files.hostname, read_only),
        ("/etc/hosts", &files.hosts, read_only),
        ("/etc/resolv.conf", &files.resolv_conf, read_only),
        ("/dev/shm", &files.shm, false),
    ] {
        let Some(source) = source else { continue };
        if mounts
            .iter()
            .any(|m| m.destination == Path::new(destination))
        {
            continue;
        }
        mounts.push(MountConfig {
            destination: destination.into(),
            kind: MountKind::Bind {
                source: source.clone(),
                propagation: MountPropagation::Private,
            },
            read_only,
        });
    }
    mounts.sort_by_key(|m| m.destination.components().count());
    mounts
}

fn to_oci(m: &MountConfig) -> Mount {
    let access = if m.read_only { "ro" } else { "rw" };
    match &m.kind {
        MountKind::Bind {
            source,
            propagation,
        } => {
            let propagation = match propagation {
                MountPropagation::Private => "rprivate",
                MountPropagation::HostToContainer => "rslave",
                MountPropagation::Bidirectional => "rshared",
            };
            let options = ["rbind", propagation, access].map(String::from).to_vec();
            mount(m.destination.clone(), "bind", source.clone(), options)
        }
        MountKind::Tmpfs { size_bytes, mode } => {
            let mut options = vec!["nosuid".to_string(), "nodev".to_string()];
            if let Some(mode) = mode {
                options.push(format!("mode={mode:o}"));
            }
            if let Some(size) = size_bytes {
                options.push(format!("size={size}"));
            }
            options.push(access.to_string());
            mount(m.destination.clone(), "tmpfs", "tmpfs".into(), options)
        }
    }
}

fn mount(destination: PathBuf, typ: &str, source: PathBuf, options: Vec<String>) -> Mount {
    let mut m = Mount::default();
    m.set_destination(destination)
        .set_typ(Some(typ.to_string()))
        .set_source(Some(source))
        .set_options(Some(options));
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn destinations(mounts: &[Mount]) -> Vec<String> {
        mounts
            .iter()
            .map(|m| m.destination().display().to_string())
            .collect()
    }

    fn bind(destination: &str, source: &str) -> MountConfig {
        MountConfig {
            destination: destination.into(),
            kind: MountKind::Bind {
                source: source.into(),
                propagation: MountPropagation::Private,
            },
            read_only: false,
        }
    }

    #[test]
    fn defaults_match_containerd_cri_without_run() {
        let mounts = build(&ContainerSpecConfig::default());
        assert_eq!(
            destinations(&mounts),
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/dev/shm",
                "/dev/mqueue",
                "/sys",
                "/sys/fs/cgroup"
            ]
        );
    }

    #[test]
    fn supplied_dev_replaces_every_default_under_dev() {
        let mut config = ContainerSpecConfig::default();
        config.mounts.push(bind("/dev", "/host/dev"));
        let mounts = build(&config);
        assert_eq!(
            destinations(&mounts),
            ["/proc", "/sys", "/sys/fs/cgroup", "/dev"]
        );
    }

    #[test]
    fn pod_shm_replaces_the_default_shm_tmpfs() {
        let mut config = ContainerSpecConfig::default();
        config.sandbox_files.shm = Some("/run/skiff/pods/p/shm".into());
        let mounts = build(&config);
        let shm: Vec<_> = mounts
            .iter()
            .filter(|m| m.destination() == Path::new("/dev/shm"))
            .collect();
        assert_eq!(shm.len(), 1);
        assert_eq!(shm[0].typ().as_deref(), Some("bind"));
        assert_eq!(
            shm[0].options().as_deref(),
            Some(&["rbind".into(), "rprivate".into(), "rw".into()][..])
        );
    }

    #[test]
    fn supplied_mounts_are_sorted_by_depth_keeping_order_within_a_depth() {
        let mut config = ContainerSpecConfig::default();
        config.mounts.push(bind("/data/cache/tmp", "/h/3"));
        config.mounts.push(bind("/data", "/h/1"));
        config.mounts.push(bind("/etc/hosts", "/h/hosts"));
        config.mounts.push(bind("/logs", "/h/2"));
        config.sandbox_files.hosts = Some("/pod/hosts".into());
        config.sandbox_files.resolv_conf = Some("/pod/resolv.conf".into());
        let mounts = build(&config);
        assert_eq!(
            destinations(&mounts)[7..],
            [
                "/data",
                "/logs",
                "/etc/hosts",
                "/etc/resolv.conf",
                "/data/cache/tmp"
            ]
        );
        // The container's own /etc/hosts wins over the pod's.
        assert_eq!(mounts[9].source().as_deref(), Some(Path::new("/h/hosts")));
    }

    #[test]
    fn propagation_picks_the_strongest_bind_mount() {
        let mut config = ContainerSpecConfig::default();
        assert_eq!(rootfs_propagation(&config), None);
        let mut m = bind("/a", "/a");
        m.kind = MountKind::Bind {
            source: "/a".into(),
            propagation: MountPropagation::HostToContainer,
        };
        config.mounts.push(m.clone());
        assert_eq!(rootfs_propagation(&config), Some("rslave"));
        m.destination = "/b".into();
        m.kind = MountKind::Bind {
            source: "/b".into(),
            propagation: MountPropagation::Bidirectional,
        };
        config.mounts.insert(0, m);
        assert_eq!(rootfs_propagation(&config), Some("rshared"));
    }
}
