//! Pinning logic against the fake kernel: step order, undo and keep-going teardown.

use super::fake::FakeNamespaceOps;
use super::*;

const RUN: &str = "/run/skiff/netns";

fn pinner(ops: FakeNamespaceOps) -> NamespacePinner<FakeNamespaceOps> {
    NamespacePinner::new(RUN, ops)
}

fn pod_dir(pod: &str) -> PathBuf {
    Path::new(RUN).join(pod)
}

#[test]
fn create_pins_all_three_kinds_and_sets_hostname_once() {
    let p = pinner(FakeNamespaceOps::default());
    let pins = p.create("pod-a", "web-0").unwrap();
    assert_eq!(pins.net, Path::new("/run/skiff/netns/pod-a/net"));
    assert_eq!(
        pins.path(NsKind::Ipc),
        Path::new("/run/skiff/netns/pod-a/ipc")
    );
    let s = p.ops().state.borrow();
    assert_eq!(
        s.mounts,
        vec![pins.net.clone(), pins.ipc.clone(), pins.uts.clone()]
    );
    assert_eq!(s.hostnames, vec!["web-0".to_string()]);
    assert!(s.shared.contains(Path::new(RUN)), "run dir made shared");
}

#[test]
fn failure_at_any_create_step_leaves_nothing_behind() {
    let steps = [
        (Op::CreateFile, 0),
        (Op::CreateFile, 1),
        (Op::CreateFile, 2),
        (Op::Unshare, 0),
        (Op::SetHostname, 0),
        (Op::BindMount, 0),
        (Op::BindMount, 1),
        (Op::BindMount, 2),
    ];
    for step in steps {
        let p = pinner(FakeNamespaceOps::failing(&[step]));
        let err = p.create("pod-a", "h").unwrap_err();
        assert!(
            matches!(&err, SandboxError::Step { source, .. } if source.op == step.0),
            "{step:?}: {err}"
        );
        assert_eq!(
            p.ops().left_under(Path::new(RUN)),
            Vec::<PathBuf>::new(),
            "{step:?}"
        );
    }
}

#[test]
fn failing_to_create_the_pod_dir_touches_nothing_else() {
    let p = pinner(FakeNamespaceOps::failing(&[(Op::CreateDir, 0)]));
    assert!(p.create("pod-a", "h").is_err());
    let s = p.ops().state.borrow();
    assert!(s.calls.iter().all(|(op, _)| *op != Op::RemoveDir));
}

#[test]
fn creating_an_existing_pod_is_already_exists_and_keeps_its_pins() {
    let p = pinner(FakeNamespaceOps::default());
    p.create("pod-a", "h").unwrap();
    let err = p.create("pod-a", "h").unwrap_err();
    assert!(matches!(err, SandboxError::AlreadyExists { .. }), "{err}");
    assert_eq!(p.ops().state.borrow().mounts.len(), 3);
}

#[test]
fn failed_undo_reports_the_cause_and_every_undo_error() {
    let p = pinner(FakeNamespaceOps::failing(&[
        (Op::BindMount, 2),
        (Op::Unmount, 0),
    ]));
    let err = p.create("pod-a", "h").unwrap_err();
    let SandboxError::UndoFailed { cause, undo } = &err else {
        panic!("{err}");
    };
    assert!(matches!(**cause, SandboxError::Step { ref source, .. } if source.op == Op::BindMount));
    let ops: Vec<Op> = undo.iter().map(|e| e.op).collect();
    assert_eq!(ops, [Op::Unmount, Op::RemoveFile, Op::RemoveDir]);
    assert!(err.to_string().contains("undoing it also failed"), "{err}");
    // Only the net pin, whose unmount failed, is left.
    assert_eq!(
        p.ops().left_under(Path::new(RUN)),
        vec![
            pod_dir("pod-a"),
            pod_dir("pod-a").join("net"),
            pod_dir("pod-a").join("net")
        ]
    );
}

#[test]
fn remove_deletes_pins_and_dir_and_twice_is_fine() {
    let p = pinner(FakeNamespaceOps::default());
    p.create("pod-a", "h").unwrap();
    p.remove("pod-a").unwrap();
    assert_eq!(p.ops().left_under(Path::new(RUN)), Vec::<PathBuf>::new());
    p.remove("pod-a").unwrap();
    p.remove("never-created").unwrap();
}

#[test]
fn remove_keeps_going_after_an_error_and_reports_each() {
    let p = pinner(FakeNamespaceOps::failing(&[(Op::Unmount, 0)]));
    p.create("pod-a", "h").unwrap();
    let err = p.remove("pod-a").unwrap_err();
    let SandboxError::Teardown { errors, .. } = &err else {
        panic!("{err}");
    };
    let ops: Vec<Op> = errors.iter().map(|e| e.op).collect();
    assert_eq!(ops, [Op::Unmount, Op::RemoveFile, Op::RemoveDir]);
    let s = p.ops().state.borrow();
    assert_eq!(
        s.mounts,
        vec![pod_dir("pod-a").join("net")],
        "ipc and uts still removed"
    );
    drop(s);
    p.remove("pod-a").unwrap();
    assert_eq!(p.ops().left_under(Path::new(RUN)), Vec::<PathBuf>::new());
}

#[test]
fn bad_pod_ids_are_rejected_before_touching_anything() {
    let p = pinner(FakeNamespaceOps::default());
    assert!(matches!(
        p.create("../etc", "h"),
        Err(SandboxError::InvalidPodId(_))
    ));
    assert!(matches!(p.remove(".."), Err(SandboxError::InvalidPodId(_))));
    assert!(matches!(
        p.create("ok", ""),
        Err(SandboxError::InvalidHostname(_))
    ));
    assert!(p.ops().state.borrow().calls.is_empty());
}

#[test]
fn load_all_splits_pinned_from_broken_pods() {
    let p = pinner(FakeNamespaceOps::default());
    p.create("pod-b", "h").unwrap();
    p.create("pod-a", "h").unwrap();
    p.create("pod-c", "h").unwrap();
    p.ops().unmount(&pod_dir("pod-c").join("ipc")).unwrap();
    let report = p.load_all().unwrap();
    let ids: Vec<&str> = report.pinned.iter().map(|p| p.pod_id.as_str()).collect();
    assert_eq!(ids, ["pod-a", "pod-b"]);
    assert_eq!(
        report.broken,
        vec![BrokenPod {
            pod_id: "pod-c".into(),
            missing: vec![NsKind::Ipc]
        }]
    );
}

#[test]
fn load_finds_one_pod_or_names_the_missing_pin() {
    let p = pinner(FakeNamespaceOps::default());
    assert!(matches!(
        p.load("pod-a"),
        Err(SandboxError::NotPinned { .. })
    ));
    let made = p.create("pod-a", "h").unwrap();
    assert_eq!(p.load("pod-a").unwrap(), made);
    p.ops().unmount(&made.uts).unwrap();
    let err = p.load("pod-a").unwrap_err();
    assert!(
        matches!(
            err,
            SandboxError::NotPinned {
                kind: NsKind::Uts,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn load_all_of_a_missing_run_dir_is_empty() {
    let p = pinner(FakeNamespaceOps::default());
    assert_eq!(p.load_all().unwrap(), LoadReport::default());
}
