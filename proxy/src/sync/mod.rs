//! The sync loop: on every change (debounced) and every sync period, bring the model up to date
//! with the watched objects, hand it to the dataplane on a blocking thread, record metrics and
//! health, report service ports that failed, keep health-check node ports in step, and run the
//! dataplane's housekeeping between syncs.
//!
//! The first sync, the sync at least every sync period, the sync after a failed one and the
//! sync after a relist rebuild the whole model and pass [`Changes::All`]; every other sync
//! rebuilds only the Services the source reports dirty and passes [`Changes::Ports`] with the
//! port names that changed. When no port changed, the dataplane is not called at all (the
//! kernel already matches the model): the sync counts as successful for health, records no
//! duration, and returns the previous report with `changes: 0`.

pub mod events;
pub mod fake;
mod once;
mod source;
mod trigger;

#[cfg(test)]
mod incremental_tests;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;

use crate::dataplane::{Dataplane, DataplaneError, SyncReport};
use crate::model::{ModelTracker, NodeContext, ServicePortName};
use crate::server::{HealthCheckPorts, ProxyStatus};

pub use events::{EventSink, KubeEvents, RecordingEvents, FAILED_TO_PROGRAM};
pub use fake::{FakeDataplane, FakeRecord};
pub use source::{Dirty, MemorySource, ObjectSource, ServiceObjects};
pub use trigger::SyncTrigger;

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
    /// The dataplane's housekeeping runs this often between syncs; zero disables it.
    pub housekeep_interval: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            sync_period: Duration::from_secs(30),
            min_sync_interval: Duration::from_secs(1),
            debounce: Duration::from_millis(10),
            initial_backoff: Duration::from_millis(500),
            housekeep_interval: Duration::from_secs(2),
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
    tracker: Option<ModelTracker>,
    source: Arc<dyn ObjectSource>,
    trigger: SyncTrigger,
    status: Arc<ProxyStatus>,
    options: SyncOptions,
    events: Option<Arc<dyn EventSink>>,
    health_ports: Option<Arc<dyn HealthCheckPorts>>,
    reported: BTreeSet<(ServicePortName, String)>,
    /// Ports of the model with a health-check node port.
    health_checked: BTreeSet<ServicePortName>,
    /// Set until a sync succeeds: the next sync rebuilds everything.
    full_needed: bool,
    last_full: Option<tokio::time::Instant>,
    last_report: SyncReport,
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
            tracker: Some(ModelTracker::new(node)),
            source,
            trigger,
            status,
            options,
            events: None,
            health_ports: None,
            reported: BTreeSet::new(),
            health_checked: BTreeSet::new(),
            full_needed: true,
            last_full: None,
            last_report: SyncReport::default(),
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

    /// Runs the dataplane's housekeeping on a blocking thread; returns how many kernel
    /// objects it changed.
    pub async fn housekeep(&mut self) -> Result<usize, SyncError> {
        let mut dataplane = self.dataplane.take().ok_or(SyncError::DataplaneLost)?;
        let (dataplane, result) = tokio::task::spawn_blocking(move || {
            let result = dataplane.housekeep();
            (dataplane, result)
        })
        .await
        .map_err(|_| SyncError::DataplaneLost)?;
        self.dataplane = Some(dataplane);
        Ok(result?)
    }

    /// Syncs at once, then on every change and every sync period, until `shutdown` completes;
    /// housekeeps every `housekeep_interval` while no sync runs. Start it once the source holds
    /// its initial lists: an empty first model would remove everything programmed. Returns an
    /// error only when the dataplane is lost.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), SyncError> {
        let mut shutdown = std::pin::pin!(shutdown.fuse());
        let housekeeping = !self.options.housekeep_interval.is_zero();
        let mut next = tokio::time::Instant::now();
        let mut next_housekeep = tokio::time::Instant::now() + self.options.housekeep_interval;
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
                () = tokio::time::sleep_until(next_housekeep), if housekeeping => {
                    match self.housekeep().await {
                        Ok(0) => {}
                        Ok(changed) => tracing::debug!(changed, "housekeeping done"),
                        Err(SyncError::Dataplane(error)) => tracing::warn!(
                            error = %error, source = ?std::error::Error::source(&error),
                            "housekeeping failed; retrying at the next interval"),
                        Err(fatal) => return Err(fatal),
                    }
                    next_housekeep = tokio::time::Instant::now() + self.options.housekeep_interval;
                    continue;
                }
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
