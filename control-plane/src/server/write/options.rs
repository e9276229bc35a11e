//! Query options of writes: `dryRun`, `fieldValidation`, `fieldManager`, `force`, validated as
//! upstream's `ValidateCreateOptions`/`ValidatePatchOptions` do (422 on the options kind).

use crate::api::{ApiError, FieldError};

use super::ResourceRequest;

/// How unknown and duplicate fields in a body are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FieldValidation {
    /// Rejected with 400.
    Strict,
    /// Dropped with a `Warning` header (the server default).
    Warn,
    /// Dropped silently.
    Ignore,
}

/// Who a write is recorded for in managedFields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Manager {
    /// A non-apply write by this manager (`record_update`).
    Update(String),
    /// managedFields were already computed (server-side apply).
    Applied,
    /// Server-internal bookkeeping that upstream does not record (bindings, deletion marks).
    Untracked,
}

/// Options shared by create, update and patch.
#[derive(Debug, Clone)]
pub(super) struct WriteOptions {
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `fieldValidation`.
    pub validation: FieldValidation,
    /// The field manager (parameter, else derived from the User-Agent).
    pub manager: String,
    /// Whether `fieldManager` was given explicitly.
    pub manager_given: bool,
    /// `force` (apply only).
    pub force: Option<bool>,
    /// Server-written objects that upstream's validation would refuse (endpoints of the
    /// `kubernetes` service on a loopback address).
    pub skip_validation: bool,
}

impl WriteOptions {
    /// Options of a server-internal write.
    pub fn internal(manager: &str) -> Self {
        Self {
            dry_run: false,
            validation: FieldValidation::Ignore,
            manager: manager.into(),
            manager_given: true,
            force: None,
            skip_validation: false,
        }
    }

    /// Parses the options of `req`; `options_kind` names the kind in errors (`CreateOptions`).
    pub fn from_request(req: &ResourceRequest, options_kind: &str) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let dry_run = dry_run(req, &mut errors);
        let validation = match req.param("fieldValidation") {
            None | Some("") | Some("Warn") => FieldValidation::Warn,
            Some("Strict") => FieldValidation::Strict,
            Some("Ignore") => FieldValidation::Ignore,
            Some(other) => {
                errors.push(FieldError::not_supported(
                    "fieldValidation",
                    other.into(),
                    &["Ignore", "Strict", "Warn"],
                ));
                FieldValidation::Warn
            }
        };
        let given = req.param("fieldManager").filter(|m| !m.is_empty());
        let manager = match given {
            Some(m) => m.to_string(),
            None => manager_from_user_agent(req.user_agent.as_deref()),
        };
        if given.is_some() {
            if manager.len() > 128 {
                errors.push(FieldError {
                    kind: crate::api::CauseKind::TooLong,
                    field: "fieldManager".into(),
                    value: None,
                    detail: "may not be more than 128 bytes".into(),
                });
            } else if manager.chars().any(|c| c.is_control()) {
                errors.push(FieldError::invalid(
                    "fieldManager",
                    manager.clone().into(),
                    "must be made of printable characters",
                ));
            }
        }
        let force = match req.param("force") {
            None => None,
            Some("true") | Some("1") => Some(true),
            Some("false") | Some("0") | Some("") => Some(false),
            Some(other) => {
                return Err(ApiError::BadRequest(format!(
                    "invalid value for force: {other:?}"
                )))
            }
        };
        options_result(options_kind, errors)?;
        Ok(Self {
            dry_run,
            validation,
            manager,
            manager_given: given.is_some(),
            force,
            skip_validation: false,
        })
    }
}

/// `dryRun` values: only `All` is supported (may be repeated).
pub(super) fn dry_run(req: &ResourceRequest, errors: &mut Vec<FieldError>) -> bool {
    let values: Vec<&str> = req
        .query
        .iter()
        .filter(|(k, _)| k == "dryRun")
        .map(|(_, v)| v.as_str())
        .collect();
    for v in &values {
        if *v != "All" {
            errors.push(FieldError::not_supported("dryRun", (*v).into(), &["All"]));
        }
    }
    !values.is_empty()
}

/// A 422 on the options kind when there are errors.
pub(super) fn options_result(options_kind: &str, errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() {
        return Ok(());
    }
    Err(ApiError::Invalid {
        group: "meta.k8s.io".into(),
        kind: options_kind.into(),
        name: String::new(),
        causes: errors,
    })
}

/// Upstream's default manager: the User-Agent up to the first `/`, at most 128 bytes.
pub(super) fn manager_from_user_agent(user_agent: Option<&str>) -> String {
    let ua = user_agent.unwrap_or_default();
    let prefix = ua.split('/').next().unwrap_or_default();
    prefix.chars().take(128).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manager_defaults_to_the_user_agent_product() {
        assert_eq!(
            manager_from_user_agent(Some("kubectl/v1.33.0 (linux/amd64) kubernetes/abc")),
            "kubectl"
        );
        assert_eq!(manager_from_user_agent(None), "");
    }
}
