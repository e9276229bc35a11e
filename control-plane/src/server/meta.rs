//! Answers outside resources: health, `/version`, discovery and OpenAPI v3.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
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
        let bytes = aggregated_bytes(legacy, version);
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

/// The serialized aggregated discovery document, built once per (root, version): it depends
/// only on the static registry.
fn aggregated_bytes(legacy: bool, version: discovery::AggregatedVersion) -> Bytes {
    static CACHE: [OnceLock<Bytes>; 4] = [const { OnceLock::new() }; 4];
    let slot =
        usize::from(legacy) * 2 + usize::from(version == discovery::AggregatedVersion::V2Beta1);
    CACHE[slot]
        .get_or_init(|| {
            let doc = discovery::aggregated_in(legacy, version);
            Bytes::from(serde_json::to_vec(&doc).expect("a JSON value always serializes"))
        })
        .clone()
}

/// A cached OpenAPI document shared with the response body without copying it.
struct SharedDocument(Arc<Vec<u8>>);

impl AsRef<[u8]> for SharedDocument {
    fn as_ref(&self) -> &[u8] {
        self.0.as_slice()
    }
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
    let (current, doc) = openapi::document(path).ok_or(Failure::NoRoute)?;
    let bytes = Bytes::from_owner(SharedDocument(doc));
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
            let mut resp = bytes_response(200, JSON, bytes);
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
            let mut resp = no_cache(bytes_response(200, JSON, bytes));
            if let Ok(v) = HeaderValue::from_str(&format!("\"{current}\"")) {
                resp.headers_mut().insert(header::ETAG, v);
            }
            Ok(resp)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use discovery::AggregatedVersion::{V2Beta1, V2};

    #[test]
    fn cached_aggregated_documents_are_kept_apart_by_root_and_version() {
        for legacy in [true, false] {
            for version in [V2, V2Beta1] {
                for _ in 0..2 {
                    let doc: Value = serde_json::from_slice(&aggregated_bytes(legacy, version))
                        .expect("cached document is JSON");
                    assert_eq!(doc, discovery::aggregated_in(legacy, version));
                }
            }
        }
    }
}
