//! Sandbox and container life cycles of the containerd runtime against a real private
//! containerd: sandboxes pin and release their namespaces and keep one record each; containers
//! are created, started, stopped (SIGTERM, then SIGKILL after the grace) and removed, report
//! pid, exit code and times, share the pod's namespaces and shim, and a failed create leaves
//! nothing behind. Every test ends with no container, task, snapshot, lease or mount left.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use skiff_runtime::service::{
    ContainerFilter, ContainerId, ContainerState, ExitReason, ObjectKind, RuntimeEvent,
    RuntimeService, SandboxFilter, SandboxState, ServiceError,
};
use skiff_tests::containerd::mounts_under;
use skiff_tests::runtime::{
    busybox_container, ctr, run_container, run_ok, wait_exited, wait_status, RuntimeFixture,
};

/// Starts the fixture and imports busybox with `ctr`, independent of the image service.
async fn fixture() -> RuntimeFixture {
    let fx = RuntimeFixture::start().await;
    ctr::import_busybox(fx.containerd(), &fx.scratch());
    fx
}

/// Ids of containerd's container records.
fn records(fx: &RuntimeFixture) -> Vec<String> {
    fx.containerd()
        .ctr_ok(&["containers", "ls", "-q"])
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// Keys of snapshots that are not committed image layers.
fn active_snapshots(fx: &RuntimeFixture) -> Vec<String> {
    fx.containerd()
        .ctr_ok(&["snapshots", "ls"])
        .lines()
        .skip(1)
        .filter(|l| l.split_whitespace().last() != Some("Committed"))
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect()
}

/// The parent pid of a host process.
fn parent_of(pid: u32) -> u32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    stat.rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

/// The inode of a namespace file.
fn ns_inode(path: &Path) -> u64 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .ino()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd and runc: pins pod namespaces and records sandboxes"]
async fn sandbox_is_ready_until_stopped_and_removal_leaves_no_pin_or_record() {
    let fx = RuntimeFixture::start().await;
    let rt = fx.runtime().await;
    let mut config = fx.sandbox_config("web");
    config.labels.insert("app".into(), "web".into());
    config.annotations.insert("note".into(), "kept".into());
    let id = rt.create_sandbox(&config).await.expect("create sandbox");
    assert_eq!(id.as_str().len(), 64, "{id}");

    let status = rt.sandbox_status(&id).await.unwrap();
    assert_eq!(status.state, SandboxState::Ready);
    assert_eq!(status.metadata, config.metadata);
    assert_eq!(status.hostname, "web");
    assert_eq!(status.log_directory, config.log_directory);
    assert_eq!(status.labels, config.labels);
    assert_eq!(status.annotations, config.annotations);
    let pins = status.namespaces.clone().expect("pins of a ready sandbox");
    let pinned = mounts_under(fx.netns_dir());
    for pin in [&pins.net, &pins.ipc, &pins.uts] {
        assert!(
            pinned.contains(pin),
            "{} not mounted: {pinned:?}",
            pin.display()
        );
    }
    assert_eq!(records(&fx), vec![id.to_string()]);

    let listed = rt.list_sandboxes(&SandboxFilter::default()).await.unwrap();
    assert_eq!(listed, vec![status.clone()]);
    let by_label = SandboxFilter {
        labels: config.labels.clone(),
        ..Default::default()
    };
    assert_eq!(rt.list_sandboxes(&by_label).await.unwrap().len(), 1);
    let not_ready = SandboxFilter {
        state: Some(SandboxState::NotReady),
        ..Default::default()
    };
    assert!(rt.list_sandboxes(&not_ready).await.unwrap().is_empty());

    let mut events = rt.events().await.unwrap();
    rt.stop_sandbox(&id).await.expect("stop sandbox");
    rt.stop_sandbox(&id).await.expect("stopping again succeeds");
    assert!(events
        .drain()
        .unwrap()
        .iter()
        .any(|e| matches!(e, RuntimeEvent::SandboxStopped { id: s, .. } if *s == id)));
    let stopped = rt.sandbox_status(&id).await.unwrap();
    assert_eq!(stopped.state, SandboxState::NotReady);
    assert_eq!(stopped.namespaces, None);
    assert!(!pins.dir.exists(), "pins left after stop");
    assert_eq!(rt.list_sandboxes(&not_ready).await.unwrap(), vec![stopped]);
    assert_eq!(records(&fx), vec![id.to_string()], "stop keeps the record");

    rt.remove_sandbox(&id).await.expect("remove sandbox");
    rt.remove_sandbox(&id)
        .await
        .expect("removing again succeeds");
    match rt.sandbox_status(&id).await {
        Err(ServiceError::NotFound {
            kind: ObjectKind::Sandbox,
            ..
        }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(records(&fx).is_empty());
    fx.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd and runc: pins pod namespaces and records sandboxes"]
async fn second_sandbox_of_the_same_pod_and_attempt_is_refused() {
    let fx = RuntimeFixture::start().await;
    let rt = fx.runtime().await;
    let config = fx.sandbox_config("dup");
    let first = rt.create_sandbox(&config).await.unwrap();
    match rt.create_sandbox(&config).await {
        Err(ServiceError::SandboxExists { name, existing }) => {
            assert_eq!(existing, first.to_string());
            assert_eq!(name, config.metadata.unique_name());
        }
        other => panic!("expected SandboxExists, got {other:?}"),
    }
    let mut next = config.clone();
    next.metadata.attempt = 1;
    let second = rt.create_sandbox(&next).await.expect("next attempt");
    let mut bad = config.clone();
    bad.metadata.pod_uid.clear();
    match rt.create_sandbox(&bad).await {
        Err(ServiceError::InvalidConfig { field, .. }) => assert_eq!(field, "metadata.pod_uid"),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    for id in [first, second] {
        rt.remove_sandbox(&id).await.unwrap();
    }
    fx.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd and runc: runs containers"]
async fn containers_run_report_pid_exit_code_and_times_and_publish_events() {
    let fx = fixture().await;
    let rt = fx.runtime().await;
    let pod = rt.create_sandbox(&fx.sandbox_config("run")).await.unwrap();
    let mut events = rt.events().await.unwrap();

    let ok = rt
        .create_container(&pod, &busybox_container("ok", &["true"]))
        .await
        .expect("create");
    let created = rt.container_status(&ok).await.unwrap();
    assert_eq!(created.state, ContainerState::Created);
    assert_eq!((created.pid, created.started_at), (None, None));
    assert_eq!(created.sandbox_id, pod);
    assert_eq!(created.log_path, fx.log_root().join("run").join("ok.log"));
    rt.start_container(&ok).await.expect("start");
    let exited = wait_exited(&rt, &ok).await;
    assert_eq!(exited.exit_code, Some(0));
    assert_eq!(exited.reason, Some(ExitReason::Completed));
    let started = exited.started_at.expect("started_at");
    let finished = exited.finished_at.expect("finished_at");
    assert!(exited.created_at <= started, "{exited:?}");
    // The start time is taken after runc started the process; the exit may come first.
    assert!(finished + Duration::from_secs(1) >= started, "{exited:?}");
    match rt.start_container(&ok).await {
        Err(ServiceError::WrongState { state, .. }) => assert_eq!(state, "exited"),
        other => panic!("expected WrongState, got {other:?}"),
    }

    let three = run_container(
        &rt,
        &pod,
        &busybox_container("three", &["sh", "-c", "exit 3"]),
    )
    .await;
    let exited = wait_exited(&rt, &three).await;
    assert_eq!(exited.exit_code, Some(3));
    assert_eq!(exited.reason, Some(ExitReason::Error));

    let sleeper = run_container(&rt, &pod, &busybox_container("sleeper", &["sleep", "1000"])).await;
    let running = rt.container_status(&sleeper).await.unwrap();
    assert_eq!(running.state, ContainerState::Running);
    let pid = running.pid.expect("pid of a running container");
    assert!(Path::new(&format!("/proc/{pid}")).exists());

    let listed = rt
        .list_containers(&ContainerFilter::default())
        .await
        .unwrap();
    let ids: Vec<&ContainerId> = listed.iter().map(|s| &s.id).collect();
    let mut want = vec![&ok, &three, &sleeper];
    want.sort();
    assert_eq!(ids, want);
    let running_only = ContainerFilter {
        state: Some(ContainerState::Running),
        ..Default::default()
    };
    let listed = rt.list_containers(&running_only).await.unwrap();
    assert_eq!(listed, vec![rt.container_status(&sleeper).await.unwrap()]);

    match rt
        .create_container(&pod, &busybox_container("sleeper", &["true"]))
        .await
    {
        Err(ServiceError::ContainerExists { existing, .. }) => {
            assert_eq!(existing, sleeper.to_string())
        }
        other => panic!("expected ContainerExists, got {other:?}"),
    }

    rt.remove_sandbox(&pod)
        .await
        .expect("remove sandbox with containers");
    let seen = events.drain().unwrap();
    for id in [&ok, &three, &sleeper] {
        let about: Vec<&RuntimeEvent> = seen
            .iter()
            .filter(|e| e.container_id() == Some(id))
            .collect();
        assert!(
            matches!(about.first(), Some(RuntimeEvent::ContainerCreated { sandbox_id, .. }) if *sandbox_id == pod),
            "{about:?}"
        );
        assert!(
            about
                .iter()
                .any(|e| matches!(e, RuntimeEvent::ContainerStarted { .. })),
            "{about:?}"
        );
        assert!(
            matches!(about.last(), Some(RuntimeEvent::ContainerRemoved { .. })),
            "{about:?}"
        );
    }
    fx.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd and runc: runs containers"]
async fn stop_sends_term_then_kill_after_the_grace() {
    let fx = fixture().await;
    let rt = fx.runtime().await;
    let pod = rt.create_sandbox(&fx.sandbox_config("stop")).await.unwrap();

    let handler = busybox_container(
        "handler",
        &[
            "sh",
            "-c",
            "trap 'exit 0' TERM; while true; do sleep 0.1; done",
        ],
    );
    let deaf = busybox_container("deaf", &["sh", "-c", "trap '' TERM; sleep 1000"]);
    let mut ids = Vec::new();
    for config in [handler, deaf] {
        let id = run_container(&rt, &pod, &config).await;
        wait_status(&rt, &id, |s| s.state == ContainerState::Running).await;
        ids.push(id);
    }
    // Long enough that the handler always exits by itself.
    rt.stop_container(&ids[0], Duration::from_secs(20))
        .await
        .expect("stop handler");
    let handled = rt.container_status(&ids[0]).await.unwrap();
    assert_eq!(handled.state, ContainerState::Exited);
    assert_eq!(
        handled.exit_code,
        Some(0),
        "SIGTERM ran the trap: {handled:?}"
    );

    rt.stop_container(&ids[1], Duration::from_secs(1))
        .await
        .expect("stop deaf");
    let killed = rt.container_status(&ids[1]).await.unwrap();
    assert_eq!(killed.state, ContainerState::Exited);
    assert_eq!(killed.exit_code, Some(128 + 9), "SIGKILL: {killed:?}");
    assert!(killed.finished_at.is_some());

    for id in &ids {
        rt.stop_container(id, Duration::from_secs(1))
            .await
            .expect("stopping an exited container succeeds");
    }
    for id in &ids {
        rt.remove_container(id).await.unwrap();
        rt.remove_container(id)
            .await
            .expect("removing again succeeds");
    }
    rt.remove_sandbox(&pod).await.unwrap();
    fx.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd and runc: runs containers"]
async fn removing_a_running_container_leaves_no_task_snapshot_record_or_mount() {
    let fx = fixture().await;
    let rt = fx.runtime().await;
    let pod = rt.create_sandbox(&fx.sandbox_config("rm")).await.unwrap();
    let id = run_container(&rt, &pod, &busybox_container("sleeper", &["sleep", "1000"])).await;
    assert_eq!(active_snapshots(&fx), vec![id.to_string()]);
    assert!(
        mounts_under(fx.containerd().dir())
            .iter()
            .any(|m| m.to_string_lossy().contains(id.as_str())),
        "rootfs of a running container is mounted"
    );

    rt.remove_container(&id)
        .await
        .expect("remove running container");
    assert!(fx
        .containerd()
        .ctr_ok(&["tasks", "ls", "-q"])
        .trim()
        .is_empty());
    assert!(active_snapshots(&fx).is_empty());
    assert_eq!(records(&fx), vec![pod.to_string()]);
    assert!(mounts_under(fx.containerd().dir()).is_empty());
    match rt.container_status(&id).await {
        Err(ServiceError::NotFound {
            kind: ObjectKind::Container,
            ..
        }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    rt.remove_sandbox(&pod).await.unwrap();
    fx.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd and runc: runs containers"]
async fn containers_of_one_sandbox_share_its_namespaces_hostname_and_shim() {
    let fx = fixture().await;
    let rt = fx.runtime().await;
    let pod = rt.create_sandbox(&fx.sandbox_config("pair")).await.unwrap();
    let pins = rt.sandbox_status(&pod).await.unwrap().namespaces.unwrap();
    let mut pids = Vec::new();
    for name in ["one", "two"] {
        let id = run_container(&rt, &pod, &busybox_container(name, &["sleep", "1000"])).await;
        pids.push(rt.container_status(&id).await.unwrap().pid.unwrap());
    }
    for pid in &pids {
        for (kind, pin) in [("net", &pins.net), ("ipc", &pins.ipc), ("uts", &pins.uts)] {
            let proc_ns = Path::new("/proc")
                .join(pid.to_string())
                .join("ns")
                .join(kind);
            assert_eq!(ns_inode(&proc_ns), ns_inode(pin), "{kind} of pid {pid}");
        }
        let uts = format!("--uts=/proc/{pid}/ns/uts");
        assert_eq!(run_ok("nsenter", &[&uts, "hostname"]).trim(), "pair");
    }
    let shims: Vec<u32> = pids.iter().map(|&p| parent_of(p)).collect();
    assert_eq!(shims[0], shims[1], "one shim per pod");
    let shim_cmd = std::fs::read(format!("/proc/{}/cmdline", shims[0])).unwrap();
    assert!(
        String::from_utf8_lossy(&shim_cmd).contains("containerd-shim"),
        "{}",
        String::from_utf8_lossy(&shim_cmd)
    );
    rt.remove_sandbox(&pod).await.unwrap();
    fx.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd and runc: creates containers"]
async fn create_refuses_absent_images_and_sandboxes_and_leaves_nothing() {
    let fx = fixture().await;
    let rt = fx.runtime().await;
    let pod = rt.create_sandbox(&fx.sandbox_config("bad")).await.unwrap();

    let mut absent = busybox_container("absent", &["true"]);
    absent.image = skiff_runtime::reference::ImageReference::parse("example.test/none:1").unwrap();
    match rt.create_container(&pod, &absent).await {
        Err(ServiceError::ImageNotFound { reference }) => {
            assert_eq!(reference, "example.test/none:1")
        }
        other => panic!("expected ImageNotFound, got {other:?}"),
    }
    let mut bad_log = busybox_container("bad-log", &["true"]);
    bad_log.log_path = "/etc/evil.log".into();
    match rt.create_container(&pod, &bad_log).await {
        Err(ServiceError::InvalidConfig { field, .. }) => assert_eq!(field, "log_path"),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    let mut bad_spec = busybox_container("bad-spec", &["true"]);
    bad_spec.spec.args.clear();
    assert!(matches!(
        rt.create_container(&pod, &bad_spec).await,
        Err(ServiceError::InvalidSpec(_))
    ));
    assert_eq!(records(&fx), vec![pod.to_string()]);
    assert!(active_snapshots(&fx).is_empty());

    let unknown = skiff_runtime::service::SandboxId::new("f".repeat(64));
    match rt
        .create_container(&unknown, &busybox_container("x", &["true"]))
        .await
    {
        Err(ServiceError::NotFound {
            kind: ObjectKind::Sandbox,
            ..
        }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    rt.stop_sandbox(&pod).await.unwrap();
    match rt
        .create_container(&pod, &busybox_container("late", &["true"]))
        .await
    {
        Err(ServiceError::WrongState { state, .. }) => assert_eq!(state, "not ready"),
        other => panic!("expected WrongState, got {other:?}"),
    }
    rt.remove_sandbox(&pod).await.unwrap();
    fx.assert_nothing_left();
}
