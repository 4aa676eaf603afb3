//! Number rendering as a C++ `std::ostream` does it with the default float field.
//!
//! Upstream prints doubles through `operator<<` (`stringify` in
//! `3rdparty/stout/include/stout/stringify.hpp`, and `Duration`'s `operator<<`
//! which raises the precision to `digits10` = 15). With no `fixed`/`scientific`
//! flag the stream behaves like `printf("%.*g", precision, x)`: the shortest of
//! fixed and exponent notation, trailing zeros removed.

/// Formats `x` like `printf("%.{precision}g", x)` (C++ ostream default float field).
pub fn format_g(x: f64, precision: usize) -> String {
    if x.is_nan() {
        return if x.is_sign_negative() { "-nan" } else { "nan" }.to_string();
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf" } else { "inf" }.to_string();
    }
    let p = precision.max(1);
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Round to `p` significant digits first; the exponent after rounding decides
    // the notation, exactly as C's %g does.
    let sci = format!("{:.*e}", p - 1, x);
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m.to_string(), e.parse::<i32>().unwrap_or(0)),
        None => (sci.clone(), 0),
    };
    if exp < -4 || exp >= p as i32 {
        let mantissa = strip_zeros(&mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", mantissa, sign, exp.abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        strip_zeros(&format!("{:.*}", decimals, x))
    }
}

/// Removes trailing zeros of a fraction, and the point if nothing follows it.
fn strip_zeros(s: &str) -> String {
    if !s.contains('.') {
        return s.to_string();
    }
    let t = s.trim_end_matches('0');
    t.trim_end_matches('.').to_string()
}

/// Renders a double as `stringify(double)` does (ostream default precision 6).
pub fn stringify_f64(x: f64) -> String {
    format_g(x, 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_printf_g() {
        // Expected values are what glibc printf("%.6g") / ("%.15g") print.
        assert_eq!(format_g(0.1, 6), "0.1");
        assert_eq!(format_g(0.01, 6), "0.01");
        assert_eq!(format_g(32.0, 6), "32");
        assert_eq!(format_g(1.5, 15), "1.5");
        assert_eq!(format_g(100000.0, 6), "100000");
        assert_eq!(format_g(1000000.0, 6), "1e+06");
        assert_eq!(format_g(0.0001, 6), "0.0001");
        assert_eq!(format_g(0.00001, 6), "1e-05");
        assert_eq!(format_g(123456789.0, 15), "123456789");
        assert_eq!(format_g(1.0 / 3.0, 6), "0.333333");
        assert_eq!(format_g(2.0 / 3.0, 15), "0.666666666666667");
        assert_eq!(format_g(-2.5, 6), "-2.5");
        assert_eq!(format_g(999999.5, 6), "1e+06");
        assert_eq!(format_g(0.0, 6), "0");
        assert_eq!(format_g(1e100, 15), "1e+100");
    }
}
