//! Server-side apply and `metadata.managedFields` bookkeeping, after upstream's
//! structured-merge-diff as kube-apiserver 1.33 runs it.
//!
//! Every write records which manager owns which fields (`fieldsV1` sets, one managedFields
//! entry per manager, operation and subresource). An apply merges the applied configuration
//! into the object (keyed lists by their `listMapKeys`, set lists as sets, everything else
//! atomic — from [`crate::patch::schema`]), removes fields the applier applied before but no
//! longer does when no other manager owns them, and reports a 409 conflict when the write
//! would change a field another manager owns, unless forced, which takes the field over.
//! Applying a value equal to the current one shares ownership.
//!
//! How far conflict detection goes, compared with upstream:
//! - One version per kind is served, so there is no conversion between versions: sets are
//!   compared as written, whatever apiVersion an entry names.
//! - Schema knowledge is the patch schema's type tree: lists and objects it does not mark are
//!   atomic (upstream knows every field). Struct fields and map keys are not told apart, so a
//!   non-empty object under a map key (rare in served kinds) is not itself owned, and a create
//!   treats only `metadata`, `spec`, `status`, `template`, `strategy` and `updateStrategy` as
//!   already present (upstream's zero-valued structs).
//! - Defaults: list keys default only `protocol` to `TCP`; fields defaulted after the merge are
//!   owned by nobody (as upstream) but the applied config is not defaulted before comparison.
//! - Not done: the cap of ten Update entries (`ancient-changes`), the last-applied-annotation
//!   upgrade of client-side apply, and `resourceVersion` preconditions in the applied config
//!   (the caller checks those).

mod conflict;
pub mod fields_v1;
pub mod fieldset;
pub mod managed;
mod merge;
pub mod shape;
pub mod walk;

use serde_json::{Map, Value};

use crate::api::ApiError;
use crate::registry::KindInfo;

use conflict::{conflict_error, Conflict};
use fieldset::{set_of, FieldSet};
use managed::{ManagedEntry, Operation};
use shape::{KindShape, Shape};

/// What apply needs to know about the kind besides its shape.
#[derive(Debug, Clone)]
struct Target {
    api_version: String,
    kind: String,
    status_subresource: bool,
}

impl Target {
    fn of(kind: &KindInfo) -> Self {
        Target {
            api_version: kind.api_version(),
            kind: kind.kind.to_string(),
            status_subresource: kind.has_subresource("status"),
        }
    }
}

/// Metadata the server owns: never taken from an applied config, never in a field set.
const SERVER_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
];

/// Paths no manager owns (upstream's strip set).
fn stripped() -> FieldSet {
    set_of(&[
        &["apiVersion"],
        &["kind"],
        &["metadata"],
        &["metadata", "name"],
        &["metadata", "namespace"],
        &["metadata", "creationTimestamp"],
        &["metadata", "selfLink"],
        &["metadata", "uid"],
        &["metadata", "clusterName"],
        &["metadata", "generation"],
        &["metadata", "managedFields"],
        &["metadata", "resourceVersion"],
    ])
}

/// Fields a write through `subresource` does not own (upstream's reset fields).
fn ignored(target: &Target, subresource: Option<&str>) -> FieldSet {
    match subresource {
        Some("status") => set_of(&[&["spec"]]),
        None if target.status_subresource => set_of(&[&["status"]]),
        _ => FieldSet::new(),
    }
}

