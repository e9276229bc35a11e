//! Masquerade, hairpin and node-port marking for the IPVS dataplane in Skiff's own table
//! `ip skiff-ipvs`: sets of virtual servers and endpoint addresses, changed incrementally in
//! one transaction per sync. Script generation is pure.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::net::IpAddr;

use ipnet::IpNet;

use super::elements::{Element, SetChange};
use super::state::VirtualKey;
use crate::nft::{MASQUERADE_MARK, MASQUERADE_PORTS};

/// The table the IPVS dataplane owns.
pub const MASQ_TABLE: &str = "skiff-ipvs";

/// What the masquerade table holds (IPv4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MasqSets {
    /// Cluster-IP virtual servers.
    pub cluster_vips: BTreeSet<VirtualKey>,
    /// Virtual servers whose traffic is always masqueraded.
    pub external_vips: BTreeSet<VirtualKey>,
    /// Endpoint addresses (hairpin: an endpoint reaching itself through a service).
    pub endpoints: BTreeSet<IpAddr>,
}

/// How cluster-IP traffic is masqueraded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MasqPolicy {
    /// Pod CIDRs; traffic to a cluster IP from outside them is masqueraded.
    pub cluster_cidrs: Vec<IpNet>,
    /// Masquerade all traffic to cluster IPs.
    pub masquerade_all: bool,
}

fn vip_elem(k: &VirtualKey) -> Option<String> {
    k.addr
        .is_ipv4()
        .then(|| format!("{} . {} . {}", k.addr, k.protocol.name(), k.port))
}

fn hairpin_elem(ip: &IpAddr) -> Option<String> {
    ip.is_ipv4().then(|| format!("{ip} . {ip}"))
}

/// The whole table, created or rewritten in one transaction (at start): chains are
/// redefined and sets refilled; conntrack entries and their NAT bindings stay.
pub fn full_script(policy: &MasqPolicy, sets: &MasqSets) -> String {
    let t = MASQ_TABLE;
    let mark = format!("0x{MASQUERADE_MARK:08x}");
    let mut s = String::new();
    let _ = writeln!(s, "add table ip {t}");
    let _ = writeln!(s, "flush table ip {t}");
    for set in ["cluster-vips", "external-vips"] {
        let _ = writeln!(
            s,
            "add set ip {t} {set} {{ type ipv4_addr . inet_proto . inet_service; }}"
        );
    }
    let _ = writeln!(
        s,
        "add set ip {t} hairpin {{ type ipv4_addr . ipv4_addr; }}"
    );
    let _ = writeln!(s, "add chain ip {t} mark-for-masquerade");
    let _ = writeln!(
        s,
        "add rule ip {t} mark-for-masquerade meta mark set meta mark or {mark}"
    );
    let v4_cidrs: Vec<String> = policy
        .cluster_cidrs
        .iter()
        .filter(|c| matches!(c, IpNet::V4(_)))
        .map(|c| c.to_string())
        .collect();
    let cluster_rule = if policy.masquerade_all {
        Some(String::new())
    } else if !v4_cidrs.is_empty() {
        Some(format!("ip saddr != {{ {} }} ", v4_cidrs.join(", ")))
    } else {
        None
    };
    for (chain, hook) in [
        (
            "prerouting",
            "type nat hook prerouting priority dstnat; policy accept;",
        ),
        (
            "output",
            "type nat hook output priority -100; policy accept;",
        ),
    ] {
        let _ = writeln!(s, "add chain ip {t} {chain} {{ {hook} }}");
        let lookup = "ip daddr . meta l4proto . th dport";
        if let Some(from) = &cluster_rule {
            let _ = writeln!(
                s,
                "add rule ip {t} {chain} {lookup} @cluster-vips {from}jump mark-for-masquerade"
            );
        }
        let _ = writeln!(
            s,
            "add rule ip {t} {chain} {lookup} @external-vips jump mark-for-masquerade"
        );
    }
    let _ = writeln!(
        s,
        "add chain ip {t} postrouting {{ type nat hook postrouting priority srcnat; policy accept; }}"
    );
    let _ = writeln!(
        s,
        "add rule ip {t} postrouting ip saddr . ip daddr @hairpin jump mark-for-masquerade"
    );
    let _ = writeln!(
        s,
        "add rule ip {t} postrouting meta mark and {mark} == 0 return"
    );
    let _ = writeln!(
        s,
        "add rule ip {t} postrouting meta mark set meta mark xor {mark}"
    );
    let _ = writeln!(
        s,
        "add rule ip {t} postrouting meta l4proto {{ tcp, udp, sctp }} masquerade to :{MASQUERADE_PORTS} fully-random"
    );
    let _ = writeln!(s, "add rule ip {t} postrouting masquerade fully-random");
    elements(
        &mut s,
        "add",
        "cluster-vips",
        sets.cluster_vips.iter().filter_map(vip_elem),
    );
    elements(
        &mut s,
        "add",
        "external-vips",
        sets.external_vips.iter().filter_map(vip_elem),
    );
    elements(
        &mut s,
        "add",
        "hairpin",
        sets.endpoints.iter().filter_map(hairpin_elem),
    );
    s
}

/// The set changes from `old` to `new` (deletions first); empty when none.
pub fn delta(old: &MasqSets, new: &MasqSets) -> Vec<SetChange> {
    let vips = |a: &BTreeSet<VirtualKey>, b: &BTreeSet<VirtualKey>| -> Vec<Element> {
        a.difference(b)
            .filter(|k| k.addr.is_ipv4())
            .map(|k| Element::Vip(*k))
            .collect()
    };
    let eps = |a: &BTreeSet<IpAddr>, b: &BTreeSet<IpAddr>| -> Vec<Element> {
        a.difference(b)
            .filter(|ip| ip.is_ipv4())
            .map(|ip| Element::Hairpin(*ip))
            .collect()
    };
    let candidates = [
        (
            "cluster-vips",
            false,
            vips(&old.cluster_vips, &new.cluster_vips),
        ),
        (
            "external-vips",
            false,
            vips(&old.external_vips, &new.external_vips),
        ),
        ("hairpin", false, eps(&old.endpoints, &new.endpoints)),
        (
            "cluster-vips",
            true,
            vips(&new.cluster_vips, &old.cluster_vips),
        ),
        (
            "external-vips",
            true,
            vips(&new.external_vips, &old.external_vips),
        ),
        ("hairpin", true, eps(&new.endpoints, &old.endpoints)),
    ];
    candidates
        .into_iter()
        .filter(|(_, _, elements)| !elements.is_empty())
        .map(|(set, add, elements)| SetChange { set, add, elements })
        .collect()
}

/// Appends `verb element` lines for `set`, 500 elements a line.
fn elements(s: &mut String, verb: &str, set: &str, elems: impl Iterator<Item = String>) {
    let all: Vec<String> = elems.collect();
    for chunk in all.chunks(500) {
        let _ = writeln!(
            s,
            "{verb} element ip {MASQ_TABLE} {set} {{ {} }}",
            chunk.join(", ")
        );
    }
}
