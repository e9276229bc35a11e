//! Authorization of requests and upstream's 403 messages.

use crate::api::ApiError;
use crate::auth::{Attributes, Decision, UserInfo};

use super::route::ResourcePath;
use super::ApiState;

/// Asks the authorizer about a resource request; a denial is upstream's `Forbidden` status.
pub fn resource(
    state: &ApiState,
    user: &UserInfo,
    verb: &str,
    path: &ResourcePath,
    request_path: &str,
) -> Result<(), ApiError> {
    let attrs = Attributes {
        user,
        verb,
        group: Some(path.kind.group),
        resource: Some(path.kind.plural),
        subresource: path.subresource.as_deref(),
        namespace: path.namespace.as_deref(),
        name: path.name.as_deref(),
        path: request_path,
    };
    match state.authorizer.authorize(&attrs) {
        Decision::Allow => Ok(()),
        Decision::Deny(reason) => Err(ApiError::Forbidden(forbidden_message(&attrs, &reason))),
    }
}

/// Asks the authorizer about a non-resource path (discovery, OpenAPI).
pub fn non_resource(
    state: &ApiState,
    user: &UserInfo,
    verb: &str,
    request_path: &str,
) -> Result<(), ApiError> {
    let attrs = Attributes {
        user,
        verb,
        group: None,
        resource: None,
        subresource: None,
        namespace: None,
        name: None,
        path: request_path,
    };
    match state.authorizer.authorize(&attrs) {
        Decision::Allow => Ok(()),
        Decision::Deny(reason) => Err(ApiError::Forbidden(forbidden_message(&attrs, &reason))),
    }
}

/// Upstream's message: `pods "web" is forbidden: User "bob" cannot get resource "pods" in API
/// group "" in the namespace "default"`, with the authorizer's reason appended when it has one.
pub fn forbidden_message(attrs: &Attributes<'_>, reason: &str) -> String {
    let user = &attrs.user.name;
    let detail = match (attrs.group, attrs.resource) {
        (Some(group), Some(resource)) => {
            let res = match attrs.subresource {
                Some(sub) => format!("{resource}/{sub}"),
                None => resource.to_string(),
            };
            match attrs.namespace {
                Some(ns) => format!(
                    "User \"{user}\" cannot {} resource \"{res}\" in API group \"{group}\" in the namespace \"{ns}\"",
                    attrs.verb
                ),
                None => format!(
                    "User \"{user}\" cannot {} resource \"{res}\" in API group \"{group}\" at the cluster scope",
                    attrs.verb
                ),
            }
        }
        _ => format!(
            "User \"{user}\" cannot {} path \"{}\"",
            attrs.verb, attrs.path
        ),
    };
    let detail = if reason.is_empty() {
        detail
    } else {
        format!("{detail}: {reason}")
    };
    let qualified = match (attrs.group, attrs.resource) {
        (Some(""), Some(r)) => r.to_string(),
        (Some(g), Some(r)) => format!("{r}.{g}"),
        _ => "forbidden".to_string(),
    };
    match (attrs.resource, attrs.name) {
        (None, _) => format!("forbidden: {detail}"),
        (Some(_), Some(name)) => format!("{qualified} \"{name}\" is forbidden: {detail}"),
        (Some(_), None) => format!("{qualified} is forbidden: {detail}"),
    }
}
