//! Answers outside resources: health, `/version`, discovery and OpenAPI v3.

use http::{header, HeaderValue, Response};
use serde_json::{json, Value};

use crate::{discovery, openapi};

use super::body::{bytes_response, json_response, text_response, Body, JSON};
use super::failure::Failure;
use super::ApiState;

/// The Kubernetes version this server reports.
pub const GIT_VERSION: &str = "v1.33.0";

/// The `/version` document.
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "emulationMajor": "1",
        "emulationMinor": "33",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "32",
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-04-23T00:00:00Z",
        "goVersion": "",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// `ok` for `/healthz`, `/livez`, `/readyz`.
pub fn health() -> Response<Body> {
    text_response(200, "ok")
}

fn no_cache(mut resp: Response<Body>) -> Response<Body> {
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    resp
}

/// `/api` and `/apis`: legacy documents, or aggregated discovery when asked for.
pub fn discovery_root(state: &ApiState, legacy: bool, accept: Option<&str>) -> Response<Body> {
    if let Some(version) = discovery::requested_version(accept.unwrap_or("")) {
        let doc = discovery::aggregated_in(legacy, version);
        let bytes = serde_json::to_vec(&doc).expect("a JSON value always serializes");
        let mut resp = bytes_response(200, version.content_type(), bytes);
        resp.headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Accept"));
        return no_cache(resp);
    }
    let doc = if legacy {
        let s = &state.settings;
        discovery::api_versions(&format!("{}:{}", s.advertise_address, s.advertise_port))
    } else {
        discovery::api_group_list()
    };
    no_cache(json_response(200, &doc))
}

/// `/apis/<group>`.
pub fn group(group: &str) -> Result<Response<Body>, Failure> {
    let doc = discovery::api_group(group).ok_or(Failure::NoRoute)?;
    Ok(no_cache(json_response(200, &doc)))
}

/// `/api/v1`, `/apis/<group>/<version>`.
pub fn resources(group: &str, version: &str) -> Result<Response<Body>, Failure> {
    let doc = discovery::resource_list(group, version).ok_or(Failure::NoRoute)?;
    Ok(no_cache(json_response(200, &doc)))
}

/// `/openapi/v2` (a minimal Swagger document older kubectl fetches first).
pub fn openapi_v2(accept: Option<&str>) -> Response<Body> {
    let (content_type, bytes) = openapi::v2_document(accept.unwrap_or(""));
    no_cache(bytes_response(200, content_type, bytes))
}

/// `/openapi/v3`.
pub fn openapi_index() -> Response<Body> {
    no_cache(json_response(200, &openapi::index()))
}

/// `/openapi/v3/<path>`: immutable when addressed by its current hash, redirected to it when
/// addressed by an old one.
pub fn openapi_document(path: &str, hash: Option<&str>) -> Result<Response<Body>, Failure> {
    let (current, bytes) = openapi::document(path).ok_or(Failure::NoRoute)?;
    match hash {
        Some(h) if !h.is_empty() && h != current => {
            let mut resp = text_response(301, "");
            let location = format!("/openapi/v3/{path}?hash={current}");
            if let Ok(v) = HeaderValue::from_str(&location) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            Ok(resp)
        }
        Some(h) if !h.is_empty() => {
            let mut resp = bytes_response(200, JSON, bytes.as_ref().clone());
            let h = resp.headers_mut();
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, immutable"),
            );
            h.insert(
                header::EXPIRES,
                HeaderValue::from_static("Fri, 01 Jan 2100 00:00:00 GMT"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("\"{current}\"")) {
                h.insert(header::ETAG, v);
            }
            Ok(resp)
        }
        _ => {
            let mut resp = no_cache(bytes_response(200, JSON, bytes.as_ref().clone()));
            if let Ok(v) = HeaderValue::from_str(&format!("\"{current}\"")) {
                resp.headers_mut().insert(header::ETAG, v);
            }
            Ok(resp)
        }
    }
}
