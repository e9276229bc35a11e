use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::{FakeImages, FakeRuntime, RecordedCall};
use crate::reference::ImageReference;
use crate::service::{
    ArchiveFormat, Call, ContainerConfig, ContainerFilter, ContainerId, ContainerMetadata,
    ContainerState, ExecResult, ExitReason, ImageService, ObjectKind, RegistryAuth, RuntimeEvent,
    RuntimeService, SandboxConfig, SandboxFilter, SandboxId, SandboxMetadata, SandboxState,
    ServiceError,
};
use crate::spec::ContainerSpecConfig;

/// Runs a future of the fakes, which never wait on anything.
fn run<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("fake futures complete without waiting"),
    }
}

fn image(reference: &str) -> ImageReference {
    ImageReference::parse(reference).unwrap()
}

fn pod(name: &str) -> SandboxConfig {
    SandboxConfig {
        metadata: SandboxMetadata {
            pod_uid: format!("uid-{name}"),
            namespace: "default".into(),
            name: name.into(),
            attempt: 0,
        },
        hostname: name.into(),
        log_directory: PathBuf::from("/var/log/pods").join(name),
        labels: BTreeMap::from([("app".into(), name.into())]),
        ..SandboxConfig::default()
    }
}

fn container(name: &str) -> ContainerConfig {
    ContainerConfig {
        metadata: ContainerMetadata {
            name: name.into(),
            attempt: 0,
        },
        image: image("busybox"),
        spec: ContainerSpecConfig {
            args: vec!["sleep".into(), "3600".into()],
            ..ContainerSpecConfig::default()
        },
        log_path: PathBuf::from(format!("{name}/0.log")),
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
    }
}

/// A runtime with one ready sandbox and one running container in it.
fn running() -> (FakeRuntime, SandboxId, ContainerId) {
    let rt = FakeRuntime::new();
    let sb = run(rt.create_sandbox(&pod("web"))).unwrap();
    let c = run(rt.create_container(&sb, &container("app"))).unwrap();
    run(rt.start_container(&c)).unwrap();
    (rt, sb, c)
}

#[test]
fn container_lifecycle_moves_created_running_exited_and_stamps_times() {
    let rt = FakeRuntime::new();
    let sb = run(rt.create_sandbox(&pod("web"))).unwrap();
    let c = run(rt.create_container(&sb, &container("app"))).unwrap();
    let created = run(rt.container_status(&c)).unwrap();
    assert_eq!(created.state, ContainerState::Created);
    assert_eq!(
        created.log_path,
        PathBuf::from("/var/log/pods/web/app/0.log")
    );

    rt.advance(Duration::from_secs(1));
    run(rt.start_container(&c)).unwrap();
    let started = run(rt.container_status(&c)).unwrap();
    assert_eq!(started.state, ContainerState::Running);
    assert!(started.pid.is_some());
    assert_eq!(started.started_at, Some(rt.now()));

    rt.advance(Duration::from_secs(1));
    rt.set_stop_exit_code(&c, 0);
    run(rt.stop_container(&c, Duration::from_secs(30))).unwrap();
    let exited = run(rt.container_status(&c)).unwrap();
    assert_eq!(exited.state, ContainerState::Exited);
    assert_eq!(exited.exit_code, Some(0));
    assert_eq!(exited.reason, Some(ExitReason::Completed));
    assert_eq!(exited.pid, None);
    assert_eq!(exited.finished_at, Some(rt.now()));
}

#[test]
fn stop_container_is_idempotent_and_keeps_the_first_exit_code() {
    let (rt, _, c) = running();
    run(rt.stop_container(&c, Duration::ZERO)).unwrap();
    rt.set_stop_exit_code(&c, 1);
    run(rt.stop_container(&c, Duration::ZERO)).unwrap();
    let status = run(rt.container_status(&c)).unwrap();
    assert_eq!(status.exit_code, Some(143));
    assert_eq!(status.reason, Some(ExitReason::Error));
}

#[test]
fn stopping_a_created_container_leaves_it_created() {
    let rt = FakeRuntime::new();
    let sb = run(rt.create_sandbox(&pod("web"))).unwrap();
    let c = run(rt.create_container(&sb, &container("app"))).unwrap();
    run(rt.stop_container(&c, Duration::ZERO)).unwrap();
    assert_eq!(
        run(rt.container_status(&c)).unwrap().state,
        ContainerState::Created
    );
}

