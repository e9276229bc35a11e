//! Pod rows: upstream's `printPod` (READY, STATUS with init-container and container
//! reasons, RESTARTS with the age of the last restart, and the wide columns).

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::age::{parse_time, since, since_time};
use super::format::{arr_of, int_of, or_none, str_of};

/// Reason kubelet's node controller sets on pods of an unreachable node.
const NODE_UNREACHABLE_POD_REASON: &str = "NodeLost";

/// Whether the init container named `name` is a sidecar (`restartPolicy: Always`).
fn is_restartable_init(spec: &Value, name: &str) -> bool {
    arr_of(&spec["initContainers"])
        .iter()
        .any(|c| str_of(&c["name"]) == name && str_of(&c["restartPolicy"]) == "Always")
}

fn condition_true(status: &Value, ty: &str) -> bool {
    arr_of(&status["conditions"])
        .iter()
        .any(|c| str_of(&c["type"]) == ty && str_of(&c["status"]) == "True")
}

/// The finish time of the container's last termination, if any.
fn last_termination(cs: &Value) -> Option<DateTime<Utc>> {
    let term = &cs["lastState"]["terminated"];
    if term.is_object() {
        // A missing finishedAt is Go's zero time: never later than another date.
        parse_time(&term["finishedAt"])
    } else {
        None
    }
}

fn later(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// `Signal:N` / `ExitCode:N` for a terminated state without a reason.
fn exit_reason(term: &Value) -> String {
    let signal = int_of(&term["signal"]);
    if signal != 0 {
        format!("Signal:{signal}")
    } else {
        format!("ExitCode:{}", int_of(&term["exitCode"]))
    }
}

/// The STATUS, READY and RESTARTS values of a pod.
struct PodSummary {
    reason: String,
    ready: i64,
    total: i64,
    restarts: i64,
    last_restart: Option<DateTime<Utc>>,
}

fn summarize(pod: &Value) -> PodSummary {
    let spec = &pod["spec"];
    let status = &pod["status"];
    let phase = str_of(&status["phase"]);
    let mut reason = phase.to_string();
    if !str_of(&status["reason"]).is_empty() {
        reason = str_of(&status["reason"]).to_string();
    }
    for c in arr_of(&status["conditions"]) {
        if str_of(&c["type"]) == "PodScheduled" && str_of(&c["reason"]) == "SchedulingGated" {
            reason = "SchedulingGated".to_string();
        }
    }

    let init_specs = arr_of(&spec["initContainers"]);
    let mut total = arr_of(&spec["containers"]).len() as i64;
    total += init_specs
        .iter()
        .filter(|c| str_of(&c["restartPolicy"]) == "Always")
        .count() as i64;
    let mut ready = 0;
    let mut restarts = 0;
    let mut sidecar_restarts = 0;
    let mut last_restart = None;
    let mut last_sidecar_restart = None;

    let mut initializing = false;
    for (i, cs) in arr_of(&status["initContainerStatuses"]).iter().enumerate() {
        restarts += int_of(&cs["restartCount"]);
        last_restart = later(last_restart, last_termination(cs));
        let sidecar = is_restartable_init(spec, str_of(&cs["name"]));
        if sidecar {
            sidecar_restarts += int_of(&cs["restartCount"]);
            last_sidecar_restart = later(last_sidecar_restart, last_termination(cs));
        }
        let terminated = &cs["state"]["terminated"];
        let waiting_reason = str_of(&cs["state"]["waiting"]["reason"]);
        if terminated.is_object() && int_of(&terminated["exitCode"]) == 0 {
            continue;
        }
        if sidecar && cs["started"].as_bool() == Some(true) {
            if cs["ready"].as_bool() == Some(true) {
                ready += 1;
            }
            continue;
        }
        if terminated.is_object() {
            let r = str_of(&terminated["reason"]);
            reason = if r.is_empty() {
                format!("Init:{}", exit_reason(terminated))
            } else {
                format!("Init:{r}")
            };
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{i}/{}", init_specs.len());
        }
        initializing = true;
        break;
    }

    if !initializing || condition_true(status, "Initialized") {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for cs in arr_of(&status["containerStatuses"]).iter().rev() {
            restarts += int_of(&cs["restartCount"]);
            last_restart = later(last_restart, last_termination(cs));
            let state = &cs["state"];
            let waiting = str_of(&state["waiting"]["reason"]);
            let terminated = &state["terminated"];
            if state["waiting"].is_object() && !waiting.is_empty() {
                reason = waiting.to_string();
            } else if terminated.is_object() && !str_of(&terminated["reason"]).is_empty() {
                reason = str_of(&terminated["reason"]).to_string();
            } else if terminated.is_object() {
                reason = exit_reason(terminated);
            } else if cs["ready"].as_bool() == Some(true) && state["running"].is_object() {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if condition_true(status, "Ready") {
                "Running".to_string()
            } else {
                "NotReady".to_string()
            };
        }
    }

    let deleting = !pod["metadata"]["deletionTimestamp"].is_null();
    if deleting && str_of(&status["reason"]) == NODE_UNREACHABLE_POD_REASON {
        reason = "Unknown".to_string();
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".to_string();
    }
    PodSummary {
        reason,
        ready,
        total,
        restarts,
        last_restart,
    }
}

/// The wide READINESS GATES cell: `true/total`, `<none>` without gates.
fn readiness_gates(pod: &Value) -> String {
    let gates = arr_of(&pod["spec"]["readinessGates"]);
    if gates.is_empty() {
        return "<none>".to_string();
    }
    let conditions = arr_of(&pod["status"]["conditions"]);
    let true_count = gates
        .iter()
        .filter(|g| {
            let ty = str_of(&g["conditionType"]);
            conditions
                .iter()
                .find(|c| str_of(&c["type"]) == ty)
                .is_some_and(|c| str_of(&c["status"]) == "True")
        })
        .count();
    format!("{true_count}/{}", gates.len())
}

/// The pod's primary IP (`status.podIPs[0]`, else `status.podIP`), as upstream's internal
/// conversion fills `podIPs` from `podIP`.
pub fn primary_ip(pod: &Value) -> String {
    match arr_of(&pod["status"]["podIPs"]).first() {
        Some(ip) => str_of(&ip["ip"]).to_string(),
        None => str_of(&pod["status"]["podIP"]).to_string(),
    }
}

/// Row conditions upstream attaches to finished pods.
pub fn conditions(pod: &Value) -> Option<Value> {
    match str_of(&pod["status"]["phase"]) {
        "Succeeded" => Some(
            json!([{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}]),
        ),
        "Failed" => Some(
            json!([{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]),
        ),
        _ => None,
    }
}

/// The cells of one pod row (wide columns included, as the server always prints them).
pub fn cells(pod: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let sum = summarize(pod);
    let restarts = match sum.last_restart {
        Some(t) if sum.restarts != 0 => {
            format!("{} ({} ago)", sum.restarts, since_time(t, now))
        }
        _ => sum.restarts.to_string(),
    };
    vec![
        json!(str_of(&pod["metadata"]["name"])),
        json!(format!("{}/{}", sum.ready, sum.total)),
        json!(sum.reason),
        json!(restarts),
        json!(since(&pod["metadata"]["creationTimestamp"], now)),
        json!(or_none(primary_ip(pod))),
        json!(or_none(str_of(&pod["spec"]["nodeName"]))),
        json!(or_none(str_of(&pod["status"]["nominatedNodeName"]))),
        json!(readiness_gates(pod)),
    ]
}
