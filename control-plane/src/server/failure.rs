//! Why a request failed, as it crosses the wire: an [`ApiError`] or one of the few `Status`
//! shapes the API server answers outside any resource (unknown path, oversized body, …).

use http::Response;
use serde_json::{json, Value};

use crate::api::ApiError;
use crate::store::StoreError;

use super::body::{json_response, Body};

/// A failed request.
#[derive(Debug, Clone)]
pub enum Failure {
    /// An error of the API machinery.
    Api(ApiError),
    /// No route matches the path (404 with upstream's generic message).
    NoRoute,
    /// The body exceeds the size limit (413).
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A continue token whose revision was compacted (410 with a token to go on at latest).
    ExpiredContinue {
        /// Token continuing after the same key at the latest revision.
        token: String,
    },
    /// A resourceVersion newer than the store's (504, upstream's `ResourceVersionTooLarge`).
    TooLargeResourceVersion {
        /// The resourceVersion asked for.
        requested: i64,
        /// The store's current revision.
        current: i64,
    },
}

/// Message of a 410 for a continue token whose list revision was compacted (upstream's).
pub const INCONSISTENT_CONTINUE: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Api(e)
    }
}

impl Failure {
    /// The HTTP status code.
    pub fn code(&self) -> u16 {
        match self {
            Failure::Api(e) => e.code(),
            Failure::NoRoute => 404,
            Failure::TooLarge { .. } => 413,
            Failure::ExpiredContinue { .. } => 410,
            Failure::TooLargeResourceVersion { .. } => 504,
        }
    }

    /// The `Status` body.
    pub fn to_status(&self) -> Value {
        match self {
            Failure::Api(e) => e.to_status(),
            Failure::NoRoute => status(
                404,
                "NotFound",
                "the server could not find the requested resource",
                Some(json!({})),
            ),
            Failure::TooLarge { limit } => status(
                413,
                "RequestEntityTooLarge",
                &format!("Request entity too large: limit is {limit}"),
                None,
            ),
            Failure::ExpiredContinue { token } => {
                let mut s = status(410, "Expired", INCONSISTENT_CONTINUE, None);
                s["metadata"] = json!({"continue": token});
                s
            }
            Failure::TooLargeResourceVersion { requested, current } => {
                let mut s = status(
                    504,
                    "Timeout",
                    &format!("Too large resource version: {requested}, current: {current}"),
                    None,
                );
                s["details"] = json!({
                    "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                    "retryAfterSeconds": 1
                });
                s
            }
        }
    }

    /// The response carrying the `Status`.
    pub fn to_response(&self) -> Response<Body> {
        json_response(self.code(), &self.to_status())
    }
}

fn status(code: u16, reason: &str, message: &str, details: Option<Value>) -> Value {
    let mut s = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if let Some(d) = details {
        s["details"] = d;
    }
    s
}

/// Maps a store failure outside the cases callers handle themselves.
pub fn from_store(e: StoreError) -> Failure {
    match e {
        StoreError::FutureRevision { requested, current } => {
            Failure::TooLargeResourceVersion { requested, current }
        }
        StoreError::Compacted { requested, oldest } => Failure::Api(ApiError::Expired(format!(
            "too old resource version: {requested} ({})",
            oldest - 1
        ))),
        StoreError::Closed => Failure::Api(ApiError::ServiceUnavailable(
            "the store is shutting down".into(),
        )),
        other => Failure::Api(ApiError::Internal(other.to_string())),
    }
}
