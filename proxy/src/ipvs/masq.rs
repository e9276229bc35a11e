//! Masquerade, hairpin and node-port marking for the IPVS dataplane in Skiff's own tables
//! `ip skiff-ipvs` and `ip6 skiff-ipvs`: sets of virtual servers and endpoint addresses,
//! changed incrementally in one transaction per sync. Script generation is pure.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::net::IpAddr;

use ipnet::IpNet;

use super::elements::{Element, IpFamily, SetChange};
use super::state::VirtualKey;
use crate::nft::{MASQUERADE_MARK, MASQUERADE_PORTS};

/// The table the IPVS dataplane owns.
pub const MASQ_TABLE: &str = "skiff-ipvs";

/// What the masquerade tables hold (both families).
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

impl MasqSets {
    /// The elements of one family's table.
    fn elements(&self, family: IpFamily) -> [(&'static str, Vec<Element>); 3] {
        let vips = |set: &BTreeSet<VirtualKey>| -> Vec<Element> {
            set.iter()
                .filter(|k| IpFamily::of(&k.addr) == family)
                .map(|k| Element::Vip(*k))
                .collect()
        };
        [
            ("cluster-vips", vips(&self.cluster_vips)),
            ("external-vips", vips(&self.external_vips)),
            (
                "hairpin",
                self.endpoints
                    .iter()
                    .filter(|ip| IpFamily::of(ip) == family)
                    .map(|ip| Element::Hairpin(*ip))
                    .collect(),
            ),
        ]
    }
}

/// The whole tables (`ip` and `ip6`), created or rewritten in one transaction (at start):
/// chains are redefined and sets refilled; conntrack entries and their NAT bindings stay.
pub fn full_script(policy: &MasqPolicy, sets: &MasqSets) -> String {
    let mut s = String::new();
    for family in [IpFamily::V4, IpFamily::V6] {
        family_script(&mut s, family, policy);
        for (set, elems) in sets.elements(family) {
            let list: Vec<String> = elems.iter().map(Element::to_string).collect();
            for chunk in list.chunks(500) {
                let _ = writeln!(
                    s,
                    "add element {} {MASQ_TABLE} {set} {{ {} }}",
                    family.keyword(),
                    chunk.join(", ")
                );
            }
        }
    }
    s
}

/// One family's table, chains and empty sets.
fn family_script(s: &mut String, family: IpFamily, policy: &MasqPolicy) {
    let (f, ip, addr) = match family {
        IpFamily::V4 => ("ip", "ip", "ipv4_addr"),
        IpFamily::V6 => ("ip6", "ip6", "ipv6_addr"),
    };
    let t = format!("{f} {MASQ_TABLE}");
    let mark = format!("0x{MASQUERADE_MARK:08x}");
    let _ = writeln!(s, "add table {t}");
    let _ = writeln!(s, "flush table {t}");
    for set in ["cluster-vips", "external-vips"] {
        let _ = writeln!(
            s,
            "add set {t} {set} {{ type {addr} . inet_proto . inet_service; }}"
        );
    }
    let _ = writeln!(s, "add set {t} hairpin {{ type {addr} . {addr}; }}");
    let _ = writeln!(s, "add chain {t} mark-for-masquerade");
    let _ = writeln!(
        s,
        "add rule {t} mark-for-masquerade meta mark set meta mark or {mark}"
    );
    let cidrs: Vec<String> = policy
        .cluster_cidrs
        .iter()
        .filter(|c| IpFamily::of(&c.addr()) == family)
        .map(|c| c.to_string())
        .collect();
    let cluster_rule = if policy.masquerade_all {
        Some(String::new())
    } else if !cidrs.is_empty() {
        Some(format!("{ip} saddr != {{ {} }} ", cidrs.join(", ")))
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
        let _ = writeln!(s, "add chain {t} {chain} {{ {hook} }}");
        let lookup = format!("{ip} daddr . meta l4proto . th dport");
        if let Some(from) = &cluster_rule {
            let _ = writeln!(
                s,
                "add rule {t} {chain} {lookup} @cluster-vips {from}jump mark-for-masquerade"
            );
        }
        let _ = writeln!(
            s,
            "add rule {t} {chain} {lookup} @external-vips jump mark-for-masquerade"
        );
    }
    let _ = writeln!(
        s,
        "add chain {t} postrouting {{ type nat hook postrouting priority srcnat; policy accept; }}"
    );
    let _ = writeln!(
        s,
        "add rule {t} postrouting {ip} saddr . {ip} daddr @hairpin jump mark-for-masquerade"
    );
    let _ = writeln!(
        s,
        "add rule {t} postrouting meta mark and {mark} == 0 return"
    );
    let _ = writeln!(
        s,
        "add rule {t} postrouting meta mark set meta mark xor {mark}"
    );
    let _ = writeln!(
        s,
        "add rule {t} postrouting meta l4proto {{ tcp, udp, sctp }} masquerade to :{MASQUERADE_PORTS} fully-random"
    );
    let _ = writeln!(s, "add rule {t} postrouting masquerade fully-random");
}

/// The set changes from `old` to `new` (deletions first), per family; empty when none.
pub fn delta(old: &MasqSets, new: &MasqSets) -> Vec<SetChange> {
    let mut out = Vec::new();
    for add in [false, true] {
        let (from, to) = if add { (new, old) } else { (old, new) };
        for family in [IpFamily::V4, IpFamily::V6] {
            for ((set, have), (_, other)) in
                from.elements(family).into_iter().zip(to.elements(family))
            {
                let other: BTreeSet<Element> = other.into_iter().collect();
                let elements: Vec<Element> =
                    have.into_iter().filter(|e| !other.contains(e)).collect();
                if !elements.is_empty() {
                    out.push(SetChange {
                        family,
                        set,
                        add,
                        elements,
                    });
                }
            }
        }
    }
    out
}
