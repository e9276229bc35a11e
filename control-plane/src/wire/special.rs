//! Types with their own protobuf and JSON encodings: times, durations, quantities,
//! int-or-strings and embedded raw JSON. Each reads the (possibly empty) message bytes and gives
//! the JSON the Go types marshal to.

use chrono::{DateTime, Datelike, Utc};
use serde_json::Value;

use super::reader::{Fields, Raw, WireError};
use super::schema::Ty;

/// Seconds of Go's zero `time.Time` (January 1, year 1), which marshals as `null`.
const GO_ZERO_TIME_SECONDS: i64 = -62_135_596_800;

/// The JSON of a special type from its message bytes.
pub(crate) fn decode(ty: Ty, buf: &[u8]) -> Result<Value, WireError> {
    match ty {
        Ty::Time => time(buf, false),
        Ty::MicroTime => time(buf, true),
        Ty::Duration => {
            let nanos = field_varint(buf, 1, "Duration")?.unwrap_or(0) as i64;
            Ok(Value::String(go_duration(nanos)))
        }
        Ty::Quantity => Ok(Value::String(
            field_string(buf, 1, "Quantity")?.unwrap_or_else(|| "0".to_string()),
        )),
        Ty::IntOrString => int_or_string(buf),
        Ty::FieldsV1 => raw_json(buf, "FieldsV1"),
        Ty::RawExtension => raw_json(buf, "RawExtension"),
        _ => unreachable!("not a special type: {ty:?}"),
    }
}

fn bad(field: &'static str, detail: impl Into<String>) -> WireError {
    WireError::BadValue {
        field,
        detail: detail.into(),
    }
}

/// The last value of a varint field, if present.
fn field_varint(buf: &[u8], number: u32, name: &'static str) -> Result<Option<u64>, WireError> {
    let mut out = None;
    for item in Fields::new(buf) {
        match item? {
            (n, Raw::Varint(v)) if n == number => out = Some(v),
            (n, raw) if n == number => return Err(wrong(name, raw)),
            _ => {}
        }
    }
    Ok(out)
}

/// The last value of a length-delimited field, if present.
fn field_bytes<'a>(
    buf: &'a [u8],
    number: u32,
    name: &'static str,
) -> Result<Option<&'a [u8]>, WireError> {
    let mut out = None;
    for item in Fields::new(buf) {
        match item? {
            (n, Raw::Bytes(b)) if n == number => out = Some(b),
            (n, raw) if n == number => return Err(wrong(name, raw)),
            _ => {}
        }
    }
    Ok(out)
}

fn field_string(buf: &[u8], number: u32, name: &'static str) -> Result<Option<String>, WireError> {
    Ok(field_bytes(buf, number, name)?.map(|b| String::from_utf8_lossy(b).into_owned()))
}

fn wrong(message: &'static str, raw: Raw<'_>) -> WireError {
    WireError::WrongWireType {
        message,
        field: "value",
        wire: raw.wire_type(),
    }
}

/// `Time` (seconds precision, as upstream drops nanoseconds) or `MicroTime`.
fn time(buf: &[u8], micro: bool) -> Result<Value, WireError> {
    let name = if micro { "MicroTime" } else { "Time" };
    if buf.is_empty() {
        return Ok(Value::Null);
    }
    let seconds = field_varint(buf, 1, name)?.unwrap_or(0) as i64;
    let nanos = if micro {
        i64::from(field_varint(buf, 2, name)?.unwrap_or(0) as i32)
    } else {
        0
    };
    if seconds == GO_ZERO_TIME_SECONDS && nanos == 0 {
        return Ok(Value::Null);
    }
    let at = DateTime::<Utc>::from_timestamp(seconds, 0)
        .and_then(|t| t.checked_add_signed(chrono::Duration::nanoseconds(nanos)))
        .filter(|t| (0..=9999).contains(&t.year()))
        .ok_or_else(|| bad(name, format!("{seconds}s is outside the years 0 to 9999")))?;
    let format = if micro {
        "%Y-%m-%dT%H:%M:%S%.6fZ"
    } else {
        "%Y-%m-%dT%H:%M:%SZ"
    };
    Ok(Value::String(at.format(format).to_string()))
}

fn int_or_string(buf: &[u8]) -> Result<Value, WireError> {
    let kind = field_varint(buf, 1, "IntOrString")?.unwrap_or(0);
    match kind {
        0 => Ok(Value::from(
            field_varint(buf, 2, "IntOrString")?.unwrap_or(0) as i32,
        )),
        1 => Ok(Value::String(
            field_string(buf, 3, "IntOrString")?.unwrap_or_default(),
        )),
        other => Err(bad("IntOrString", format!("unknown type {other}"))),
    }
}

fn raw_json(buf: &[u8], name: &'static str) -> Result<Value, WireError> {
    match field_bytes(buf, 1, name)? {
        None => Ok(Value::Null),
        Some(raw) => serde_json::from_slice(raw)
            .map_err(|e| bad(name, format!("embedded data is not JSON: {e}"))),
    }
}

