//! Pure planning: from what was listed, which map elements, rules and chains to delete for
//! DEL, GC and the recovery of an ADD that found leftovers.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::listing::{Element, ElementKey, Listing};
use super::naming::{chain_name, network_chain_prefix, Family, MACSPOOF, MASQ4, MASQ6};
use super::rule::expected_rules;
use super::{AttachmentKey, AttachmentRules};

/// What one transaction deletes, in this order: map elements, rules, chains.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removal {
    /// Map elements (their map says the family).
    pub elements: BTreeSet<Element>,
    /// Single rules, by handle, of chains that stay.
    pub rules: BTreeSet<(Family, String, u64)>,
    /// Whole chains.
    pub chains: BTreeSet<(Family, String)>,
}

impl Removal {
    /// Nothing to delete.
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty() && self.rules.is_empty() && self.chains.is_empty()
    }

    fn extend(&mut self, other: Removal) {
        self.elements.extend(other.elements);
        self.rules.extend(other.rules);
        self.chains.extend(other.chains);
    }
}

/// The family whose table holds `map`.
pub fn family_of_map(map: &str) -> Family {
    if map == MACSPOOF {
        Family::Bridge
    } else {
        Family::Inet
    }
}

fn addr_map(a: &IpAddr) -> &'static str {
    match a {
        IpAddr::V4(_) => MASQ4,
        IpAddr::V6(_) => MASQ6,
    }
}

/// Whether a table listing holds the base objects of its family exactly as
/// [`base_script`](super::script::base_script) writes them.
pub fn base_intact(l: &Listing) -> bool {
    // (base chain, [(map, selector pointer, selector value)] in rule order)
    let (chain, vmaps): (&str, &[(&str, &str, &str)]) = match l.family {
        Family::Inet => (
            "postrouting",
            &[
                (MASQ4, "/key/payload/protocol", "ip"),
                (MASQ6, "/key/payload/protocol", "ip6"),
            ],
        ),
        Family::Bridge => ("prerouting", &[(MACSPOOF, "/key/meta/key", "iifname")]),
    };
    let Some(rules) = l.chains.get(chain) else {
        return false;
    };
    rules.len() == vmaps.len()
        && rules.iter().zip(vmaps).all(|(lr, (map, ptr, sel))| {
            let Err(json) = &lr.rule else { return false };
            let Ok(expr) = serde_json::from_str::<serde_json::Value>(json) else {
                return false;
            };
            let vmap = expr.pointer("/0/vmap");
            l.maps.iter().any(|m| m == map)
                && expr.as_array().is_some_and(|a| a.len() == 1)
                && vmap.and_then(|v| v.pointer(ptr)) == Some(&serde_json::json!(sel))
                && vmap.and_then(|v| v.get("data")) == Some(&serde_json::json!(format!("@{map}")))
        })
}

/// The families whose base objects `rules` needs but `tables` lacks (or holds altered).
pub fn base_repairs(rules: &AttachmentRules, tables: &[Listing]) -> Vec<Family> {
    Family::ALL
        .into_iter()
        .filter(|&f| !expected_rules(rules, f).is_empty())
        .filter(|&f| !tables.iter().any(|l| l.family == f && base_intact(l)))
        .collect()
}

/// DEL's plan from listings of the attachment's `chain` alone (one per family where it
/// exists): the elements its rules name (`saddr` / `iifname`) and the chain.
pub fn removal_from_chains(chain: &str, listed: &[Listing]) -> Removal {
    let mut r = Removal::default();
    for l in listed {
        let Some(rules) = l.chains.get(chain) else {
            continue;
        };
        for rule in rules.iter().filter_map(|lr| lr.rule.as_ref().ok()) {
            let key = match (rule.saddr(), rule.iifname()) {
                (Some(a), _) => Some((addr_map(&a), ElementKey::Addr(a))),
                (None, Some(i)) => Some((MACSPOOF, ElementKey::Ifname(i.to_string()))),
                (None, None) => None,
            };
            if let Some((map, key)) = key {
                if family_of_map(map) == l.family {
                    r.elements.insert(Element {
                        map,
                        key,
                        target: chain.to_string(),
                    });
                }
            }
        }
        r.chains.insert((l.family, chain.to_string()));
    }
    r
}

