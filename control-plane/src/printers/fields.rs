//! Field selectors: the labels each kind accepts (upstream's field label conversion funcs),
//! their values on an object (upstream's `GetAttrs` / `ToSelectableFields`), and a parser
//! and matcher for `a=b,c!=d` selector strings (upstream's `fields.ParseSelector`).

use serde_json::Value;

use super::format::{int_of, str_of};
use super::pod::primary_ip;
use crate::api::status::ApiError;
use crate::registry::KindInfo;

/// Field labels beyond `metadata.name`/`metadata.namespace`, per kind.
fn kind_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pod" => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
        ],
        "Event" => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        "Node" => &["spec.unschedulable"],
        "Namespace" => &["status.phase"],
        "Secret" => &["type"],
        "ReplicaSet" => &["status.replicas"],
        "Service" => &["spec.clusterIP", "spec.type"],
        _ => &[],
    }
}

/// Upstream's label renames (old v1 clients send `spec.host` for pods).
fn canonical_label<'a>(kind: &str, label: &'a str) -> &'a str {
    match (kind, label) {
        ("Pod", "spec.host") => "spec.nodeName",
        _ => label,
    }
}

/// Whether `label` may be used in a field selector for this kind.
pub fn supports_field(kind: &KindInfo, label: &str) -> bool {
    let label = canonical_label(kind.kind, label);
    matches!(label, "metadata.name" | "metadata.namespace")
        || kind_fields(kind.kind).contains(&label)
}

fn bool_string(v: &Value) -> String {
    v.as_bool().unwrap_or(false).to_string()
}

/// The value of field label `label` on `obj` (`None` if the kind does not support it).
pub fn field_value(kind: &KindInfo, obj: &Value, label: &str) -> Option<String> {
    let label = canonical_label(kind.kind, label);
    let s = |v: &Value| Some(str_of(v).to_string());
    match label {
        "metadata.name" => return s(&obj["metadata"]["name"]),
        "metadata.namespace" => return s(&obj["metadata"]["namespace"]),
        _ => {}
    }
    if !kind_fields(kind.kind).contains(&label) {
        return None;
    }
    match (kind.kind, label) {
        ("Pod", "spec.hostNetwork") => Some(bool_string(&obj["spec"]["hostNetwork"])),
        ("Pod", "status.podIP") => Some(primary_ip(obj)),
        // Accepted by upstream's conversion but absent from the pod's field set: always "".
        ("Pod", "status.podIPs") => Some(String::new()),
        ("Event", "source") => {
            let component = str_of(&obj["source"]["component"]);
            if component.is_empty() {
                s(&obj["reportingComponent"])
            } else {
                Some(component.to_string())
            }
        }
        ("Event", l) if l.starts_with("involvedObject.") => {
            s(&obj["involvedObject"][&l["involvedObject.".len()..]])
        }
        ("Node", "spec.unschedulable") => Some(bool_string(&obj["spec"]["unschedulable"])),
        ("ReplicaSet", "status.replicas") => Some(int_of(&obj["status"]["replicas"]).to_string()),
        _ => {
            // Plain paths: spec.nodeName, status.phase, type, reason, ...
            let mut v = obj;
            for part in label.split('.') {
                v = &v[part];
            }
            s(v)
        }
    }
}

/// How one requirement compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldOp {
    /// `=` or `==`.
    Equals,
    /// `!=`.
    NotEquals,
}

/// One `field=value` / `field!=value` requirement (field already canonical).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    /// The field label, e.g. `spec.nodeName`.
    pub field: String,
    /// The comparison.
    pub op: FieldOp,
    /// The unescaped value.
    pub value: String,
}

/// A parsed field selector: every requirement must hold. Empty matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    /// The requirements, sorted as upstream sorts the terms.
    pub requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// Whether the selector has no requirements (matches everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether `obj` (of `kind`) satisfies every requirement.
    pub fn matches(&self, kind: &KindInfo, obj: &Value) -> bool {
        self.requirements.iter().all(|r| {
            let actual = field_value(kind, obj, &r.field).unwrap_or_default();
            (actual == r.value) == (r.op == FieldOp::Equals)
        })
    }

    /// The value `field` must equal, if the selector pins it (`metadata.name=web`).
    pub fn required_value(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.field == field && r.op == FieldOp::Equals)
            .map(|r| r.value.as_str())
    }
}

/// Splits on commas not escaped by a backslash (upstream's `splitTerms`).
fn split_terms(s: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in s.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

/// Finds the first operator (`!=`, `==`, `=`) in a term (upstream's `splitTerm`).
fn split_term(term: &str) -> Option<(&str, FieldOp, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for (op, kind) in [
            ("!=", FieldOp::NotEquals),
            ("==", FieldOp::Equals),
            ("=", FieldOp::Equals),
        ] {
            if let Some(rhs) = rest.strip_prefix(op) {
                return Some((&term[..i], kind, rhs));
            }
        }
    }
    None
}

/// Upstream's `UnescapeValue`: `\\`, `\,` and `\=` are escapes; bare `,`/`=` are errors.
fn unescape(v: &str) -> Result<String, String> {
    let mut out = String::with_capacity(v.len());
    let mut in_slash = false;
    for c in v.chars() {
        if in_slash {
            match c {
                '\\' | ',' | '=' => out.push(c),
                _ => {
                    return Err(format!(
                        "invalid field selector: invalid escape sequence: \\{c}"
                    ))
                }
            }
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            ',' | '=' => {
                return Err(format!(
                    "invalid field selector: unescaped character in value: {}",
                    c as u32
                ))
            }
            _ => out.push(c),
        }
    }
    if in_slash {
        return Err("invalid field selector: invalid escape sequence: \\".to_string());
    }
    Ok(out)
}

/// Parses a field selector string for `kind`, rejecting labels the kind does not support
/// with upstream's `field label not supported: <label>` (a 400 BadRequest).
pub fn parse_field_selector(kind: &KindInfo, s: &str) -> Result<FieldSelector, ApiError> {
    let mut terms = split_terms(s);
    terms.sort_unstable();
    // Parse every term first, then check labels, so syntax errors win as upstream's do.
    let mut parsed = Vec::new();
    for term in terms.into_iter().filter(|t| !t.is_empty()) {
        let (lhs, op, rhs) = split_term(term).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "invalid selector: '{s}'; can't understand '{term}'"
            ))
        })?;
        let value = unescape(rhs).map_err(ApiError::BadRequest)?;
        parsed.push((lhs, op, value));
    }
    let mut requirements = Vec::with_capacity(parsed.len());
    for (lhs, op, value) in parsed {
        if !supports_field(kind, lhs) {
            return Err(ApiError::BadRequest(format!(
                "field label not supported: {lhs}"
            )));
        }
        requirements.push(FieldRequirement {
            field: canonical_label(kind.kind, lhs).to_string(),
            op,
            value,
        });
    }
    Ok(FieldSelector { requirements })
}

/// All field labels `kind` supports, `metadata.*` first.
pub fn supported_fields(kind: &KindInfo) -> Vec<&'static str> {
    let mut out = vec!["metadata.name", "metadata.namespace"];
    out.extend_from_slice(kind_fields(kind.kind));
    out
}
