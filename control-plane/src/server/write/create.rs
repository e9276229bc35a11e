//! Create (POST): namespace checks, generateName, system metadata, defaults, validation,
//! managedFields, ClusterIP/NodePort reservation and create-if-absent in the store.

use futures_util::future::BoxFuture;
use serde_json::{json, Value};

use crate::api::{ApiError, FieldError};
use crate::registry::{by_kind, KindInfo};
use crate::server::object::{from_kv, to_store};
use crate::store::StoreError;

use super::body::{self, Expected};
use super::options::{Manager, WriteOptions};
use super::{meta, namespace, services, store_error, Ctx, Reply, ResourceRequest};

/// How often a generated name is retried when it collides (upstream's `RetryGenerateName`).
const GENERATE_NAME_ATTEMPTS: usize = 8;

/// POST on a collection.
pub(super) async fn handle(ctx: &Ctx, req: &ResourceRequest) -> Result<Reply, ApiError> {
    let kind = req.kind;
    let opts = WriteOptions::from_request(req, "CreateOptions")?;
    let api_version = kind.api_version();
    let expected = Expected {
        api_versions: &[api_version.as_str()],
        kind: kind.kind,
    };
    let decoded = body::decode_object(req, expected, Some(kind), opts.validation)?;
    let manager = Manager::Update(opts.manager.clone());
    let obj = create_object(
        ctx,
        kind,
        req.namespace.as_deref(),
        decoded.obj,
        &opts,
        &manager,
    )
    .await?;
    Ok(Reply {
        status: 201,
        body: obj,
        warnings: decoded.warnings,
    })
}

/// Sets the namespace of `obj` from the request path: filled when empty, a mismatch is a
/// 400; cluster-scoped objects carry none.
pub(super) fn settle_namespace(
    kind: &KindInfo,
    namespace: Option<&str>,
    obj: &mut Value,
) -> Result<(), ApiError> {
    let meta = meta::meta_mut(obj);
    if !kind.namespaced {
        meta.remove("namespace");
        return Ok(());
    }
    let ns = namespace.unwrap_or_default();
    match meta.get("namespace").and_then(Value::as_str) {
        None | Some("") => {
            meta.insert("namespace".into(), ns.into());
            Ok(())
        }
        Some(given) if given == ns => Ok(()),
        Some(_) => Err(ApiError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
                .into(),
        )),
    }
}

/// Creates `obj` (already decoded and type-checked) of `kind` in `namespace`.
pub(super) fn create_object<'a>(
    ctx: &'a Ctx,
    kind: &'static KindInfo,
    namespace: Option<&'a str>,
    mut obj: Value,
    opts: &'a WriteOptions,
    manager: &'a Manager,
) -> BoxFuture<'a, Result<Value, ApiError>> {
    Box::pin(async move {
        settle_namespace(kind, namespace, &mut obj)?;
        if meta::meta_str(&obj, "resourceVersion").is_some_and(|rv| !rv.is_empty()) {
            return Err(ApiError::BadRequest(
                "resourceVersion should not be set on objects to be created".into(),
            ));
        }
        let given = meta::name(&obj).to_string();
        let generate = meta::meta_str(&obj, "generateName")
            .filter(|g| !g.is_empty())
            .map(String::from);
        let mut errs = Vec::new();
        match (&given[..], &generate) {
            ("", None) => errs.push(FieldError::required(
                "metadata.name",
                "name or generateName is required",
            )),
            ("", Some(g)) => errs.extend(meta::path_segment_errors("metadata.generateName", g)),
            (n, _) => errs.extend(meta::path_segment_errors("metadata.name", n)),
        }
        if !errs.is_empty() {
            return Err(super::invalid(kind, &given, errs));
        }
        if kind.namespaced {
            namespace::check_create(ctx, kind, namespace.unwrap_or_default(), &given).await?;
        }
        let now = meta::now();
        meta::fill_create(kind, &mut obj, &now);
        crate::kinds::apply_defaults(kind, &mut obj);
        crate::kinds::prepare_for_create(kind, &mut obj);
        for attempt in 1..=GENERATE_NAME_ATTEMPTS {
            let mut candidate = obj.clone();
            if let (true, Some(g)) = (given.is_empty(), &generate) {
                meta::meta_mut(&mut candidate).insert("name".into(), meta::generate_name(g).into());
            }
            let name = meta::name(&candidate).to_string();
            let errs = if opts.skip_validation {
                Vec::new()
            } else {
                crate::kinds::validate(kind, &candidate, None)
            };
            if !errs.is_empty() {
                return Err(super::invalid(kind, &name, errs));
            }
            if let Manager::Update(m) = manager {
                crate::apply::record_update(kind, None, &mut candidate, m, None, &now);
            }
            let reservation = if services::is_service(kind) {
                services::reserve(&ctx.write, None, &mut candidate)
                    .map_err(|e| services::name_error(e, &name))?
            } else {
                services::Reservation::none()
            };
            if opts.dry_run {
                reservation.abort(&ctx.write);
                return Ok(candidate);
            }
            let key = kind.key(namespace, &name);
            match ctx.store.create(&key, to_store(&candidate)).await {
                Ok(kv) => {
                    reservation.commit(&ctx.write);
                    tracing::debug!(kind = kind.kind, namespace, name = %name, "created");
                    after_create(ctx, kind, &name).await;
                    return from_kv(&kv);
                }
                Err(StoreError::AlreadyExists { .. })
                    if given.is_empty() && attempt < GENERATE_NAME_ATTEMPTS =>
                {
                    reservation.abort(&ctx.write);
                }
                Err(e) => {
                    reservation.abort(&ctx.write);
                    return Err(store_error(kind, &name, e));
                }
            }
        }
        unreachable!("the last attempt returns")
    })
}

/// Objects that come with a new one: a namespace's `default` service account (upstream's
/// service account controller makes it).
async fn after_create(ctx: &Ctx, kind: &KindInfo, name: &str) {
    if !(kind.group.is_empty() && kind.kind == "Namespace") {
        return;
    }
    if let Err(e) = ensure_default_service_account(ctx, name).await {
        tracing::warn!(namespace = name, error = %e, "default service account not created");
    }
}

/// Creates the `default` ServiceAccount of `namespace` unless it exists.
pub(super) async fn ensure_default_service_account(
    ctx: &Ctx,
    namespace: &str,
) -> Result<(), ApiError> {
    let sa = by_kind("", "ServiceAccount").expect("service accounts are served");
    let obj = json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "default", "namespace": namespace},
    });
    let opts = WriteOptions::internal("kube-controller-manager");
    let manager = Manager::Update(opts.manager.clone());
    match create_object(ctx, sa, Some(namespace), obj, &opts, &manager).await {
        Ok(_) | Err(ApiError::AlreadyExists { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}
