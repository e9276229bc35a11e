//! What libnftables' JSON listing (`list table` / `list chain`) says is installed: chains with
//! their rules and handles, and the elements of the verdict maps with the chain each jumps to.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::Value;

use super::naming::{Family, MACSPOOF, MASQ4, MASQ6};
use super::rule::Rule;
use super::NftError;

/// One table's (or one chain's) contents as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The table's family.
    pub family: Family,
    /// Rules of each listed chain, in order.
    pub chains: BTreeMap<String, Vec<ListedRule>>,
    /// Elements of the verdict maps that jump to a chain.
    pub elements: Vec<Element>,
    /// Names of the maps listed.
    pub maps: Vec<String>,
}

/// A listed rule: its handle and the rule, or its JSON when it is not one this module writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedRule {
    /// The kernel's handle (for `delete rule ... handle N`).
    pub handle: u64,
    /// The rule, or the compact JSON of an unrecognised one.
    pub rule: Result<Rule, String>,
}

/// A verdict-map element `key : jump target`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Element {
    /// `masq4`, `masq6` or `macspoof`.
    pub map: &'static str,
    /// The element's key.
    pub key: ElementKey,
    /// The chain it jumps to.
    pub target: String,
}

/// Key of a verdict-map element.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ElementKey {
    /// Source address (`masq4` / `masq6`).
    Addr(IpAddr),
    /// Host interface name (`macspoof`).
    Ifname(String),
}

impl Listing {
    /// An empty listing (the table does not exist).
    pub fn empty(family: Family) -> Self {
        Self {
            family,
            chains: BTreeMap::new(),
            elements: Vec::new(),
            maps: Vec::new(),
        }
    }
}

/// Parses the JSON printed by `list table` or `list chain` for a table of `family`.
pub fn parse_listing(family: Family, json: &str) -> Result<Listing, NftError> {
    let doc: Value = serde_json::from_str(json).map_err(|e| NftError::Listing(e.to_string()))?;
    let items = doc
        .get("nftables")
        .and_then(Value::as_array)
        .ok_or_else(|| NftError::Listing("no \"nftables\" array".into()))?;
    let mut listing = Listing::empty(family);
    for item in items {
        if let Some(chain) = item.get("chain") {
            let name = str_field(chain, "name")?;
            listing.chains.entry(name.to_string()).or_default();
        } else if let Some(rule) = item.get("rule") {
            let chain = str_field(rule, "chain")?;
            let handle = rule
                .get("handle")
                .and_then(Value::as_u64)
                .ok_or_else(|| NftError::Listing("rule without handle".into()))?;
            let expr = rule.get("expr").unwrap_or(&Value::Null);
            let parsed = Rule::from_json(expr).ok_or_else(|| expr.to_string());
            listing
                .chains
                .entry(chain.to_string())
                .or_default()
                .push(ListedRule {
                    handle,
                    rule: parsed,
                });
        } else if let Some(map) = item.get("map") {
            listing.maps.push(str_field(map, "name")?.to_string());
            parse_map(map, &mut listing.elements)?;
        }
    }
    Ok(listing)
}

fn parse_map(map: &Value, out: &mut Vec<Element>) -> Result<(), NftError> {
    let map_name = match str_field(map, "name")? {
        MASQ4 => MASQ4,
        MASQ6 => MASQ6,
        MACSPOOF => MACSPOOF,
        _ => return Ok(()),
    };
    let Some(elems) = map.get("elem").and_then(Value::as_array) else {
        return Ok(());
    };
    for elem in elems {
        let (Some(key), Some(target)) = (
            elem.get(0).and_then(element_key_text),
            elem.get(1)
                .and_then(|v| v.get("jump"))
                .and_then(|j| j.get("target"))
                .and_then(Value::as_str),
        ) else {
            continue;
        };
        let key = if map_name == MACSPOOF {
            ElementKey::Ifname(key.to_string())
        } else {
            ElementKey::Addr(
                key.parse()
                    .map_err(|_| NftError::Listing(format!("{map_name} key {key:?}")))?,
            )
        };
        out.push(Element {
            map: map_name,
            key,
            target: target.to_string(),
        });
    }
    Ok(())
}

fn element_key_text(v: &Value) -> Option<&str> {
    v.as_str().or_else(|| v.get("elem")?.get("val")?.as_str())
}

fn str_field<'a>(obj: &'a Value, field: &str) -> Result<&'a str, NftError> {
    obj.get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| NftError::Listing(format!("object without \"{field}\": {obj}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_listing_yields_chains_rules_and_map_elements() {
        let json = include_str!("testdata/inet-table.json");
        let l = parse_listing(Family::Inet, json).unwrap();
        let chain = "att-0a1b2c3d-0123456789abcdef";
        assert_eq!(
            l.chains.keys().collect::<Vec<_>>(),
            [chain, "postrouting"],
            "both chains listed"
        );
        let rules = &l.chains[chain];
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[1].handle, 8);
        assert_eq!(
            rules[1].rule.as_ref().unwrap().to_string(),
            "ip saddr 10.88.0.5 ip daddr != 224.0.0.0/4 masquerade"
        );
        assert!(
            l.chains["postrouting"][0].rule.is_err(),
            "vmap rule is not an attachment rule"
        );
        assert_eq!(
            l.elements,
            [Element {
                map: MASQ4,
                key: ElementKey::Addr("10.88.0.5".parse().unwrap()),
                target: chain.into()
            }]
        );
    }

    #[test]
    fn garbage_is_a_listing_error() {
        assert!(matches!(
            parse_listing(Family::Inet, "{\"x\": 1}"),
            Err(NftError::Listing(_))
        ));
    }
}
