//! End-to-end: real kubectl 1.27 and 1.33 against `skiff-control-plane` on its embedded store.
//! Every test runs each pinned kubectl version against a fresh server.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use skiff_tests::apiserver::{table_rows, ApiServer, Kubectl, KUBECTL_VERSIONS};
use skiff_tests::guard::{require, Need};

fn needs() {
    require(&[
        Need::File(
            "/usr/lib/google-cloud-sdk/bin/kubectl.1.27",
            "google-cloud-sdk (kubectl 1.27)",
        ),
        Need::File(
            "/usr/lib/google-cloud-sdk/bin/kubectl.1.33",
            "google-cloud-sdk (kubectl 1.33)",
        ),
    ]);
}

/// Runs `body` once per pinned kubectl version, each against its own fresh server.
fn each_kubectl(body: impl Fn(&Kubectl, &ApiServer)) {
    needs();
    for version in KUBECTL_VERSIONS {
        let server = ApiServer::start();
        let kubectl = Kubectl::new(version, &server);
        body(&kubectl, &server);
    }
}

const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: busybox:1.36
        ports: [{containerPort: 80}]
"#;

const POD: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: box, labels: {app: box}}
spec:
  containers: [{name: sh, image: busybox:1.36, command: [sleep, "3600"]}]
"#;

fn jsonpath(kubectl: &Kubectl, what: &[&str], path: &str) -> String {
    let arg = format!("jsonpath={path}");
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    args.extend_from_slice(&["-o", &arg]);
    kubectl.ok(&args)
}

fn header(text: &str) -> Vec<String> {
    table_rows(text).into_iter().next().unwrap_or_default()
}

