//! Field selectors (`metadata.name=web,spec.nodeName!=n1`) over the field labels each kind
//! supports (see [`crate::printers::supports_field`]).

use serde_json::Value;

use crate::api::ApiError;
use crate::printers;
use crate::registry::KindInfo;

/// One `label=value` or `label!=value` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldTerm {
    /// The field label (`spec.nodeName`).
    pub label: String,
    /// The value compared with.
    pub value: String,
    /// `!=` rather than `=`/`==`.
    pub negated: bool,
}

/// A parsed field selector; empty selects everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    /// All terms (conjunction).
    pub terms: Vec<FieldTerm>,
}

impl FieldSelector {
    /// Parses `input` for `kind`; a label the kind does not support is a 400.
    pub fn parse(kind: &KindInfo, input: &str) -> Result<Self, ApiError> {
        let mut terms = Vec::new();
        for part in split_unescaped(input, ',') {
            if part.trim().is_empty() {
                continue;
            }
            let (label, value, negated) = if let Some(i) = find_unescaped(&part, "!=") {
                (&part[..i], &part[i + 2..], true)
            } else if let Some(i) = find_unescaped(&part, "==") {
                (&part[..i], &part[i + 2..], false)
            } else if let Some(i) = find_unescaped(&part, "=") {
                (&part[..i], &part[i + 1..], false)
            } else {
                return Err(ApiError::BadRequest(format!(
                    "invalid field selector: invalid selector: '{input}'; can't understand '{part}'"
                )));
            };
            let label = label.trim();
            if !printers::supports_field(kind, label) {
                return Err(ApiError::BadRequest(format!(
                    "field label not supported: {label}"
                )));
            }
            terms.push(FieldTerm {
                label: label.to_string(),
                value: unescape(value),
                negated,
            });
        }
        Ok(Self { terms })
    }

    /// Whether the selector selects everything.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The name an exact `metadata.name=` term pins the selection to, if any.
    pub fn exact_name(&self) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.label == "metadata.name" && !t.negated)
            .map(|t| t.value.as_str())
    }

    /// Whether `obj` satisfies every term.
    pub fn matches(&self, kind: &KindInfo, obj: &Value) -> bool {
        self.terms.iter().all(|t| {
            let v = printers::field_value(kind, obj, &t.label).unwrap_or_default();
            (v == t.value) != t.negated
        })
    }
}

fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            out.last_mut().expect("never empty").push('\\');
            out.last_mut().expect("never empty").push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            out.push(String::new());
        } else {
            out.last_mut().expect("never empty").push(c);
        }
    }
    out
}

fn find_unescaped(s: &str, pat: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if s[i..].starts_with(pat) {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut escaped = false;
    for c in s.chars() {
        if escaped || c != '\\' {
            out.push(c);
            escaped = false;
        } else {
            escaped = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::by_resource;
    use serde_json::json;

    #[test]
    fn name_and_namespace_terms_select_objects() {
        let pods = by_resource("", "v1", "pods").unwrap();
        let o = json!({"metadata": {"name": "web", "namespace": "default"}});
        let sel = |s| FieldSelector::parse(pods, s).unwrap();
        assert!(sel("").matches(pods, &o));
        assert!(sel("metadata.name=web").matches(pods, &o));
        assert!(sel("metadata.name==web,metadata.namespace=default").matches(pods, &o));
        assert!(sel("metadata.name!=db").matches(pods, &o));
        assert!(!sel("metadata.name=db").matches(pods, &o));
        assert!(!sel("metadata.namespace!=default").matches(pods, &o));
        assert_eq!(sel("metadata.name=web").exact_name(), Some("web"));
        assert_eq!(sel("metadata.name!=web").exact_name(), None);
    }

    #[test]
    fn unsupported_labels_and_garbage_are_bad_requests() {
        let cms = by_resource("", "v1", "configmaps").unwrap();
        let e = FieldSelector::parse(cms, "spec.foo=bar").unwrap_err();
        assert_eq!(e.code(), 400);
        assert_eq!(e.to_string(), "field label not supported: spec.foo");
        assert_eq!(
            FieldSelector::parse(cms, "nonsense").unwrap_err().code(),
            400
        );
    }

    #[test]
    fn escaped_separators_stay_in_values() {
        let cms = by_resource("", "v1", "configmaps").unwrap();
        let s = FieldSelector::parse(cms, r"metadata.name=a\,b").unwrap();
        assert_eq!(s.terms[0].value, "a,b");
    }
}
