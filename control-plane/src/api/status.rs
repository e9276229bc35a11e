//! Errors as they cross the wire: every failure becomes a `meta.k8s.io/v1` `Status` with the
//! reason and code upstream uses.

use serde_json::{json, Value};

/// What is wrong with one field, as in upstream's `field.ErrorType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CauseKind {
    /// `FieldManagerConflict` (server-side apply: another manager owns the field).
    FieldManagerConflict,
    /// `FieldValueRequired`.
    Required,
    /// `FieldValueInvalid`.
    Invalid,
    /// `FieldValueNotSupported`.
    NotSupported,
    /// `FieldValueDuplicate`.
    Duplicate,
    /// `FieldValueForbidden`.
    Forbidden,
    /// `FieldValueTooLong`.
    TooLong,
    /// `FieldValueTypeInvalid`.
    TypeInvalid,
    /// `FieldValueUnknown` (strict field validation: a field the schema does not have).
    Unknown,
    /// `FieldValueNotFound` (a reference to something that does not exist, e.g. a volume mount's volume).
    NotFound,
    /// `FieldValueTooMany` (a list longer than allowed).
    TooMany,
}

impl CauseKind {
    /// The `reason` string of a status cause.
    pub fn reason(self) -> &'static str {
        match self {
            CauseKind::FieldManagerConflict => "FieldManagerConflict",
            CauseKind::Required => "FieldValueRequired",
            CauseKind::Invalid => "FieldValueInvalid",
            CauseKind::NotSupported => "FieldValueNotSupported",
            CauseKind::Duplicate => "FieldValueDuplicate",
            CauseKind::Forbidden => "FieldValueForbidden",
            CauseKind::TooLong => "FieldValueTooLong",
            CauseKind::TypeInvalid => "FieldValueTypeInvalid",
            CauseKind::Unknown => "FieldValueUnknown",
            CauseKind::NotFound => "FieldValueNotFound",
            CauseKind::TooMany => "FieldValueTooMany",
        }
    }
}

/// One validation failure with its field path (`spec.containers[0].image`).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// What kind of failure.
    pub kind: CauseKind,
    /// Field path in upstream's notation: `spec.template.spec.containers[0].name`.
    pub field: String,
    /// The offending value, if any (printed in the message).
    pub value: Option<Value>,
    /// Human-readable detail.
    pub detail: String,
}

impl FieldError {
    /// A `Required` error.
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            kind: CauseKind::Required,
            field: field.into(),
            value: None,
            detail: detail.into(),
        }
    }

    /// An `Invalid` error with the offending value.
    pub fn invalid(field: impl Into<String>, value: Value, detail: impl Into<String>) -> Self {
        Self {
            kind: CauseKind::Invalid,
            field: field.into(),
            value: Some(value),
            detail: detail.into(),
        }
    }

    /// A `NotSupported` error listing the supported values.
    pub fn not_supported(field: impl Into<String>, value: Value, supported: &[&str]) -> Self {
        let list = supported
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", ");
        Self {
            kind: CauseKind::NotSupported,
            field: field.into(),
            value: Some(value),
            detail: format!("supported values: {list}"),
        }
    }

    /// A `Forbidden` error.
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            kind: CauseKind::Forbidden,
            field: field.into(),
            value: None,
            detail: detail.into(),
        }
    }

    /// A `Duplicate` error.
    pub fn duplicate(field: impl Into<String>, value: Value) -> Self {
        Self {
            kind: CauseKind::Duplicate,
            field: field.into(),
            value: Some(value),
            detail: String::new(),
        }
    }

    /// A `NotFound` error: the value refers to something that does not exist.
    pub fn not_found(field: impl Into<String>, value: Value) -> Self {
        Self {
            kind: CauseKind::NotFound,
            field: field.into(),
            value: Some(value),
            detail: String::new(),
        }
    }

    /// A `TooLong` error: `may not be more than N bytes`.
    pub fn too_long(field: impl Into<String>, max_bytes: usize) -> Self {
        let unit = if max_bytes == 1 { "byte" } else { "bytes" };
        Self {
            kind: CauseKind::TooLong,
            field: field.into(),
            value: None,
            detail: format!("may not be more than {max_bytes} {unit}"),
        }
    }

    /// A `TooMany` error: `has N: must have at most M items`.
    pub fn too_many(field: impl Into<String>, actual: usize, max_items: usize) -> Self {
        Self {
            kind: CauseKind::TooMany,
            field: field.into(),
            value: None,
            detail: format!("{actual}: must have at most {max_items} items"),
        }
    }

    /// The message without the field, as upstream puts in a status cause (`ErrorBody`):
    /// `Invalid value: "y": detail`.
    pub fn body(&self) -> String {
        let full = self.message();
        if self.kind == CauseKind::FieldManagerConflict {
            return full;
        }
        let prefix = format!("{}: ", self.field);
        full.strip_prefix(&prefix)
            .map(str::to_string)
            .unwrap_or(full)
    }

    /// The message upstream prints: `spec.x: Invalid value: "y": detail`.
    pub fn message(&self) -> String {
        if self.kind == CauseKind::FieldManagerConflict {
            return self.detail.clone();
        }
        let what = match self.kind {
            CauseKind::FieldManagerConflict => String::new(),
            CauseKind::Required => "Required value".to_string(),
            CauseKind::Invalid => "Invalid value".to_string(),
            CauseKind::NotSupported => "Unsupported value".to_string(),
            CauseKind::Duplicate => "Duplicate value".to_string(),
            CauseKind::Forbidden => "Forbidden".to_string(),
            CauseKind::TooLong => "Too long".to_string(),
            CauseKind::TypeInvalid => "Invalid value".to_string(),
            CauseKind::Unknown => "field not declared in schema".to_string(),
            CauseKind::NotFound => "Not found".to_string(),
            CauseKind::TooMany => "Too many".to_string(),
        };
        let mut out = format!("{}: {what}", self.field);
        if let Some(v) = &self.value {
            out.push_str(&format!(": {v}"));
        }
        if !self.detail.is_empty() {
            out.push_str(&format!(": {}", self.detail));
        }
        out
    }
}

