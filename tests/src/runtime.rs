//! Shared fixture of the runtime tests against a real containerd: a private containerd, a
//! `Containerd` client over it with every directory in a temp dir, the busybox image, configs
//! of sandboxes and containers, waits on container state, exec, and the check that nothing
//! (container, task, snapshot, lease, mount) is left behind. Containers and tasks made with
//! `ctr` alone are handled in [`ctr`].

pub mod ctr;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use skiff_runtime::containerd::{
    Containerd, ContainerdConfig, ContainerdImages, ContainerdRuntime,
};
use skiff_runtime::reference::ImageReference;
use skiff_runtime::service::{
    ArchiveFormat, ContainerConfig, ContainerId, ContainerMetadata, ContainerState,
    ContainerStatus, ImageInfo, ImageService, RuntimeEvent, RuntimeEvents, RuntimeService,
    SandboxConfig, SandboxId, SandboxMetadata,
};
use skiff_runtime::spec::ContainerSpecConfig;

use crate::cni::workspace_bin;
use crate::containerd::{mounts_under, PrivateContainerd, NEEDS};
use crate::guard::{require, Need};
use crate::images::{self, BUSYBOX_REF};

/// How long any single wait of these tests may take before it fails with what it saw.
pub const WAIT: Duration = Duration::from_secs(60);

/// What a runtime test needs besides containerd and runc.
pub const RUNTIME_NEEDS: [Need; 3] = [
    Need::File(images::BUSYBOX, "busybox-static"),
    Need::Tool("nsenter", "util-linux"),
    Need::Tool("ip", "iproute2"),
];

/// A private containerd with a `Containerd` client over it and temp dirs for pins, runtime
/// state, logs and images. Dropping it detaches leftover pins and tears containerd down.
pub struct RuntimeFixture {
    client: Containerd,
    config: ContainerdConfig,
    containerd: PrivateContainerd,
    root: PathBuf,
    _work: tempfile::TempDir,
}

impl RuntimeFixture {
    /// Checks the preconditions, starts containerd and connects to it.
    #[track_caller]
    pub fn start() -> impl std::future::Future<Output = Self> {
        require(&NEEDS);
        require(&RUNTIME_NEEDS);
        async {
            let containerd = PrivateContainerd::start();
            let work = tempfile::Builder::new()
                .prefix("skiff-runtime-")
                .tempdir()
                .expect("temp dir");
            let root = work.path().canonicalize().expect("canonical temp dir");
            for sub in ["netns", "state", "logs", "images"] {
                std::fs::create_dir_all(root.join(sub)).expect("create fixture dir");
            }
            let config = ContainerdConfig {
                address: containerd.address(),
                namespace: containerd.namespace().to_string(),
                netns_dir: root.join("netns"),
                state_dir: root.join("state"),
                logger: workspace_bin(skiff_runtime::containerd::LOGGER_BINARY),
                // Under the namespace's cgroup, which the harness removes on teardown.
                cgroup_parent: format!("/{}", containerd.namespace()),
                ..Default::default()
            };
            let client = Containerd::connect(config.clone())
                .await
                .expect("connect to the private containerd");
            Self {
                client,
                config,
                containerd,
                root,
                _work: work,
            }
        }
    }

    /// The private containerd (for `ctr`).
    pub fn containerd(&self) -> &PrivateContainerd {
        &self.containerd
    }

    /// The configuration the client was made with.
    pub fn config(&self) -> &ContainerdConfig {
        &self.config
    }

    /// The client made at start.
    pub fn client(&self) -> &Containerd {
        &self.client
    }

    /// A new, independent client with the same configuration.
    pub async fn connect(&self) -> Containerd {
        Containerd::connect(self.config.clone())
            .await
            .expect("connect to the private containerd")
    }

    /// The image service of the start-time client.
    pub fn images(&self) -> ContainerdImages {
        self.client.images()
    }

    /// A runtime service over the start-time client.
    pub async fn runtime(&self) -> ContainerdRuntime {
        self.client.runtime().await.expect("runtime service")
    }

