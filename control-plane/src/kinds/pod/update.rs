//! `ValidatePodUpdate`'s spec rules: only images, `activeDeadlineSeconds` (shortened),
//! additions to tolerations, removal of scheduling gates and a negative grace period set to 1
//! may change.

use serde_json::{json, Value};

use crate::api::FieldError;
use crate::kinds::field::{int_of, list_of};

/// Upstream's message for any other change to a pod spec.
pub const POD_UPDATE_FORBIDDEN: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// Checks a pod spec update (`new` and `old` are the `spec` objects).
pub fn validate(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let null = Value::Null;
    match (
        int_of(new, "activeDeadlineSeconds"),
        int_of(old, "activeDeadlineSeconds"),
    ) {
        (Some(n), _) if !(0..=i64::from(i32::MAX)).contains(&n) => {
            errs.push(FieldError::invalid(
                "spec.activeDeadlineSeconds",
                json!(n),
                format!("must be between 0 and {}, inclusive", i32::MAX),
            ));
            return errs;
        }
        (Some(n), Some(o)) if o < n => {
            errs.push(FieldError::invalid(
                "spec.activeDeadlineSeconds",
                json!(n),
                "must be less than or equal to previous value",
            ));
            return errs;
        }
        (None, Some(_)) => errs.push(FieldError::invalid(
            "spec.activeDeadlineSeconds",
            null.clone(),
            "must not update from a positive integer to nil value",
        )),
        _ => {}
    }
    errs.extend(only_added_tolerations(new, old));
    let old_gates = list_of(old, "schedulingGates");
    for g in list_of(new, "schedulingGates") {
        if !old_gates.contains(g) {
            let name = g.get("name").and_then(Value::as_str).unwrap_or("");
            errs.push(FieldError::forbidden(
                "spec.schedulingGates",
                format!("only deletion is allowed, but found new scheduling gate '{name}'"),
            ));
        }
    }
    if new == old {
        return errs;
    }
    let munged = munge(new, old);
    if &munged != old {
        errs.push(FieldError::forbidden(
            "spec",
            format!("{POD_UPDATE_FORBIDDEN}\n{}", diff(old, &munged)),
        ));
    }
    errs
}

/// The new spec with every field that may change set back to its old value.
fn munge(new: &Value, old: &Value) -> Value {
    let mut m = new.clone();
    for list in ["containers", "initContainers"] {
        let olds = list_of(old, list);
        if let Some(items) = m.get_mut(list).and_then(Value::as_array_mut) {
            if items.len() == olds.len() {
                for (c, o) in items.iter_mut().zip(olds) {
                    match o.get("image") {
                        Some(img) => c["image"] = img.clone(),
                        None => {
                            c.as_object_mut().map(|c| c.remove("image"));
                        }
                    }
                }
            }
        }
    }
    for f in ["activeDeadlineSeconds", "schedulingGates", "tolerations"] {
        match old.get(f) {
            Some(v) => m[f] = v.clone(),
            None => {
                m.as_object_mut().map(|o| o.remove(f));
            }
        }
    }
    let grace = "terminationGracePeriodSeconds";
    if int_of(old, grace).is_some_and(|g| g < 0) && int_of(&m, grace) == Some(1) {
        m[grace] = old[grace].clone();
    }
    m
}

fn only_added_tolerations(new: &Value, old: &Value) -> Vec<FieldError> {
    let strip = |t: &Value| {
        let mut t = t.clone();
        t.as_object_mut().map(|o| o.remove("tolerationSeconds"));
        t
    };
    let news: Vec<Value> = list_of(new, "tolerations").iter().map(strip).collect();
    let all_kept = list_of(old, "tolerations")
        .iter()
        .all(|o| news.contains(&strip(o)));
    if all_kept {
        Vec::new()
    } else {
        vec![FieldError::forbidden(
            "spec.tolerations",
            "existing toleration can not be modified except its tolerationSeconds",
        )]
    }
}

/// A short account of which spec fields differ, in place of upstream's `cmp.Diff`.
fn diff(old: &Value, new: &Value) -> String {
    let empty = serde_json::Map::new();
    let o = old.as_object().unwrap_or(&empty);
    let n = new.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = o.keys().chain(n.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = String::from("  core.PodSpec{\n");
    for k in keys {
        let (a, b) = (o.get(k), n.get(k));
        if a != b {
            if let Some(a) = a {
                out.push_str(&format!("- \t{k}: {a},\n"));
            }
            if let Some(b) = b {
                out.push_str(&format!("+ \t{k}: {b},\n"));
            }
        }
    }
    out.push_str("  }\n");
    out
}
