//! The CNI result (what ADD prints) and its encoding for each supported version.

use crate::error::{from_json_error, CniError};
use crate::version::Version;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// The result of ADD: interfaces, addresses, routes and DNS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CniResult {
    /// Interfaces created or used, host side and container side.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<Interface>,
    /// Addresses assigned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<IpConfig>,
    /// Routes installed in the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
    /// DNS settings for the container (always printed, `{}` when empty, as the reference does).
    #[serde(default)]
    pub dns: Dns,
}

/// An interface in a result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Interface {
    /// Interface name.
    pub name: String,
    /// Hardware address, lower-case colon-separated.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mac: String,
    /// MTU (1.1.0 and later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// The netns path for container interfaces; absent for host interfaces.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sandbox: String,
    /// vhost-user socket path (1.1.0 and later).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub socket_path: String,
    /// PCI id (1.1.0 and later).
    #[serde(default, rename = "pciID", skip_serializing_if = "String::is_empty")]
    pub pci_id: String,
}

/// An address in a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpConfig {
    /// Address with prefix length (`10.22.0.5/16`).
    pub address: IpNet,
    /// Gateway for this address's subnet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    /// Index into `interfaces`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<usize>,
}

/// A route in a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    /// Destination.
    pub dst: IpNet,
    /// Next hop; the interface's gateway when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gw: Option<IpAddr>,
    /// Route MTU (1.1.0 and later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// Advertised MSS (1.1.0 and later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advmss: Option<u32>,
    /// Route priority/metric (1.1.0 and later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    /// Routing table (1.1.0 and later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
    /// Route scope (1.1.0 and later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<u8>,
}

impl Route {
    /// A route with only a destination and optional gateway.
    pub fn new(dst: IpNet, gw: Option<IpAddr>) -> Self {
        Self {
            dst,
            gw,
            mtu: None,
            advmss: None,
            priority: None,
            table: None,
            scope: None,
        }
    }
}

/// DNS settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dns {
    /// Name servers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<String>,
    /// Local domain.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
    /// Search domains.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub search: Vec<String>,
    /// resolv.conf options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

impl Dns {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.nameservers.is_empty()
            && self.domain.is_empty()
            && self.search.is_empty()
            && self.options.is_empty()
    }
}

impl CniResult {
    /// Encodes the result for `version`: 1.0.0 has no interface `mtu`/`socketPath`/`pciID` and
    /// no route `mtu`/`advmss`/`priority`/`table`/`scope`.
    pub fn to_json(&self, version: Version) -> serde_json::Value {
        let mut r = self.clone();
        if version < Version::V1_1_0 {
            for i in &mut r.interfaces {
                i.mtu = None;
                i.socket_path.clear();
                i.pci_id.clear();
            }
            for route in &mut r.routes {
                *route = Route::new(route.dst, route.gw);
            }
        }
        let mut v = serde_json::to_value(&r).expect("results always serialize");
        v.as_object_mut()
            .expect("result is an object")
            .insert("cniVersion".into(), version.as_str().into());
        // Keep `cniVersion` first for people reading results.
        let obj = v.as_object().expect("object").clone();
        let mut ordered = serde_json::Map::new();
        ordered.insert("cniVersion".into(), obj["cniVersion"].clone());
        for (k, val) in obj {
            if k != "cniVersion" {
                ordered.insert(k, val);
            }
        }
        serde_json::Value::Object(ordered)
    }

    /// Decodes a result (ADD output, `prevResult` or a cached result) of any supported version.
    /// Unknown fields are tolerated: results come from other plugins.
    pub fn from_json(v: &serde_json::Value) -> Result<Self, CniError> {
        serde_json::from_value(v.clone()).map_err(|e| from_json_error("result", &e))
    }

    /// The index of the interface named `name` inside `sandbox` (or any sandbox when empty).
    pub fn interface_index(&self, name: &str) -> Option<usize> {
        self.interfaces
            .iter()
            .position(|i| i.name == name && !i.sandbox.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CniResult {
        CniResult {
            interfaces: vec![
                Interface {
                    name: "cni0".into(),
                    mac: "0a:58:0a:16:00:01".into(),
                    mtu: Some(1500),
                    ..Default::default()
                },
                Interface {
                    name: "eth0".into(),
                    mac: "0a:58:0a:16:00:05".into(),
                    mtu: Some(1500),
                    sandbox: "/run/netns/p".into(),
                    ..Default::default()
                },
            ],
            ips: vec![IpConfig {
                address: "10.22.0.5/16".parse().unwrap(),
                gateway: Some("10.22.0.1".parse().unwrap()),
                interface: Some(1),
            }],
            routes: vec![Route {
                mtu: Some(1400),
                ..Route::new(
                    "0.0.0.0/0".parse().unwrap(),
                    Some("10.22.0.1".parse().unwrap()),
                )
            }],
            dns: Dns::default(),
        }
    }

    #[test]
    fn encodes_1_1_0_with_mtu_fields() {
        let v = sample().to_json(Version::V1_1_0);
        assert_eq!(
            v,
            serde_json::json!({
                "cniVersion": "1.1.0",
                "interfaces": [
                    {"name": "cni0", "mac": "0a:58:0a:16:00:01", "mtu": 1500},
                    {"name": "eth0", "mac": "0a:58:0a:16:00:05", "mtu": 1500, "sandbox": "/run/netns/p"}
                ],
                "ips": [{"address": "10.22.0.5/16", "gateway": "10.22.0.1", "interface": 1}],
                "routes": [{"dst": "0.0.0.0/0", "gw": "10.22.0.1", "mtu": 1400}],
                "dns": {}
            })
        );
    }

    #[test]
    fn encodes_1_0_0_without_newer_fields() {
        let v = sample().to_json(Version::V1_0_0);
        assert_eq!(
            v,
            serde_json::json!({
                "cniVersion": "1.0.0",
                "interfaces": [
                    {"name": "cni0", "mac": "0a:58:0a:16:00:01"},
                    {"name": "eth0", "mac": "0a:58:0a:16:00:05", "sandbox": "/run/netns/p"}
                ],
                "ips": [{"address": "10.22.0.5/16", "gateway": "10.22.0.1", "interface": 1}],
                "routes": [{"dst": "0.0.0.0/0", "gw": "10.22.0.1"}],
                "dns": {}
            })
        );
    }

    #[test]
    fn decodes_foreign_results_with_extra_fields() {
        let v = serde_json::json!({
            "cniVersion": "1.0.0",
            "ips": [{"address": "10.1.0.2/24", "gateway": "10.1.0.1", "interface": 0}],
            "someOtherPluginField": true
        });
        let r = CniResult::from_json(&v).unwrap();
        assert_eq!(r.ips[0].address.to_string(), "10.1.0.2/24");
    }
}
