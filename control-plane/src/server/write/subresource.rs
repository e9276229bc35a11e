//! Requests on subresources: `status` (GET/PUT/PATCH), `scale` (see [`super::scale`]),
//! `pods/binding` and `pods/eviction` (see [`super::pods`]), `namespaces/finalize` (PUT).

use crate::api::ApiError;
use crate::server::object::from_kv;

use super::prepare::Target;
use super::{patching, pods, scale, store_error, update, Ctx, Reply, ResourceRequest};

/// Dispatches a request on subresource `sub`.
pub(super) async fn handle(ctx: &Ctx, req: &ResourceRequest, sub: &str) -> Result<Reply, ApiError> {
    if !req.kind.has_subresource(sub) {
        return Err(ApiError::NotFound {
            group: req.kind.group.into(),
            resource: format!("{}/{sub}", req.kind.plural),
            name: req.name.clone().unwrap_or_default(),
        });
    }
    match (sub, req.verb) {
        ("status", "get") => get(ctx, req).await,
        ("status", "update") => update::put(ctx, req, Target::Status).await,
        ("status", "patch") => patching::patch(ctx, req, Target::Status).await,
        ("scale", "get") => scale::get(ctx, req).await,
        ("scale", "update") => scale::put(ctx, req).await,
        ("scale", "patch") => scale::patch(ctx, req).await,
        ("binding", "create") => pods::bind(ctx, req).await,
        ("eviction", "create") => pods::evict(ctx, req).await,
        ("finalize", "update") => update::put(ctx, req, Target::Finalize).await,
        (_, verb) => Err(ApiError::MethodNotAllowed(format!(
            "{verb} is not supported on {}/{sub}",
            req.kind.plural
        ))),
    }
}

/// The whole object, as upstream answers GET on `status`.
pub(super) async fn read(ctx: &Ctx, req: &ResourceRequest) -> Result<serde_json::Value, ApiError> {
    let kind = req.kind;
    let name = super::path_name(req)?;
    let (kv, _) = ctx
        .store
        .get(&kind.key(req.namespace.as_deref(), name))
        .await
        .map_err(|e| store_error(kind, name, e))?;
    from_kv(&kv.ok_or_else(|| super::not_found(kind, name))?)
}

async fn get(ctx: &Ctx, req: &ResourceRequest) -> Result<Reply, ApiError> {
    Ok(Reply::ok(read(ctx, req).await?))
}
