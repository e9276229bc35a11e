//! The node's side of the IPVS dataplane: sysctls as kube-proxy's IPVS mode sets them, and
//! clearing stale UDP conntrack entries of removed real servers.

use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Sysctls the IPVS dataplane needs, and whether each must exist (IPVS ones appear once
/// `ip_vs` is loaded; the bridge one only with `br_netfilter`).
pub const SYSCTLS: &[(&str, &str, bool)] = &[
    ("net/ipv4/vs/conntrack", "1", true),
    ("net/ipv4/vs/conn_reuse_mode", "0", true),
    ("net/ipv4/vs/expire_nodest_conn", "1", true),
    ("net/ipv4/vs/expire_quiescent_template", "1", true),
    ("net/ipv4/ip_forward", "1", true),
    ("net/bridge/bridge-nf-call-iptables", "1", false),
];

/// Writes [`SYSCTLS`] under `root` (`/proc/sys` on a node, a temporary directory in tests),
/// skipping unchanged values and optional keys that are absent.
pub fn apply_sysctls(root: &Path) -> io::Result<()> {
    for (key, value, required) in SYSCTLS {
        let path: PathBuf = root.join(key);
        match std::fs::read_to_string(&path) {
            Ok(current) if current.trim() == *value => continue,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound && !required => continue,
            Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
        }
        std::fs::write(&path, value)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        tracing::debug!(sysctl = %key, value = %value, "set sysctl");
    }
    Ok(())
}

/// Clears conntrack entries, as the dataplane needs it.
pub trait Conntrack: Send {
    /// Deletes UDP entries to `vip:port` that were translated to `real:real_port`.
    fn clear_udp(&mut self, vip: IpAddr, port: u16, real: IpAddr, real_port: u16)
        -> io::Result<()>;
}

/// The `conntrack` tool (conntrack-tools).
#[derive(Debug, Clone, Default)]
pub struct ConntrackTool;

/// The tool's arguments deleting one stale UDP flow. Pure.
pub fn conntrack_args(vip: IpAddr, port: u16, real: IpAddr, real_port: u16) -> Vec<String> {
    let family = if vip.is_ipv4() { "ipv4" } else { "ipv6" };
    [
        "-D",
        "-f",
        family,
        "-p",
        "udp",
        "--orig-dst",
        &vip.to_string(),
        "--orig-port-dst",
        &port.to_string(),
        "--dst-nat",
        &real.to_string(),
        "--reply-port-src",
        &real_port.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

impl Conntrack for ConntrackTool {
    fn clear_udp(
        &mut self,
        vip: IpAddr,
        port: u16,
        real: IpAddr,
        real_port: u16,
    ) -> io::Result<()> {
        let out = Command::new("conntrack")
            .args(conntrack_args(vip, port, real, real_port))
            .output()?;
        // Exit status 1 with "0 flow entries" means there was nothing to delete.
        if out.status.success() || String::from_utf8_lossy(&out.stderr).contains("0 flow entries") {
            return Ok(());
        }
        Err(io::Error::other(format!(
            "conntrack: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// One cleared flow: `(vip, port, real, real_port)`.
pub type ClearedFlow = (IpAddr, u16, IpAddr, u16);

/// Records what it was asked to clear, for unit tests.
#[derive(Debug, Clone, Default)]
pub struct FakeConntrack {
    /// One entry per call.
    pub cleared: std::sync::Arc<std::sync::Mutex<Vec<ClearedFlow>>>,
}

impl Conntrack for FakeConntrack {
    fn clear_udp(
        &mut self,
        vip: IpAddr,
        port: u16,
        real: IpAddr,
        real_port: u16,
    ) -> io::Result<()> {
        self.cleared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((vip, port, real, real_port));
        Ok(())
    }
}
