//! The proxy's HTTP endpoints: its own health on `--healthz-bind-address`, Prometheus metrics on
//! `--metrics-bind-address`, and the health-check node ports of Services.

pub mod health;
pub mod http;
pub mod metrics;
pub mod node_port_health;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

pub use health::Health;
pub use http::{Handler, Reply};
pub use metrics::Metrics;
pub use node_port_health::{HealthCheckPorts, NodePortListeners, ServiceHealth};

/// What the sync loop records and the servers report.
#[derive(Debug)]
pub struct ProxyStatus {
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Freshness of the last sync.
    pub health: Health,
}

impl ProxyStatus {
    /// Fresh status for a proxy started at `started` with `sync_period`.
    pub fn new(started: SystemTime, sync_period: std::time::Duration) -> Self {
        Self {
            metrics: Metrics::default(),
            health: Health::new(started, sync_period),
        }
    }
}

/// Answers `/healthz` and `/livez` with the proxy's health.
pub fn health_handler(status: Arc<ProxyStatus>) -> Handler {
    Arc::new(move |path: &str| match path {
        "/healthz" | "/livez" => {
            let (code, body) = status.health.respond(SystemTime::now());
            Reply::json(code, body)
        }
        _ => Reply::text(404, "not found\n"),
    })
}

/// Answers `/metrics` with the Prometheus text format.
pub fn metrics_handler(status: Arc<ProxyStatus>) -> Handler {
    Arc::new(move |path: &str| match path {
        "/metrics" => Reply {
            status: 200,
            content_type: "text/plain; version=0.0.4; charset=utf-8",
            body: status.metrics.render(),
        },
        _ => Reply::text(404, "not found\n"),
    })
}

/// Binds the health and metrics servers and serves them in the background; returns the bound
/// addresses (health, metrics).
pub async fn spawn(
    healthz: SocketAddr,
    metrics: SocketAddr,
    status: Arc<ProxyStatus>,
) -> std::io::Result<(SocketAddr, SocketAddr)> {
    let (h, _) = http::spawn(healthz, health_handler(status.clone())).await?;
    let (m, _) = http::spawn(metrics, metrics_handler(status)).await?;
    Ok((h, m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn healthz_livez_and_metrics_are_served_over_http() {
        let status = Arc::new(ProxyStatus::new(SystemTime::now(), Duration::from_secs(30)));
        status.metrics.record_sync(Duration::from_millis(5), 4);
        status.health.record_sync(SystemTime::now());
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        let (h, m) = spawn(any, any, status).await.unwrap();
        let (healthz, livez, metrics, missing) = tokio::task::spawn_blocking(move || {
            (
                http::get(h, "/healthz"),
                http::get(h, "/livez"),
                http::get(m, "/metrics"),
                http::get(m, "/nope"),
            )
        })
        .await
        .unwrap();
        assert_eq!(healthz.0, 200);
        assert!(
            healthz.1.contains(r#""nodeEligible":true"#),
            "{}",
            healthz.1
        );
        assert_eq!(livez.0, 200);
        assert_eq!(metrics.0, 200);
        assert!(metrics.1.contains("skiff_proxy_objects_programmed 4"));
        assert_eq!(missing.0, 404);
    }
}
