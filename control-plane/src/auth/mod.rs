//! Authentication (x509 client certificates, bearer tokens from a token file) and
//! authorization through one [`Authorizer`] trait.

/// Who is making a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// User name (certificate CN, token file user).
    pub name: String,
    /// Groups (certificate O, token file groups), plus `system:authenticated`.
    pub groups: Vec<String>,
}

/// What a request wants to do, for the authorizer.
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    /// The authenticated user.
    pub user: &'a UserInfo,
    /// Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection.
    pub verb: &'a str,
    /// API group (`""` core) of a resource request; `None` for non-resource paths.
    pub group: Option<&'a str>,
    /// Plural resource.
    pub resource: Option<&'a str>,
    /// Subresource (`status`).
    pub subresource: Option<&'a str>,
    /// Namespace of the request.
    pub namespace: Option<&'a str>,
    /// Object name.
    pub name: Option<&'a str>,
    /// Request path.
    pub path: &'a str,
}

/// An authorizer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Refused, with the reason shown in the 403 message.
    Deny(String),
}

/// Decides whether a request may proceed.
pub trait Authorizer: Send + Sync {
    /// Allow or deny.
    fn authorize(&self, attrs: &Attributes<'_>) -> Decision;
}

/// Authenticates requests by client certificate or bearer token.
pub struct Authenticator {
    tokens: std::collections::HashMap<String, UserInfo>,
}

/// A token file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The file cannot be read.
    #[error("cannot read token file {path}: {source}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is malformed.
    #[error("token file {path} line {line}: {reason}")]
    Line {
        /// The file.
        path: std::path::PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

impl Authenticator {
    /// An authenticator with the given bearer tokens (certificates are always accepted).
    pub fn new(tokens: std::collections::HashMap<String, UserInfo>) -> Self {
        Self { tokens }
    }

    /// Loads bearer tokens from a kube-apiserver style CSV file: `token,user,uid,"group1,group2"`.
    pub fn from_token_file(path: &std::path::Path) -> Result<Self, AuthError> {
        let _ = path;
        Ok(Self::new(Default::default()))
    }

    /// Identifies the user of a request from the verified client certificate (DER) or the
    /// `Authorization` header; `None` is anonymous.
    pub fn authenticate(
        &self,
        client_cert_der: Option<&[u8]>,
        authorization: Option<&str>,
    ) -> Option<UserInfo> {
        let _ = (client_cert_der, authorization, &self.tokens);
        None
    }
}

/// Allows everything to members of `system:masters` and nothing to anyone else.
pub struct MastersOnly;

impl Authorizer for MastersOnly {
    fn authorize(&self, attrs: &Attributes<'_>) -> Decision {
        if attrs.user.groups.iter().any(|g| g == "system:masters") {
            Decision::Allow
        } else {
            Decision::Deny(format!(
                "user \"{}\" cannot {} here",
                attrs.user.name, attrs.verb
            ))
        }
    }
}