/// An error answered to a client. `to_status()` gives the `Status` body, `code()` the HTTP code.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// 404 `NotFound`: `pods "web" not found`.
    #[error("{resource} \"{name}\" not found")]
    NotFound {
        /// API group ("" for core).
        group: String,
        /// Plural resource name.
        resource: String,
        /// Object name.
        name: String,
    },
    /// 409 `AlreadyExists`.
    #[error("{resource} \"{name}\" already exists")]
    AlreadyExists {
        /// API group.
        group: String,
        /// Plural resource name.
        resource: String,
        /// Object name.
        name: String,
    },
    /// 409 `Conflict`: stale resourceVersion, apply conflicts, etc.
    #[error("{}", conflict_message(.resource, .name, .message))]
    Conflict {
        /// API group.
        group: String,
        /// Plural resource name.
        resource: String,
        /// Object name.
        name: String,
        /// Why (e.g. "the object has been modified; please apply your changes to the latest version and try again").
        message: String,
        /// Causes (server-side apply conflicts list each field).
        causes: Vec<FieldError>,
    },
    /// 422 `Invalid` with one cause per field error.
    #[error("{kind} \"{name}\" is invalid: {}", .causes.iter().map(|c| c.message()).collect::<Vec<_>>().join(", "))]
    Invalid {
        /// API group.
        group: String,
        /// Kind (`Pod`).
        kind: String,
        /// Object name.
        name: String,
        /// The field errors.
        causes: Vec<FieldError>,
    },
    /// 422 `Invalid` about no particular object: a patch that parses but cannot be applied
    /// (upstream's generic message, the detail as an `UnexpectedServerResponse` cause).
    #[error("the server rejected our request due to an error in our request")]
    PatchNotApplicable(String),
    /// 400 `BadRequest`: malformed body, bad query parameter, bad patch.
    #[error("{0}")]
    BadRequest(String),
    /// 401 `Unauthorized`.
    #[error("Unauthorized")]
    Unauthorized,
    /// 403 `Forbidden`.
    #[error("{0}")]
    Forbidden(String),
    /// 405 `MethodNotAllowed`.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 406 `NotAcceptable`.
    #[error("{0}")]
    NotAcceptable(String),
    /// 415 `UnsupportedMediaType`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 410 `Expired`: a resourceVersion or continue token older than the history.
    #[error("{0}")]
    Expired(String),
    /// 410 `Gone`.
    #[error("{0}")]
    Gone(String),
    /// 504 `Timeout` / 429 and other server-side trouble: 500 `InternalError`.
    #[error("Internal error occurred: {0}")]
    Internal(String),
    /// 503 `ServiceUnavailable`.
    #[error("{0}")]
    ServiceUnavailable(String),
}

