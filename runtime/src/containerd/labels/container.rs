//! A container's container record: identity and life-cycle marks in labels, the rest in JSON.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::reference::ImageReference;
use crate::service::{ContainerId, ContainerMetadata, SandboxId};

use super::{
    check_kind, extension, from_unix_nanos, required, required_number, to_extension, unix_nanos,
    Encoded, RecordError, StringMap, ATTEMPT, CONTAINER_NAME, CONTAINER_RECORD_TYPE, KIND,
    KIND_CONTAINER, OOM_KILLED, POD_NAME, POD_NAMESPACE, POD_UID, SANDBOX_ID, STARTED_AT,
};

/// Everything Skiff keeps about a container in containerd (besides its task).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContainerRecord {
    /// The container id (record, snapshot key and task id).
    pub id: ContainerId,
    /// The sandbox it belongs to.
    pub sandbox_id: SandboxId,
    /// The pod's uid.
    pub pod_uid: String,
    /// The pod's namespace.
    pub pod_namespace: String,
    /// The pod's name.
    pub pod_name: String,
    /// Name and attempt.
    pub metadata: ContainerMetadata,
    /// The image it was created from.
    pub image: ImageReference,
    /// Absolute path of its log file; empty when it logs nowhere.
    pub log_path: PathBuf,
    /// Labels given at creation.
    pub labels: StringMap,
    /// Annotations given at creation.
    pub annotations: StringMap,
    /// When it was created.
    pub created_at: SystemTime,
    /// When its process started, once it did.
    pub started_at: Option<SystemTime>,
    /// Whether the OOM killer hit it.
    pub oom_killed: bool,
}

/// The JSON of the extension.
#[derive(Debug, Serialize, Deserialize)]
struct Extension {
    image: String,
    #[serde(default)]
    log_path: PathBuf,
    #[serde(default)]
    labels: StringMap,
    #[serde(default)]
    annotations: StringMap,
    created_at_unix_nanos: u64,
}

impl ContainerRecord {
    /// The name unique within the node, as containerd's CRI plugin reserves it:
    /// `name_podname_podnamespace_poduid_attempt`.
    pub(crate) fn unique_name(&self) -> String {
        format!(
            "{}_{}_{}_{}_{}",
            self.metadata.name,
            self.pod_name,
            self.pod_namespace,
            self.pod_uid,
            self.metadata.attempt
        )
    }

    /// The labels and extension of this record.
    pub(crate) fn encode(&self) -> Encoded {
        let mut labels = HashMap::from([
            (KIND.to_string(), KIND_CONTAINER.to_string()),
            (SANDBOX_ID.to_string(), self.sandbox_id.to_string()),
            (POD_UID.to_string(), self.pod_uid.clone()),
            (POD_NAMESPACE.to_string(), self.pod_namespace.clone()),
            (POD_NAME.to_string(), self.pod_name.clone()),
            (CONTAINER_NAME.to_string(), self.metadata.name.clone()),
            (ATTEMPT.to_string(), self.metadata.attempt.to_string()),
        ]);
        if let Some(started) = self.started_at {
            labels.insert(STARTED_AT.to_string(), unix_nanos(started).to_string());
        }
        if self.oom_killed {
            labels.insert(OOM_KILLED.to_string(), "true".to_string());
        }
        let ext = Extension {
            image: self.image.to_string(),
            log_path: self.log_path.clone(),
            labels: self.labels.clone(),
            annotations: self.annotations.clone(),
            created_at_unix_nanos: unix_nanos(self.created_at),
        };
        Encoded {
            labels,
            extension: to_extension(CONTAINER_RECORD_TYPE, &ext),
        }
    }

    /// Reads a container record's labels and extensions back as a container record.
    pub(crate) fn decode(
        id: &str,
        labels: &HashMap<String, String>,
        extensions: &HashMap<String, prost_types::Any>,
    ) -> Result<Self, RecordError> {
        check_kind(labels, KIND_CONTAINER)?;
        let ext: Extension = extension(extensions, CONTAINER_RECORD_TYPE)?;
        let image =
            ImageReference::parse(&ext.image).map_err(|source| RecordError::InvalidImage {
                reference: ext.image.clone(),
                source,
            })?;
        let started_at = match labels.get(STARTED_AT) {
            None => None,
            Some(_) => Some(from_unix_nanos(required_number(labels, STARTED_AT)?)),
        };
        Ok(Self {
            id: ContainerId::new(id),
            sandbox_id: SandboxId::new(required(labels, SANDBOX_ID)?),
            pod_uid: required(labels, POD_UID)?.to_string(),
            pod_namespace: required(labels, POD_NAMESPACE)?.to_string(),
            pod_name: required(labels, POD_NAME)?.to_string(),
            metadata: ContainerMetadata {
                name: required(labels, CONTAINER_NAME)?.to_string(),
                attempt: required_number(labels, ATTEMPT)?,
            },
            image,
            log_path: ext.log_path,
            labels: ext.labels,
            annotations: ext.annotations,
            created_at: from_unix_nanos(ext.created_at_unix_nanos),
            started_at,
            oom_killed: labels.get(OOM_KILLED).is_some_and(|v| v == "true"),
        })
    }
}
