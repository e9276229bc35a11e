//! The sync loop: on every change (debounced) and every sync period, build the model from the
//! watched objects, hand it to the dataplane on a blocking thread, record metrics and health,
//! report service ports that failed, and keep health-check node ports in step.

pub mod events;
pub mod fake;
mod trigger;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::FutureExt;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

use crate::dataplane::{Changes, Dataplane, DataplaneError, SyncReport};
use crate::model::{self, ModelWarning, NodeContext, ServicePortName};
use crate::server::{node_port_health, HealthCheckPorts, ProxyStatus};

pub use events::{EventSink, KubeEvents, RecordingEvents, FAILED_TO_PROGRAM};
pub use fake::{FakeDataplane, FakeRecord};
pub use trigger::SyncTrigger;

/// Where the loop reads the current Services and EndpointSlices.
pub trait ObjectSource: Send + Sync {
    /// Every Service and every EndpointSlice, as last seen.
    fn snapshot(&self) -> (Vec<Service>, Vec<EndpointSlice>);
}

/// Timing of the loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncOptions {
    /// A full sync at least this often, changes or not (`--sync-period`).
    pub sync_period: Duration,
    /// Syncs start at least this far apart (`--min-sync-period`).
    pub min_sync_interval: Duration,
    /// Changes arriving within this window after the first coalesce into one sync.
    pub debounce: Duration,
    /// First retry delay after a failed sync; doubles up to `sync_period`.
    pub initial_backoff: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            sync_period: Duration::from_secs(30),
            min_sync_interval: Duration::from_secs(1),
            debounce: Duration::from_millis(10),
            initial_backoff: Duration::from_millis(500),
        }
    }
}

/// Why the loop could not sync.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The dataplane failed as a whole; retried with backoff.
    #[error("dataplane sync failed")]
    Dataplane(#[from] DataplaneError),
    /// The dataplane panicked on its thread and is gone; the proxy must restart.
    #[error("the dataplane panicked; restart the proxy")]
    DataplaneLost,
}

/// Drives a [`Dataplane`] from an [`ObjectSource`].
pub struct SyncLoop {
    dataplane: Option<Box<dyn Dataplane>>,
    source: Arc<dyn ObjectSource>,
    node: NodeContext,
    trigger: SyncTrigger,
    status: Arc<ProxyStatus>,
    options: SyncOptions,
    events: Option<Arc<dyn EventSink>>,
    health_ports: Option<Arc<dyn HealthCheckPorts>>,
    reported: BTreeSet<(ServicePortName, String)>,
    warnings: Vec<ModelWarning>,
}

impl SyncLoop {
    /// A loop syncing `dataplane` to what `source` holds, woken by `trigger`.
    pub fn new(
        dataplane: Box<dyn Dataplane>,
        source: Arc<dyn ObjectSource>,
        node: NodeContext,
        trigger: SyncTrigger,
        status: Arc<ProxyStatus>,
        options: SyncOptions,
    ) -> Self {
        Self {
            dataplane: Some(dataplane),
            source,
            node,
            trigger,
            status,
            options,
            events: None,
            health_ports: None,
            reported: BTreeSet::new(),
            warnings: Vec::new(),
        }
    }

    /// Reports port failures to `events` (besides logging them).
    pub fn with_events(mut self, events: Arc<dyn EventSink>) -> Self {
        self.events = Some(events);
        self
    }

    /// Keeps health-check node ports in step with the model.
    pub fn with_health_check_ports(mut self, ports: Arc<dyn HealthCheckPorts>) -> Self {
        self.health_ports = Some(ports);
        self
    }

    /// Reads the kernel's current state into the dataplane (once, before the first sync).
    pub async fn load(&mut self) -> Result<(), SyncError> {
        let mut dataplane = self.dataplane.take().ok_or(SyncError::DataplaneLost)?;
        let (dataplane, result) = tokio::task::spawn_blocking(move || {
            let result = dataplane.load();
            (dataplane, result)
        })
        .await
        .map_err(|_| SyncError::DataplaneLost)?;
        self.dataplane = Some(dataplane);
        Ok(result?)
    }

