//! Invoking CNI plugin binaries from tests: Skiff's (built in this workspace) and the
//! reference plugins of Debian's `containernetworking-plugins`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where Debian installs the reference plugins.
pub const REFERENCE_DIR: &str = "/usr/lib/cni";

/// A binary of this workspace, found next to the running test executable (`target/<profile>/`).
/// Panics, saying how to build it, when it is missing.
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps");
    let bin = dir.join(name);
    assert!(
        bin.is_file(),
        "{} is missing: build it first with `cargo build --workspace` (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// A temporary `CNI_PATH` directory holding Skiff's plugins and the reference ones, by name.
pub struct PluginDir {
    dir: tempfile::TempDir,
}

impl PluginDir {
    /// Links `skiff-bridge`, `skiff-host-local` and the reference `bridge`, `host-local` and
    /// `loopback` into a fresh directory.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["skiff-bridge", "skiff-host-local"] {
            std::os::unix::fs::symlink(workspace_bin(name), dir.path().join(name)).expect("symlink");
        }
        for name in ["bridge", "host-local", "loopback"] {
            let src = Path::new(REFERENCE_DIR).join(name);
            if src.exists() {
                std::os::unix::fs::symlink(src, dir.path().join(name)).expect("symlink");
            }
        }
        Self { dir }
    }

    /// The directory, for `CNI_PATH`.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Default for PluginDir {
    fn default() -> Self {
        Self::new()
    }
}

/// One plugin invocation's environment.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    /// `CNI_COMMAND`.
    pub command: &'a str,
    /// `CNI_CONTAINERID`.
    pub container_id: &'a str,
    /// `CNI_NETNS` (empty when `None`).
    pub netns: Option<&'a Path>,
    /// `CNI_IFNAME`.
    pub ifname: &'a str,
}

/// What a plugin printed and how it exited.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Exit status code.
    pub status: i32,
    /// stdout parsed as JSON (`Null` when empty).
    pub json: serde_json::Value,
    /// stderr, for failure messages.
    pub stderr: String,
}

impl Reply {
    /// Panics with the plugin's output unless it succeeded; returns the JSON.
    #[track_caller]
    pub fn ok(self) -> serde_json::Value {
        assert_eq!(self.status, 0, "plugin failed: {} {}", self.json, self.stderr);
        self.json
    }

    /// Panics unless the plugin failed with CNI error `code`; returns the error's message.
    #[track_caller]
    pub fn err(self, code: u64) -> String {
        assert_ne!(self.status, 0, "plugin succeeded, expected error {code}: {}", self.json);
        assert_eq!(self.json["code"], code, "unexpected error: {}", self.json);
        self.json["msg"].as_str().unwrap_or_default().to_string()
    }
}

/// Runs `plugin` from `dir` with `call` and `conf` on stdin, in the calling thread's network
/// namespace (children inherit the namespace of the thread that spawns them).
pub fn invoke(dir: &PluginDir, plugin: &str, call: &Call<'_>, conf: &serde_json::Value) -> Reply {
    use std::io::Write;
    let mut child = Command::new(dir.path().join(plugin))
        .env("CNI_COMMAND", call.command)
        .env("CNI_CONTAINERID", call.container_id)
        .env(
            "CNI_NETNS",
            call.netns.map(|p| p.display().to_string()).unwrap_or_default(),
        )
        .env("CNI_IFNAME", call.ifname)
        .env("CNI_PATH", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run plugin {plugin}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(conf.to_string().as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait for plugin");
    let text = String::from_utf8_lossy(&out.stdout);
    Reply {
        status: out.status.code().unwrap_or(-1),
        json: if text.trim().is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(text.trim())
                .unwrap_or_else(|e| panic!("plugin {plugin} printed non-JSON {text:?}: {e}"))
        },
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
