//! Parts of a network configuration that every plugin understands: `runtimeConfig`
//! capabilities, `args.cni`, and the valid-attachments list of GC.

use crate::error::{from_json_error, CniError, Code};
use ipnet::IpNet;
use serde::Deserialize;

/// One attachment the runtime still uses, as listed in GC's `cni.dev/valid-attachments`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// Container id.
    #[serde(rename = "containerID")]
    pub container_id: String,
    /// Interface name.
    pub ifname: String,
}

/// Reads the attachments GC must keep: `cni.dev/valid-attachments`, or the older
/// `cni.dev/attachments`. A GC request with neither is invalid.
pub fn valid_attachments(stdin: &[u8]) -> Result<Vec<Attachment>, CniError> {
    #[derive(Deserialize)]
    struct Gc {
        #[serde(rename = "cni.dev/valid-attachments")]
        valid: Option<Vec<Attachment>>,
        #[serde(rename = "cni.dev/attachments")]
        legacy: Option<Vec<Attachment>>,
    }
    let gc: Gc = serde_json::from_slice(stdin).map_err(|e| from_json_error("GC request", &e))?;
    gc.valid.or(gc.legacy).ok_or_else(|| {
        CniError::new(
            Code::InvalidConfig,
            "GC request has no cni.dev/valid-attachments list",
        )
    })
}

/// Capability arguments the runtime passes in `runtimeConfig` (`ips`, `mac`), and the same
/// requests made through `args.cni` or `CNI_ARGS` (`IP=`, `MAC=`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requested {
    /// Addresses the runtime asks for (with or without prefix length).
    pub ips: Vec<String>,
    /// Hardware address the runtime asks for.
    pub mac: Option<String>,
}

#[derive(Deserialize, Default)]
struct RuntimeConfig {
    #[serde(default)]
    ips: Vec<String>,
    #[serde(default)]
    mac: Option<String>,
}

#[derive(Deserialize, Default)]
struct ArgsCni {
    #[serde(default)]
    ips: Vec<String>,
    #[serde(default)]
    mac: Option<String>,
}

#[derive(Deserialize, Default)]
struct Args {
    #[serde(default)]
    cni: ArgsCni,
}

#[derive(Deserialize, Default)]
struct Carrier {
    #[serde(rename = "runtimeConfig", default)]
    runtime_config: Option<RuntimeConfig>,
    #[serde(default)]
    args: Option<Args>,
}

/// Collects requested IPs and MAC from `runtimeConfig`, then `args.cni`, then `CNI_ARGS`.
pub fn requested(stdin: &[u8], cni_args: &[(String, String)]) -> Result<Requested, CniError> {
    let c: Carrier =
        serde_json::from_slice(stdin).map_err(|e| from_json_error("runtimeConfig/args", &e))?;
    let rc = c.runtime_config.unwrap_or_default();
    let args = c.args.unwrap_or_default().cni;
    let arg = |key: &str| {
        cni_args
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let mut ips = if !rc.ips.is_empty() { rc.ips } else { args.ips };
    if ips.is_empty() {
        if let Some(ip) = arg("IP") {
            ips = ip.split(',').map(str::to_string).collect();
        }
    }
    let mac = rc.mac.or(args.mac).or_else(|| arg("MAC"));
    Ok(Requested { ips, mac })
}

/// Parses a requested address: `10.1.2.3` or `10.1.2.3/24` (the prefix is then ignored,
/// as host-local does; the range decides it).
pub fn parse_requested_ip(s: &str) -> Result<std::net::IpAddr, CniError> {
    let bad = || {
        CniError::new(
            Code::InvalidConfig,
            format!("requested IP {s:?} is not an address"),
        )
    };
    if let Ok(net) = s.parse::<IpNet>() {
        return Ok(net.addr());
    }
    s.parse().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_attachments_reads_new_and_old_keys() {
        let new = br#"{"cni.dev/valid-attachments":[{"containerID":"a","ifname":"eth0"}]}"#;
        assert_eq!(valid_attachments(new).unwrap()[0].container_id, "a");
        let old = br#"{"cni.dev/attachments":[{"containerID":"b","ifname":"eth1"}]}"#;
        assert_eq!(valid_attachments(old).unwrap()[0].ifname, "eth1");
        assert!(valid_attachments(b"{}")
            .unwrap_err()
            .is(Code::InvalidConfig));
    }

    #[test]
    fn runtime_config_wins_over_args_and_cni_args() {
        let conf = br#"{"runtimeConfig":{"ips":["10.0.0.9/24"],"mac":"02:00:00:00:00:09"},
                        "args":{"cni":{"ips":["10.0.0.8"]}}}"#;
        let r = requested(conf, &[("IP".into(), "10.0.0.7".into())]).unwrap();
        assert_eq!(r.ips, vec!["10.0.0.9/24"]);
        assert_eq!(r.mac.as_deref(), Some("02:00:00:00:00:09"));
        let r = requested(b"{}", &[("IP".into(), "10.0.0.7".into())]).unwrap();
        assert_eq!(r.ips, vec!["10.0.0.7"]);
    }

    #[test]
    fn requested_ip_accepts_prefix_or_bare() {
        assert_eq!(
            parse_requested_ip("10.1.2.3/24").unwrap().to_string(),
            "10.1.2.3"
        );
        assert!(parse_requested_ip("nope").is_err());
    }
}
