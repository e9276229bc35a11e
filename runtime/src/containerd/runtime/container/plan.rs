//! Pure parts of container creation: validation, the spec builder's input (pod namespaces,
//! cgroup path, shim group), the log path and the record.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::sandbox::PinnedNamespaces;
use crate::service::{ContainerConfig, ContainerId, ServiceError};
use crate::spec::{ContainerSpecConfig, NamespaceMode};

use super::super::super::labels::{ContainerRecord, SandboxRecord, SHIM_GROUP};

/// Checks what the container's identity needs, naming the bad field.
pub(crate) fn validate(config: &ContainerConfig) -> Result<(), ServiceError> {
    if config.metadata.name.is_empty() {
        return Err(ServiceError::InvalidConfig {
            field: "metadata.name".to_string(),
            reason: "must not be empty".to_string(),
        });
    }
    Ok(())
}

/// The absolute log file of a container: `log_path` under the sandbox's log directory; empty
/// (no log) when `log_path` is empty.
pub(crate) fn log_path(log_directory: &Path, log_path: &Path) -> Result<PathBuf, ServiceError> {
    if log_path.as_os_str().is_empty() {
        return Ok(PathBuf::new());
    }
    let invalid = |reason: &str| ServiceError::InvalidConfig {
        field: "log_path".to_string(),
        reason: reason.to_string(),
    };
    if log_path.is_absolute() {
        return Err(invalid("must be relative to the sandbox's log directory"));
    }
    if log_path
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(invalid("must stay inside the sandbox's log directory"));
    }
    if !log_directory.is_absolute() {
        return Err(invalid("the sandbox has no absolute log directory"));
    }
    Ok(log_directory.join(log_path))
}

/// The spec builder's input: the config's, joining the pod's pinned net, ipc and uts
/// namespaces (unless the config asks for the host's), in cgroup `<parent>/<id>` unless the
/// config names one, and in the pod's shim.
pub(crate) fn spec_config(
    config: &ContainerConfig,
    id: &str,
    sandbox: &SandboxRecord,
    pins: &PinnedNamespaces,
    default_cgroup_parent: &str,
) -> ContainerSpecConfig {
    let mut spec = config.spec.clone();
    let join = |mode: &mut NamespaceMode, pin: &Path| {
        if *mode != NamespaceMode::Host {
            *mode = NamespaceMode::Join(pin.to_path_buf());
        }
    };
    join(&mut spec.namespaces.network, &pins.net);
    join(&mut spec.namespaces.ipc, &pins.ipc);
    join(&mut spec.namespaces.uts, &pins.uts);
    if spec.cgroup_path.is_none() {
        let parent = sandbox
            .cgroup_parent
            .as_deref()
            .unwrap_or(default_cgroup_parent);
        spec.cgroup_path = Some(format!("{}/{id}", parent.trim_end_matches('/')));
    }
    spec.annotations
        .insert(SHIM_GROUP.to_string(), sandbox.id.to_string());
    spec
}

