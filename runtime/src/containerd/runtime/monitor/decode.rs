//! Pure parts of the event monitor: subscription filters, envelope decoding and the resubscribe
//! backoff.

use std::time::{Duration, SystemTime};

use containerd_client::events::{TaskExit, TaskOom};
use containerd_client::types::Envelope;
use prost::{Message, Name};

/// Topic of a task's process exiting (init or exec).
pub(crate) const TOPIC_EXIT: &str = "/tasks/exit";
/// Topic of the OOM killer hitting a task's cgroup.
pub(crate) const TOPIC_OOM: &str = "/tasks/oom";

/// Topic of the marker event the monitor publishes to learn its subscription is live.
pub(crate) const TOPIC_SYNC: &str = "/skiff/monitor/sync";
/// Type URL of the marker event.
pub(crate) const SYNC_TYPE_URL: &str = "skiff.io/MonitorSync";

/// First wait before resubscribing after the stream broke.
pub(crate) const BACKOFF_START: Duration = Duration::from_millis(100);
/// Longest wait between resubscribe attempts.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// A task event the runtime acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MonitorEvent {
    /// The init process of a container's task exited.
    Exit {
        /// The container.
        container_id: String,
        /// Its exit code (128 + signal when killed).
        exit_code: i32,
        /// When it exited.
        at: SystemTime,
    },
    /// The OOM killer killed a process in the container's cgroup.
    Oom {
        /// The container.
        container_id: String,
        /// When containerd saw it.
        at: SystemTime,
    },
}

/// Subscribe filters (ORed; the clauses inside one are ANDed) for exits, OOM kills and the
/// monitor's own marker in `namespace`, in the syntax of containerd's `filters` package.
pub(crate) fn subscribe_filters(namespace: &str) -> Vec<String> {
    [TOPIC_EXIT, TOPIC_OOM, TOPIC_SYNC]
        .iter()
        .map(|topic| format!("topic=={},namespace=={}", quote(topic), quote(namespace)))
        .collect()
}

/// A Go-syntax quoted string (containerd parses filter values with `strconv.Unquote`).
fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Whether the envelope is the marker carrying `nonce`.
pub(crate) fn is_sync(envelope: &Envelope, nonce: &[u8]) -> bool {
    envelope.topic == TOPIC_SYNC
        && envelope
            .event
            .as_ref()
            .is_some_and(|e| e.type_url == SYNC_TYPE_URL && e.value == nonce)
}

/// The event an envelope of `namespace` carries, if it is one the runtime acts on: an exit of
/// a task's init process or an OOM kill. Exec exits and other namespaces give `None`.
pub(crate) fn decode(envelope: &Envelope, namespace: &str) -> Option<MonitorEvent> {
    if envelope.namespace != namespace {
        return None;
    }
    let event = envelope.event.as_ref()?;
    // containerd 1.6 sends `containerd.events.TaskExit`; accept any `prefix/` form as well.
    let type_name = event.type_url.rsplit('/').next().unwrap_or_default();
    let seen_at = envelope
        .timestamp
        .and_then(|t| SystemTime::try_from(t).ok())
        .unwrap_or_else(SystemTime::now);
    if type_name == TaskExit::full_name() {
        let exit = TaskExit::decode(event.value.as_slice()).ok()?;
        if exit.id != exit.container_id || exit.container_id.is_empty() {
            return None;
        }
        let at = exit
            .exited_at
            .and_then(|t| SystemTime::try_from(t).ok())
            .unwrap_or(seen_at);
        Some(MonitorEvent::Exit {
            exit_code: i32::try_from(exit.exit_status).unwrap_or(i32::MAX),
            container_id: exit.container_id,
            at,
        })
    } else if type_name == TaskOom::full_name() {
        let oom = TaskOom::decode(event.value.as_slice()).ok()?;
        (!oom.container_id.is_empty()).then_some(MonitorEvent::Oom {
            container_id: oom.container_id,
            at: seen_at,
        })
    } else {
        None
    }
}

