//! Reading the table back from libnftables' JSON listings into an [`Inventory`]: chain and set
//! names (a name fixes the content), the shared `dnat-*` chains, the elements of the maps and
//! the addresses of the `hairpin` set.

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde_json::Value;

use super::base::is_fixed_chain;
use super::desired::{DnatClass, MapName};
use super::naming::TABLE;
use super::plan::Inventory;

/// A JSON listing this module does not understand.
#[derive(Debug, thiserror::Error)]
#[error("unexpected nftables listing: {0}")]
pub struct ListingError(pub String);

fn objects(json: &str) -> Result<Vec<Value>, ListingError> {
    let v: Value = serde_json::from_str(json).map_err(|e| ListingError(e.to_string()))?;
    match v.get("nftables") {
        Some(Value::Array(items)) => Ok(items.clone()),
        _ => Err(ListingError("no \"nftables\" array".into())),
    }
}

fn owned_chain(name: &str) -> bool {
    // `service-endpoints-check` is a fixed chain, not a port's.
    !is_fixed_chain(name)
        && ["service-", "external-", "endpoint-"]
            .iter()
            .any(|p| name.starts_with(p))
}

/// Adds the service, external and endpoint chains of Skiff's table from `list chains <family>`
/// to `into`, and its shared `dnat-*` chains to `classes`.
pub fn read_chains(
    json: &str,
    into: &mut Inventory,
    classes: &mut BTreeSet<DnatClass>,
) -> Result<(), ListingError> {
    for item in objects(json)? {
        let Some(chain) = item.get("chain") else {
            continue;
        };
        if chain.get("table").and_then(Value::as_str) != Some(TABLE) {
            continue;
        }
        let name = chain
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| ListingError(format!("chain without a name: {chain}")))?;
        if owned_chain(name) {
            into.chains.insert(name.to_string());
        } else if let Some(class) = DnatClass::parse(name) {
            classes.insert(class);
        }
    }
    Ok(())
}

/// Adds the affinity sets from `list sets table <family> skiff-proxy`.
pub fn read_sets(json: &str, into: &mut Inventory) -> Result<(), ListingError> {
    for item in objects(json)? {
        let Some(name) = item
            .get("set")
            .and_then(|s| s.get("name"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        if name.starts_with("affinity-") {
            into.sets.insert(name.to_string());
        }
    }
    Ok(())
}

fn key_part(v: &Value) -> Result<String, ListingError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(ListingError(format!("unexpected key part {other}"))),
    }
}

fn key(v: &Value) -> Result<String, ListingError> {
    match v.get("concat") {
        Some(Value::Array(parts)) => Ok(parts
            .iter()
            .map(key_part)
            .collect::<Result<Vec<_>, _>>()?
            .join(" . ")),
        _ => key_part(v),
    }
}

fn verdict(v: &Value) -> Result<String, ListingError> {
    let Value::Object(o) = v else {
        return Err(ListingError(format!("unexpected verdict {v}")));
    };
    let (kind, arg) = o
        .iter()
        .next()
        .ok_or_else(|| ListingError("empty verdict".into()))?;
    match arg.get("target").and_then(Value::as_str) {
        Some(target) => Ok(format!("{kind} {target}")),
        None => Ok(kind.clone()),
    }
}

/// Adds the elements of `map` from `list map <family> skiff-proxy <map>`.
pub fn read_map(json: &str, map: MapName, into: &mut Inventory) -> Result<(), ListingError> {
    for item in objects(json)? {
        let Some(elems) = item.get("map").and_then(|m| m.get("elem")) else {
            continue;
        };
        let Value::Array(elems) = elems else {
            return Err(ListingError(format!(
                "elements of {} not a list",
                map.name()
            )));
        };
        for elem in elems {
            match elem.as_array().map(Vec::as_slice) {
                Some([k, v]) => {
                    let value = if map.holds_verdicts() {
                        verdict(v)?
                    } else {
                        key(v)?
                    };
                    into.elements.insert((map, key(k)?), value);
                }
                _ => return Err(ListingError(format!("unexpected element {elem}"))),
            }
        }
    }
    Ok(())
}

