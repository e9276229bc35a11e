//! `ValidatePodSpec`: containers, volumes, policies, tolerations and the scalar fields.

use std::collections::HashSet;

use serde_json::{json, Value};

use super::container::{self, ContainerList};
use super::defaults::VOLUME_SOURCES;
use crate::api::FieldError;
use crate::kinds::field::{child, has, index, int_of, list_of, str_or_empty};
use crate::kinds::meta;
use crate::kinds::names;

const FILE_MODE_MSG: &str = "must be a number between 0 and 0777 (octal), both inclusive";

/// Validates a pod spec found at `path` (`spec` or `spec.template.spec`).
pub fn validate(spec: &Value, path: &str) -> Vec<FieldError> {
    let (mut errs, vols) = volumes(list_of(spec, "volumes"), &child(path, "volumes"));
    let mut seen = HashSet::new();
    errs.extend(container::validate_list(
        list_of(spec, "initContainers"),
        &child(path, "initContainers"),
        ContainerList::Init,
        &mut seen,
        &vols,
    ));
    let containers = list_of(spec, "containers");
    if containers.is_empty() {
        errs.push(FieldError::required(child(path, "containers"), ""));
    }
    errs.extend(container::validate_list(
        containers,
        &child(path, "containers"),
        ContainerList::Regular,
        &mut seen,
        &vols,
    ));
    errs.extend(policies(spec, path));
    errs.extend(tolerations(
        list_of(spec, "tolerations"),
        &child(path, "tolerations"),
    ));
    errs.extend(meta::labels(
        spec,
        "nodeSelector",
        &child(path, "nodeSelector"),
    ));
    for (f, rule) in [
        (
            "serviceAccountName",
            names::dns1123_subdomain as fn(&str) -> Vec<String>,
        ),
        ("nodeName", names::dns1123_subdomain),
        ("priorityClassName", names::dns1123_subdomain),
        ("hostname", names::dns1123_label),
        ("subdomain", names::dns1123_label),
    ] {
        let v = str_or_empty(spec, f);
        if !v.is_empty() {
            for m in rule(v) {
                errs.push(FieldError::invalid(child(path, f), json!(v), m));
            }
        }
    }
    if let Some(ads) = int_of(spec, "activeDeadlineSeconds") {
        if !(1..=i64::from(i32::MAX)).contains(&ads) {
            errs.push(FieldError::invalid(
                child(path, "activeDeadlineSeconds"),
                json!(ads),
                names::inclusive_range_error(1, i64::from(i32::MAX)),
            ));
        }
    }
    errs
}

