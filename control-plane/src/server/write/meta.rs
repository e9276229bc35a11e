//! Metadata and generation rules of upstream's registry strategies (`rest.BeforeCreate`,
//! `rest.BeforeUpdate`, `FillObjectMetaSystemFields`): pure functions over JSON objects.

use serde_json::{json, Value};

use crate::api::FieldError;
use crate::registry::KindInfo;

/// The characters upstream's `SimpleNameGenerator` picks from (no vowels, no confusables).
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Now, RFC 3339 UTC with seconds precision.
pub(super) fn now() -> String {
    format_time(chrono::Utc::now())
}

/// A time as the API prints it.
pub(super) fn format_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A new object uid (UUID v4).
pub(super) fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `generateName` plus 5 random characters, the base cut so the result stays ≤ 63 characters.
pub(super) fn generate_name(base: &str) -> String {
    let random = uuid::Uuid::new_v4();
    let suffix: String = random.as_bytes()[..5]
        .iter()
        .map(|b| NAME_ALPHABET[*b as usize % NAME_ALPHABET.len()] as char)
        .collect();
    let base: String = base.chars().take(63 - 5).collect();
    format!("{base}{suffix}")
}

/// `metadata.<field>` as a string.
pub(super) fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

/// The object's name ("" when unset).
pub(super) fn name(obj: &Value) -> &str {
    meta_str(obj, "name").unwrap_or_default()
}

/// The object's `metadata` map, created when missing.
pub(super) fn meta_mut(obj: &mut Value) -> &mut serde_json::Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    obj["metadata"]
        .as_object_mut()
        .expect("metadata is an object")
}

/// The finalizers of an object.
pub(super) fn finalizers(obj: &Value) -> Vec<String> {
    strings_at(obj, "/metadata/finalizers")
}

/// The strings of the array at JSON pointer `at` (empty when there is none).
pub(super) fn strings_at(obj: &Value, at: &str) -> Vec<String> {
    obj.pointer(at)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Replaces the finalizers (removing the field when empty).
pub(super) fn set_finalizers(obj: &mut Value, finalizers: &[String]) {
    let meta = meta_mut(obj);
    if finalizers.is_empty() {
        meta.remove("finalizers");
    } else {
        meta.insert("finalizers".into(), json!(finalizers));
    }
}

/// Kinds whose strategies set `metadata.generation` and bump it on spec changes.
pub(super) fn tracks_generation(kind: &KindInfo) -> bool {
    matches!(
        (kind.group, kind.kind),
        ("apps", "Deployment" | "ReplicaSet" | "DaemonSet") | ("discovery.k8s.io", "EndpointSlice")
    )
}

/// Kinds whose `AllowCreateOnUpdate` is true: a PUT of a missing object creates it.
pub(super) fn allows_create_on_update(kind: &KindInfo) -> bool {
    matches!(
        (kind.group, kind.kind),
        ("", "Service" | "Endpoints" | "Event") | ("coordination.k8s.io", "Lease")
    )
}

/// Kinds whose `AllowUnconditionalUpdate` is true: a PUT without resourceVersion overwrites.
pub(super) fn allows_unconditional_update(kind: &KindInfo) -> bool {
    !matches!((kind.group, kind.kind), ("coordination.k8s.io", "Lease"))
}

/// Kinds whose storage sets `ReturnDeletedObject`: a delete answers with the object rather
/// than a `Status`.
pub(super) fn returns_deleted_object(kind: &KindInfo) -> bool {
    matches!(
        (kind.group, kind.kind),
        ("", "Pod" | "Service" | "ServiceAccount" | "Namespace")
    )
}

/// Upstream's `ValidatePathSegmentName`: a name must be usable as one URL path segment.
pub(super) fn path_segment_errors(field: &str, name: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if name == "." || name == ".." {
        errs.push(FieldError::invalid(
            field,
            name.into(),
            format!("may not be '{name}'"),
        ));
    }
    for bad in ["/", "%"] {
        if name.contains(bad) {
            errs.push(FieldError::invalid(
                field,
                name.into(),
                format!("may not contain '{bad}'"),
            ));
        }
    }
    errs
}

/// System fields of a new object: uid, creationTimestamp, generation; no deletion marks.
pub(super) fn fill_create(kind: &KindInfo, obj: &mut Value, now: &str) {
    let track = tracks_generation(kind);
    let meta = meta_mut(obj);
    meta.insert("uid".into(), new_uid().into());
    meta.insert("creationTimestamp".into(), now.into());
    meta.remove("deletionTimestamp");
    meta.remove("deletionGracePeriodSeconds");
    meta.remove("resourceVersion");
    meta.remove("selfLink");
    if track {
        meta.insert("generation".into(), 1.into());
    } else {
        meta.remove("generation");
    }
}

/// Carries the server-owned metadata of `old` into `new` (`rest.BeforeUpdate`); a changed uid
/// is an error.
pub(super) fn carry_system_fields(old: &Value, new: &mut Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let old_meta = old.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let meta = meta_mut(new);
    match (
        meta.get("uid").and_then(Value::as_str),
        old_meta.get("uid").and_then(Value::as_str),
    ) {
        (Some(n), Some(o)) if !n.is_empty() && n != o => errs.push(FieldError::invalid(
            "metadata.uid",
            n.into(),
            "field is immutable",
        )),
        _ => {}
    }
    for field in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "generation",
    ] {
        match old_meta.get(field) {
            Some(v) => meta.insert(field.into(), v.clone()),
            None => meta.remove(field),
        };
    }
    if !meta.contains_key("deletionGracePeriodSeconds") {
        if let Some(v) = old_meta.get("deletionGracePeriodSeconds") {
            meta.insert("deletionGracePeriodSeconds".into(), v.clone());
        }
    }
    meta.remove("selfLink");
    errs
}

