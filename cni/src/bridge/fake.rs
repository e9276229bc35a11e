//! In-memory fakes of the bridge plugin's seams: a recording kernel with a host and one
//! container namespace, and a scripted IPAM.

use super::ipam::Ipam;
use super::kernel::{BridgeSpec, LinkInfo, NetError, NetOps, RouteSpec, VethSpec};
use super::namespaces::{Namespaces, NsWork};
use crate::error::CniError;
use crate::skel::Request;
use crate::types::CniResult;
use ipnet::IpNet;
use std::fs::File;
use std::os::fd::BorrowedFd;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

/// Which namespace of the fake a link lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The host namespace.
    Host,
    /// The container namespace.
    Container,
}

impl Side {
    fn as_str(self) -> &'static str {
        match self {
            Side::Host => "host",
            Side::Container => "container",
        }
    }
}

/// A link of the fake kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeLink {
    /// Its namespace.
    pub side: Side,
    /// What `link_by_name` reports.
    pub info: LinkInfo,
    /// Its addresses.
    pub addresses: Vec<IpNet>,
    /// Hairpin mode (ports).
    pub hairpin: bool,
    /// Port VLAN and whether VLAN 1 was kept.
    pub vlan: Option<(u16, bool)>,
    /// The other end of a veth.
    pub peer: Option<(Side, String)>,
}

/// The state of the fake kernel.
#[derive(Debug, Default)]
pub struct FakeState {
    /// Links of both namespaces.
    pub links: Vec<FakeLink>,
    /// Routes, per namespace.
    pub routes: Vec<(Side, RouteSpec)>,
    /// Sysctls written, per namespace.
    pub sysctls: Vec<(Side, String, String)>,
    /// Every operation, as `"<side> <op> <subject>"`.
    pub log: Vec<String>,
    fail_on: Option<String>,
    next_index: u32,
}

impl FakeState {
    fn find(&self, side: Side, name: &str) -> Option<usize> {
        self.links
            .iter()
            .position(|l| l.side == side && l.info.name == name)
    }

    fn by_index(&mut self, side: Side, index: u32) -> Result<&mut FakeLink, NetError> {
        self.links
            .iter_mut()
            .find(|l| l.side == side && l.info.index == index)
            .ok_or_else(|| NetError::NotFound {
                name: format!("index {index}"),
            })
    }

    fn new_link(&mut self, side: Side, name: &str, kind: &str, mac: [u8; 6]) -> LinkInfo {
        self.next_index += 1;
        let info = LinkInfo {
            index: self.next_index + 1,
            name: name.into(),
            mac,
            mtu: 1500,
            up: false,
            master: None,
            kind: Some(kind.into()),
            promisc: false,
        };
        self.links.push(FakeLink {
            side,
            info: info.clone(),
            addresses: Vec::new(),
            hairpin: false,
            vlan: None,
            peer: None,
        });
        info
    }
}

/// A recording fake kernel: one host namespace and one container namespace. `open` accepts any
/// existing file as a namespace (tests pass a temp file), so a missing path is still error 3.
#[derive(Debug, Clone, Default)]
pub struct FakeNet {
    state: Arc<Mutex<FakeState>>,
}

impl FakeNet {
    /// An empty kernel.
    pub fn new() -> Self {
        Self::default()
    }

    /// Locks the state for inspection or set-up.
    pub fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().expect("fake kernel lock")
    }

    /// Makes every later call of `op` (e.g. `set_master`) fail.
    pub fn fail_on(&self, op: &str) {
        self.state().fail_on = Some(op.into());
    }

    /// Adds a pre-existing link.
    pub fn add_link(&self, side: Side, name: &str, kind: &str) -> LinkInfo {
        self.state()
            .new_link(side, name, kind, [2, 0, 0, 0, 0xee, 0xee])
    }

    /// A snapshot of a link.
    pub fn link(&self, side: Side, name: &str) -> Option<FakeLink> {
        let s = self.state();
        s.find(side, name).map(|i| s.links[i].clone())
    }

    /// The operation log.
    pub fn log(&self) -> Vec<String> {
        self.state().log.clone()
    }

    /// The operation log without subjects (`"host set_master"`).
    pub fn ops(&self) -> Vec<String> {
        self.log()
            .iter()
            .map(|l| l.splitn(3, ' ').take(2).collect::<Vec<_>>().join(" "))
            .collect()
    }

    fn ops_in(&self, side: Side) -> FakeOps {
        FakeOps {
            state: self.state.clone(),
            side,
        }
    }
}

