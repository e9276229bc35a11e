//! CNI specification versions Skiff speaks, and version negotiation.

use crate::error::{CniError, Code};
use serde::Deserialize;

/// A CNI specification version this crate can read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// CNI 1.0.0.
    V1_0_0,
    /// CNI 1.1.0: adds STATUS, GC, `cniVersions`, and result fields (interface `mtu`, route `mtu`, …).
    V1_1_0,
}

/// Every version we support, oldest first.
pub const SUPPORTED: [Version; 2] = [Version::V1_0_0, Version::V1_1_0];

impl Version {
    /// The version string as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1_0_0 => "1.0.0",
            Version::V1_1_0 => "1.1.0",
        }
    }

    /// Parses a supported version; anything else is CNI error 1 listing what is supported.
    pub fn parse(s: &str) -> Result<Self, CniError> {
        match s {
            "1.0.0" => Ok(Version::V1_0_0),
            "1.1.0" => Ok(Version::V1_1_0),
            other => Err(CniError::new(
                Code::IncompatibleVersion,
                format!("incompatible CNI version {other:?}"),
            )
            .details(format!(
                "supported versions: {}",
                supported_list().join(", ")
            ))),
        }
    }

    /// The newest supported version.
    pub fn latest() -> Self {
        Version::V1_1_0
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn supported_list() -> Vec<&'static str> {
    SUPPORTED.iter().map(|v| v.as_str()).collect()
}

/// The reply to the VERSION command.
pub fn version_info(cni_version: &str) -> serde_json::Value {
    serde_json::json!({ "cniVersion": cni_version, "supportedVersions": supported_list() })
}

/// Chooses the version for a configuration list: the highest entry of `cniVersions` (CNI 1.1)
/// that we support, else `cniVersion`.
pub fn negotiate(cni_version: Option<&str>, cni_versions: &[String]) -> Result<Version, CniError> {
    if !cni_versions.is_empty() {
        let best = cni_versions
            .iter()
            .filter_map(|v| Version::parse(v).ok())
            .max();
        return best.ok_or_else(|| {
            CniError::new(
                Code::IncompatibleVersion,
                format!("none of cniVersions {cni_versions:?} is supported"),
            )
            .details(format!(
                "supported versions: {}",
                supported_list().join(", ")
            ))
        });
    }
    match cni_version {
        Some(v) => Version::parse(v),
        None => Err(CniError::new(
            Code::InvalidConfig,
            "network configuration has no cniVersion",
        )),
    }
}

/// Reads `cniVersion`/`cniVersions` from any configuration without judging its other fields.
pub fn of_config(stdin: &[u8]) -> Result<Version, CniError> {
    #[derive(Deserialize)]
    struct Versions {
        #[serde(rename = "cniVersion")]
        cni_version: Option<String>,
        #[serde(rename = "cniVersions", default)]
        cni_versions: Vec<String>,
    }
    let v: Versions = serde_json::from_slice(stdin)
        .map_err(|e| crate::error::from_json_error("network configuration", &e))?;
    // A plugin is told which version to speak by `cniVersion`; `cniVersions` only matters when
    // `cniVersion` is absent.
    match v.cni_version {
        Some(ref s) => Version::parse(s),
        None => negotiate(None, &v.cni_versions),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_prefers_highest_supported_of_cni_versions() {
        let got = negotiate(
            Some("1.0.0"),
            &["0.4.0".into(), "1.1.0".into(), "9.9.9".into()],
        );
        assert_eq!(got.unwrap(), Version::V1_1_0);
    }

    #[test]
    fn negotiation_falls_back_to_cni_version() {
        assert_eq!(negotiate(Some("1.0.0"), &[]).unwrap(), Version::V1_0_0);
    }

    #[test]
    fn unsupported_version_is_code_1_with_supported_list() {
        let e = Version::parse("0.3.1").unwrap_err();
        assert!(e.is(Code::IncompatibleVersion));
        assert!(e.details.contains("1.0.0") && e.details.contains("1.1.0"));
        let e = negotiate(None, &["0.2.0".into()]).unwrap_err();
        assert!(e.is(Code::IncompatibleVersion));
    }

    #[test]
    fn version_of_config_reads_cni_version() {
        assert_eq!(
            of_config(br#"{"cniVersion":"1.1.0","x":1}"#).unwrap(),
            Version::V1_1_0
        );
        assert!(of_config(b"{").unwrap_err().is(Code::Decode));
    }

    #[test]
    fn version_info_lists_supported() {
        let v = version_info("1.1.0");
        assert_eq!(
            v["supportedVersions"],
            serde_json::json!(["1.0.0", "1.1.0"])
        );
    }
}
