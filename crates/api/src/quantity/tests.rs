//! Cases from upstream's `resource/quantity_test.go`, plus those the replaced copies asserted.

use super::*;

fn q(mantissa: i128, exp: i32, format: Format) -> Quantity {
    Quantity {
        mantissa,
        exp,
        format,
    }
}

fn parsed(s: &str) -> Quantity {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

const DSI: Format = Format::DecimalSi;
const BSI: Format = Format::BinarySi;
const DEX: Format = Format::DecimalExponent;

#[test]
fn parse_table() {
    let max = i128::from(i64::MAX);
    let cases: &[(&str, Quantity)] = &[
        ("0", q(0, 0, DSI)),
        ("0n", q(0, 0, DSI)),
        ("0m", q(0, 0, DSI)),
        ("0Ki", q(0, 0, BSI)),
        ("0Mi", q(0, 0, BSI)),
        ("0G", q(0, 0, DSI)),
        ("1", q(1, 0, DSI)),
        ("1Ki", q(1024, 0, BSI)),
        ("8Ki", q(8 * 1024, 0, BSI)),
        ("7Mi", q(7 << 20, 0, BSI)),
        ("6Gi", q(6 << 30, 0, BSI)),
        ("5Ti", q(5 << 40, 0, BSI)),
        ("4Pi", q(4 << 50, 0, BSI)),
        ("3Ei", q(3 << 60, 0, BSI)),
        ("100Ti", q(100 << 40, 0, BSI)),
        ("5n", q(5, -9, DSI)),
        ("4u", q(4, -6, DSI)),
        ("3m", q(3, -3, DSI)),
        ("8k", q(8, 3, DSI)),
        ("50k", q(5, 4, DSI)),
        ("300T", q(3, 14, DSI)),
        ("2P", q(2, 15, DSI)),
        ("1E", q(1, 18, DSI)),
        ("1E-3", q(1, -3, DEX)),
        ("1e3", q(1, 3, DEX)),
        ("1E18", q(1, 18, DEX)),
        ("1e14", q(1, 14, DEX)),
        ("100.035k", q(100035, 0, DSI)),
        ("0.001", q(1, -3, DSI)),
        ("0.0005k", q(5, -1, DSI)),
        ("0.00050k", q(5, -1, DSI)),
        ("0.50000", q(5, -1, DSI)),
        ("0.5e0", q(5, -1, DEX)),
        ("0.5e-2", q(5, -3, DEX)),
        ("10.035M", q(10035, 3, DSI)),
        ("1.2e3", q(12, 2, DEX)),
        ("1.3E+6", q(13, 5, DEX)),
        ("1.40e9", q(14, 8, DEX)),
        ("1.7E18", q(17, 17, DEX)),
        ("9.01", q(901, -2, DSI)),
        ("7.123456M", q(7123456, 0, DSI)),
        ("6.987654321G", q(6987654321, 0, DSI)),
        ("1.01E", q(101, 16, DSI)),
        // things that saturate or round up
        ("3.001n", q(4, -9, DSI)),
        ("1.1E-9", q(2, -9, DEX)),
        ("0.0000000001", q(1, -9, DSI)),
        ("0.0000000005", q(1, -9, DSI)),
        ("0.5e-9", q(1, -9, DEX)),
        ("0.9n", q(1, -9, DSI)),
        ("0.00000012345", q(124, -9, DSI)),
        ("9Ei", q(max, 0, BSI)),
        ("9223372036854775807Ki", q(max, 0, BSI)),
        ("12E", q(12, 18, DSI)),
        // fractional binary
        ("100.035Ki", q(10243584, -2, BSI)),
        ("0.5Mi", q(512 * 1024, 0, BSI)),
        ("0.05Gi", q(536870912, -1, BSI)),
        ("0.025Ti", q(274877906944, -1, BSI)),
        // written by trolls
        ("0.000000000001Ki", q(2, -9, DSI)),
        (".001", q(1, -3, DSI)),
        (".0001k", q(100, -3, DSI)),
        ("1.", q(1, 0, DSI)),
        ("1.G", q(1, 9, DSI)),
        (".", q(0, 0, DSI)),
    ];
    for (input, want) in cases {
        for (prefix, sign) in [("", 1), ("+", 1), ("-", -1)] {
            let text = format!("{prefix}{input}");
            let got = parsed(&text);
            let want = Quantity {
                mantissa: want.mantissa * sign,
                ..*want
            };
            assert_eq!(got, want, "{text}: got {got}");
            assert_eq!(got.format(), want.format, "{text}");
        }
    }
}

#[test]
fn invalid_inputs() {
    for s in [
        "", "1.1.M", "1+1.0M", "0.1mi", "0.1am", "aoeu", ".5i", "1i", "-3.01i", "-3.01e-", " 1",
        "1 ", "1Qi", "10x", "abc",
    ] {
        assert!(s.parse::<Quantity>().is_err(), "{s:?} parsed");
    }
    assert_eq!("0.1mi".parse::<Quantity>(), Err(QuantityError::Suffix));
    assert_eq!("1Qi".parse::<Quantity>(), Err(QuantityError::Format));
    assert_eq!("1 ".parse::<Quantity>(), Err(QuantityError::Format));
}

#[test]
fn canonical_strings() {
    let cases: &[(Quantity, &str, &str)] = &[
        (q(1 << 30, 0, BSI), "1Gi", "1024Mi"),
        (q(300 << 20, 0, BSI), "300Mi", "307200Ki"),
        (q(6 * 1024, 0, BSI), "6Ki", ""),
        (q(1001 << 30, 0, BSI), "1001Gi", "1025024Mi"),
        (q(1 << 40, 0, BSI), "1Ti", "1024Gi"),
        (q(5, 0, BSI), "5", "5000m"),
        (q(500, -3, BSI), "500m", "0.5"),
        (q(1, 9, DSI), "1G", "1000M"),
        (q(1000, 6, DSI), "1G", "0.001T"),
        (q(1, -3, DSI), "1m", "1000u"),
        (q(80, -3, DSI), "80m", ""),
        (q(1080, -3, DSI), "1080m", "1.08"),
        (q(108, -2, DSI), "1080m", "1080000000n"),
        (q(10800, -4, DSI), "1080m", ""),
        (q(300, 6, DSI), "300M", ""),
        (q(1, 18, DSI), "1E", ""),
        (q(1, 21, DSI), "1e21", "1000E"),
        (q(5, 21, DSI), "5e21", "5000E"),
        (q(1234567, 6, DSI), "1234567M", ""),
        (q(1234567, -3, BSI), "1234567m", ""),
        (q(3, 3, DSI), "3k", ""),
        (q(1025, 0, BSI), "1025", ""),
        (q(0, 0, DSI), "0", ""),
        (q(0, 0, BSI), "0", ""),
        (q(1, 9, DEX), "1e9", ".001e12"),
        (q(1, -3, DEX), "1e-3", "0.001e0"),
        (q(1, -9, DEX), "1e-9", "1000e-12"),
        (q(80, -3, DEX), "80e-3", ""),
        (q(300, 6, DEX), "300e6", ""),
        (q(3, 3, DEX), "3e3", ""),
        (q(0, 0, DEX), "0", "00"),
        (q(108, -8, DSI), "1080n", ""),
        (q(10800, -10, DSI), "1080n", ""),
        (q(1080, -6, DSI), "1080u", ""),
    ];
    for (value, want, alternate) in cases {
        assert_eq!(value.to_string(), *want, "{value:?}");
        assert_eq!(parsed(want).to_string(), *want, "reparse {want}");
        if !alternate.is_empty() {
            assert_eq!(parsed(alternate).to_string(), *want, "{alternate}");
        }
        if !value.is_zero() {
            let neg = Quantity {
                mantissa: -value.mantissa,
                ..*value
            };
            assert_eq!(neg.to_string(), format!("-{want}"));
        }
    }
}

#[test]
fn parse_then_emit() {
    for (input, want) in [
        ("1Ki", "1Ki"),
        ("1024Mi", "1Gi"),
        ("1000M", "1G"),
        (".001Ki", "1024m"),
        (".000001Ki", "1024u"),
        (".000000001Ki", "1024n"),
        (".000000000001Ki", "2n"),
        ("1.5Gi", "1536Mi"),
        ("1.5", "1500m"),
        ("0.1m", "100u"),
    ] {
        assert_eq!(parsed(input).to_string(), want, "{input}");
        assert_eq!(parsed(&format!("-{input}")).to_string(), format!("-{want}"));
    }
}

#[test]
fn comparison() {
    for (x, y, want) in [
        ("0", "0", Ordering::Equal),
        ("100m", "50m", Ordering::Greater),
        ("50m", "100m", Ordering::Less),
        ("10000T", "100Gi", Ordering::Greater),
        ("1", "1000m", Ordering::Equal),
        ("-1", "1n", Ordering::Less),
        ("-2", "-1", Ordering::Less),
        ("1e30", "1e29", Ordering::Greater),
    ] {
        assert_eq!(parsed(x).cmp(&parsed(y)), want, "{x} vs {y}");
    }
}

#[test]
fn addition_keeps_the_first_nonzero_format() {
    let cases = [
        (q(10, 0, DSI), q(1, 1, DSI), q(20, 0, DSI), DSI),
        (q(10, 0, DSI), q(1, 0, BSI), q(11, 0, DSI), DSI),
        (q(10, 0, BSI), q(1, 0, DSI), q(11, 0, BSI), BSI),
        (q(0, 0, DSI), q(50, 0, BSI), q(50, 0, DSI), BSI),
        (q(50, 0, DSI), q(0, 0, BSI), q(50, 0, DSI), DSI),
    ];
    for (a, b, want, format) in cases {
        let sum = a.add(&b);
        assert_eq!(sum, want, "{a:?} + {b:?}");
        assert_eq!(sum.format(), format);
    }
    for v in ["100m", "1Gi"] {
        let zero = parsed("0");
        assert_eq!(parsed(v).add(&zero).to_string(), v);
        assert_eq!(zero.add(&parsed(v)).to_string(), v);
    }
    assert_eq!(parsed("128Mi").add(&parsed("128Mi")).to_string(), "256Mi");
    assert_eq!(parsed("250m").add(&parsed("1")).to_string(), "1250m");
    // past 38 digits the finer addend is rounded up instead of overflowing
    assert_eq!(
        parsed("1e40").add(&parsed("1n")),
        q(10i128.pow(38) + 1, 2, DEX)
    );
}

#[test]
fn scaled_values_round_up_away_from_zero() {
    for (from, to, want) in [
        (-9, -9, 1),
        (-9, -3, 1),
        (-9, 0, 1),
        (-6, -9, 1000),
        (-3, -9, 1_000_000),
        (0, -3, 1000),
        (0, 0, 1),
        (2, -2, 10_000),
    ] {
        assert_eq!(q(1, from, DSI).scaled_value(to), want, "{from} -> {to}");
    }
    for (s, milli, value) in [
        ("100m", 100, 1),
        ("1", 1000, 1),
        ("0.5", 500, 1),
        (".5", 500, 1),
        ("1.5", 1500, 2),
        ("2k", 2_000_000, 2000),
        ("1Ki", 1_024_000, 1024),
        ("1n", 1, 1),
        ("0.1m", 1, 1),
        ("-1", -1000, -1),
        ("-1.5", -1500, -2),
        ("1500m", 1500, 2),
    ] {
        assert_eq!(parsed(s).milli_value(), milli, "{s} milli");
        assert_eq!(parsed(s).value(), value, "{s} value");
    }
    assert_eq!(parsed("1e30").value(), i64::MAX);
    assert_eq!(parsed("-1e30").milli_value(), -i64::MAX);
}

#[test]
fn wire_helpers() {
    let cases: &[(&str, Option<i64>, Option<i64>)] = &[
        ("64Mi", Some(64 * 1024 * 1024 * 1000), Some(64 << 20)),
        ("1G", Some(1_000_000_000_000), Some(1_000_000_000)),
        ("1e3", Some(1_000_000), Some(1000)),
        ("128974848", Some(128_974_848_000), Some(128_974_848)),
        ("1.5Ki", Some(1_536_000), Some(1536)),
        (" 1 ", Some(1000), Some(1)),
        ("bogus", None, None),
        ("", None, None),
    ];
    for (s, milli, whole) in cases {
        assert_eq!(milli_value(s), *milli, "{s:?}");
        assert_eq!(value(s), *whole, "{s:?}");
    }
    let wire = WireQuantity("1.5Gi".into());
    let q = Quantity::try_from(&wire).map(|q| q.value());
    assert_eq!(q, Ok(1536 << 20));
    assert_eq!(
        WireQuantity::from(&Quantity::from_milli(1500, DSI)).0,
        "1500m"
    );
    assert_eq!(Quantity::new(1024, BSI).to_string(), "1Ki");
    assert_eq!(Quantity::from_milli(1024, BSI).to_string(), "1024m");
}
