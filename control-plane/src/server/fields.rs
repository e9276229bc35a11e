//! Field selectors (`metadata.name=web,spec.nodeName!=n1`) as the API server applies them,
//! parsed by [`crate::printers::parse_field_selector`] over the labels each kind supports.

use serde_json::Value;

use crate::api::ApiError;
use crate::printers::{self, FieldOp, FieldRequirement};
use crate::registry::KindInfo;

/// A parsed field selector; empty selects everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector(pub printers::FieldSelector);

impl FieldSelector {
    /// Parses `input` for `kind`; a malformed selector or a label the kind does not support is
    /// a 400.
    pub fn parse(kind: &KindInfo, input: &str) -> Result<Self, ApiError> {
        printers::parse_field_selector(kind, input).map(Self)
    }

    /// Whether the selector selects everything.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The name an exact `metadata.name=` term pins the selection to, if any.
    pub fn exact_name(&self) -> Option<&str> {
        self.0.required_value("metadata.name")
    }

    /// Adds a `metadata.name=<name>` term (watches of one object).
    pub fn require_name(&mut self, name: &str) {
        self.0.requirements.push(FieldRequirement {
            field: "metadata.name".into(),
            op: FieldOp::Equals,
            value: name.into(),
        });
    }

    /// Whether `obj` satisfies every term.
    pub fn matches(&self, kind: &KindInfo, obj: &Value) -> bool {
        self.0.matches(kind, obj)
    }
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
        assert_eq!(sel("metadata.name=web").exact_name(), Some("web"));
        assert_eq!(sel("metadata.name!=web").exact_name(), None);
        let mut s = sel("");
        s.require_name("db");
        assert!(!s.matches(pods, &o));
        assert_eq!(s.exact_name(), Some("db"));
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
}
