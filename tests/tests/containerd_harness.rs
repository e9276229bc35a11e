//! The containerd test tier's harness against the real daemon: a private containerd answers on
//! its own socket, images built locally from busybox-static import and run, a loopback
//! registry serves pushed images to real pulls, and teardown leaves no mounts behind.

use std::path::Path;

use skiff_tests::containerd::{mounts_under, PrivateContainerd, NEEDS};
use skiff_tests::guard::{require, Need};
use skiff_tests::images::{self, LocalRegistry, BUSYBOX_REF, OCI_MANIFEST};

const IMAGE_NEEDS: [Need; 2] = [
    Need::File(images::BUSYBOX, "busybox-static"),
    Need::Tool("docker-registry", "docker-registry"),
];

#[track_caller]
fn require_all() {
    require(&NEEDS);
    require(&IMAGE_NEEDS);
}

#[test]
#[ignore = "needs root, containerd and runc: private containerd daemon"]
fn private_containerd_answers_on_its_own_socket() {
    require_all();
    let containerd = PrivateContainerd::start();
    let version = containerd.ctr_ok(&["version"]);
    assert!(version.contains("Server:"), "{version}");
    assert!(containerd.address().starts_with(containerd.dir()));
    assert!(containerd
        .root()
        .join("io.containerd.content.v1.content")
        .is_dir());
}

#[test]
#[ignore = "needs root, containerd and runc: runs a container"]
fn imported_oci_tarball_runs_echo_hello() {
    require_all();
    let work = tempfile::tempdir().unwrap();
    let layout = images::busybox_oci_layout(work.path());
    let containerd = PrivateContainerd::start();
    let archive = images::oci_archive(&layout);
    containerd.ctr_ok(&["images", "import", archive.to_str().unwrap()]);
    let listed = containerd.ctr_ok(&["images", "ls", "-q"]);
    assert!(listed.lines().any(|l| l == BUSYBOX_REF), "{listed}");
    let out = containerd.ctr_ok(&["run", "--rm", BUSYBOX_REF, "t1", "echo", "hello"]);
    assert_eq!(out.trim(), "hello");
}

#[test]
#[ignore = "needs root, containerd and runc: imports a docker archive"]
fn imported_docker_archive_runs_echo_hello() {
    require_all();
    let work = tempfile::tempdir().unwrap();
    let archive = images::docker_archive(work.path());
    let containerd = PrivateContainerd::start();
    containerd.ctr_ok(&["images", "import", archive.to_str().unwrap()]);
    let out = containerd.ctr_ok(&["run", "--rm", BUSYBOX_REF, "t1", "echo", "hello"]);
    assert_eq!(out.trim(), "hello");
}

#[test]
#[ignore = "needs root, containerd, runc and docker-registry: pulls from a loopback registry"]
fn pushed_layout_is_served_by_the_registry_and_pulled_by_containerd() {
    require_all();
    let work = tempfile::tempdir().unwrap();
    let layout = images::busybox_oci_layout(work.path());
    let registry = LocalRegistry::start();
    let pushed = registry.push_oci_layout(&layout, "busybox", "1.36");
    assert_eq!(pushed, images::manifest_digest(&layout));

    let got = registry.get_manifest("busybox", "1.36", OCI_MANIFEST);
    assert_eq!(got.status, 200, "{}", String::from_utf8_lossy(&got.body));
    assert_eq!(got.header("docker-content-digest"), Some(pushed.as_str()));
    assert_eq!(got.body, images::read_blob(&layout, &pushed));

    let containerd = PrivateContainerd::start();
    let reference = format!("{}/busybox:1.36", registry.host());
    containerd.ctr_ok(&["images", "pull", "--plain-http", &reference]);
    let out = containerd.ctr_ok(&["run", "--rm", &reference, "t1", "echo", "pulled"]);
    assert_eq!(out.trim(), "pulled");
}

#[test]
#[ignore = "needs root, containerd and runc: runs a container, then tears down"]
fn drop_kills_running_containers_and_leaves_no_mounts() {
    require_all();
    let work = tempfile::tempdir().unwrap();
    let layout = images::busybox_oci_layout(work.path());
    let containerd = PrivateContainerd::start();
    let archive = images::oci_archive(&layout);
    containerd.ctr_ok(&["images", "import", archive.to_str().unwrap()]);
    let fifo = containerd.fifo_dir();
    let fifo = fifo.to_str().unwrap();
    containerd.ctr_ok(&[
        "run",
        "-d",
        "--fifo-dir",
        fifo,
        BUSYBOX_REF,
        "sleeper",
        "sleep",
        "600",
    ]);
    let tasks = containerd.ctr_ok(&["tasks", "ls"]);
    let pid: u32 = tasks
        .lines()
        .find(|l| l.starts_with("sleeper"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("sleeper task not listed: {tasks}"));
    let runc_state = Path::new("/run/containerd/runc").join(containerd.namespace());
    assert!(runc_state.exists());
    let dir = containerd.dir().to_path_buf();
    assert!(
        !mounts_under(&dir).is_empty(),
        "a running container has its rootfs mounted under the temp root"
    );
    drop(containerd);
    assert_eq!(mounts_under(&dir), Vec::<std::path::PathBuf>::new());
    assert!(!dir.exists(), "{} remains", dir.display());
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "container process {pid} survives"
    );
    assert!(!runc_state.exists(), "{} remains", runc_state.display());
}
