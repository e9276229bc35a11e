//! The bridge plugin's network configuration: parsed strictly, then validated into [`Config`].

use crate::error::{from_json_error, CniError, Code};
use crate::types::Dns;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The bridge name used when the configuration names none.
pub const DEFAULT_BRIDGE: &str = "cni0";

/// The configuration as written: spec fields plus the reference bridge plugin's options.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(rename = "cniVersion")]
    _cni_version: Option<String>,
    #[serde(rename = "cniVersions")]
    _cni_versions: Option<Vec<String>>,
    name: Option<String>,
    #[serde(rename = "type")]
    plugin_type: Option<String>,
    ipam: Option<Map<String, Value>>,
    dns: Option<Dns>,
    #[serde(rename = "capabilities")]
    _capabilities: Option<Map<String, Value>>,
    #[serde(rename = "runtimeConfig")]
    _runtime_config: Option<Map<String, Value>>,
    #[serde(rename = "args")]
    _args: Option<Map<String, Value>>,
    #[serde(rename = "prevResult")]
    prev_result: Option<Value>,
    #[serde(rename = "cni.dev/valid-attachments")]
    _valid_attachments: Option<Value>,
    #[serde(rename = "cni.dev/attachments")]
    _attachments: Option<Value>,
    bridge: Option<String>,
    #[serde(rename = "isGateway")]
    is_gateway: Option<bool>,
    #[serde(rename = "isDefaultGateway")]
    is_default_gateway: Option<bool>,
    #[serde(rename = "forceAddress")]
    force_address: Option<bool>,
    #[serde(rename = "ipMasq")]
    ip_masq: Option<bool>,
    mtu: Option<u32>,
    #[serde(rename = "hairpinMode")]
    hairpin_mode: Option<bool>,
    #[serde(rename = "promiscMode")]
    promisc_mode: Option<bool>,
    vlan: Option<i64>,
    #[serde(rename = "preserveDefaultVlan")]
    preserve_default_vlan: Option<bool>,
    macspoofchk: Option<bool>,
    enabledad: Option<bool>,
    #[serde(rename = "disableContainerInterface")]
    disable_container_interface: Option<bool>,
}

/// The validated configuration of one bridge network.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The network's `name`.
    pub name: String,
    /// The IPAM plugin's `type`, when the network is layer 3 (`ipam.type` set).
    pub ipam_type: Option<String>,
    /// DNS settings from the configuration (merged over IPAM's).
    pub dns: Dns,
    /// `prevResult`, as given (CHECK).
    pub prev_result: Option<Value>,
    /// Bridge name (`bridge`).
    pub bridge: String,
    /// Give the bridge the gateway addresses (`isGateway`, implied by `isDefaultGateway`).
    pub is_gateway: bool,
    /// Add a default route via the gateway in the container (`isDefaultGateway`).
    pub is_default_gateway: bool,
    /// Replace a different address of the same family on the bridge (`forceAddress`).
    pub force_address: bool,
    /// Masquerade traffic leaving the container's subnet (`ipMasq`).
    pub ip_masq: bool,
    /// MTU of the bridge and the veth pair (`mtu`; 0 or absent means the kernel's default).
    pub mtu: Option<u32>,
    /// Hairpin mode on the bridge port (`hairpinMode`).
    pub hairpin_mode: bool,
    /// Promiscuous mode on the bridge (`promiscMode`).
    pub promisc_mode: bool,
    /// Untagged VLAN of the bridge port (`vlan`; 0 or absent means none).
    pub vlan: Option<u16>,
    /// Keep VLAN 1 on the port as well (`preserveDefaultVlan`, default true).
    pub preserve_default_vlan: bool,
    /// Drop frames from the container with another source MAC (`macspoofchk`).
    pub macspoofchk: bool,
    /// Keep IPv6 duplicate address detection in the container (`enabledad`, default false).
    pub enabledad: bool,
    /// Leave the container interface down (`disableContainerInterface`).
    pub disable_container_interface: bool,
}

fn invalid(field: &str, problem: impl std::fmt::Display) -> CniError {
    CniError::new(
        Code::InvalidConfig,
        format!("invalid network configuration: {field}: {problem}"),
    )
}

/// Whether `s` is acceptable as a Linux interface name.
fn ifname_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        Some("is empty")
    } else if s.len() > 15 {
        Some("is longer than 15 bytes")
    } else if s == "." || s == ".." {
        Some("may not be '.' or '..'")
    } else if s.chars().any(|c| c == '/' || c == ':' || c.is_whitespace()) {
        Some("may not contain '/', ':' or whitespace")
    } else {
        None
    }
}

impl Config {
    /// Parses and validates a configuration from stdin. Unknown fields are code 2, malformed
    /// JSON 6, wrong types and invalid values 7; every message names the field.
    pub fn parse(stdin: &[u8]) -> Result<Self, CniError> {
        let raw: RawConfig = match serde_json::from_slice(stdin) {
            Ok(raw) => raw,
            Err(e) => return Err(name_the_field(stdin, &e)),
        };
        Self::validate(raw)
    }

