//! PATCH: JSON patch, JSON merge patch, strategic merge patch and server-side apply, each
//! applied to the stored object inside [`guaranteed_update`] (so a concurrent write makes it
//! re-apply to the newer object), then the update rules. Apply creates a missing object.

use serde_json::Value;

use crate::api::{ApiError, FieldError};
use crate::registry::KindInfo;

use super::body::{self, Expected, PatchType};
use super::options::{options_result, Manager, WriteOptions};
use super::prepare::Target;
use super::update::{guaranteed_update, UpdateCall};
use super::{meta, Ctx, Reply, ResourceRequest};

/// PATCH on an object (main endpoint).
pub(super) async fn handle(ctx: &Ctx, req: &ResourceRequest) -> Result<Reply, ApiError> {
    patch(ctx, req, Target::Main).await
}

/// A parsed patch body.
pub(super) struct PatchBody {
    /// The patch type.
    pub kind: PatchType,
    /// The document (array for JSON patch, object otherwise).
    pub doc: Value,
    /// Duplicate keys in the document.
    pub duplicates: Vec<String>,
    /// Whether the patch sets `metadata.resourceVersion` (a precondition).
    pub sets_resource_version: bool,
}

/// Parses the body of a PATCH by its Content-Type.
pub(super) fn parse_patch(req: &ResourceRequest) -> Result<PatchBody, ApiError> {
    let kind = body::patch_type(req.content_type.as_deref())?;
    let bad = |e: String| ApiError::BadRequest(format!("error decoding patch: {e}"));
    let (doc, duplicates) = match kind {
        PatchType::Apply => (body::parse_yaml(&req.body).map_err(bad)?, Vec::new()),
        _ => {
            let p = body::parse_json(&req.body).map_err(|e| bad(e.to_string()))?;
            (p.value, p.duplicates)
        }
    };
    let sets_resource_version = match kind {
        PatchType::Json => {
            let ops = doc.as_array().ok_or_else(|| {
                ApiError::BadRequest(
                    "json: cannot unmarshal object into Go value of type jsonpatch.Patch".into(),
                )
            })?;
            ops.iter()
                .any(|op| op["path"].as_str() == Some("/metadata/resourceVersion"))
        }
        _ => {
            if !doc.is_object() {
                return Err(bad("the patch is not a JSON object".into()));
            }
            doc.pointer("/metadata/resourceVersion").is_some()
        }
    };
    Ok(PatchBody {
        kind,
        doc,
        duplicates,
        sets_resource_version,
    })
}

/// Upstream's `ValidatePatchOptions`.
fn check_options(patch: PatchType, opts: &WriteOptions) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if patch == PatchType::Apply {
        if !opts.manager_given {
            errors.push(FieldError::required(
                "fieldManager",
                "is required for apply patch",
            ));
        }
    } else if opts.force.is_some() {
        errors.push(FieldError::forbidden(
            "force",
            "may not be specified for non-apply patch",
        ));
    }
    options_result("PatchOptions", errors)
}

/// Applies a patch of any type to `current` (`None`: apply creating the object).
pub(super) fn apply_patch(
    kind: &KindInfo,
    patch: &PatchBody,
    current: Option<&Value>,
    opts: &WriteOptions,
    now: &str,
) -> Result<Value, ApiError> {
    let Some(cur) = current else {
        return crate::apply::apply(
            kind,
            None,
            &patch.doc,
            &opts.manager,
            opts.force == Some(true),
            now,
        );
    };
    let mut out = match patch.kind {
        PatchType::Json => crate::patch::json_patch(cur, &patch.doc)?,
        PatchType::Merge => crate::patch::merge_patch(cur, &patch.doc)?,
        PatchType::Strategic => crate::patch::strategic_merge_patch(kind, cur, &patch.doc)?,
        PatchType::Apply => crate::apply::apply(
            kind,
            Some(cur),
            &patch.doc,
            &opts.manager,
            opts.force == Some(true),
            now,
        )?,
    };
    if !out.is_object() {
        return Err(ApiError::BadRequest(
            "the patch result is not an object".into(),
        ));
    }
    if !patch.sets_resource_version {
        // Without an explicit precondition a patch applies to whatever is stored.
        match meta::meta_str(cur, "resourceVersion") {
            Some(rv) => meta::meta_mut(&mut out).insert("resourceVersion".into(), rv.into()),
            None => meta::meta_mut(&mut out).remove("resourceVersion"),
        };
    }
    Ok(out)
}

/// PATCH on an object or its `status` subresource.
pub(super) async fn patch(
    ctx: &Ctx,
    req: &ResourceRequest,
    target: Target,
) -> Result<Reply, ApiError> {
    let kind = req.kind;
    let name = super::path_name(req)?;
    let patch = parse_patch(req)?;
    let opts = WriteOptions::from_request(req, "PatchOptions")?;
    check_options(patch.kind, &opts)?;
    let api_version = kind.api_version();
    if patch.kind == PatchType::Apply {
        // An applied configuration names its type; it is checked like a body.
        let mut doc = patch.doc.clone();
        body::check_type(
            &mut doc,
            Expected {
                api_versions: &[api_version.as_str()],
                kind: kind.kind,
            },
        )?;
    }
    let manager = if patch.kind == PatchType::Apply {
        Manager::Applied
    } else {
        Manager::Update(opts.manager.clone())
    };
    let call = UpdateCall {
        kind,
        namespace: req.namespace.as_deref(),
        name,
        target,
        opts: &opts,
        manager: &manager,
        create_on_missing: patch.kind == PatchType::Apply && target == Target::Main,
    };
    let mut warnings = Vec::new();
    let now = meta::now();
    let namespace = req.namespace.as_deref();
    let outcome = guaranteed_update(ctx, &call, |current| {
        let mut out = apply_patch(kind, &patch, current, &opts, &now)?;
        if current.is_none() {
            // Apply creating: the object is named by the path.
            let m = meta::meta_mut(&mut out);
            m.entry("name").or_insert_with(|| name.into());
        }
        super::prepare::check_identity(kind, namespace, name, &mut out)?;
        warnings =
            body::field_validation(kind, &mut out, patch.duplicates.clone(), opts.validation)?;
        Ok(out)
    })
    .await?;
    Ok(outcome.into_reply(warnings))
}
