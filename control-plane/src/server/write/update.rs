//! Update (PUT) and the loop every read-modify-write shares ([`guaranteed_update`], upstream's
//! `GuaranteedUpdate`): read, compute the new object, compare-and-swap on the read revision,
//! retry a bounded number of times when another writer came first.

use serde_json::Value;

use crate::api::ApiError;
use crate::registry::KindInfo;
use crate::server::object::{from_kv, set_resource_version, to_store};
use crate::store::StoreError;

use super::body::{self, Expected};
use super::create::create_object;
use super::options::{Manager, WriteOptions};
use super::prepare::{self, Target};
use super::{meta, services, store_error, stored, Ctx, Reply, ResourceRequest};

/// Attempts before an update gives up on concurrent writers.
const ATTEMPTS: usize = 8;

/// What an update did.
#[derive(Debug)]
pub(super) enum Outcome {
    /// Stored (or unchanged, or computed for a dry run).
    Updated(Value),
    /// The object did not exist and was created.
    Created(Value),
    /// The last finalizer went away and the object was deleted.
    Deleted(Value),
}

impl Outcome {
    /// 200 with the object, 201 when created.
    pub fn into_reply(self, warnings: Vec<String>) -> Reply {
        let (status, body) = match self {
            Outcome::Created(o) => (201, o),
            Outcome::Updated(o) | Outcome::Deleted(o) => (200, o),
        };
        Reply {
            status,
            body,
            warnings,
        }
    }

    /// The resulting object.
    pub fn object(&self) -> &Value {
        match self {
            Outcome::Created(o) | Outcome::Updated(o) | Outcome::Deleted(o) => o,
        }
    }
}

/// The fixed parts of one update.
pub(super) struct UpdateCall<'a> {
    /// The kind.
    pub kind: &'static KindInfo,
    /// Namespace from the path.
    pub namespace: Option<&'a str>,
    /// Name from the path.
    pub name: &'a str,
    /// What the write may change.
    pub target: Target,
    /// Request options.
    pub opts: &'a WriteOptions,
    /// managedFields bookkeeping.
    pub manager: &'a Manager,
    /// Create the object when it does not exist (PUT where upstream allows it, apply).
    pub create_on_missing: bool,
}

/// Reads the object, asks `propose` for the new one (`None`: the object does not exist) and
/// stores it with compare-and-swap, retrying on conflicts.
pub(super) async fn guaranteed_update<F>(
    ctx: &Ctx,
    call: &UpdateCall<'_>,
    mut propose: F,
) -> Result<Outcome, ApiError>
where
    F: FnMut(Option<&Value>) -> Result<Value, ApiError> + Send,
{
    let kind = call.kind;
    let key = kind.key(call.namespace, call.name);
    for _ in 0..ATTEMPTS {
        let Some(kv) = stored::get(&*ctx.store, kind, call.name, &key).await? else {
            if !call.create_on_missing {
                return Err(super::not_found(kind, call.name));
            }
            let mut proposed = propose(None)?;
            meta::meta_mut(&mut proposed).remove("resourceVersion");
            match create_object(ctx, kind, call.namespace, proposed, call.opts, call.manager).await
            {
                Ok(obj) => return Ok(Outcome::Created(obj)),
                Err(ApiError::AlreadyExists { .. }) => continue,
                Err(e) => return Err(e),
            }
        };
        let current = from_kv(&kv)?;
        let proposed = propose(Some(&current))?;
        prepare::check_precondition(kind, call.name, &current, &proposed)?;
        let mut new = prepare::merge(kind, call.target, &current, proposed)?;
        let reservation = if services::is_service(kind) && call.target == Target::Main {
            services::reserve(&ctx.write, Some(&current), &mut new)
                .map_err(|e| services::name_error(e, call.name))?
        } else {
            services::Reservation::none()
        };
        let now = meta::now();
        if let Err(e) = prepare::finish(kind, call.target, &current, &mut new, call.manager, &now) {
            reservation.abort(&ctx.write);
            return Err(e);
        }
        set_resource_version(&mut new, kv.mod_revision);
        if meta::same_object(&new, &current) {
            reservation.abort(&ctx.write);
            return Ok(Outcome::Updated(current));
        }
        if meta::should_delete_during_update(&current, &new) {
            reservation.abort(&ctx.write);
            if call.opts.dry_run {
                return Ok(Outcome::Deleted(new));
            }
            match ctx.store.delete(&key, Some(kv.mod_revision)).await {
                Ok(_) => {
                    super::delete::after_delete(ctx, kind, &current);
                    return Ok(Outcome::Deleted(new));
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(store_error(kind, call.name, e)),
            }
        }
        if call.opts.dry_run {
            reservation.abort(&ctx.write);
            return Ok(Outcome::Updated(new));
        }
        match ctx
            .store
            .update(&key, to_store(&new), kv.mod_revision)
            .await
        {
            Ok(kv) => {
                reservation.commit(&ctx.write);
                tracing::debug!(
                    kind = kind.kind,
                    namespace = call.namespace,
                    name = call.name,
                    "updated"
                );
                return Ok(Outcome::Updated(from_kv(&kv)?));
            }
            Err(StoreError::Conflict { .. } | StoreError::NotFound { .. }) => {
                reservation.abort(&ctx.write);
            }
            Err(e) => {
                reservation.abort(&ctx.write);
                return Err(store_error(kind, call.name, e));
            }
        }
    }
    Err(super::conflict(kind, call.name))
}

/// PUT on an object (main endpoint).
pub(super) async fn handle(ctx: &Ctx, req: &ResourceRequest) -> Result<Reply, ApiError> {
    put(ctx, req, Target::Main).await
}

/// PUT on an object or its `status` / `finalize` subresource.
pub(super) async fn put(
    ctx: &Ctx,
    req: &ResourceRequest,
    target: Target,
) -> Result<Reply, ApiError> {
    let kind = req.kind;
    let name = super::path_name(req)?;
    let opts = WriteOptions::from_request(req, "UpdateOptions")?;
    let api_version = kind.api_version();
    let expected = Expected {
        api_versions: &[api_version.as_str()],
        kind: kind.kind,
    };
    let mut decoded = body::decode_object(req, expected, Some(kind), opts.validation)?;
    prepare::check_identity(kind, req.namespace.as_deref(), name, &mut decoded.obj)?;
    let manager = Manager::Update(opts.manager.clone());
    let call = UpdateCall {
        kind,
        namespace: req.namespace.as_deref(),
        name,
        target,
        opts: &opts,
        manager: &manager,
        create_on_missing: target == Target::Main && meta::allows_create_on_update(kind),
    };
    let body = decoded.obj;
    let outcome = guaranteed_update(ctx, &call, |_| Ok(body.clone())).await?;
    if target == Target::Finalize {
        super::namespace::spawn_cleanup(ctx.clone(), name.to_string());
    }
    Ok(outcome.into_reply(decoded.warnings))
}
