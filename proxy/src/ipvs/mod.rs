//! The IPVS dataplane: virtual servers programmed over generic netlink with Skiff's own codec,
//! VIPs bound on the dummy interface `skiff-ipvs0`, masquerade in nftables table
//! `ip skiff-ipvs`.
//!
//! It never flushes: [`Dataplane::load`](crate::dataplane::Dataplane::load) reads the kernel
//! once and every sync applies only the difference, so a restart drops no established
//! connection (a flush would, and leaves deleted real servers on a list every later add scans).
//! A removed real server drains: weight 0 until its connections are gone, then deleted; UDP
//! real servers go at once, their stale conntrack entries cleared. NodePorts answer on the
//! configured node IPs; a NodePort on 127.0.0.1 cannot work with IPVS.

mod aggregate;
mod attrs;
mod client;
mod codec;
mod dataplane;
mod desired;
mod elements;
mod host;
mod kernel;
mod masq;
mod state;
mod table;
mod vip;
mod wire;

#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;

pub use aggregate::{Aggregate, Update};
pub use client::{IpvsError, IpvsSocket};
pub use codec::{
    decode_frame, encode_into, DestAttrs, IpvsAttr, IpvsCmd, IpvsMessage, ServiceAttrs, SvcFlags,
    AF_INET, AF_INET6, FAMILY_NAME, FAMILY_VERSION, FWD_MASQ, SVC_F_PERSISTENT,
};
pub use dataplane::IpvsDataplane;
pub use desired::{clash, desired, port_desired, IpvsDesired, PortDesired};
pub use elements::{batch, Element, ElementSocket, ElementsError, IpFamily, SetChange};
pub use host::{
    apply_sysctls, conntrack_args, ClearedFlow, Conntrack, ConntrackTool, FakeConntrack, SYSCTLS,
};
pub use kernel::{FakeIpvs, FakeIpvsState, IpvsKernel};
pub use masq::{delta, full_script, MasqPolicy, MasqSets, MASQ_TABLE};
pub use state::{
    diff, draining, record, DesiredService, DesiredServices, IpvsOp, IpvsPlan, Programmed,
    ProgrammedService, RealKey, RealState, SchedulerName, VirtualKey, VirtualSpec, WEIGHT,
};
pub use table::{MasqKernel, MasqTableError, MasqWriter};
pub use vip::{DummyLink, FakeVipLink, VipLink, DUMMY_LINK};
pub use wire::{
    dest_full, parse_dest, parse_service, protocol_number, request, service_full, service_key,
};

/// How the IPVS dataplane programs the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvsConfig {
    /// IPVS scheduler for every virtual server (`--ipvs-scheduler`; `rr` by default).
    pub scheduler: String,
    /// Node addresses where NodePorts answer.
    pub node_ips: Vec<IpAddr>,
    /// Pod CIDRs; traffic to a cluster IP from outside them is masqueraded.
    pub cluster_cidrs: Vec<IpNet>,
    /// Masquerade all traffic to cluster IPs.
    pub masquerade_all: bool,
    /// Where sysctls are written (`/proc/sys`); `None` leaves them alone.
    pub sysctl_root: Option<PathBuf>,
}

impl Default for IpvsConfig {
    fn default() -> Self {
        Self {
            scheduler: "rr".into(),
            node_ips: Vec::new(),
            cluster_cidrs: Vec::new(),
            masquerade_all: false,
            sysctl_root: Some(PathBuf::from("/proc/sys")),
        }
    }
}
