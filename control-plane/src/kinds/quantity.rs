//! Resource quantities (`500m`, `128Mi`, `1e3`) parsed exactly enough to compare and add them,
//! as the QoS class and `requests <= limits` rules need.

use serde_json::Value;

/// A quantity in nano-units (`1` = 1e-9 of the base unit); fractions below that round up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quantity(pub i128);

/// Upstream's parse error text for a malformed quantity.
pub const QUANTITY_FORMAT: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

const NANO: i128 = 1_000_000_000;

impl Quantity {
    /// Parses a quantity string or a JSON number.
    pub fn from_value(v: &Value) -> Option<Quantity> {
        match v {
            Value::String(s) => Quantity::parse(s),
            Value::Number(n) => Quantity::parse(&n.to_string()),
            _ => None,
        }
    }

    /// Parses a quantity string.
    pub fn parse(s: &str) -> Option<Quantity> {
        let s = s.trim();
        let (neg, body) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let num_end = body
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(body.len());
        let (num, suffix) = body.split_at(num_end);
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return None;
        }
        let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
        // Value = digits * 10^-frac_len, as a rational over a power of ten.
        let digits: String = format!("{int_part}{frac_part}");
        let mantissa: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        let frac_len = frac_part.len() as i32;
        let (mul, exp10): (i128, i32) = match suffix {
            "" => (1, 0),
            "n" => (1, -9),
            "u" => (1, -6),
            "m" => (1, -3),
            "k" => (1, 3),
            "M" => (1, 6),
            "G" => (1, 9),
            "T" => (1, 12),
            "P" => (1, 15),
            "E" => (1, 18),
            "Ki" => (1 << 10, 0),
            "Mi" => (1 << 20, 0),
            "Gi" => (1 << 30, 0),
            "Ti" => (1 << 40, 0),
            "Pi" => (1 << 50, 0),
            "Ei" => (1 << 60, 0),
            _ => {
                let e = suffix.strip_prefix(['e', 'E'])?;
                let e = e.strip_prefix('+').unwrap_or(e);
                if e.is_empty() {
                    return None;
                }
                (1, e.parse().ok()?)
            }
        };
        // nano = mantissa * mul * 10^(exp10 - frac_len + 9)
        let shift = exp10 - frac_len + 9;
        let base = mantissa.checked_mul(mul)?;
        let nano = if shift >= 0 {
            base.checked_mul(10i128.checked_pow(shift as u32)?)?
        } else {
            let d = 10i128.checked_pow((-shift) as u32).unwrap_or(i128::MAX);
            (base + d - 1) / d
        };
        Some(Quantity(if neg { -nano } else { nano }))
    }

    /// True when strictly greater than zero.
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// True when below zero.
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Whole base units (for messages); exact value in nano-units is `self.0`.
    pub fn nano(self) -> i128 {
        self.0
    }
}

/// One nano-unit expressed as [`Quantity`] of one base unit, for tests and arithmetic.
pub const ONE: Quantity = Quantity(NANO);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal_binary_and_exponent_suffixes() {
        assert_eq!(Quantity::parse("500m"), Some(Quantity(NANO / 2)));
        assert_eq!(Quantity::parse("0.5"), Quantity::parse("500m"));
        assert_eq!(Quantity::parse("1Ki"), Some(Quantity(1024 * NANO)));
        assert_eq!(Quantity::parse("1e3"), Quantity::parse("1k"));
        assert_eq!(
            Quantity::parse("128Mi").map(|q| q.0),
            Some(128 * (1 << 20) * NANO)
        );
        assert_eq!(Quantity::parse("-1"), Some(Quantity(-NANO)));
        assert_eq!(Quantity::parse("1"), Some(ONE));
        assert_eq!(
            Quantity::from_value(&serde_json::json!(2)),
            Some(Quantity(2 * NANO))
        );
        assert_eq!(Quantity::parse("abc"), None);
        assert_eq!(Quantity::parse("1Xi"), None);
        assert_eq!(Quantity::parse("1.2.3"), None);
    }
}
