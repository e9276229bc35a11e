//! A private containerd per test: Debian's containerd 1.6 with its own root, state, sockets and
//! config under a temporary directory, driven with `ctr`, torn down with everything it started.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::guard::{require, Need};

/// What a containerd test needs on the machine.
pub const NEEDS: [Need; 4] = [
    Need::Root,
    Need::Tool("containerd", "containerd"),
    Need::Tool("ctr", "containerd"),
    Need::Tool("runc", "runc"),
];

/// Where the runc shim of containerd 1.6 keeps runc's state, one directory per namespace.
const RUNC_ROOT: &str = "/run/containerd/runc";

/// A running containerd with its own `--root`, `--state` and `--address` under a temp dir.
pub struct PrivateContainerd {
    dir: tempfile::TempDir,
    namespace: String,
    child: Option<Child>,
}

impl PrivateContainerd {
    /// Writes a config, starts containerd and waits until `ctr version` answers on its socket.
    #[track_caller]
    pub fn start() -> Self {
        require(&NEEDS);
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = tempfile::Builder::new()
            .prefix("skiff-containerd-")
            .tempdir()
            .expect("temp dir");
        let namespace = format!(
            "skiff-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut containerd = PrivateContainerd {
            dir,
            namespace,
            child: None,
        };
        std::fs::write(containerd.config_path(), containerd.config()).expect("write config");
        let log = std::fs::File::create(containerd.log_path()).expect("containerd log");
        let child = Command::new("containerd")
            .arg("--config")
            .arg(containerd.config_path())
            .arg("--log-level")
            .arg("debug")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .expect("start containerd");
        containerd.child = Some(child);
        containerd.wait_ready();
        containerd
    }

    /// The temporary directory holding everything of this containerd.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The gRPC socket path (`--address`).
    pub fn address(&self) -> PathBuf {
        self.dir.path().join("containerd.sock")
    }

    /// The persistent data directory (`--root`).
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// The runtime state directory (`--state`).
    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// The containerd namespace `ctr` uses, unique to this instance (so runc state and cgroup
    /// paths never collide with another containerd on the machine).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// A FIFO directory inside the temp dir, for `ctr run --fifo-dir` (ctr's default is
    /// shared and `ctr run -d` leaves its FIFOs there).
    pub fn fifo_dir(&self) -> PathBuf {
        self.dir.path().join("fifo")
    }

    /// containerd's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("containerd is running").id()
    }

    /// containerd's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Runs `ctr --address <sock> --namespace <ns> <args>` and returns its output.
    pub fn ctr(&self, args: &[&str]) -> Output {
        Command::new("ctr")
            .arg("--address")
            .arg(self.address())
            .arg("--namespace")
            .arg(&self.namespace)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run ctr")
    }

    /// Like [`ctr`](Self::ctr) but panics with ctr's stderr and containerd's log unless it
    /// succeeds; returns stdout.
    #[track_caller]
    pub fn ctr_ok(&self, args: &[&str]) -> String {
        let out = self.ctr(args);
        assert!(
            out.status.success(),
            "ctr {args:?} failed ({}): {}{}\ncontainerd log tail:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            tail(&self.log(), 40)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("containerd.log")
    }

    fn config(&self) -> String {
        let d = self.dir.path().display();
        format!(
            r#"version = 2
root = "{root}"
state = "{state}"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{grpc}"

[ttrpc]
  address = "{d}/containerd-ttrpc.sock"

[debug]
  address = "{d}/containerd-debug.sock"

[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
"#,
            root = self.root().display(),
            state = self.state().display(),
            grpc = self.address().display(),
        )
    }

    fn delete_tasks(&self) {
        let out = self.ctr(&["tasks", "ls", "-q"]);
        if !out.status.success() {
            return;
        }
        let out = String::from_utf8_lossy(&out.stdout);
        for id in out.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let _ = self.ctr(&["tasks", "kill", "--all", "--signal", "SIGKILL", id]);
            let _ = self.ctr(&["tasks", "delete", "--force", id]);
            let _ = self.ctr(&["containers", "delete", id]);
        }
    }

    fn wait_ready(&mut self) {
        crate::process::wait_ready(self, Duration::from_secs(30));
    }
}

impl Drop for PrivateContainerd {
    fn drop(&mut self) {
        // Shims outlive containerd: delete tasks through it so runc and the shims clean their
        // state, then kill whatever shim is left and its containers.
        self.delete_tasks();
        let address = self.address();
        for pid in shim_trees(&address.to_string_lossy()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        if let Some(mut child) = self.child.take() {
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        for mount in mounts_under(self.dir.path()) {
            let _ = nix::mount::umount2(mount.as_path(), nix::mount::MntFlags::MNT_DETACH);
        }
        remove_cgroups(&self.namespace);
        // runc's state for this (unique) namespace, left behind when a shim was killed.
        let _ = std::fs::remove_dir_all(Path::new(RUNC_ROOT).join(&self.namespace));
    }
}

/// Mount points at or under `dir` in this process's mount table, deepest first.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut mounts: Vec<PathBuf> = table
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|p| PathBuf::from(p.replace("\\040", " ")))
        .filter(|p| p.starts_with(dir))
        .collect();
    mounts.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    mounts
}

/// Pids of the shims serving `address` and every process below them, children first.
fn shim_trees(address: &str) -> Vec<i32> {
    let procs: Vec<(i32, i32, Vec<String>)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The command name may contain spaces; the ppid is the 2nd field after ')'.
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let args = cmdline
                .split(|&b| b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            Some((pid, ppid, args))
        })
        .collect();
    let mut tree: Vec<i32> = procs
        .iter()
        .filter(|(_, _, args)| {
            args.first().is_some_and(|a| a.contains("containerd-shim"))
                && args
                    .windows(2)
                    .any(|w| w[0] == "-address" && w[1] == address)
        })
        .map(|(pid, _, _)| *pid)
        .collect();
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(procs.iter().filter(|p| p.1 == parent).map(|p| p.0));
        i += 1;
    }
    tree.reverse();
    tree
}

/// Removes the (empty, once their tasks are dead) cgroups runc made for `namespace` in every
/// hierarchy, deepest first.
fn remove_cgroups(namespace: &str) {
    let hierarchies = std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten();
    for hierarchy in hierarchies {
        let top = hierarchy.path().join(namespace);
        let mut dirs = vec![top.clone()];
        let mut i = 0;
        while i < dirs.len() {
            let children = std::fs::read_dir(&dirs[i]).into_iter().flatten().flatten();
            let subdirs: Vec<PathBuf> = children
                .filter(|c| c.file_type().is_ok_and(|t| t.is_dir()))
                .map(|c| c.path())
                .collect();
            dirs.extend(subdirs);
            i += 1;
        }
        for dir in dirs.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl crate::process::Served for PrivateContainerd {
    const NAME: &'static str = "containerd";

    fn child(&mut self) -> Option<&mut Child> {
        self.child.as_mut()
    }

    fn answers(&mut self) -> bool {
        self.address().exists() && self.ctr(&["version"]).status.success()
    }

    fn log(&self) -> String {
        PrivateContainerd::log(self)
    }
}
