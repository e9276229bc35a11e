//! Reading the table back from libnftables' JSON listings into an [`Inventory`]: chain and set
//! names (a name fixes the content) and the elements of the four maps.

use serde_json::Value;

use super::desired::MapName;
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
    ["service-", "external-", "endpoint-"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// Adds the service, external and endpoint chains of Skiff's table from `list chains <family>`.
pub fn read_chains(json: &str, into: &mut Inventory) -> Result<(), ListingError> {
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
                    into.elements.insert((map, key(k)?), verdict(v)?);
                }
                _ => return Err(ListingError(format!("unexpected element {elem}"))),
            }
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
    fn only_skiff_service_chains_of_skiff_table_are_read() {
        let json = r#"{"nftables": [{"chain": {"table": "skiff-proxy", "name": "services"}},
          {"chain": {"table": "skiff-proxy", "name": "endpoint-X-a"}},
          {"chain": {"table": "kube-proxy", "name": "endpoint-Y-b"}}]}"#;
        let mut inv = Inventory::default();
        read_chains(json, &mut inv).unwrap();
        assert_eq!(inv.chains.iter().collect::<Vec<_>>(), ["endpoint-X-a"]);
    }
}