#[test]
fn start_of_a_removed_container_is_not_found() {
    let (rt, _, c) = running();
    run(rt.remove_container(&c)).unwrap();
    let err = run(rt.start_container(&c)).unwrap_err();
    assert!(matches!(
        err,
        ServiceError::NotFound {
            kind: ObjectKind::Container,
            ..
        }
    ));
    assert!(err.is_not_found());
}

#[test]
fn start_of_a_running_or_exited_container_is_refused() {
    let (rt, _, c) = running();
    assert!(matches!(
        run(rt.start_container(&c)),
        Err(ServiceError::WrongState {
            state: "running",
            ..
        })
    ));
    rt.exit(&c, 2).unwrap();
    assert!(matches!(
        run(rt.start_container(&c)),
        Err(ServiceError::WrongState {
            state: "exited",
            ..
        })
    ));
}

#[test]
fn remove_is_idempotent_and_kills_a_running_container_first() {
    let (rt, _, c) = running();
    let mut events = run(rt.events()).unwrap();
    run(rt.remove_container(&c)).unwrap();
    run(rt.remove_container(&c)).unwrap();
    let now = rt.now();
    assert_eq!(
        events.drain().unwrap(),
        vec![
            RuntimeEvent::ContainerExited {
                id: c.clone(),
                exit_code: 137,
                at: now
            },
            RuntimeEvent::ContainerRemoved { id: c, at: now },
        ]
    );
}

#[test]
fn exit_codes_set_by_the_test_reach_status_and_events() {
    let (rt, _, c) = running();
    let mut events = run(rt.events()).unwrap();
    rt.exit(&c, 3).unwrap();
    let status = run(rt.container_status(&c)).unwrap();
    assert_eq!(status.exit_code, Some(3));
    assert_eq!(status.reason, Some(ExitReason::Error));
    assert_eq!(
        events.drain().unwrap(),
        vec![RuntimeEvent::ContainerExited {
            id: c,
            exit_code: 3,
            at: rt.now()
        }]
    );
}

#[test]
fn oom_kill_reports_oom_then_exit_137_with_reason_oomkilled() {
    let (rt, _, c) = running();
    let mut events = run(rt.events()).unwrap();
    rt.oom_kill(&c).unwrap();
    let status = run(rt.container_status(&c)).unwrap();
    assert_eq!(status.reason.map(ExitReason::as_str), Some("OOMKilled"));
    assert_eq!(status.exit_code, Some(137));
    let at = rt.now();
    assert_eq!(
        events.drain().unwrap(),
        vec![
            RuntimeEvent::ContainerOom { id: c.clone(), at },
            RuntimeEvent::ContainerExited {
                id: c,
                exit_code: 137,
                at
            },
        ]
    );
}

#[test]
fn scripted_failure_is_returned_once_recorded_and_leaves_state_unchanged() {
    let rt = FakeRuntime::new();
    let sb = run(rt.create_sandbox(&pod("web"))).unwrap();
    let c = run(rt.create_container(&sb, &container("app"))).unwrap();
    rt.fail_next(
        Call::StartContainer,
        ServiceError::Timeout {
            call: Call::StartContainer,
            after: Duration::from_secs(2),
        },
    );
    let err = run(rt.start_container(&c)).unwrap_err();
    assert!(err.is_transient());
    assert_eq!(
        run(rt.container_status(&c)).unwrap().state,
        ContainerState::Created
    );
    run(rt.start_container(&c)).unwrap();
    let calls: Vec<Call> = rt.calls().iter().map(RecordedCall::call).collect();
    assert_eq!(
        calls,
        vec![
            Call::CreateSandbox,
            Call::CreateContainer,
            Call::StartContainer,
            Call::ContainerStatus,
            Call::StartContainer,
        ]
    );
}

#[test]
fn call_log_records_arguments() {
    let (rt, _, c) = running();
    rt.clear_calls();
    run(rt.stop_container(&c, Duration::from_secs(5))).unwrap();
    assert_eq!(
        rt.calls(),
        vec![RecordedCall::StopContainer {
            id: c,
            grace: Duration::from_secs(5)
        }]
    );
}

#[test]
fn duplicate_sandbox_and_container_names_are_refused() {
    let (rt, sb, c) = running();
    assert!(matches!(
        run(rt.create_sandbox(&pod("web"))),
        Err(ServiceError::SandboxExists { existing, .. }) if existing == sb.as_str()
    ));
    assert!(matches!(
        run(rt.create_container(&sb, &container("app"))),
        Err(ServiceError::ContainerExists { existing, .. }) if existing == c.as_str()
    ));
    let mut next_attempt = container("app");
    next_attempt.metadata.attempt = 1;
    run(rt.create_container(&sb, &next_attempt)).unwrap();
}