#[test]
#[ignore = "needs the skiff-control-plane binary and kubectl 1.27/1.33"]
fn get_prints_server_side_table_columns() {
    each_kubectl(|k, _| {
        k.ok_stdin(&["create", "-f", "-"], POD);
        k.ok_stdin(&["create", "-f", "-"], DEPLOYMENT);
        k.ok_stdin(
            &["create", "-f", "-"],
            "apiVersion: v1\nkind: Node\nmetadata: {name: n1, labels: {node-role.kubernetes.io/control-plane: \"\"}}\n",
        );

        let pods = k.ok(&["get", "pods"]);
        assert_eq!(
            header(&pods),
            ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
            "{pods}"
        );
        let row = &table_rows(&pods)[1];
        assert_eq!(&row[..4], ["box", "0/1", "Pending", "0"], "{pods}");

        let wide = k.ok(&["get", "pods", "-o", "wide"]);
        assert_eq!(
            header(&wide),
            [
                "NAME",
                "READY",
                "STATUS",
                "RESTARTS",
                "AGE",
                "IP",
                "NODE",
                "NOMINATED NODE",
                "READINESS GATES"
            ],
            "{wide}"
        );

        let deploy = k.ok(&["get", "deployments"]);
        assert_eq!(
            header(&deploy),
            ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
            "{deploy}"
        );
        assert_eq!(
            &table_rows(&deploy)[1][..4],
            ["web", "0/1", "0", "0"],
            "{deploy}"
        );

        let svc = k.ok(&["get", "services"]);
        assert_eq!(
            header(&svc),
            [
                "NAME",
                "TYPE",
                "CLUSTER-IP",
                "EXTERNAL-IP",
                "PORT(S)",
                "AGE"
            ],
            "{svc}"
        );
        assert_eq!(
            &table_rows(&svc)[1][..5],
            ["kubernetes", "ClusterIP", "10.43.0.1", "<none>", "443/TCP"],
            "{svc}"
        );

        let nodes = k.ok(&["get", "nodes"]);
        assert_eq!(
            header(&nodes),
            ["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
            "{nodes}"
        );
        assert_eq!(
            &table_rows(&nodes)[1][..3],
            ["n1", "Unknown", "control-plane"],
            "{nodes}"
        );

        let ns = k.ok(&["get", "namespaces"]);
        let names: Vec<String> = table_rows(&ns)
            .iter()
            .skip(1)
            .map(|r| r[0].clone())
            .collect();
        for want in ["default", "kube-node-lease", "kube-public", "kube-system"] {
            assert!(
                names.iter().any(|n| n == want),
                "namespace {want} missing: {ns}"
            );
        }
        let sa = k.ok(&["get", "serviceaccounts", "-n", "kube-system"]);
        assert_eq!(header(&sa)[0], "NAME");
        assert!(sa.contains("default"), "{sa}");

        let all = k.ok(&["get", "all"]);
        assert!(
            all.contains("pod/box")
                && all.contains("deployment.apps/web")
                && all.contains("service/kubernetes"),
            "{all}"
        );
    });
}

#[test]
#[ignore = "needs the skiff-control-plane binary and kubectl 1.27/1.33"]
fn missing_objects_and_bad_input_answer_with_status_errors() {
    each_kubectl(|k, _| {
        let err = k.fails(&["get", "pod", "nope"]);
        assert!(
            err.contains("(NotFound)") && err.contains("pods \"nope\" not found"),
            "{err}"
        );
        k.ok_stdin(&["create", "-f", "-"], POD);
        let dup = k.run_stdin(&["create", "-f", "-"], POD);
        assert!(
            !dup.success && dup.stderr.contains("(AlreadyExists)"),
            "{}",
            dup.stderr
        );
        let invalid = k.run_stdin(
            &["create", "-f", "-"],
            "apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec: {containers: [{name: c}]}\n",
        );
        assert!(
            !invalid.success && invalid.stderr.contains("spec.containers[0].image"),
            "{}",
            invalid.stderr
        );
        let unknown = k.run_stdin(
            &["create", "-f", "-"],
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\nbogus: 1\n",
        );
        assert!(
            !unknown.success && unknown.stderr.contains("bogus"),
            "{}",
            unknown.stderr
        );
        k.fails(&["get", "configmap", "cm"]);
    });
}

#[test]
#[ignore = "needs the skiff-control-plane binary and kubectl 1.27/1.33"]
fn create_and_apply_twice_with_a_change() {
    each_kubectl(|k, _| {
        k.ok_stdin(
            &["create", "-f", "-"],
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c1}\ndata: {a: '1'}\n",
        );
        assert_eq!(jsonpath(k, &["configmap", "c1"], "{.data.a}"), "1");

        let out = k.ok_stdin(&["apply", "-f", "-"], DEPLOYMENT);
        assert!(out.contains("deployment.apps/web created"), "{out}");
        let changed = DEPLOYMENT
            .replace("replicas: 1", "replicas: 2")
            .replace("busybox:1.36", "busybox:1.37");
        let out = k.ok_stdin(&["apply", "-f", "-"], &changed);
        assert!(out.contains("deployment.apps/web configured"), "{out}");
        assert_eq!(jsonpath(k, &["deploy", "web"], "{.spec.replicas}"), "2");
        assert_eq!(
            jsonpath(
                k,
                &["deploy", "web"],
                "{.spec.template.spec.containers[0].image}"
            ),
            "busybox:1.37"
        );
        assert_eq!(
            jsonpath(k, &["deploy", "web"], "{.metadata.generation}"),
            "2"
        );
        let out = k.ok_stdin(&["apply", "-f", "-"], &changed);
        assert!(out.contains("deployment.apps/web unchanged"), "{out}");
        assert_eq!(
            jsonpath(k, &["deploy", "web"], "{.metadata.generation}"),
            "2"
        );
    });
}

#[test]
#[ignore = "needs the skiff-control-plane binary and kubectl 1.27/1.33"]
fn apply_server_side_records_the_manager_and_reports_conflicts() {
    each_kubectl(|k, _| {
        let out = k.ok_stdin(&["apply", "--server-side", "-f", "-"], DEPLOYMENT);
        assert!(out.contains("serverside-applied"), "{out}");
        let managers = jsonpath(
            k,
            &["deploy", "web"],
            "{.metadata.managedFields[*].manager}",
        );
        assert!(managers.contains("kubectl"), "{managers}");
        k.ok(&["scale", "deployment", "web", "--replicas=3"]);
        let conflict = k.run_stdin(&["apply", "--server-side", "-f", "-"], DEPLOYMENT);
        assert!(
            !conflict.success && conflict.stderr.contains("conflict"),
            "{}",
            conflict.stderr
        );
        k.ok_stdin(
            &["apply", "--server-side", "--force-conflicts", "-f", "-"],
            DEPLOYMENT,
        );
        assert_eq!(jsonpath(k, &["deploy", "web"], "{.spec.replicas}"), "1");
    });
}

