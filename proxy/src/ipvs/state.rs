//! IPVS state as the dataplane sees it (desired and programmed) and the pure diff between
//! them, with graceful termination of removed real servers.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::model::Protocol;

/// Names a virtual server: protocol, address and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VirtualKey {
    /// Protocol.
    pub protocol: Protocol,
    /// Virtual address.
    pub addr: IpAddr,
    /// Virtual port.
    pub port: u16,
}

/// Names a real server of a virtual server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RealKey {
    /// Address.
    pub addr: IpAddr,
    /// Port.
    pub port: u16,
}

/// An IPVS scheduler's name, held inline: the kernel's names are at most 15 bytes
/// (`IP_VS_SCHEDNAME_MAXLEN` with its NUL), and every virtual server carries one.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SchedulerName {
    bytes: [u8; 15],
    len: u8,
}

impl SchedulerName {
    /// The longest name the kernel takes.
    pub const MAX_LEN: usize = 15;

    /// The name.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl From<&str> for SchedulerName {
    /// Takes at most [`SchedulerName::MAX_LEN`] bytes (on a character boundary): a longer name
    /// names no kernel scheduler, so configuration validates the length first.
    fn from(name: &str) -> Self {
        let mut len = name.len().min(Self::MAX_LEN);
        while !name.is_char_boundary(len) {
            len -= 1;
        }
        let mut bytes = [0; 15];
        bytes[..len].copy_from_slice(&name.as_bytes()[..len]);
        Self {
            bytes,
            len: len as u8,
        }
    }
}

impl std::fmt::Debug for SchedulerName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for SchedulerName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a virtual server schedules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VirtualSpec {
    /// Scheduler name.
    pub scheduler: SchedulerName,
    /// Persistence (ClientIP affinity) timeout in seconds.
    pub persistence: Option<u32>,
}

/// A real server as the kernel holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealState {
    /// Weight (0: draining).
    pub weight: u32,
    /// Active plus inactive connections at the last read.
    pub connections: u32,
}

/// One programmed virtual server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgrammedService {
    /// Scheduling.
    pub spec: VirtualSpec,
    /// Real servers.
    pub reals: BTreeMap<RealKey, RealState>,
}

/// What the kernel holds of Skiff's virtual servers.
pub type Programmed = BTreeMap<VirtualKey, ProgrammedService>;

/// One desired virtual server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredService {
    /// Scheduling.
    pub spec: VirtualSpec,
    /// Real servers (all of weight [`WEIGHT`]).
    pub reals: BTreeSet<RealKey>,
}

/// Virtual servers the model asks for.
pub type DesiredServices = BTreeMap<VirtualKey, DesiredService>;

/// The weight of every active real server.
pub const WEIGHT: u32 = 1;

/// One change to the kernel's IPVS table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpvsOp {
    /// Create a virtual server.
    AddService(VirtualKey, VirtualSpec),
    /// Change a virtual server's scheduling.
    UpdateService(VirtualKey, VirtualSpec),
    /// Delete a virtual server with its real servers.
    DelService(VirtualKey),
    /// Add a real server.
    AddReal(VirtualKey, RealKey, u32),
    /// Change a real server's weight (0 drains it).
    SetWeight(VirtualKey, RealKey, u32),
    /// Delete a real server.
    DelReal(VirtualKey, RealKey),
}

impl IpvsOp {
    /// The virtual server the change is about.
    pub fn key(&self) -> &VirtualKey {
        match self {
            IpvsOp::AddService(k, _) | IpvsOp::UpdateService(k, _) | IpvsOp::DelService(k) => k,
            IpvsOp::AddReal(k, ..) | IpvsOp::SetWeight(k, ..) | IpvsOp::DelReal(k, _) => k,
        }
    }
}

