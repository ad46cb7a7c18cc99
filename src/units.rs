//! Durations (Go/Kubernetes style strings) and Kubernetes resource quantities.

/// Simulated time and durations are integer milliseconds.
pub type Millis = u64;

/// Parses `500ms`, `90s`, `10m`, `2h`, `3d`, `1h30m`, `1.5h` into milliseconds.
pub fn parse_duration(s: &str) -> Result<Millis, String> {
    let err = || {
        format!(
            "invalid duration \"{s}\": expected a number with a unit (ms, s, m, h, d), such as \"90s\" or \"1h30m\""
        )
    };
    let t = s.trim();
    if t.is_empty() {
        return Err(err());
    }
    if t == "0" {
        return Ok(0);
    }
    let bytes = t.as_bytes();
    let mut i = 0;
    let mut total: f64 = 0.0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        if start == i {
            return Err(err());
        }
        let num: f64 = t[start..i].parse().map_err(|_| err())?;
        let ustart = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit_ms: f64 = match &t[ustart..i] {
            "ms" => 1.0,
            "s" => 1_000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            "d" => 86_400_000.0,
            _ => return Err(err()),
        };
        total += num * unit_ms;
    }
    if !total.is_finite() || total > 1e17 {
        return Err(err());
    }
    Ok(total.round() as Millis)
}

/// Formats milliseconds compactly: `1h30m`, `90ms`, `2d3h`, `12.5s`.
pub fn format_duration(ms: Millis) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = ms;
    let units = [(86_400_000u64, "d"), (3_600_000, "h"), (60_000, "m")];
    for (size, name) in units {
        if rest >= size {
            out.push_str(&format!("{}{}", rest / size, name));
            rest %= size;
        }
    }
    if rest > 0 {
        if rest.is_multiple_of(1000) {
            out.push_str(&format!("{}s", rest / 1000));
        } else if rest < 1000 && out.is_empty() {
            out.push_str(&format!("{rest}ms"));
        } else {
            let s = format!("{}.{:03}", rest / 1000, rest % 1000);
            out.push_str(s.trim_end_matches('0'));
            out.push('s');
        }
    }
    out
}

/// A Kubernetes quantity in milli-units (`"8"` = 8000, `500m` = 500, `1Gi` = 1073741824000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity(pub i128);

impl Quantity {
    pub fn milli(self) -> i128 {
        self.0
    }
    /// Whole units, rounded up (as Kubernetes' `Value()`).
    pub fn value(self) -> i128 {
        (self.0 + 999).div_euclid(1000)
    }
}

/// Parses a Kubernetes quantity: `<signedNumber><suffix>` with binary
/// (`Ki`..`Ei`), decimal (`n u m k M G T P E`) or exponent (`e3`) suffixes.
/// Sub-milli precision rounds up, as Go does.
pub fn parse_quantity(s: &str) -> Result<Quantity, String> {
    let err =
        || format!("invalid quantity \"{s}\": expected a Kubernetes quantity such as \"8\", \"500m\" or \"64Gi\"");
    let t = s.trim();
    if t.is_empty() {
        return Err(err());
    }
    let (sign, body) = match t.as_bytes()[0] {
        b'-' => (-1i128, &t[1..]),
        b'+' => (1, &t[1..]),
        _ => (1, t),
    };
    let num_end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (num, suffix) = body.split_at(num_end);
    if num.is_empty() || num == "." || num.matches('.').count() > 1 {
        return Err(err());
    }
    let (int_part, frac_part) = match num.split_once('.') {
        Some((a, b)) => (a, b),
        None => (num, ""),
    };
    // value = digits * 10^(exp10) * 2^(exp2), computed in milli-units.
    let (exp10, exp2): (i32, u32) = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        s if s.starts_with(['e', 'E']) => {
            let e: i32 = s[1..].parse().map_err(|_| err())?;
            if e.abs() > 30 {
                return Err(err());
            }
            (e, 0)
        }
        _ => return Err(err()),
    };
    let digits = format!("{int_part}{frac_part}");
    if digits.len() > 30 {
        return Err(err());
    }
    let mantissa: i128 = digits.parse().map_err(|_| err())?;
    // milli value = mantissa * 10^(exp10 + 3 - frac_len) * 2^exp2
    let scale = exp10 + 3 - frac_part.len() as i32;
    let mut v = mantissa.checked_mul(1i128 << exp2).ok_or_else(err)?;
    if scale >= 0 {
        v = v
            .checked_mul(10i128.checked_pow(scale as u32).ok_or_else(err)?)
            .ok_or_else(err)?;
    } else {
        let div = 10i128.checked_pow((-scale) as u32).ok_or_else(err)?;
        v = (v + div - 1) / div; // round up
    }
    if v > (i64::MAX as i128) * 1000 {
        return Err(err());
    }
    Ok(Quantity(sign * v))
}

/// Formats a milli-unit amount for people: whole numbers plain, else with `m`.
pub fn format_quantity(q: Quantity) -> String {
    if q.0 % 1000 == 0 {
        format!("{}", q.0 / 1000)
    } else {
        format!("{}m", q.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_go_style() {
        assert_eq!(parse_duration("500ms"), Ok(500));
        assert_eq!(parse_duration("90s"), Ok(90_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("3d"), Ok(259_200_000));
        assert_eq!(parse_duration("1.5h"), Ok(5_400_000));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn durations_format_round_trip() {
        for s in ["1h30m", "90ms", "2d3h", "12.5s", "10s", "0s"] {
            assert_eq!(format_duration(parse_duration(s).unwrap()), s);
        }
    }

    #[test]
    fn quantities_follow_kubernetes_suffixes() {
        assert_eq!(parse_quantity("8").unwrap().milli(), 8000);
        assert_eq!(parse_quantity("500m").unwrap().milli(), 500);
        assert_eq!(parse_quantity("1Ki").unwrap().milli(), 1_024_000);
        assert_eq!(parse_quantity("64Gi").unwrap().value(), 64 * (1 << 30));
        assert_eq!(parse_quantity("1.5").unwrap().milli(), 1500);
        assert_eq!(parse_quantity("1e3").unwrap().milli(), 1_000_000);
        assert_eq!(parse_quantity("0.1m").unwrap().milli(), 1, "sub-milli rounds up");
        assert_eq!(parse_quantity("2k").unwrap().milli(), 2_000_000);
        assert!(parse_quantity("8 GB").is_err());
        assert!(parse_quantity("abc").is_err());
    }
}
