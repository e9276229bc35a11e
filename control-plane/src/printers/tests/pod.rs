use serde_json::{json, Value};

use super::{ago, kind, now};
use crate::printers::{row, IncludeObject};

/// READY, STATUS, RESTARTS of a pod.
fn summary(pod: &Value) -> (String, String, String) {
    let r = row(kind("Pod"), pod, IncludeObject::None, now());
    let c = r["cells"].as_array().unwrap();
    (
        c[1].as_str().unwrap().to_string(),
        c[2].as_str().unwrap().to_string(),
        c[3].as_str().unwrap().to_string(),
    )
}

fn pod(spec: Value, status: Value) -> Value {
    json!({"metadata": {"name": "web", "creationTimestamp": ago(45)}, "spec": spec, "status": status})
}

fn one_container() -> Value {
    json!({"containers": [{"name": "c"}]})
}

fn s(a: &str, b: &str, c: &str) -> (String, String, String) {
    (a.into(), b.into(), c.into())
}

#[test]
fn running_pod_prints_ready_running_and_wide_cells() {
    let p = json!({
        "metadata": {"name": "web", "creationTimestamp": ago(45)},
        "spec": {"containers": [{"name": "c"}], "nodeName": "n1",
                 "readinessGates": [{"conditionType": "example.com/lb"}, {"conditionType": "example.com/dns"}]},
        "status": {"phase": "Running", "podIP": "10.42.0.5", "podIPs": [{"ip": "10.42.0.5"}, {"ip": "fd00::5"}],
                   "conditions": [{"type": "Ready", "status": "True"}, {"type": "example.com/lb", "status": "True"}],
                   "containerStatuses": [{"name": "c", "ready": true, "restartCount": 0, "state": {"running": {}}}]}
    });
    let r = row(kind("Pod"), &p, IncludeObject::None, now());
    assert_eq!(
        r["cells"],
        json!([
            "web",
            "1/1",
            "Running",
            "0",
            "45s",
            "10.42.0.5",
            "n1",
            "<none>",
            "1/2"
        ])
    );
    assert!(r.get("conditions").is_none());
    let pending = pod(one_container(), json!({"phase": "Pending"}));
    let r = row(kind("Pod"), &pending, IncludeObject::None, now());
    assert_eq!(
        r["cells"],
        json!(["web", "0/1", "Pending", "0", "45s", "<none>", "<none>", "<none>", "<none>"])
    );
    let only_pod_ip = pod(
        one_container(),
        json!({"phase": "Running", "podIP": "10.42.0.9"}),
    );
    assert_eq!(
        row(kind("Pod"), &only_pod_ip, IncludeObject::None, now())["cells"][5],
        "10.42.0.9"
    );
}