/// The changes that bring programmed to desired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpvsPlan {
    /// Changes in order: services before their real servers.
    pub ops: Vec<IpvsOp>,
    /// UDP real servers deleted: their conntrack entries (virtual, real) are to be cleared.
    pub clear_conntrack: Vec<(VirtualKey, RealKey)>,
}

/// Computes the changes from `programmed` to `desired`. A real server no longer desired is
/// deleted when it has no connections (or is UDP, whose stale entries are then cleared),
/// otherwise its weight drops to 0 until a later diff finds it drained.
pub fn diff(programmed: &Programmed, desired: &DesiredServices) -> IpvsPlan {
    let mut plan = IpvsPlan::default();
    for (key, want) in desired {
        match programmed.get(key) {
            None => {
                plan.ops.push(IpvsOp::AddService(*key, want.spec));
                for real in &want.reals {
                    plan.ops.push(IpvsOp::AddReal(*key, *real, WEIGHT));
                }
            }
            Some(have) => {
                if have.spec != want.spec {
                    plan.ops.push(IpvsOp::UpdateService(*key, want.spec));
                }
                for real in &want.reals {
                    match have.reals.get(real) {
                        None => plan.ops.push(IpvsOp::AddReal(*key, *real, WEIGHT)),
                        Some(s) if s.weight != WEIGHT => {
                            plan.ops.push(IpvsOp::SetWeight(*key, *real, WEIGHT))
                        }
                        Some(_) => {}
                    }
                }
                for (real, state) in &have.reals {
                    if !want.reals.contains(real) {
                        retire(&mut plan, *key, *real, *state);
                    }
                }
            }
        }
    }
    for key in programmed.keys() {
        if !desired.contains_key(key) {
            plan.ops.push(IpvsOp::DelService(*key));
        }
    }
    plan
}

/// A real server no longer wanted: deleted at once when UDP or idle, else drained.
fn retire(plan: &mut IpvsPlan, key: VirtualKey, real: RealKey, state: RealState) {
    if key.protocol == Protocol::Udp {
        plan.ops.push(IpvsOp::DelReal(key, real));
        plan.clear_conntrack.push((key, real));
    } else if state.connections == 0 {
        plan.ops.push(IpvsOp::DelReal(key, real));
    } else if state.weight != 0 {
        plan.ops.push(IpvsOp::SetWeight(key, real, 0));
    }
}

/// Records a successfully applied change in `programmed`.
pub fn record(programmed: &mut Programmed, op: &IpvsOp) {
    match op {
        IpvsOp::AddService(k, spec) => {
            programmed.insert(
                *k,
                ProgrammedService {
                    spec: *spec,
                    reals: BTreeMap::new(),
                },
            );
        }
        IpvsOp::UpdateService(k, spec) => {
            if let Some(s) = programmed.get_mut(k) {
                s.spec = *spec;
            }
        }
        IpvsOp::DelService(k) => {
            programmed.remove(k);
        }
        IpvsOp::AddReal(k, r, weight) => {
            if let Some(s) = programmed.get_mut(k) {
                s.reals.insert(
                    *r,
                    RealState {
                        weight: *weight,
                        connections: 0,
                    },
                );
            }
        }
        IpvsOp::SetWeight(k, r, weight) => {
            if let Some(state) = programmed.get_mut(k).and_then(|s| s.reals.get_mut(r)) {
                state.weight = *weight;
            }
        }
        IpvsOp::DelReal(k, r) => {
            if let Some(s) = programmed.get_mut(k) {
                s.reals.remove(r);
            }
        }
    }
}

/// The virtual servers holding a draining real server (weight 0, not desired).
pub fn draining(programmed: &Programmed, desired: &DesiredServices) -> Vec<VirtualKey> {
    programmed
        .iter()
        .filter(|(k, s)| {
            s.reals.iter().any(|(r, st)| {
                st.weight == 0 && !desired.get(k).is_some_and(|d| d.reals.contains(r))
            })
        })
        .map(|(k, _)| *k)
        .collect()
}
