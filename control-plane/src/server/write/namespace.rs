//! Namespaces on the write path: upstream's namespace lifecycle admission (no content in a
//! missing or terminating namespace, immortal namespaces) and namespace deletion.
//!
//! Deleting a namespace marks it `Terminating` with a deletionTimestamp, as upstream does.
//! Until a namespace controller exists, a background task of the API server does that
//! controller's work: it deletes every namespaced object in the namespace (pods bound to a
//! node are deleted gracefully and finished by their kubelet), re-checks with a growing pause
//! until nothing is left, then removes the `kubernetes` finalizer and deletes the namespace.
//! [`super::bootstrap`] restarts that task for namespaces still terminating after a restart.

use std::time::Duration;

use serde_json::Value;

use crate::api::ApiError;
use crate::registry::{by_kind, KindInfo, KINDS};
use crate::server::object::{from_kv, to_store};
use crate::store::StoreError;

use super::delete::{delete_object, DeleteOptions, Deleted};
use super::{meta, store_error, stored, Ctx};

/// Namespaces that may not be deleted (upstream's immortal namespaces).
const IMMORTAL: &[&str] = &["default", "kube-system", "kube-public"];

/// The finalizer the namespace controller owns.
const KUBERNETES_FINALIZER: &str = "kubernetes";

fn namespaces() -> &'static KindInfo {
    by_kind("", "Namespace").expect("namespaces are served")
}

fn is_terminating(ns: &Value) -> bool {
    ns.pointer("/status/phase").and_then(Value::as_str) == Some("Terminating")
        || meta::meta_str(ns, "deletionTimestamp").is_some()
}

/// Refuses a create in a namespace that is missing (404) or terminating (403).
pub(super) async fn check_create(
    ctx: &Ctx,
    kind: &KindInfo,
    namespace: &str,
    name: &str,
) -> Result<(), ApiError> {
    let ns_kind = namespaces();
    let key = ns_kind.key(None, namespace);
    let kv = stored::get(&*ctx.store, ns_kind, namespace, &key).await?;
    let kv = kv.ok_or_else(|| super::not_found(ns_kind, namespace))?;
    if is_terminating(&from_kv(&kv)?) {
        return Err(ApiError::Forbidden(format!(
            "{} \"{name}\" is forbidden: unable to create new content in namespace {namespace} because it is being terminated",
            kind.plural
        )));
    }
    Ok(())
}

fn spec_finalizers(ns: &Value) -> Vec<String> {
    meta::strings_at(ns, "/spec/finalizers")
}

/// DELETE of a namespace: first call marks it terminating and starts the cleanup; once its
/// spec finalizers are gone it is deleted like any object.
pub(super) async fn delete(
    ctx: &Ctx,
    name: &str,
    opts: &DeleteOptions,
) -> Result<Deleted, ApiError> {
    let kind = namespaces();
    if IMMORTAL.contains(&name) {
        return Err(ApiError::Forbidden(format!(
            "namespaces \"{name}\" is forbidden: this namespace may not be deleted"
        )));
    }
    let key = kind.key(None, name);
    for _ in 0..8 {
        let kv = stored::get(&*ctx.store, kind, name, &key).await?;
        let kv = kv.ok_or_else(|| super::not_found(kind, name))?;
        let current = from_kv(&kv)?;
        if meta::meta_str(&current, "deletionTimestamp").is_some() {
            if !spec_finalizers(&current).is_empty() {
                return Ok(Deleted::Marked(current));
            }
            return delete_object(ctx, kind, None, name, opts).await;
        }
        if let Some(e) = super::delete::precondition_error(kind, name, &current, opts) {
            return Err(e);
        }
        // Propagation finalizers follow the generic rules.
        let mut marked = super::delete::plan(kind, &current, opts, chrono::Utc::now())
            .unwrap_or_else(|| current.clone());
        meta::meta_mut(&mut marked)
            .entry("deletionTimestamp")
            .or_insert_with(|| meta::now().into());
        marked["status"]["phase"] = "Terminating".into();
        if opts.dry_run {
            return Ok(Deleted::Marked(marked));
        }
        match ctx
            .store
            .update(&key, to_store(&marked), kv.mod_revision)
            .await
        {
            Ok(kv) => {
                tracing::info!(
                    namespace = name,
                    "namespace terminating; deleting its content"
                );
                spawn_cleanup(ctx.clone(), name.to_string());
                return Ok(Deleted::Marked(from_kv(&kv)?));
            }
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(store_error(kind, name, e)),
        }
    }
    Err(super::conflict(kind, name))
}

