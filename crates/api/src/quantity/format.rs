//! The canonical text of a quantity (upstream's `CanonicalizeBytes`): no fraction digits, the
//! largest suffix that loses nothing, the suffix family of the quantity's format.

use super::{Format, Quantity};

/// Decimal SI suffixes by power of ten.
const DECIMAL_SUFFIXES: [(i32, &str); 10] = [
    (-9, "n"),
    (-6, "u"),
    (-3, "m"),
    (0, ""),
    (3, "k"),
    (6, "M"),
    (9, "G"),
    (12, "T"),
    (15, "P"),
    (18, "E"),
];
/// Binary SI suffixes by power of 1024.
const BINARY_SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

/// The canonical text of `q`.
pub(super) fn canonical(q: &Quantity) -> String {
    let q = q.normalized();
    if q.is_zero() {
        return "0".into();
    }
    let sign = if q.mantissa < 0 { "-" } else { "" };
    let magnitude = q.mantissa.unsigned_abs();
    let body = match q.format {
        // Below 1024 or with a fraction, a binary quantity prints in decimal SI.
        Format::BinarySi => {
            binary(magnitude, q.exp).unwrap_or_else(|| decimal(magnitude, q.exp, Format::DecimalSi))
        }
        f => decimal(magnitude, q.exp, f),
    };
    format!("{sign}{body}")
}

/// `m × 10^exp` (normalized) in powers of 1024, when it is a whole number of at least 1024.
fn binary(m: u128, exp: i32) -> Option<String> {
    let p = 10u128.checked_pow(u32::try_from(exp).ok()?)?;
    let mut n = m.checked_mul(p)?;
    if n < 1024 {
        return None;
    }
    let mut i = 0;
    while i + 1 < BINARY_SUFFIXES.len() && n % 1024 == 0 {
        n /= 1024;
        i += 1;
    }
    Some(format!("{n}{}", BINARY_SUFFIXES[i]))
}

/// `m × 10^exp` with the exponent lowered to a multiple of three; decimal SI falls back to
/// `e<exp>` past `E` (as upstream does since it stopped dropping the exponent).
fn decimal(m: u128, exp: i32, format: Format) -> String {
    let shift = exp.rem_euclid(3);
    let exp = exp - shift;
    let mut out = m.to_string();
    out.push_str(&"0".repeat(shift as usize));
    let si = DECIMAL_SUFFIXES
        .iter()
        .find(|(e, _)| *e == exp)
        .map(|(_, s)| *s)
        .filter(|_| format == Format::DecimalSi);
    match si {
        Some(s) => out.push_str(s),
        None if exp == 0 => {}
        None => out.push_str(&format!("e{exp}")),
    }
    out
}
