//! One sync: bring the model up to date (all of it, or the dirty Services), hand it to the
//! dataplane, then metrics, health, failure reports and health-check node ports.

use std::collections::BTreeSet;
use std::time::{Instant, SystemTime};

use crate::dataplane::{Changes, SyncReport};
use crate::model::{ModelTracker, ServicePortName};
use crate::server::node_port_health;

use super::{Dirty, ObjectSource, SyncError, SyncLoop};

impl SyncLoop {
    /// Whether the next sync must rebuild everything: the first one, the one after a failure,
    /// and one at least every sync period.
    fn full_due(&self) -> bool {
        self.full_needed
            || self
                .last_full
                .is_none_or(|t| t.elapsed() >= self.options.sync_period)
    }

    /// One sync: model from the source, dataplane sync, metrics, health, failure reports.
    pub async fn sync_once(&mut self) -> Result<SyncReport, SyncError> {
        let full = self.full_due();
        let mut dataplane = self.dataplane.take().ok_or(SyncError::DataplaneLost)?;
        let mut tracker = self.tracker.take().ok_or(SyncError::DataplaneLost)?;
        let source = self.source.clone();
        let begun = tokio::time::Instant::now();
        let started = Instant::now();
        // The model is rebuilt on the blocking thread too: a full rebuild of 10k Services is
        // not work for the async runtime.
        let (dataplane, mut tracker, changes, result) = tokio::task::spawn_blocking(move || {
            let changes = refresh(&mut tracker, &*source, full);
            let result = match &changes {
                Changes::Ports(names) if names.is_empty() => None,
                changes => Some(dataplane.sync(tracker.model(), changes)),
            };
            (dataplane, tracker, changes, result)
        })
        .await
        .map_err(|_| SyncError::DataplaneLost)?;
        let elapsed = started.elapsed();
        let backend = dataplane.name();
        self.dataplane = Some(dataplane);
        for warning in tracker.take_new_warnings() {
            tracing::warn!(%warning, "part of a Service or EndpointSlice was ignored");
        }
        let model_ports = tracker.model().ports.len();
        self.tracker = Some(tracker);

        let report = match result {
            None => {
                self.status.health.record_sync(SystemTime::now());
                tracing::trace!(backend, "no service port changed; dataplane not called");
                return Ok(SyncReport {
                    changes: 0,
                    duration: elapsed,
                    ..self.last_report.clone()
                });
            }
            Some(Ok(report)) => report,
            Some(Err(error)) => {
                self.full_needed = true;
                self.status.metrics.record_failure();
                return Err(error.into());
            }
        };
        self.full_needed = false;
        if changes == Changes::All {
            self.last_full = Some(begun);
        }
        self.status.metrics.record_sync(elapsed, report.objects);
        self.status.health.record_sync(SystemTime::now());
        tracing::debug!(
            backend,
            full = changes == Changes::All,
            changed_ports = match &changes {
                Changes::All => model_ports,
                Changes::Ports(names) => names.len(),
            },
            ports = report.ports,
            objects = report.objects,
            changes = report.changes,
            failures = report.failures.len(),
            elapsed_ms = elapsed.as_secs_f64() * 1e3,
            "synced"
        );
        self.report_failures(&report, &changes);
        self.update_health_checks(&changes);
        self.last_report = report.clone();
        Ok(report)
    }
}

/// Brings `tracker` up to date with `source`: everything when `full` or after a relist
/// ([`Changes::All`]), else the dirty Services ([`Changes::Ports`] with what changed).
fn refresh(tracker: &mut ModelTracker, source: &dyn ObjectSource, full: bool) -> Changes {
    // Taken before reading: a change landing after this is reported by the next take.
    let dirty = source.take_dirty();
    let keys = match dirty {
        Dirty::Services(keys) if !full => keys,
        _ => {
            let (services, slices) = source.snapshot();
            tracker.rebuild_all(&services, &slices);
            return Changes::All;
        }
    };
    let mut changed = BTreeSet::new();
    for key in keys {
        let objects = source.service(&key);
        changed.extend(tracker.update_service(&key, objects.service.as_deref(), &objects.slices));
    }
    Changes::Ports(changed)
}

impl SyncLoop {
    /// Logs and reports failures not reported before. After a partial sync only the changed
    /// ports' failures are replaced: the dataplane may report just the ports it looked at.
    fn report_failures(&mut self, report: &SyncReport, changes: &Changes) {
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
        match changes {
            Changes::All => self.reported = current,
            Changes::Ports(names) => {
                self.reported.retain(|(name, _)| !names.contains(name));
                self.reported.extend(current);
            }
        }
    }

    /// Updates the health-check listeners when a full sync ran or a changed port has or had
    /// a health-check node port; the work follows the number of such ports, not the model.
    fn update_health_checks(&mut self, changes: &Changes) {
        let Some(listeners) = &self.health_ports else {
            return;
        };
        let Some(model) = self.tracker.as_ref().map(ModelTracker::model) else {
            return;
        };
        let has_check = |name: &ServicePortName| {
            model
                .ports
                .get(name)
                .is_some_and(|p| p.health_check_node_port.is_some())
        };
        match changes {
            Changes::All => {
                self.health_checked = model
                    .ports
                    .values()
                    .filter(|p| p.health_check_node_port.is_some())
                    .map(|p| p.name.clone())
                    .collect();
            }
            Changes::Ports(names) => {
                let mut touched = false;
                for name in names {
                    let had = self.health_checked.remove(name);
                    let has = has_check(name);
                    if has {
                        self.health_checked.insert(name.clone());
                    }
                    touched |= had || has;
                }
                if !touched {
                    return;
                }
            }
        }
        listeners.update(&node_port_health::desired_for(
            model,
            self.health_checked.iter(),
        ));
    }
}