#[test]
#[ignore = "needs the skiff-control-plane binary and kubectl 1.27/1.33"]
fn diff_reports_changes_by_exit_code() {
    each_kubectl(|k, _| {
        k.ok_stdin(&["apply", "-f", "-"], DEPLOYMENT);
        let same = k.run_stdin(&["diff", "-f", "-"], DEPLOYMENT);
        assert!(
            same.success,
            "no change must exit 0: {} {}",
            same.stdout, same.stderr
        );
        let changed = k.run_stdin(
            &["diff", "-f", "-"],
            &DEPLOYMENT.replace("replicas: 1", "replicas: 4"),
        );
        assert!(
            !changed.success && changed.stdout.contains("replicas: 4"),
            "{} {}",
            changed.stdout,
            changed.stderr
        );
        assert_eq!(
            jsonpath(k, &["deploy", "web"], "{.spec.replicas}"),
            "1",
            "diff must not change the object"
        );
    });
}

#[test]
#[ignore = "needs the skiff-control-plane binary and kubectl 1.27/1.33"]
fn patch_with_each_patch_type() {
    each_kubectl(|k, _| {
        k.ok_stdin(&["create", "-f", "-"], DEPLOYMENT);
        k.ok(&[
            "patch",
            "deployment",
            "web",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox:1.36"}]}}}}"#,
        ]);
        assert_eq!(
            jsonpath(
                k,
                &["deploy", "web"],
                "{.spec.template.spec.containers[*].name}"
            ),
            "side web"
        );
        k.ok(&[
            "patch",
            "deployment",
            "web",
            "--type=merge",
            "-p",
            r#"{"metadata":{"labels":{"tier":"front"}}}"#,
        ]);
        assert_eq!(
            jsonpath(k, &["deploy", "web"], "{.metadata.labels.tier}"),
            "front"
        );
        k.ok(&[
            "patch",
            "deployment",
            "web",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/replicas","value":5}]"#,
        ]);
        assert_eq!(jsonpath(k, &["deploy", "web"], "{.spec.replicas}"), "5");
        let err = k.fails(&[
            "patch",
            "deployment",
            "web",
            "--type=json",
            "-p",
            r#"[{"op":"test","path":"/spec/replicas","value":9}]"#,
        ]);
        assert!(
            err.contains("invalid") && err.contains("test failed"),
            "{err}"
        );
        assert_eq!(
            jsonpath(k, &["deploy", "web"], "{.spec.replicas}"),
            "5",
            "a failed patch changes nothing"
        );
    });
}

#[test]
#[ignore = "needs the skiff-control-plane binary and kubectl 1.27/1.33"]
fn label_annotate_and_scale() {
    each_kubectl(|k, _| {
        k.ok_stdin(&["create", "-f", "-"], DEPLOYMENT);
        k.ok(&["label", "deployment", "web", "env=prod"]);
        assert_eq!(
            jsonpath(k, &["deploy", "web"], "{.metadata.labels.env}"),
            "prod"
        );
        k.fails(&["label", "deployment", "web", "env=dev"]);
        k.ok(&["label", "deployment", "web", "env=dev", "--overwrite"]);
        assert_eq!(
            k.ok(&["get", "deploy", "-l", "env=dev", "-o", "name"])
                .trim(),
            "deployment.apps/web"
        );
        k.ok(&["label", "deployment", "web", "env-"]);
        assert_eq!(
            jsonpath(k, &["deploy", "web"], "{.metadata.labels.env}"),
            ""
        );
        k.ok(&["annotate", "deployment", "web", "note=hello"]);
        assert_eq!(
            jsonpath(k, &["deploy", "web"], "{.metadata.annotations.note}"),
            "hello"
        );
        k.ok(&["scale", "deployment", "web", "--replicas=3"]);
        assert_eq!(jsonpath(k, &["deploy", "web"], "{.spec.replicas}"), "3");
        k.ok(&[
            "scale",
            "deployment",
            "web",
            "--replicas=0",
            "--current-replicas=3",
        ]);
        assert_eq!(jsonpath(k, &["deploy", "web"], "{.spec.replicas}"), "0");
    });
}

