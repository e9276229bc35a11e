//! Unit tests of the printers: Table shape, columns per kind, rows, pod status and field
//! selectors.

mod fields;
mod pod;
mod tables;

use chrono::{DateTime, Utc};

use crate::registry::{by_kind, KindInfo};

/// The fixed "now" every test prints at.
fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// `now` minus `secs` seconds, as an RFC 3339 timestamp.
fn ago(secs: i64) -> String {
    (now() - chrono::Duration::seconds(secs))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The registry entry of a served kind.
fn kind(name: &str) -> &'static KindInfo {
    ["", "apps", "discovery.k8s.io", "coordination.k8s.io"]
        .iter()
        .find_map(|g| by_kind(g, name))
        .unwrap_or_else(|| panic!("kind {name} is served"))
}
