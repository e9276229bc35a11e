//! Ages as kubectl prints them: upstream's `duration.HumanDuration` over the time since a
//! timestamp, `<unknown>` when the timestamp is absent.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// Upstream's `duration.HumanDuration`: `45s`, `3m20s`, `15m`, `5h`, `2d3h`, `30d`, `3y`.
pub fn human_duration(millis: i64) -> String {
    // Go's int(d.Seconds()) truncates toward zero.
    let seconds = millis / 1000;
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// Parses an RFC 3339 timestamp (`metav1.Time` or `MicroTime`); `None` when absent, null,
/// empty or malformed (upstream's zero time).
pub fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    let s = v.as_str().filter(|s| !s.is_empty())?;
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The age of `t` at `now`.
pub fn since_time(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    human_duration((now - t).num_milliseconds())
}

/// Upstream's `translateTimestampSince`: the age of `ts` at `now`, `<unknown>` when absent.
pub fn since(ts: &Value, now: DateTime<Utc>) -> String {
    match parse_time(ts) {
        Some(t) => since_time(t, now),
        None => "<unknown>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secs(s: i64) -> String {
        human_duration(s * 1000)
    }

    #[test]
    fn human_duration_matches_upstream_steps() {
        assert_eq!(secs(0), "0s");
        assert_eq!(human_duration(-1500), "0s");
        assert_eq!(secs(-2), "<invalid>");
        assert_eq!(secs(45), "45s");
        assert_eq!(secs(119), "119s");
        assert_eq!(secs(120), "2m");
        assert_eq!(secs(200), "3m20s");
        assert_eq!(secs(600), "10m");
        assert_eq!(secs(179 * 60 + 59), "179m");
        assert_eq!(secs(3 * 3600), "3h");
        assert_eq!(secs(5 * 3600 + 30 * 60), "5h30m");
        assert_eq!(secs(8 * 3600 + 59 * 60), "8h");
        assert_eq!(secs(47 * 3600), "47h");
        assert_eq!(secs(51 * 3600), "2d3h");
        assert_eq!(secs(72 * 3600), "3d");
        assert_eq!(secs(30 * 86400), "30d");
        assert_eq!(secs(729 * 86400), "729d");
        assert_eq!(secs(3 * 365 * 86400), "3y");
        assert_eq!(secs(3 * 365 * 86400 + 10 * 86400), "3y10d");
        assert_eq!(secs(9 * 365 * 86400 + 10 * 86400), "9y");
    }

    #[test]
    fn since_is_unknown_without_a_timestamp() {
        let now = Utc::now();
        assert_eq!(since(&Value::Null, now), "<unknown>");
        assert_eq!(since(&json!(""), now), "<unknown>");
        let t = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        let now = t + chrono::Duration::seconds(200);
        assert_eq!(since(&json!("2026-01-02T03:04:05Z"), now), "3m20s");
        assert_eq!(since(&json!("2026-01-02T03:04:05.123456Z"), now), "3m19s");
    }
}