impl Namespaces for FakeNet {
    fn host(&self) -> Result<Box<dyn NetOps>, CniError> {
        Ok(Box::new(self.ops_in(Side::Host)))
    }

    fn open(&self, path: &Path) -> Result<File, CniError> {
        crate::netns::open(path)
    }

    fn run_in(&self, _ns: &File, work: &mut NsWork<'_>) -> Result<(), CniError> {
        work(&mut self.ops_in(Side::Container))
    }
}

/// [`NetOps`] of one namespace of a [`FakeNet`].
#[derive(Debug)]
struct FakeOps {
    state: Arc<Mutex<FakeState>>,
    side: Side,
}

impl FakeOps {
    /// Records `op` and fails when told to.
    fn enter(
        &self,
        op: &str,
        subject: impl std::fmt::Display,
    ) -> Result<MutexGuard<'_, FakeState>, NetError> {
        let mut s = self.state.lock().expect("fake kernel lock");
        s.log.push(format!("{} {op} {subject}", self.side.as_str()));
        if s.fail_on.as_deref() == Some(op) {
            return Err(NetError::Request {
                op: op.into(),
                source: std::io::Error::from_raw_os_error(libc::EPERM),
            });
        }
        Ok(s)
    }
}

impl NetOps for FakeOps {
    fn link_by_name(&mut self, name: &str) -> Result<Option<LinkInfo>, NetError> {
        let s = self.enter("link_by_name", name)?;
        Ok(s.find(self.side, name).map(|i| s.links[i].info.clone()))
    }

    fn ensure_bridge(&mut self, spec: &BridgeSpec) -> Result<LinkInfo, NetError> {
        let mut s = self.enter("ensure_bridge", &spec.name)?;
        let i = match s.find(self.side, &spec.name) {
            Some(i) => i,
            None => {
                s.new_link(self.side, &spec.name, "bridge", spec.mac);
                s.links.len() - 1
            }
        };
        let link = &mut s.links[i];
        if link.info.kind.as_deref() != Some("bridge") {
            return Err(NetError::WrongKind {
                name: spec.name.clone(),
                found: link.info.kind.clone().unwrap_or_default(),
                wanted: "bridge".into(),
            });
        }
        link.info.mac = spec.mac;
        link.info.mtu = spec.mtu.unwrap_or(link.info.mtu);
        link.info.promisc = spec.promisc;
        link.info.up = true;
        Ok(link.info.clone())
    }

    fn create_veth(
        &mut self,
        spec: &VethSpec,
        _peer: BorrowedFd<'_>,
    ) -> Result<LinkInfo, NetError> {
        let mut s = self.enter(
            "create_veth",
            format!("{}/{}", spec.host_name, spec.container_name),
        )?;
        for (side, name) in [
            (Side::Container, &spec.container_name),
            (self.side, &spec.host_name),
        ] {
            if s.find(side, name).is_some() {
                return Err(NetError::Exists { name: name.clone() });
            }
        }
        let n = s.next_index as u8;
        let host = s.new_link(self.side, &spec.host_name, "veth", [2, 0xaa, 0, 0, 0, n]);
        let peer_mac = spec.container_mac.unwrap_or([2, 0xbb, 0, 0, 0, n]);
        s.new_link(Side::Container, &spec.container_name, "veth", peer_mac);
        let len = s.links.len();
        s.links[len - 2].peer = Some((Side::Container, spec.container_name.clone()));
        s.links[len - 1].peer = Some((self.side, spec.host_name.clone()));
        for l in &mut s.links[len - 2..] {
            l.info.mtu = spec.mtu.unwrap_or(1500);
        }
        Ok(host)
    }