/// Whether the update from `old` to `new` changes more than metadata and status (deployments
/// also count annotations, which are copied to their replica sets).
pub(super) fn spec_changed(kind: &KindInfo, old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("metadata");
            m.remove("status");
        }
        v
    };
    if strip(old) != strip(new) {
        return true;
    }
    kind.kind == "Deployment"
        && old.pointer("/metadata/annotations") != new.pointer("/metadata/annotations")
}

/// Bumps `generation` when the kind tracks it and the spec changed.
pub(super) fn bump_generation(kind: &KindInfo, old: &Value, new: &mut Value) {
    if !tracks_generation(kind) || !spec_changed(kind, old, new) {
        return;
    }
    let gen = old
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    meta_mut(new).insert("generation".into(), (gen + 1).into());
}

/// Upstream's `shouldDeleteDuringUpdate`: the last finalizer of an object being deleted went
/// away and no grace period remains.
pub(super) fn should_delete_during_update(old: &Value, new: &Value) -> bool {
    if !finalizers(new).is_empty() || finalizers(old).is_empty() {
        return false;
    }
    if meta_str(old, "deletionTimestamp").is_none() {
        return false;
    }
    new.pointer("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        == 0
}

/// Whether two objects are the same apart from resourceVersion (a no-op write).
pub(super) fn same_object(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
        }
        v
    };
    strip(a) == strip(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::by_kind;

    #[test]
    fn generated_names_use_five_chars_of_the_upstream_alphabet() {
        let n = generate_name("web-");
        assert_eq!(n.len(), 9);
        assert!(n[4..].bytes().all(|b| NAME_ALPHABET.contains(&b)), "{n}");
        assert_eq!(generate_name(&"x".repeat(80)).len(), 63);
    }

    #[test]
    fn generation_bumps_on_spec_but_not_on_labels_or_status() {
        let rs = by_kind("apps", "ReplicaSet").unwrap();
        let old = json!({"metadata": {"generation": 3}, "spec": {"replicas": 1}});
        let mut labels = json!({"metadata": {"generation": 3, "labels": {"a": "b"}}, "spec": {"replicas": 1}, "status": {"replicas": 2}});
        bump_generation(rs, &old, &mut labels);
        assert_eq!(labels["metadata"]["generation"], 3);
        let mut spec = json!({"metadata": {"generation": 3}, "spec": {"replicas": 2}});
        bump_generation(rs, &old, &mut spec);
        assert_eq!(spec["metadata"]["generation"], 4);
        let deploy = by_kind("apps", "Deployment").unwrap();
        let mut ann = json!({"metadata": {"generation": 3, "annotations": {"x": "y"}}, "spec": {"replicas": 1}});
        bump_generation(deploy, &old, &mut ann);
        assert_eq!(ann["metadata"]["generation"], 4);
    }

    #[test]
    fn update_keeps_server_owned_metadata_and_refuses_a_new_uid() {
        let old = json!({"metadata": {"uid": "u1", "creationTimestamp": "t", "generation": 2}});
        let mut new = json!({"metadata": {"creationTimestamp": "x", "generation": 9}});
        assert!(carry_system_fields(&old, &mut new).is_empty());
        assert_eq!(
            new["metadata"],
            json!({"creationTimestamp": "t", "generation": 2, "uid": "u1"})
        );
        let mut other = json!({"metadata": {"uid": "u2"}});
        assert_eq!(
            carry_system_fields(&old, &mut other)[0].field,
            "metadata.uid"
        );
    }

    #[test]
    fn removing_the_last_finalizer_of_a_deleting_object_deletes_it() {
        let old = json!({"metadata": {"deletionTimestamp": "t", "finalizers": ["a"], "deletionGracePeriodSeconds": 0}});
        let new = json!({"metadata": {"deletionTimestamp": "t", "deletionGracePeriodSeconds": 0}});
        assert!(should_delete_during_update(&old, &new));
        assert!(!should_delete_during_update(&old, &old));
        let live = json!({"metadata": {"finalizers": ["a"]}});
        assert!(!should_delete_during_update(
            &live,
            &json!({"metadata": {}})
        ));
    }

    #[test]
    fn names_with_slashes_are_refused() {
        assert_eq!(path_segment_errors("metadata.name", "a/b").len(), 1);
        assert_eq!(path_segment_errors("metadata.name", "..").len(), 1);
        assert!(path_segment_errors("metadata.name", "web-1").is_empty());
    }
}
