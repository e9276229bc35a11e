//! Delegation to the IPAM plugin named by `ipam.type`, behind a narrow trait so the bridge
//! logic can be tested with a fake.

use crate::delegate::{exec_plugin, find_plugin};
use crate::error::{CniError, Code};
use crate::invocation::Command;
use crate::skel::Request;
use crate::types::CniResult;

/// The IPAM plugin, called with the bridge's own request (same stdin, same `CNI_*` values).
pub trait Ipam: Send + Sync {
    /// ADD: allocate and return the addresses.
    fn add(&self, plugin: &str, req: &Request) -> Result<CniResult, CniError>;
    /// DEL: release.
    fn del(&self, plugin: &str, req: &Request) -> Result<(), CniError>;
    /// CHECK: verify the allocation.
    fn check(&self, plugin: &str, req: &Request) -> Result<(), CniError>;
    /// STATUS: can ADD allocate now?
    fn status(&self, plugin: &str, req: &Request) -> Result<(), CniError>;
    /// GC: release allocations of attachments not listed as valid.
    fn gc(&self, plugin: &str, req: &Request) -> Result<(), CniError>;
}

/// Runs the IPAM plugin binary found on `CNI_PATH`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExecIpam;

impl ExecIpam {
    fn run(plugin: &str, req: &Request, command: Command) -> Result<Vec<u8>, CniError> {
        let binary = find_plugin(plugin, &req.inv.path)?;
        tracing::debug!(
            ipam = plugin,
            command = command.as_str(),
            "delegating to IPAM"
        );
        exec_plugin(&binary, &req.inv.to_env(command), &req.stdin, None)
    }
}

impl Ipam for ExecIpam {
    fn add(&self, plugin: &str, req: &Request) -> Result<CniResult, CniError> {
        let out = Self::run(plugin, req, Command::Add)?;
        let unreadable = |e: &dyn std::fmt::Display| {
            CniError::new(
                Code::Delegate,
                format!("IPAM plugin {plugin} returned an unreadable result"),
            )
            .details(e.to_string())
        };
        let v: serde_json::Value = serde_json::from_slice(&out).map_err(|e| unreadable(&e))?;
        CniResult::from_json(&v).map_err(|e| unreadable(&e))
    }

    fn del(&self, plugin: &str, req: &Request) -> Result<(), CniError> {
        Self::run(plugin, req, Command::Del).map(drop)
    }

    fn check(&self, plugin: &str, req: &Request) -> Result<(), CniError> {
        Self::run(plugin, req, Command::Check).map(drop)
    }

    fn status(&self, plugin: &str, req: &Request) -> Result<(), CniError> {
        Self::run(plugin, req, Command::Status).map(drop)
    }

    fn gc(&self, plugin: &str, req: &Request) -> Result<(), CniError> {
        Self::run(plugin, req, Command::Gc).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invocation::Invocation;
    use crate::version::Version;
    use std::os::unix::fs::PermissionsExt;

    fn request(dir: &std::path::Path) -> Request {
        let path = dir.display().to_string();
        let env = [
            ("CNI_COMMAND", "ADD"),
            ("CNI_CONTAINERID", "c1"),
            ("CNI_NETNS", "/run/netns/x"),
            ("CNI_IFNAME", "eth0"),
            ("CNI_PATH", path.as_str()),
        ];
        let inv = Invocation::from_lookup(|k| {
            env.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
        .unwrap();
        Request {
            inv,
            stdin: br#"{"cniVersion":"1.0.0","name":"n","type":"skiff-bridge","ipam":{"type":"fake-ipam"}}"#.to_vec(),
            version: Version::V1_0_0,
        }
    }

    #[test]
    fn exec_ipam_passes_command_and_stdin_and_parses_the_result() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("fake-ipam");
        std::fs::write(
            &p,
            "#!/bin/sh\ncat > \"$(dirname \"$0\")/stdin.$CNI_COMMAND\"\n\
             echo '{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.1.0.2/24\",\"gateway\":\"10.1.0.1\"}]}'\n",
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        let req = request(d.path());
        let r = ExecIpam.add("fake-ipam", &req).unwrap();
        assert_eq!(r.ips[0].address.to_string(), "10.1.0.2/24");
        assert_eq!(
            std::fs::read(d.path().join("stdin.ADD")).unwrap(),
            req.stdin
        );
        ExecIpam.del("fake-ipam", &req).unwrap();
        assert!(d.path().join("stdin.DEL").exists());
    }

    #[test]
    fn missing_ipam_plugin_is_reported_by_name() {
        let d = tempfile::tempdir().unwrap();
        let e = ExecIpam
            .add("no-such-ipam", &request(d.path()))
            .unwrap_err();
        assert!(e.msg.contains("no-such-ipam"), "{e:?}");
    }
}
