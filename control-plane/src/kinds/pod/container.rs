//! Container validation (`validateContainers`, `validateInitContainers` and what they check:
//! names, image, ports, env, resources, probes, pull and termination message policies, mounts).

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::api::FieldError;
use crate::kinds::field::{child, has, index, int_of, list_of, map_of, str_or_empty};
use crate::kinds::meta::nonnegative;
use crate::kinds::names;
use crate::kinds::quantity::{Quantity, QUANTITY_FORMAT};

/// Supported port protocols, as upstream lists them (sorted).
pub const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];

/// Which list a container is in.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ContainerList {
    /// `spec.initContainers`.
    Init,
    /// `spec.containers`.
    Regular,
}

/// Validates one container list. `names` collects container names across lists (duplicates
/// between init and regular containers are errors too); `volumes` are the pod's volume names.
pub fn validate_list(
    list: &[Value],
    path: &str,
    which: ContainerList,
    names_seen: &mut HashSet<String>,
    volumes: &HashSet<&str>,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let p = index(path, i);
        let name = str_or_empty(c, "name");
        let name_path = child(&p, "name");
        if name.is_empty() {
            errs.push(FieldError::required(&name_path, ""));
        } else {
            for msg in names::dns1123_label(name) {
                errs.push(FieldError::invalid(&name_path, json!(name), msg));
            }
        }
        if !names_seen.insert(name.to_string()) {
            errs.push(FieldError::duplicate(&name_path, json!(name)));
        }
        errs.extend(common(c, &p, volumes));
        errs.extend(restart_and_probes(c, &p, which));
    }
    errs
}

/// Image checks that apply to Pods but not to pod templates (`validateContainerOnlyForPod`).
pub fn validate_image_for_pod(list: &[Value], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let p = child(&index(path, i), "image");
        let image = str_or_empty(c, "image");
        if image.is_empty() {
            errs.push(FieldError::required(&p, ""));
        }
        if image.len() != image.trim().len() {
            errs.push(FieldError::invalid(
                &p,
                json!(image),
                "must not have leading or trailing whitespace",
            ));
        }
    }
    errs
}

fn common(c: &Value, p: &str, volumes: &HashSet<&str>) -> Vec<FieldError> {
    let mut errs = ports(list_of(c, "ports"), &child(p, "ports"));
    errs.extend(env(list_of(c, "env"), &child(p, "env")));
    errs.extend(mounts(
        list_of(c, "volumeMounts"),
        &child(p, "volumeMounts"),
        volumes,
    ));
    errs.extend(resources(c, &child(p, "resources")));
    match str_or_empty(c, "terminationMessagePolicy") {
        "File" | "FallbackToLogsOnError" => {}
        "" => errs.push(FieldError::required(
            child(p, "terminationMessagePolicy"),
            "",
        )),
        other => errs.push(FieldError::not_supported(
            child(p, "terminationMessagePolicy"),
            json!(other),
            &["File", "FallbackToLogsOnError"],
        )),
    }
    match str_or_empty(c, "imagePullPolicy") {
        "Always" | "IfNotPresent" | "Never" => {}
        "" => errs.push(FieldError::required(child(p, "imagePullPolicy"), "")),
        other => errs.push(FieldError::not_supported(
            child(p, "imagePullPolicy"),
            json!(other),
            &["Always", "IfNotPresent", "Never"],
        )),
    }
    errs
}

fn restart_and_probes(c: &Value, p: &str, which: ContainerList) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let restart = c.get("restartPolicy").and_then(Value::as_str);
    let sidecar = which == ContainerList::Init && restart == Some("Always");
    match (which, restart) {
        (_, None) => {}
        (ContainerList::Regular, Some(_)) => errs.push(FieldError::forbidden(
            child(p, "restartPolicy"),
            "may not be set for non-init containers",
        )),
        (ContainerList::Init, Some("Always")) => {}
        (ContainerList::Init, Some(other)) => errs.push(FieldError::not_supported(
            child(p, "restartPolicy"),
            json!(other),
            &["Always"],
        )),
    }
    for probe_name in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let Some(pr) = c.get(probe_name).filter(|v| !v.is_null()) else {
            continue;
        };
        let pp = child(p, probe_name);
        if which == ContainerList::Init && !sidecar {
            errs.push(FieldError::forbidden(
                &pp,
                "may not be set for init containers without restartPolicy=Always",
            ));
            continue;
        }
        if which == ContainerList::Init && probe_name == "readinessProbe" {
            errs.push(FieldError::forbidden(
                &pp,
                "may not be set for init containers",
            ));
            continue;
        }
        errs.extend(probe(pr, &pp));
        let st = int_of(pr, "successThreshold").unwrap_or(1);
        if probe_name != "readinessProbe" && st != 1 {
            errs.push(FieldError::invalid(
                child(&pp, "successThreshold"),
                json!(st),
                "must be 1",
            ));
        }
    }
    errs
}

