//! Pod and pod template defaults (`SetDefaults_Pod`, `SetDefaults_PodSpec`, `SetDefaults_Container`
//! and the nested port, probe, volume and env defaults of `pkg/apis/core/v1/defaults.go`).

use serde_json::{json, Map, Value};

use crate::kinds::field::{each_mut, has, obj_mut, set_default};

/// Defaults of a whole Pod: the pod spec defaults plus what only Pods (not templates) get:
/// requests copied from limits, `enableServiceLinks: true` and host ports on host network.
pub fn pod(obj: &mut Value) {
    let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) else {
        return;
    };
    pod_spec(spec);
    for list in ["containers", "initContainers"] {
        each_mut(spec, list, requests_from_limits);
    }
    set_default(spec, "enableServiceLinks", json!(true));
    if spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
        for list in ["containers", "initContainers"] {
            each_mut(spec, list, |c| {
                each_mut(c, "ports", host_port_from_container_port)
            });
        }
    }
}

/// Defaults of a `PodSpec`, also applied to the pod templates of workloads.
pub fn pod_spec(spec: &mut Value) {
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "restartPolicy", json!("Always"));
    if !has(spec, "securityContext") {
        spec["securityContext"] = json!({});
    }
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    // v1 keeps the deprecated `serviceAccount` alias in step with `serviceAccountName`.
    let sa = spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .or_else(|| spec.get("serviceAccount").and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if let Some(sa) = sa {
        spec["serviceAccountName"] = json!(sa);
        spec["serviceAccount"] = json!(sa);
    }
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        each_mut(spec, list, container);
    }
    each_mut(spec, "volumes", volume);
}

/// `SetDefaults_Container` and the defaults of what a container holds.
fn container(c: &mut Value) {
    if !c.is_object() {
        return;
    }
    let policy = if image_tag_is_latest(c.get("image").and_then(Value::as_str).unwrap_or("")) {
        "Always"
    } else {
        "IfNotPresent"
    };
    set_default(c, "imagePullPolicy", json!(policy));
    set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
    set_default(c, "terminationMessagePolicy", json!("File"));
    each_mut(c, "ports", |p| set_default(p, "protocol", json!("TCP")));
    for probe_name in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(probe_name).filter(|p| p.is_object()) {
            probe(p);
        }
    }
    if let Some(lc) = c.get_mut("lifecycle").filter(|l| l.is_object()) {
        for hook in ["postStart", "preStop"] {
            if let Some(h) = lc.get_mut(hook).and_then(|h| h.get_mut("httpGet")) {
                http_get(h);
            }
        }
    }
    each_mut(c, "env", |e| {
        if let Some(f) = e.pointer_mut("/valueFrom/fieldRef") {
            set_default(f, "apiVersion", json!("v1"));
        }
    });
}

/// `SetDefaults_Probe` and its handler defaults.
fn probe(p: &mut Value) {
    for (k, v) in [
        ("timeoutSeconds", 1),
        ("periodSeconds", 10),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ] {
        if p.get(k).and_then(Value::as_i64).unwrap_or(0) == 0 {
            p[k] = json!(v);
        }
    }
    if let Some(h) = p.get_mut("httpGet") {
        http_get(h);
    }
    if let Some(g) = p.get_mut("grpc").filter(|g| g.is_object()) {
        set_default(g, "service", json!(""));
    }
}

fn http_get(h: &mut Value) {
    if h.is_object() {
        set_default(h, "path", json!("/"));
        set_default(h, "scheme", json!("HTTP"));
    }
}

/// The volume source keys of a `Volume`, as upstream's `VolumeSource` has them.
pub const VOLUME_SOURCES: &[&str] = &[
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];

/// `SetDefaults_Volume` and the per-source defaults (file modes 0644, hostPath type "").
fn volume(v: &mut Value) {
    let Some(m) = v.as_object_mut() else { return };
    if !VOLUME_SOURCES
        .iter()
        .any(|s| m.get(*s).is_some_and(|x| !x.is_null()))
    {
        m.insert("emptyDir".into(), Value::Object(Map::new()));
    }
    for src in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(s) = v.get_mut(src).filter(|s| s.is_object()) {
            set_default(s, "defaultMode", json!(420));
        }
    }
    if let Some(h) = v.get_mut("hostPath").filter(|s| s.is_object()) {
        if !has(h, "type") {
            h["type"] = json!("");
        }
    }
    if let Some(d) = v.get_mut("downwardAPI") {
        each_mut(d, "items", |i| {
            if let Some(f) = i.get_mut("fieldRef") {
                set_default(f, "apiVersion", json!("v1"));
            }
        });
    }
    if let Some(p) = v.get_mut("projected") {
        each_mut(p, "sources", |s| {
            if let Some(t) = s.get_mut("serviceAccountToken").filter(|t| t.is_object()) {
                set_default(t, "expirationSeconds", json!(3600));
            }
            if let Some(d) = s.get_mut("downwardAPI") {
                each_mut(d, "items", |i| {
                    if let Some(f) = i.get_mut("fieldRef") {
                        set_default(f, "apiVersion", json!("v1"));
                    }
                });
            }
        });
    }
}

