//! Pure parts of the sandbox life cycle: config validation, the record's minimal spec and the
//! status derived from a record and its pins.

use std::time::SystemTime;

use crate::sandbox::PinnedNamespaces;
use crate::service::{SandboxConfig, SandboxId, SandboxState, SandboxStatus, ServiceError};

use super::super::super::labels::SandboxRecord;

/// Type URL containerd gives an OCI runtime spec carried as JSON.
pub(crate) const SPEC_TYPE: &str = "types.containerd.io/opencontainers/runtime-spec/1/Spec";

/// Longest hostname the kernel accepts (`HOST_NAME_MAX`).
const HOSTNAME_MAX: usize = 64;

/// Checks what a sandbox needs, naming the first bad field.
pub(crate) fn validate(config: &SandboxConfig) -> Result<(), ServiceError> {
    let invalid = |field: &str, reason: &str| {
        Err(ServiceError::InvalidConfig {
            field: field.to_string(),
            reason: reason.to_string(),
        })
    };
    let meta = &config.metadata;
    if meta.name.is_empty() {
        return invalid("metadata.name", "must not be empty");
    }
    if meta.namespace.is_empty() {
        return invalid("metadata.namespace", "must not be empty");
    }
    if meta.pod_uid.is_empty() {
        return invalid("metadata.pod_uid", "must not be empty");
    }
    if config.hostname.is_empty() {
        return invalid("hostname", "must not be empty");
    }
    if config.hostname.len() > HOSTNAME_MAX || config.hostname.contains('\0') {
        return invalid("hostname", "must be at most 64 bytes without NUL");
    }
    Ok(())
}

/// The record of a sandbox being created.
pub(crate) fn record(id: &str, config: &SandboxConfig, created_at: SystemTime) -> SandboxRecord {
    SandboxRecord {
        id: SandboxId::new(id),
        metadata: config.metadata.clone(),
        hostname: config.hostname.clone(),
        log_directory: config.log_directory.clone(),
        cgroup_parent: config.cgroup_parent.clone(),
        labels: config.labels.clone(),
        annotations: config.annotations.clone(),
        created_at,
        stopped: false,
    }
}

/// The spec stored on the (task-less) sandbox record: the pod's hostname and namespace pins,
/// so `ctr containers info` shows what containers join.
pub(crate) fn spec(hostname: &str, pins: &PinnedNamespaces) -> prost_types::Any {
    let value = serde_json::json!({
        "ociVersion": oci_spec::runtime::VERSION,
        "hostname": hostname,
        "linux": {
            "namespaces": [
                {"type": "network", "path": pins.net},
                {"type": "ipc", "path": pins.ipc},
                {"type": "uts", "path": pins.uts},
            ],
        },
    });
    prost_types::Any {
        type_url: SPEC_TYPE.to_string(),
        value: value.to_string().into_bytes(),
    }
}

/// The status of a sandbox: ready iff it was not stopped and its pins are in place.
pub(crate) fn status(record: SandboxRecord, pins: Option<PinnedNamespaces>) -> SandboxStatus {
    let namespaces = pins.filter(|_| !record.stopped);
    SandboxStatus {
        id: record.id,
        metadata: record.metadata,
        state: if namespaces.is_some() {
            SandboxState::Ready
        } else {
            SandboxState::NotReady
        },
        created_at: record.created_at,
        namespaces,
        hostname: record.hostname,
        log_directory: record.log_directory,
        cgroup_parent: record.cgroup_parent,
        labels: record.labels,
        annotations: record.annotations,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::service::SandboxMetadata;

    fn config() -> SandboxConfig {
        SandboxConfig {
            metadata: SandboxMetadata {
                pod_uid: "u1".into(),
                namespace: "default".into(),
                name: "web".into(),
                attempt: 0,
            },
            hostname: "web".into(),
            ..Default::default()
        }
    }

    fn field_of(result: Result<(), ServiceError>) -> String {
        match result {
            Err(ServiceError::InvalidConfig { field, .. }) => field,
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn validation_names_the_missing_field() {
        assert!(validate(&config()).is_ok());
        let mut c = config();
        c.metadata.name.clear();
        assert_eq!(field_of(validate(&c)), "metadata.name");
        let mut c = config();
        c.metadata.namespace.clear();
        assert_eq!(field_of(validate(&c)), "metadata.namespace");
        let mut c = config();
        c.metadata.pod_uid.clear();
        assert_eq!(field_of(validate(&c)), "metadata.pod_uid");
        let mut c = config();
        c.hostname.clear();
        assert_eq!(field_of(validate(&c)), "hostname");
        c.hostname = "h".repeat(65);
        assert_eq!(field_of(validate(&c)), "hostname");
    }

    fn pins() -> PinnedNamespaces {
        PinnedNamespaces {
            pod_id: "p".into(),
            run_dir: "/run/skiff/netns".into(),
            dir: "/run/skiff/netns/p".into(),
            net: "/run/skiff/netns/p/net".into(),
            ipc: "/run/skiff/netns/p/ipc".into(),
            uts: "/run/skiff/netns/p/uts".into(),
        }
    }

    #[test]
    fn ready_needs_pins_and_no_stop_mark() {
        let rec = record("p", &config(), UNIX_EPOCH);
        let ready = status(rec.clone(), Some(pins()));
        assert_eq!(ready.state, SandboxState::Ready);
        assert_eq!(ready.namespaces, Some(pins()));
        assert_eq!(ready.hostname, "web");

        let unpinned = status(rec.clone(), None);
        assert_eq!(unpinned.state, SandboxState::NotReady);

        let stopped = SandboxRecord {
            stopped: true,
            ..rec
        };
        let stopped = status(stopped, Some(pins()));
        assert_eq!(stopped.state, SandboxState::NotReady);
        assert_eq!(stopped.namespaces, None);
    }

    #[test]
    fn spec_is_oci_json_naming_the_pins() {
        let any = spec("web", &pins());
        assert_eq!(any.type_url, SPEC_TYPE);
        let json: serde_json::Value = serde_json::from_slice(&any.value).unwrap();
        assert_eq!(json["hostname"], "web");
        assert_eq!(json["linux"]["namespaces"][0]["type"], "network");
        assert_eq!(
            Path::new(json["linux"]["namespaces"][0]["path"].as_str().unwrap()),
            pins().net
        );
    }
}