/// Adds the addresses of `list set <family> skiff-proxy hairpin` (elements `ip . ip`).
pub fn read_hairpin(json: &str, into: &mut BTreeSet<IpAddr>) -> Result<(), ListingError> {
    for item in objects(json)? {
        let Some(elems) = item.get("set").and_then(|m| m.get("elem")) else {
            continue;
        };
        let Value::Array(elems) = elems else {
            return Err(ListingError("elements of hairpin not a list".into()));
        };
        for elem in elems {
            let k = key(elem)?;
            let first = k.split(" . ").next().unwrap_or_default();
            let ip = first
                .parse()
                .map_err(|_| ListingError(format!("unexpected hairpin element {elem}")))?;
            into.insert(ip);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_elements_read_back_as_the_script_writes_them() {
        let json = r#"{"nftables": [{"metainfo": {}}, {"map": {"family": "ip", "name": "service-ips",
          "table": "skiff-proxy", "elem": [[{"concat": ["10.43.0.1", "tcp", 80]},
          {"goto": {"target": "service-ABC-ns/a/tcp/"}}]]}}]}"#;
        let mut inv = Inventory::default();
        read_map(json, MapName::ServiceIps, &mut inv).unwrap();
        assert_eq!(
            inv.elements[&(MapName::ServiceIps, "10.43.0.1 . tcp . 80".to_string())],
            "goto service-ABC-ns/a/tcp/"
        );
        let json = r#"{"nftables": [{"map": {"name": "no-endpoint-nodeports",
          "elem": [[{"concat": ["udp", 30053]}, {"drop": null}]]}}]}"#;
        read_map(json, MapName::NoEndpointNodeports, &mut inv).unwrap();
        assert_eq!(
            inv.elements[&(MapName::NoEndpointNodeports, "udp . 30053".to_string())],
            "drop"
        );
    }

    #[test]
    fn only_skiff_service_chains_of_skiff_table_are_read_not_its_fixed_chains() {
        let json = r#"{"nftables": [{"chain": {"table": "skiff-proxy", "name": "services"}},
          {"chain": {"table": "skiff-proxy", "name": "service-endpoints-check"}},
          {"chain": {"table": "skiff-proxy", "name": "endpoint-X-a"}},
          {"chain": {"table": "kube-proxy", "name": "endpoint-Y-b"}}]}"#;
        let mut inv = Inventory::default();
        let mut classes = BTreeSet::new();
        read_chains(json, &mut inv, &mut classes).unwrap();
        assert_eq!(inv.chains.iter().collect::<Vec<_>>(), ["endpoint-X-a"]);
        assert!(classes.is_empty());
    }

    #[test]
    fn endpoint_maps_shared_chains_and_hairpin_read_back() {
        let json = r#"{"nftables": [{"map": {"name": "endpoints", "elem": [[{"concat":
          ["10.43.0.1", "tcp", 80, 0]}, {"concat": ["10.100.0.1", 8080]}]]}}]}"#;
        let mut inv = Inventory::default();
        read_map(json, MapName::Endpoints, &mut inv).unwrap();
        assert_eq!(
            inv.elements[&(MapName::Endpoints, "10.43.0.1 . tcp . 80 . 0".to_string())],
            "10.100.0.1 . 8080"
        );
        let json = r#"{"nftables": [{"chain": {"table": "skiff-proxy", "name": "dnat-cluster-outside-3"}},
          {"chain": {"table": "skiff-proxy", "name": "dnat-cluster-03"}}]}"#;
        let mut classes = BTreeSet::new();
        read_chains(json, &mut inv, &mut classes).unwrap();
        assert_eq!(
            classes.iter().map(|c| c.chain()).collect::<Vec<_>>(),
            ["dnat-cluster-outside-3"]
        );
        let json = r#"{"nftables": [{"set": {"name": "hairpin", "elem": [{"concat":
          ["10.100.0.1", "10.100.0.1"]}]}}]}"#;
        let mut hairpin = BTreeSet::new();
        read_hairpin(json, &mut hairpin).unwrap();
        assert_eq!(hairpin.len(), 1);
    }
}
