//! The proxy's Prometheus metrics, rendered in the text exposition format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Histogram buckets of the sync duration, as kube-proxy's (exponential from 1 ms, factor 2).
pub const SYNC_DURATION_BUCKETS: [f64; 15] = [
    0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096,
    8.192, 16.384,
];

/// Counters, gauges and the sync-duration histogram; shared by the sync loop and the server.
#[derive(Debug, Default)]
pub struct Metrics {
    durations: Mutex<Histogram>,
    objects_programmed: AtomicU64,
    sync_failures: AtomicU64,
}

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; SYNC_DURATION_BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    /// Records a successful sync: its duration and the objects now programmed.
    pub fn record_sync(&self, duration: Duration, objects: usize) {
        let secs = duration.as_secs_f64();
        let mut h = self.durations.lock().unwrap_or_else(|e| e.into_inner());
        for (bound, count) in SYNC_DURATION_BUCKETS.iter().zip(h.counts.iter_mut()) {
            if secs <= *bound {
                *count += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
        self.objects_programmed
            .store(objects as u64, Ordering::Relaxed);
    }

    /// Counts a sync that failed as a whole.
    pub fn record_failure(&self) {
        self.sync_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Whole-sync failures so far.
    pub fn sync_failures(&self) -> u64 {
        self.sync_failures.load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let h = self.durations.lock().unwrap_or_else(|e| e.into_inner());
        let name = "kubeproxy_sync_proxy_rules_duration_seconds";
        let _ = writeln!(out, "# HELP {name} SyncProxyRules latency in seconds");
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (bound, count) in SYNC_DURATION_BUCKETS.iter().zip(h.counts.iter()) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
        let _ = writeln!(out, "{name}_sum {}", h.sum);
        let _ = writeln!(out, "{name}_count {}", h.count);
        let gauge = "skiff_proxy_objects_programmed";
        let _ = writeln!(
            out,
            "# HELP {gauge} Kernel objects (virtual and real servers, rules, map elements) programmed"
        );
        let _ = writeln!(out, "# TYPE {gauge} gauge");
        let _ = writeln!(
            out,
            "{gauge} {}",
            self.objects_programmed.load(Ordering::Relaxed)
        );
        let counter = "skiff_proxy_sync_failures_total";
        let _ = writeln!(out, "# HELP {counter} Syncs that failed as a whole");
        let _ = writeln!(out, "# TYPE {counter} counter");
        let _ = writeln!(out, "{counter} {}", self.sync_failures());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_shows_cumulative_buckets_gauge_and_counter() {
        let m = Metrics::default();
        m.record_sync(Duration::from_millis(3), 7);
        m.record_sync(Duration::from_millis(100), 9);
        m.record_failure();
        let text = m.render();
        let line = |prefix: &str| {
            text.lines()
                .find(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
                .to_string()
        };
        let b = "kubeproxy_sync_proxy_rules_duration_seconds_bucket";
        assert_eq!(
            line(&format!("{b}{{le=\"0.002\"}}")),
            format!("{b}{{le=\"0.002\"}} 0")
        );
        assert_eq!(
            line(&format!("{b}{{le=\"0.004\"}}")),
            format!("{b}{{le=\"0.004\"}} 1")
        );
        assert_eq!(
            line(&format!("{b}{{le=\"0.128\"}}")),
            format!("{b}{{le=\"0.128\"}} 2")
        );
        assert_eq!(
            line(&format!("{b}{{le=\"+Inf\"}}")),
            format!("{b}{{le=\"+Inf\"}} 2")
        );
        assert_eq!(
            line("kubeproxy_sync_proxy_rules_duration_seconds_count"),
            "kubeproxy_sync_proxy_rules_duration_seconds_count 2"
        );
        assert_eq!(
            line("skiff_proxy_objects_programmed "),
            "skiff_proxy_objects_programmed 9"
        );
        assert_eq!(
            line("skiff_proxy_sync_failures_total "),
            "skiff_proxy_sync_failures_total 1"
        );
        assert!(text.contains("# TYPE kubeproxy_sync_proxy_rules_duration_seconds histogram"));
    }
}