#[test]
fn waiting_and_terminated_reasons_become_the_status() {
    let waiting = pod(
        one_container(),
        json!({"phase": "Pending", "containerStatuses": [
        {"name": "c", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]}),
    );
    assert_eq!(summary(&waiting), s("0/1", "ContainerCreating", "0"));
    let crash = pod(
        one_container(),
        json!({"phase": "Running", "containerStatuses": [
        {"name": "c", "ready": false, "restartCount": 5, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
         "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(300)}}}]}),
    );
    assert_eq!(summary(&crash), s("0/1", "CrashLoopBackOff", "5 (5m ago)"));
    let completed = pod(
        one_container(),
        json!({"phase": "Succeeded", "containerStatuses": [
        {"name": "c", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
    );
    assert_eq!(summary(&completed), s("0/1", "Completed", "0"));
    let signal = pod(
        one_container(),
        json!({"phase": "Failed", "containerStatuses": [
        {"name": "c", "state": {"terminated": {"exitCode": 137, "signal": 9}}}]}),
    );
    assert_eq!(summary(&signal).1, "Signal:9");
    let exit = pod(
        one_container(),
        json!({"phase": "Failed", "containerStatuses": [
        {"name": "c", "state": {"terminated": {"exitCode": 2}}}]}),
    );
    assert_eq!(summary(&exit).1, "ExitCode:2");
}

#[test]
fn finished_pods_carry_a_completed_row_condition() {
    let ok = pod(one_container(), json!({"phase": "Succeeded"}));
    let r = row(kind("Pod"), &ok, IncludeObject::None, now());
    assert_eq!(
        r["conditions"],
        json!([{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}])
    );
    let failed = pod(one_container(), json!({"phase": "Failed"}));
    assert_eq!(
        row(kind("Pod"), &failed, IncludeObject::None, now())["conditions"][0]["reason"],
        "Failed"
    );
}

#[test]
fn completed_container_with_another_running_reports_running_or_not_ready() {
    let spec = json!({"containers": [{"name": "a"}, {"name": "b"}]});
    let statuses = json!([
        {"name": "a", "ready": false, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
        {"name": "b", "ready": true, "state": {"running": {}}}
    ]);
    let ready = pod(
        spec.clone(),
        json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}], "containerStatuses": statuses}),
    );
    assert_eq!(summary(&ready), s("1/2", "Running", "0"));
    let not_ready = pod(
        spec,
        json!({"phase": "Running", "containerStatuses": statuses}),
    );
    assert_eq!(summary(&not_ready).1, "NotReady");
}

#[test]
fn init_containers_report_progress_and_failures() {
    let spec =
        json!({"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "c"}]});
    let progress = pod(
        spec.clone(),
        json!({"phase": "Pending", "initContainerStatuses": [
        {"name": "i1", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
        {"name": "i2", "state": {"running": {}}}]}),
    );
    assert_eq!(summary(&progress), s("0/1", "Init:1/2", "0"));
    let starting = pod(
        spec.clone(),
        json!({"phase": "Pending", "initContainerStatuses": [
        {"name": "i1", "state": {"waiting": {"reason": "PodInitializing"}}}]}),
    );
    assert_eq!(summary(&starting).1, "Init:0/2");
    let crash = pod(
        spec.clone(),
        json!({"phase": "Pending", "initContainerStatuses": [
        {"name": "i1", "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
         "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(120)}}}],
        "containerStatuses": [{"name": "c", "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}]}),
    );
    assert_eq!(
        summary(&crash),
        s("0/1", "Init:CrashLoopBackOff", "3 (2m ago)")
    );
    let failed = pod(
        spec.clone(),
        json!({"phase": "Failed", "initContainerStatuses": [
        {"name": "i1", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}),
    );
    assert_eq!(summary(&failed).1, "Init:Error");
    let signal = pod(
        spec,
        json!({"phase": "Pending", "initContainerStatuses": [
        {"name": "i1", "state": {"terminated": {"exitCode": 1, "signal": 15}}}]}),
    );
    assert_eq!(summary(&signal).1, "Init:Signal:15");
}

#[test]
fn sidecar_init_containers_count_as_containers() {
    let spec = json!({"initContainers": [{"name": "proxy", "restartPolicy": "Always"}], "containers": [{"name": "c"}]});
    let p = pod(
        spec,
        json!({"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}],
        "initContainerStatuses": [{"name": "proxy", "started": true, "ready": true, "restartCount": 2,
                                   "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(7200)}}}],
        "containerStatuses": [{"name": "c", "ready": true, "restartCount": 1, "state": {"running": {}},
                               "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(600)}}}]}),
    );
    assert_eq!(summary(&p), s("2/2", "Running", "3 (10m ago)"));
}

#[test]
fn deleting_pods_show_terminating_or_unknown() {
    let mut p = pod(
        one_container(),
        json!({"phase": "Running", "containerStatuses": [
        {"name": "c", "ready": true, "state": {"running": {}}}]}),
    );
    p["metadata"]["deletionTimestamp"] = json!(ago(5));
    assert_eq!(summary(&p).1, "Terminating");
    p["status"]["reason"] = json!("NodeLost");
    assert_eq!(summary(&p).1, "Unknown");
    let mut done = pod(
        one_container(),
        json!({"phase": "Succeeded", "containerStatuses": [
        {"name": "c", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
    );
    done["metadata"]["deletionTimestamp"] = json!(ago(5));
    assert_eq!(summary(&done).1, "Completed");
}

#[test]
fn pod_reason_and_scheduling_gates_override_the_phase() {
    let evicted = pod(
        one_container(),
        json!({"phase": "Failed", "reason": "Evicted"}),
    );
    assert_eq!(summary(&evicted).1, "Evicted");
    let gated = pod(
        one_container(),
        json!({"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}),
    );
    assert_eq!(summary(&gated).1, "SchedulingGated");
}
