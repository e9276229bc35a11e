//! Pinned pod namespaces against the real kernel: pins are nsfs mounts under a shared run dir,
//! processes that join them share the hostname and the network stack, they outlive the process
//! that made them, and removal leaves nothing behind.

use nix::mount::MntFlags;
use nix::sched::{setns, CloneFlags};
use skiff_runtime::sandbox::{NsKind, PinnedNamespaces, PodNamespaces, SandboxError};
use skiff_tests::guard::{require, Need};
use std::io::Read;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const NEEDS: &[Need] = &[
    Need::Root,
    Need::Tool("nsenter", "util-linux"),
    Need::Tool("unshare", "util-linux"),
    Need::Tool("ip", "iproute2"),
    Need::Tool("bash", "bash"),
];

/// Set in a re-executed test binary: create pins under this run dir, then exit.
const CHILD_RUN_DIR: &str = "SKIFF_SANDBOX_CHILD_RUN_DIR";
const CHILD_POD: &str = "SKIFF_SANDBOX_CHILD_POD";

/// A temp run dir; the self-bind mount that makes it shared is detached on drop.
struct RunDir {
    path: PathBuf,
    _tmp: tempfile::TempDir,
}

impl RunDir {
    fn new() -> Self {
        let tmp = tempfile::Builder::new()
            .prefix("skiff-netns-")
            .tempdir()
            .unwrap();
        Self {
            path: tmp.path().canonicalize().unwrap(),
            _tmp: tmp,
        }
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.path, MntFlags::MNT_DETACH);
    }
}

/// `(mount point, fstype, shared)` of every mount in this process's mount namespace.
fn mounts() -> Vec<(String, String, bool)> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let fields: Vec<&str> = left.split(' ').collect();
            let shared = fields.iter().skip(6).any(|f| f.starts_with("shared:"));
            Some((
                fields.get(4)?.to_string(),
                right.split(' ').next()?.to_string(),
                shared,
            ))
        })
        .collect()
}

fn is_nsfs_mount(path: &Path) -> bool {
    let path = path.to_str().unwrap();
    mounts().iter().any(|(m, fs, _)| m == path && fs == "nsfs")
}

fn mounts_under(dir: &Path) -> Vec<String> {
    let dir = dir.to_str().unwrap();
    mounts()
        .into_iter()
        .filter(|(m, _, _)| m.starts_with(dir) && m != dir)
        .map(|(m, _, _)| m)
        .collect()
}

fn run_ok(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "`{program} {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn nsenter(kind: NsKind, pins: &PinnedNamespaces, cmd: &[&str]) -> String {
    let flag = format!("--{}={}", kind.name(), pins.path(kind).display());
    let mut args = vec![flag.as_str()];
    args.extend_from_slice(cmd);
    run_ok("nsenter", &args)
}

fn assert_gone(pins: &PinnedNamespaces) {
    assert_eq!(mounts_under(&pins.dir), Vec::<String>::new(), "mounts left");
    assert!(!pins.dir.exists(), "{} left", pins.dir.display());
}

/// Re-runs this test binary as a child that creates pins for `pod` under `run_dir`, optionally
/// wrapped (e.g. in `unshare --mount`), and returns the child's pid after it exited.
fn create_in_child(wrapper: &[&str], test: &str, run_dir: &Path, pod: &str) -> u32 {
    let exe = std::env::current_exe().unwrap();
    let exe = exe.to_str().unwrap();
    let mut argv: Vec<&str> = wrapper.to_vec();
    argv.extend([exe, "--exact", test, "--ignored", "--test-threads=1"]);
    let mut child = Command::new(argv[0])
        .args(&argv[1..])
        .env(CHILD_RUN_DIR, run_dir)
        .env(CHILD_POD, pod)
        .spawn()
        .unwrap();
    let pid = child.id();
    assert!(
        child.wait().unwrap().success(),
        "child creating pins failed"
    );
    pid
}

/// In a re-executed child: creates the requested pins and returns true.
fn child_creates_pins() -> bool {
    let (Ok(run_dir), Ok(pod)) = (std::env::var(CHILD_RUN_DIR), std::env::var(CHILD_POD)) else {
        return false;
    };
    PodNamespaces::create(Path::new(&run_dir), &pod, "from-child").unwrap();
    true
}

