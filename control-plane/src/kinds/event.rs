//! core/v1 Events: upstream's legacy event rules (involved object namespace, and for events
//! with `eventTime` the reporting fields and length limits).

use serde_json::{json, Value};

use super::field::{has, str_or_empty};
use super::names;
use crate::api::FieldError;

const REPORTING_INSTANCE_MAX: usize = 128;
const ACTION_MAX: usize = 128;
const REASON_MAX: usize = 128;
const NOTE_MAX: usize = 1024;

/// `ValidateEventCreate` / `ValidateEventUpdate` for core/v1 (legacy validation only, as
/// upstream does for that version).
pub fn validate(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let _ = old;
    let mut errs = Vec::new();
    let empty = json!({});
    let namespace = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let involved = obj.get("involvedObject").unwrap_or(&empty);
    let involved_ns = str_or_empty(involved, "namespace");
    let mismatch = || {
        FieldError::invalid(
            "involvedObject.namespace",
            json!(involved_ns),
            "does not match event.namespace",
        )
    };
    if !has(obj, "eventTime") {
        if involved_ns.is_empty() {
            if !namespace.is_empty() && namespace != "default" {
                errs.push(mismatch());
            }
        } else if namespace != involved_ns {
            errs.push(mismatch());
        }
    } else {
        if involved_ns.is_empty() && namespace != "default" && namespace != "kube-system" {
            errs.push(mismatch());
        }
        let controller = str_or_empty(obj, "reportingComponent");
        if controller.is_empty() {
            errs.push(FieldError::required("reportingComponent", ""));
        }
        for m in names::qualified_name(controller) {
            errs.push(FieldError::invalid(
                "reportingComponent",
                json!(controller),
                m,
            ));
        }
        for (f, max, required) in [
            ("reportingInstance", REPORTING_INSTANCE_MAX, true),
            ("action", ACTION_MAX, true),
            ("reason", REASON_MAX, true),
            ("message", NOTE_MAX, false),
        ] {
            let v = str_or_empty(obj, f);
            if required && v.is_empty() {
                errs.push(FieldError::required(f, ""));
            }
            if v.len() > max {
                errs.push(FieldError::invalid(
                    f,
                    json!(""),
                    format!("can have at most {max} characters"),
                ));
            }
        }
    }
    for m in names::dns1123_subdomain(namespace) {
        errs.push(FieldError::invalid("namespace", json!(namespace), m));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn involved_object_namespace_must_match_the_event() {
        let ok = json!({"metadata": {"name": "e", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"}});
        assert!(validate(&ok, None).is_empty());
        let bad = json!({"metadata": {"name": "e", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "other"}});
        let errs = validate(&bad, None);
        assert_eq!(
            errs[0].message(),
            "involvedObject.namespace: Invalid value: \"other\": does not match event.namespace"
        );
    }

    #[test]
    fn new_style_events_need_reporting_fields() {
        let e = json!({"metadata": {"name": "e", "namespace": "default"}, "eventTime": "2026-01-01T00:00:00.000000Z",
            "involvedObject": {"kind": "Node", "name": "n"}});
        let fields: Vec<_> = validate(&e, None).into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "reportingComponent",
                "reportingComponent",
                "reportingComponent",
                "reportingInstance",
                "action",
                "reason"
            ]
        );
    }
}
