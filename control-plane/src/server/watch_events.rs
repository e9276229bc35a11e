//! Turning store events into watch events for one watcher (pure).
//!
//! As upstream, a watch with selectors sees an object that starts matching as `ADDED` and one
//! that stops matching as `DELETED` (carrying its new state), not as `MODIFIED`.

use serde_json::{json, Value};

use crate::api::ApiError;
use crate::store::{Event, EventKind, Revision};

use super::object;

/// The `type` of a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchEventType {
    /// `ADDED`.
    Added,
    /// `MODIFIED`.
    Modified,
    /// `DELETED`.
    Deleted,
    /// `BOOKMARK`.
    Bookmark,
    /// `ERROR`.
    Error,
}

impl WatchEventType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            WatchEventType::Added => "ADDED",
            WatchEventType::Modified => "MODIFIED",
            WatchEventType::Deleted => "DELETED",
            WatchEventType::Bookmark => "BOOKMARK",
            WatchEventType::Error => "ERROR",
        }
    }
}

/// Maps a store event for a watcher whose selection is `matches`; `None` when the watcher
/// does not see it.
pub fn map_event(
    event: &Event,
    matches: impl Fn(&Value) -> bool,
) -> Result<Option<(WatchEventType, Value)>, ApiError> {
    let current = object::from_kv(&event.kv)?;
    Ok(match event.kind {
        EventKind::Delete => matches(&current).then_some((WatchEventType::Deleted, current)),
        EventKind::Put => {
            let now = matches(&current);
            let before = match &event.prev {
                Some(prev) => matches(&object::from_kv(prev)?),
                None => false,
            };
            match (before, now) {
                (true, true) => Some((WatchEventType::Modified, current)),
                (false, true) => Some((WatchEventType::Added, current)),
                (true, false) => Some((WatchEventType::Deleted, current)),
                (false, false) => None,
            }
        }
    })
}

/// The object of a bookmark: only kind, apiVersion and `metadata.resourceVersion`
/// (plus the initial-events-end annotation when it closes the initial events).
pub fn bookmark(
    kind: &str,
    api_version: &str,
    revision: Revision,
    initial_events_end: bool,
) -> Value {
    let mut obj = json!({
        "kind": kind,
        "apiVersion": api_version,
        "metadata": {"resourceVersion": revision.to_string()},
    });
    if initial_events_end {
        obj["metadata"]["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    obj
}

/// One line of the watch stream: `{"type":…,"object":…}\n`.
pub fn encode(kind: WatchEventType, object: &Value) -> Vec<u8> {
    let mut line = serde_json::to_vec(&json!({"type": kind.as_str(), "object": object}))
        .expect("a JSON value always serializes");
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::KeyValue;

    fn kv(name: &str, app: &str, rev: i64) -> KeyValue {
        KeyValue {
            key: format!("/registry/core/pods/default/{name}"),
            value: serde_json::to_vec(
                &json!({"kind": "Pod", "metadata": {"name": name, "labels": {"app": app}}}),
            )
            .unwrap(),
            create_revision: 1,
            mod_revision: rev,
        }
    }

    fn is_web(o: &Value) -> bool {
        o["metadata"]["labels"]["app"] == "web"
    }

    fn put(new: KeyValue, prev: Option<KeyValue>) -> Event {
        Event {
            kind: EventKind::Put,
            kv: new,
            prev,
        }
    }

    fn mapped(e: &Event) -> Option<(WatchEventType, String)> {
        map_event(e, is_web).unwrap().map(|(t, o)| {
            (
                t,
                o["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
    }

    #[test]
    fn creates_updates_and_deletes_map_to_added_modified_deleted() {
        assert_eq!(
            mapped(&put(kv("a", "web", 2), None)),
            Some((WatchEventType::Added, "2".into()))
        );
        assert_eq!(
            mapped(&put(kv("a", "web", 3), Some(kv("a", "web", 2)))),
            Some((WatchEventType::Modified, "3".into()))
        );
        let del = Event {
            kind: EventKind::Delete,
            kv: kv("a", "web", 4),
            prev: Some(kv("a", "web", 3)),
        };
        assert_eq!(mapped(&del), Some((WatchEventType::Deleted, "4".into())));
    }

    #[test]
    fn objects_moving_across_the_selector_are_added_or_deleted() {
        assert_eq!(
            mapped(&put(kv("a", "web", 3), Some(kv("a", "db", 2)))),
            Some((WatchEventType::Added, "3".into()))
        );
        assert_eq!(
            mapped(&put(kv("a", "db", 4), Some(kv("a", "web", 3)))),
            Some((WatchEventType::Deleted, "4".into()))
        );
        assert_eq!(mapped(&put(kv("a", "db", 5), Some(kv("a", "db", 4)))), None);
        assert_eq!(mapped(&put(kv("b", "db", 6), None)), None);
        let del = Event {
            kind: EventKind::Delete,
            kv: kv("b", "db", 7),
            prev: None,
        };
        assert_eq!(mapped(&del), None);
    }

    #[test]
    fn bookmarks_carry_only_type_meta_and_resource_version() {
        let b = bookmark("Pod", "v1", 12, false);
        assert_eq!(
            b,
            json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": "12"}})
        );
        let end = bookmark("Pod", "v1", 12, true);
        assert_eq!(
            end["metadata"]["annotations"]["k8s.io/initial-events-end"],
            "true"
        );
        let line = encode(WatchEventType::Bookmark, &b);
        assert!(line.ends_with(b"\n"));
        let back: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(back["type"], "BOOKMARK");
    }
}
