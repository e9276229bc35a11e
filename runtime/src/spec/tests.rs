//! Behaviour of [`build`]: validation errors name their field; security switches.

use oci_spec::runtime::Capability;

use super::*;

fn valid() -> ContainerSpecConfig {
    ContainerSpecConfig {
        args: vec!["/bin/sh".into()],
        ..ContainerSpecConfig::default()
    }
}

fn error_of(edit: impl FnOnce(&mut ContainerSpecConfig)) -> String {
    let mut config = valid();
    edit(&mut config);
    build(&config).expect_err("config is invalid").to_string()
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
fn empty_args_are_rejected() {
    assert_eq!(error_of(|c| c.args.clear()), "args: empty");
    assert_eq!(error_of(|c| c.args = vec![String::new()]), "args: empty");
}

#[test]
fn reserved_ids_name_the_user_field() {
    assert_eq!(
        error_of(|c| c.user.uid = u32::MAX),
        "user.uid: 4294967295 is reserved"
    );
    assert_eq!(
        error_of(|c| c.user.additional_gids = vec![5, u32::MAX]),
        "user.additional_gids[1]: 4294967295 is reserved"
    );
}

#[test]
fn relative_mount_destination_names_its_index() {
    let msg = error_of(|c| {
        c.mounts = vec![bind("/a", "/h/a"), bind("/b", "/h/b"), bind("data", "/h/c")];
    });
    assert_eq!(msg, "mounts[2].destination: must be absolute");
}

#[test]
fn mount_problems_are_reported_per_field() {
    assert_eq!(
        error_of(|c| c.mounts = vec![bind("/a", "relative")]),
        "mounts[0].source: must be absolute"
    );
    assert_eq!(
        error_of(|c| c.mounts = vec![bind("/a/../etc", "/h")]),
        "mounts[0].destination: must not contain \"..\""
    );
    assert_eq!(
        error_of(|c| c.mounts = vec![bind("/a", "/h/1"), bind("/a", "/h/2")]),
        "mounts[1].destination: /a is already mounted by mounts[0]"
    );
    assert_eq!(
        error_of(|c| c.sandbox_files.hosts = Some("hosts".into())),
        "sandbox_files.hosts: must be absolute"
    );
}

#[test]
fn env_names_must_be_plain() {
    assert_eq!(
        error_of(|c| c.env = vec![("A=B".into(), "1".into())]),
        "env[0]: invalid variable name \"A=B\""
    );
}

#[test]
fn hostname_needs_its_own_uts_namespace_and_a_valid_name() {
    assert_eq!(
        error_of(|c| c.hostname = Some("-bad".into())),
        "hostname: invalid hostname \"-bad\""
    );
    assert_eq!(
        error_of(|c| {
            c.hostname = Some("web-0".into());
            c.namespaces.uts = NamespaceMode::Join("/run/skiff/netns/p-uts".into());
        }),
        "hostname: needs a new uts namespace"
    );
}

#[test]
fn resource_ranges_are_checked() {
    assert_eq!(
        error_of(|c| c.resources.oom_score_adj = Some(1001)),
        "resources.oom_score_adj: 1001 is outside -1000..=1000"
    );
    assert_eq!(
        error_of(|c| c.resources.cpu_period = Some(10)),
        "resources.cpu_period: 10 is outside 1000..=1000000"
    );
    assert_eq!(
        error_of(|c| c.resources.cpuset_cpus = Some("3-1".into())),
        "resources.cpuset_cpus: \"3-1\" is not a list like \"0-3,6\""
    );
    assert_eq!(
        error_of(|c| c.resources.pids_limit = Some(0)),
        "resources.pids_limit: 0 is outside 1..=9223372036854775807"
    );
}

#[test]
fn cgroup_path_is_cgroupfs_or_systemd_form() {
    let mut config = valid();
    config.cgroup_path = Some("kubepods-besteffort.slice:skiff:abc".into());
    assert!(build(&config).is_ok());
    assert_eq!(
        error_of(|c| c.cgroup_path = Some("kubepods/pod1".into())),
        "cgroup_path: \"kubepods/pod1\" is neither an absolute path nor \"slice:prefix:name\""
    );
}

#[test]
fn joined_namespace_path_must_be_absolute() {
    assert_eq!(
        error_of(|c| c.namespaces.network = NamespaceMode::Join("netns".into())),
        "namespaces.network: must be absolute"
    );
}

#[test]
fn rlimit_soft_may_not_exceed_hard() {
    let msg = error_of(|c| {
        c.rlimits = vec![Rlimit {
            resource: RlimitResource::Nofile,
            soft: 10,
            hard: 5,
        }]
    });
    assert_eq!(msg, "rlimits[0]: soft limit 10 exceeds hard limit 5");
}

#[test]
fn default_container_is_confined_like_containerd_cri() {
    let spec = build(&valid()).unwrap();
    let process = spec.process().as_ref().unwrap();
    assert_eq!(process.no_new_privileges(), None);
    assert!(
        process.rlimits().is_none(),
        "CRI leaves rlimits to the runtime"
    );
    let caps = process.capabilities().as_ref().unwrap();
    assert_eq!(caps.bounding().as_ref().unwrap().len(), 14);
    assert!(caps.ambient().is_none() && caps.inheritable().is_none());
    let linux = spec.linux().as_ref().unwrap();
    assert_eq!(linux.masked_paths().as_ref().unwrap().len(), 11);
    assert_eq!(linux.readonly_paths().as_ref().unwrap().len(), 5);
    assert!(linux.seccomp().is_some());
    assert_eq!(spec.root().as_ref().unwrap().readonly(), None);
}

#[test]
fn privileged_drops_confinement_and_ignores_capability_drops() {
    let mut config = valid();
    config.security.privileged = true;
    config.security.capabilities.drop = vec!["ALL".into()];
    let spec = build(&config).unwrap();
    let caps = spec
        .process()
        .as_ref()
        .unwrap()
        .capabilities()
        .clone()
        .unwrap();
    assert!(caps
        .bounding()
        .as_ref()
        .unwrap()
        .contains(&Capability::SysAdmin));
    let linux = spec.linux().as_ref().unwrap();
    assert!(linux.seccomp().is_none());
    assert!(linux.masked_paths().is_none() && linux.readonly_paths().is_none());
    let sys = spec
        .mounts()
        .as_ref()
        .unwrap()
        .iter()
        .find(|m| m.destination().as_os_str() == "/sys")
        .unwrap();
    assert!(!sys.options().as_ref().unwrap().contains(&"ro".to_string()));
}

#[test]
fn unconfined_seccomp_and_unmasked_proc_are_honoured() {
    let mut config = valid();
    config.security.seccomp = SeccompProfile::Unconfined;
    config.security.proc_mount = ProcMount::Unmasked;
    let spec = build(&config).unwrap();
    let linux = spec.linux().as_ref().unwrap();
    assert!(linux.seccomp().is_none());
    assert!(linux.masked_paths().is_none());
}

#[test]
fn read_only_root_makes_pod_etc_files_read_only_but_not_shm() {
    let mut config = valid();
    config.security.read_only_root = true;
    config.sandbox_files.hosts = Some("/pod/hosts".into());
    config.sandbox_files.shm = Some("/pod/shm".into());
    let spec = build(&config).unwrap();
    assert_eq!(spec.root().as_ref().unwrap().readonly(), Some(true));
    let options = |dst: &str| {
        let mounts = spec.mounts().as_ref().unwrap();
        let m = mounts.iter().find(|m| m.destination().as_os_str() == dst);
        m.unwrap().options().clone().unwrap()
    };
    assert_eq!(options("/etc/hosts"), ["rbind", "rprivate", "ro"]);
    assert_eq!(options("/dev/shm"), ["rbind", "rprivate", "rw"]);
}
