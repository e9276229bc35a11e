//! Response bodies: whole JSON documents and streams of chunks (watch).

use std::convert::Infallible;

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use serde_json::Value;
use tokio::sync::mpsc;

/// The body type of every response: a full buffer or a stream of chunks.
pub type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, Infallible>;

/// `application/json`, the content type of every JSON answer.
pub const JSON: &str = "application/json";

/// A body holding `bytes`.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

/// A body that yields each chunk sent on the returned channel and ends when it is dropped.
pub fn channel(capacity: usize) -> (mpsc::Sender<Bytes>, Body) {
    let (tx, rx) = mpsc::channel::<Bytes>(capacity);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, Infallible>(Frame::data(chunk)), rx))
    });
    (tx, StreamBody::new(stream).boxed_unsync())
}

/// A response with `status` and a JSON document.
pub fn json_response(status: u16, value: &Value) -> Response<Body> {
    let bytes = serde_json::to_vec(value).expect("a JSON value always serializes");
    bytes_response(status, JSON, bytes)
}

/// A response with `status`, `content_type` and the given bytes.
pub fn bytes_response(status: u16, content_type: &str, bytes: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(full(bytes));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

/// A `text/plain` response (health checks).
pub fn text_response(status: u16, text: &'static str) -> Response<Body> {
    bytes_response(status, "text/plain; charset=utf-8", text)
}