#[test]
#[ignore = "needs root: mounts and namespaces"]
fn pins_are_nsfs_mounts_under_a_shared_run_dir() {
    require(NEEDS);
    let run = RunDir::new();
    let pins = PodNamespaces::create(&run.path, "pod-a", "web-0").unwrap();
    assert_eq!(pins.dir, run.path.join("pod-a"));
    for kind in NsKind::ALL {
        assert_eq!(pins.path(kind), run.path.join("pod-a").join(kind.name()));
        assert!(
            is_nsfs_mount(pins.path(kind)),
            "{kind} pin is not an nsfs mount"
        );
    }
    let run_str = run.path.to_str().unwrap();
    assert!(
        mounts()
            .iter()
            .any(|(m, _, shared)| m == run_str && *shared),
        "run dir is not a shared mount point"
    );
    pins.remove().unwrap();
}

#[test]
#[ignore = "needs root: mounts and namespaces"]
fn creating_pins_leaves_the_callers_namespaces_alone() {
    require(NEEDS);
    let run = RunDir::new();
    let ns = |k: &str| std::fs::read_link(format!("/proc/thread-self/ns/{k}")).unwrap();
    let before: Vec<PathBuf> = ["net", "ipc", "uts"].map(ns).to_vec();
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let pins = PodNamespaces::create(&run.path, "pod-a", "not-the-host").unwrap();
    assert_eq!(["net", "ipc", "uts"].map(ns).to_vec(), before);
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        hostname
    );
    for kind in NsKind::ALL {
        let pinned = std::fs::metadata(pins.path(kind)).unwrap().ino();
        let own = std::fs::metadata(format!("/proc/thread-self/ns/{kind}"))
            .unwrap()
            .ino();
        assert_ne!(pinned, own, "{kind} pin is the caller's own namespace");
    }
    pins.remove().unwrap();
}

#[test]
#[ignore = "needs root: mounts and namespaces"]
fn a_process_entering_the_pinned_uts_namespace_sees_the_hostname() {
    require(NEEDS);
    let run = RunDir::new();
    let pins = PodNamespaces::create(&run.path, "pod-a", "web-0").unwrap();
    assert_eq!(nsenter(NsKind::Uts, &pins, &["hostname"]), "web-0");
    pins.remove().unwrap();
}

#[test]
#[ignore = "needs root: mounts and namespaces"]
fn pinned_net_namespace_is_left_unconfigured_for_cni() {
    require(NEEDS);
    let run = RunDir::new();
    let pins = PodNamespaces::create(&run.path, "pod-a", "h").unwrap();
    let links = nsenter(NsKind::Net, &pins, &["ip", "-o", "link", "show"]);
    assert_eq!(links.lines().count(), 1, "{links}");
    assert!(links.contains("lo:") && !links.contains(",UP"), "{links}");
    pins.remove().unwrap();
}

#[test]
#[ignore = "needs root: mounts and namespaces"]
fn two_processes_joining_the_pinned_net_namespace_share_loopback() {
    require(NEEDS);
    let run = RunDir::new();
    let pins = PodNamespaces::create(&run.path, "pod-a", "h").unwrap();
    nsenter(NsKind::Net, &pins, &["ip", "link", "set", "lo", "up"]);
    let netns = std::fs::File::open(&pins.net).unwrap();
    // This process listens on a thread inside the pinned namespace...
    let (listener, port) = std::thread::scope(|s| {
        s.spawn(|| {
            setns(&netns, CloneFlags::CLONE_NEWNET).unwrap();
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = l.local_addr().unwrap().port();
            (l, port)
        })
        .join()
        .unwrap()
    });
    // ...and a child process joining the same pin connects to it over 127.0.0.1.
    let script = format!("echo hello-from-child >/dev/tcp/127.0.0.1/{port}");
    let reader = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut got = String::new();
        conn.read_to_string(&mut got).unwrap();
        got
    });
    nsenter(NsKind::Net, &pins, &["bash", "-c", &script]);
    assert_eq!(reader.join().unwrap().trim(), "hello-from-child");
    let seen = nsenter(NsKind::Net, &pins, &["readlink", "/proc/self/ns/net"]);
    let ino = std::fs::metadata(&pins.net).unwrap().ino();
    assert_eq!(seen, format!("net:[{ino}]"));
    pins.remove().unwrap();
}