fn probe(pr: &Value, p: &str) -> Vec<FieldError> {
    let mut errs = handler(pr, p, &["exec", "httpGet", "tcpSocket", "grpc"]);
    for f in [
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ] {
        if let Some(v) = int_of(pr, f) {
            errs.extend(nonnegative(v, &child(p, f)));
        }
    }
    errs
}

/// `validateHandler`: exactly one handler type, and each handler's own fields.
pub fn handler(h: &Value, p: &str, kinds: &[&str]) -> Vec<FieldError> {
    let set: Vec<&str> = kinds.iter().copied().filter(|k| has(h, k)).collect();
    let mut errs = Vec::new();
    match set.as_slice() {
        [] => errs.push(FieldError::required(p, "must specify a handler type")),
        [_] => {}
        [_, rest @ ..] => {
            for k in rest {
                errs.push(FieldError::forbidden(
                    child(p, k),
                    "may not specify more than 1 handler type",
                ));
            }
        }
    }
    if let Some(e) = h.get("exec").filter(|v| !v.is_null()) {
        if list_of(e, "command").is_empty() {
            errs.push(FieldError::required(
                child(&child(p, "exec"), "command"),
                "",
            ));
        }
    }
    if let Some(g) = h.get("httpGet").filter(|v| !v.is_null()) {
        let gp = child(p, "httpGet");
        if str_or_empty(g, "path").is_empty() {
            errs.push(FieldError::required(child(&gp, "path"), ""));
        }
        errs.extend(port_num_or_name(g.get("port"), &child(&gp, "port")));
        match str_or_empty(g, "scheme") {
            "HTTP" | "HTTPS" => {}
            other => errs.push(FieldError::not_supported(
                child(&gp, "scheme"),
                json!(other),
                &["HTTP", "HTTPS"],
            )),
        }
    }
    if let Some(t) = h.get("tcpSocket").filter(|v| !v.is_null()) {
        errs.extend(port_num_or_name(
            t.get("port"),
            &child(&child(p, "tcpSocket"), "port"),
        ));
    }
    if let Some(g) = h.get("grpc").filter(|v| !v.is_null()) {
        let port = int_of(g, "port").unwrap_or(0);
        for msg in names::port_num(port) {
            errs.push(FieldError::invalid(
                child(&child(p, "grpc"), "port"),
                json!(port),
                msg,
            ));
        }
    }
    errs
}

/// `ValidatePortNumOrName` for an int-or-string port.
pub fn port_num_or_name(port: Option<&Value>, p: &str) -> Vec<FieldError> {
    match port {
        Some(Value::Number(n)) => {
            let n = n.as_i64().unwrap_or(0);
            names::port_num(n)
                .into_iter()
                .map(|m| FieldError::invalid(p, json!(n), m))
                .collect()
        }
        Some(Value::String(s)) => names::port_name(s)
            .into_iter()
            .map(|m| FieldError::invalid(p, json!(s), m))
            .collect(),
        _ => names::port_num(0)
            .into_iter()
            .map(|m| FieldError::invalid(p, json!(0), m))
            .collect(),
    }
}

fn ports(list: &[Value], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen = HashSet::new();
    for (i, port) in list.iter().enumerate() {
        let p = index(path, i);
        let name = str_or_empty(port, "name");
        if !name.is_empty() {
            let msgs = names::port_name(name);
            if !msgs.is_empty() {
                for m in msgs {
                    errs.push(FieldError::invalid(child(&p, "name"), json!(name), m));
                }
            } else if !seen.insert(name) {
                errs.push(FieldError::duplicate(child(&p, "name"), json!(name)));
            }
        }
        match int_of(port, "containerPort").unwrap_or(0) {
            0 => errs.push(FieldError::required(child(&p, "containerPort"), "")),
            n => errs.extend(
                names::port_num(n)
                    .into_iter()
                    .map(|m| FieldError::invalid(child(&p, "containerPort"), json!(n), m)),
            ),
        }
        let host = int_of(port, "hostPort").unwrap_or(0);
        if host != 0 {
            errs.extend(
                names::port_num(host)
                    .into_iter()
                    .map(|m| FieldError::invalid(child(&p, "hostPort"), json!(host), m)),
            );
        }
        errs.extend(protocol(port, &child(&p, "protocol")));
    }
    errs
}

/// A port's `protocol`: required, one of SCTP, TCP, UDP.
pub fn protocol(port: &Value, p: &str) -> Vec<FieldError> {
    match str_or_empty(port, "protocol") {
        "" => vec![FieldError::required(p, "")],
        x if PROTOCOLS.contains(&x) => Vec::new(),
        x => vec![FieldError::not_supported(p, json!(x), PROTOCOLS)],
    }
}

