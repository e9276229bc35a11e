//! Exec and the event stream of the containerd runtime against a real containerd: exec
//! captures output and exit code, a timed-out exec leaves no process or FIFO behind, exits
//! carry their code, an OOM kill is reported and recorded, and a re-created client still sees
//! an exit that happened while it was gone.
//!
//! The exec and exit tests run containers made with `ctr` and labelled as Skiff's, so they
//! exercise exec and the monitor alone; the OOM and restart tests go through the whole
//! runtime service.

use std::path::Path;
use std::time::{Duration, SystemTime};

use skiff_runtime::containerd::ContainerdRuntime;
use skiff_runtime::service::{
    Call, ContainerFilter, ContainerId, ContainerState, ExitReason, ObjectKind, RuntimeEvent,
    RuntimeEvents, RuntimeService, ServiceError,
};
use skiff_tests::images::BUSYBOX_REF;
use skiff_tests::runtime::{
    busybox_container, cmd, ctr, exec_ok, next_event, run_container, RuntimeFixture, WAIT,
};

/// Label that makes a `ctr`-made container one of Skiff's.
const SKIFF_CONTAINER: &str = "io.skiff.kind=container";

/// Starts a detached `ctr` container running `args`, labelled `label` when given.
fn ctr_run(fx: &RuntimeFixture, id: &str, label: Option<&str>, extra: &[&str], args: &[&str]) {
    let mut argv = vec!["run", "-d", "--null-io"];
    if let Some(label) = label {
        argv.extend(["--label", label]);
    }
    argv.extend_from_slice(extra);
    argv.extend([BUSYBOX_REF, id]);
    argv.extend_from_slice(args);
    fx.containerd().ctr_ok(&argv);
}

/// Pids of the container's task (init and execs).
fn task_pids(fx: &RuntimeFixture, id: &str) -> Vec<String> {
    fx.containerd()
        .ctr_ok(&["tasks", "ps", id])
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect()
}

