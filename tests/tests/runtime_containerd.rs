//! The containerd implementation of the runtime layer against a real private containerd: a
//! locally built busybox image pulled from a loopback registry and imported from tarballs,
//! container output read back in CRI format, exec, stop with grace, OOM kills, pods sharing
//! network and hostname, a client restarted in the middle, and 50 concurrent starts. After
//! each test no container, task, snapshot, lease or mount is left.

use std::collections::BTreeMap;
use std::time::Duration;

use skiff_runtime::logs;
use skiff_runtime::reference::ImageReference;
use skiff_runtime::service::{
    ArchiveFormat, ContainerFilter, ContainerId, ContainerState, ExitReason, ImageService,
    RuntimeEvent, RuntimeService, SandboxFilter, SandboxId, SandboxState, ServiceError,
};
use skiff_tests::images::{self, LocalRegistry};
use skiff_tests::runtime::{
    busybox_container, busybox_ref, cmd, ctr, exec_ok, next_event, next_exit, run_container,
    run_ok, wait_exited, wait_status, RuntimeFixture,
};

/// Reads a container's CRI log with the crate's parser: `(stream, line)` of every entry, in
/// order, each complete (ended by a newline).
fn read_log(path: &std::path::Path) -> Vec<(String, String)> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read log {}: {e}", path.display()));
    logs::parse_log(&bytes)
        .unwrap_or_else(|e| panic!("{} is not in CRI format: {e}", path.display()))
        .into_iter()
        .map(|entry| {
            assert!(entry.complete, "{entry:?}");
            let content = String::from_utf8(entry.content).expect("UTF-8 log line");
            (entry.stream.as_str().to_string(), content)
        })
        .collect()
}