impl ApiError {
    /// The HTTP status code.
    pub fn code(&self) -> u16 {
        match self {
            ApiError::NotFound { .. } => 404,
            ApiError::AlreadyExists { .. } | ApiError::Conflict { .. } => 409,
            ApiError::Invalid { .. } | ApiError::PatchNotApplicable(_) => 422,
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::NotAcceptable(_) => 406,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::Expired(_) | ApiError::Gone(_) => 410,
            ApiError::Internal(_) => 500,
            ApiError::ServiceUnavailable(_) => 503,
        }
    }

    /// The `reason` field.
    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::NotFound { .. } => "NotFound",
            ApiError::AlreadyExists { .. } => "AlreadyExists",
            ApiError::Conflict { .. } => "Conflict",
            ApiError::Invalid { .. } | ApiError::PatchNotApplicable(_) => "Invalid",
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::Unauthorized => "Unauthorized",
            ApiError::Forbidden(_) => "Forbidden",
            ApiError::MethodNotAllowed(_) => "MethodNotAllowed",
            ApiError::NotAcceptable(_) => "NotAcceptable",
            ApiError::UnsupportedMediaType(_) => "UnsupportedMediaType",
            ApiError::Expired(_) => "Expired",
            ApiError::Gone(_) => "Gone",
            ApiError::Internal(_) => "InternalError",
            ApiError::ServiceUnavailable(_) => "ServiceUnavailable",
        }
    }

    /// The `Status` object for this error.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "code": self.code(),
        });
        let details = match self {
            ApiError::NotFound {
                group,
                resource,
                name,
            }
            | ApiError::AlreadyExists {
                group,
                resource,
                name,
            } => Some(json!({"name": name, "group": group, "kind": resource})),
            ApiError::Conflict {
                group,
                resource,
                name,
                causes,
                ..
            } => {
                let mut d = if resource.is_empty() {
                    json!({})
                } else {
                    json!({"name": name, "group": group, "kind": resource})
                };
                if !causes.is_empty() {
                    d["causes"] = causes_json(causes);
                }
                Some(d)
            }
            ApiError::Invalid {
                group,
                kind,
                name,
                causes,
            } => Some(
                json!({"name": name, "group": group, "kind": kind, "causes": causes_json(causes)}),
            ),
            ApiError::PatchNotApplicable(detail) => {
                Some(json!({"causes": [{"reason": "UnexpectedServerResponse", "message": detail}]}))
            }
            _ => None,
        };
        if let Some(d) = details {
            status["details"] = strip_empty_group(d);
        }
        status
    }
}

/// Apply conflicts (no resource) carry upstream's message as is.
fn conflict_message(resource: &str, name: &str, message: &str) -> String {
    if resource.is_empty() {
        message.to_string()
    } else {
        format!("Operation cannot be fulfilled on {resource} \"{name}\": {message}")
    }
}

fn causes_json(causes: &[FieldError]) -> Value {
    Value::Array(
        causes
            .iter()
            .map(|c| json!({"reason": c.kind.reason(), "message": c.body(), "field": c.field}))
            .collect(),
    )
}

fn strip_empty_group(mut d: Value) -> Value {
    if d.get("group").and_then(Value::as_str) == Some("") {
        d.as_object_mut().map(|m| m.remove("group"));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_status_matches_upstream_shape() {
        let e = ApiError::NotFound {
            group: String::new(),
            resource: "pods".into(),
            name: "web".into(),
        };
        let s = e.to_status();
        assert_eq!(s["code"], 404);
        assert_eq!(s["reason"], "NotFound");
        assert_eq!(s["message"], "pods \"web\" not found");
        assert_eq!(s["details"], json!({"name": "web", "kind": "pods"}));
    }

    #[test]
    fn invalid_status_lists_each_field_cause() {
        let e = ApiError::Invalid {
            group: "apps".into(),
            kind: "Deployment".into(),
            name: "web".into(),
            causes: vec![FieldError::required("spec.selector", "")],
        };
        let s = e.to_status();
        assert_eq!(s["code"], 422);
        assert_eq!(s["details"]["causes"][0]["reason"], "FieldValueRequired");
        assert_eq!(s["details"]["causes"][0]["field"], "spec.selector");
        assert_eq!(s["details"]["causes"][0]["message"], "Required value");
        assert_eq!(
            s["message"],
            "Deployment \"web\" is invalid: spec.selector: Required value"
        );
    }
}
