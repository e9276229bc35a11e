//! Label keys on containerd's container records, so all state can be rebuilt from containerd,
//! and the pure encoding of sandbox and container records: what a list filter needs goes into
//! labels, everything else into one JSON extension (`io.skiff.record`).

mod container;
mod sandbox;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub(crate) use container::ContainerRecord;
pub(crate) use sandbox::SandboxRecord;

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
/// Set to `true` on a sandbox once it was stopped.
pub(crate) const STOPPED: &str = "io.skiff.stopped";
/// When a container's process started, in nanoseconds since the Unix epoch.
pub(crate) const STARTED_AT: &str = "io.skiff.started-at";
/// Annotation grouping a pod's containers into one runc shim.
pub(crate) const SHIM_GROUP: &str = "io.containerd.runc.v2.group";

/// Key of the extension holding the part of a record labels cannot.
pub(crate) const EXTENSION: &str = "io.skiff.record";
/// Type URL of a sandbox record's extension (JSON).
pub(crate) const SANDBOX_RECORD_TYPE: &str = "skiff.io/SandboxRecord";
/// Type URL of a container record's extension (JSON).
pub(crate) const CONTAINER_RECORD_TYPE: &str = "skiff.io/ContainerRecord";

/// Labels and extension of one containerd container record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Encoded {
    /// The record's labels.
    pub labels: HashMap<String, String>,
    /// The value of the [`EXTENSION`] extension.
    pub extension: prost_types::Any,
}

impl Encoded {
    /// The extensions map of a container record.
    pub(crate) fn extensions(&self) -> HashMap<String, prost_types::Any> {
        HashMap::from([(EXTENSION.to_string(), self.extension.clone())])
    }
}

/// Why a containerd container record is not a readable Skiff record.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RecordError {
    /// The record is not a Skiff record of the expected kind.
    #[error("not a Skiff {expected} record (label {KIND} is {found:?})")]
    NotSkiff {
        /// `sandbox` or `container`.
        expected: &'static str,
        /// The kind label found, if any.
        found: Option<String>,
    },
    /// A label every record of its kind carries is missing.
    #[error("label {key} is missing")]
    MissingLabel {
        /// The label key.
        key: &'static str,
    },
    /// A label has a value that does not parse.
    #[error("label {key} has the invalid value {value:?}")]
    InvalidLabel {
        /// The label key.
        key: &'static str,
        /// The value found.
        value: String,
    },
    /// The record has no [`EXTENSION`].
    #[error("extension {EXTENSION} is missing")]
    MissingExtension,
    /// The extension is of another type.
    #[error("extension {EXTENSION} has type {found:?}, expected {expected}")]
    WrongExtensionType {
        /// The type URL expected.
        expected: &'static str,
        /// The type URL found.
        found: String,
    },
    /// The extension's JSON does not parse.
    #[error("extension {EXTENSION} does not parse")]
    InvalidExtension(#[source] serde_json::Error),
    /// The image reference stored in the record does not parse.
    #[error("image reference {reference:?} does not parse")]
    InvalidImage {
        /// The stored reference.
        reference: String,
        /// Why it does not parse.
        #[source]
        source: crate::reference::ReferenceError,
    },
}

/// A containerd list filter matching records whose labels have all of these values, e.g.
/// `labels."io.skiff.kind"=="sandbox",labels."io.skiff.pod.uid"=="u1"`.
pub(crate) fn label_filter(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(key, value)| format!("labels.{}=={}", quote(key), quote(value)))
        .collect::<Vec<_>>()
        .join(",")
}

/// A quoted string of containerd's filter syntax.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Nanoseconds since the Unix epoch (0 before it).
pub(crate) fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The time `nanos` nanoseconds after the Unix epoch.
pub(crate) fn from_unix_nanos(nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(nanos)
}

/// The time of a protobuf timestamp; `None` for unset or pre-epoch ones (Go's zero time).
pub(crate) fn from_timestamp(ts: Option<&prost_types::Timestamp>) -> Option<SystemTime> {
    let ts = ts?;
    if ts.seconds <= 0 {
        return None;
    }
    SystemTime::try_from(*ts).ok()
}

/// The value of a label that must be there.
fn required<'a>(
    labels: &'a HashMap<String, String>,
    key: &'static str,
) -> Result<&'a str, RecordError> {
    labels
        .get(key)
        .map(String::as_str)
        .ok_or(RecordError::MissingLabel { key })
}

/// A required label parsed as a number.
fn required_number<T: std::str::FromStr>(
    labels: &HashMap<String, String>,
    key: &'static str,
) -> Result<T, RecordError> {
    let value = required(labels, key)?;
    value.parse().map_err(|_| RecordError::InvalidLabel {
        key,
        value: value.to_string(),
    })
}

/// Checks the kind label.
fn check_kind(labels: &HashMap<String, String>, expected: &'static str) -> Result<(), RecordError> {
    match labels.get(KIND) {
        Some(kind) if kind == expected => Ok(()),
        found => Err(RecordError::NotSkiff {
            expected,
            found: found.cloned(),
        }),
    }
}

/// The extension as JSON of `T`, checking its type URL.
fn extension<T: serde::de::DeserializeOwned>(
    extensions: &HashMap<String, prost_types::Any>,
    expected: &'static str,
) -> Result<T, RecordError> {
    let any = extensions
        .get(EXTENSION)
        .ok_or(RecordError::MissingExtension)?;
    if any.type_url != expected {
        return Err(RecordError::WrongExtensionType {
            expected,
            found: any.type_url.clone(),
        });
    }
    serde_json::from_slice(&any.value).map_err(RecordError::InvalidExtension)
}

/// `value` as JSON in an extension of type `type_url`.
fn to_extension<T: serde::Serialize>(type_url: &str, value: &T) -> prost_types::Any {
    prost_types::Any {
        type_url: type_url.to_string(),
        // Serialising plain structs of strings, maps and numbers cannot fail.
        value: serde_json::to_vec(value).unwrap_or_default(),
    }
}

/// User labels or annotations as stored in the extension.
type StringMap = BTreeMap<String, String>;
