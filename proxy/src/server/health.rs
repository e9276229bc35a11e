//! The proxy's own health (`/healthz`, `/livez`): healthy while syncs keep happening.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// When the last successful sync happened, judged against the sync period.
#[derive(Debug)]
pub struct Health {
    started: SystemTime,
    last_updated: Mutex<Option<SystemTime>>,
    timeout: Duration,
}

impl Health {
    /// Healthy until a sync is older than twice `sync_period` (counting from `started` before
    /// the first sync).
    pub fn new(started: SystemTime, sync_period: Duration) -> Self {
        Self {
            started,
            last_updated: Mutex::new(None),
            timeout: sync_period * 2,
        }
    }

    /// Records a successful sync at `at`.
    pub fn record_sync(&self, at: SystemTime) {
        *self.last_updated.lock().unwrap_or_else(|e| e.into_inner()) = Some(at);
    }

    /// The last successful sync, if any.
    pub fn last_updated(&self) -> Option<SystemTime> {
        *self.last_updated.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// HTTP status and kube-proxy's JSON body for `/healthz` at time `now`.
    pub fn respond(&self, now: SystemTime) -> (u16, String) {
        let last = self.last_updated();
        let since = now
            .duration_since(last.unwrap_or(self.started))
            .unwrap_or_default();
        let healthy = since <= self.timeout;
        let body = serde_json::json!({
            "lastUpdated": last.map(rfc3339).unwrap_or_default(),
            "currentTime": rfc3339(now),
            "nodeEligible": true,
        });
        (if healthy { 200 } else { 503 }, body.to_string())
    }
}

fn rfc3339(t: SystemTime) -> String {
    k8s_openapi::jiff::Timestamp::try_from(t)
        .map(|ts| ts.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: Duration = Duration::from_secs(30);

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
    }

    #[test]
    fn healthy_after_a_recent_sync_with_kube_proxy_fields() {
        let h = Health::new(at(0), PERIOD);
        h.record_sync(at(10));
        let (code, body) = h.respond(at(40));
        assert_eq!(code, 200);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["lastUpdated"], "2023-11-14T22:13:30Z");
        assert_eq!(v["currentTime"], "2023-11-14T22:14:00Z");
        assert_eq!(v["nodeEligible"], true);
    }

    #[test]
    fn unhealthy_when_the_last_sync_is_older_than_two_sync_periods() {
        let h = Health::new(at(0), PERIOD);
        h.record_sync(at(10));
        assert_eq!(h.respond(at(70)).0, 200);
        assert_eq!(h.respond(at(71)).0, 503);
    }

    #[test]
    fn before_the_first_sync_health_counts_from_start() {
        let h = Health::new(at(0), PERIOD);
        let (code, body) = h.respond(at(5));
        assert_eq!(code, 200);
        assert!(body.contains(r#""lastUpdated":"""#), "{body}");
        assert_eq!(h.respond(at(61)).0, 503);
    }
}
