//! `DeleteOptions` of delete, deletecollection and eviction requests: from the body or the
//! query, validated as upstream's `ValidateDeleteOptions` (422 on `DeleteOptions`).

use serde_json::Value;

use crate::api::{ApiError, FieldError};

use super::body::{self, Expected};
use super::options::{dry_run, options_result};
use super::ResourceRequest;

/// `DeleteOptions` from the body or the query.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct DeleteOptions {
    /// `gracePeriodSeconds`.
    pub grace: Option<i64>,
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
    /// `orphanDependents` (deprecated form of the policy).
    pub orphan_dependents: Option<bool>,
    /// `propagationPolicy`: Orphan, Background or Foreground.
    pub policy: Option<String>,
    /// `dryRun=All`.
    pub dry_run: bool,
}

impl DeleteOptions {
    /// Reads a `DeleteOptions` object (body or the `deleteOptions` of an Eviction).
    pub fn from_value(v: &Value) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let dry = match v.get("dryRun") {
            None | Some(Value::Null) => false,
            Some(Value::Array(a)) => {
                for x in a {
                    if x.as_str() != Some("All") {
                        errors.push(FieldError::not_supported("dryRun", x.clone(), &["All"]));
                    }
                }
                !a.is_empty()
            }
            Some(other) => {
                return Err(ApiError::BadRequest(format!(
                    "dryRun must be a list, got {other}"
                )))
            }
        };
        let opts = Self {
            grace: v.get("gracePeriodSeconds").and_then(Value::as_i64),
            uid: v
                .pointer("/preconditions/uid")
                .and_then(Value::as_str)
                .map(String::from),
            resource_version: v
                .pointer("/preconditions/resourceVersion")
                .and_then(Value::as_str)
                .map(String::from),
            orphan_dependents: v.get("orphanDependents").and_then(Value::as_bool),
            policy: v
                .get("propagationPolicy")
                .and_then(Value::as_str)
                .map(String::from),
            dry_run: dry,
        };
        opts.validate(errors)
    }

    /// Reads the options of a DELETE request: the body if there is one, else the query.
    pub fn from_request(req: &ResourceRequest) -> Result<Self, ApiError> {
        if !req.body.iter().all(u8::is_ascii_whitespace) {
            let expected = Expected {
                api_versions: &["v1", "meta.k8s.io/v1"],
                kind: "DeleteOptions",
            };
            let decoded =
                body::decode_object(req, expected, None, super::options::FieldValidation::Ignore)?;
            let mut opts = Self::from_value(&decoded.obj)?;
            opts.dry_run |= dry_run(req, &mut Vec::new());
            return Ok(opts);
        }
        let mut errors = Vec::new();
        let dry = dry_run(req, &mut errors);
        let grace = match req.param("gracePeriodSeconds") {
            None => None,
            Some(s) => Some(s.parse::<i64>().map_err(|_| {
                ApiError::BadRequest(format!("invalid value for gracePeriodSeconds: {s:?}"))
            })?),
        };
        let orphan_dependents = match req.param("orphanDependents") {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(s) => {
                return Err(ApiError::BadRequest(format!(
                    "invalid value for orphanDependents: {s:?}"
                )))
            }
        };
        Self {
            grace,
            uid: None,
            resource_version: None,
            orphan_dependents,
            policy: req.param("propagationPolicy").map(String::from),
            dry_run: dry,
        }
        .validate(errors)
    }

    fn validate(self, mut errors: Vec<FieldError>) -> Result<Self, ApiError> {
        if let Some(p) = &self.policy {
            if !["Orphan", "Background", "Foreground"].contains(&p.as_str()) {
                errors.push(FieldError::not_supported(
                    "propagationPolicy",
                    p.as_str().into(),
                    &["Foreground", "Background", "Orphan"],
                ));
            } else if self.orphan_dependents.is_some() {
                errors.push(FieldError::invalid(
                    "propagationPolicy",
                    p.as_str().into(),
                    "orphanDependents and deletionPropagation cannot be both set",
                ));
            }
        }
        options_result("DeleteOptions", errors)?;
        Ok(self)
    }
}
