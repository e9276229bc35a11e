//! Which handler a request path belongs to, and the Kubernetes verb of a resource request.
//! Pure: no I/O, table-tested.

use http::Method;

use crate::api::ApiError;
use crate::registry::{self, KindInfo};

use super::failure::Failure;

/// What a path addresses.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// `/healthz`, `/livez`, `/readyz` (and their sub-checks).
    Health,
    /// `/version`.
    Version,
    /// `/api` (APIVersions, or aggregated discovery of the core group).
    ApiVersions,
    /// `/apis` (APIGroupList, or aggregated discovery).
    ApiGroupList,
    /// `/apis/<group>`.
    ApiGroup(String),
    /// `/api/v1` or `/apis/<group>/<version>` (APIResourceList).
    ResourceList {
        /// Group (`""` for core).
        group: String,
        /// Version.
        version: String,
    },
    /// `/openapi/v2`.
    OpenApiV2,
    /// `/openapi/v3`.
    OpenApiIndex,
    /// `/openapi/v3/<path>` (`api/v1`, `apis/apps/v1`).
    OpenApiDocument(String),
    /// A resource, an object or a subresource.
    Resource(ResourcePath),
}

/// A path under `/api/v1` or `/apis/<group>/<version>` naming a resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourcePath {
    /// The kind.
    pub kind: &'static KindInfo,
    /// Namespace from the path.
    pub namespace: Option<String>,
    /// Object name.
    pub name: Option<String>,
    /// Subresource.
    pub subresource: Option<String>,
    /// Reached through the legacy `/watch/` prefix.
    pub watch_prefix: bool,
}

/// Names of health endpoints served to anyone.
pub fn is_public(path: &str) -> bool {
    let path = path.strip_suffix('/').unwrap_or(path);
    path == "/version"
        || ["/healthz", "/livez", "/readyz"]
            .iter()
            .any(|p| path == *p || path.strip_prefix(p).is_some_and(|r| r.starts_with('/')))
}

/// Parses a request path.
pub fn parse(path: &str) -> Result<Route, Failure> {
    let trimmed = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    if is_public(trimmed) {
        return Ok(if trimmed == "/version" {
            Route::Version
        } else {
            Route::Health
        });
    }
    let segs: Vec<&str> = trimmed.split('/').skip(1).collect();
    if segs.iter().any(|s| s.is_empty()) {
        return Err(Failure::NoRoute);
    }
    match segs.as_slice() {
        ["api"] => Ok(Route::ApiVersions),
        ["apis"] => Ok(Route::ApiGroupList),
        ["apis", group] => Ok(Route::ApiGroup(group.to_string())),
        ["api", version] => Ok(Route::ResourceList {
            group: String::new(),
            version: version.to_string(),
        }),
        ["apis", group, version] => Ok(Route::ResourceList {
            group: group.to_string(),
            version: version.to_string(),
        }),
        ["openapi", "v2"] => Ok(Route::OpenApiV2),
        ["openapi", "v3"] => Ok(Route::OpenApiIndex),
        ["openapi", "v3", rest @ ..] => Ok(Route::OpenApiDocument(rest.join("/"))),
        ["api", version, rest @ ..] => resource("", version, rest).map(Route::Resource),
        ["apis", group, version, rest @ ..] => resource(group, version, rest).map(Route::Resource),
        _ => Err(Failure::NoRoute),
    }
}

/// Subresources of a namespace reached as `/api/v1/namespaces/<name>/<sub>`.
const NAMESPACE_SUBRESOURCES: &[&str] = &["status", "finalize"];

fn resource(group: &str, version: &str, rest: &[&str]) -> Result<ResourcePath, Failure> {
    let (watch_prefix, rest) = match rest {
        ["watch", rest @ ..] => (true, rest),
        _ => (false, rest),
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, next, ..] if !NAMESPACE_SUBRESOURCES.contains(next) => {
            (Some(ns.to_string()), &rest[2..])
        }
        _ => (None, rest),
    };
    let (plural, name, sub) = match rest {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(name.to_string()), None),
        [plural, name, sub] => (*plural, Some(name.to_string()), Some(sub.to_string())),
        _ => return Err(Failure::NoRoute),
    };
    let kind = registry::by_resource(group, version, plural).ok_or(Failure::NoRoute)?;
    if namespace.is_some() && !kind.namespaced {
        return Err(Failure::NoRoute);
    }
    // Objects of namespaced kinds are addressed only inside their namespace.
    if kind.namespaced && namespace.is_none() && name.is_some() {
        return Err(Failure::NoRoute);
    }
    if let Some(sub) = &sub {
        if !kind.has_subresource(sub) || watch_prefix {
            return Err(Failure::NoRoute);
        }
    }
    Ok(ResourcePath {
        kind,
        namespace,
        name,
        subresource: sub,
        watch_prefix,
    })
}