#[test]
#[ignore = "needs root: mounts and namespaces"]
fn pins_outlive_the_process_that_created_them() {
    if child_creates_pins() {
        return;
    }
    require(NEEDS);
    let run = RunDir::new();
    let pid = create_in_child(
        &[],
        "pins_outlive_the_process_that_created_them",
        &run.path,
        "pod-a",
    );
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "child still running"
    );
    let pins = PodNamespaces::load(&run.path, "pod-a").unwrap();
    assert_eq!(nsenter(NsKind::Uts, &pins, &["hostname"]), "from-child");
    let report = PodNamespaces::load_all(&run.path).unwrap();
    assert_eq!(report.pinned, vec![pins.clone()]);
    assert!(report.broken.is_empty());
    pins.remove().unwrap();
    assert_gone(&pins);
}

#[test]
#[ignore = "needs root: mounts and namespaces"]
fn pins_made_in_another_mount_namespace_are_visible_through_the_shared_run_dir() {
    if child_creates_pins() {
        return;
    }
    require(NEEDS);
    let run = RunDir::new();
    PodNamespaces::prepare_run_dir(&run.path).unwrap();
    create_in_child(
        &["unshare", "--mount", "--propagation", "unchanged"],
        "pins_made_in_another_mount_namespace_are_visible_through_the_shared_run_dir",
        &run.path,
        "pod-a",
    );
    let pins = PodNamespaces::load(&run.path, "pod-a").unwrap();
    for kind in NsKind::ALL {
        assert!(
            is_nsfs_mount(pins.path(kind)),
            "{kind} pin not visible here"
        );
    }
    assert_eq!(nsenter(NsKind::Uts, &pins, &["hostname"]), "from-child");
    pins.remove().unwrap();
    assert_gone(&pins);
}

#[test]
#[ignore = "needs root: mounts and namespaces"]
fn remove_leaves_no_mount_and_no_file_and_twice_is_fine() {
    require(NEEDS);
    let run = RunDir::new();
    let pins = PodNamespaces::create(&run.path, "pod-a", "h").unwrap();
    let other = PodNamespaces::create(&run.path, "pod-b", "h").unwrap();
    PodNamespaces::remove(&run.path, "pod-a").unwrap();
    assert_gone(&pins);
    PodNamespaces::remove(&run.path, "pod-a").unwrap();
    PodNamespaces::remove(&run.path, "never-created").unwrap();
    assert!(
        PodNamespaces::load(&run.path, "pod-b").is_ok(),
        "other pod disturbed"
    );
    other.remove().unwrap();
    assert_gone(&other);
    assert_eq!(
        PodNamespaces::load_all(&run.path).unwrap(),
        Default::default()
    );
}

#[test]
#[ignore = "needs root: mounts and namespaces"]
fn creating_an_existing_pod_fails_and_keeps_its_pins() {
    require(NEEDS);
    let run = RunDir::new();
    let pins = PodNamespaces::create(&run.path, "pod-a", "first").unwrap();
    let err = PodNamespaces::create(&run.path, "pod-a", "second").unwrap_err();
    assert!(matches!(err, SandboxError::AlreadyExists { .. }), "{err}");
    assert_eq!(nsenter(NsKind::Uts, &pins, &["hostname"]), "first");
    pins.remove().unwrap();
}

#[test]
#[ignore = "needs root: mounts and namespaces"]
fn load_all_reports_a_pod_whose_pin_was_unmounted_as_broken() {
    require(NEEDS);
    let run = RunDir::new();
    let pins = PodNamespaces::create(&run.path, "pod-a", "h").unwrap();
    nix::mount::umount2(&pins.ipc, MntFlags::MNT_DETACH).unwrap();
    let report = PodNamespaces::load_all(&run.path).unwrap();
    assert!(report.pinned.is_empty());
    assert_eq!(report.broken.len(), 1);
    assert_eq!(report.broken[0].missing, vec![NsKind::Ipc]);
    PodNamespaces::remove(&run.path, "pod-a").unwrap();
    assert_gone(&pins);
}
