//! TLS transport: accepts connections, negotiates HTTP/2 or HTTP/1.1 by ALPN, hands the
//! verified client certificate and the size-limited body to [`super::handle`].

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Request, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::api::ApiError;
use crate::auth::Authenticator;

use super::body::Body;
use super::failure::Failure;
use super::router::handle;
use super::ApiState;

/// Largest request body accepted (3 MiB, as upstream).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves the API on `listener` with TLS until the listener fails.
pub async fn serve(
    listener: TcpListener,
    tls_config: Arc<rustls::ServerConfig>,
    state: Arc<ApiState>,
    authenticator: Arc<Authenticator>,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(tls_config);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let state = Arc::clone(&state);
        let authn = Arc::clone(&authenticator);
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let cert: Option<Arc<Vec<u8>>> = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| Arc::new(c.as_ref().to_vec()));
            let service = service_fn(move |req: Request<Incoming>| {
                let state = Arc::clone(&state);
                let authn = Arc::clone(&authn);
                let cert = cert.clone();
                async move {
                    Ok::<_, Infallible>(
                        serve_one(&state, &authn, req, cert.as_deref().map(|c| c.as_slice())).await,
                    )
                }
            });
            if let Err(e) = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await
            {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}

async fn serve_one(
    state: &Arc<ApiState>,
    authn: &Authenticator,
    req: Request<Incoming>,
    cert: Option<&[u8]>,
) -> Response<Body> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Failure::TooLarge {
            limit: MAX_BODY_BYTES,
        }
        .to_response();
    }
    let (parts, body) = req.into_parts();
    let bytes: Bytes = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return Failure::TooLarge {
                limit: MAX_BODY_BYTES,
            }
            .to_response()
        }
        Err(e) => {
            return Failure::Api(ApiError::BadRequest(format!(
                "the request body could not be read: {e}"
            )))
            .to_response()
        }
    };
    handle(state, authn, Request::from_parts(parts, bytes), cert).await
}