/// Server-side apply of `config` (the applied configuration) by `manager` onto `current`
/// (`None`: the object does not exist and is created from `config`). `now` is an RFC 3339 time
/// for the managedFields entry. Returns the merged object with managedFields updated, or a 409
/// `Conflict` listing conflicting fields unless `force`.
pub fn apply(
    kind: &KindInfo,
    current: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
    now: &str,
) -> Result<Value, ApiError> {
    let shape: &dyn Shape = &KindShape(kind);
    let target = &Target::of(kind);
    let mut cfg = config.as_object().cloned().ok_or_else(|| {
        ApiError::BadRequest("the applied configuration must be an object".into())
    })?;
    if let Some(meta) = cfg.get_mut("metadata").and_then(Value::as_object_mut) {
        let has_managed = meta
            .get("managedFields")
            .is_some_and(|m| !m.is_null() && m.as_array().is_none_or(|a| !a.is_empty()));
        if has_managed {
            return Err(ApiError::BadRequest(
                "metadata.managedFields must be nil".into(),
            ));
        }
        for field in SERVER_METADATA {
            meta.remove(*field);
        }
    }
    if target.status_subresource {
        cfg.remove("status");
    }
    let cfg = Value::Object(cfg);
    let claimed = walk::to_field_set(shape, &cfg).map_err(|e| {
        ApiError::BadRequest(format!(
            "failed to create typed patch object ({}, Kind={}): {e}",
            target.api_version, target.kind
        ))
    })?;
    let applied = claimed.difference(&stripped());

    let live = current.map_or_else(|| Value::Object(Map::new()), managed::without);
    let mut entries = match current {
        Some(obj) => managed::decode(obj)
            .map_err(|e| ApiError::Internal(format!("failed to decode managed fields: {e}")))?,
        None => Vec::new(),
    };
    let me = ManagedEntry {
        manager: manager.to_string(),
        operation: Operation::Apply,
        api_version: target.api_version.clone(),
        time: None,
        subresource: None,
        fields: applied,
    };
    let previous = entries.iter().position(|e| e.same_identity(&me));
    let (last, last_time) = match previous {
        Some(i) => {
            let e = entries.remove(i);
            (e.fields, e.time)
        }
        None => (FieldSet::new(), None),
    };

    let mut merged = merge::merge(shape, &live, &cfg);
    if !last.is_empty() {
        // Prune what this manager applied last time and nobody (this config included) owns now.
        let owned = entries
            .iter()
            .fold(claimed.union(&me.fields), |acc, e| acc.union(&e.fields));
        let dropped = last.with_parents().difference(&owned.with_parents());
        merged = merge::remove_items(shape, &merged, &dropped);
    }

    let cmp = walk::compare(shape, &live, &merged).without(&ignored(target, None));
    let changed = cmp.changed();
    let mut conflicts = Vec::new();
    for e in &mut entries {
        let owned_changed = e.fields.intersection(&changed);
        if !owned_changed.is_empty() {
            conflicts.extend(Conflict::for_entry(e, owned_changed.paths()));
            e.fields = e.fields.difference(&owned_changed);
        }
        e.fields = e.fields.difference(&cmp.removed);
    }
    if !conflicts.is_empty() && !force {
        tracing::debug!(manager, conflicts = conflicts.len(), "apply conflicts");
        return Err(conflict_error(conflicts));
    }

    let unchanged = merged == live;
    let time = if unchanged { last_time } else { None };
    entries.push(ManagedEntry {
        time: Some(time.unwrap_or_else(|| now.to_string())),
        ..me
    });
    managed::store(&mut merged, managed::encode(entries));
    Ok(merged)
}

/// Records a non-apply write (`operation` "Update", from create/update/patch) by `manager` in
/// `new`'s managedFields, given the object before the write (`None` on create).
/// `subresource` is e.g. `Some("status")`.
pub fn record_update(
    kind: &KindInfo,
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    subresource: Option<&str>,
    now: &str,
) {
    let shape: &dyn Shape = &KindShape(kind);
    let target = &Target::of(kind);
    // A client may write managedFields itself (kubectl's client-side-apply upgrade, `[{}]` to
    // clear them); subresource writes and writes without them keep the stored ones.
    let from_new = match managed::decode(new) {
        Ok(e) if !e.is_empty() && subresource.is_none() => Some(e),
        _ => None,
    };
    let mut entries = from_new.unwrap_or_else(|| {
        old.map(|o| {
            managed::decode(o).unwrap_or_else(|error| {
                tracing::warn!(%error, manager, "dropping unreadable managedFields");
                Vec::new()
            })
        })
        .unwrap_or_default()
    });

    let before = old.map_or_else(|| Value::Object(Map::new()), managed::without);
    let after = managed::without(new);
    let skip = ignored(target, subresource);
    let cmp = walk::compare(shape, &before, &after).without(&skip);
    let changed = cmp.changed();
    for e in &mut entries {
        e.fields = e.fields.difference(&changed).difference(&cmp.removed);
    }

    let mine = changed.recursive_difference(&skip).difference(&stripped());
    if !mine.is_empty() {
        let me = ManagedEntry {
            manager: manager.to_string(),
            operation: Operation::Update,
            api_version: target.api_version.clone(),
            time: Some(now.to_string()),
            subresource: subresource.map(str::to_string),
            fields: mine,
        };
        match entries.iter_mut().find(|e| e.same_identity(&me)) {
            Some(e) => {
                e.fields = e.fields.union(&me.fields);
                e.time = me.time;
            }
            None => entries.push(me),
        }
    }
    managed::store(new, managed::encode(entries));
}

#[cfg(test)]
mod tests;
