//! Rendering nft scripts. Each script is sent as one buffer, which libnftables turns into one
//! kernel transaction: it applies whole or not at all.

use std::fmt::Write as _;

use super::listing::ElementKey;
use super::naming::{chain_name, Family, MACSPOOF, MASQ4, MASQ6, TABLE};
use super::plan::{family_of_map, Removal};
use super::rule::{expected_rules, is_safe_ifname};
use super::{AttachmentKey, AttachmentRules, NftError};

/// The base objects of `family`: table, map(s) and the hooked chain with its vmap rules.
/// `add` is a no-op for existing tables, maps and chains; the base chain's rules are flushed
/// and written again so they exist exactly once. Only written when a listing shows them
/// missing or altered, as the flush deletes rules, and closing a socket whose transaction
/// deleted anything waits for an RCU grace period.
pub fn base_script(family: Family) -> String {
    match family {
        Family::Inet => format!(
            "add table inet {TABLE}\n\
             add map inet {TABLE} {MASQ4} {{ type ipv4_addr : verdict; }}\n\
             add map inet {TABLE} {MASQ6} {{ type ipv6_addr : verdict; }}\n\
             add chain inet {TABLE} postrouting {{ type nat hook postrouting priority srcnat; policy accept; }}\n\
             flush chain inet {TABLE} postrouting\n\
             add rule inet {TABLE} postrouting ip saddr vmap @{MASQ4}\n\
             add rule inet {TABLE} postrouting ip6 saddr vmap @{MASQ6}\n"
        ),
        Family::Bridge => format!(
            "add table bridge {TABLE}\n\
             add map bridge {TABLE} {MACSPOOF} {{ type ifname : verdict; }}\n\
             add chain bridge {TABLE} prerouting {{ type filter hook prerouting priority -300; policy accept; }}\n\
             flush chain bridge {TABLE} prerouting\n\
             add rule bridge {TABLE} prerouting iifname vmap @{MACSPOOF}\n"
        ),
    }
}

/// The script installing `rules` for `key`: the attachment's chain in each table it needs,
/// created with `create` so that a leftover from an earlier attempt fails the transaction
/// instead of being silently extended, its rules, and the map elements jumping to it. It adds
/// nothing else, so it fails as a whole when the base objects are missing (see
/// [`base_script`]). Empty when `rules` needs nothing.
pub fn add_script(key: &AttachmentKey, rules: &AttachmentRules) -> Result<String, NftError> {
    if let Some(m) = &rules.macspoof {
        if !is_safe_ifname(&m.host_ifname) {
            return Err(NftError::InvalidIfname(m.host_ifname.clone()));
        }
    }
    let chain = chain_name(key);
    let mut s = String::new();
    for family in Family::ALL {
        let chain_rules = expected_rules(rules, family);
        if chain_rules.is_empty() {
            continue;
        }
        let f = family.keyword();
        let _ = writeln!(s, "create chain {f} {TABLE} {chain}");
        for r in &chain_rules {
            let _ = writeln!(s, "add rule {f} {TABLE} {chain} {r}");
        }
        match family {
            Family::Inet => {
                for net in &rules.masquerade {
                    let map = if net.addr().is_ipv4() { MASQ4 } else { MASQ6 };
                    let _ = writeln!(
                        s,
                        "add element inet {TABLE} {map} {{ {} : jump {chain} }}",
                        net.addr()
                    );
                }
            }
            Family::Bridge => {
                if let Some(m) = &rules.macspoof {
                    let _ = writeln!(
                        s,
                        "add element bridge {TABLE} {MACSPOOF} {{ \"{}\" : jump {chain} }}",
                        m.host_ifname
                    );
                }
            }
        }
    }
    Ok(s)
}

