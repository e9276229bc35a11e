//! JSON pointers (RFC 6901): `/spec/containers/0/image`, `~1` for `/` and `~0` for `~`.

use std::fmt;

use serde_json::Value;

/// A parsed JSON pointer: the unescaped reference tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer(Vec<String>);

/// A pointer that is neither empty nor starts with `/`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("JSON pointer must be empty or start with a \"/\": {0:?}")]
pub struct PointerError(pub String);

impl Pointer {
    /// Parses `raw` (`""` is the whole document).
    pub fn parse(raw: &str) -> Result<Self, PointerError> {
        if raw.is_empty() {
            return Ok(Self(Vec::new()));
        }
        let rest = raw
            .strip_prefix('/')
            .ok_or_else(|| PointerError(raw.to_string()))?;
        Ok(Self(
            rest.split('/')
                .map(|t| t.replace("~1", "/").replace("~0", "~"))
                .collect(),
        ))
    }

    /// The parent pointer and the last token, or `None` for the root.
    pub fn split_last(&self) -> Option<(Pointer, &str)> {
        let (last, parent) = self.0.split_last()?;
        Some((Pointer(parent.to_vec()), last.as_str()))
    }

    /// Whether `prefix` is this pointer or one of its ancestors.
    pub fn starts_with(&self, prefix: &Pointer) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// The value this pointer names in `doc`.
    pub fn get<'a>(&self, doc: &'a Value) -> Option<&'a Value> {
        self.0.iter().try_fold(doc, |cur, token| match cur {
            Value::Object(m) => m.get(token),
            Value::Array(items) => items.get(parse_index(token)?),
            _ => None,
        })
    }

    /// The value this pointer names in `doc`, mutably.
    pub fn get_mut<'a>(&self, doc: &'a mut Value) -> Option<&'a mut Value> {
        self.0.iter().try_fold(doc, |cur, token| match cur {
            Value::Object(m) => m.get_mut(token),
            Value::Array(items) => items.get_mut(parse_index(token)?),
            _ => None,
        })
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for t in &self.0 {
            write!(f, "/{}", t.replace('~', "~0").replace('/', "~1"))?;
        }
        Ok(())
    }
}

/// An array index token: decimal digits without a leading zero (`0`, `12`).
pub fn parse_index(token: &str) -> Option<usize> {
    let digits = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    if !digits || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    token.parse().ok()
}