/// Lines a container wrote to `stream`.
fn log_lines(path: &std::path::Path, stream: &str) -> Vec<String> {
    read_log(path)
        .into_iter()
        .filter(|(s, _)| s == stream)
        .map(|(_, l)| l)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd, runc and docker-registry: pulls from a loopback registry"]
async fn image_pulled_from_a_loopback_registry_runs_and_its_removal_frees_every_layer() {
    skiff_tests::guard::require(&[skiff_tests::guard::Need::Tool(
        "docker-registry",
        "docker-registry",
    )]);
    let fx = RuntimeFixture::start().await;
    let layout = images::busybox_oci_layout(&fx.scratch());
    let registry = LocalRegistry::start();
    let pushed = registry.push_oci_layout(&layout, "skiff/busybox", "1.36");
    let reference =
        ImageReference::parse(&format!("{}/skiff/busybox:1.36", registry.host())).unwrap();

    let images = fx.images();
    let info = images.pull(&reference, None).await.expect("pull");
    assert_eq!(info.digest.to_string(), pushed);
    assert_eq!(info.reference, reference);
    assert_eq!(info.config.cmd, vec!["sh".to_string()]);
    assert!(info.size > 0, "{info:?}");
    let listed = images.list().await.unwrap();
    assert_eq!(listed, vec![info.clone()]);
    let by_digest = reference.with_digest(info.digest.clone());
    assert_eq!(images.status(&by_digest).await.unwrap(), Some(info.clone()));

    let rt = fx.runtime().await;
    let pod = rt
        .create_sandbox(&fx.sandbox_config("pulled"))
        .await
        .unwrap();
    let mut config = busybox_container("echo", &["echo", "pulled"]);
    config.image = reference.clone();
    let mut events = rt.events().await.unwrap();
    let id = run_container(&rt, &pod, &config).await;
    assert_eq!(next_exit(&mut events, &id).await, 0);
    let status = rt.container_status(&id).await.unwrap();
    assert_eq!(log_lines(&status.log_path, "stdout"), vec!["pulled"]);
    rt.remove_sandbox(&pod).await.unwrap();

    images.remove(&reference).await.unwrap();
    assert_eq!(images.status(&reference).await.unwrap(), None);
    images
        .remove(&reference)
        .await
        .expect("removing an absent image succeeds");
    fx.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd and runc: imports tarballs"]
async fn oci_layout_and_docker_archive_tarballs_import_as_busybox() {
    let fx = RuntimeFixture::start().await;
    let images = fx.images();
    let layout = images::busybox_oci_layout(&fx.scratch());

    let oci = fx.import_busybox().await;
    assert_eq!(oci.reference, busybox_ref());
    assert_eq!(oci.digest.to_string(), images::manifest_digest(&layout));
    assert_eq!(oci.config.cmd, vec!["sh".to_string()]);
    assert!(oci
        .config
        .env
        .iter()
        .any(|(k, v)| k == "PATH" && v.contains("/bin")));
    images.remove(&busybox_ref()).await.unwrap();
    assert_eq!(images.list().await.unwrap(), vec![]);

    let archive = images::docker_archive(&fx.scratch());
    let docker = images
        .import(&archive, ArchiveFormat::DockerArchive)
        .await
        .expect("import docker archive");
    assert_eq!(docker.len(), 1, "{docker:?}");
    assert_eq!(docker[0].reference, busybox_ref());
    assert_eq!(docker[0].config, oci.config);
    assert_eq!(
        images
            .status(&ImageReference::parse("busybox:1.36").unwrap())
            .await
            .unwrap(),
        Some(docker[0].clone())
    );

    // The imported image runs.
    let rt = fx.runtime().await;
    let pod = rt
        .create_sandbox(&fx.sandbox_config("imported"))
        .await
        .unwrap();
    let mut events = rt.events().await.unwrap();
    let id = run_container(&rt, &pod, &busybox_container("echo", &["echo", "imported"])).await;
    assert_eq!(next_exit(&mut events, &id).await, 0);
    let status = rt.container_status(&id).await.unwrap();
    assert_eq!(log_lines(&status.log_path, "stdout"), vec!["imported"]);
    rt.remove_sandbox(&pod).await.unwrap();
    fx.assert_nothing_left();

    images.remove(&busybox_ref()).await.unwrap();
    fx.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd and runc: runs containers"]
async fn container_output_is_read_back_in_cri_format_with_its_exit() {
    let fx = RuntimeFixture::start().await;
    fx.import_busybox().await;
    let rt = fx.runtime().await;
    let sandbox = fx.sandbox_config("logs");
    let pod = rt.create_sandbox(&sandbox).await.unwrap();
    let mut events = rt.events().await.unwrap();
    let script = "echo out-1; echo err-1 >&2; echo out-2; exit 3";
    let id = rt
        .create_container(&pod, &busybox_container("writer", &["sh", "-c", script]))
        .await
        .unwrap();
    let created = rt.container_status(&id).await.unwrap();
    assert_eq!(created.state, ContainerState::Created);
    assert_eq!(created.log_path, sandbox.log_directory.join("writer.log"));
    rt.start_container(&id).await.unwrap();
    // Every event about the container until both its start and its exit were seen.
    let mut seen = Vec::new();
    while !(seen
        .iter()
        .any(|e| matches!(e, RuntimeEvent::ContainerStarted { .. }))
        && seen
            .iter()
            .any(|e| matches!(e, RuntimeEvent::ContainerExited { .. })))
    {
        seen.extend(next_event(&mut events, &id, |_| true).await);
    }
    let status = wait_exited(&rt, &id).await;
    assert_eq!(status.exit_code, Some(3));
    assert_eq!(status.reason, Some(ExitReason::Error));
    assert!(
        status.started_at.is_some() && status.finished_at.is_some(),
        "{status:?}"
    );
    assert!(
        status.created_at <= status.started_at.unwrap() && status.started_at <= status.finished_at,
        "created, started and finished times in order: {status:?}"
    );
    assert_eq!(
        log_lines(&status.log_path, "stdout"),
        vec!["out-1", "out-2"]
    );
    assert_eq!(log_lines(&status.log_path, "stderr"), vec!["err-1"]);

    assert!(
        matches!(
            seen.as_slice(),
            [
                RuntimeEvent::ContainerCreated { .. },
                RuntimeEvent::ContainerStarted { .. },
                RuntimeEvent::ContainerExited { exit_code: 3, .. }
            ]
        ),
        "created, started, exited in this order: {seen:?}"
    );

    rt.remove_container(&id).await.unwrap();
    assert!(matches!(
        rt.container_status(&id).await,
        Err(ServiceError::NotFound { .. })
    ));
    rt.remove_container(&id)
        .await
        .expect("removing an absent container succeeds");
    rt.remove_sandbox(&pod).await.unwrap();
    fx.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd and runc: execs in a container"]
async fn exec_captures_stdout_stderr_and_exit_code_and_times_out() {
    let fx = RuntimeFixture::start().await;
    fx.import_busybox().await;
    let rt = fx.runtime().await;
    let pod = rt.create_sandbox(&fx.sandbox_config("exec")).await.unwrap();
    let id = run_container(&rt, &pod, &busybox_container("sleeper", &["sleep", "600"])).await;

    let result = rt
        .exec_sync(
            &id,
            &cmd(&["sh", "-c", "echo to-out; echo to-err >&2; exit 7"]),
            Duration::from_secs(30),
        )
        .await
        .expect("exec");
    assert_eq!(String::from_utf8_lossy(&result.stdout), "to-out\n");
    assert_eq!(String::from_utf8_lossy(&result.stderr), "to-err\n");
    assert_eq!(result.exit_code, 7);

    let ok = rt
        .exec_sync(&id, &cmd(&["true"]), Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!((ok.exit_code, ok.stdout.len()), (0, 0));

    let slow = rt
        .exec_sync(&id, &cmd(&["sleep", "600"]), Duration::from_millis(500))
        .await;
    assert!(
        matches!(slow, Err(ServiceError::Timeout { .. })),
        "{slow:?}"
    );
    // The container outlives a timed-out exec.
    let status = rt.container_status(&id).await.unwrap();
    assert_eq!(status.state, ContainerState::Running);

    rt.stop_container(&id, Duration::from_secs(1))
        .await
        .unwrap();
    let stopped = rt
        .exec_sync(&id, &cmd(&["true"]), Duration::from_secs(5))
        .await;
    assert!(stopped.is_err(), "exec in an exited container: {stopped:?}");
    rt.remove_sandbox(&pod).await.unwrap();
    fx.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd and runc: stops containers"]
async fn stop_kills_a_term_ignoring_process_after_the_grace_and_lets_a_term_handler_exit() {
    let fx = RuntimeFixture::start().await;
    fx.import_busybox().await;
    let rt = fx.runtime().await;
    let pod = rt.create_sandbox(&fx.sandbox_config("stop")).await.unwrap();
    // `sleep & wait` so the shell runs its trap as soon as the signal arrives.
    let stubborn = "trap 'echo got TERM' TERM; echo ready; while :; do sleep 1 & wait $!; done";
    let polite =
        "trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 1 & wait $!; done";
    let stubborn = rt
        .create_container(
            &pod,
            &busybox_container("stubborn", &["sh", "-c", stubborn]),
        )
        .await
        .unwrap();
    let polite = rt
        .create_container(&pod, &busybox_container("polite", &["sh", "-c", polite]))
        .await
        .unwrap();
    for id in [&stubborn, &polite] {
        rt.start_container(id).await.unwrap();
        // The trap is set once it says so.
        wait_status(&rt, id, |s| {
            std::fs::read_to_string(&s.log_path).is_ok_and(|l| l.contains("ready"))
        })
        .await;
    }

    let (a, b) = tokio::join!(
        rt.stop_container(&stubborn, Duration::from_secs(2)),
        rt.stop_container(&polite, Duration::from_secs(600)),
    );
    a.expect("stop stubborn");
    b.expect("stop polite");

    let stubborn = rt.container_status(&stubborn).await.unwrap();
    assert_eq!(stubborn.state, ContainerState::Exited);
    assert_eq!(
        stubborn.exit_code,
        Some(128 + 9),
        "SIGKILL after the grace: {stubborn:?}"
    );
    assert!(log_lines(&stubborn.log_path, "stdout").contains(&"got TERM".to_string()));
    let polite = rt.container_status(&polite).await.unwrap();
    assert_eq!(polite.state, ContainerState::Exited);
    assert_eq!(polite.exit_code, Some(7), "exited on TERM: {polite:?}");
    assert_eq!(polite.reason, Some(ExitReason::Error));

    // Stopping an exited container succeeds.
    rt.stop_container(&polite.id, Duration::from_secs(1))
        .await
        .unwrap();
    rt.remove_container(&stubborn.id).await.unwrap();
    rt.remove_container(&polite.id).await.unwrap();
    rt.remove_sandbox(&pod).await.unwrap();
    fx.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd and runc: a container runs out of memory"]
async fn oom_kill_under_a_memory_limit_is_reported_as_event_and_reason() {
    let fx = RuntimeFixture::start().await;
    fx.import_busybox().await;
    let rt = fx.runtime().await;
    let pod = rt.create_sandbox(&fx.sandbox_config("oom")).await.unwrap();
    // The shell doubles a string until the cgroup limit is hit.
    let mut config = busybox_container(
        "hog",
        &["sh", "-c", "x=0123456789; while :; do x=$x$x; done"],
    );
    config.spec.resources.memory_limit_bytes = Some(32 << 20);
    config.spec.resources.memory_swap_bytes = Some(32 << 20);
    let mut events = rt.events().await.unwrap();
    let id = run_container(&rt, &pod, &config).await;
    let seen = next_event(&mut events, &id, |e| {
        matches!(e, RuntimeEvent::ContainerExited { .. })
    })
    .await;
    assert!(
        seen.iter()
            .any(|e| matches!(e, RuntimeEvent::ContainerOom { .. })),
        "an OOM event before the exit: {seen:?}"
    );
    assert!(
        matches!(
            seen.last(),
            Some(RuntimeEvent::ContainerExited { exit_code: 137, .. })
        ),
        "{seen:?}"
    );
    let status = wait_exited(&rt, &id).await;
    assert_eq!(status.reason, Some(ExitReason::OomKilled), "{status:?}");
    assert_eq!(status.exit_code, Some(137));

    // Still OOMKilled as seen by a new client.
    let again = fx.connect().await.runtime().await.unwrap();
    let status = again.container_status(&id).await.unwrap();
    assert_eq!(status.reason, Some(ExitReason::OomKilled), "{status:?}");

    rt.remove_sandbox(&pod).await.unwrap();
    fx.assert_nothing_left();
}

/// What a container sees of its network and hostname.
async fn net_and_hostname(rt: &dyn RuntimeService, id: &ContainerId) -> (String, String) {
    let fib = exec_ok(rt, id, &["cat", "/proc/net/fib_trie"]).await;
    let hostname = exec_ok(rt, id, &["cat", "/proc/sys/kernel/hostname"]).await;
    (fib, hostname.trim().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd, runc and iproute2: containers join pod namespaces"]
async fn containers_of_one_pod_share_its_address_and_hostname() {
    let fx = RuntimeFixture::start().await;
    fx.import_busybox().await;
    let rt = fx.runtime().await;
    let pod = rt
        .create_sandbox(&fx.sandbox_config("shared"))
        .await
        .unwrap();
    let other = rt
        .create_sandbox(&fx.sandbox_config("other"))
        .await
        .unwrap();
    let pins = rt
        .sandbox_status(&pod)
        .await
        .unwrap()
        .namespaces
        .expect("a ready sandbox has pinned namespaces");
    let net = format!("--net={}", pins.net.display());
    run_ok("nsenter", &[&net, "ip", "link", "set", "lo", "up"]);
    run_ok(
        "nsenter",
        &[&net, "ip", "addr", "add", "10.250.0.1/32", "dev", "lo"],
    );

    let mut ids = Vec::new();
    for (sandbox, name) in [(&pod, "first"), (&pod, "second"), (&other, "outsider")] {
        ids.push(run_container(&rt, sandbox, &busybox_container(name, &["sleep", "600"])).await);
    }
    let first = net_and_hostname(&rt, &ids[0]).await;
    let second = net_and_hostname(&rt, &ids[1]).await;
    let outsider = net_and_hostname(&rt, &ids[2]).await;
    assert!(first.0.contains("10.250.0.1"), "{}", first.0);
    assert!(second.0.contains("10.250.0.1"), "{}", second.0);
    assert_eq!(first, second);
    assert_eq!(first.1, "shared");
    assert!(!outsider.0.contains("10.250.0.1"), "{}", outsider.0);
    assert_eq!(outsider.1, "other");

    rt.stop_sandbox(&pod).await.unwrap();
    let stopped = rt.sandbox_status(&pod).await.unwrap();
    assert_eq!(stopped.state, SandboxState::NotReady);
    for id in &ids[..2] {
        assert_eq!(
            rt.container_status(id).await.unwrap().state,
            ContainerState::Exited
        );
    }
    rt.remove_sandbox(&pod).await.unwrap();
    rt.remove_sandbox(&other).await.unwrap();
    rt.remove_sandbox(&other)
        .await
        .expect("removing an absent sandbox succeeds");
    fx.assert_nothing_left();
}

/// Id, sandbox, name, state, exit code and pid of a container.
type Summary = (
    ContainerId,
    SandboxId,
    String,
    ContainerState,
    Option<i32>,
    Option<u32>,
);

/// The fields of a container that a restarted client must report the same.
fn summary(list: &[skiff_runtime::service::ContainerStatus]) -> Vec<Summary> {
    list.iter()
        .map(|c| {
            (
                c.id.clone(),
                c.sandbox_id.clone(),
                c.metadata.name.clone(),
                c.state,
                c.exit_code,
                c.pid,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd and runc: restarts the client"]
async fn restarted_client_recovers_every_container_including_one_that_exited_meanwhile() {
    let fx = RuntimeFixture::start().await;
    fx.import_busybox().await;
    let rt = fx.runtime().await;
    let web = rt.create_sandbox(&fx.sandbox_config("web")).await.unwrap();
    let db = rt.create_sandbox(&fx.sandbox_config("db")).await.unwrap();
    let waiter = "trap 'echo bye; exit 5' USR1; echo ready; while :; do sleep 1 & wait $!; done";
    let mut events = rt.events().await.unwrap();
    let running = rt
        .create_container(&web, &busybox_container("running", &["sleep", "600"]))
        .await
        .unwrap();
    let done = rt
        .create_container(&web, &busybox_container("done", &["sh", "-c", "exit 3"]))
        .await
        .unwrap();
    let later = rt
        .create_container(&db, &busybox_container("later", &["sh", "-c", waiter]))
        .await
        .unwrap();
    let created = rt
        .create_container(&db, &busybox_container("created", &["true"]))
        .await
        .unwrap();
    for id in [&running, &done, &later] {
        rt.start_container(id).await.unwrap();
    }
    assert_eq!(next_exit(&mut events, &done).await, 3);
    wait_status(&rt, &later, |s| {
        std::fs::read_to_string(&s.log_path).is_ok_and(|l| l.contains("ready"))
    })
    .await;
    let sandboxes_before = rt.list_sandboxes(&SandboxFilter::default()).await.unwrap();
    drop(events);
    drop(rt);
    let c = fx.containerd();

    // No client: the waiter exits, and its log driver still writes.
    c.ctr_ok(&["tasks", "kill", "--signal", "SIGUSR1", later.as_str()]);
    ctr::wait_task_stopped(c, later.as_str());

    let rt = fx
        .connect()
        .await
        .runtime()
        .await
        .expect("runtime after restart");
    let mut events = rt.events().await.unwrap();
    let containers = rt
        .list_containers(&ContainerFilter::default())
        .await
        .unwrap();
    let mut expected = vec![
        (
            running.clone(),
            web.clone(),
            "running".to_string(),
            ContainerState::Running,
            None,
        ),
        (
            done.clone(),
            web.clone(),
            "done".to_string(),
            ContainerState::Exited,
            Some(3),
        ),
        (
            later.clone(),
            db.clone(),
            "later".to_string(),
            ContainerState::Exited,
            Some(5),
        ),
        (
            created.clone(),
            db.clone(),
            "created".to_string(),
            ContainerState::Created,
            None,
        ),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    let got: Vec<_> = summary(&containers)
        .into_iter()
        .map(|(id, sb, name, state, code, _)| (id, sb, name, state, code))
        .collect();
    assert_eq!(got, expected);
    let running_status = containers.iter().find(|c| c.id == running).unwrap();
    assert!(running_status.pid.is_some(), "{running_status:?}");
    let later_status = containers.iter().find(|c| c.id == later).unwrap();
    assert_eq!(later_status.reason, Some(ExitReason::Error));
    assert!(later_status.finished_at.is_some());
    assert!(log_lines(&later_status.log_path, "stdout").contains(&"bye".to_string()));
    let sandboxes_after = rt.list_sandboxes(&SandboxFilter::default()).await.unwrap();
    assert_eq!(sandboxes_after, sandboxes_before);
    let labelled = ContainerFilter {
        labels: BTreeMap::from([("test".to_string(), "later".to_string())]),
        ..Default::default()
    };
    assert_eq!(
        summary(&rt.list_containers(&labelled).await.unwrap()),
        summary(std::slice::from_ref(later_status))
    );

    // The new client follows the running container's exit.
    rt.stop_container(&running, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(next_exit(&mut events, &running).await, 137);

    rt.remove_sandbox(&web).await.unwrap();
    rt.remove_sandbox(&db).await.unwrap();
    assert_eq!(
        rt.list_containers(&ContainerFilter::default())
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(
        rt.list_sandboxes(&SandboxFilter::default()).await.unwrap(),
        vec![]
    );
    fx.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd and runc: starts 50 containers"]
async fn fifty_containers_over_ten_sandboxes_start_concurrently() {
    let fx = RuntimeFixture::start().await;
    fx.import_busybox().await;
    let rt = fx.runtime().await;
    let mut pods = Vec::new();
    for p in 0..10 {
        pods.push(
            rt.create_sandbox(&fx.sandbox_config(&format!("pod-{p}")))
                .await
                .unwrap(),
        );
    }
    let starts = (0..50).map(|i| {
        let (rt, pod) = (rt.clone(), pods[i % pods.len()].clone());
        async move {
            let config = busybox_container(&format!("c{i}"), &["sleep", "600"]);
            let id = rt.create_container(&pod, &config).await?;
            rt.start_container(&id).await?;
            Ok::<_, ServiceError>(id)
        }
    });
    let results = futures::future::join_all(starts.map(tokio::spawn)).await;
    let failures: Vec<String> = results
        .iter()
        .filter_map(|r| match r {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(format!("{e}: {:?}", std::error::Error::source(e))),
            Err(e) => Some(e.to_string()),
        })
        .collect();
    assert_eq!(failures, Vec::<String>::new());
    let running = ContainerFilter {
        state: Some(ContainerState::Running),
        ..Default::default()
    };
    assert_eq!(rt.list_containers(&running).await.unwrap().len(), 50);
    for pod in &pods {
        let filter = ContainerFilter {
            sandbox_id: Some(pod.clone()),
            ..Default::default()
        };
        assert_eq!(rt.list_containers(&filter).await.unwrap().len(), 5);
    }

    // Removing a sandbox kills and removes its containers.
    let removals = pods.iter().map(|pod| {
        let (rt, pod) = (rt.clone(), pod.clone());
        tokio::spawn(async move { rt.remove_sandbox(&pod).await })
    });
    for r in futures::future::join_all(removals).await {
        r.unwrap().expect("remove sandbox");
    }
    assert_eq!(
        rt.list_containers(&ContainerFilter::default())
            .await
            .unwrap(),
        vec![]
    );
    fx.images().remove(&busybox_ref()).await.unwrap();
    fx.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd and runc: creates containers that cannot run"]
async fn failed_creates_leave_nothing_behind() {
    let fx = RuntimeFixture::start().await;
    fx.import_busybox().await;
    let rt = fx.runtime().await;
    let pod = rt
        .create_sandbox(&fx.sandbox_config("failing"))
        .await
        .unwrap();

    let mut missing = busybox_container("missing", &["true"]);
    missing.image = ImageReference::parse("docker.io/library/absent:1").unwrap();
    let err = rt.create_container(&pod, &missing).await.unwrap_err();
    assert!(matches!(err, ServiceError::ImageNotFound { .. }), "{err:?}");

    let mut invalid = busybox_container("invalid", &["true"]);
    invalid.spec.args.clear();
    let err = rt.create_container(&pod, &invalid).await.unwrap_err();
    assert!(
        matches!(
            err,
            ServiceError::InvalidSpec(_) | ServiceError::InvalidConfig { .. }
        ),
        "{err:?}"
    );

    let id = rt
        .create_container(&pod, &busybox_container("twice", &["true"]))
        .await
        .unwrap();
    let err = rt
        .create_container(&pod, &busybox_container("twice", &["true"]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::ContainerExists { .. }),
        "{err:?}"
    );

    // runc refuses a missing executable at create or at start; either way it is undone.
    let absent = busybox_container("absent", &["/no/such/program"]);
    if let Ok(absent) = rt.create_container(&pod, &absent).await {
        assert!(rt.start_container(&absent).await.is_err());
        let status = rt.container_status(&absent).await.unwrap();
        assert_ne!(status.state, ContainerState::Running, "{status:?}");
        rt.remove_container(&absent).await.unwrap();
    }
    rt.remove_container(&id).await.unwrap();

    let gone = SandboxId::new("0".repeat(64));
    let err = rt
        .create_container(&gone, &busybox_container("orphan", &["true"]))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    rt.remove_sandbox(&pod).await.unwrap();
    fx.assert_nothing_left();
}
