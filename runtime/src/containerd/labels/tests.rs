use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::reference::ImageReference;
use crate::service::{ContainerId, ContainerMetadata, SandboxId, SandboxMetadata};

fn sandbox() -> SandboxRecord {
    SandboxRecord {
        id: SandboxId::new("a".repeat(64)),
        metadata: SandboxMetadata {
            pod_uid: "uid-1".into(),
            namespace: "default".into(),
            name: "web".into(),
            attempt: 2,
        },
        hostname: "web-host".into(),
        log_directory: "/var/log/pods/default_web_uid-1".into(),
        cgroup_parent: Some("/kubepods/pod-uid-1".into()),
        labels: BTreeMap::from([("app".into(), "web".into())]),
        annotations: BTreeMap::from([("note".into(), "a \"quoted\" value".into())]),
        created_at: UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789),
        stopped: false,
    }
}

fn container() -> ContainerRecord {
    ContainerRecord {
        id: ContainerId::new("b".repeat(64)),
        sandbox_id: SandboxId::new("a".repeat(64)),
        pod_uid: "uid-1".into(),
        pod_namespace: "default".into(),
        pod_name: "web".into(),
        metadata: ContainerMetadata {
            name: "nginx".into(),
            attempt: 3,
        },
        image: ImageReference::parse("busybox:1.36").unwrap(),
        log_path: "/var/log/pods/default_web_uid-1/nginx/3.log".into(),
        labels: BTreeMap::from([("tier".into(), "front".into())]),
        annotations: BTreeMap::new(),
        created_at: UNIX_EPOCH + Duration::new(1_700_000_001, 5),
        started_at: None,
        oom_killed: false,
    }
}

fn decode_sandbox(encoded: &Encoded) -> Result<SandboxRecord, RecordError> {
    SandboxRecord::decode(&"a".repeat(64), &encoded.labels, &encoded.extensions())
}

fn decode_container(encoded: &Encoded) -> Result<ContainerRecord, RecordError> {
    ContainerRecord::decode(&"b".repeat(64), &encoded.labels, &encoded.extensions())
}

#[test]
fn sandbox_record_round_trips_through_labels_and_extension() {
    let record = sandbox();
    assert_eq!(decode_sandbox(&record.encode()).unwrap(), record);
    let stopped = SandboxRecord {
        stopped: true,
        cgroup_parent: None,
        ..sandbox()
    };
    assert_eq!(decode_sandbox(&stopped.encode()).unwrap(), stopped);
}

#[test]
fn sandbox_labels_carry_pod_identity_and_stopped_mark() {
    let encoded = SandboxRecord {
        stopped: true,
        ..sandbox()
    }
    .encode();
    let labels = &encoded.labels;
    assert_eq!(labels[KIND], KIND_SANDBOX);
    assert_eq!(labels[POD_UID], "uid-1");
    assert_eq!(labels[POD_NAMESPACE], "default");
    assert_eq!(labels[POD_NAME], "web");
    assert_eq!(labels[ATTEMPT], "2");
    assert_eq!(labels[STOPPED], "true");
    assert!(
        !labels.contains_key("app"),
        "user labels stay in the extension"
    );
    assert_eq!(encoded.extension.type_url, SANDBOX_RECORD_TYPE);
    let json: serde_json::Value = serde_json::from_slice(&encoded.extension.value).unwrap();
    assert_eq!(json["hostname"], "web-host");
    assert_eq!(json["labels"]["app"], "web");
    assert_eq!(json["created_at_unix_nanos"], 1_700_000_000_123_456_789u64);
}

#[test]
fn container_record_round_trips_with_start_time_and_oom_mark() {
    let record = container();
    assert_eq!(decode_container(&record.encode()).unwrap(), record);
    let started = ContainerRecord {
        started_at: Some(UNIX_EPOCH + Duration::new(1_700_000_002, 7)),
        oom_killed: true,
        ..container()
    };
    let encoded = started.encode();
    assert_eq!(encoded.labels[STARTED_AT], "1700000002000000007");
    assert_eq!(encoded.labels[OOM_KILLED], "true");
    assert_eq!(encoded.labels[SANDBOX_ID], "a".repeat(64));
    assert_eq!(encoded.labels[CONTAINER_NAME], "nginx");
    assert_eq!(encoded.labels[ATTEMPT], "3");
    assert_eq!(decode_container(&encoded).unwrap(), started);
}

