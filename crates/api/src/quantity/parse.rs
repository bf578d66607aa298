//! Reading quantity text as upstream's `ParseQuantity`: sign, digits, optional fraction, a
//! suffix (`m`, `Ki`, `e3` …); the value is rounded up to whole nano-units and a binary-suffixed
//! value is capped at 2^63-1.

use super::{Format, Quantity, QuantityError};

/// Upstream caps a binary-suffixed quantity at 2^63-1.
const BINARY_MAX: u128 = i64::MAX as u128;
/// Finest exponent kept: values are rounded up to whole nano-units.
const NANO: i64 = -9;
/// Most significant digits a mantissa holds.
const MAX_DIGITS: usize = 38;

/// The pieces of a quantity string (upstream's `parseQuantityString`).
struct Parts<'a> {
    negative: bool,
    /// Integer digits without leading zeros.
    int: &'a str,
    /// Fraction digits.
    frac: &'a str,
    suffix: &'a str,
}

fn skip(b: &[u8], mut pos: usize, pred: impl Fn(u8) -> bool) -> usize {
    while pos < b.len() && pred(b[pos]) {
        pos += 1;
    }
    pos
}

fn scan(s: &str) -> Result<Parts<'_>, QuantityError> {
    let b = s.as_bytes();
    let (negative, start) = match b.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let int_start = skip(b, start, |c| c == b'0');
    let int_end = skip(b, int_start, |c| c.is_ascii_digit());
    let mut pos = int_end;
    let mut frac = "";
    if pos < b.len() && b[pos] == b'.' {
        let frac_end = skip(b, pos + 1, |c| c.is_ascii_digit());
        frac = &s[pos + 1..frac_end];
        pos = frac_end;
    }
    let suffix_start = pos;
    pos = skip(b, pos, |c| b"eEinumkKMGTP".contains(&c));
    if pos < b.len() && (b[pos] == b'-' || b[pos] == b'+') {
        pos += 1;
    }
    pos = skip(b, pos, |c| c.is_ascii_digit());
    if pos < b.len() {
        return Err(QuantityError::Format);
    }
    Ok(Parts {
        negative,
        int: &s[int_start..int_end],
        frac,
        suffix: &s[suffix_start..],
    })
}

/// Multiplier of a suffix.
enum Base {
    /// × 10^n
    Ten(i32),
    /// × 2^n
    Two(u32),
}

fn suffix(s: &str) -> Result<(Base, Format), QuantityError> {
    let decimal = |e| Ok((Base::Ten(e), Format::DecimalSi));
    let binary = |e| Ok((Base::Two(e), Format::BinarySi));
    match s {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        _ if s.len() > 1 && s.starts_with(['e', 'E']) => {
            let e: i64 = s[1..].parse().map_err(|_| QuantityError::Suffix)?;
            let e = i32::try_from(e).map_err(|_| QuantityError::Suffix)?;
            Ok((Base::Ten(e), Format::DecimalExponent))
        }
        _ => Err(QuantityError::Suffix),
    }
}

fn parse_digits(d: &str) -> Result<u128, QuantityError> {
    if d.len() > MAX_DIGITS {
        return Err(QuantityError::Numeric);
    }
    d.parse().map_err(|_| QuantityError::Numeric)
}

/// `digits × 10^exp` rounded up to nano: (magnitude, exponent).
fn decimal(digits: &str, mut exp: i64) -> Result<(u128, i64), QuantityError> {
    let digits = digits.trim_start_matches('0');
    let sig = digits.trim_end_matches('0');
    exp += (digits.len() - sig.len()) as i64;
    if sig.is_empty() {
        return Ok((0, 0));
    }
    if exp >= NANO {
        return Ok((parse_digits(sig)?, exp));
    }
    // The last significant digit is not zero, so dropping any digit rounds up.
    let drop = usize::try_from(NANO - exp).unwrap_or(usize::MAX);
    let kept = &sig[..sig.len().saturating_sub(drop)];
    let kept = if kept.is_empty() {
        0
    } else {
        parse_digits(kept)?
    };
    Ok((kept + 1, NANO))
}

/// `digits × 2^k / 10^frac_len` rounded up to nano: (magnitude, exponent); magnitudes past
/// 2^63-1 come back as exactly that cap.
fn binary(digits: &str, frac_len: usize, k: u32) -> Result<(u128, i64), QuantityError> {
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok((0, 0));
    }
    let d = parse_digits(digits)?;
    let two = 1u128 << k;
    let p10 = u32::try_from(frac_len)
        .ok()
        .and_then(|f| 10u128.checked_pow(f));
    let (int, frac) = p10.map_or((0, d), |p| (d / p, d % p));
    let int = match int.checked_mul(two) {
        Some(v) if v <= BINARY_MAX => v,
        _ => return Ok((BINARY_MAX, 0)),
    };
    let frac_nano = if frac_len <= 9 {
        // frac < 10^9, so this stays far below u128::MAX
        frac * two * 10u128.pow(9 - frac_len as u32)
    } else {
        let num = frac.checked_mul(two).ok_or(QuantityError::Numeric)?;
        let den = u32::try_from(frac_len - 9)
            .ok()
            .and_then(|f| 10u128.checked_pow(f));
        match den {
            Some(den) => num.div_ceil(den),
            None => u128::from(num != 0),
        }
    };
    let total = int * 1_000_000_000 + frac_nano;
    if total > BINARY_MAX * 1_000_000_000 {
        return Ok((BINARY_MAX, 0));
    }
    Ok((total, NANO))
}

/// Parses `s` strictly, as upstream's `ParseQuantity`.
pub(super) fn parse(s: &str) -> Result<Quantity, QuantityError> {
    if s.is_empty() {
        return Err(QuantityError::Format);
    }
    let parts = scan(s)?;
    let (base, mut format) = suffix(parts.suffix)?;
    let digits = format!("{}{}", parts.int, parts.frac);
    let (magnitude, exp) = match base {
        Base::Ten(e) => decimal(&digits, i64::from(e) - parts.frac.len() as i64)?,
        Base::Two(k) => binary(&digits, parts.frac.len(), k)?,
    };
    let exp = i32::try_from(exp).map_err(|_| QuantityError::Numeric)?;
    let magnitude = i128::try_from(magnitude).map_err(|_| QuantityError::Numeric)?;
    let q = Quantity {
        mantissa: if parts.negative {
            -magnitude
        } else {
            magnitude
        },
        exp,
        format,
    }
    .normalized();
    // A binary-suffixed fraction of one prints in decimal (upstream switches the format).
    // (|value| < 1: the normalized mantissa has fewer digits than the exponent shifts away;
    // parsed exponents are never below -9).
    let below_one = q.exp < 0 && q.mantissa.unsigned_abs() < 10u128.pow(q.exp.unsigned_abs());
    if format == Format::BinarySi && magnitude != 0 && below_one {
        format = Format::DecimalSi;
    }
    Ok(Quantity { format, ..q })
}