/// Go's `time.Duration.String()`: `1h2m3.5s`, `1.5ms`, `0s`.
pub(crate) fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let u = nanos.unsigned_abs();
    if u < 1_000 {
        return format!("{sign}{u}ns");
    }
    if u < 1_000_000 {
        return format!("{sign}{}µs", decimal(u, 3));
    }
    if u < 1_000_000_000 {
        return format!("{sign}{}ms", decimal(u, 6));
    }
    let seconds = decimal(u % 60_000_000_000, 9);
    let total_minutes = u / 60_000_000_000;
    let (hours, minutes) = (total_minutes / 60, total_minutes % 60);
    if hours > 0 {
        format!("{sign}{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{sign}{minutes}m{seconds}s")
    } else {
        format!("{sign}{seconds}s")
    }
}

/// `value / 10^digits` with the fraction's trailing zeros dropped.
fn decimal(value: u64, digits: u32) -> String {
    let scale = 10u64.pow(digits);
    let (whole, frac) = (value / scale, value % scale);
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{frac:0width$}", width = digits as usize);
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn msg(fields: &[(u32, u64)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (n, v) in fields {
            varint(u64::from(n << 3), &mut out);
            varint(*v, &mut out);
        }
        out
    }

    #[test]
    fn time_is_rfc3339_seconds_and_null_when_empty_or_go_zero() {
        assert_eq!(
            decode(Ty::Time, &msg(&[(1, 1_767_322_445), (2, 5)])).unwrap(),
            json!("2026-01-02T02:54:05Z")
        );
        assert_eq!(decode(Ty::Time, &[]).unwrap(), Value::Null);
        assert_eq!(
            decode(Ty::Time, &msg(&[(1, GO_ZERO_TIME_SECONDS as u64)])).unwrap(),
            Value::Null
        );
        assert_eq!(
            decode(Ty::Time, &msg(&[(1, 0)])).unwrap(),
            json!("1970-01-01T00:00:00Z")
        );
        assert!(decode(Ty::Time, &msg(&[(1, i64::MAX as u64)])).is_err());
    }

    #[test]
    fn micro_time_keeps_microseconds() {
        let got = decode(Ty::MicroTime, &msg(&[(1, 1_767_322_445), (2, 123_456_789)])).unwrap();
        assert_eq!(got, json!("2026-01-02T02:54:05.123456Z"));
        assert_eq!(
            decode(Ty::MicroTime, &msg(&[(1, 1_767_322_445)])).unwrap(),
            json!("2026-01-02T02:54:05.000000Z")
        );
    }

    #[test]
    fn int_or_string_gives_number_or_string() {
        assert_eq!(
            decode(Ty::IntOrString, &msg(&[(1, 0), (2, 8080)])).unwrap(),
            json!(8080)
        );
        let mut s = msg(&[(1, 1)]);
        s.extend_from_slice(&[0x1a, 4, b'h', b't', b't', b'p']);
        assert_eq!(decode(Ty::IntOrString, &s).unwrap(), json!("http"));
        assert_eq!(decode(Ty::IntOrString, &[]).unwrap(), json!(0));
        assert_eq!(
            decode(Ty::IntOrString, &msg(&[(1, 0), (2, (-1i64) as u64)])).unwrap(),
            json!(-1)
        );
        assert!(decode(Ty::IntOrString, &msg(&[(1, 7)])).is_err());
    }

    #[test]
    fn quantity_is_its_string_and_zero_when_absent() {
        assert_eq!(
            decode(Ty::Quantity, &[0x0a, 4, b'5', b'0', b'0', b'm']).unwrap(),
            json!("500m")
        );
        assert_eq!(decode(Ty::Quantity, &[]).unwrap(), json!("0"));
        assert!(decode(Ty::Quantity, &[0x08, 1]).is_err());
    }

    #[test]
    fn raw_json_types_embed_their_object() {
        let raw = br#"{"f:metadata":{}}"#;
        let mut buf = vec![0x0a, raw.len() as u8];
        buf.extend_from_slice(raw);
        assert_eq!(
            decode(Ty::FieldsV1, &buf).unwrap(),
            json!({"f:metadata": {}})
        );
        assert_eq!(decode(Ty::RawExtension, &[]).unwrap(), Value::Null);
        assert!(decode(Ty::RawExtension, &[0x0a, 2, 0xff, 0x00]).is_err());
    }

    #[test]
    fn durations_print_like_go() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(999), "999ns");
        assert_eq!(go_duration(1_500), "1.5µs");
        assert_eq!(go_duration(2_000_000), "2ms");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(90_500_000_000), "1m30.5s");
        assert_eq!(go_duration(-5_000_000_000), "-5s");
        assert_eq!(
            decode(Ty::Duration, &msg(&[(1, 30_000_000_000)])).unwrap(),
            json!("30s")
        );
    }
}
