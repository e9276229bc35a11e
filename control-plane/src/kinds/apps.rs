//! apps/v1 workloads: deployments, replicasets and daemonsets (defaults, create-time status
//! reset, spec validation and the immutable selector).

use serde_json::{json, Value};

use super::field::{has, int_of, set_default, str_or_empty};
use super::meta;
use super::names;
use super::pod;
use crate::api::FieldError;

/// The annotation apps/v1 carries a daemonset's template generation in.
pub const TEMPLATE_GENERATION: &str = "deprecated.daemonset.template.generation";

/// Defaults of a Deployment, ReplicaSet or DaemonSet (`kind`), including its pod template.
pub fn apply_defaults(kind: &str, obj: &mut Value) {
    let Some(spec) = super::field::obj_mut(obj, "spec") else {
        return;
    };
    let mut spec = Value::Object(std::mem::take(spec));
    match kind {
        "Deployment" => {
            set_default(&mut spec, "replicas", json!(1));
            rolling_update_defaults(&mut spec, "strategy", json!("25%"), json!("25%"));
            set_default(&mut spec, "revisionHistoryLimit", json!(10));
            set_default(&mut spec, "progressDeadlineSeconds", json!(600));
        }
        "ReplicaSet" => set_default(&mut spec, "replicas", json!(1)),
        "DaemonSet" => {
            rolling_update_defaults(&mut spec, "updateStrategy", json!(1), json!(0));
            set_default(&mut spec, "revisionHistoryLimit", json!(10));
        }
        _ => {}
    }
    if let Some(tspec) = spec.pointer_mut("/template/spec").filter(|s| s.is_object()) {
        pod::defaults::pod_spec(tspec);
    }
    obj["spec"] = spec;
}

/// Defaults `spec.<field>` (a deployment's `strategy`, a daemonset's `updateStrategy`) to a
/// rolling update with the given `maxUnavailable` and `maxSurge`.
fn rolling_update_defaults(
    spec: &mut Value,
    field: &str,
    max_unavailable: Value,
    max_surge: Value,
) {
    let strategy = spec
        .as_object_mut()
        .map(|m| m.entry(field).or_insert_with(|| json!({})));
    if let Some(st) = strategy.filter(|s| s.is_object()) {
        set_default(st, "type", json!("RollingUpdate"));
        if str_or_empty(st, "type") == "RollingUpdate" {
            if !st.get("rollingUpdate").is_some_and(Value::is_object) {
                st["rollingUpdate"] = json!({});
            }
            set_default(&mut st["rollingUpdate"], "maxUnavailable", max_unavailable);
            set_default(&mut st["rollingUpdate"], "maxSurge", max_surge);
        }
    }
}

/// `PrepareForCreate`: status cleared, generation 1; a daemonset starts at template
/// generation 1.
pub fn prepare_for_create(kind: &str, obj: &mut Value) {
    obj["status"] = json!({});
    if let Some(meta) = super::field::obj_mut(obj, "metadata") {
        meta.insert("generation".into(), json!(1));
    }
    if kind == "DaemonSet" {
        set_template_generation(obj, 1);
    }
}

fn template_generation(obj: &Value) -> i64 {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(TEMPLATE_GENERATION))
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn set_template_generation(obj: &mut Value, g: i64) {
    if let Some(meta) = super::field::obj_mut(obj, "metadata") {
        let ann = meta.entry("annotations").or_insert_with(|| json!({}));
        if !ann.is_object() {
            *ann = json!({});
        }
        ann[TEMPLATE_GENERATION] = json!(g.to_string());
    }
}

/// `daemonSetStrategy.PrepareForUpdate`: a changed template bumps the template generation.
pub fn prepare_daemonset_update(obj: &mut Value, old: &Value) {
    let old_gen = template_generation(old).max(1);
    let changed = obj.pointer("/spec/template") != old.pointer("/spec/template");
    set_template_generation(obj, if changed { old_gen + 1 } else { old_gen });
}

