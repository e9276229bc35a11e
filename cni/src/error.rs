//! CNI errors as the spec defines them: a code, a message and details, printed as JSON on stdout.

use serde::{Deserialize, Serialize};

/// Error codes from the CNI specification (0–99 well known) and Skiff's plugin-specific codes (100+).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Code {
    /// 1: the requested `cniVersion` is not supported.
    IncompatibleVersion = 1,
    /// 2: the network configuration holds a field the plugin does not know.
    UnsupportedField = 2,
    /// 3: the container (its network namespace) is unknown or gone.
    UnknownContainer = 3,
    /// 4: a required `CNI_*` environment variable is missing or invalid.
    InvalidEnvironment = 4,
    /// 5: an I/O failure (files, netlink, nftables).
    Io = 5,
    /// 6: the configuration or a result could not be decoded.
    Decode = 6,
    /// 7: the network configuration is invalid.
    InvalidConfig = 7,
    /// 11: a transient condition; the runtime may retry.
    TryAgainLater = 11,
    /// 50: the plugin cannot serve ADD requests (e.g. no address left).
    NotAvailable = 50,
    /// 51: the plugin can serve ADD requests only with limited connectivity.
    LimitedConnectivity = 51,
    /// 100: every address of the configured ranges is allocated.
    AddressExhausted = 100,
    /// 101: the kernel refused a netlink request.
    Netlink = 101,
    /// 102: the kernel refused an nftables transaction.
    Nftables = 102,
    /// 103: a delegated plugin (IPAM) could not be run or returned garbage.
    Delegate = 103,
}

/// A CNI error: what a plugin prints on stdout (with exit status 1) when a command fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{msg} (CNI error {code}{})", if details.is_empty() { String::new() } else { format!(": {details}") })]
pub struct CniError {
    /// The spec's numeric code.
    pub code: u32,
    /// A short description.
    pub msg: String,
    /// Longer, context-specific information.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub details: String,
}

impl CniError {
    /// An error with a code and a message naming the problem.
    pub fn new(code: Code, msg: impl Into<String>) -> Self {
        Self {
            code: code as u32,
            msg: msg.into(),
            details: String::new(),
        }
    }

    /// Adds details (usually the underlying cause).
    pub fn details(mut self, details: impl std::fmt::Display) -> Self {
        self.details = details.to_string();
        self
    }

    /// Whether the error carries the given code.
    pub fn is(&self, code: Code) -> bool {
        self.code == code as u32
    }

    /// The JSON object printed on stdout, tagged with the invocation's `cniVersion`.
    pub fn to_json(&self, cni_version: &str) -> serde_json::Value {
        let mut v = serde_json::json!({
            "cniVersion": cni_version,
            "code": self.code,
            "msg": self.msg,
        });
        if !self.details.is_empty() {
            v["details"] = self.details.clone().into();
        }
        v
    }
}

/// Maps a JSON decoding error onto the spec's codes: unknown fields are 2, syntax errors 6,
/// and well-formed JSON with wrong types or values 7.
pub fn from_json_error(what: &str, err: &serde_json::Error) -> CniError {
    use serde_json::error::Category;
    let text = err.to_string();
    let code = match err.classify() {
        Category::Data if text.starts_with("unknown field") => Code::UnsupportedField,
        Category::Data => Code::InvalidConfig,
        Category::Syntax | Category::Eof | Category::Io => Code::Decode,
    };
    CniError::new(code, format!("invalid {what}: {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Strict {
        a: u32,
    }

    fn decode(s: &str) -> CniError {
        from_json_error("config", &serde_json::from_str::<Strict>(s).unwrap_err())
    }

    #[test]
    fn unknown_field_maps_to_code_2_and_names_it() {
        let e = decode(r#"{"a":1,"bogus":2}"#);
        assert!(e.is(Code::UnsupportedField), "{e:?}");
        assert!(e.msg.contains("bogus"), "{e:?}");
    }

    #[test]
    fn malformed_json_maps_to_code_6() {
        assert!(decode(r#"{"a":"#).is(Code::Decode));
        assert!(decode("not json").is(Code::Decode));
    }

    #[test]
    fn wrong_type_maps_to_code_7() {
        let e = decode(r#"{"a":"x"}"#);
        assert!(e.is(Code::InvalidConfig), "{e:?}");
    }

    #[test]
    fn error_json_has_spec_fields() {
        let e = CniError::new(Code::Io, "boom").details("disk full");
        let v = e.to_json("1.1.0");
        assert_eq!(v["cniVersion"], "1.1.0");
        assert_eq!(v["code"], 5);
        assert_eq!(v["msg"], "boom");
        assert_eq!(v["details"], "disk full");
    }
}