    fn delete_link(&mut self, name: &str) -> Result<bool, NetError> {
        let mut s = self.enter("delete_link", name)?;
        let Some(i) = s.find(self.side, name) else {
            return Ok(false);
        };
        let link = s.links.remove(i);
        if let Some((side, peer)) = link.peer {
            if let Some(j) = s.find(side, &peer) {
                s.links.remove(j);
            }
        }
        Ok(true)
    }

    fn set_master(&mut self, index: u32, master: u32) -> Result<(), NetError> {
        let mut s = self.enter("set_master", index)?;
        s.by_index(self.side, index)?.info.master = Some(master);
        Ok(())
    }

    fn set_up(&mut self, index: u32) -> Result<(), NetError> {
        let mut s = self.enter("set_up", index)?;
        s.by_index(self.side, index)?.info.up = true;
        Ok(())
    }

    fn set_hairpin(&mut self, index: u32, on: bool) -> Result<(), NetError> {
        let mut s = self.enter("set_hairpin", index)?;
        s.by_index(self.side, index)?.hairpin = on;
        Ok(())
    }

    fn set_port_vlan(&mut self, index: u32, vid: u16, keep_default: bool) -> Result<(), NetError> {
        let mut s = self.enter("set_port_vlan", index)?;
        s.by_index(self.side, index)?.vlan = Some((vid, keep_default));
        Ok(())
    }

    fn addresses(&mut self, index: u32) -> Result<Vec<IpNet>, NetError> {
        let mut s = self.enter("addresses", index)?;
        Ok(s.by_index(self.side, index)?.addresses.clone())
    }

    fn add_address(&mut self, index: u32, addr: IpNet, _nodad: bool) -> Result<(), NetError> {
        let mut s = self.enter("add_address", addr)?;
        let link = s.by_index(self.side, index)?;
        if !link.addresses.contains(&addr) {
            link.addresses.push(addr);
        }
        Ok(())
    }

    fn del_address(&mut self, index: u32, addr: IpNet) -> Result<(), NetError> {
        let mut s = self.enter("del_address", addr)?;
        s.by_index(self.side, index)?
            .addresses
            .retain(|a| *a != addr);
        Ok(())
    }

    fn add_route(&mut self, route: &RouteSpec) -> Result<(), NetError> {
        let mut s = self.enter("add_route", route.dst)?;
        let entry = (self.side, route.clone());
        if !s.routes.contains(&entry) {
            s.routes.push(entry);
        }
        Ok(())
    }

    fn routes(&mut self, oif: u32) -> Result<Vec<RouteSpec>, NetError> {
        let s = self.enter("routes", oif)?;
        Ok(s.routes
            .iter()
            .filter(|(side, r)| *side == self.side && r.oif == oif)
            .map(|(_, r)| r.clone())
            .collect())
    }

    fn links(&mut self) -> Result<Vec<LinkInfo>, NetError> {
        let s = self.enter("links", "")?;
        Ok(s.links
            .iter()
            .filter(|l| l.side == self.side)
            .map(|l| l.info.clone())
            .collect())
    }

    fn ports(&mut self, master: u32) -> Result<Vec<LinkInfo>, NetError> {
        let s = self.enter("ports", master)?;
        Ok(s.links
            .iter()
            .filter(|l| l.side == self.side && l.info.master == Some(master))
            .map(|l| l.info.clone())
            .collect())
    }

    fn set_sysctl(&mut self, key: &str, value: &str) -> Result<(), NetError> {
        let mut s = self.enter("set_sysctl", key)?;
        let side = self.side;
        s.sysctls.push((side, key.into(), value.into()));
        Ok(())
    }
}

