//! CHECK as a pure comparison of what the tables hold for an attachment with what it needs.

use std::collections::BTreeMap;

use super::listing::{ElementKey, Listing};
use super::naming::{chain_name, TABLE};
use super::plan::base_repairs;
use super::rule::expected_rules;
use super::{AttachmentKey, AttachmentRules, NftError};

/// Compares the chains and map elements of `key` in `tables` with `rules`; the error names
/// every difference.
pub fn compare(
    key: &AttachmentKey,
    rules: &AttachmentRules,
    tables: &[Listing],
) -> Result<(), NftError> {
    let chain = chain_name(key);
    let mut problems: Vec<String> = base_repairs(rules, tables)
        .into_iter()
        .map(|f| {
            format!(
                "base chain or maps of table {} {TABLE} missing or altered",
                f.keyword()
            )
        })
        .collect();
    for l in tables {
        let f = l.family.keyword();
        let want: Vec<String> = expected_rules(rules, l.family)
            .iter()
            .map(ToString::to_string)
            .collect();
        match l.chains.get(&chain) {
            None if want.is_empty() => {}
            None => problems.push(format!("chain {chain} missing from table {f} {TABLE}")),
            Some(_) if want.is_empty() => {
                problems.push(format!("unexpected chain {chain} in table {f} {TABLE}"))
            }
            Some(listed) => {
                let mut have: Vec<String> = listed
                    .iter()
                    .map(|lr| match &lr.rule {
                        Ok(r) => r.to_string(),
                        Err(json) => format!("unrecognised rule {json}"),
                    })
                    .collect();
                for w in &want {
                    match have.iter().position(|h| h == w) {
                        Some(i) => {
                            have.remove(i);
                        }
                        None => problems.push(format!("rule missing in {f}: {w}")),
                    }
                }
                problems.extend(have.iter().map(|h| format!("unexpected rule in {f}: {h}")));
            }
        }
    }
    let mut want: BTreeMap<ElementKey, ()> = rules
        .masquerade
        .iter()
        .map(|n| (ElementKey::Addr(n.addr()), ()))
        .collect();
    want.extend(
        rules
            .macspoof
            .iter()
            .map(|m| (ElementKey::Ifname(m.host_ifname.clone()), ())),
    );
    let elements = tables.iter().flat_map(|l| &l.elements);
    for e in elements.clone() {
        let wanted = want.remove(&e.key).is_some();
        match (wanted, e.target == chain) {
            (true, true) | (false, false) => {}
            (true, false) => problems.push(format!(
                "{} element {} jumps to {} instead",
                e.map,
                key_text(&e.key),
                e.target
            )),
            (false, true) => {
                problems.push(format!("unexpected {} element {}", e.map, key_text(&e.key)))
            }
        }
    }
    problems.extend(
        want.keys()
            .map(|k| format!("map element {} missing", key_text(k))),
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(NftError::Mismatch {
            key: key.to_string(),
            problem: problems.join("; "),
        })
    }
}

fn key_text(k: &ElementKey) -> String {
    match k {
        ElementKey::Addr(a) => a.to_string(),
        ElementKey::Ifname(i) => format!("\"{i}\""),
    }
}

#[cfg(test)]
mod tests {
    use super::super::listing::{Element, ListedRule};
    use super::super::naming::{Family, MASQ4};
    use super::*;

    fn installed(key: &AttachmentKey, rules: &AttachmentRules) -> Vec<Listing> {
        let chain = chain_name(key);
        // The base objects as listed, without the attachment the file also holds.
        let mut inet = super::super::listing::parse_listing(
            Family::Inet,
            include_str!("testdata/inet-table.json"),
        )
        .unwrap();
        inet.chains.retain(|name, _| name == "postrouting");
        inet.chains.insert(
            chain.clone(),
            expected_rules(rules, Family::Inet)
                .into_iter()
                .enumerate()
                .map(|(i, r)| ListedRule {
                    handle: i as u64,
                    rule: Ok(r),
                })
                .collect(),
        );
        inet.elements = rules
            .masquerade
            .iter()
            .map(|n| Element {
                map: MASQ4,
                key: ElementKey::Addr(n.addr()),
                target: chain.clone(),
            })
            .collect();
        vec![inet, Listing::empty(Family::Bridge)]
    }

    #[test]
    fn installed_rules_pass() {
        let key = AttachmentKey::new("n", "c", "eth0");
        let rules = AttachmentRules {
            masquerade: vec!["10.1.0.2/24".parse().unwrap()],
            macspoof: None,
        };
        compare(&key, &rules, &installed(&key, &rules)).unwrap();
    }

    #[test]
    fn a_different_address_is_named() {
        let key = AttachmentKey::new("n", "c", "eth0");
        let have = AttachmentRules {
            masquerade: vec!["10.1.0.2/24".parse().unwrap()],
            macspoof: None,
        };
        let want = AttachmentRules {
            masquerade: vec!["10.1.0.3/24".parse().unwrap()],
            macspoof: None,
        };
        let err = compare(&key, &want, &installed(&key, &have)).unwrap_err();
        let NftError::Mismatch { key: k, problem } = err else {
            panic!("not a mismatch");
        };
        assert_eq!(k, "n/c/eth0");
        assert!(
            problem.contains("rule missing in inet: ip saddr 10.1.0.3"),
            "{problem}"
        );
        assert!(
            problem.contains("unexpected rule in inet: ip saddr 10.1.0.2"),
            "{problem}"
        );
        assert!(
            problem.contains("unexpected masq4 element 10.1.0.2"),
            "{problem}"
        );
        assert!(
            problem.contains("map element 10.1.0.3 missing"),
            "{problem}"
        );
    }

    #[test]
    fn missing_base_objects_are_named() {
        let key = AttachmentKey::new("n", "c", "eth0");
        let rules = AttachmentRules {
            masquerade: vec!["10.1.0.2/24".parse().unwrap()],
            macspoof: None,
        };
        let mut tables = installed(&key, &rules);
        tables[0].chains.remove("postrouting");
        let err = compare(&key, &rules, &tables).unwrap_err().to_string();
        assert!(err.contains("base chain or maps of table inet"), "{err}");
    }

    #[test]
    fn nothing_installed_is_named() {
        let key = AttachmentKey::new("n", "c", "eth0");
        let want = AttachmentRules {
            masquerade: vec!["10.1.0.3/24".parse().unwrap()],
            macspoof: None,
        };
        let tables = [Listing::empty(Family::Inet), Listing::empty(Family::Bridge)];
        let err = compare(&key, &want, &tables).unwrap_err().to_string();
        assert!(err.contains("missing from table inet skiff-cni"), "{err}");
    }
}