/// `ValidateDeployment` / `ValidateDeploymentUpdate`.
pub fn validate_deployment(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let empty = json!({});
    let spec = obj.get("spec").unwrap_or(&empty);
    let mut errs = common(obj, old);
    errs.extend(replicas_and_selector(spec, "deployment"));
    errs.extend(template_for_replicas(spec, "ReplicaSet"));
    let st = spec.get("strategy").unwrap_or(&empty);
    match str_or_empty(st, "type") {
        "Recreate" => {
            if has(st, "rollingUpdate") {
                errs.push(FieldError::forbidden(
                    "spec.strategy.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        "RollingUpdate" => match st.get("rollingUpdate").filter(|r| !r.is_null()) {
            None => errs.push(FieldError::required(
                "spec.strategy.rollingUpdate",
                "this should be defaulted and never be nil",
            )),
            Some(ru) => {
                let p = "spec.strategy.rollingUpdate";
                errs.extend(int_or_percent(
                    ru.get("maxUnavailable"),
                    &format!("{p}.maxUnavailable"),
                ));
                errs.extend(int_or_percent(ru.get("maxSurge"), &format!("{p}.maxSurge")));
                if is_zero(ru.get("maxUnavailable")) && is_zero(ru.get("maxSurge")) {
                    errs.push(FieldError::invalid(
                        format!("{p}.maxUnavailable"),
                        ru.get("maxUnavailable").cloned().unwrap_or(json!(0)),
                        "may not be 0 when `maxSurge` is 0",
                    ));
                }
                errs.extend(not_over_100(
                    ru.get("maxUnavailable"),
                    &format!("{p}.maxUnavailable"),
                ));
            }
        },
        other => errs.push(FieldError::not_supported(
            "spec.strategy.type",
            json!(other),
            &["Recreate", "RollingUpdate"],
        )),
    }
    let min_ready = int_of(spec, "minReadySeconds").unwrap_or(0);
    errs.extend(meta::nonnegative(min_ready, "spec.minReadySeconds"));
    if let Some(r) = int_of(spec, "revisionHistoryLimit") {
        errs.extend(meta::nonnegative(r, "spec.revisionHistoryLimit"));
    }
    if let Some(pd) = int_of(spec, "progressDeadlineSeconds") {
        if pd <= 0 {
            errs.push(FieldError::invalid(
                "spec.progressDeadlineSeconds",
                json!(pd),
                "must be greater than 0",
            ));
        } else if pd <= min_ready {
            errs.push(FieldError::invalid(
                "spec.progressDeadlineSeconds",
                json!(pd),
                "must be greater than minReadySeconds",
            ));
        }
    }
    errs
}

/// `ValidateReplicaSet` / `ValidateReplicaSetUpdate`.
pub fn validate_replicaset(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let empty = json!({});
    let spec = obj.get("spec").unwrap_or(&empty);
    let mut errs = common(obj, old);
    errs.extend(replicas_and_selector(spec, "deployment"));
    errs.extend(meta::nonnegative(
        int_of(spec, "minReadySeconds").unwrap_or(0),
        "spec.minReadySeconds",
    ));
    errs.extend(template_for_replicas(spec, "ReplicaSet"));
    errs
}

/// `ValidateDaemonSet` / `ValidateDaemonSetUpdate`.
pub fn validate_daemonset(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let empty = json!({});
    let spec = obj.get("spec").unwrap_or(&empty);
    let mut errs = common(obj, old);
    match spec.get("selector").filter(|s| !s.is_null()) {
        None => errs.push(FieldError::required("spec.selector", "")),
        Some(sel) => {
            errs.extend(meta::label_selector(sel, "spec.selector"));
            if !meta::selector_matches(sel, spec.pointer("/template/metadata/labels")) {
                errs.push(FieldError::invalid(
                    "spec.template.metadata.labels",
                    spec.pointer("/template/metadata/labels")
                        .cloned()
                        .unwrap_or(json!({})),
                    "`selector` does not match template `labels`",
                ));
            }
            if meta::selector_is_empty(sel) {
                errs.push(FieldError::invalid(
                    "spec.selector",
                    sel.clone(),
                    "empty selector is invalid for daemonset",
                ));
            }
        }
    }
    errs.extend(pod::validate_template(
        spec.get("template").unwrap_or(&empty),
        "spec.template",
    ));
    let tspec = spec.pointer("/template/spec").unwrap_or(&empty);
    let restart = str_or_empty(tspec, "restartPolicy");
    if restart != "Always" {
        errs.push(FieldError::not_supported(
            "spec.template.spec.restartPolicy",
            json!(restart),
            &["Always"],
        ));
    }
    if let Some(a) = tspec.get("activeDeadlineSeconds").filter(|v| !v.is_null()) {
        errs.push(FieldError::invalid(
            "spec.template.spec.activeDeadlineSeconds",
            a.clone(),
            "activeDeadlineSeconds in DaemonSet is not Supported",
        ));
    }
    errs.extend(meta::nonnegative(
        int_of(spec, "minReadySeconds").unwrap_or(0),
        "spec.minReadySeconds",
    ));
    let st = spec.get("updateStrategy").unwrap_or(&empty);
    match str_or_empty(st, "type") {
        "OnDelete" => {}
        "RollingUpdate" => match st.get("rollingUpdate").filter(|r| !r.is_null()) {
            None => errs.push(FieldError::required(
                "spec.updateStrategy.rollingUpdate",
                "",
            )),
            Some(ru) => {
                let p = "spec.updateStrategy.rollingUpdate";
                let (mu, ms) = (ru.get("maxUnavailable"), ru.get("maxSurge"));
                errs.extend(int_or_percent(mu, &format!("{p}.maxUnavailable")));
                errs.extend(int_or_percent(ms, &format!("{p}.maxSurge")));
                errs.extend(not_over_100(mu, &format!("{p}.maxUnavailable")));
                errs.extend(not_over_100(ms, &format!("{p}.maxSurge")));
                match (is_zero(mu), is_zero(ms)) {
                    (false, false) => errs.push(FieldError::invalid(
                        format!("{p}.maxSurge"),
                        ms.cloned().unwrap_or(json!(0)),
                        "may not be set when maxUnavailable is non-zero",
                    )),
                    (true, true) => errs.push(FieldError::required(
                        format!("{p}.maxUnavailable"),
                        "cannot be 0 when maxSurge is 0",
                    )),
                    _ => {}
                }
            }
        },
        _ => errs.push(FieldError::not_supported(
            "spec.updateStrategy",
            st.clone(),
            &["RollingUpdate", "OnDelete"],
        )),
    }
    if let Some(r) = int_of(spec, "revisionHistoryLimit") {
        errs.extend(meta::nonnegative(r, "spec.revisionHistoryLimit"));
    }
    errs
}

/// Metadata rules and, on update, the immutable selector.
fn common(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = meta::validate(obj, true, meta::subdomain_name);
    if let Some(old) = old {
        errs.extend(meta::validate_update(obj, old));
        errs.extend(meta::immutable(
            obj.pointer("/spec/selector"),
            old.pointer("/spec/selector"),
            "spec.selector",
        ));
    }
    errs
}

fn replicas_and_selector(spec: &Value, what: &str) -> Vec<FieldError> {
    let mut errs = meta::nonnegative(int_of(spec, "replicas").unwrap_or(0), "spec.replicas");
    match spec.get("selector").filter(|s| !s.is_null()) {
        None => errs.push(FieldError::required("spec.selector", "")),
        Some(sel) => {
            errs.extend(meta::label_selector(sel, "spec.selector"));
            if meta::selector_is_empty(sel) {
                errs.push(FieldError::invalid(
                    "spec.selector",
                    sel.clone(),
                    format!("empty selector is invalid for {what}"),
                ));
            }
        }
    }
    errs
}

/// `ValidatePodTemplateSpecForReplicaSet`.
fn template_for_replicas(spec: &Value, owner: &str) -> Vec<FieldError> {
    let empty = json!({});
    let mut errs = Vec::new();
    let Some(template) = spec.get("template").filter(|t| !t.is_null()) else {
        return vec![FieldError::required("spec.template", "")];
    };
    if let Some(sel) = spec
        .get("selector")
        .filter(|s| !s.is_null() && !meta::selector_is_empty(s))
    {
        let labels = template.pointer("/metadata/labels");
        if !meta::selector_matches(sel, labels) {
            errs.push(FieldError::invalid(
                "spec.template.metadata.labels",
                labels.cloned().unwrap_or(json!({})),
                "`selector` does not match template `labels`",
            ));
        }
    }
    errs.extend(pod::validate_template(template, "spec.template"));
    let tspec = template.get("spec").unwrap_or(&empty);
    let restart = str_or_empty(tspec, "restartPolicy");
    if restart != "Always" {
        errs.push(FieldError::not_supported(
            "spec.template.spec.restartPolicy",
            json!(restart),
            &["Always"],
        ));
    }
    if has(tspec, "activeDeadlineSeconds") {
        errs.push(FieldError::forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            format!("activeDeadlineSeconds in {owner} is not Supported"),
        ));
    }
    errs
}

fn int_or_percent(v: Option<&Value>, path: &str) -> Vec<FieldError> {
    match v {
        Some(Value::String(s)) => names::percent(s)
            .into_iter()
            .map(|m| FieldError::invalid(path, json!(s), m))
            .collect(),
        Some(Value::Number(n)) => meta::nonnegative(n.as_i64().unwrap_or(0), path),
        _ => Vec::new(),
    }
}

fn percent_value(v: Option<&Value>) -> Option<i64> {
    v.and_then(Value::as_str)
        .and_then(|s| s.strip_suffix('%'))
        .and_then(|n| n.parse().ok())
}

fn is_zero(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Number(n)) => n.as_i64() == Some(0),
        Some(Value::String(_)) => percent_value(v) == Some(0),
        _ => true,
    }
}

