//! Parsing of Kubernetes resource quantities ("100m", "1.5", "128Mi", "1e3") into integers.

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// Parses a quantity into thousandths of its unit (`"100m"` → 100, `"2"` → 2000,
/// `"1Ki"` → 1_024_000), rounding up like upstream's `MilliValue`. `None` if malformed.
pub fn parse_milli(s: &str) -> Option<i128> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let (num, suffix) = split_suffix(s);
    let (mul_num, mul_den): (i128, i128) = match suffix {
        "" => (1, 1),
        "n" => (1, 1_000_000_000),
        "u" => (1, 1_000_000),
        "m" => (1, 1_000),
        "k" => (1_000, 1),
        "M" => (1_000_000, 1),
        "G" => (1_000_000_000, 1),
        "T" => (1_000_000_000_000, 1),
        "P" => (1_000_000_000_000_000, 1),
        "E" => (1_000_000_000_000_000_000, 1),
        "Ki" => (1 << 10, 1),
        "Mi" => (1 << 20, 1),
        "Gi" => (1 << 30, 1),
        "Ti" => (1 << 40, 1),
        "Pi" => (1 << 50, 1),
        "Ei" => (1 << 60, 1),
        exp if exp.starts_with(['e', 'E']) => {
            let e: i32 = exp[1..].parse().ok()?;
            if !(0..=18).contains(&e.abs()) {
                return None;
            }
            if e >= 0 {
                (10i128.pow(e as u32), 1)
            } else {
                (1, 10i128.pow((-e) as u32))
            }
        }
        _ => return None,
    };
    let (neg, digits) = match num.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, num.strip_prefix('+').unwrap_or(num)),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let frac_part = &frac_part[..frac_part.len().min(18)];
    let scale = 10i128.pow(frac_part.len() as u32);
    let int_v: i128 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().ok()?
    };
    let frac_v: i128 = if frac_part.is_empty() {
        0
    } else {
        frac_part.parse().ok()?
    };
    let mantissa = int_v.checked_mul(scale)?.checked_add(frac_v)?;
    // value * 1000 * mul_num / (mul_den * scale), rounded up.
    let top = mantissa.checked_mul(1000)?.checked_mul(mul_num)?;
    let bottom = mul_den * scale;
    let v = (top + bottom - 1) / bottom;
    Some(if neg { -v } else { v })
}

fn split_suffix(s: &str) -> (&str, &str) {
    let idx = s
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.' || *c == '-' || *c == '+'))
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    (&s[..idx], &s[idx..])
}

/// Milli-units of a quantity (CPU millicores), 0 when malformed.
pub fn milli(q: &Quantity) -> i64 {
    parse_milli(&q.0).map(clamp).unwrap_or(0)
}

/// Whole units of a quantity rounded up (bytes, counts), 0 when malformed.
pub fn value(q: &Quantity) -> i64 {
    parse_milli(&q.0)
        .map(|m| clamp((m + 999).div_euclid(1000)))
        .unwrap_or(0)
}

fn clamp(v: i128) -> i64 {
    v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, Option<i128>)] = &[
            ("100m", Some(100)),
            ("1", Some(1000)),
            ("0.5", Some(500)),
            (".5", Some(500)),
            ("2k", Some(2_000_000)),
            ("1Ki", Some(1_024_000)),
            ("128Mi", Some(128 * 1024 * 1024 * 1000)),
            ("1e3", Some(1_000_000)),
            ("1n", Some(1)),
            ("-1", Some(-1000)),
            ("abc", None),
            ("1Qi", None),
            ("", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_milli(input), *want, "{input}");
        }
        assert_eq!(value(&Quantity("1Gi".into())), 1 << 30);
        assert_eq!(value(&Quantity("1500m".into())), 2);
        assert_eq!(milli(&Quantity("bogus".into())), 0);
    }
}