/// The wait after `current`: doubled, at most [`BACKOFF_MAX`].
pub(crate) fn next_backoff(current: Duration) -> Duration {
    (current * 2).min(BACKOFF_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::{Any, Timestamp};

    const NS: &str = "skiff";

    fn envelope(namespace: &str, topic: &str, type_url: &str, value: Vec<u8>) -> Envelope {
        Envelope {
            timestamp: Some(Timestamp {
                seconds: 1_700_000_100,
                nanos: 5,
            }),
            namespace: namespace.to_string(),
            topic: topic.to_string(),
            event: Some(Any {
                type_url: type_url.to_string(),
                value,
            }),
        }
    }

    fn exit(container_id: &str, id: &str, status: u32) -> Vec<u8> {
        TaskExit {
            container_id: container_id.to_string(),
            id: id.to_string(),
            pid: 4242,
            exit_status: status,
            exited_at: Some(Timestamp {
                seconds: 1_700_000_000,
                nanos: 7,
            }),
        }
        .encode_to_vec()
    }

    fn at(seconds: u64, nanos: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_nanos(nanos)
    }

    #[test]
    fn filters_select_exit_and_oom_topics_of_the_namespace() {
        assert_eq!(
            subscribe_filters("skiff-test-1"),
            vec![
                r#"topic=="/tasks/exit",namespace=="skiff-test-1""#.to_string(),
                r#"topic=="/tasks/oom",namespace=="skiff-test-1""#.to_string(),
                r#"topic=="/skiff/monitor/sync",namespace=="skiff-test-1""#.to_string(),
            ]
        );
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
    }

    #[test]
    fn init_exit_decodes_with_code_and_exit_time() {
        let env = envelope(
            NS,
            TOPIC_EXIT,
            "containerd.events.TaskExit",
            exit("c1", "c1", 3),
        );
        assert_eq!(
            decode(&env, NS),
            Some(MonitorEvent::Exit {
                container_id: "c1".to_string(),
                exit_code: 3,
                at: at(1_700_000_000, 7),
            })
        );
    }

    #[test]
    fn type_urls_with_a_prefix_decode_too() {
        for url in [
            "/containerd.events.TaskExit",
            "types.containerd.io/containerd.events.TaskExit",
        ] {
            let env = envelope(NS, TOPIC_EXIT, url, exit("c1", "c1", 137));
            assert!(matches!(
                decode(&env, NS),
                Some(MonitorEvent::Exit { exit_code: 137, .. })
            ));
        }
    }

    #[test]
    fn exec_exits_and_other_namespaces_are_ignored() {
        let exec = envelope(
            NS,
            TOPIC_EXIT,
            "containerd.events.TaskExit",
            exit("c1", "e1", 0),
        );
        assert_eq!(decode(&exec, NS), None);
        let other = envelope(
            "other",
            TOPIC_EXIT,
            "containerd.events.TaskExit",
            exit("c1", "c1", 0),
        );
        assert_eq!(decode(&other, NS), None);
    }

    #[test]
    fn oom_decodes_with_the_envelope_time() {
        let value = TaskOom {
            container_id: "c1".to_string(),
        }
        .encode_to_vec();
        let env = envelope(NS, TOPIC_OOM, "containerd.events.TaskOOM", value);
        assert_eq!(
            decode(&env, NS),
            Some(MonitorEvent::Oom {
                container_id: "c1".to_string(),
                at: at(1_700_000_100, 5),
            })
        );
    }

    #[test]
    fn exit_without_time_takes_the_envelope_time() {
        let value = TaskExit {
            container_id: "c1".to_string(),
            id: "c1".to_string(),
            ..Default::default()
        }
        .encode_to_vec();
        let env = envelope(NS, TOPIC_EXIT, "containerd.events.TaskExit", value);
        assert_eq!(
            decode(&env, NS),
            Some(MonitorEvent::Exit {
                container_id: "c1".to_string(),
                exit_code: 0,
                at: at(1_700_000_100, 5),
            })
        );
    }

    #[test]
    fn other_events_and_garbage_are_ignored() {
        let start = envelope(
            NS,
            "/tasks/start",
            "containerd.events.TaskStart",
            vec![10, 2, b'c', b'1'],
        );
        assert_eq!(decode(&start, NS), None);
        let garbage = envelope(
            NS,
            TOPIC_EXIT,
            "containerd.events.TaskExit",
            vec![0xff, 0xff],
        );
        assert_eq!(decode(&garbage, NS), None);
        let mut empty = envelope(NS, TOPIC_EXIT, "containerd.events.TaskExit", vec![]);
        empty.event = None;
        assert_eq!(decode(&empty, NS), None);
    }

    #[test]
    fn only_the_own_marker_is_recognised_and_it_decodes_to_nothing() {
        let marker = envelope(NS, TOPIC_SYNC, SYNC_TYPE_URL, b"n1".to_vec());
        assert!(is_sync(&marker, b"n1"));
        assert!(!is_sync(&marker, b"n2"));
        assert_eq!(decode(&marker, NS), None);
        let exit = envelope(
            NS,
            TOPIC_EXIT,
            "containerd.events.TaskExit",
            exit("c1", "c1", 0),
        );
        assert!(!is_sync(&exit, b"n1"));
    }

    #[test]
    fn backoff_doubles_up_to_five_seconds() {
        let mut wait = BACKOFF_START;
        let mut seen = vec![wait];
        for _ in 0..8 {
            wait = next_backoff(wait);
            seen.push(wait);
        }
        let ms: Vec<u128> = seen.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    }
}
