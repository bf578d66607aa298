//! Parsing of Kubernetes resource quantities ("100m", "64Mi", "1.5", "1e3").

/// A quantity in thousandths of its unit (so "100m" is 100, "2" is 2000),
/// rounded up like upstream's MilliValue. None when it does not parse.
pub fn milli_value(q: &str) -> Option<i128> {
    scaled(q, 3)
}

/// A quantity in whole units, rounded up (bytes for memory).
pub fn value(q: &str) -> Option<i128> {
    scaled(q, 0)
}

/// Parse `q` and return it multiplied by 10^pow10, rounded up.
fn scaled(q: &str, pow10: u32) -> Option<i128> {
    let q = q.trim();
    if q.is_empty() {
        return None;
    }
    let (neg, body) = match q.as_bytes()[0] {
        b'-' => (true, &q[1..]),
        b'+' => (false, &q[1..]),
        _ => (false, q),
    };
    let num_end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (num, suffix) = body.split_at(num_end);
    if num.is_empty() || num.matches('.').count() > 1 {
        return None;
    }
    let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
    // mantissa as integer digits with a decimal exponent
    let digits = format!("{int_part}{frac_part}");
    let mut mant: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    let mut exp10: i32 = -(frac_part.len() as i32) + pow10 as i32;
    let mut mul2: u32 = 0;
    match suffix {
        "" => {}
        "n" => exp10 -= 9,
        "u" => exp10 -= 6,
        "m" => exp10 -= 3,
        "k" => exp10 += 3,
        "M" => exp10 += 6,
        "G" => exp10 += 9,
        "T" => exp10 += 12,
        "P" => exp10 += 15,
        "E" => exp10 += 18,
        "Ki" => mul2 = 10,
        "Mi" => mul2 = 20,
        "Gi" => mul2 = 30,
        "Ti" => mul2 = 40,
        "Pi" => mul2 = 50,
        "Ei" => mul2 = 60,
        s if s.starts_with('e') || s.starts_with('E') => exp10 += s[1..].parse::<i32>().ok()?,
        _ => return None,
    }
    mant = mant.checked_mul(1i128.checked_shl(mul2)?)?;
    let v = if exp10 >= 0 {
        mant.checked_mul(10i128.checked_pow(exp10 as u32)?)?
    } else {
        let d = 10i128.checked_pow((-exp10) as u32)?;
        (mant + d - 1) / d
    };
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_and_memory() {
        assert_eq!(milli_value("100m"), Some(100));
        assert_eq!(milli_value("1"), Some(1000));
        assert_eq!(milli_value("0.5"), Some(500));
        assert_eq!(milli_value("1.5"), Some(1500));
        assert_eq!(value("64Mi"), Some(64 * 1024 * 1024));
        assert_eq!(value("1G"), Some(1_000_000_000));
        assert_eq!(value("1e3"), Some(1000));
        assert_eq!(value("128974848"), Some(128974848));
        assert_eq!(value("1.5Ki"), Some(1536));
        assert_eq!(value("abc"), None);
        assert_eq!(value("10x"), None);
        assert_eq!(milli_value("1n"), Some(1));
    }
}