    /// Where the pod namespaces are pinned.
    pub fn netns_dir(&self) -> &Path {
        &self.config.netns_dir
    }

    /// A directory for image files and other scratch data.
    pub fn scratch(&self) -> PathBuf {
        self.root.join("images")
    }

    /// The directory pods' logs go under.
    pub fn log_root(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// Builds the busybox image as an OCI layout and imports its tarball through
    /// [`ImageService::import`]; returns what the import reported.
    pub async fn import_busybox(&self) -> ImageInfo {
        let layout = images::busybox_oci_layout(&self.scratch());
        let imported = self
            .images()
            .import(&images::oci_archive(&layout), ArchiveFormat::OciLayout)
            .await
            .expect("import the busybox OCI tarball");
        assert_eq!(imported.len(), 1, "{imported:?}");
        imported.into_iter().next().unwrap()
    }

    /// A sandbox config for pod `name` with its own log directory and hostname `name`.
    pub fn sandbox_config(&self, name: &str) -> SandboxConfig {
        let log_directory = self.log_root().join(name);
        std::fs::create_dir_all(&log_directory).expect("create pod log dir");
        SandboxConfig {
            metadata: SandboxMetadata {
                pod_uid: format!("uid-{name}"),
                namespace: "default".to_string(),
                name: name.to_string(),
                attempt: 0,
            },
            hostname: name.to_string(),
            log_directory,
            ..Default::default()
        }
    }

    /// Checks nothing is left: no container record, task, lease or mount, and no snapshot
    /// besides the committed layers of images still present (none once every image is
    /// removed; containerd's GC gets [`WAIT`] to collect them).
    #[track_caller]
    pub fn assert_nothing_left(&self) {
        let c = &self.containerd;
        let lines = |args: &[&str]| -> Vec<String> {
            c.ctr_ok(args)
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect()
        };
        assert_eq!(
            lines(&["containers", "ls", "-q"]),
            Vec::<String>::new(),
            "containers left"
        );
        assert_eq!(
            lines(&["tasks", "ls", "-q"]),
            Vec::<String>::new(),
            "tasks left"
        );
        assert_eq!(
            lines(&["leases", "ls", "-q"]),
            Vec::<String>::new(),
            "leases left"
        );
        let images_left = !lines(&["images", "ls", "-q"]).is_empty();
        poll(Duration::from_millis(200), || {
            // KEY PARENT KIND, after a header line.
            let snapshots: Vec<String> = lines(&["snapshots", "ls"]).into_iter().skip(1).collect();
            let active: Vec<&String> = snapshots
                .iter()
                .filter(|l| l.split_whitespace().last() != Some("Committed"))
                .collect();
            assert!(
                active.is_empty(),
                "snapshots other than image layers left: {active:?}"
            );
            if images_left || snapshots.is_empty() {
                return Ok(());
            }
            Err(format!(
                "image layers left after every image was removed: {snapshots:?}"
            ))
        });
        let mut mounts = mounts_under(c.dir());
        mounts.extend(mounts_under(&self.config.state_dir));
        // The run dir itself is a shared bind mount that outlives pods; pins under it must go.
        mounts.extend(
            mounts_under(&self.config.netns_dir)
                .into_iter()
                .filter(|m| m != &self.config.netns_dir),
        );
        assert_eq!(mounts, Vec::<PathBuf>::new(), "mounts left");
        let pods: Vec<PathBuf> = std::fs::read_dir(&self.config.netns_dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert_eq!(pods, Vec::<PathBuf>::new(), "pod pin directories left");
    }
}

impl Drop for RuntimeFixture {
    fn drop(&mut self) {
        // Pins (and the run dir's own bind mount) of a test that failed half way; deepest first.
        for mount in mounts_under(&self.config.netns_dir) {
            let _ = nix::mount::umount2(mount.as_path(), nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

/// The busybox image's reference.
pub fn busybox_ref() -> ImageReference {
    ImageReference::parse(BUSYBOX_REF).expect("busybox reference")
}

/// A container named `name` of the busybox image running `args`, logging to `<name>.log`.
pub fn busybox_container(name: &str, args: &[&str]) -> ContainerConfig {
    ContainerConfig {
        metadata: ContainerMetadata {
            name: name.to_string(),
            attempt: 0,
        },
        image: busybox_ref(),
        spec: ContainerSpecConfig {
            args: args.iter().map(|a| a.to_string()).collect(),
            env: vec![(
                "PATH".to_string(),
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
            )],
            ..Default::default()
        },
        log_path: PathBuf::from(format!("{name}.log")),
        labels: BTreeMap::from([("test".to_string(), name.to_string())]),
        annotations: BTreeMap::new(),
    }
}

/// `args` as owned strings, for `exec_sync`.
pub fn cmd(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// Calls `probe` every `every` until it returns `Ok`; panics with its last `Err` after [`WAIT`].
#[track_caller]
pub fn poll<T>(every: Duration, mut probe: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        match probe() {
            Ok(done) => return done,
            Err(last) => assert!(Instant::now() < deadline, "{last}"),
        }
        std::thread::sleep(every);
    }
}

/// Creates `config` in sandbox `pod` and starts it; returns the container's id.
pub async fn run_container(
    rt: &dyn RuntimeService,
    pod: &SandboxId,
    config: &ContainerConfig,
) -> ContainerId {
    let id = rt
        .create_container(pod, config)
        .await
        .unwrap_or_else(|e| panic!("create {}: {e}", config.metadata.name));
    rt.start_container(&id)
        .await
        .unwrap_or_else(|e| panic!("start {}: {e}", config.metadata.name));
    id
}

/// Runs `args` in the container through `exec_sync` (within [`WAIT`]) and checks it exits 0;
/// returns its stdout.
pub async fn exec_ok(rt: &dyn RuntimeService, id: &ContainerId, args: &[&str]) -> String {
    let result = rt
        .exec_sync(id, &cmd(args), WAIT)
        .await
        .unwrap_or_else(|e| panic!("exec {args:?} in {id}: {e}"));
    assert_eq!(
        result.exit_code,
        0,
        "exec {args:?} in {id}: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    String::from_utf8_lossy(&result.stdout).into_owned()
}

/// Polls the container's status until `done` holds; panics with the last status after [`WAIT`].
pub async fn wait_status(
    rt: &dyn RuntimeService,
    id: &ContainerId,
    done: impl Fn(&ContainerStatus) -> bool,
) -> ContainerStatus {
    let deadline = Instant::now() + WAIT;
    loop {
        let status = rt.container_status(id).await.expect("container status");
        if done(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "container never reached the state: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the container has exited; returns its status.
pub async fn wait_exited(rt: &dyn RuntimeService, id: &ContainerId) -> ContainerStatus {
    wait_status(rt, id, |s| s.state == ContainerState::Exited).await
}

/// Receives events until one about `id` passes `wanted`; returns it and every event about `id`
/// seen on the way (in order, the matching one last).
pub async fn next_event(
    events: &mut RuntimeEvents,
    id: &ContainerId,
    wanted: impl Fn(&RuntimeEvent) -> bool,
) -> Vec<RuntimeEvent> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| panic!("no such event for {id}; saw {seen:?}"))
            .expect("event stream");
        if event.container_id() == Some(id) {
            let done = wanted(&event);
            seen.push(event);
            if done {
                return seen;
            }
        }
    }
}

/// Waits for the container's exit event; returns its exit code.
pub async fn next_exit(events: &mut RuntimeEvents, id: &ContainerId) -> i32 {
    let seen = next_event(events, id, |e| {
        matches!(e, RuntimeEvent::ContainerExited { .. })
    })
    .await;
    match seen.last() {
        Some(RuntimeEvent::ContainerExited { exit_code, .. }) => *exit_code,
        other => unreachable!("{other:?}"),
    }
}

/// Runs `program args` to success; panics with its output otherwise; returns stdout.
#[track_caller]
pub fn run_ok(program: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
