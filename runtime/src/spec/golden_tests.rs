//! Whole specs compared with reviewed JSON files in `testdata/`.
//!
//! `SKIFF_UPDATE_GOLDEN=1 cargo test -p skiff-runtime spec::golden` rewrites the files;
//! review the diff before committing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::*;

/// A stable JSON rendering: object keys sorted, and capability sets (unordered in oci-spec)
/// sorted by name.
fn canonical_json(spec: &Spec) -> String {
    let mut value = serde_json::to_value(spec).expect("a spec serializes");
    if let Some(caps) = value.pointer_mut("/process/capabilities") {
        for set in caps
            .as_object_mut()
            .into_iter()
            .flat_map(|o| o.values_mut())
        {
            if let Some(list) = set.as_array_mut() {
                list.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
        }
    }
    let mut text = serde_json::to_string_pretty(&sorted(value)).expect("json renders");
    text.push('\n');
    text
}

fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let ordered: BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(ordered.into_iter().collect::<Map<_, _>>())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn check_golden(name: &str, config: &ContainerSpecConfig) {
    let spec = build(config).expect("golden configs are valid");
    let got = canonical_json(&spec);
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "src/spec/testdata", name]
        .iter()
        .collect();
    if std::env::var_os("SKIFF_UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&path, &got).expect("golden file writable");
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with SKIFF_UPDATE_GOLDEN=1", path.display()));
    assert!(
        got == want,
        "{name} differs from the golden file; rerun with SKIFF_UPDATE_GOLDEN=1 and review \
         the diff\n--- got ---\n{got}"
    );
}

fn pod_container() -> ContainerSpecConfig {
    ContainerSpecConfig {
        args: vec!["/bin/app".into(), "--serve".into()],
        namespaces: Namespaces {
            network: NamespaceMode::Join("/run/skiff/netns/pod-1234-net".into()),
            ipc: NamespaceMode::Join("/run/skiff/netns/pod-1234-ipc".into()),
            uts: NamespaceMode::Join("/run/skiff/netns/pod-1234-uts".into()),
            pid: NamespaceMode::New,
            cgroup: NamespaceMode::New,
        },
        sandbox_files: SandboxFiles {
            hosts: Some("/var/lib/skiff/pods/1234/hosts".into()),
            resolv_conf: Some("/var/lib/skiff/pods/1234/resolv.conf".into()),
            hostname: Some("/var/lib/skiff/pods/1234/hostname".into()),
            shm: Some("/run/skiff/pods/1234/shm".into()),
        },
        cgroup_path: Some("/kubepods/burstable/pod1234/c0ffee".into()),
        security: SecurityConfig {
            seccomp_arch: SeccompArch::X86_64,
            ..SecurityConfig::default()
        },
        annotations: BTreeMap::from([
            (
                "io.kubernetes.cri.container-type".into(),
                "container".into(),
            ),
            ("io.kubernetes.cri.sandbox-id".into(), "pod-1234".into()),
        ]),
        ..ContainerSpecConfig::default()
    }
}

#[test]
fn minimal_container_matches_golden() {
    let config = ContainerSpecConfig {
        args: vec!["/bin/true".into()],
        security: SecurityConfig {
            seccomp_arch: SeccompArch::X86_64,
            ..SecurityConfig::default()
        },
        ..ContainerSpecConfig::default()
    };
    check_golden("minimal.json", &config);
}

#[test]
fn full_pod_container_matches_golden() {
    let mut config = pod_container();
    config.env = vec![
        ("PATH".into(), "/usr/bin:/bin".into()),
        ("MODE".into(), "production".into()),
    ];
    config.working_dir = Some("/srv".into());
    config.user = ProcessUser {
        uid: 1000,
        gid: 1000,
        additional_gids: vec![2000, 1000, 2000],
    };
    config.mounts = vec![
        MountConfig {
            destination: "/srv/config".into(),
            kind: MountKind::Bind {
                source: "/var/lib/skiff/pods/1234/volumes/config".into(),
                propagation: MountPropagation::Private,
            },
            read_only: true,
        },
        MountConfig {
            destination: "/var/log/host".into(),
            kind: MountKind::Bind {
                source: "/var/log".into(),
                propagation: MountPropagation::HostToContainer,
            },
            read_only: false,
        },
        MountConfig {
            destination: "/cache".into(),
            kind: MountKind::Tmpfs {
                size_bytes: Some(64 << 20),
                mode: Some(0o1777),
            },
            read_only: false,
        },
    ];
    config.resources = Resources {
        cpu_shares: Some(512),
        cpu_quota: Some(50_000),
        cpu_period: Some(100_000),
        cpuset_cpus: Some("0-1".into()),
        cpuset_mems: Some("0".into()),
        memory_limit_bytes: Some(256 << 20),
        memory_swap_bytes: Some(256 << 20),
        pids_limit: Some(1024),
        oom_score_adj: Some(984),
    };
    config.security.capabilities = CapabilityChanges {
        add: vec!["NET_ADMIN".into(), "SYS_PTRACE".into()],
        drop: vec!["NET_RAW".into()],
    };
    config.security.no_new_privileges = true;
    config.rlimits = vec![Rlimit {
        resource: RlimitResource::Nofile,
        soft: 65_536,
        hard: 65_536,
    }];
    check_golden("full.json", &config);
}

#[test]
fn privileged_container_matches_golden() {
    let mut config = pod_container();
    config.security.privileged = true;
    config.namespaces.cgroup = NamespaceMode::Host;
    check_golden("privileged.json", &config);
}

#[test]
fn read_only_root_with_tmpfs_matches_golden() {
    let mut config = pod_container();
    config.namespaces.uts = NamespaceMode::New;
    config.hostname = Some("web-0".into());
    config.security.read_only_root = true;
    config.mounts = ["/tmp", "/run"]
        .into_iter()
        .map(|dst| MountConfig {
            destination: dst.into(),
            kind: MountKind::Tmpfs {
                size_bytes: None,
                mode: Some(0o1777),
            },
            read_only: false,
        })
        .collect();
    check_golden("readonly_root_tmpfs.json", &config);
}