    fn validate(raw: RawConfig) -> Result<Self, CniError> {
        let name = raw.name.unwrap_or_default();
        if !crate::invocation::is_identifier(&name) {
            return Err(invalid(
                "name",
                format!("{name:?} must start with an alphanumeric and hold only alphanumerics, '_', '.' and '-'"),
            ));
        }
        if raw.plugin_type.as_deref().unwrap_or_default().is_empty() {
            return Err(invalid("type", "is required"));
        }
        let ipam_type = match &raw.ipam {
            None => None,
            Some(ipam) => match ipam.get("type") {
                None if ipam.is_empty() => None,
                None => return Err(invalid("ipam.type", "is required when ipam has settings")),
                Some(Value::String(t)) if t.is_empty() && ipam.len() == 1 => None,
                Some(Value::String(t)) if !t.is_empty() => Some(t.clone()),
                Some(other) => {
                    return Err(invalid(
                        "ipam.type",
                        format!("{other} is not a plugin name"),
                    ))
                }
            },
        };
        let disable_container_interface = raw.disable_container_interface.unwrap_or(false);
        if disable_container_interface && ipam_type.is_some() {
            return Err(invalid(
                "disableContainerInterface",
                "cannot use IPAM when disableContainerInterface is set",
            ));
        }
        let bridge = raw.bridge.unwrap_or_else(|| DEFAULT_BRIDGE.to_string());
        if let Some(problem) = ifname_problem(&bridge) {
            return Err(invalid(
                "bridge",
                format!("interface name {bridge:?} {problem}"),
            ));
        }
        let mtu = match raw.mtu {
            None | Some(0) => None,
            Some(m) if (68..=65535).contains(&m) => Some(m),
            Some(m) => return Err(invalid("mtu", format!("{m} is outside 68..65535"))),
        };
        let vlan = match raw.vlan {
            None | Some(0) => None,
            Some(v) if (1..=4094).contains(&v) => Some(v as u16),
            Some(v) => return Err(invalid("vlan", format!("VLAN id {v} is outside 1..4094"))),
        };
        let is_default_gateway = raw.is_default_gateway.unwrap_or(false);
        Ok(Self {
            name,
            ipam_type,
            dns: raw.dns.unwrap_or_default(),
            prev_result: raw.prev_result,
            bridge,
            is_gateway: raw.is_gateway.unwrap_or(false) || is_default_gateway,
            is_default_gateway,
            force_address: raw.force_address.unwrap_or(false),
            ip_masq: raw.ip_masq.unwrap_or(false),
            mtu,
            hairpin_mode: raw.hairpin_mode.unwrap_or(false),
            promisc_mode: raw.promisc_mode.unwrap_or(false),
            vlan,
            preserve_default_vlan: raw.preserve_default_vlan.unwrap_or(true),
            macspoofchk: raw.macspoofchk.unwrap_or(false),
            enabledad: raw.enabledad.unwrap_or(false),
            disable_container_interface,
        })
    }
}

