//! Where containerd is and how Skiff uses it.

use std::path::PathBuf;

/// containerd's default socket.
pub const DEFAULT_ADDRESS: &str = "/run/containerd/containerd.sock";

/// The containerd namespace Skiff keeps its images and containers in.
pub const DEFAULT_NAMESPACE: &str = "skiff";

/// File name of the log driver binary shipped with this crate (containerd's `binary://`).
pub const LOGGER_BINARY: &str = "skiff-container-logger";

/// Settings of the containerd implementation; `Default` gives a node's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerdConfig {
    /// containerd's gRPC socket.
    pub address: PathBuf,
    /// The containerd namespace every object goes into.
    pub namespace: String,
    /// Snapshotter for image layers and container root filesystems.
    pub snapshotter: String,
    /// containerd runtime (shim) name.
    pub runtime: String,
    /// Where pod namespaces are pinned (see [`crate::sandbox`]).
    pub netns_dir: PathBuf,
    /// Where per-call state lives (exec FIFOs).
    pub state_dir: PathBuf,
    /// The log driver binary containerd's shim starts for every container.
    pub logger: PathBuf,
    /// A container log file is rotated when it grows past this many bytes.
    pub log_max_bytes: u64,
    /// Rotated log files kept per container, besides the current one.
    pub log_max_files: u32,
    /// cgroup parent of sandboxes that give none (cgroupfs path).
    pub cgroup_parent: String,
    /// Registries (`host[:port]`) reached over plain HTTP; loopback registries always are.
    pub plain_http_registries: Vec<String>,
}

impl Default for ContainerdConfig {
    fn default() -> Self {
        Self {
            address: PathBuf::from(DEFAULT_ADDRESS),
            namespace: DEFAULT_NAMESPACE.to_string(),
            snapshotter: "overlayfs".to_string(),
            runtime: "io.containerd.runc.v2".to_string(),
            netns_dir: PathBuf::from(crate::sandbox::DEFAULT_RUN_DIR),
            state_dir: PathBuf::from("/run/skiff/runtime"),
            logger: default_logger(),
            log_max_bytes: 10 * 1024 * 1024,
            log_max_files: 5,
            cgroup_parent: "/skiff".to_string(),
            plain_http_registries: Vec::new(),
        }
    }
}

/// The logger next to the running executable, else the installed one.
fn default_logger() -> PathBuf {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(LOGGER_BINARY)));
    match beside {
        Some(path) if path.is_file() => path,
        _ => PathBuf::from("/usr/local/bin").join(LOGGER_BINARY),
    }
}
