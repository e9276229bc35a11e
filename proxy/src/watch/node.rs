//! The node the proxy runs on: its name and addresses, from its Node object or from flags.

use std::net::IpAddr;

use k8s_openapi::api::core::v1::Node;
use kube::{Api, Client};

use crate::model::NodeContext;

/// The Node object could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read Node {node}")]
pub struct NodeLookupError {
    /// The node's name.
    pub node: String,
    /// The API error.
    #[source]
    pub source: kube::Error,
}

/// The node's InternalIP and ExternalIP addresses, in the Node's order; pure.
pub fn node_ips(node: &Node) -> Vec<IpAddr> {
    let mut ips = Vec::new();
    for address in node
        .status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .into_iter()
        .flatten()
    {
        if address.type_ != "InternalIP" && address.type_ != "ExternalIP" {
            continue;
        }
        if let Ok(ip) = address.address.parse::<IpAddr>() {
            if !ips.contains(&ip) {
                ips.push(ip);
            }
        }
    }
    ips
}

/// The node context: with a name, the Node's addresses (or `host_ips` when the Node lists none
/// or does not exist yet); without one, `host_ips` alone.
pub async fn node_context(
    client: Client,
    name: Option<&str>,
    host_ips: &[IpAddr],
) -> Result<NodeContext, NodeLookupError> {
    let Some(name) = name else {
        return Ok(NodeContext {
            name: String::new(),
            node_ips: host_ips.to_vec(),
        });
    };
    let node = match Api::<Node>::all(client).get(name).await {
        Ok(node) => Some(node),
        // The kubelet may not have registered the Node yet; endpoints still match by name.
        Err(kube::Error::Api(status)) if status.code == 404 => {
            tracing::warn!(
                node = name,
                "Node not found; using the addresses from --node-ip"
            );
            None
        }
        Err(source) => {
            return Err(NodeLookupError {
                node: name.to_string(),
                source,
            })
        }
    };
    let mut node_ips = node.as_ref().map(node_ips).unwrap_or_default();
    if node_ips.is_empty() {
        node_ips = host_ips.to_vec();
    }
    Ok(NodeContext {
        name: name.to_string(),
        node_ips,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ips_are_internal_and_external_addresses_only() {
        let node: Node = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "n1"},
            "status": {"addresses": [
                {"type": "Hostname", "address": "n1"},
                {"type": "InternalIP", "address": "192.168.1.10"},
                {"type": "ExternalIP", "address": "203.0.113.5"},
                {"type": "InternalIP", "address": "fd00::10"},
                {"type": "InternalDNS", "address": "n1.internal"},
            ]}
        }))
        .unwrap();
        let got: Vec<String> = node_ips(&node).iter().map(|i| i.to_string()).collect();
        assert_eq!(got, ["192.168.1.10", "203.0.113.5", "fd00::10"]);
    }
}
