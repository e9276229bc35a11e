//! `continue` tokens of paged lists, in upstream's encoding: URL-safe base64 (no padding) of
//! `{"v":"meta.k8s.io/v1","rv":<list revision>,"start":"<key after the prefix>\u0000"}`.
//! A revision of `-1` continues at the latest revision (handed out after a compaction).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::api::ApiError;
use crate::store::Revision;

const VERSION: &str = "meta.k8s.io/v1";

/// A decoded continue token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContinueToken {
    /// Revision the list is served at; `-1` means the latest.
    pub revision: Revision,
    /// The last key returned, relative to the list's key prefix.
    pub last_key: String,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    v: String,
    rv: i64,
    start: String,
}

impl ContinueToken {
    /// Encodes the token for a list page ending at `last_key` (full key) under `prefix`.
    pub fn encode(prefix: &str, last_key: &str, revision: Revision) -> String {
        let rel = last_key.strip_prefix(prefix).unwrap_or(last_key);
        let wire = Wire {
            v: VERSION.into(),
            rv: revision,
            start: format!("{rel}\u{0}"),
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).expect("token serializes"))
    }

    /// Decodes a token; anything malformed is a 400.
    pub fn decode(token: &str) -> Result<Self, ApiError> {
        let bad = |why: &str| ApiError::BadRequest(format!("invalid continue token: {why}"));
        let bytes = URL_SAFE_NO_PAD
            .decode(token.trim_end_matches('='))
            .map_err(|e| bad(&format!("continue key is not valid: {e}")))?;
        let wire: Wire = serde_json::from_slice(&bytes)
            .map_err(|e| bad(&format!("continue key is not valid: {e}")))?;
        if wire.v != VERSION {
            return Err(bad(
                "continue key is not valid: server does not recognize this encoded version",
            ));
        }
        if wire.rv == 0 || wire.rv < -1 {
            return Err(bad(
                "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
            ));
        }
        let Some(rel) = wire.start.strip_suffix('\u{0}').filter(|s| !s.is_empty()) else {
            return Err(bad(
                "continue key is not valid: encoded start key empty (version meta.k8s.io/v1)",
            ));
        };
        // A key may not climb out of the listed prefix.
        if rel.starts_with('/')
            || rel
                .split('/')
                .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Err(bad(&format!("continue key is not valid: {rel}")));
        }
        Ok(Self {
            revision: wire.rv,
            last_key: rel.to_string(),
        })
    }

    /// The full key to list after, under `prefix`.
    pub fn start_after(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.last_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_relative_to_the_prefix() {
        let t = ContinueToken::encode(
            "/registry/core/pods/",
            "/registry/core/pods/default/web-7",
            42,
        );
        assert!(!t.contains('=') && !t.contains('+') && !t.contains('/'));
        let d = ContinueToken::decode(&t).unwrap();
        assert_eq!(d.revision, 42);
        assert_eq!(d.last_key, "default/web-7");
        assert_eq!(
            d.start_after("/registry/core/pods/"),
            "/registry/core/pods/default/web-7"
        );
    }

    #[test]
    fn token_shape_matches_upstream() {
        let t = ContinueToken::encode("/p/", "/p/a", 7);
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(t).unwrap()).unwrap();
        assert_eq!(raw, r#"{"v":"meta.k8s.io/v1","rv":7,"start":"a\u0000"}"#);
        assert_eq!(
            ContinueToken::decode(&ContinueToken::encode("/p/", "/p/a", -1))
                .unwrap()
                .revision,
            -1
        );
    }

    #[test]
    fn malformed_or_escaping_tokens_are_bad_requests() {
        let enc = |s: &str| URL_SAFE_NO_PAD.encode(s);
        for t in [
            "!!!".to_string(),
            enc("not json"),
            enc(r#"{"v":"v2","rv":1,"start":"a\u0000"}"#),
            enc(r#"{"v":"meta.k8s.io/v1","rv":0,"start":"a\u0000"}"#),
            enc(r#"{"v":"meta.k8s.io/v1","rv":3,"start":""}"#),
            enc(r#"{"v":"meta.k8s.io/v1","rv":3,"start":"../secrets/x\u0000"}"#),
            enc(r#"{"v":"meta.k8s.io/v1","rv":3,"start":"/abs\u0000"}"#),
        ] {
            let e = ContinueToken::decode(&t).unwrap_err();
            assert_eq!(e.code(), 400, "{t}");
            assert!(e.to_string().starts_with("invalid continue token"));
        }
    }
}