/// The script deleting what `removal` names: elements first (a chain cannot go while an
/// element jumps to it), then single rules, then chains.
pub fn removal_script(removal: &Removal) -> String {
    let mut s = String::new();
    for e in &removal.elements {
        let key = match &e.key {
            ElementKey::Addr(a) => a.to_string(),
            // Names come from the kernel; anything unsafe to quote cannot be one Skiff wrote.
            ElementKey::Ifname(i) if is_safe_ifname(i) => format!("\"{i}\""),
            ElementKey::Ifname(_) => continue,
        };
        let f = family_of_map(e.map).keyword();
        let _ = writeln!(s, "delete element {f} {TABLE} {} {{ {key} }}", e.map);
    }
    for (family, chain, handle) in &removal.rules {
        let _ = writeln!(
            s,
            "delete rule {} {TABLE} {chain} handle {handle}",
            family.keyword()
        );
    }
    for (family, chain) in &removal.chains {
        let _ = writeln!(s, "delete chain {} {TABLE} {chain}", family.keyword());
    }
    s
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::super::listing::Element;
    use super::super::MacSpoof;
    use super::*;

    fn key() -> AttachmentKey {
        AttachmentKey::new("skiffnet", "c0ffee", "eth0")
    }

    #[test]
    fn base_scripts_match_golden_text() {
        assert_eq!(
            base_script(Family::Inet) + &base_script(Family::Bridge),
            include_str!("testdata/base.nft")
        );
    }

    #[test]
    fn add_script_for_dual_stack_with_macspoof_matches_golden_text() {
        let rules = AttachmentRules {
            masquerade: vec![
                "10.88.0.5/16".parse().unwrap(),
                "fd00:88::5/64".parse().unwrap(),
            ],
            macspoof: Some(MacSpoof {
                host_ifname: "veth0a1b2c3d".into(),
                mac: [0x02, 0x42, 0xac, 0x11, 0x00, 0x05],
            }),
        };
        assert_eq!(
            add_script(&key(), &rules).unwrap(),
            include_str!("testdata/add-dual-macspoof.nft")
        );
    }

    #[test]
    fn add_script_for_ipv4_masquerade_only_leaves_the_bridge_table_alone() {
        let rules = AttachmentRules {
            masquerade: vec!["10.88.0.5/16".parse().unwrap()],
            macspoof: None,
        };
        assert_eq!(
            add_script(&key(), &rules).unwrap(),
            include_str!("testdata/add-ipv4.nft")
        );
    }

    #[test]
    fn add_script_is_empty_when_nothing_is_needed() {
        assert_eq!(add_script(&key(), &AttachmentRules::default()).unwrap(), "");
    }

    #[test]
    fn add_script_refuses_an_interface_name_that_would_break_quoting() {
        let rules = AttachmentRules {
            masquerade: vec![],
            macspoof: Some(MacSpoof {
                host_ifname: "x\" }; flush ruleset".into(),
                mac: [2, 0, 0, 0, 0, 1],
            }),
        };
        assert!(matches!(
            add_script(&key(), &rules),
            Err(NftError::InvalidIfname(_))
        ));
    }

    #[test]
    fn removal_script_deletes_elements_then_rules_then_chains() {
        let chain = chain_name(&key());
        let removal = Removal {
            elements: BTreeSet::from([
                Element {
                    map: MASQ4,
                    key: ElementKey::Addr("10.88.0.5".parse().unwrap()),
                    target: chain.clone(),
                },
                Element {
                    map: MASQ6,
                    key: ElementKey::Addr("fd00:88::5".parse().unwrap()),
                    target: chain.clone(),
                },
                Element {
                    map: MACSPOOF,
                    key: ElementKey::Ifname("veth0a1b2c3d".into()),
                    target: chain.clone(),
                },
            ]),
            rules: BTreeSet::from([(Family::Inet, "att-00000000-1111111111111111".into(), 7)]),
            chains: BTreeSet::from([(Family::Inet, chain.clone()), (Family::Bridge, chain)]),
        };
        assert_eq!(
            removal_script(&removal),
            include_str!("testdata/removal.nft")
        );
    }
}
