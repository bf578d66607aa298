//! Go's duration syntax (`time.ParseDuration`), which Kubernetes uses for flags and
//! `metav1.Duration` fields: `40s`, `1m30s`, `1.5h`, `300ms`, `-2m3.4s`.

use std::time::Duration;

/// A duration string that Go's `time.ParseDuration` would refuse, with Go's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not a duration at all (`time: invalid duration "x"`).
    #[error("time: invalid duration {0:?}")]
    Invalid(String),
    /// A number without a unit (`time: missing unit in duration "3"`).
    #[error("time: missing unit in duration {0:?}")]
    MissingUnit(String),
    /// An unknown unit (`time: unknown unit "d" in duration "1d"`).
    #[error("time: unknown unit {unit:?} in duration {input:?}")]
    UnknownUnit {
        /// The unit as written.
        unit: String,
        /// The whole input.
        input: String,
    },
    /// Larger than Go's int64 nanoseconds.
    #[error("time: invalid duration {0:?}")]
    Overflow(String),
    /// Below zero where only non-negative durations make sense (flags of periods).
    #[error("invalid duration {0:?}: must not be negative")]
    Negative(String),
}

/// Nanoseconds per unit, longest names first so `ms` is not read as `m`.
const UNITS: [(&str, u128); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parses `s` as Go does, into signed nanoseconds.
pub fn parse_nanos(s: &str) -> Result<i64, DurationError> {
    let invalid = || DurationError::Invalid(s.to_string());
    let (negative, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (nanos, after) = term(rest, s)?;
        total = total.checked_add(nanos).ok_or_else(invalid)?;
        rest = after;
    }
    let limit = if negative {
        1u128 << 63
    } else {
        (1u128 << 63) - 1
    };
    if total > limit {
        return Err(DurationError::Overflow(s.to_string()));
    }
    let magnitude = total as i128;
    Ok((if negative { -magnitude } else { magnitude }) as i64)
}

/// One `<number><unit>` term: its nanoseconds and the text after it.
fn term<'a>(text: &'a str, input: &str) -> Result<(u128, &'a str), DurationError> {
    let invalid = || DurationError::Invalid(input.to_string());
    let int_len = text.bytes().take_while(u8::is_ascii_digit).count();
    let (int_part, after_int) = text.split_at(int_len);
    let (frac_part, after_num) = match after_int.strip_prefix('.') {
        Some(after_dot) => {
            let n = after_dot.bytes().take_while(u8::is_ascii_digit).count();
            after_dot.split_at(n)
        }
        None => ("", after_int),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(invalid());
    }
    let unit_len = after_num
        .char_indices()
        .find(|(_, c)| *c == '.' || c.is_ascii_digit())
        .map_or(after_num.len(), |(i, _)| i);
    let (unit, rest) = after_num.split_at(unit_len);
    if unit.is_empty() {
        return Err(DurationError::MissingUnit(input.to_string()));
    }
    let scale = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, scale)| *scale)
        .ok_or_else(|| DurationError::UnknownUnit {
            unit: unit.to_string(),
            input: input.to_string(),
        })?;
    let whole: u128 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().map_err(|_| invalid())?
    };
    let mut nanos = whole.checked_mul(scale).ok_or_else(invalid)?;
    nanos += fraction_nanos(frac_part, scale);
    Ok((nanos, rest))
}

/// The fractional digits times `scale`, as Go computes it: digits are taken while they fit
/// in an int64 (later ones are dropped), then scaled in floating point and truncated.
fn fraction_nanos(digits: &str, scale: u128) -> u128 {
    let mut value: i64 = 0;
    let mut denom: f64 = 1.0;
    for d in digits.bytes() {
        let next = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(d - b'0')));
        match next {
            Some(v) => {
                value = v;
                denom *= 10.0;
            }
            None => break,
        }
    }
    (value as f64 * (scale as f64 / denom)) as u128
}

/// Parses a non-negative Go duration (flags such as `--node-monitor-grace-period=40s`).
pub fn parse(s: &str) -> Result<Duration, DurationError> {
    let nanos = parse_nanos(s)?;
    u64::try_from(nanos)
        .map(Duration::from_nanos)
        .map_err(|_| DurationError::Negative(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    /// Cases from Go's `time` package tests (`parseDurationTests`).
    #[test]
    fn parses_like_go() {
        let table: &[(&str, i64)] = &[
            ("0", 0),
            ("5s", 5 * S),
            ("30s", 30 * S),
            ("1478s", 1478 * S),
            ("-5s", -5 * S),
            ("+5s", 5 * S),
            ("-0", 0),
            ("+0", 0),
            ("5.0s", 5 * S),
            ("5.6s", 5 * S + 600_000_000),
            ("5.s", 5 * S),
            (".5s", 500_000_000),
            ("1.0s", S),
            ("1.00s", S),
            ("1.004s", S + 4_000_000),
            ("1.0040s", S + 4_000_000),
            ("100.00100s", 100 * S + 1_000_000),
            ("10ns", 10),
            ("11us", 11_000),
            ("12µs", 12_000),
            ("12μs", 12_000),
            ("13ms", 13_000_000),
            ("14s", 14 * S),
            ("15m", 15 * 60 * S),
            ("16h", 16 * 3600 * S),
            ("3h30m", (3 * 3600 + 30 * 60) * S),
            ("10.5s4m", 4 * 60 * S + 10 * S + 500_000_000),
            ("-2m3.4s", -(2 * 60 * S + 3 * S + 400_000_000)),
            (
                "1h2m3s4ms5us6ns",
                3600 * S + 2 * 60 * S + 3 * S + 4_000_000 + 5_000 + 6,
            ),
            ("39h9m14.425s", (39 * 3600 + 9 * 60 + 14) * S + 425_000_000),
            ("52763797000ns", 52_763_797_000),
            ("0.3333333333333333333h", 20 * 60 * S),
            ("9007199254740993ns", 9_007_199_254_740_993),
            ("9223372036854775807ns", i64::MAX),
            ("-9223372036854775808ns", i64::MIN),
            ("0.100000000000000000000h", 6 * 60 * S),
        ];
        for (input, want) in table {
            assert_eq!(parse_nanos(input), Ok(*want), "{input}");
        }
    }

    #[test]
    fn refuses_what_go_refuses() {
        for input in [
            "",
            "3",
            "-",
            "s",
            ".",
            "-.",
            ".s",
            "+.s",
            "1d",
            "1.5",
            "9223372036854775808ns",
            "-9223372036854775809ns",
            "\u{85}\u{85}",
        ] {
            assert!(parse_nanos(input).is_err(), "{input:?} must be refused");
        }
        assert_eq!(
            parse_nanos("3"),
            Err(DurationError::MissingUnit("3".into()))
        );
        assert_eq!(
            parse_nanos("1d").map_err(|e| e.to_string()),
            Err("time: unknown unit \"d\" in duration \"1d\"".into())
        );
    }

    #[test]
    fn flag_durations_are_non_negative() {
        assert_eq!(parse("40s"), Ok(Duration::from_secs(40)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert!(matches!(parse("-1s"), Err(DurationError::Negative(_))));
    }
}
