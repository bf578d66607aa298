//! Kubernetes resource quantities (`100m`, `1.5Gi`, `1e3`) as upstream's `resource.Quantity`:
//! exact parsing (rounded up to nano), comparison, addition, integer views and canonical printing.
//!
//! A quantity is held as a decimal `mantissa × 10^exp` with at most 38 significant digits
//! (upstream's arbitrary-precision fallback is not needed for any real resource amount).

mod parse;

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity as WireQuantity;

/// How a quantity prints, remembered from the suffix it was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `12e6`
    DecimalExponent,
    /// `12Mi` (powers of 1024)
    BinarySi,
    /// `12M` (powers of 1000)
    DecimalSi,
}

/// A quantity did not parse (upstream's `ErrFormatWrong`, `ErrNumeric`, `ErrSuffix`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The text is not a number followed by a suffix.
    #[error("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")]
    Format,
    /// The number has more significant digits or a larger exponent than can be held.
    #[error("unable to parse numeric part of quantity")]
    Numeric,
    /// The suffix is not one of upstream's.
    #[error("unable to parse quantity's suffix")]
    Suffix,
}

/// A parsed quantity: an exact decimal value plus the format it prints in.
///
/// Equality and ordering compare values only (`1` equals `1000m`), like upstream's `Cmp`.
#[derive(Debug, Clone, Copy)]
pub struct Quantity {
    mantissa: i128,
    exp: i32,
    format: Format,
}

impl Quantity {
    /// Zero in `format`.
    pub const fn zero(format: Format) -> Self {
        Quantity {
            mantissa: 0,
            exp: 0,
            format,
        }
    }

    /// `value` whole units (upstream's `NewQuantity`).
    pub fn new(value: i64, format: Format) -> Self {
        Quantity {
            mantissa: i128::from(value),
            exp: 0,
            format,
        }
    }

    /// `value` thousandths (upstream's `NewMilliQuantity`).
    pub fn from_milli(value: i64, format: Format) -> Self {
        Quantity {
            mantissa: i128::from(value),
            exp: -3,
            format,
        }
    }

    /// The format this quantity prints in.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    /// -1, 0 or 1 by the sign of the value.
    pub fn signum(&self) -> i32 {
        self.mantissa.signum() as i32
    }

    /// The value times 10^-`scale`, rounded up away from zero and saturated to `i64`
    /// (upstream's `ScaledValue`, which overflows where this saturates).
    pub fn scaled_value(&self, scale: i32) -> i64 {
        let shift = i64::from(self.exp) - i64::from(scale);
        let magnitude = self.mantissa.unsigned_abs();
        let scaled = if shift >= 0 {
            u32::try_from(shift)
                .ok()
                .and_then(|s| 10u128.checked_pow(s))
                .and_then(|p| magnitude.checked_mul(p))
                .unwrap_or(u128::MAX)
        } else {
            match u32::try_from(-shift)
                .ok()
                .and_then(|s| 10u128.checked_pow(s))
            {
                Some(d) => magnitude.div_ceil(d),
                None => u128::from(magnitude != 0),
            }
        };
        let v = i64::try_from(scaled).unwrap_or(i64::MAX);
        if self.mantissa < 0 {
            -v
        } else {
            v
        }
    }

    /// Whole units rounded up (bytes for memory; upstream's `Value`).
    pub fn value(&self) -> i64 {
        self.scaled_value(0)
    }

    /// Thousandths rounded up (millicores for CPU; upstream's `MilliValue`).
    pub fn milli_value(&self) -> i64 {
        self.scaled_value(-3)
    }

    /// The sum; the format is this quantity's unless it is zero (upstream's `Add`). Beyond
    /// 38 significant digits the sum is rounded up at the finest digit that still fits.
    pub fn add(&self, other: &Quantity) -> Quantity {
        let format = if self.is_zero() {
            other.format
        } else {
            self.format
        };
        let mut exp = self.exp.min(other.exp);
        loop {
            let sum = rescale(self, exp)
                .zip(rescale(other, exp))
                .and_then(|(a, b)| a.checked_add(b));
            if let Some(mantissa) = sum {
                return Quantity {
                    mantissa,
                    exp,
                    format,
                }
                .normalized();
            }
            exp += 1;
        }
    }