/// Entries of the runtime's exec FIFO directory.
fn exec_dirs(state_dir: &Path) -> Vec<String> {
    std::fs::read_dir(state_dir.join("exec"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// The runtime service; reports how long starting it (subscribing to events) took.
async fn runtime(fx: &RuntimeFixture) -> ContainerdRuntime {
    let started = std::time::Instant::now();
    let rt = fx.runtime().await;
    eprintln!(
        "runtime service ready (events subscribed) in {:?}",
        started.elapsed()
    );
    rt
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd and runc: execs in a running container"]
async fn exec_captures_stdout_stderr_and_exit_code() {
    let fx = RuntimeFixture::start().await;
    ctr::import_busybox(fx.containerd(), &fx.scratch());
    let rt = runtime(&fx).await;
    let id = "exec-output";
    ctr_run(&fx, id, Some(SKIFF_CONTAINER), &[], &["sleep", "1000"]);
    let cid = ContainerId::new(id);

    let got = rt
        .exec_sync(
            &cid,
            &cmd(&["sh", "-c", "echo hi; echo err >&2; exit 3"]),
            WAIT,
        )
        .await
        .expect("exec");
    assert_eq!(String::from_utf8_lossy(&got.stdout), "hi\n");
    assert_eq!(String::from_utf8_lossy(&got.stderr), "err\n");
    assert_eq!(got.exit_code, 3);

    // Output larger than a pipe buffer, on both streams at once.
    let big = rt
        .exec_sync(
            &cid,
            &cmd(&[
                "sh",
                "-c",
                "i=0; while [ $i -lt 20000 ]; do echo line$i; echo e$i >&2; i=$((i+1)); done",
            ]),
            WAIT,
        )
        .await
        .expect("exec with a lot of output");
    assert_eq!(big.exit_code, 0);
    let lines: Vec<&str> = std::str::from_utf8(&big.stdout).unwrap().lines().collect();
    assert_eq!(lines.len(), 20000);
    assert_eq!(lines[19999], "line19999");
    assert_eq!(
        std::str::from_utf8(&big.stderr).unwrap().lines().count(),
        20000
    );

    let missing = rt
        .exec_sync(&cid, &cmd(&["/no/such/binary"]), WAIT)
        .await
        .expect("exec of a missing binary is a result");
    assert_eq!(missing.exit_code, 127, "{missing:?}");
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no such file or directory"),
        "{missing:?}"
    );

    let started = std::time::Instant::now();
    for _ in 0..20 {
        let ok = rt.exec_sync(&cid, &cmd(&["true"]), WAIT).await.unwrap();
        assert_eq!(ok.exit_code, 0);
    }
    eprintln!(
        "exec_sync of `true`: {:?} each (mean of 20)",
        started.elapsed() / 20
    );

    assert_eq!(
        task_pids(&fx, id).len(),
        1,
        "exec processes left in the task"
    );
    assert_eq!(exec_dirs(&fx.config().state_dir), Vec::<String>::new());
    ctr::remove_container(fx.containerd(), id);
    fx.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd and runc: execs in a running container"]
async fn exec_past_its_timeout_is_killed_and_leaves_no_process_or_fifo() {
    let fx = RuntimeFixture::start().await;
    ctr::import_busybox(fx.containerd(), &fx.scratch());
    let rt = runtime(&fx).await;
    let id = "exec-timeout";
    ctr_run(&fx, id, Some(SKIFF_CONTAINER), &[], &["sleep", "1000"]);
    let cid = ContainerId::new(id);

    let err = rt
        .exec_sync(&cid, &cmd(&["sleep", "100"]), Duration::from_secs(1))
        .await
        .expect_err("sleep 100 outlives a 1 s timeout");
    assert!(
        matches!(
            err,
            ServiceError::Timeout {
                call: Call::ExecSync,
                after
            } if after == Duration::from_secs(1)
        ),
        "{err:?}"
    );
    assert_eq!(task_pids(&fx, id).len(), 1, "exec process left in the task");
    assert_eq!(exec_dirs(&fx.config().state_dir), Vec::<String>::new());

    // The container still runs and takes further execs.
    let again = rt
        .exec_sync(&cid, &cmd(&["echo", "still"]), WAIT)
        .await
        .expect("exec after a timeout");
    assert_eq!(again.stdout, b"still\n");
    ctr::remove_container(fx.containerd(), id);
    fx.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd and runc: execs in containers"]
async fn exec_needs_a_running_skiff_container() {
    let fx = RuntimeFixture::start().await;
    ctr::import_busybox(fx.containerd(), &fx.scratch());
    let rt = runtime(&fx).await;
    let err = rt
        .exec_sync(&ContainerId::new("absent"), &cmd(&["true"]), WAIT)
        .await
        .expect_err("no such container");
    assert!(
        matches!(&err, ServiceError::NotFound { kind: ObjectKind::Container, id } if id == "absent"),
        "{err:?}"
    );

    // A container record without a task has not been started.
    fx.containerd().ctr_ok(&[
        "containers",
        "create",
        "--label",
        SKIFF_CONTAINER,
        BUSYBOX_REF,
        "created",
        "sleep",
        "1000",
    ]);
    let err = rt
        .exec_sync(&ContainerId::new("created"), &cmd(&["true"]), WAIT)
        .await
        .expect_err("not started");
    assert!(
        matches!(
            err,
            ServiceError::WrongState {
                call: Call::ExecSync,
                state: "created",
                ..
            }
        ),
        "{err:?}"
    );

    // A container that is not Skiff's is not found.
    ctr_run(&fx, "foreign", None, &[], &["sleep", "1000"]);
    let err = rt
        .exec_sync(&ContainerId::new("foreign"), &cmd(&["true"]), WAIT)
        .await
        .expect_err("not a Skiff container");
    assert!(matches!(err, ServiceError::NotFound { .. }), "{err:?}");

    // An exited task refuses execs.
    ctr_run(&fx, "exited", Some(SKIFF_CONTAINER), &[], &["true"]);
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let err = rt
            .exec_sync(&ContainerId::new("exited"), &cmd(&["true"]), WAIT)
            .await;
        match err {
            Err(ServiceError::WrongState {
                state: "exited", ..
            }) => break,
            other => assert!(
                std::time::Instant::now() < deadline,
                "exec in an exited container: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fx.containerd().ctr_ok(&["containers", "delete", "created"]);
    ctr::remove_container(fx.containerd(), "foreign");
    ctr::remove_container(fx.containerd(), "exited");
    assert_eq!(exec_dirs(&fx.config().state_dir), Vec::<String>::new());
    fx.assert_nothing_left();
}

/// Receives the next event about any container, within [`WAIT`].
async fn next_any(events: &mut RuntimeEvents) -> RuntimeEvent {
    tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("an event in time")
        .expect("event stream")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd and runc: containers exit"]
async fn exit_event_carries_the_exit_code_of_skiff_containers_only() {
    let fx = RuntimeFixture::start().await;
    ctr::import_busybox(fx.containerd(), &fx.scratch());
    let rt = runtime(&fx).await;
    let mut events = rt.events().await.unwrap();

    // Not Skiff's: no event. It exits first, so the first event seen must be the other one's.
    ctr_run(&fx, "foreign", None, &[], &["sh", "-c", "exit 5"]);
    ctr_run(
        &fx,
        "ours",
        Some(SKIFF_CONTAINER),
        &[],
        &["sh", "-c", "exit 7"],
    );
    let event = next_any(&mut events).await;
    let received = SystemTime::now();
    let RuntimeEvent::ContainerExited { id, exit_code, at } = event else {
        panic!("expected an exit: {event:?}");
    };
    assert_eq!(id.as_str(), "ours");
    assert_eq!(exit_code, 7);
    let latency = received.duration_since(at).unwrap_or_default();
    eprintln!("exit event latency (exited_at -> received): {latency:?}");

    // An exec's exit is no container exit.
    ctr_run(&fx, "execs", Some(SKIFF_CONTAINER), &[], &["sleep", "1000"]);
    exec_ok(&rt, &ContainerId::new("execs"), &["true"]).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(events.drain().unwrap(), Vec::new());

    for id in ["foreign", "ours", "execs"] {
        ctr::remove_container(fx.containerd(), id);
    }
    let seen = next_event(&mut events, &ContainerId::new("execs"), |e| {
        matches!(e, RuntimeEvent::ContainerExited { .. })
    })
    .await;
    assert!(
        matches!(
            seen.last(),
            Some(RuntimeEvent::ContainerExited { exit_code: 137, .. })
        ),
        "{seen:?}"
    );
    fx.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd and runc: a container hits its memory limit"]
async fn oom_kill_is_reported_before_the_exit_and_status_says_oom_killed() {
    let fx = RuntimeFixture::start().await;
    fx.import_busybox().await;
    let rt = runtime(&fx).await;
    let pod = rt.create_sandbox(&fx.sandbox_config("oom")).await.unwrap();
    let mut config = busybox_container(
        "hog",
        &["sh", "-c", "a=aaaaaaaaaa; while true; do a=$a$a; done"],
    );
    config.spec.resources.memory_limit_bytes = Some(8 << 20);
    let mut events = rt.events().await.unwrap();
    let id = run_container(&rt, &pod, &config).await;
    let seen = next_event(&mut events, &id, |e| {
        matches!(e, RuntimeEvent::ContainerExited { .. })
    })
    .await;
    let seen: Vec<RuntimeEvent> = seen
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                RuntimeEvent::ContainerOom { .. } | RuntimeEvent::ContainerExited { .. }
            )
        })
        .collect();
    assert!(
        matches!(
            seen.as_slice(),
            [
                RuntimeEvent::ContainerOom { .. },
                RuntimeEvent::ContainerExited { exit_code: 137, .. }
            ]
        ),
        "{seen:?}"
    );
    // Read right after the exit event: the OOM mark is already on the record.
    let status = rt.container_status(&id).await.unwrap();
    assert_eq!(status.state, ContainerState::Exited, "{status:?}");
    assert_eq!(status.reason, Some(ExitReason::OomKilled), "{status:?}");
    assert_eq!(status.exit_code, Some(137));

    // The mark is in containerd, so a new client reports it too.
    let again = fx.connect().await.runtime().await.unwrap();
    let status = again.container_status(&id).await.unwrap();
    assert_eq!(status.reason, Some(ExitReason::OomKilled), "{status:?}");

    rt.remove_sandbox(&pod).await.unwrap();
    fx.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, containerd and runc: a container exits while no client runs"]
async fn exit_while_no_client_runs_is_seen_by_a_new_client() {
    let fx = RuntimeFixture::start().await;
    fx.import_busybox().await;
    let client = fx.connect().await;
    let rt = client.runtime().await.unwrap();
    let pod = rt
        .create_sandbox(&fx.sandbox_config("restart"))
        .await
        .unwrap();
    let script = "while [ ! -e /go ]; do sleep 0.05; done; exit 9";
    let id = run_container(
        &rt,
        &pod,
        &busybox_container("waiter", &["sh", "-c", script]),
    )
    .await;
    let before = rt.container_status(&id).await.unwrap();
    assert_eq!(before.state, ContainerState::Running, "{before:?}");

    // The container exits after this client is gone.
    exec_ok(&rt, &id, &["sh", "-c", ": > /go"]).await;
    drop(rt);
    drop(client);
    ctr::wait_task_stopped(fx.containerd(), id.as_str());

    let rt = fx.connect().await.runtime().await.unwrap();
    let status = rt.container_status(&id).await.unwrap();
    assert_eq!(status.state, ContainerState::Exited, "{status:?}");
    assert_eq!(status.exit_code, Some(9), "{status:?}");
    assert_eq!(status.reason, Some(ExitReason::Error), "{status:?}");
    assert_eq!(status.started_at, before.started_at, "{status:?}");
    let finished = status.finished_at.expect("finished_at");
    assert!(Some(finished) >= status.started_at, "{status:?}");
    let listed = rt
        .list_containers(&ContainerFilter {
            state: Some(ContainerState::Exited),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed, vec![status]);

    rt.remove_sandbox(&pod).await.unwrap();
    fx.assert_nothing_left();
}