/// Starts the background cleanup of a terminating namespace (no-op outside a runtime).
pub(super) fn spawn_cleanup(ctx: Ctx, name: String) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    rt.spawn(async move {
        let mut pause = Duration::from_millis(50);
        loop {
            match sweep(&ctx, &name).await {
                Ok(true) => return,
                Ok(false) => {}
                Err(e) => tracing::warn!(namespace = %name, error = %e, "namespace cleanup failed; retrying"),
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    });
}

/// One pass of the namespace cleanup; `Ok(true)` once the namespace is gone.
pub(super) async fn sweep(ctx: &Ctx, name: &str) -> Result<bool, ApiError> {
    let kind = namespaces();
    let key = kind.key(None, name);
    let Some(kv) = stored::get(&*ctx.store, kind, name, &key).await? else {
        return Ok(true);
    };
    if meta::meta_str(&from_kv(&kv)?, "deletionTimestamp").is_none() {
        return Ok(true);
    }
    let mut remaining = 0;
    for content in KINDS.iter().filter(|k| k.namespaced) {
        let kvs = stored::list_prefix(&*ctx.store, content.namespace_prefix(name)).await?;
        for item in &kvs {
            let obj = from_kv(item)?;
            match delete_object(
                ctx,
                content,
                Some(name),
                meta::name(&obj),
                &DeleteOptions::default(),
            )
            .await
            {
                Ok(Deleted::Gone(_)) | Err(ApiError::NotFound { .. }) => {}
                Ok(Deleted::Marked(_)) => remaining += 1,
                Err(e) => return Err(e),
            }
        }
    }
    if remaining > 0 {
        tracing::debug!(namespace = name, remaining, "namespace still has content");
        return Ok(false);
    }
    finalize(ctx, name).await
}

/// Removes the namespace controller's finalizers and deletes the namespace when none remain.
async fn finalize(ctx: &Ctx, name: &str) -> Result<bool, ApiError> {
    let kind = namespaces();
    let key = kind.key(None, name);
    let Some(kv) = stored::get(&*ctx.store, kind, name, &key).await? else {
        return Ok(true);
    };
    let mut ns = from_kv(&kv)?;
    let spec: Vec<String> = spec_finalizers(&ns)
        .into_iter()
        .filter(|f| f != KUBERNETES_FINALIZER)
        .collect();
    // With the content gone, the propagation finalizers have nothing left to do.
    let fins: Vec<String> = meta::finalizers(&ns)
        .into_iter()
        .filter(|f| f != "orphan" && f != "foregroundDeletion")
        .collect();
    if spec.is_empty() && fins.is_empty() {
        return match ctx.store.delete(&key, Some(kv.mod_revision)).await {
            Ok(_) | Err(StoreError::NotFound { .. }) => {
                tracing::info!(namespace = name, "namespace deleted");
                Ok(true)
            }
            Err(StoreError::Conflict { .. }) => Ok(false),
            Err(e) => Err(store_error(kind, name, e)),
        };
    }
    ns["spec"]["finalizers"] = serde_json::json!(spec);
    meta::set_finalizers(&mut ns, &fins);
    match ctx.store.update(&key, to_store(&ns), kv.mod_revision).await {
        Ok(_) | Err(StoreError::Conflict { .. }) => Ok(false),
        Err(e) => Err(store_error(kind, name, e)),
    }
}

/// Restarts the cleanup of every namespace that is still terminating.
pub(super) async fn resume_cleanups(ctx: &Ctx) -> Result<(), ApiError> {
    let kind = namespaces();
    for kv in &stored::list_prefix(&*ctx.store, kind.prefix()).await? {
        let ns = from_kv(kv)?;
        if meta::meta_str(&ns, "deletionTimestamp").is_some() {
            spawn_cleanup(ctx.clone(), meta::name(&ns).to_string());
        }
    }
    Ok(())
}
