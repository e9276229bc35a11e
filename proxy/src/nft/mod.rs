//! The nftables-only dataplane, for kernels without IPVS.
//!
//! Skiff owns table `ip skiff-proxy` (and `ip6 skiff-proxy` once IPv6 services exist) and
//! never touches another. The shape is kube-proxy's nftables mode: one verdict-map lookup per
//! packet (`service-ips` keyed on `daddr . l4proto . dport`, `service-nodeports` on
//! `l4proto . dport` for local addresses) jumps to a chain per service port, which picks an
//! endpoint chain with `numgen random mod N`; ClientIP affinity lives in a timed dynamic set per
//! endpoint, checked before the random pick. Ports without endpoints are rejected from the
//! `no-endpoint-*` maps. Packets marked `0x4000` (hairpin, node ports and external IPs with
//! `externalTrafficPolicy: Cluster`, cluster IPs from outside `cluster_cidrs`) are masqueraded
//! to source ports 32768-65535, outside the NodePort range.
//!
//! Chain names carry a hash of their content: a changed service port gets new chains, swapped
//! in by its map elements in the same transaction, and a restarted proxy knows from names alone
//! what the kernel holds, so it rewrites nothing that is already right.
//!
//! Cost on Linux 6.1 with libnftables 1.0.6 (measured by `scripts/bench-proxy-nft.sh`): each
//! transaction that adds a jump validates the whole table, each rule binding an anonymous map
//! scans the whole transaction, and any deletion makes libnftables dump every chain first. So
//! additions use only creating forms (which need no dump), and a large sync is split into
//! transactions of at most [`NftConfig::max_transaction_lines`] between whole service ports.
//! Removals still pay the dump, whose cost grows with the square of the number of chains.

mod base;
mod dataplane;
mod desired;
mod kernel;
mod listing;
mod naming;
mod plan;
mod store;

#[cfg(test)]
mod tests;

pub use base::{base_script, MASQUERADE_MARK, MASQUERADE_PORTS};
pub use dataplane::NftDataplane;
pub use desired::{
    desired, port_objects, Desired, DnatClass, DnatKind, MapName, PortObjects, RuleContext,
};
pub use kernel::{FakeNft, FakeNftLog, NftKernel};
pub use naming::{Family, TABLE};
pub use plan::{
    claim, claim_port, leftovers, new_classes, plan, plan_changes, port_change, record, render,
    render_classes, Inventory, PortPlan,
};
pub use store::{fingerprint, hairpin_changes, record_shared, Programmed, Shared, Stored};

use ipnet::IpNet;

/// How the nftables dataplane programs the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftConfig {
    /// Pod CIDRs (`--cluster-cidr`). Traffic to a cluster IP from outside them is masqueraded;
    /// when empty (unknown) only hairpin traffic to cluster IPs is, as in kube-proxy.
    pub cluster_cidrs: Vec<IpNet>,
    /// Masquerade every packet sent to a cluster IP (`--masquerade-all`).
    pub masquerade_all: bool,
    /// Largest transaction, in script lines; a larger sync is split between whole service
    /// ports (the kernel's cost per transaction grows with the square of its size).
    pub max_transaction_lines: usize,
}

impl Default for NftConfig {
    fn default() -> Self {
        Self {
            cluster_cidrs: Vec::new(),
            masquerade_all: false,
            max_transaction_lines: 3_000,
        }
    }
}