fn policies(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match str_or_empty(spec, "restartPolicy") {
        "Always" | "OnFailure" | "Never" => {}
        "" => errs.push(FieldError::required(child(path, "restartPolicy"), "")),
        other => errs.push(FieldError::not_supported(
            child(path, "restartPolicy"),
            json!(other),
            &["Always", "OnFailure", "Never"],
        )),
    }
    let dns = str_or_empty(spec, "dnsPolicy");
    match dns {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => {}
        "" => errs.push(FieldError::required(child(path, "dnsPolicy"), "")),
        other => errs.push(FieldError::not_supported(
            child(path, "dnsPolicy"),
            json!(other),
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        )),
    }
    let dns_config = spec.get("dnsConfig").filter(|v| !v.is_null());
    if dns == "None" {
        let dp = child(path, "dnsConfig");
        match dns_config {
            None => errs.push(FieldError::required(
                &dp,
                "must provide `dnsConfig` when `dnsPolicy` is None",
            )),
            Some(c) if list_of(c, "nameservers").is_empty() => errs.push(FieldError::required(
                child(&dp, "nameservers"),
                "must provide at least one DNS nameserver when `dnsPolicy` is None",
            )),
            Some(_) => {}
        }
    }
    if let Some(c) = dns_config {
        let np = child(&child(path, "dnsConfig"), "nameservers");
        for (i, ns) in list_of(c, "nameservers").iter().enumerate() {
            let s = ns.as_str().unwrap_or("");
            if s.parse::<std::net::IpAddr>().is_err() {
                errs.push(FieldError::invalid(
                    index(&np, i),
                    json!(s),
                    "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                ));
            }
        }
    }
    errs
}

fn volumes<'a>(list: &'a [Value], path: &str) -> (Vec<FieldError>, HashSet<&'a str>) {
    let mut errs = Vec::new();
    let mut seen = HashSet::new();
    for (i, v) in list.iter().enumerate() {
        let p = index(path, i);
        errs.extend(volume_source(v, &p));
        let name = str_or_empty(v, "name");
        let np = child(&p, "name");
        if name.is_empty() {
            errs.push(FieldError::required(&np, ""));
        } else {
            for m in names::dns1123_label(name) {
                errs.push(FieldError::invalid(&np, json!(name), m));
            }
        }
        if !seen.insert(name) {
            errs.push(FieldError::duplicate(&np, json!(name)));
        }
    }
    (errs, seen)
}

fn volume_source(v: &Value, p: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let set: Vec<&str> = VOLUME_SOURCES
        .iter()
        .copied()
        .filter(|s| has(v, s))
        .collect();
    match set.as_slice() {
        [] => errs.push(FieldError::required(p, "must specify a volume type")),
        [_] => {}
        [_, rest @ ..] => {
            for s in rest {
                errs.push(FieldError::forbidden(
                    child(p, s),
                    "may not specify more than 1 volume type",
                ));
            }
        }
    }
    let required = [
        ("hostPath", "path"),
        ("secret", "secretName"),
        ("persistentVolumeClaim", "claimName"),
        ("nfs", "server"),
        ("nfs", "path"),
    ];
    for (src, f) in required {
        if let Some(s) = v.get(src).filter(|x| !x.is_null()) {
            if str_or_empty(s, f).is_empty() {
                errs.push(FieldError::required(child(&child(p, src), f), ""));
            }
        }
    }
    if let Some(h) = v.get("hostPath").filter(|x| !x.is_null()) {
        let t = str_or_empty(h, "type");
        let ok = [
            "",
            "DirectoryOrCreate",
            "Directory",
            "FileOrCreate",
            "File",
            "Socket",
            "CharDevice",
            "BlockDevice",
        ];
        if !ok.contains(&t) {
            errs.push(FieldError::not_supported(
                child(&child(p, "hostPath"), "type"),
                json!(t),
                &ok,
            ));
        }
    }
    for src in ["secret", "configMap", "downwardAPI", "projected"] {
        let Some(s) = v.get(src).filter(|x| !x.is_null()) else {
            continue;
        };
        let sp = child(p, src);
        if let Some(mode) = int_of(s, "defaultMode") {
            if !(0..=0o777).contains(&mode) {
                errs.push(FieldError::invalid(
                    child(&sp, "defaultMode"),
                    json!(mode),
                    FILE_MODE_MSG,
                ));
            }
        }
        for (j, item) in list_of(s, "items").iter().enumerate() {
            let ip = index(&child(&sp, "items"), j);
            if src != "downwardAPI" && str_or_empty(item, "key").is_empty() {
                errs.push(FieldError::required(child(&ip, "key"), ""));
            }
            let path = str_or_empty(item, "path");
            if path.is_empty() {
                errs.push(FieldError::required(child(&ip, "path"), ""));
            } else {
                errs.extend(container::local_descending_path(path, &child(&ip, "path")));
            }
            if let Some(mode) = int_of(item, "mode") {
                if !(0..=0o777).contains(&mode) {
                    errs.push(FieldError::invalid(
                        child(&ip, "mode"),
                        json!(mode),
                        FILE_MODE_MSG,
                    ));
                }
            }
        }
    }
    errs
}

fn tolerations(list: &[Value], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let p = index(path, i);
        let key = str_or_empty(t, "key");
        if !key.is_empty() {
            for m in names::qualified_name(key) {
                errs.push(FieldError::invalid(child(&p, "key"), json!(key), m));
            }
        }
        let op = str_or_empty(t, "operator");
        if key.is_empty() && op != "Exists" {
            errs.push(FieldError::invalid(
                child(&p, "operator"),
                json!(op),
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        let effect = str_or_empty(t, "effect");
        if has(t, "tolerationSeconds") && effect != "NoExecute" {
            errs.push(FieldError::invalid(
                child(&p, "effect"),
                json!(effect),
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        match op {
            "" | "Equal" => {
                let v = str_or_empty(t, "value");
                for m in names::label_value(v) {
                    errs.push(FieldError::invalid(child(&p, "operator"), json!(v), m));
                }
            }
            "Exists" => {
                if !str_or_empty(t, "value").is_empty() {
                    errs.push(FieldError::invalid(
                        child(&p, "operator"),
                        t.clone(),
                        "value must be empty when `operator` is 'Exists'",
                    ));
                }
            }
            other => errs.push(FieldError::not_supported(
                child(&p, "operator"),
                json!(other),
                &["Equal", "Exists"],
            )),
        }
        if !effect.is_empty() && !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect)
        {
            errs.push(FieldError::not_supported(
                child(&p, "effect"),
                json!(effect),
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            ));
        }
    }
    errs
}
