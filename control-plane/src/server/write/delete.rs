//! Delete and deletecollection as upstream's generic store does them: preconditions, graceful
//! deletion of pods bound to a node (deletionTimestamp + grace period, finished by the
//! kubelet's delete with grace 0), finalizers (the object is marked and kept) and the
//! propagation policy recorded as the `orphan` / `foregroundDeletion` finalizers.
//!
//! Until the garbage collector runs, nothing removes those two finalizers: an object deleted
//! with `propagationPolicy=Foreground` or `Orphan` stays, marked with its deletionTimestamp,
//! until a client removes the finalizer (which then deletes it, see
//! [`super::meta::should_delete_during_update`]). Background deletion (the default) deletes the
//! object at once and leaves its dependents to the collector.

use serde_json::{json, Value};

use crate::api::ApiError;
use crate::registry::KindInfo;
use crate::server::fields::FieldSelector;
use crate::server::labels::LabelSelector;
use crate::server::object::{from_kv, to_store};
use crate::store::StoreError;

pub(super) use super::delete_options::DeleteOptions;
use super::{meta, namespace, services, store_error, stored, Ctx, Reply, ResourceRequest};

/// Attempts before a delete gives up on concurrent writers.
const ATTEMPTS: usize = 8;

const ORPHAN: &str = "orphan";
const FOREGROUND: &str = "foregroundDeletion";

/// What a delete did.
#[derive(Debug, Clone)]
pub(super) enum Deleted {
    /// Removed from the store; the object as it was.
    Gone(Value),
    /// Kept, marked for deletion (graceful pod, finalizers); the object as it is now.
    Marked(Value),
}

/// DELETE on an object.
pub(super) async fn handle(ctx: &Ctx, req: &ResourceRequest) -> Result<Reply, ApiError> {
    let name = super::path_name(req)?;
    let opts = DeleteOptions::from_request(req)?;
    let kind = req.kind;
    let outcome = if kind.group.is_empty() && kind.kind == "Namespace" {
        namespace::delete(ctx, name, &opts).await?
    } else {
        delete_object(ctx, kind, req.namespace.as_deref(), name, &opts).await?
    };
    Ok(reply(kind, outcome, &opts))
}

/// The answer upstream gives: the object, or a `Status` for kinds that do not return it.
fn reply(kind: &KindInfo, outcome: Deleted, opts: &DeleteOptions) -> Reply {
    match outcome {
        Deleted::Marked(obj) => Reply {
            // Upstream answers 202 only when cascading was asked for the deprecated way.
            status: if opts.orphan_dependents == Some(false) {
                202
            } else {
                200
            },
            body: obj,
            warnings: Vec::new(),
        },
        Deleted::Gone(obj) if meta::returns_deleted_object(kind) => Reply::ok(obj),
        Deleted::Gone(obj) => {
            let mut details = json!({
                "name": meta::name(&obj),
                "group": kind.group,
                "kind": kind.plural,
                "uid": meta::meta_str(&obj, "uid").unwrap_or_default(),
            });
            if kind.group.is_empty() {
                details.as_object_mut().map(|d| d.remove("group"));
            }
            Reply::ok(super::success_status(None, Some(details)))
        }
    }
}

/// The 409 upstream answers when DeleteOptions preconditions do not hold.
pub(super) fn precondition_error(
    kind: &KindInfo,
    name: &str,
    obj: &Value,
    opts: &DeleteOptions,
) -> Option<ApiError> {
    let uid = meta::meta_str(obj, "uid").unwrap_or_default();
    if let Some(want) = opts.uid.as_deref().filter(|u| !u.is_empty()) {
        if want != uid {
            return Some(super::conflict_with(
                kind,
                name,
                format!(
                    "Precondition failed: UID in precondition: {want}, UID in object meta: {uid}"
                ),
            ));
        }
    }
    let rv = meta::meta_str(obj, "resourceVersion").unwrap_or_default();
    if let Some(want) = opts.resource_version.as_deref().filter(|r| !r.is_empty()) {
        if want != rv {
            return Some(super::conflict_with(
                kind,
                name,
                format!("Precondition failed: ResourceVersion in precondition: {want}, ResourceVersion in object meta: {rv}"),
            ));
        }
    }
    None
}