#[test]
fn container_unique_name_joins_name_pod_and_attempt() {
    assert_eq!(container().unique_name(), "nginx_web_default_uid-1_3");
}

#[test]
fn records_of_another_kind_or_client_are_rejected() {
    let encoded = sandbox().encode();
    assert!(matches!(
        decode_container(&encoded),
        Err(RecordError::NotSkiff { expected: "container", found: Some(k) }) if k == "sandbox"
    ));
    let foreign = Encoded {
        labels: HashMap::from([("io.cri-containerd.kind".into(), "sandbox".into())]),
        extension: encoded.extension.clone(),
    };
    assert!(matches!(
        decode_sandbox(&foreign),
        Err(RecordError::NotSkiff { found: None, .. })
    ));
}

#[test]
fn records_without_or_with_a_foreign_extension_are_rejected() {
    let encoded = sandbox().encode();
    let err = SandboxRecord::decode("x", &encoded.labels, &HashMap::new()).unwrap_err();
    assert!(matches!(err, RecordError::MissingExtension), "{err}");

    let wrong_type = Encoded {
        extension: prost_types::Any {
            type_url: "github.com/containerd/containerd/pkg/cri/store/sandbox/Metadata".into(),
            value: encoded.extension.value.clone(),
        },
        ..encoded.clone()
    };
    let err = decode_sandbox(&wrong_type).unwrap_err();
    assert!(
        matches!(err, RecordError::WrongExtensionType { .. }),
        "{err}"
    );

    let bad_json = Encoded {
        extension: prost_types::Any {
            type_url: SANDBOX_RECORD_TYPE.into(),
            value: b"{\"hostname\":1}".to_vec(),
        },
        ..encoded
    };
    let err = decode_sandbox(&bad_json).unwrap_err();
    assert!(matches!(err, RecordError::InvalidExtension(_)), "{err}");
}

#[test]
fn records_with_missing_or_invalid_labels_are_rejected() {
    let mut encoded = container().encode();
    encoded.labels.remove(SANDBOX_ID);
    let err = decode_container(&encoded).unwrap_err();
    assert!(
        matches!(err, RecordError::MissingLabel { key: SANDBOX_ID }),
        "{err}"
    );

    let mut encoded = container().encode();
    encoded.labels.insert(ATTEMPT.into(), "-1".into());
    let err = decode_container(&encoded).unwrap_err();
    assert!(
        matches!(err, RecordError::InvalidLabel { key: ATTEMPT, .. }),
        "{err}"
    );

    let mut encoded = container().encode();
    encoded.labels.insert(STARTED_AT.into(), "yesterday".into());
    let err = decode_container(&encoded).unwrap_err();
    assert!(
        matches!(
            err,
            RecordError::InvalidLabel {
                key: STARTED_AT,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn container_record_with_a_bad_image_reference_is_rejected() {
    let mut encoded = container().encode();
    encoded.extension.value = br#"{"image":"UPPER/Case","created_at_unix_nanos":1}"#.to_vec();
    let err = decode_container(&encoded).unwrap_err();
    assert!(matches!(err, RecordError::InvalidImage { .. }), "{err}");
}

#[test]
fn label_filter_quotes_keys_and_values() {
    assert_eq!(
        label_filter(&[(KIND, KIND_SANDBOX), (POD_NAME, "we\"b\\x")]),
        r#"labels."io.skiff.kind"=="sandbox",labels."io.skiff.pod.name"=="we\"b\\x""#
    );
    assert_eq!(label_filter(&[]), "");
}

#[test]
fn timestamps_convert_and_go_zero_time_is_none() {
    let t = UNIX_EPOCH + Duration::new(1_700_000_000, 42);
    assert_eq!(from_unix_nanos(unix_nanos(t)), t);
    let ts = prost_types::Timestamp {
        seconds: 1_700_000_000,
        nanos: 42,
    };
    assert_eq!(from_timestamp(Some(&ts)), Some(t));
    let go_zero = prost_types::Timestamp {
        seconds: -62_135_596_800,
        nanos: 0,
    };
    assert_eq!(from_timestamp(Some(&go_zero)), None);
    assert_eq!(from_timestamp(None), None);
}