/// From whole-table listings: `chain` wherever it exists and every element jumping to it.
pub fn removal_of_chain(chain: &str, tables: &[Listing]) -> Removal {
    let mut r = Removal::default();
    for l in tables {
        if l.chains.contains_key(chain) {
            r.chains.insert((l.family, chain.to_string()));
        }
        r.elements
            .extend(l.elements.iter().filter(|e| e.target == chain).cloned());
    }
    r
}

/// GC's plan: the chains of `network` whose attachment is not in `keep`, with their elements.
pub fn gc_removal(network: &str, keep: &[AttachmentKey], tables: &[Listing]) -> Removal {
    let prefix = network_chain_prefix(network);
    let keep: BTreeSet<String> = keep
        .iter()
        .filter(|k| k.network == network)
        .map(chain_name)
        .collect();
    let stale: BTreeSet<&String> = tables
        .iter()
        .flat_map(|l| l.chains.keys())
        .filter(|c| c.starts_with(&prefix) && !keep.contains(*c))
        .collect();
    let mut r = Removal::default();
    for chain in stale {
        r.extend(removal_of_chain(chain, tables));
    }
    r
}

/// What stops `key` from being added with `rules`: its own chains left by an earlier attempt
/// (with their elements), and elements for its addresses or host interface that jump to
/// another attachment's chain (with that chain's rules about them, so every chain keeps
/// holding rules exactly for the elements that jump to it).
pub fn conflicts(key: &AttachmentKey, rules: &AttachmentRules, tables: &[Listing]) -> Removal {
    let chain = chain_name(key);
    let mut r = removal_of_chain(&chain, tables);
    let mut wanted: Vec<ElementKey> = rules
        .masquerade
        .iter()
        .map(|n| ElementKey::Addr(n.addr()))
        .collect();
    wanted.extend(
        rules
            .macspoof
            .iter()
            .map(|m| ElementKey::Ifname(m.host_ifname.clone())),
    );
    for l in tables {
        for e in l
            .elements
            .iter()
            .filter(|e| wanted.contains(&e.key) && e.target != chain)
        {
            r.elements.insert(e.clone());
            let Some(other) = l.chains.get(&e.target) else {
                continue;
            };
            for lr in other {
                let Ok(rule) = &lr.rule else { continue };
                let about = match &e.key {
                    ElementKey::Addr(a) => rule.saddr() == Some(*a),
                    ElementKey::Ifname(i) => rule.iifname() == Some(i.as_str()),
                };
                if about {
                    r.rules.insert((l.family, e.target.clone(), lr.handle));
                }
            }
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::super::listing::ListedRule;
    use super::super::MacSpoof;
    use super::*;

    fn rules(addr: &str, veth: &str) -> AttachmentRules {
        AttachmentRules {
            masquerade: vec![addr.parse().unwrap()],
            macspoof: Some(MacSpoof {
                host_ifname: veth.into(),
                mac: [2, 0, 0, 0, 0, 1],
            }),
        }
    }

    /// Tables as they would be listed after adding each `(key, rules)`.
    fn installed(attachments: &[(AttachmentKey, AttachmentRules)]) -> Vec<Listing> {
        let mut tables = vec![Listing::empty(Family::Inet), Listing::empty(Family::Bridge)];
        let mut handle = 10;
        for (key, r) in attachments {
            let chain = chain_name(key);
            for l in &mut tables {
                let listed: Vec<ListedRule> = expected_rules(r, l.family)
                    .into_iter()
                    .map(|rule| {
                        handle += 1;
                        ListedRule {
                            handle,
                            rule: Ok(rule),
                        }
                    })
                    .collect();
                if listed.is_empty() {
                    continue;
                }
                for lr in &listed {
                    let rule = lr.rule.as_ref().unwrap();
                    let (map, key) = match (rule.saddr(), rule.iifname()) {
                        (Some(a), _) => (addr_map(&a), ElementKey::Addr(a)),
                        (None, Some(i)) => (MACSPOOF, ElementKey::Ifname(i.into())),
                        _ => unreachable!(),
                    };
                    let e = Element {
                        map,
                        key,
                        target: chain.clone(),
                    };
                    if !l.elements.contains(&e) {
                        l.elements.push(e);
                    }
                }
                l.chains.insert(chain.clone(), listed);
            }
        }
        tables
    }

    #[test]
    fn del_plan_names_the_elements_of_the_chain_rules() {
        let key = AttachmentKey::new("net", "c1", "eth0");
        let tables = installed(&[(key.clone(), rules("10.88.0.5/16", "veth1"))]);
        let from_chains = removal_from_chains(&chain_name(&key), &tables);
        assert_eq!(from_chains, removal_of_chain(&chain_name(&key), &tables));
        assert_eq!(from_chains.elements.len(), 2);
        assert_eq!(from_chains.chains.len(), 2);
    }

    #[test]
    fn gc_plan_keeps_listed_attachments_and_other_networks() {
        let live = AttachmentKey::new("net", "live", "eth0");
        let dead = AttachmentKey::new("net", "dead", "eth0");
        let other = AttachmentKey::new("other", "dead", "eth0");
        let tables = installed(&[
            (live.clone(), rules("10.88.0.2/16", "veth2")),
            (dead.clone(), rules("10.88.0.3/16", "veth3")),
            (other, rules("10.99.0.3/16", "veth4")),
        ]);
        let r = gc_removal(
            "net",
            &[live, AttachmentKey::new("other", "x", "eth0")],
            &tables,
        );
        let dead_chain = chain_name(&dead);
        assert_eq!(
            r.chains,
            BTreeSet::from([
                (Family::Inet, dead_chain.clone()),
                (Family::Bridge, dead_chain.clone())
            ])
        );
        assert!(r.elements.iter().all(|e| e.target == dead_chain));
        assert_eq!(r.elements.len(), 2);
    }

    #[test]
    fn conflicts_take_over_an_address_and_drop_its_rules_from_the_old_chain() {
        let old = AttachmentKey::new("net", "old", "eth0");
        let new = AttachmentKey::new("net", "new", "eth0");
        let tables = installed(&[
            (old.clone(), rules("10.88.0.5/16", "veth1")),
            (new.clone(), rules("10.88.0.9/16", "veth9")),
        ]);
        let r = conflicts(&new, &rules("10.88.0.5/16", "veth9"), &tables);
        // Its own leftover chains go (with their elements), the old chain keeps existing but
        // loses the element and both rules about 10.88.0.5.
        let new_chain = chain_name(&new);
        assert_eq!(
            r.chains,
            BTreeSet::from([
                (Family::Inet, new_chain.clone()),
                (Family::Bridge, new_chain.clone())
            ])
        );
        let old_chain = chain_name(&old);
        assert!(r
            .elements
            .iter()
            .any(|e| e.target == old_chain
                && e.key == ElementKey::Addr("10.88.0.5".parse().unwrap())));
        assert_eq!(r.elements.len(), 3);
        assert_eq!(r.rules.len(), 2);
        assert!(r
            .rules
            .iter()
            .all(|(f, c, _)| *f == Family::Inet && *c == old_chain));
    }

    #[test]
    fn base_objects_are_recognised_in_a_listing() {
        let inet = super::super::listing::parse_listing(
            Family::Inet,
            include_str!("testdata/inet-table.json"),
        )
        .unwrap();
        assert!(base_intact(&inet));
        let masq = rules("10.88.0.5/16", "veth1");
        assert_eq!(
            base_repairs(&masq, std::slice::from_ref(&inet)),
            [Family::Bridge]
        );
        let mut altered = inet;
        altered.chains.get_mut("postrouting").unwrap().pop();
        assert!(!base_intact(&altered));
        assert!(!base_intact(&Listing::empty(Family::Bridge)));
    }

    #[test]
    fn nothing_conflicts_on_a_clean_table() {
        let key = AttachmentKey::new("net", "c", "eth0");
        let tables = installed(&[]);
        assert!(conflicts(&key, &rules("10.88.0.5/16", "veth1"), &tables).is_empty());
    }
}
