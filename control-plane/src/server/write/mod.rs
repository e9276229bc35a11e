//! The write path: create, update, patch (all four types), delete, deletecollection and the
//! subresources (status, scale, binding, eviction, finalize), with dry runs and field validation.
//!
//! Every write goes through one of two loops over the store: [`create::create_object`]
//! (create-if-absent) and [`update::guaranteed_update`] (read, compute, compare-and-swap on the
//! read revision, retry a bounded number of times on conflicts) — or the delete loop in
//! [`delete`]. Nothing is written before the whole new object is computed and validated, so a
//! failing request never leaves a half-written object.

pub mod alloc;
mod body;
mod bootstrap;
mod create;
mod delete;
mod delete_options;
mod meta;
mod namespace;
mod options;
mod patching;
mod pods;
mod prepare;
mod scale;
mod services;
mod stored;
mod subresource;
mod update;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use crate::api::ApiError;
use crate::registry::KindInfo;
use crate::store::{Store, StoreError};

use super::{ApiState, Reply, ResourceRequest, ServerSettings};

/// State of the write path shared by all requests (cheap to clone).
#[derive(Clone)]
pub struct WriteState {
    inner: Arc<WriteInner>,
}

struct WriteInner {
    settings: ServerSettings,
    allocators: Mutex<alloc::Allocators>,
}

impl WriteState {
    /// Loads what the write path needs from the store (allocated ClusterIPs and NodePorts).
    pub async fn load(store: &dyn Store, settings: &ServerSettings) -> Result<Self, ApiError> {
        let mut allocators = alloc::Allocators::new(settings.service_cidr, settings.node_ports);
        services::load_allocations(store, &mut allocators).await?;
        Ok(Self {
            inner: Arc::new(WriteInner {
                settings: settings.clone(),
                allocators: Mutex::new(allocators),
            }),
        })
    }

    /// The settings the write path was loaded with.
    pub fn settings(&self) -> &ServerSettings {
        &self.inner.settings
    }

    fn allocators(&self) -> MutexGuard<'_, alloc::Allocators> {
        // A panic while holding the lock leaves plain sets behind; they stay usable.
        self.inner
            .allocators
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What the write functions work with: the store and the write state, owned so background
/// tasks (namespace cleanup) can keep them.
#[derive(Clone)]
pub(crate) struct Ctx {
    store: Arc<dyn Store>,
    write: WriteState,
}

impl Ctx {
    fn new(state: &ApiState) -> Self {
        Self {
            store: state.store.clone(),
            write: state.write.clone(),
        }
    }
}

/// Creates the objects every cluster has from the start (namespaces `default`, `kube-system`,
/// `kube-public`, `kube-node-lease`, their `default` service accounts, the `kubernetes`
/// service and its endpoints). Idempotent.
pub async fn bootstrap(state: &ApiState) -> Result<(), ApiError> {
    bootstrap::run(&Ctx::new(state)).await
}

/// Handles a write request (verbs create, update, patch, delete, deletecollection, on objects
/// and their subresources).
pub async fn handle(state: &ApiState, req: &ResourceRequest) -> Result<Reply, ApiError> {
    let ctx = Ctx::new(state);
    if let Some(sub) = req.subresource.as_deref() {
        return subresource::handle(&ctx, req, sub).await;
    }
    match req.verb {
        "create" => create::handle(&ctx, req).await,
        "update" => update::handle(&ctx, req).await,
        "patch" => patching::handle(&ctx, req).await,
        "delete" => delete::handle(&ctx, req).await,
        "deletecollection" => delete::handle_collection(&ctx, req).await,
        verb => Err(ApiError::MethodNotAllowed(format!(
            "the server does not allow this method on the requested resource ({verb})"
        ))),
    }
}

/// The object name from the path, required for everything but create and deletecollection.
fn path_name(req: &ResourceRequest) -> Result<&str, ApiError> {
    req.name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::MethodNotAllowed("the request needs an object name".into()))
}

/// Maps a store failure on object `name` of `kind` to the Status upstream answers.
fn store_error(kind: &KindInfo, name: &str, err: StoreError) -> ApiError {
    match err {
        StoreError::AlreadyExists { .. } => already_exists(kind, name),
        StoreError::NotFound { .. } => not_found(kind, name),
        StoreError::Conflict { .. } => conflict(kind, name),
        StoreError::Compacted { .. } => ApiError::Expired(err.to_string()),
        StoreError::Closed => ApiError::ServiceUnavailable(err.to_string()),
        other => ApiError::Internal(other.to_string()),
    }
}

fn not_found(kind: &KindInfo, name: &str) -> ApiError {
    ApiError::NotFound {
        group: kind.group.into(),
        resource: kind.plural.into(),
        name: name.into(),
    }
}

fn already_exists(kind: &KindInfo, name: &str) -> ApiError {
    ApiError::AlreadyExists {
        group: kind.group.into(),
        resource: kind.plural.into(),
        name: name.into(),
    }
}

/// Upstream's optimistic-lock message.
const MODIFIED: &str =
    "the object has been modified; please apply your changes to the latest version and try again";

fn conflict(kind: &KindInfo, name: &str) -> ApiError {
    conflict_with(kind, name, MODIFIED)
}

fn conflict_with(kind: &KindInfo, name: &str, message: impl Into<String>) -> ApiError {
    ApiError::Conflict {
        group: kind.group.into(),
        resource: kind.plural.into(),
        name: name.into(),
        message: message.into(),
        causes: Vec::new(),
    }
}

fn invalid(kind: &KindInfo, name: &str, causes: Vec<crate::api::FieldError>) -> ApiError {
    ApiError::Invalid {
        group: kind.group.into(),
        kind: kind.kind.into(),
        name: name.into(),
        causes,
    }
}

/// A `Status` with `status: Success` (delete of kinds that do not return the object,
/// bindings, evictions).
fn success_status(code: Option<u16>, details: Option<Value>) -> Value {
    let mut s = serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
    });
    if let Some(d) = details {
        s["details"] = d;
    }
    if let Some(c) = code {
        s["code"] = c.into();
    }
    s
}