#[test]
fn invalid_configs_name_the_field() {
    let rt = FakeRuntime::new();
    let mut nameless = pod("web");
    nameless.metadata.name.clear();
    assert!(matches!(
        run(rt.create_sandbox(&nameless)),
        Err(ServiceError::InvalidConfig { field, .. }) if field == "metadata.name"
    ));
    let sb = run(rt.create_sandbox(&pod("web"))).unwrap();
    let mut no_args = container("app");
    no_args.spec.args.clear();
    assert!(matches!(
        run(rt.create_container(&sb, &no_args)),
        Err(ServiceError::InvalidSpec(_))
    ));
}

#[test]
fn stopped_sandbox_stops_its_containers_and_refuses_new_ones() {
    let (rt, sb, c) = running();
    run(rt.stop_sandbox(&sb)).unwrap();
    run(rt.stop_sandbox(&sb)).unwrap();
    let status = run(rt.sandbox_status(&sb)).unwrap();
    assert_eq!(status.state, SandboxState::NotReady);
    assert_eq!(status.namespaces, None);
    assert_eq!(
        run(rt.container_status(&c)).unwrap().state,
        ContainerState::Exited
    );
    assert!(matches!(
        run(rt.create_container(&sb, &container("other"))),
        Err(ServiceError::WrongState {
            kind: ObjectKind::Sandbox,
            ..
        })
    ));
}

#[test]
fn remove_sandbox_removes_its_containers_and_is_idempotent() {
    let (rt, sb, c) = running();
    run(rt.remove_sandbox(&sb)).unwrap();
    run(rt.remove_sandbox(&sb)).unwrap();
    run(rt.stop_sandbox(&sb)).unwrap();
    assert!(run(rt.sandbox_status(&sb)).unwrap_err().is_not_found());
    assert!(run(rt.container_status(&c)).unwrap_err().is_not_found());
}

#[test]
fn ready_sandbox_reports_pinned_namespaces_under_its_id() {
    let rt = FakeRuntime::new();
    let sb = run(rt.create_sandbox(&pod("web"))).unwrap();
    let ns = run(rt.sandbox_status(&sb)).unwrap().namespaces.unwrap();
    assert_eq!(ns.pod_id, sb.as_str());
    assert!(ns.net.ends_with(format!("{sb}/net")));
}

#[test]
fn list_filters_by_sandbox_state_and_labels() {
    let (rt, web, web_app) = running();
    let db = run(rt.create_sandbox(&pod("db"))).unwrap();
    let db_app = run(rt.create_container(&db, &container("app"))).unwrap();

    let by_sandbox = ContainerFilter {
        sandbox_id: Some(db.clone()),
        ..ContainerFilter::default()
    };
    let ids: Vec<_> = run(rt.list_containers(&by_sandbox))
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, vec![db_app]);

    let running_only = ContainerFilter {
        state: Some(ContainerState::Running),
        ..ContainerFilter::default()
    };
    let ids: Vec<_> = run(rt.list_containers(&running_only))
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, vec![web_app]);

    let by_label = SandboxFilter {
        labels: BTreeMap::from([("app".into(), "web".into())]),
        ..SandboxFilter::default()
    };
    let ids: Vec<_> = run(rt.list_sandboxes(&by_label))
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, vec![web]);
}

#[test]
fn exec_returns_queued_results_then_success_and_needs_a_running_container() {
    let (rt, sb, c) = running();
    let cmd = vec!["cat".to_string(), "/ready".to_string()];
    let failed = ExecResult {
        stdout: b"no".to_vec(),
        stderr: Vec::new(),
        exit_code: 1,
    };
    rt.push_exec_result(&c, failed.clone());
    assert_eq!(
        run(rt.exec_sync(&c, &cmd, Duration::from_secs(1))).unwrap(),
        failed
    );
    assert_eq!(
        run(rt.exec_sync(&c, &cmd, Duration::from_secs(1))).unwrap(),
        ExecResult::default()
    );
    let created = run(rt.create_container(&sb, &container("side"))).unwrap();
    assert!(matches!(
        run(rt.exec_sync(&created, &cmd, Duration::from_secs(1))),
        Err(ServiceError::WrongState {
            call: Call::ExecSync,
            ..
        })
    ));
}

#[test]
fn create_container_needs_the_image_when_backed_by_fake_images() {
    let images = FakeImages::new();
    let rt = FakeRuntime::with_images(images.clone());
    let sb = run(rt.create_sandbox(&pod("web"))).unwrap();
    assert!(matches!(
        run(rt.create_container(&sb, &container("app"))),
        Err(ServiceError::ImageNotFound { .. })
    ));
    images.insert(FakeImages::sample("busybox"));
    run(rt.create_container(&sb, &container("app"))).unwrap();
}