/// Whether a `watch` query value turns a list into a watch.
pub fn watch_requested(value: Option<&str>) -> bool {
    matches!(value, Some("true" | "1" | "True"))
}

/// The Kubernetes verb of a request on `path` with `method`; 405 when the method does not apply.
pub fn verb(method: &Method, path: &ResourcePath, watch: bool) -> Result<&'static str, ApiError> {
    let named = path.name.is_some();
    let cluster_wide_namespaced = path.kind.namespaced && path.namespace.is_none();
    let verb = if path.watch_prefix {
        (method == Method::GET).then_some("watch")
    } else if path.subresource.is_some() {
        match *method {
            Method::GET => Some("get"),
            Method::PUT => Some("update"),
            Method::PATCH => Some("patch"),
            Method::POST => Some("create"),
            Method::DELETE => Some("delete"),
            _ => None,
        }
    } else {
        match (method.clone(), named) {
            (Method::GET, true) => Some("get"),
            (Method::GET, false) if watch => Some("watch"),
            (Method::GET, false) => Some("list"),
            (Method::POST, false) if !cluster_wide_namespaced => Some("create"),
            (Method::PUT, true) => Some("update"),
            (Method::PATCH, true) => Some("patch"),
            (Method::DELETE, true) => Some("delete"),
            (Method::DELETE, false) if !cluster_wide_namespaced => Some("deletecollection"),
            _ => None,
        }
    };
    match verb {
        Some(v) if path.subresource.is_some() || path.kind.verbs.contains(&v) => Ok(v),
        _ => Err(ApiError::MethodNotAllowed(
            "the server does not allow this method on the requested resource".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(path: &str) -> ResourcePath {
        match parse(path) {
            Ok(Route::Resource(r)) => r,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn resource_paths_parse_to_kind_namespace_name_and_subresource() {
        type Case<'a> = (
            &'a str,
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
            bool,
        );
        let cases: &[Case] = &[
            ("/api/v1/pods", "pods", None, None, None, false),
            (
                "/api/v1/namespaces/default/pods",
                "pods",
                Some("default"),
                None,
                None,
                false,
            ),
            (
                "/api/v1/namespaces/default/pods/web",
                "pods",
                Some("default"),
                Some("web"),
                None,
                false,
            ),
            (
                "/api/v1/namespaces/default/pods/web/status",
                "pods",
                Some("default"),
                Some("web"),
                Some("status"),
                false,
            ),
            ("/api/v1/namespaces", "namespaces", None, None, None, false),
            (
                "/api/v1/namespaces/kube-system",
                "namespaces",
                None,
                Some("kube-system"),
                None,
                false,
            ),
            (
                "/api/v1/namespaces/kube-system/finalize",
                "namespaces",
                None,
                Some("kube-system"),
                Some("finalize"),
                false,
            ),
            (
                "/api/v1/nodes/n1/status",
                "nodes",
                None,
                Some("n1"),
                Some("status"),
                false,
            ),
            (
                "/api/v1/watch/namespaces/default/pods",
                "pods",
                Some("default"),
                None,
                None,
                true,
            ),
            ("/api/v1/watch/pods", "pods", None, None, None, true),
            (
                "/apis/apps/v1/namespaces/ns/deployments/d/scale",
                "deployments",
                Some("ns"),
                Some("d"),
                Some("scale"),
                false,
            ),
            (
                "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/",
                "leases",
                Some("kube-node-lease"),
                None,
                None,
                false,
            ),
        ];
        for (path, plural, ns, name, sub, watch) in cases {
            let r = res(path);
            assert_eq!(r.kind.plural, *plural, "{path}");
            assert_eq!(r.namespace.as_deref(), *ns, "{path}");
            assert_eq!(r.name.as_deref(), *name, "{path}");
            assert_eq!(r.subresource.as_deref(), *sub, "{path}");
            assert_eq!(r.watch_prefix, *watch, "{path}");
        }
    }

    #[test]
    fn unknown_groups_resources_and_shapes_have_no_route() {
        for path in [
            "/api/v2/pods",
            "/apis/apps/v1/widgets",
            "/apis/nope.io/v1/things",
            "/api/v1/namespaces/default/nodes",
            "/api/v1/pods/web",
            "/api/v1/namespaces/default/pods/web/logs",
            "/api/v1/namespaces/default/configmaps/c/status",
            "/api/v1/namespaces/default/pods/web/status/extra",
            "/api//v1",
            "/metrics",
            "/",
        ] {
            assert!(matches!(parse(path), Err(Failure::NoRoute)), "{path}");
        }
    }

    #[test]
    fn discovery_openapi_and_public_paths_route() {
        assert_eq!(parse("/api").unwrap(), Route::ApiVersions);
        assert_eq!(parse("/apis/").unwrap(), Route::ApiGroupList);
        assert_eq!(parse("/apis/apps").unwrap(), Route::ApiGroup("apps".into()));
        assert_eq!(
            parse("/apis/apps/v1").unwrap(),
            Route::ResourceList {
                group: "apps".into(),
                version: "v1".into()
            }
        );
        assert_eq!(
            parse("/api/v1").unwrap(),
            Route::ResourceList {
                group: String::new(),
                version: "v1".into()
            }
        );
        assert_eq!(parse("/openapi/v3").unwrap(), Route::OpenApiIndex);
        assert_eq!(parse("/openapi/v2").unwrap(), Route::OpenApiV2);
        assert_eq!(
            parse("/openapi/v3/apis/apps/v1").unwrap(),
            Route::OpenApiDocument("apis/apps/v1".into())
        );
        assert_eq!(parse("/version").unwrap(), Route::Version);
        assert_eq!(parse("/readyz").unwrap(), Route::Health);
        assert_eq!(parse("/healthz/ping").unwrap(), Route::Health);
        assert!(!is_public("/healthzz"));
        assert!(!is_public("/api"));
    }

    #[test]
    fn verbs_follow_methods_and_reject_what_does_not_apply() {
        let coll = res("/api/v1/namespaces/default/pods");
        let obj = res("/api/v1/namespaces/default/pods/web");
        let all = res("/api/v1/pods");
        let status = res("/api/v1/namespaces/default/pods/web/status");
        let watch = res("/api/v1/watch/namespaces/default/pods");
        let ns = res("/api/v1/namespaces");
        assert_eq!(verb(&Method::GET, &coll, false).unwrap(), "list");
        assert_eq!(verb(&Method::GET, &coll, true).unwrap(), "watch");
        assert_eq!(verb(&Method::GET, &watch, false).unwrap(), "watch");
        assert_eq!(verb(&Method::POST, &coll, false).unwrap(), "create");
        assert_eq!(
            verb(&Method::DELETE, &coll, false).unwrap(),
            "deletecollection"
        );
        assert_eq!(verb(&Method::GET, &obj, true).unwrap(), "get");
        assert_eq!(verb(&Method::PUT, &obj, false).unwrap(), "update");
        assert_eq!(verb(&Method::PATCH, &obj, false).unwrap(), "patch");
        assert_eq!(verb(&Method::DELETE, &obj, false).unwrap(), "delete");
        assert_eq!(verb(&Method::GET, &status, false).unwrap(), "get");
        assert_eq!(verb(&Method::PUT, &status, false).unwrap(), "update");
        assert_eq!(verb(&Method::GET, &all, false).unwrap(), "list");
        for (m, p) in [
            (Method::POST, &obj),
            (Method::PUT, &coll),
            (Method::PATCH, &coll),
            (Method::POST, &all),
            (Method::DELETE, &all),
            (Method::POST, &watch),
            (Method::DELETE, &ns),
            (Method::OPTIONS, &obj),
        ] {
            let e = verb(&m, p, false).unwrap_err();
            assert_eq!(e.code(), 405, "{m} {p:?}");
        }
    }

    #[test]
    fn watch_parameter_accepts_true_and_one() {
        assert!(watch_requested(Some("true")));
        assert!(watch_requested(Some("1")));
        assert!(!watch_requested(Some("false")));
        assert!(!watch_requested(Some("0")));
        assert!(!watch_requested(None));
    }
}