    /// One sync: model from the source, dataplane sync, metrics, health, failure reports.
    pub async fn sync_once(&mut self) -> Result<SyncReport, SyncError> {
        let (services, slices) = self.source.snapshot();
        let (model, warnings) = model::build(&services, &slices, &self.node);
        if warnings != self.warnings {
            for warning in warnings.iter().filter(|w| !self.warnings.contains(w)) {
                tracing::warn!(%warning, "part of a Service or EndpointSlice was ignored");
            }
            self.warnings = warnings;
        }
        let mut dataplane = self.dataplane.take().ok_or(SyncError::DataplaneLost)?;
        let started = Instant::now();
        let (dataplane, model, result) = tokio::task::spawn_blocking(move || {
            let result = dataplane.sync(&model, &Changes::All);
            (dataplane, model, result)
        })
        .await
        .map_err(|_| SyncError::DataplaneLost)?;
        let elapsed = started.elapsed();
        let backend = dataplane.name();
        self.dataplane = Some(dataplane);
        let report = match result {
            Ok(report) => report,
            Err(error) => {
                self.status.metrics.record_failure();
                return Err(error.into());
            }
        };
        self.status.metrics.record_sync(elapsed, report.objects);
        self.status.health.record_sync(SystemTime::now());
        tracing::debug!(
            backend,
            ports = report.ports,
            objects = report.objects,
            changes = report.changes,
            failures = report.failures.len(),
            elapsed_ms = elapsed.as_secs_f64() * 1e3,
            "synced"
        );

        let mut current = BTreeSet::new();
        for failure in &report.failures {
            let key = (failure.name.clone(), failure.reason.clone());
            if !self.reported.contains(&key) {
                tracing::warn!(
                    service = %format!("{}/{}", failure.name.namespace, failure.name.name),
                    port = %failure.name, reason = %failure.reason,
                    "cannot program service port; the other ports are programmed"
                );
                if let Some(events) = &self.events {
                    events.failed_to_program(failure);
                }
            }
            current.insert(key);
        }
        self.reported = current;
        if let Some(ports) = &self.health_ports {
            ports.update(&node_port_health::desired(&model));
        }
        Ok(report)
    }

    /// Syncs at once, then on every change and every sync period, until `shutdown` completes.
    /// Start it once the source holds its initial lists: an empty first model would remove
    /// everything programmed. Returns an error only when the dataplane is lost.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), SyncError> {
        let mut shutdown = std::pin::pin!(shutdown.fuse());
        let mut next = tokio::time::Instant::now();
        let mut last_start: Option<tokio::time::Instant> = None;
        let mut backoff = self.options.initial_backoff;
        loop {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                () = self.trigger.changed() => {
                    tokio::time::sleep(self.options.debounce).await;
                    // Signals that came during the debounce are part of this sync.
                    let _ = self.trigger.changed().now_or_never();
                }
                () = tokio::time::sleep_until(next) => {}
            }
            if let Some(last) = last_start {
                tokio::time::sleep_until(last + self.options.min_sync_interval).await;
            }
            last_start = Some(tokio::time::Instant::now());
            match self.sync_once().await {
                Ok(_) => {
                    backoff = self.options.initial_backoff;
                    next = tokio::time::Instant::now() + self.options.sync_period;
                }
                Err(SyncError::Dataplane(error)) => {
                    tracing::error!(error = %error, source = ?std::error::Error::source(&error),
                        retry_in_ms = backoff.as_millis() as u64, "sync failed; retrying");
                    next = tokio::time::Instant::now() + backoff;
                    backoff = (backoff * 2).min(self.options.sync_period);
                }
                Err(fatal) => return Err(fatal),
            }
        }
    }
}
