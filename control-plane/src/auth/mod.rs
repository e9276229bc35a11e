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

mod authn;

pub use authn::{AuthError, Authenticator};

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

#[cfg(test)]
mod tests {
    use super::*;

    fn user(groups: &[&str]) -> UserInfo {
        UserInfo {
            name: "bob".into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    fn attrs<'a>(user: &'a UserInfo) -> Attributes<'a> {
        Attributes {
            user,
            verb: "list",
            group: Some(""),
            resource: Some("pods"),
            subresource: None,
            namespace: Some("default"),
            name: None,
            path: "/api/v1/namespaces/default/pods",
        }
    }

    #[test]
    fn masters_may_do_everything_others_nothing() {
        let admin = user(&["system:masters", "system:authenticated"]);
        assert_eq!(MastersOnly.authorize(&attrs(&admin)), Decision::Allow);
        let bob = user(&["system:authenticated"]);
        assert!(matches!(
            MastersOnly.authorize(&attrs(&bob)),
            Decision::Deny(_)
        ));
    }
}
