//! Authentication: the verified client certificate's subject (CN = user, O = groups) or a
//! bearer token from a kube-apiserver style token file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::UserInfo;

/// The group every authenticated user is in.
const AUTHENTICATED: &str = "system:authenticated";

/// A token file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The file cannot be read.
    #[error("cannot read token file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is malformed.
    #[error("token file {path} line {line}: {reason}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Authenticates requests by client certificate or bearer token.
pub struct Authenticator {
    tokens: HashMap<String, UserInfo>,
}

impl Authenticator {
    /// An authenticator with the given bearer tokens (certificates are always accepted).
    pub fn new(tokens: HashMap<String, UserInfo>) -> Self {
        Self { tokens }
    }

    /// Loads bearer tokens from a kube-apiserver style CSV file: `token,user,uid,"group1,group2"`.
    pub fn from_token_file(path: &Path) -> Result<Self, AuthError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuthError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut tokens = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |reason| AuthError::Line {
                path: path.to_path_buf(),
                line: i + 1,
                reason,
            };
            let fields = split_csv(line).ok_or_else(|| bad("unterminated quote"))?;
            if fields.len() < 3 {
                return Err(bad("expected at least token,user,uid"));
            }
            if fields[0].is_empty() || fields[1].is_empty() {
                return Err(bad("token and user must not be empty"));
            }
            let mut groups: Vec<String> = fields
                .get(3)
                .map(|g| {
                    g.split(',')
                        .map(str::trim)
                        .filter(|g| !g.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            groups.push(AUTHENTICATED.to_string());
            tokens.insert(
                fields[0].clone(),
                UserInfo {
                    name: fields[1].clone(),
                    groups,
                },
            );
        }
        tracing::info!(path = %path.display(), tokens = tokens.len(), "loaded bearer tokens");
        Ok(Self::new(tokens))
    }

    /// Identifies the user of a request from the verified client certificate (DER) or the
    /// `Authorization` header; `None` is anonymous.
    pub fn authenticate(
        &self,
        client_cert_der: Option<&[u8]>,
        authorization: Option<&str>,
    ) -> Option<UserInfo> {
        if let Some(der) = client_cert_der {
            if let Some(user) = user_from_certificate(der) {
                return Some(user);
            }
        }
        let token = authorization?.strip_prefix("Bearer ")?.trim();
        self.tokens.get(token).cloned()
    }
}

/// CN = user name, each O = a group, as kube-apiserver reads client certificates.
fn user_from_certificate(der: &[u8]) -> Option<UserInfo> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let name = subject
        .iter_common_name()
        .next()?
        .as_str()
        .ok()?
        .to_string();
    let mut groups: Vec<String> = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok())
        .map(String::from)
        .collect();
    groups.push(AUTHENTICATED.to_string());
    Some(UserInfo { name, groups })
}

/// Splits one CSV line with `"`-quoted fields (`""` is a quote inside quotes).
fn split_csv(line: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    if quoted {
        return None;
    }
    fields.push(field);
    Some(fields.into_iter().map(|f| f.trim().to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_file_lines_give_users_and_groups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.csv");
        std::fs::write(
            &path,
            "# comment\nsecret1,alice,1,\"dev,ops\"\nsecret2,bob,2\n",
        )
        .unwrap();
        let authn = Authenticator::from_token_file(&path).unwrap();
        let alice = authn.authenticate(None, Some("Bearer secret1")).unwrap();
        assert_eq!(alice.name, "alice");
        assert_eq!(alice.groups, vec!["dev", "ops", AUTHENTICATED]);
        assert_eq!(
            authn
                .authenticate(None, Some("Bearer secret2"))
                .unwrap()
                .name,
            "bob"
        );
        assert_eq!(authn.authenticate(None, Some("Bearer nope")), None);
        assert_eq!(authn.authenticate(None, Some("Basic secret1")), None);
        assert_eq!(authn.authenticate(None, None), None);
    }

    #[test]
    fn malformed_token_file_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.csv");
        std::fs::write(&path, "ok,alice,1\nmissing-user\n").unwrap();
        let err = Authenticator::from_token_file(&path)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn certificate_subject_gives_user_and_groups() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "system:node:n1");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "system:nodes");
        let cert = params.self_signed(&key).unwrap();
        let user = Authenticator::new(HashMap::new())
            .authenticate(Some(cert.der()), None)
            .unwrap();
        assert_eq!(user.name, "system:node:n1");
        assert_eq!(user.groups, vec!["system:nodes", AUTHENTICATED]);
    }
}
