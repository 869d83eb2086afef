//! Units as they are written in a scenario: durations (`250ms`, `1m30s`),
//! rates (`120/s`, `3000/min`) and percentages (`99%`).
//!
//! Every parser returns a message that says what was expected, so the
//! validation layer only has to add the file, the position and the key.

use super::limits::echo;

/// Nanoseconds per unit, longest suffix first so `ms` is not read as `m` + `s`.
const DURATION_UNITS: &[(&str, f64)] = &[
    ("ns", 1.0),
    ("us", 1e3),
    ("µs", 1e3),
    ("ms", 1e6),
    ("min", 60e9),
    ("s", 1e9),
    ("m", 60e9),
    ("h", 3600e9),
];

const DURATION_HINT: &str = "a duration such as \"250ms\", \"1.5s\" or \"1m30s\" (units: ns, us, ms, s, m, h)";

/// Parses a duration into integer nanoseconds.
///
/// A duration is one or more `<number><unit>` parts that add up: `1m30s`,
/// `1h 15m`, `0.5ms`. A bare `0` is accepted as zero.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let s = text.trim();
    let shown = echo(s);
    let text = shown.as_str();
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(format!("expected {DURATION_HINT}, found an empty string"));
    }
    let mut rest = s;
    let mut total = 0f64;
    while !rest.is_empty() {
        rest = rest.trim_start();
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            if rest.starts_with('-') {
                return Err(format!("a duration cannot be negative: \"{text}\""));
            }
            return Err(format!("expected {DURATION_HINT}, found \"{text}\""));
        }
        let number: f64 = rest[..num_len]
            .parse()
            .map_err(|_| format!("expected {DURATION_HINT}, found \"{text}\""))?;
        rest = rest[num_len..].trim_start();
        let Some((unit, scale)) = DURATION_UNITS.iter().find(|(u, _)| rest.starts_with(u)) else {
            return Err(if rest.is_empty() {
                format!("\"{text}\" has no unit: write e.g. \"{text}s\" or \"{text}ms\"")
            } else {
                format!("unknown unit in \"{text}\": expected {DURATION_HINT}")
            });
        };
        // A unit must not run into more letters ("5mss", "3sec").
        let after = &rest[unit.len()..];
        if after.starts_with(|c: char| c.is_alphabetic()) {
            return Err(format!("unknown unit in \"{text}\": expected {DURATION_HINT}"));
        }
        total += number * scale;
        rest = after;
    }
    if !total.is_finite() || total > u64::MAX as f64 / 2.0 {
        return Err(format!("\"{text}\" is too long a duration"));
    }
    Ok(total.round() as u64)
}

/// Formats nanoseconds for people: `250ms`, `1.5s`, `2m30s`.
pub fn format_duration(ns: u64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    if ns < 1_000 {
        return format!("{ns}ns");
    }
    if ns < 1_000_000 {
        return format!("{}us", trim_float(ns as f64 / 1e3));
    }
    if ns < 1_000_000_000 {
        return format!("{}ms", trim_float(ns as f64 / 1e6));
    }
    if ns < 60_000_000_000 {
        return format!("{}s", trim_float(ns as f64 / 1e9));
    }
    let secs = ns as f64 / 1e9;
    let hours = (secs / 3600.0).floor();
    let minutes = ((secs - hours * 3600.0) / 60.0).floor();
    let rem = secs - hours * 3600.0 - minutes * 60.0;
    let mut out = String::new();
    if hours > 0.0 {
        out += &format!("{hours}h");
    }
    if minutes > 0.0 {
        out += &format!("{minutes}m");
    }
    if rem >= 0.0005 {
        out += &format!("{}s", trim_float(rem));
    }
    out
}

fn trim_float(x: f64) -> String {
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

const RATE_HINT: &str = "a rate such as \"120/s\", \"3000/min\" or \"90000/h\", or a number of requests per second";

/// Parses a rate into events per second.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let s = text.trim();
    let shown = echo(s);
    let text = shown.as_str();
    let Some((num, unit)) = s.split_once('/') else {
        return Err(format!("\"{text}\" has no unit: expected {RATE_HINT}"));
    };
    let per = match unit.trim() {
        "s" | "sec" => 1.0,
        "min" | "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("unknown unit in \"{text}\": expected {RATE_HINT}")),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("expected {RATE_HINT}, found \"{text}\""))?;
    check_rate(n / per).map_err(|e| format!("{e} (\"{text}\")"))
}

/// A rate must be a finite, non-negative number of events per second.
pub fn check_rate(per_second: f64) -> Result<f64, String> {
    if !per_second.is_finite() {
        return Err("a rate must be a finite number".into());
    }
    if per_second < 0.0 {
        return Err("a rate cannot be negative".into());
    }
    Ok(per_second)
}

/// Parses a percentage such as `99%` or `0.5%` into a fraction (0.99, 0.005).
pub fn parse_percent(text: &str) -> Result<f64, String> {
    let s = text.trim();
    let shown = echo(s);
    let text = shown.as_str();
    let Some(num) = s.strip_suffix('%') else {
        return Err(format!(
            "expected a percentage such as \"1%\" or \"99.5%\", found \"{text}\""
        ));
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("expected a percentage such as \"1%\" or \"99.5%\", found \"{text}\""))?;
    if !(0.0..=100.0).contains(&v) {
        return Err(format!("a percentage must lie between 0% and 100%, found \"{text}\""));
    }
    Ok(v / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_add_their_parts() {
        assert_eq!(parse_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_duration("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_duration("1h 15m"), Ok(4_500_000_000_000));
        assert_eq!(parse_duration("0.5ms"), Ok(500_000));
        assert_eq!(parse_duration("2us"), Ok(2_000));
        assert_eq!(parse_duration("7ns"), Ok(7));
        assert_eq!(parse_duration("2min"), Ok(120_000_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
    }

    #[test]
    fn bad_durations_say_what_is_expected() {
        assert!(parse_duration("30").unwrap_err().contains("has no unit"));
        assert!(parse_duration("-5s").unwrap_err().contains("negative"));
        assert!(parse_duration("5 parsecs").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("3sec").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("").unwrap_err().contains("empty"));
        assert!(parse_duration("1..2s").unwrap_err().contains("expected a duration"));
    }

    #[test]
    fn durations_format_back() {
        assert_eq!(format_duration(250_000_000), "250ms");
        assert_eq!(format_duration(1_500_000_000), "1.5s");
        assert_eq!(format_duration(150_000_000_000), "2m30s");
        assert_eq!(format_duration(120_000_000_000), "2m");
        assert_eq!(format_duration(12), "12ns");
        assert_eq!(format_duration(3_600_000_000_000), "1h");
        assert_eq!(format_duration(5_556_000_000_000), "1h32m36s");
        assert_eq!(format_duration(360_000_000_000_000_000), "100000h");
    }

    #[test]
    fn rates_and_percentages() {
        assert_eq!(parse_rate("120/s"), Ok(120.0));
        assert_eq!(parse_rate("3000/min"), Ok(50.0));
        assert_eq!(parse_rate("7200/h"), Ok(2.0));
        assert!(parse_rate("-1/s").unwrap_err().contains("negative"));
        assert!(parse_rate("12").unwrap_err().contains("no unit"));
        assert!(parse_rate("12/fortnight").unwrap_err().contains("unknown unit"));
        assert_eq!(parse_percent("99%"), Ok(0.99));
        assert!(parse_percent("101%").unwrap_err().contains("between"));
        assert!(parse_percent("0.5").unwrap_err().contains("percentage"));
    }
}
