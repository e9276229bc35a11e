//! The nftables-only dataplane, for kernels without IPVS.
//!
//! Skiff owns table `ip skiff-proxy` (and `ip6 skiff-proxy` once IPv6 services exist) and
//! never touches another. One verdict-map lookup per packet (`service-ips` keyed on
//! `daddr . l4proto . dport`, `service-nodeports` on `l4proto . dport` for local addresses)
//! sends it on. A port without ClientIP affinity nor `externalTrafficPolicy: Local` has no
//! chain of its own: its elements go to a shared chain `dnat-<kind>-<endpoint count>`, which
//! masquerades as the kind says and DNATs with one lookup in the `endpoints` (or
//! `nodeport-endpoints`) map keyed on the same fields plus `numgen random mod <count>`. Hairpin
//! connections of those endpoints are masqueraded after DNAT through one `hairpin` set of
//! `addr . addr`. Ports with affinity or `externalTrafficPolicy: Local` keep kube-proxy's
//! shape: a chain per service port and per endpoint, affinity in a timed dynamic set per
//! endpoint checked before the random pick. Ports without endpoints are rejected from the
//! `no-endpoint-*` maps. Packets marked `0x4000` (hairpin, node ports and external IPs with
//! `externalTrafficPolicy: Cluster`, cluster IPs from outside `cluster_cidrs`) are masqueraded
//! to source ports 32768-65535, outside the NodePort range.
//!
//! Names fix content: per-port chain names carry a hash of their rules, a shared chain's name
//! its kind and count. A changed port gets new chains or elements, swapped in by the same
//! transaction, and a restarted proxy knows from names and elements alone what the kernel
//! holds, so it rewrites nothing that is already right.
//!
//! Cost on Linux 6.1 with libnftables 1.0.6 (measured by `scripts/bench-proxy-nft.sh`): a
//! transaction adding a jump validates the whole table's chain graph, a rule binding an
//! anonymous map scans the whole transaction, any deletion makes libnftables read every chain,
//! and libnftables keeps the parsed objects of its last transactions. So ports are elements,
//! not chains; additions use only creating forms; a sync computes only the ports whose
//! fingerprint changed, and told which ports changed
//! ([`Changes::Ports`](crate::dataplane::Changes::Ports)) it looks only at those and at the ports
//! that failed before, keeping counts instead of summing them; a large sync goes in
//! transactions of at most [`NftConfig::max_transaction_lines`] between whole ports, on a
//! thread of their own (another heap arena), with a fresh libnftables context afterwards. With a ruleset read, libnftables
//! 1.0.6 refuses new rules naming the `typeof` endpoint maps, so shared chains are created in
//! transactions without deletions.

mod base;
mod dataplane;
mod desired;
mod hairpin;
mod kernel;
mod listing;
mod naming;
mod plan;
mod select;
mod store;

#[cfg(test)]
mod ports_sync_tests;
#[cfg(test)]
mod tests;

pub use base::{base_script, MASQUERADE_MARK, MASQUERADE_PORTS};
pub use dataplane::NftDataplane;
pub use desired::{
    desired, port_objects, Desired, DnatClass, DnatKind, MapName, PortObjects, RuleContext,
};
pub use hairpin::{HairpinAddress, HairpinAddresses};
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