/// The record of a container being created.
pub(crate) fn record(
    id: &str,
    sandbox: &SandboxRecord,
    config: &ContainerConfig,
    log_path: PathBuf,
    created_at: SystemTime,
) -> ContainerRecord {
    ContainerRecord {
        id: ContainerId::new(id),
        sandbox_id: sandbox.id.clone(),
        pod_uid: sandbox.metadata.pod_uid.clone(),
        pod_namespace: sandbox.metadata.namespace.clone(),
        pod_name: sandbox.metadata.name.clone(),
        metadata: config.metadata.clone(),
        image: config.image.clone(),
        log_path,
        labels: config.labels.clone(),
        annotations: config.annotations.clone(),
        created_at,
        started_at: None,
        oom_killed: false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::reference::ImageReference;
    use crate::service::{ContainerMetadata, SandboxId, SandboxMetadata};

    fn sandbox() -> SandboxRecord {
        SandboxRecord {
            id: SandboxId::new("s1"),
            metadata: SandboxMetadata {
                pod_uid: "u1".into(),
                namespace: "default".into(),
                name: "web".into(),
                attempt: 0,
            },
            hostname: "web".into(),
            log_directory: "/var/log/pods/web".into(),
            cgroup_parent: None,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            created_at: UNIX_EPOCH,
            stopped: false,
        }
    }

    fn pins() -> PinnedNamespaces {
        PinnedNamespaces {
            pod_id: "s1".into(),
            run_dir: "/run/n".into(),
            dir: "/run/n/s1".into(),
            net: "/run/n/s1/net".into(),
            ipc: "/run/n/s1/ipc".into(),
            uts: "/run/n/s1/uts".into(),
        }
    }

    fn config() -> ContainerConfig {
        ContainerConfig {
            metadata: ContainerMetadata {
                name: "app".into(),
                attempt: 1,
            },
            image: ImageReference::parse("busybox").unwrap(),
            spec: ContainerSpecConfig {
                args: vec!["sh".into()],
                ..Default::default()
            },
            log_path: "app/1.log".into(),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
        }
    }

    #[test]
    fn container_joins_the_pod_namespaces_cgroup_and_shim() {
        let spec = spec_config(&config(), "c1", &sandbox(), &pins(), "/skiff");
        assert_eq!(spec.namespaces.network, NamespaceMode::Join(pins().net));
        assert_eq!(spec.namespaces.ipc, NamespaceMode::Join(pins().ipc));
        assert_eq!(spec.namespaces.uts, NamespaceMode::Join(pins().uts));
        assert_eq!(spec.namespaces.pid, NamespaceMode::New);
        assert_eq!(spec.cgroup_path.as_deref(), Some("/skiff/c1"));
        assert_eq!(spec.annotations[SHIM_GROUP], "s1");
    }

    #[test]
    fn host_namespaces_and_given_cgroup_paths_are_kept() {
        let mut c = config();
        c.spec.namespaces.network = NamespaceMode::Host;
        c.spec.cgroup_path = Some("/custom/c1".into());
        let spec = spec_config(&c, "c1", &sandbox(), &pins(), "/skiff");
        assert_eq!(spec.namespaces.network, NamespaceMode::Host);
        assert_eq!(spec.cgroup_path.as_deref(), Some("/custom/c1"));
    }

    #[test]
    fn sandbox_cgroup_parent_wins_over_the_default() {
        let sb = SandboxRecord {
            cgroup_parent: Some("/kubepods/podu1/".into()),
            ..sandbox()
        };
        let spec = spec_config(&config(), "c1", &sb, &pins(), "/skiff");
        assert_eq!(spec.cgroup_path.as_deref(), Some("/kubepods/podu1/c1"));
    }

    #[test]
    fn log_path_goes_under_the_sandbox_log_directory() {
        let dir = Path::new("/var/log/pods/web");
        assert_eq!(
            log_path(dir, Path::new("app/1.log")).unwrap(),
            PathBuf::from("/var/log/pods/web/app/1.log")
        );
        assert_eq!(log_path(dir, Path::new("")).unwrap(), PathBuf::new());
        for bad in ["/etc/passwd", "../x.log"] {
            assert!(
                matches!(log_path(dir, Path::new(bad)), Err(ServiceError::InvalidConfig { field, .. }) if field == "log_path"),
                "{bad}"
            );
        }
        assert!(log_path(Path::new(""), Path::new("a.log")).is_err());
    }

    #[test]
    fn record_carries_pod_identity_and_config() {
        let r = record("c1", &sandbox(), &config(), "/l".into(), UNIX_EPOCH);
        assert_eq!(r.unique_name(), "app_web_default_u1_1");
        assert_eq!(r.sandbox_id, SandboxId::new("s1"));
        assert_eq!(r.started_at, None);
    }

    #[test]
    fn empty_container_name_is_invalid() {
        let mut c = config();
        c.metadata.name.clear();
        assert!(
            matches!(validate(&c), Err(ServiceError::InvalidConfig { field, .. }) if field == "metadata.name")
        );
    }
}