/// serde_json's type errors do not say which field; find it by decoding each field alone.
fn name_the_field(stdin: &[u8], err: &serde_json::Error) -> CniError {
    let mut e = from_json_error("network configuration", err);
    if !e.is(Code::InvalidConfig) {
        return e;
    }
    if let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(stdin) {
        for (key, value) in fields {
            let alone = Value::Object(Map::from_iter([(key.clone(), value)]));
            if let Err(field_err) = serde_json::from_value::<RawConfig>(alone) {
                e.msg = format!("invalid network configuration: {key}: {field_err}");
                break;
            }
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Config, CniError> {
        Config::parse(json.as_bytes())
    }

    fn with(extra: &str) -> Result<Config, CniError> {
        let sep = if extra.is_empty() { "" } else { "," };
        parse(&format!(
            r#"{{"cniVersion":"1.0.0","name":"net1","type":"skiff-bridge"{sep}{extra}}}"#
        ))
    }

    fn err(extra: &str) -> CniError {
        with(extra).unwrap_err()
    }

    #[test]
    fn defaults_follow_the_reference_plugin() {
        let c = with("").unwrap();
        assert_eq!(c.bridge, "cni0");
        assert!(!c.is_gateway && !c.is_default_gateway && !c.force_address && !c.ip_masq);
        assert!(!c.hairpin_mode && !c.promisc_mode && !c.macspoofchk && !c.enabledad);
        assert!(c.preserve_default_vlan);
        assert_eq!((c.mtu, c.vlan, c.ipam_type.as_deref()), (None, None, None));
    }

    #[test]
    fn every_option_is_read() {
        let c = with(
            r#""bridge":"br9","isGateway":true,"forceAddress":true,"ipMasq":true,"mtu":1400,
            "hairpinMode":true,"promiscMode":true,"vlan":42,"preserveDefaultVlan":false,
            "macspoofchk":true,"enabledad":true,"ipam":{"type":"host-local","subnet":"10.1.0.0/24"},
            "dns":{"nameservers":["10.1.0.10"]},"capabilities":{"mac":true},
            "runtimeConfig":{"mac":"02:00:00:00:00:01"},"args":{"cni":{}},
            "cniVersions":["1.0.0","1.1.0"],"prevResult":{"cniVersion":"1.0.0"},
            "cni.dev/valid-attachments":[],"cni.dev/attachments":[]"#,
        )
        .unwrap();
        assert_eq!(c.bridge, "br9");
        assert!(c.is_gateway && !c.is_default_gateway && c.force_address && c.ip_masq);
        assert_eq!(c.mtu, Some(1400));
        assert!(c.hairpin_mode && c.promisc_mode && c.macspoofchk && c.enabledad);
        assert_eq!(c.vlan, Some(42));
        assert!(!c.preserve_default_vlan);
        assert_eq!(c.ipam_type.as_deref(), Some("host-local"));
        assert_eq!(c.dns.nameservers, vec!["10.1.0.10"]);
        assert!(c.prev_result.is_some());
    }

    #[test]
    fn is_default_gateway_implies_is_gateway() {
        let c = with(r#""isDefaultGateway":true"#).unwrap();
        assert!(c.is_gateway && c.is_default_gateway);
    }

    #[test]
    fn unknown_field_is_code_2_naming_it() {
        let e = err(r#""bridgee":"x""#);
        assert!(e.is(Code::UnsupportedField), "{e:?}");
        assert!(e.msg.contains("bridgee"), "{e:?}");
    }

    #[test]
    fn malformed_json_is_code_6() {
        assert!(parse(r#"{"name":"#).unwrap_err().is(Code::Decode));
    }

    #[test]
    fn wrong_type_is_code_7_naming_the_field() {
        for (extra, field) in [
            (r#""mtu":"big""#, "mtu"),
            (r#""mtu":-1"#, "mtu"),
            (r#""ipMasq":"yes""#, "ipMasq"),
            (r#""ipam":[]"#, "ipam"),
            (r#""vlan":1.5"#, "vlan"),
        ] {
            let e = err(extra);
            assert!(e.is(Code::InvalidConfig), "{extra}: {e:?}");
            assert!(e.msg.contains(field), "{extra}: {e:?}");
        }
    }

    #[test]
    fn invalid_values_are_code_7_naming_the_field() {
        for (extra, field) in [
            (r#""vlan":4095"#, "vlan"),
            (r#""vlan":-3"#, "vlan"),
            (r#""mtu":20"#, "mtu"),
            (r#""bridge":"a-bridge-name-too-long""#, "bridge"),
            (r#""bridge":"""#, "bridge"),
            (r#""ipam":{"subnet":"10.0.0.0/24"}"#, "ipam.type"),
            (r#""ipam":{"type":7}"#, "ipam.type"),
        ] {
            let e = err(extra);
            assert!(e.is(Code::InvalidConfig), "{extra}: {e:?}");
            assert!(e.msg.contains(field), "{extra}: {e:?}");
        }
    }

    #[test]
    fn name_and_type_are_required() {
        let e = parse(r#"{"cniVersion":"1.0.0","type":"skiff-bridge"}"#).unwrap_err();
        assert!(e.is(Code::InvalidConfig) && e.msg.contains("name"), "{e:?}");
        let e = parse(r#"{"cniVersion":"1.0.0","name":"bad name","type":"t"}"#).unwrap_err();
        assert!(e.msg.contains("name"), "{e:?}");
        let e = parse(r#"{"cniVersion":"1.0.0","name":"n"}"#).unwrap_err();
        assert!(e.is(Code::InvalidConfig) && e.msg.contains("type"), "{e:?}");
    }

    #[test]
    fn vlan_and_mtu_zero_mean_unset() {
        let c = with(r#""vlan":0,"mtu":0"#).unwrap();
        assert_eq!((c.vlan, c.mtu), (None, None));
    }

    #[test]
    fn empty_ipam_is_layer_2() {
        assert_eq!(with(r#""ipam":{}"#).unwrap().ipam_type, None);
        assert_eq!(with(r#""ipam":{"type":""}"#).unwrap().ipam_type, None);
    }

    #[test]
    fn disable_container_interface_forbids_ipam() {
        let c = with(r#""disableContainerInterface":true"#).unwrap();
        assert!(c.disable_container_interface);
        let e = err(r#""disableContainerInterface":true,"ipam":{"type":"host-local"}"#);
        assert!(e.is(Code::InvalidConfig), "{e:?}");
        assert!(e.msg.contains("disableContainerInterface"), "{e:?}");
    }
}