/// A scripted IPAM that records its calls (`"ADD"`, `"DEL"`, …).
#[derive(Debug, Clone, Default)]
pub struct FakeIpam {
    result: CniResult,
    calls: Arc<Mutex<Vec<String>>>,
    fail: Arc<Mutex<Option<(String, CniError)>>>,
}

impl FakeIpam {
    /// An IPAM whose ADD returns `result`.
    pub fn returning(result: CniResult) -> Self {
        Self {
            result,
            ..Self::default()
        }
    }

    /// Makes `command` (`"ADD"`, `"DEL"`, …) fail with `err`.
    pub fn fail(&self, command: &str, err: CniError) {
        *self.fail.lock().expect("fake ipam lock") = Some((command.into(), err));
    }

    /// The commands called so far.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("fake ipam lock").clone()
    }

    fn call(&self, command: &str) -> Result<(), CniError> {
        self.calls
            .lock()
            .expect("fake ipam lock")
            .push(command.into());
        match &*self.fail.lock().expect("fake ipam lock") {
            Some((c, e)) if c == command => Err(e.clone()),
            _ => Ok(()),
        }
    }
}

impl Ipam for FakeIpam {
    fn add(&self, _: &str, _: &Request) -> Result<CniResult, CniError> {
        self.call("ADD").map(|()| self.result.clone())
    }
    fn del(&self, _: &str, _: &Request) -> Result<(), CniError> {
        self.call("DEL")
    }
    fn check(&self, _: &str, _: &Request) -> Result<(), CniError> {
        self.call("CHECK")
    }
    fn status(&self, _: &str, _: &Request) -> Result<(), CniError> {
        self.call("STATUS")
    }
    fn gc(&self, _: &str, _: &Request) -> Result<(), CniError> {
        self.call("GC")
    }
}

/// A recording firewall for this module's unit tests.
#[cfg(test)]
#[derive(Debug, Clone, Default)]
pub(crate) struct TestFirewall {
    pub(crate) calls: Arc<Mutex<Vec<String>>>,
    pub(crate) fail_add: Arc<Mutex<bool>>,
    pub(crate) installed: Arc<Mutex<Vec<(crate::nft::AttachmentKey, crate::nft::AttachmentRules)>>>,
}

#[cfg(test)]
impl TestFirewall {
    pub(crate) fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

#[cfg(test)]
impl crate::nft::Firewall for TestFirewall {
    fn add(
        &self,
        key: &crate::nft::AttachmentKey,
        rules: &crate::nft::AttachmentRules,
    ) -> Result<(), crate::nft::NftError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("add {}", key.container_id));
        if *self.fail_add.lock().unwrap() {
            return Err(crate::nft::NftError::Transaction {
                message: "rejected".into(),
            });
        }
        let mut installed = self.installed.lock().unwrap();
        installed.retain(|(k, _)| k != key);
        installed.push((key.clone(), rules.clone()));
        Ok(())
    }

    fn del(&self, key: &crate::nft::AttachmentKey) -> Result<(), crate::nft::NftError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("del {}", key.container_id));
        self.installed.lock().unwrap().retain(|(k, _)| k != key);
        Ok(())
    }

    fn check(
        &self,
        key: &crate::nft::AttachmentKey,
        rules: &crate::nft::AttachmentRules,
    ) -> Result<(), crate::nft::NftError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("check {}", key.container_id));
        let installed = self.installed.lock().unwrap();
        match installed.iter().find(|(k, _)| k == key) {
            Some((_, r)) if r == rules => Ok(()),
            _ => Err(crate::nft::NftError::Mismatch {
                key: key.container_id.clone(),
                problem: "rules differ".into(),
            }),
        }
    }

    fn gc(
        &self,
        network: &str,
        keep: &[crate::nft::AttachmentKey],
    ) -> Result<(), crate::nft::NftError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("gc {network} keep {}", keep.len()));
        self.installed
            .lock()
            .unwrap()
            .retain(|(k, _)| k.network != network || keep.contains(k));
        Ok(())
    }
}