#[test]
#[ignore = "needs the skiff-control-plane binary and kubectl 1.27/1.33"]
fn delete_with_each_cascade_mode() {
    each_kubectl(|k, _| {
        // Background: gone at once (dependents are the garbage collector's job).
        k.ok(&["create", "configmap", "bg"]);
        let out = k.ok(&["delete", "configmap", "bg", "--cascade=background"]);
        assert!(out.contains("deleted"), "{out}");
        k.fails(&["get", "configmap", "bg"]);
        // Foreground and orphan are recorded as upstream does, as a finalizer on the terminating
        // object, for the garbage collector to finish.
        for (name, cascade, finalizer) in [
            ("fg", "foreground", "foregroundDeletion"),
            ("or", "orphan", "orphan"),
        ] {
            k.ok(&["create", "configmap", name]);
            k.ok(&[
                "delete",
                "configmap",
                name,
                &format!("--cascade={cascade}"),
                "--wait=false",
            ]);
            assert_eq!(
                jsonpath(k, &["configmap", name], "{.metadata.finalizers}"),
                format!("[\"{finalizer}\"]")
            );
            assert_ne!(
                jsonpath(k, &["configmap", name], "{.metadata.deletionTimestamp}"),
                ""
            );
            // Removing the finalizer (what the garbage collector does) completes the deletion.
            k.ok(&[
                "patch",
                "configmap",
                name,
                "--type=json",
                "-p",
                r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
            ]);
            k.fails(&["get", "configmap", name]);
        }
        // A bound pod is deleted gracefully: it stays, terminating, until the kubelet finishes it.
        k.ok_stdin(
            &["create", "-f", "-"],
            &POD.replace("spec:\n", "spec:\n  nodeName: n1\n"),
        );
        k.ok(&["delete", "pod", "box", "--wait=false"]);
        assert_ne!(
            jsonpath(k, &["pod", "box"], "{.metadata.deletionTimestamp}"),
            ""
        );
        assert_eq!(
            jsonpath(k, &["pod", "box"], "{.metadata.deletionGracePeriodSeconds}"),
            "30"
        );
        k.ok(&["delete", "pod", "box", "--grace-period=0", "--force"]);
        k.fails(&["get", "pod", "box"]);
        // deletecollection by label.
        for n in ["a", "b", "c"] {
            k.ok(&["create", "configmap", n]);
            k.ok(&["label", "configmap", n, "group=x"]);
        }
        k.ok(&["delete", "configmaps", "-l", "group=x"]);
        assert_eq!(
            k.ok(&["get", "configmaps", "-l", "group=x", "-o", "name"])
                .trim(),
            ""
        );
    });
}

#[test]
#[ignore = "needs the skiff-control-plane binary and kubectl 1.27/1.33"]
fn get_watch_streams_changes() {
    each_kubectl(|k, _| {
        let mut watch = k.spawn(&["get", "configmaps", "-w", "--no-headers"]);
        let stdout = watch.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        std::thread::sleep(Duration::from_millis(500));
        k.ok(&["create", "configmap", "watched", "--from-literal=a=b"]);
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        while !seen.iter().any(|l: &String| l.starts_with("watched")) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => seen.push(line),
                Err(_) => panic!("kubectl get -w never printed the new configmap; saw {seen:?}"),
            }
        }
        let _ = watch.kill();
        let _ = watch.wait();
        let line = seen.iter().find(|l| l.starts_with("watched")).unwrap();
        assert!(
            line.split_whitespace().nth(1) == Some("1"),
            "DATA column in watch row: {line}"
        );
    });
}

