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
    // Tests run from target/<profile>/deps/, binaries from target/<profile>/.
    let mut dir = exe.parent().expect("executable has a directory");
    if dir.ends_with("deps") {
        dir = dir.parent().expect("deps has a parent");
    }
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
            std::os::unix::fs::symlink(workspace_bin(name), dir.path().join(name))
                .expect("symlink");
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
        assert_eq!(
            self.status, 0,
            "plugin failed: {} {}",
            self.json, self.stderr
        );
        self.json
    }

    /// Panics unless the plugin failed with CNI error `code`; returns the error's message.
    #[track_caller]
    pub fn err(self, code: u64) -> String {
        assert_ne!(
            self.status, 0,
            "plugin succeeded, expected error {code}: {}",
            self.json
        );
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
            call.netns
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
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

/// A test "node": a throwaway host namespace where plugins run (so bridges and rules never
/// touch the real host), a plugin directory, and an IPAM data directory.
pub struct Host {
    /// The host namespace.
    pub ns: crate::Netns,
    /// `CNI_PATH`.
    pub plugins: PluginDir,
    /// IPAM `dataDir`.
    pub data: tempfile::TempDir,
}

impl Host {
    /// A fresh host namespace with loopback up.
    pub fn new() -> Self {
        Self {
            ns: crate::Netns::new(),
            plugins: PluginDir::new(),
            data: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// Invokes `plugin` from inside the host namespace.
    pub fn call(&self, plugin: &str, call: &Call<'_>, conf: &serde_json::Value) -> Reply {
        self.ns.run(|| invoke(&self.plugins, plugin, call, conf))
    }

    /// ADD `ifname` of `pod` (container id = the pod namespace's name).
    pub fn add(
        &self,
        plugin: &str,
        pod: &crate::Netns,
        ifname: &str,
        conf: &serde_json::Value,
    ) -> Reply {
        let path = pod.path();
        self.call(
            plugin,
            &Call {
                command: "ADD",
                container_id: pod.name(),
                netns: Some(&path),
                ifname,
            },
            conf,
        )
    }

    /// DEL `ifname` of `pod`, passing its namespace path unless `without_netns`.
    pub fn del(
        &self,
        plugin: &str,
        container_id: &str,
        netns: Option<&Path>,
        ifname: &str,
        conf: &serde_json::Value,
    ) -> Reply {
        self.call(
            plugin,
            &Call {
                command: "DEL",
                container_id,
                netns,
                ifname,
            },
            conf,
        )
    }

    /// The IPAM data directory of network `name`.
    pub fn network_dir(&self, name: &str) -> PathBuf {
        self.data.path().join(name)
    }

    /// The IPAM allocation files (named by address) of network `name`.
    pub fn allocations(&self, name: &str) -> Vec<String> {
        std::fs::read_dir(self.network_dir(name))
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.parse::<std::net::IpAddr>().is_ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Default for Host {
    fn default() -> Self {
        Self::new()
    }
}

/// Which implementation of the bridge + host-local pair a configuration uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `skiff-bridge` with `skiff-host-local`.
    Skiff,
    /// The reference `bridge` with `host-local`.
    Reference,
}

impl Flavor {
    /// The bridge plugin's name.
    pub fn bridge(self) -> &'static str {
        match self {
            Flavor::Skiff => "skiff-bridge",
            Flavor::Reference => "bridge",
        }
    }

    /// The IPAM plugin's name.
    pub fn ipam(self) -> &'static str {
        match self {
            Flavor::Skiff => "skiff-host-local",
            Flavor::Reference => "host-local",
        }
    }
}

/// A gateway bridge network configuration (`isDefaultGateway`), as the reference documents it.
pub fn bridge_conf(
    bridge: Flavor,
    ipam: Flavor,
    name: &str,
    bridge_name: &str,
    subnets: &[&str],
    ip_masq: bool,
    data_dir: &Path,
) -> serde_json::Value {
    let ranges: Vec<serde_json::Value> = subnets
        .iter()
        .map(|s| serde_json::json!([{ "subnet": s }]))
        .collect();
    serde_json::json!({
        "cniVersion": "1.0.0",
        "name": name,
        "type": bridge.bridge(),
        "bridge": bridge_name,
        "isGateway": true,
        "isDefaultGateway": true,
        "ipMasq": ip_masq,
        "ipam": {
            "type": ipam.ipam(),
            "ranges": ranges,
            "dataDir": data_dir,
        }
    })
}

/// Listens on `addr` with a socket that belongs to namespace `ns`.
pub fn listen(ns: &crate::Netns, addr: std::net::SocketAddr) -> std::net::TcpListener {
    ns.run(|| std::net::TcpListener::bind(addr))
        .unwrap_or_else(|e| panic!("cannot listen on {addr} in {}: {e}", ns.name()))
}

/// Connects to `addr` from namespace `ns` (3 s timeout).
pub fn connect(
    ns: &crate::Netns,
    addr: std::net::SocketAddr,
) -> std::io::Result<std::net::TcpStream> {
    ns.run(|| std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(3)))
}

/// The first address of `family` (4 or 6) in an ADD result, without prefix length.
pub fn result_ip(result: &serde_json::Value, family: u8) -> std::net::IpAddr {
    result["ips"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|ip| ip["address"].as_str())
        .filter_map(|a| a.parse::<ipnet::IpNet>().ok())
        .map(|n| n.addr())
        .find(|a| (family == 4) == a.is_ipv4())
        .unwrap_or_else(|| panic!("no IPv{family} address in {result}"))
}
