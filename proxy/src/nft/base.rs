//! The table's fixed part: maps, hooks, the dispatch, masquerade and reject chains. Applied at
//! start in one transaction that creates what is missing and rewrites only the fixed chains,
//! so service chains, map elements, affinity sets and conntrack entries stay.

use std::fmt::Write;

use super::desired::{MapName, RuleContext};
use super::naming::{Family, TABLE};
use super::plan::{hairpin_type, map_declaration};

/// The packet mark bit asking for masquerade (kube-proxy's).
pub const MASQUERADE_MARK: u32 = 0x4000;

/// Source ports masquerade may pick: above the NodePort range (30000-32767), so a masqueraded
/// connection never holds a node port's number on the node.
pub const MASQUERADE_PORTS: &str = "32768-65535";

/// Whether `name` is one of the fixed chains (the same in every family).
pub fn is_fixed_chain(name: &str) -> bool {
    fixed_chains(Family::ALL[0])
        .iter()
        .any(|(chain, _, _)| *chain == name)
}

/// The fixed chains with their hook lines and rules.
fn fixed_chains(f: Family) -> Vec<(&'static str, Option<&'static str>, Vec<String>)> {
    let fam = f.keyword();
    let lo = f.loopback();
    let mark = format!("0x{MASQUERADE_MARK:08x}");
    vec![
        (
            "filter-input",
            Some("type filter hook input priority -110; policy accept;"),
            vec![
                "ct state new jump nodeport-endpoints-check".into(),
                "ct state new jump service-endpoints-check".into(),
            ],
        ),
        (
            "filter-forward",
            Some("type filter hook forward priority -110; policy accept;"),
            vec!["ct state new jump service-endpoints-check".into()],
        ),
        (
            "filter-output",
            Some("type filter hook output priority -110; policy accept;"),
            vec!["ct state new jump service-endpoints-check".into()],
        ),
        (
            "nat-prerouting",
            Some("type nat hook prerouting priority dstnat; policy accept;"),
            vec!["jump services".into()],
        ),
        (
            "nat-output",
            Some("type nat hook output priority -100; policy accept;"),
            vec!["jump services".into()],
        ),
        (
            "nat-postrouting",
            Some("type nat hook postrouting priority srcnat; policy accept;"),
            vec!["jump masquerading".into()],
        ),
        (
            "services",
            None,
            vec![
                format!("{fam} daddr . meta l4proto . th dport vmap @service-ips"),
                format!(
                    "fib daddr type local {fam} daddr != {lo} meta l4proto . th dport vmap @service-nodeports"
                ),
            ],
        ),
        (
            "service-endpoints-check",
            None,
            vec![format!(
                "{fam} daddr . meta l4proto . th dport vmap @no-endpoint-services"
            )],
        ),
        (
            "nodeport-endpoints-check",
            None,
            vec![format!(
                "fib daddr type local {fam} daddr != {lo} meta l4proto . th dport vmap @no-endpoint-nodeports"
            )],
        ),
        (
            "mark-for-masquerade",
            None,
            vec![format!("meta mark set meta mark | {mark}")],
        ),
        (
            "masquerading",
            None,
            vec![
                // Hairpin: an endpoint reached through a shared `dnat-*` chain connecting to
                // itself (checked after DNAT, when the destination is the endpoint).
                format!("ct status dnat {fam} saddr . {fam} daddr @hairpin jump mark-for-masquerade"),
                format!("meta mark & {mark} == 0x00000000 return"),
                format!("meta mark set meta mark ^ {mark}"),
                format!(
                    "meta l4proto {{ tcp, udp, sctp }} masquerade to :{MASQUERADE_PORTS} fully-random"
                ),
                "masquerade fully-random".into(),
            ],
        ),
        (
            "reject-chain",
            None,
            vec!["meta l4proto tcp reject with tcp reset".into(), "reject".into()],
        ),
    ]
}

/// The script that creates the table's fixed part or brings it back to this content. The
/// shared `dnat-*` chains are not part of it: their names fix their content.
pub fn base_script(f: Family, ctx: &RuleContext) -> String {
    let fam = f.keyword();
    let addr = f.addr_type();
    let mut s = String::new();
    let _ = writeln!(s, "add table {fam} {TABLE}");
    let _ = writeln!(
        s,
        "add set {fam} {TABLE} cluster-cidrs {{ type {addr}; flags interval; }}"
    );
    let _ = writeln!(s, "flush set {fam} {TABLE} cluster-cidrs");
    let cidrs: Vec<String> = ctx
        .cluster_cidrs
        .iter()
        .filter(|c| Family::of(&c.addr()) == f)
        .map(|c| c.trunc().to_string())
        .collect();
    if !cidrs.is_empty() {
        let _ = writeln!(
            s,
            "add element {fam} {TABLE} cluster-cidrs {{ {} }}",
            cidrs.join(", ")
        );
    }
    let _ = writeln!(
        s,
        "add set {fam} {TABLE} hairpin {{ type {}; }}",
        hairpin_type(f)
    );
    for map in MapName::ALL {
        let _ = writeln!(
            s,
            "add map {fam} {TABLE} {} {{ {}; }}",
            map.name(),
            map_declaration(f, map)
        );
    }
    let chains = fixed_chains(f);
    // Every chain exists before any rule jumps to it.
    for (name, hook, _) in &chains {
        match hook {
            Some(hook) => {
                let _ = writeln!(s, "add chain {fam} {TABLE} {name} {{ {hook} }}");
            }
            None => {
                let _ = writeln!(s, "add chain {fam} {TABLE} {name}");
            }
        }
        let _ = writeln!(s, "flush chain {fam} {TABLE} {name}");
    }
    for (name, _, rules) in &chains {
        for rule in rules {
            let _ = writeln!(s, "add rule {fam} {TABLE} {name} {rule}");
        }
    }
    s
}