fn env(list: &[Value], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, e) in list.iter().enumerate() {
        let p = index(path, i);
        let name = str_or_empty(e, "name");
        if name.is_empty() {
            errs.push(FieldError::required(child(&p, "name"), ""));
        } else {
            for m in names::env_var_name(name) {
                errs.push(FieldError::invalid(child(&p, "name"), json!(name), m));
            }
        }
        let Some(from) = e.get("valueFrom").filter(|v| !v.is_null()) else {
            continue;
        };
        let fp = child(&p, "valueFrom");
        let sources = [
            "fieldRef",
            "resourceFieldRef",
            "configMapKeyRef",
            "secretKeyRef",
        ];
        let n = sources.iter().filter(|s| has(from, s)).count();
        if n == 0 {
            errs.push(FieldError::invalid(
                &fp,
                json!(""),
                "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
            ));
        } else if n > 1 {
            errs.push(FieldError::invalid(
                &fp,
                json!(""),
                "may not have more than one field specified at a time",
            ));
        }
        if !str_or_empty(e, "value").is_empty() {
            errs.push(FieldError::invalid(
                &fp,
                json!(""),
                "may not be specified when `value` is not empty",
            ));
        }
        for r in ["configMapKeyRef", "secretKeyRef"] {
            if let Some(k) = from.get(r).filter(|v| !v.is_null()) {
                if str_or_empty(k, "key").is_empty() {
                    errs.push(FieldError::required(child(&child(&fp, r), "key"), ""));
                }
            }
        }
        if let Some(f) = from.get("fieldRef").filter(|v| !v.is_null()) {
            if str_or_empty(f, "fieldPath").is_empty() {
                errs.push(FieldError::required(
                    child(&child(&fp, "fieldRef"), "fieldPath"),
                    "",
                ));
            }
        }
    }
    errs
}

fn mounts(list: &[Value], path: &str, volumes: &HashSet<&str>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut points = HashSet::new();
    for (i, m) in list.iter().enumerate() {
        let p = index(path, i);
        let name = str_or_empty(m, "name");
        if name.is_empty() {
            errs.push(FieldError::required(child(&p, "name"), ""));
        }
        if !volumes.contains(name) {
            errs.push(FieldError::not_found(child(&p, "name"), json!(name)));
        }
        let mount_path = str_or_empty(m, "mountPath");
        if mount_path.is_empty() {
            errs.push(FieldError::required(child(&p, "mountPath"), ""));
        }
        if !points.insert(mount_path) {
            errs.push(FieldError::invalid(
                child(&p, "mountPath"),
                json!(mount_path),
                "must be unique",
            ));
        }
        let sub = str_or_empty(m, "subPath");
        if !sub.is_empty() {
            errs.extend(local_descending_path(sub, &child(path, "subPath")));
        }
        if let Some(mp) = m.get("mountPropagation").and_then(Value::as_str) {
            let ok = ["None", "HostToContainer", "Bidirectional"];
            if !ok.contains(&mp) {
                errs.push(FieldError::not_supported(
                    child(&p, "mountPropagation"),
                    json!(mp),
                    &ok,
                ));
            }
        }
    }
    errs
}

/// `validateLocalDescendingPath`: relative, without `..` elements.
pub fn local_descending_path(target: &str, p: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if target.starts_with('/') {
        errs.push(FieldError::invalid(
            p,
            json!(target),
            "must be a relative path",
        ));
    }
    if target.split('/').any(|part| part == "..") {
        errs.push(FieldError::invalid(
            p,
            json!(target),
            "must not contain '..'",
        ));
    }
    errs
}

fn resources(c: &Value, p: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(r) = c.get("resources").filter(|v| !v.is_null()) else {
        return errs;
    };
    let mut parsed = |which: &str| {
        let mut out = Vec::new();
        for (name, v) in map_of(r, which).into_iter().flatten() {
            let fp = crate::kinds::field::key(&child(p, which), name);
            for m in names::qualified_name(name) {
                errs.push(FieldError::invalid(&fp, json!(name), m));
            }
            match Quantity::from_value(v) {
                None => errs.push(FieldError::invalid(&fp, v.clone(), QUANTITY_FORMAT)),
                Some(q) if q.is_negative() => errs.push(FieldError::invalid(
                    &fp,
                    v.clone(),
                    "must be greater than or equal to 0",
                )),
                Some(q) => out.push((name.as_str(), v, q)),
            }
        }
        out
    };
    let limits = parsed("limits");
    let requests = parsed("requests");
    for (name, v, q) in requests {
        if let Some((_, lv, l)) = limits.iter().find(|(n, _, _)| *n == name) {
            if q > *l {
                let lim = lv
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| lv.to_string());
                errs.push(FieldError::invalid(
                    crate::kinds::field::key(&child(p, "requests"), name),
                    json!(v
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())),
                    format!("must be less than or equal to {name} limit of {lim}"),
                ));
            }
        }
    }
    errs
}
