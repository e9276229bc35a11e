//! Running `skiff-control-plane` in tests: a server on a free loopback port with its own data
//! directory, and pinned kubectl binaries with their own cache directories.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::cni::workspace_bin;

/// Where the machine keeps kubectl binaries, one per minor version.
pub const KUBECTL_DIR: &str = "/usr/lib/google-cloud-sdk/bin";

/// The kubectl versions the server must work with, oldest and newest.
pub const KUBECTL_VERSIONS: [&str; 2] = ["1.27", "1.33"];

/// A running `skiff-control-plane` process with a temporary data directory.
pub struct ApiServer {
    data: tempfile::TempDir,
    port: u16,
    store: &'static str,
    child: Option<Child>,
    log: PathBuf,
}

impl ApiServer {
    /// Starts a server on the embedded store and waits until it is ready.
    pub fn start() -> Self {
        Self::start_with_store("embedded")
    }

    /// Starts a server on the given store backend (`embedded` or `memory`).
    pub fn start_with_store(store: &'static str) -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let log = data.path().join("server.log");
        let mut server = ApiServer {
            data,
            port: free_port(),
            store,
            child: None,
            log,
        };
        server.spawn();
        server
    }

    /// The data directory (`--data-dir`).
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// The admin kubeconfig the server wrote.
    pub fn kubeconfig(&self) -> PathBuf {
        self.data.path().join("admin.kubeconfig")
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server is running").id()
    }

    /// Kills the server with SIGKILL and waits for it to die.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same data directory and port.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// The server's log so far (stderr and stdout).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("server log");
        let child = Command::new(workspace_bin("skiff-control-plane"))
            .arg("--data-dir")
            .arg(self.data.path())
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--store")
            .arg(self.store)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .expect("start skiff-control-plane");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        crate::process::wait_ready(self, Duration::from_secs(60));
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A free TCP port on 127.0.0.1 (bound and released; good enough for tests on one machine).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind loopback")
        .local_addr()
        .expect("local addr")
        .port()
}

/// One pinned kubectl version talking to one server, with its own `--cache-dir`.
pub struct Kubectl {
    binary: PathBuf,
    kubeconfig: PathBuf,
    cache: tempfile::TempDir,
}

/// What a kubectl run printed.
#[derive(Debug)]
pub struct KubectlOutput {
    /// Exit status was 0.
    pub success: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Kubectl {
    /// kubectl `version` (e.g. "1.27") for `server`.
    pub fn new(version: &str, server: &ApiServer) -> Self {
        let binary = PathBuf::from(format!("{KUBECTL_DIR}/kubectl.{version}"));
        assert!(
            binary.is_file(),
            "{} is missing (the machine's google-cloud-sdk provides it)",
            binary.display()
        );
        Kubectl {
            binary,
            kubeconfig: server.kubeconfig(),
            cache: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Runs kubectl with `args` and returns the raw output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run kubectl")
    }

    /// Runs kubectl with `args` and `stdin`, returning what it printed.
    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> KubectlOutput {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run kubectl");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        let out = child.wait_with_output().expect("kubectl output");
        KubectlOutput {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs kubectl and returns stdout, panicking with stderr when it fails.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kubectl {} failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs kubectl with a manifest on stdin and returns stdout, panicking when it fails.
    #[track_caller]
    pub fn ok_stdin(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run_stdin(args, stdin);
        assert!(
            out.success,
            "kubectl {} failed: {}{}",
            args.join(" "),
            out.stderr,
            out.stdout
        );
        out.stdout
    }

    /// Runs kubectl expecting failure; returns stderr.
    #[track_caller]
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "kubectl {} should fail but printed {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Starts kubectl in the background (for `get -w`), stdout piped.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run kubectl")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.cache.path())
            .args(args);
        cmd.env_remove("KUBECONFIG");
        cmd
    }
}

/// Splits `kubectl get` table output into rows of whitespace-separated cells (header first).
/// Cells that contain single spaces (e.g. `NOMINATED NODE`) are kept together because columns
/// are separated by at least two spaces or a column boundary.
pub fn table_rows(text: &str) -> Vec<Vec<String>> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let Some(header) = lines.first() else {
        return Vec::new();
    };
    // Column starts are where header words begin after two or more spaces (or at 0).
    let mut starts = vec![0usize];
    let bytes = header.as_bytes();
    for i in 2..bytes.len() {
        if bytes[i] != b' ' && bytes[i - 1] == b' ' && bytes[i - 2] == b' ' {
            starts.push(i);
        }
    }
    lines
        .iter()
        .map(|line| {
            starts
                .iter()
                .enumerate()
                .map(|(n, &s)| {
                    let end = starts
                        .get(n + 1)
                        .copied()
                        .unwrap_or(usize::MAX)
                        .min(line.len());
                    line.get(s.min(line.len())..end)
                        .unwrap_or("")
                        .trim()
                        .to_string()
                })
                .collect()
        })
        .collect()
}

impl crate::process::Served for ApiServer {
    const NAME: &'static str = "skiff-control-plane";

    fn child(&mut self) -> Option<&mut Child> {
        self.child.as_mut()
    }

    fn answers(&mut self) -> bool {
        if !self.kubeconfig().exists() {
            return false;
        }
        let out = Kubectl::new("1.33", self).run(&["get", "--raw", "/readyz"]);
        out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "ok"
    }

    fn log(&self) -> String {
        ApiServer::log(self)
    }
}
