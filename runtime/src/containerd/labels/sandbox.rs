//! A sandbox's container record: pod identity and state in labels, the rest in JSON.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::service::{SandboxId, SandboxMetadata};

use super::{
    check_kind, extension, from_unix_nanos, required, required_number, to_extension, unix_nanos,
    Encoded, RecordError, StringMap, ATTEMPT, KIND, KIND_SANDBOX, POD_NAME, POD_NAMESPACE, POD_UID,
    SANDBOX_RECORD_TYPE, STOPPED,
};

/// Everything Skiff keeps about a sandbox in containerd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SandboxRecord {
    /// The sandbox id (the record's and the pins' id).
    pub id: SandboxId,
    /// Pod uid, namespace, name and attempt.
    pub metadata: SandboxMetadata,
    /// The pod's hostname.
    pub hostname: String,
    /// The pod's log directory.
    pub log_directory: PathBuf,
    /// cgroup parent given at creation.
    pub cgroup_parent: Option<String>,
    /// Labels given at creation.
    pub labels: StringMap,
    /// Annotations given at creation.
    pub annotations: StringMap,
    /// When it was created.
    pub created_at: SystemTime,
    /// Whether it was stopped.
    pub stopped: bool,
}

/// The JSON of the extension.
#[derive(Debug, Serialize, Deserialize)]
struct Extension {
    hostname: String,
    log_directory: PathBuf,
    #[serde(default)]
    cgroup_parent: Option<String>,
    #[serde(default)]
    labels: StringMap,
    #[serde(default)]
    annotations: StringMap,
    created_at_unix_nanos: u64,
}

impl SandboxRecord {
    /// The labels and extension of this record.
    pub(crate) fn encode(&self) -> Encoded {
        let mut labels = HashMap::from([
            (KIND.to_string(), KIND_SANDBOX.to_string()),
            (POD_UID.to_string(), self.metadata.pod_uid.clone()),
            (POD_NAMESPACE.to_string(), self.metadata.namespace.clone()),
            (POD_NAME.to_string(), self.metadata.name.clone()),
            (ATTEMPT.to_string(), self.metadata.attempt.to_string()),
        ]);
        if self.stopped {
            labels.insert(STOPPED.to_string(), "true".to_string());
        }
        let ext = Extension {
            hostname: self.hostname.clone(),
            log_directory: self.log_directory.clone(),
            cgroup_parent: self.cgroup_parent.clone(),
            labels: self.labels.clone(),
            annotations: self.annotations.clone(),
            created_at_unix_nanos: unix_nanos(self.created_at),
        };
        Encoded {
            labels,
            extension: to_extension(SANDBOX_RECORD_TYPE, &ext),
        }
    }

    /// Reads a container record's labels and extensions back as a sandbox record.
    pub(crate) fn decode(
        id: &str,
        labels: &HashMap<String, String>,
        extensions: &HashMap<String, prost_types::Any>,
    ) -> Result<Self, RecordError> {
        check_kind(labels, KIND_SANDBOX)?;
        let metadata = SandboxMetadata {
            pod_uid: required(labels, POD_UID)?.to_string(),
            namespace: required(labels, POD_NAMESPACE)?.to_string(),
            name: required(labels, POD_NAME)?.to_string(),
            attempt: required_number(labels, ATTEMPT)?,
        };
        let ext: Extension = extension(extensions, SANDBOX_RECORD_TYPE)?;
        Ok(Self {
            id: SandboxId::new(id),
            metadata,
            hostname: ext.hostname,
            log_directory: ext.log_directory,
            cgroup_parent: ext.cgroup_parent,
            labels: ext.labels,
            annotations: ext.annotations,
            created_at: from_unix_nanos(ext.created_at_unix_nanos),
            stopped: labels.get(STOPPED).is_some_and(|v| v == "true"),
        })
    }
}