fn not_over_100(v: Option<&Value>, path: &str) -> Vec<FieldError> {
    match percent_value(v) {
        Some(p) if p > 100 => vec![FieldError::invalid(
            path,
            v.cloned().unwrap_or(Value::Null),
            "must not be greater than 100%",
        )],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(kind: &str, spec: Value) -> Value {
        let mut o = json!({"metadata": {"name": "web", "namespace": "default"}, "spec": spec});
        apply_defaults(kind, &mut o);
        o
    }

    fn template() -> Value {
        json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    }

    fn fields(errs: &[FieldError]) -> Vec<&str> {
        errs.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn deployment_defaults_match_upstream() {
        let d = workload(
            "Deployment",
            json!({"selector": {"matchLabels": {"app": "web"}}, "template": template()}),
        );
        let s = &d["spec"];
        assert_eq!(s["replicas"], 1);
        assert_eq!(
            s["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        );
        assert_eq!(s["revisionHistoryLimit"], 10);
        assert_eq!(s["progressDeadlineSeconds"], 600);
        assert_eq!(s["template"]["spec"]["restartPolicy"], "Always");
        assert_eq!(
            s["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "Always"
        );
        assert!(validate_deployment(&d, None).is_empty());
    }

    #[test]
    fn daemonset_and_replicaset_defaults_match_upstream() {
        let ds = workload(
            "DaemonSet",
            json!({"selector": {"matchLabels": {"app": "web"}}, "template": template()}),
        );
        assert_eq!(
            ds["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        );
        assert_eq!(ds["spec"]["revisionHistoryLimit"], 10);
        assert!(validate_daemonset(&ds, None).is_empty());
        let rs = workload(
            "ReplicaSet",
            json!({"selector": {"matchLabels": {"app": "web"}}, "template": template()}),
        );
        assert_eq!(rs["spec"]["replicas"], 1);
        assert!(validate_replicaset(&rs, None).is_empty());
    }

    #[test]
    fn create_clears_status_and_sets_generation() {
        let mut d = workload("DaemonSet", json!({"template": template()}));
        d["status"] = json!({"numberReady": 3});
        prepare_for_create("DaemonSet", &mut d);
        assert_eq!(d["status"], json!({}));
        assert_eq!(d["metadata"]["generation"], 1);
        assert_eq!(d["metadata"]["annotations"][TEMPLATE_GENERATION], "1");
        let mut new = d.clone();
        new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
        prepare_daemonset_update(&mut new, &d);
        assert_eq!(new["metadata"]["annotations"][TEMPLATE_GENERATION], "2");
    }

    #[test]
    fn selector_is_required_and_must_match_template_labels() {
        let d = workload("Deployment", json!({"template": template()}));
        assert_eq!(fields(&validate_deployment(&d, None)), ["spec.selector"]);
        let d = workload(
            "Deployment",
            json!({"selector": {"matchLabels": {"app": "other"}}, "template": template()}),
        );
        let errs = validate_deployment(&d, None);
        assert_eq!(fields(&errs), ["spec.template.metadata.labels"]);
        assert_eq!(
            errs[0].detail,
            "`selector` does not match template `labels`"
        );
        let d = workload(
            "Deployment",
            json!({"selector": {}, "template": template()}),
        );
        assert_eq!(
            validate_deployment(&d, None)[0].detail,
            "empty selector is invalid for deployment"
        );
    }

    #[test]
    fn negative_replicas_bad_restart_policy_and_zero_surge_are_invalid() {
        let mut t = template();
        t["spec"]["restartPolicy"] = json!("Never");
        let d = workload(
            "Deployment",
            json!({"replicas": -1, "selector": {"matchLabels": {"app": "web"}}, "template": t,
            "strategy": {"rollingUpdate": {"maxUnavailable": 0, "maxSurge": "0%"}}}),
        );
        let errs = validate_deployment(&d, None);
        assert_eq!(
            fields(&errs),
            [
                "spec.replicas",
                "spec.template.spec.restartPolicy",
                "spec.strategy.rollingUpdate.maxUnavailable"
            ]
        );
        assert_eq!(
            errs[0].message(),
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0"
        );
        assert_eq!(
            errs[1].message(),
            "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\""
        );
        assert_eq!(errs[2].detail, "may not be 0 when `maxSurge` is 0");
    }

    #[test]
    fn template_pod_spec_errors_carry_the_template_path() {
        let mut t = template();
        t["spec"]["containers"][0]["name"] = json!("Bad");
        let rs = workload(
            "ReplicaSet",
            json!({"selector": {"matchLabels": {"app": "web"}}, "template": t}),
        );
        assert_eq!(
            fields(&validate_replicaset(&rs, None)),
            ["spec.template.spec.containers[0].name"]
        );
    }

    #[test]
    fn selector_is_immutable_on_update() {
        let mut t = template();
        t["metadata"]["labels"]["tier"] = json!("x");
        let old = workload(
            "Deployment",
            json!({"selector": {"matchLabels": {"app": "web"}}, "template": t}),
        );
        let mut new = old.clone();
        new["spec"]["selector"] = json!({"matchLabels": {"app": "web", "tier": "x"}});
        let errs = validate_deployment(&new, Some(&old));
        assert_eq!(fields(&errs), ["spec.selector"]);
        assert_eq!(errs[0].detail, "field is immutable");
        let mut scaled = old.clone();
        scaled["spec"]["replicas"] = json!(5);
        assert!(validate_deployment(&scaled, Some(&old)).is_empty());
    }

    #[test]
    fn daemonset_rolling_update_needs_exactly_one_of_surge_and_unavailable() {
        let ds = workload(
            "DaemonSet",
            json!({"selector": {"matchLabels": {"app": "web"}}, "template": template(),
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1}}}),
        );
        assert_eq!(
            fields(&validate_daemonset(&ds, None)),
            ["spec.updateStrategy.rollingUpdate.maxSurge"]
        );
    }
}