#[test]
#[ignore = "needs the skiff-control-plane binary and kubectl 1.27/1.33"]
fn wait_for_condition_and_delete() {
    each_kubectl(|k, _| {
        k.ok_stdin(&["create", "-f", "-"], POD);
        let waiter = k.spawn(&["wait", "--for=condition=Ready", "pod/box", "--timeout=30s"]);
        std::thread::sleep(Duration::from_millis(500));
        k.ok(&[
            "patch",
            "pod",
            "box",
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}"#,
        ]);
        let out = waiter.wait_with_output().expect("kubectl wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("condition met"));
        let gone = k.spawn(&["wait", "--for=delete", "pod/box", "--timeout=30s"]);
        k.ok(&["delete", "pod", "box", "--wait=false"]);
        assert!(gone
            .wait_with_output()
            .expect("kubectl wait")
            .status
            .success());
    });
}

#[test]
#[ignore = "needs the skiff-control-plane binary and kubectl 1.27/1.33"]
fn explain_reads_the_openapi_documents() {
    each_kubectl(|k, _| {
        let out = k.ok(&["explain", "pods.spec.containers"]);
        assert!(out.contains("KIND:") && out.contains("Pod"), "{out}");
        assert!(out.contains("image"), "{out}");
        let out = k.ok(&["explain", "deployments.spec.strategy"]);
        assert!(out.contains("rollingUpdate"), "{out}");
    });
}

#[test]
#[ignore = "needs the skiff-control-plane binary and kubectl 1.27/1.33"]
fn create_generators_work() {
    each_kubectl(|k, _| {
        k.ok(&["create", "namespace", "team"]);
        assert_eq!(
            jsonpath(k, &["namespace", "team"], "{.status.phase}"),
            "Active"
        );
        k.ok(&[
            "create",
            "deployment",
            "web",
            "--image=busybox:1.36",
            "--replicas=2",
            "-n",
            "team",
        ]);
        assert_eq!(
            jsonpath(k, &["deploy", "web", "-n", "team"], "{.spec.replicas}"),
            "2"
        );
        assert_eq!(
            jsonpath(
                k,
                &["deploy", "web", "-n", "team"],
                "{.spec.template.spec.containers[0].image}"
            ),
            "busybox:1.36"
        );
        k.ok(&[
            "create",
            "configmap",
            "cfg",
            "--from-literal=key=value",
            "-n",
            "team",
        ]);
        assert_eq!(
            jsonpath(k, &["configmap", "cfg", "-n", "team"], "{.data.key}"),
            "value"
        );
        k.ok(&[
            "create",
            "secret",
            "generic",
            "pw",
            "--from-literal=password=s3cret",
            "-n",
            "team",
        ]);
        assert_eq!(
            jsonpath(k, &["secret", "pw", "-n", "team"], "{.data.password}"),
            "czNjcmV0"
        );
        k.ok(&[
            "create",
            "service",
            "clusterip",
            "web",
            "--tcp=80:8080",
            "-n",
            "team",
        ]);
        let ip = jsonpath(k, &["service", "web", "-n", "team"], "{.spec.clusterIP}");
        assert!(ip.starts_with("10.43.") && ip != "10.43.0.1", "{ip}");
        k.ok(&[
            "create",
            "service",
            "nodeport",
            "np",
            "--tcp=80:8080",
            "-n",
            "team",
        ]);
        let port: u16 = jsonpath(
            k,
            &["service", "np", "-n", "team"],
            "{.spec.ports[0].nodePort}",
        )
        .parse()
        .unwrap();
        assert!((30000..=32767).contains(&port), "{port}");
        k.ok(&["create", "serviceaccount", "robot", "-n", "team"]);
        assert_eq!(
            jsonpath(
                k,
                &["serviceaccount", "default", "-n", "team"],
                "{.metadata.name}"
            ),
            "default"
        );
    });
}
