//! The transport-free request handler: authentication, routing, authorization and dispatch to
//! the read path, the write path, discovery and OpenAPI.

use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response};

use crate::api::ApiError;
use crate::auth::{Authenticator, UserInfo};
use crate::printers::IncludeObject;

use super::body::{bytes_response, json_response, Body, JSON};
use super::failure::Failure;
use super::route::{self, ResourcePath, Route};
use super::{
    authz, list_body, meta, negotiate, params, read, watch, write, ApiState, Reply, ResourceRequest,
};

/// Answers one request. `client_cert` is the verified client certificate (DER) of the
/// connection, if any. Never panics on client input; every failure is a `Status`.
pub async fn handle(
    state: &Arc<ApiState>,
    authn: &Authenticator,
    request: Request<Bytes>,
    client_cert: Option<&[u8]>,
) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let method = parts.method.clone();
    let header = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let authorization = header(header::AUTHORIZATION);
    let incoming = Incoming {
        query: parts
            .uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default(),
        accept: header(header::ACCEPT),
        content_type: header(header::CONTENT_TYPE),
        user_agent: header(header::USER_AGENT),
        body,
    };
    let user = authn.authenticate(client_cert, authorization.as_deref());
    let user_name = user.as_ref().map(|u| u.name.clone()).unwrap_or_default();
    let resp = match dispatch(
        state,
        user,
        authorization.is_some(),
        &method,
        &path,
        incoming,
    )
    .await
    {
        Ok(r) => r,
        Err(f) => f.to_response(),
    };
    tracing::debug!(
        method = %method,
        path = %path,
        user = %user_name,
        status = resp.status().as_u16(),
        "request"
    );
    resp
}

/// What a handler needs from the request besides method and path.
struct Incoming {
    query: Vec<(String, String)>,
    accept: Option<String>,
    content_type: Option<String>,
    user_agent: Option<String>,
    body: Bytes,
}

impl Incoming {
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn method_not_allowed() -> Failure {
    Failure::Api(ApiError::MethodNotAllowed(
        "the server does not allow this method on the requested resource".into(),
    ))
}

async fn dispatch(
    state: &Arc<ApiState>,
    user: Option<UserInfo>,
    sent_credentials: bool,
    method: &Method,
    path: &str,
    req: Incoming,
) -> Result<Response<Body>, Failure> {
    let route = route::parse(path);
    let user = match user {
        Some(u) => u,
        // Credentials that do not authenticate are refused even on public paths.
        None if sent_credentials => return Err(ApiError::Unauthorized.into()),
        None => match route {
            Ok(Route::Health | Route::Version) => UserInfo {
                name: "system:anonymous".into(),
                groups: vec!["system:unauthenticated".into()],
            },
            _ => return Err(ApiError::Unauthorized.into()),
        },
    };
    let route = match route {
        Ok(Route::Resource(rp)) => return resource(state, &user, method, path, rp, req).await,
        Ok(r @ (Route::Health | Route::Version)) => r,
        other => {
            authz::non_resource(state, &user, &method.as_str().to_ascii_lowercase(), path)?;
            other?
        }
    };
    if method != Method::GET && method != Method::HEAD {
        return Err(method_not_allowed());
    }
    let accept = req.accept.as_deref();
    match route {
        Route::Health => Ok(meta::health()),
        Route::Version => Ok(json_response(200, &meta::version())),
        Route::ApiVersions => Ok(meta::discovery_root(state, true, accept)),
        Route::ApiGroupList => Ok(meta::discovery_root(state, false, accept)),
        Route::ApiGroup(g) => meta::group(&g),
        Route::ResourceList { group, version } => meta::resources(&group, &version),
        Route::OpenApiV2 => Ok(meta::openapi_v2(accept)),
        Route::OpenApiIndex => Ok(meta::openapi_index()),
        Route::OpenApiDocument(p) => meta::openapi_document(&p, req.param("hash")),
        Route::Resource(_) => Err(Failure::NoRoute),
    }
}

async fn resource(
    state: &Arc<ApiState>,
    user: &UserInfo,
    method: &Method,
    request_path: &str,
    mut rp: ResourcePath,
    req: Incoming,
) -> Result<Response<Body>, Failure> {
    let watch = route::watch_requested(req.param("watch"));
    let verb = route::verb(method, &rp, watch)?;
    let reads_collection = matches!(verb, "list" | "watch") && rp.subresource.is_none();
    let mut list_params =
        reads_collection.then(|| params::parse(rp.kind, &req.query, verb == "watch"));
    if verb == "watch" && rp.name.is_some() {
        // `/watch/.../pods/web` is a watch of the collection narrowed to one name.
        if let Some(Ok(p)) = &mut list_params {
            p.fields
                .require_name(rp.name.as_deref().unwrap_or_default());
        }
    }
    // As upstream, a list or watch pinned to one name is authorized for that name.
    let mut authz_path = rp.clone();
    if let Some(Ok(p)) = &list_params {
        if let Some(name) = p.fields.exact_name() {
            authz_path.name = Some(name.to_string());
        }
    }
    authz::resource(state, user, verb, &authz_path, request_path)?;

    if rp.subresource.is_some() || !matches!(verb, "get" | "list" | "watch") {
        let request = ResourceRequest {
            verb,
            kind: rp.kind,
            namespace: rp.namespace,
            name: rp.name,
            subresource: rp.subresource,
            query: req.query,
            content_type: req.content_type,
            body: req.body,
            user: user.clone(),
            user_agent: req.user_agent,
        };
        let reply = write::handle(state, &request).await?;
        return Ok(reply_response(reply));
    }
    let repr = negotiate::representation(req.accept.as_deref())?;
    match (verb, list_params) {
        ("get", _) => {
            let include = IncludeObject::from_query(req.param("includeObject"))?;
            let name = rp.name.take().unwrap_or_default();
            let obj = read::get(state, &rp, &name, repr, include).await?;
            Ok(json_response(200, &obj))
        }
        ("list", Some(p)) => Ok(bytes_response(
            200,
            JSON,
            list_body::list(state, &rp, &p?, repr).await?,
        )),
        ("watch", Some(p)) => watch::start(Arc::clone(state), rp, p?, repr).await,
        _ => Err(method_not_allowed()),
    }
}

/// The response for a write-path reply, with its `Warning` headers.
fn reply_response(reply: Reply) -> Response<Body> {
    let mut resp = json_response(reply.status, &reply.body);
    for w in reply.warnings {
        let text = format!("299 - \"{}\"", w.replace('\\', "\\\\").replace('"', "\\\""));
        if let Ok(v) = HeaderValue::from_str(&text) {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
    resp
}
