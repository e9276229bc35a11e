//! Timestamps of the CRI log format: Go's `time.RFC3339Nano` (fraction without trailing zeros).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECS_PER_DAY: i64 = 86_400;

/// `time` as containerd writes it in a log line, in UTC: `2016-10-06T00:17:09.669794202Z`
/// (trailing zeros of the fraction dropped, no fraction on a whole second).
pub fn format_timestamp(time: SystemTime) -> String {
    let (secs, nanos) = match time.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            let (s, n) = (d.as_secs() as i64, d.subsec_nanos());
            if n == 0 {
                (-s, 0)
            } else {
                (-s - 1, 1_000_000_000 - n)
            }
        }
    };
    let days = secs.div_euclid(SECS_PER_DAY);
    let of_day = secs.rem_euclid(SECS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    );
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Parses an RFC 3339 timestamp as Go's `time.Parse(time.RFC3339Nano, ..)` accepts it: any
/// number of fraction digits (nanosecond precision kept), `Z` or a `±hh:mm` offset.
pub fn parse_timestamp(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = digits(&b[0..4])? as i64;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut rest = &b[19..];
    let mut nanos = 0u32;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let len = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        for i in 0..9 {
            nanos = nanos * 10 + fraction.get(i).filter(|_| i < len).map_or(0, |c| c - b'0') as u32;
        }
        rest = &fraction[len..];
    }
    let offset = match rest {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = digits(&[*h1, *h2])? as i64;
            let minutes = digits(&[*m1, *m2])? as i64;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 3600 + minutes * 60;
            if *sign == b'-' {
                -offset
            } else {
                offset
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(year, month, day) * SECS_PER_DAY
        + (hour * 3600 + minute * 60 + second) as i64
        - offset;
    let since_epoch = Duration::new(secs.unsigned_abs(), 0);
    let whole = if secs >= 0 {
        UNIX_EPOCH.checked_add(since_epoch)?
    } else {
        UNIX_EPOCH.checked_sub(since_epoch)?
    };
    whole.checked_add(Duration::from_nanos(nanos as u64))
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |n, c| {
        c.is_ascii_digit().then(|| n * 10 + (c - b'0') as u32)
    })
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Day count since 1970-01-01 of a (year, month, day).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, nanos)
    }

    #[test]
    fn formats_like_go_rfc3339nano_in_utc() {
        assert_eq!(
            format_timestamp(at(1_475_713_029, 669_794_202)),
            "2016-10-06T00:17:09.669794202Z"
        );
        assert_eq!(
            format_timestamp(at(1_475_713_029, 669_794_200)),
            "2016-10-06T00:17:09.6697942Z"
        );
        assert_eq!(
            format_timestamp(at(1_475_713_029, 0)),
            "2016-10-06T00:17:09Z"
        );
        assert_eq!(format_timestamp(at(0, 1)), "1970-01-01T00:00:00.000000001Z");
        assert_eq!(format_timestamp(at(951_782_400, 0)), "2000-02-29T00:00:00Z");
        assert_eq!(
            format_timestamp(UNIX_EPOCH - Duration::new(0, 500_000_000)),
            "1969-12-31T23:59:59.5Z"
        );
    }

    #[test]
    fn parses_what_it_formats_and_offsets() {
        for t in [
            at(1_475_713_029, 669_794_202),
            at(0, 0),
            at(4_102_444_800, 10),
            at(951_782_400, 0),
        ] {
            assert_eq!(parse_timestamp(&format_timestamp(t)), Some(t));
        }
        assert_eq!(
            parse_timestamp("2016-10-06T02:17:09.669794202+02:00"),
            Some(at(1_475_713_029, 669_794_202))
        );
        assert_eq!(
            parse_timestamp("2016-10-05T23:17:09.5-01:00"),
            Some(at(1_475_713_029, 500_000_000))
        );
        // Go keeps nanosecond precision and ignores further digits.
        assert_eq!(
            parse_timestamp("2016-10-06T00:17:09.6697942021Z"),
            Some(at(1_475_713_029, 669_794_202))
        );
    }

    #[test]
    fn rejects_malformed_timestamps() {
        for bad in [
            "",
            "2016-10-06 00:17:09Z",
            "2016-10-06T00:17:09",
            "2016-13-06T00:17:09Z",
            "2015-02-29T00:17:09Z",
            "2016-10-06T24:17:09Z",
            "2016-10-06T00:17:60Z",
            "2016-10-06T00:17:09.Z",
            "2016-10-06T00:17:09.5z",
            "2016-10-06T00:17:09+0200",
            "2016-1a-06T00:17:09Z",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }
}