#[test]
fn fakes_work_as_trait_objects() {
    let rt: Arc<dyn RuntimeService> = Arc::new(FakeRuntime::new());
    let images: Arc<dyn ImageService> = Arc::new(FakeImages::new());
    assert!(run(rt.list_sandboxes(&SandboxFilter::default()))
        .unwrap()
        .is_empty());
    assert!(run(images.list()).unwrap().is_empty());
}

#[test]
fn pull_copies_from_the_registry_and_status_finds_it_by_digest() {
    let images = FakeImages::new();
    let busybox = FakeImages::sample("busybox:1.36");
    images.add_to_registry(busybox.clone());
    assert!(matches!(
        run(images.pull(&image("nginx"), None)),
        Err(ServiceError::ImageNotFound { .. })
    ));
    assert_eq!(
        run(images.pull(&image("busybox:1.36"), None)).unwrap(),
        busybox
    );
    let by_digest = image(&format!("busybox@{}", busybox.digest));
    assert_eq!(
        run(images.status(&by_digest)).unwrap(),
        Some(busybox.clone())
    );
    assert_eq!(run(images.list()).unwrap(), vec![busybox]);
}

#[test]
fn pull_from_a_registry_needing_auth_is_unauthorized_without_the_right_credentials() {
    let images = FakeImages::new();
    images.add_to_registry(FakeImages::sample("registry.local:5000/app:v1"));
    let good = RegistryAuth::Basic {
        username: "ci".into(),
        password: "s3cret".into(),
    };
    images.require_auth("registry.local:5000", good.clone());
    let reference = image("registry.local:5000/app:v1");
    let wrong = RegistryAuth::Bearer {
        token: "nope".into(),
    };
    for auth in [None, Some(&wrong)] {
        assert!(matches!(
            run(images.pull(&reference, auth)),
            Err(ServiceError::Unauthorized { registry, .. }) if registry == "registry.local:5000"
        ));
    }
    run(images.pull(&reference, Some(&good))).unwrap();
    assert!(!format!("{:?}", images.calls()).contains("s3cret"));
}

#[test]
fn import_stores_every_image_of_the_tarball() {
    let images = FakeImages::new();
    let both = vec![FakeImages::sample("a:1"), FakeImages::sample("b:1")];
    images.add_archive("/tmp/images.tar", both.clone());
    let imported =
        run(images.import("/tmp/images.tar".as_ref(), ArchiveFormat::DockerArchive)).unwrap();
    assert_eq!(imported, both);
    assert_eq!(run(images.list()).unwrap(), both);
    assert!(matches!(
        run(images.import("/tmp/missing.tar".as_ref(), ArchiveFormat::OciLayout)),
        Err(ServiceError::Backend {
            call: Call::ImportImages,
            ..
        })
    ));
}

#[test]
fn image_remove_is_idempotent() {
    let images = FakeImages::new();
    images.insert(FakeImages::sample("busybox"));
    run(images.remove(&image("busybox"))).unwrap();
    run(images.remove(&image("busybox"))).unwrap();
    assert_eq!(run(images.status(&image("busybox"))).unwrap(), None);
}

#[test]
fn scripted_image_failure_is_returned_once() {
    let images = FakeImages::new();
    images.add_to_registry(FakeImages::sample("busybox"));
    images.fail_next(
        Call::PullImage,
        ServiceError::RegistryUnreachable {
            registry: "docker.io".into(),
            source: "connection refused".into(),
        },
    );
    assert!(run(images.pull(&image("busybox"), None))
        .unwrap_err()
        .is_transient());
    run(images.pull(&image("busybox"), None)).unwrap();
}

#[test]
fn subscriber_sees_create_and_start_in_order() {
    let rt = FakeRuntime::new();
    let mut events = run(rt.events()).unwrap();
    let sb = run(rt.create_sandbox(&pod("web"))).unwrap();
    let c = run(rt.create_container(&sb, &container("app"))).unwrap();
    run(rt.start_container(&c)).unwrap();
    assert!(matches!(
        run(events.recv()).unwrap(),
        RuntimeEvent::ContainerCreated { id, sandbox_id, .. } if id == c && sandbox_id == sb
    ));
    assert!(matches!(
        run(events.recv()).unwrap(),
        RuntimeEvent::ContainerStarted { id, .. } if id == c
    ));
    assert_eq!(events.try_recv().unwrap(), None);
}