/// Requests default to limits for every resource that has a limit but no request.
fn requests_from_limits(c: &mut Value) {
    let Some(limits) = c
        .pointer("/resources/limits")
        .and_then(Value::as_object)
        .cloned()
    else {
        return;
    };
    let Some(resources) = obj_mut(c, "resources") else {
        return;
    };
    let requests = resources
        .entry("requests")
        .or_insert_with(|| Value::Object(Map::new()));
    if !requests.is_object() {
        *requests = Value::Object(Map::new());
    }
    if let Some(r) = requests.as_object_mut() {
        for (k, v) in limits {
            r.entry(k).or_insert(v);
        }
    }
}

fn host_port_from_container_port(p: &mut Value) {
    let cp = p.get("containerPort").cloned();
    if p.get("hostPort").and_then(Value::as_i64).unwrap_or(0) == 0 {
        if let Some(cp) = cp {
            p["hostPort"] = cp;
        }
    }
}

/// What `parsers.ParseImageName` decides: no tag and no digest, or the tag `latest`, pulls
/// `Always`.
pub fn image_tag_is_latest(image: &str) -> bool {
    if image.is_empty() {
        return false;
    }
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    // A tag is a `:` after the last `/` (a `:` before it is a registry port).
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.split_once(':') {
        Some((_, tag)) => tag == "latest",
        None => digest.is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_pull_policy_follows_the_tag() {
        assert!(image_tag_is_latest("nginx"));
        assert!(image_tag_is_latest("nginx:latest"));
        assert!(image_tag_is_latest("localhost:5000/nginx"));
        assert!(!image_tag_is_latest("localhost:5000/nginx:1.25"));
        assert!(!image_tag_is_latest("nginx@sha256:abc"));
        assert!(!image_tag_is_latest("nginx:1.25@sha256:abc"));
    }

    #[test]
    fn pod_gets_upstream_defaults() {
        let mut p = json!({"spec": {
            "containers": [{"name": "c", "image": "nginx:1.25",
                "ports": [{"containerPort": 80}],
                "resources": {"limits": {"cpu": "1"}},
                "livenessProbe": {"httpGet": {"port": 80}}}],
            "volumes": [{"name": "s", "secret": {"secretName": "x"}}, {"name": "e"},
                {"name": "h", "hostPath": {"path": "/x"}}]}});
        pod(&mut p);
        let s = &p["spec"];
        assert_eq!(s["restartPolicy"], "Always");
        assert_eq!(s["dnsPolicy"], "ClusterFirst");
        assert_eq!(s["terminationGracePeriodSeconds"], 30);
        assert_eq!(s["schedulerName"], "default-scheduler");
        assert_eq!(s["securityContext"], json!({}));
        assert_eq!(s["enableServiceLinks"], true);
        let c = &s["containers"][0];
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(c["terminationMessagePolicy"], "File");
        assert_eq!(c["ports"][0]["protocol"], "TCP");
        assert_eq!(c["resources"]["requests"], json!({"cpu": "1"}));
        assert_eq!(
            c["livenessProbe"],
            json!({"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
                "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
        );
        assert_eq!(s["volumes"][0]["secret"]["defaultMode"], 420);
        assert_eq!(s["volumes"][1]["emptyDir"], json!({}));
        assert_eq!(s["volumes"][2]["hostPath"]["type"], "");
    }

    #[test]
    fn template_spec_defaults_leave_pod_only_fields_alone() {
        let mut spec = json!({"containers": [{"name": "c", "image": "nginx",
            "resources": {"limits": {"cpu": "1"}}}], "serviceAccount": "sa"});
        pod_spec(&mut spec);
        assert_eq!(spec["containers"][0]["imagePullPolicy"], "Always");
        assert!(spec.get("enableServiceLinks").is_none());
        assert!(spec["containers"][0]["resources"].get("requests").is_none());
        assert_eq!(spec["serviceAccountName"], "sa");
    }

    #[test]
    fn defaults_are_idempotent_and_keep_explicit_values() {
        let mut p = json!({"spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "c", "image": "x", "imagePullPolicy": "Never"}]}});
        pod(&mut p);
        let once = p.clone();
        pod(&mut p);
        assert_eq!(p, once);
        assert_eq!(p["spec"]["restartPolicy"], "Never");
        assert_eq!(p["spec"]["terminationGracePeriodSeconds"], 0);
        assert_eq!(p["spec"]["containers"][0]["imagePullPolicy"], "Never");
    }
}