/// Deletes one object with upstream's graceful/finalizer rules.
pub(super) async fn delete_object(
    ctx: &Ctx,
    kind: &'static KindInfo,
    namespace: Option<&str>,
    name: &str,
    opts: &DeleteOptions,
) -> Result<Deleted, ApiError> {
    let key = kind.key(namespace, name);
    for _ in 0..ATTEMPTS {
        let kv = stored::get(&*ctx.store, kind, name, &key).await?;
        let kv = kv.ok_or_else(|| super::not_found(kind, name))?;
        let current = from_kv(&kv)?;
        if let Some(e) = precondition_error(kind, name, &current, opts) {
            return Err(e);
        }
        let Some(marked) = plan(kind, &current, opts, chrono::Utc::now()) else {
            // Delete now.
            if opts.dry_run {
                return Ok(Deleted::Gone(current));
            }
            match ctx.store.delete(&key, Some(kv.mod_revision)).await {
                Ok(_) => {
                    after_delete(ctx, kind, &current);
                    tracing::debug!(kind = kind.kind, namespace, name, "deleted");
                    return Ok(Deleted::Gone(current));
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(store_error(kind, name, e)),
            }
        };
        if meta::same_object(&marked, &current) || opts.dry_run {
            return Ok(Deleted::Marked(marked));
        }
        match ctx
            .store
            .update(&key, to_store(&marked), kv.mod_revision)
            .await
        {
            Ok(kv) => return Ok(Deleted::Marked(from_kv(&kv)?)),
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(store_error(kind, name, e)),
        }
    }
    Err(super::conflict(kind, name))
}

/// Releases what a deleted object held (service ClusterIPs and NodePorts).
pub(super) fn after_delete(ctx: &Ctx, kind: &KindInfo, obj: &Value) {
    if services::is_service(kind) {
        services::release(&ctx.write, &services::held(obj));
    }
}

/// Pure decision: `None` deletes now; `Some(obj)` is the object to keep (marked for
/// deletion; equal to `current` when a graceful deletion is already pending).
pub(super) fn plan(
    kind: &KindInfo,
    current: &Value,
    opts: &DeleteOptions,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<Value> {
    let mut obj = current.clone();
    let graceful = match before_delete(kind, &mut obj, opts, now) {
        Graceful::Pending => return Some(current.clone()),
        Graceful::Marked => true,
        Graceful::Immediate => false,
    };
    if let Some(fins) = gc_finalizers(&obj, opts) {
        meta::set_finalizers(&mut obj, &fins);
    }
    if !meta::finalizers(&obj).is_empty() {
        mark_as_deleting(&mut obj, now);
        return Some(obj);
    }
    graceful.then_some(obj)
}

#[derive(Debug, PartialEq, Eq)]
enum Graceful {
    /// Delete from the store now.
    Immediate,
    /// Already being deleted gracefully; nothing changes.
    Pending,
    /// deletionTimestamp and grace period set (or shortened).
    Marked,
}

fn parse_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// Upstream's `rest.BeforeDelete` with the pod strategy's `CheckGracefulDelete` (pods are the
/// only served kind with graceful deletion).
fn before_delete(
    kind: &KindInfo,
    obj: &mut Value,
    opts: &DeleteOptions,
    now: chrono::DateTime<chrono::Utc>,
) -> Graceful {
    if !(kind.group.is_empty() && kind.kind == "Pod") {
        return Graceful::Immediate;
    }
    // Negative grace periods count as 1s on the delete path.
    let requested = opts.grace.map(|g| if g < 0 { 1 } else { g });
    if let Some(ts) = meta::meta_str(obj, "deletionTimestamp").map(String::from) {
        let current = obj
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if current == 0 {
            return Graceful::Immediate;
        }
        return match requested {
            Some(0) => Graceful::Immediate,
            Some(g) if g < current => {
                let base = parse_time(&ts).unwrap_or(now);
                let new_ts =
                    base - chrono::Duration::seconds(current) + chrono::Duration::seconds(g);
                let m = meta::meta_mut(obj);
                m.insert("deletionTimestamp".into(), meta::format_time(new_ts).into());
                m.insert("deletionGracePeriodSeconds".into(), g.into());
                Graceful::Marked
            }
            _ => Graceful::Pending,
        };
    }
    let mut period = requested.unwrap_or_else(|| {
        obj.pointer("/spec/terminationGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(0)
    });
    let unbound = obj
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .is_empty();
    let phase = obj.pointer("/status/phase").and_then(Value::as_str);
    if unbound || matches!(phase, Some("Succeeded" | "Failed")) {
        period = 0;
    }
    if period <= 0 {
        return Graceful::Immediate;
    }
    let ts = meta::format_time(now + chrono::Duration::seconds(period));
    let m = meta::meta_mut(obj);
    m.insert("deletionTimestamp".into(), ts.into());
    m.insert("deletionGracePeriodSeconds".into(), period.into());
    if let Some(g) = m
        .get("generation")
        .and_then(Value::as_i64)
        .filter(|g| *g > 0)
    {
        m.insert("generation".into(), (g + 1).into());
    }
    Graceful::Marked
}

/// The finalizers the propagation policy asks for (`None`: unchanged). The default policy of
/// every served kind is background deletion.
fn gc_finalizers(obj: &Value, opts: &DeleteOptions) -> Option<Vec<String>> {
    let existing = meta::finalizers(obj);
    let (orphan, foreground) = match (opts.orphan_dependents, opts.policy.as_deref()) {
        (Some(o), _) => (o, false),
        (None, Some("Orphan")) => (true, false),
        (None, Some("Foreground")) => (false, true),
        (None, Some(_)) => (false, false),
        (None, None) => {
            let pick = existing.iter().find(|f| *f == ORPHAN || *f == FOREGROUND);
            (
                pick.is_some_and(|f| f == ORPHAN),
                pick.is_some_and(|f| f == FOREGROUND),
            )
        }
    };
    let mut fins: Vec<String> = existing
        .iter()
        .filter(|f| *f != ORPHAN && *f != FOREGROUND)
        .cloned()
        .collect();
    if orphan {
        fins.push(ORPHAN.into());
    }
    if foreground {
        fins.push(FOREGROUND.into());
    }
    let mut a = existing.clone();
    let mut b = fins.clone();
    a.sort();
    a.dedup();
    b.sort();
    b.dedup();
    (a != b).then_some(fins)
}

/// Upstream's `markAsDeleting`: an object kept by finalizers is marked now with grace 0.
fn mark_as_deleting(obj: &mut Value, now: chrono::DateTime<chrono::Utc>) {
    let m = meta::meta_mut(obj);
    let existing = m
        .get("deletionTimestamp")
        .and_then(Value::as_str)
        .and_then(parse_time);
    if existing.is_none() {
        if let Some(g) = m
            .get("generation")
            .and_then(Value::as_i64)
            .filter(|g| *g > 0)
        {
            m.insert("generation".into(), (g + 1).into());
        }
    }
    if existing.is_none_or(|t| t > now) {
        m.insert("deletionTimestamp".into(), meta::format_time(now).into());
    }
    m.insert("deletionGracePeriodSeconds".into(), 0.into());
}

/// DELETE on a collection: every object matching the label and field selectors.
pub(super) async fn handle_collection(ctx: &Ctx, req: &ResourceRequest) -> Result<Reply, ApiError> {
    let kind = req.kind;
    let opts = DeleteOptions::from_request(req)?;
    let labels = LabelSelector::parse(req.param("labelSelector").unwrap_or_default())
        .map_err(|e| ApiError::BadRequest(format!("unable to parse requirement: {}", e.0)))?;
    let fields = FieldSelector::parse(kind, req.param("fieldSelector").unwrap_or_default())?;
    let prefix = match (kind.namespaced, req.namespace.as_deref()) {
        (true, Some(ns)) => kind.namespace_prefix(ns),
        _ => kind.prefix(),
    };
    let kvs = stored::list_prefix(&*ctx.store, prefix).await?;
    let mut items = Vec::new();
    for kv in &kvs {
        let obj = from_kv(kv)?;
        if !labels.matches(&obj) || !fields.matches(kind, &obj) {
            continue;
        }
        let ns = meta::meta_str(&obj, "namespace").map(String::from);
        match delete_object(ctx, kind, ns.as_deref(), meta::name(&obj), &opts).await {
            Ok(Deleted::Gone(o) | Deleted::Marked(o)) => items.push(o),
            Err(ApiError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Reply::ok(json!({
        "kind": kind.list_kind(),
        "apiVersion": kind.api_version(),
        "metadata": {"resourceVersion": ctx.store.current_revision().to_string()},
        "items": items,
    })))
}