    /// The same value with trailing zeros of the mantissa moved into the exponent.
    fn normalized(mut self) -> Self {
        if self.mantissa == 0 {
            self.exp = 0;
            return self;
        }
        while self.mantissa % 10 == 0 {
            self.mantissa /= 10;
            self.exp += 1;
        }
        self
    }
}

/// The mantissa of `q` at exponent `exp`, rounded up away from zero when `exp` is coarser;
/// `None` when it does not fit.
fn rescale(q: &Quantity, exp: i32) -> Option<i128> {
    if q.exp >= exp {
        let p = 10i128.checked_pow(u32::try_from(q.exp - exp).ok()?)?;
        return q.mantissa.checked_mul(p);
    }
    let m = q.mantissa.unsigned_abs();
    let d = u32::try_from(exp - q.exp)
        .ok()
        .and_then(|s| 10u128.checked_pow(s));
    let magnitude = match d {
        Some(d) => m.div_ceil(d),
        None => u128::from(m != 0),
    };
    let magnitude = i128::try_from(magnitude).ok()?;
    Some(if q.mantissa < 0 {
        -magnitude
    } else {
        magnitude
    })
}

/// Number of decimal digits of a non-zero magnitude.
fn digits(m: u128) -> i64 {
    i64::from(m.ilog10()) + 1
}

fn cmp_magnitude(a: &Quantity, b: &Quantity) -> Ordering {
    let (am, bm) = (a.mantissa.unsigned_abs(), b.mantissa.unsigned_abs());
    match (am, bm) {
        (0, 0) => return Ordering::Equal,
        (0, _) => return Ordering::Less,
        (_, 0) => return Ordering::Greater,
        _ => {}
    }
    let (oa, ob) = (digits(am) + i64::from(a.exp), digits(bm) + i64::from(b.exp));
    if oa != ob {
        return oa.cmp(&ob);
    }
    // Same order of magnitude: compare at the finer exponent
    // (a product past u128 is larger than any mantissa).
    let cmp_scaled = |m: u128, by: i32, other: u128| {
        10u128
            .checked_pow(by.unsigned_abs())
            .and_then(|p| m.checked_mul(p))
            .map_or(Ordering::Greater, |x| x.cmp(&other))
    };
    match a.exp.cmp(&b.exp) {
        Ordering::Greater => cmp_scaled(am, a.exp - b.exp, bm),
        Ordering::Less => cmp_scaled(bm, b.exp - a.exp, am).reverse(),
        Ordering::Equal => am.cmp(&bm),
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        let by_sign = self.mantissa.signum().cmp(&other.mantissa.signum());
        if by_sign != Ordering::Equal {
            return by_sign;
        }
        let m = cmp_magnitude(self, other);
        if self.mantissa < 0 {
            m.reverse()
        } else {
            m
        }
    }
}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Quantity {}

impl FromStr for Quantity {
    type Err = QuantityError;

    /// Strict parsing as upstream's `ParseQuantity` (no surrounding whitespace).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse::parse(s)
    }
}

impl fmt::Display for Quantity {
    /// The canonical form (upstream's `String`): `1.5` prints `1500m`, `1.5Gi` prints `1536Mi`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&canonical(self))
    }
}

// Canonical text (upstream's `CanonicalizeBytes`): no fraction digits, the largest suffix
// that loses nothing, in the suffix family of the quantity's format.

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
fn canonical(q: &Quantity) -> String {
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

impl TryFrom<&WireQuantity> for Quantity {
    type Error = QuantityError;

    /// Parses a quantity as it came over the wire; surrounding whitespace is allowed like
    /// upstream's `UnmarshalJSON`.
    fn try_from(q: &WireQuantity) -> Result<Self, Self::Error> {
        parse_wire(&q.0)
    }
}

impl From<&Quantity> for WireQuantity {
    fn from(q: &Quantity) -> Self {
        WireQuantity(q.to_string())
    }
}

/// Parses a quantity string from JSON: trimmed, then parsed strictly.
pub fn parse_wire(s: &str) -> Result<Quantity, QuantityError> {
    s.trim().parse()
}

/// Thousandths of a quantity string rounded up (CPU millicores); `None` when malformed.
pub fn milli_value(s: &str) -> Option<i64> {
    parse_wire(s).ok().map(|q| q.milli_value())
}

/// Whole units of a quantity string rounded up (bytes); `None` when malformed.
pub fn value(s: &str) -> Option<i64> {
    parse_wire(s).ok().map(|q| q.value())
}

#[cfg(test)]
mod tests;
