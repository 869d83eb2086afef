//! Probability distributions of durations, written as short expressions:
//!
//! | written | meaning |
//! |---|---|
//! | `5ms` or `const(5ms)` | always 5 ms |
//! | `exp(mean = 20ms)` | exponential with that mean |
//! | `uniform(1ms, 3ms)` | uniform between the two bounds |
//! | `lognormal(median = 4ms, p99 = 40ms)` | log-normal through those two quantiles |
//! | `mix(99% exp(mean = 2ms), 1% const(2s))` | a mixture, weights add up to 100 % |
//!
//! Arguments may be named (`min = 1ms`) or positional, in the order above.

use std::fmt;

use super::limits::{MAX_DIST_DEPTH, MAX_MIX_PARTS, echo};
use super::units::{format_duration, parse_duration, parse_percent};

/// The standard normal quantile at 0.99, which ties a log-normal's p99 to its median.
pub const Z99: f64 = 2.326_347_874_040_840_8;

/// A validated distribution of durations in nanoseconds.
///
/// Built only by [`Dist::parse`] or the checked constructors, so every value
/// it holds is usable: positive means, ordered bounds, weights adding to one.
#[derive(Clone, Debug, PartialEq)]
pub struct Dist(DistKind);

/// The shape of a [`Dist`] with its parameters in nanoseconds.
#[derive(Clone, Debug, PartialEq)]
pub enum DistKind {
    Const(u64),
    Exp {
        mean: f64,
    },
    Uniform {
        min: u64,
        max: u64,
    },
    /// Log-normal given by its median and 99th percentile (`p99 > median`).
    LogNormal {
        median: f64,
        p99: f64,
    },
    /// Components with weights that add up to one.
    Mix(Vec<(f64, Dist)>),
}

impl Dist {
    /// Parses the written form; the error says what was expected.
    pub fn parse(text: &str) -> Result<Dist, String> {
        let mut p = Parser {
            src: text,
            pos: 0,
            depth: 0,
        };
        let d = p.dist()?;
        p.skip_ws();
        if p.pos != text.len() {
            return Err(format!(
                "unexpected \"{}\" after the distribution in \"{}\"",
                echo(&text[p.pos..]),
                echo(text)
            ));
        }
        Ok(d)
    }

    pub fn constant(ns: u64) -> Dist {
        Dist(DistKind::Const(ns))
    }

    pub fn exp(mean_ns: f64) -> Result<Dist, String> {
        if !(mean_ns.is_finite() && mean_ns > 0.0) {
            return Err("exp: the mean must be greater than 0".into());
        }
        Ok(Dist(DistKind::Exp { mean: mean_ns }))
    }

    pub fn uniform(min: u64, max: u64) -> Result<Dist, String> {
        if max < min {
            return Err(format!(
                "uniform: the upper bound ({}) is below the lower bound ({})",
                format_duration(max),
                format_duration(min)
            ));
        }
        Ok(Dist(DistKind::Uniform { min, max }))
    }

    pub fn lognormal(median: f64, p99: f64) -> Result<Dist, String> {
        if !(median.is_finite() && median > 0.0) {
            return Err("lognormal: the median must be greater than 0".into());
        }
        if !(p99.is_finite() && p99 > median) {
            return Err(format!(
                "lognormal: the p99 ({}) must be above the median ({})",
                format_duration(p99 as u64),
                format_duration(median as u64)
            ));
        }
        Ok(Dist(DistKind::LogNormal { median, p99 }))
    }

    pub fn mix(components: Vec<(f64, Dist)>) -> Result<Dist, String> {
        if components.len() < 2 {
            return Err("mix: give at least two weighted components, e.g. mix(99% 2ms, 1% 2s)".into());
        }
        if components.len() > MAX_MIX_PARTS {
            return Err(format!(
                "mix: at most {MAX_MIX_PARTS} components, found {}",
                components.len()
            ));
        }
        if components.iter().any(|(w, _)| !(w.is_finite() && *w > 0.0)) {
            return Err("mix: every weight must be above 0%".into());
        }
        let sum: f64 = components.iter().map(|(w, _)| w).sum();
        if (sum - 1.0).abs() > 1e-9 {
            return Err(format!(
                "mix: the weights add up to {}%, they must add up to 100%",
                trim(sum * 100.0)
            ));
        }
        Ok(Dist(DistKind::Mix(components)))
    }

    /// The same shape with every duration multiplied by `factor` (> 0):
    /// what calibration writes when the real stack takes `factor` times
    /// the time the scenario gave. Durations round to whole nanoseconds
    /// (at least 1).
    pub fn scaled(&self, factor: f64) -> Dist {
        assert!(factor.is_finite() && factor > 0.0, "a scale factor above 0");
        let ns = |v: u64| ((v as f64 * factor).round() as u64).max(1);
        let f = |v: f64| (v * factor).max(1.0);
        Dist(match &self.0 {
            DistKind::Const(c) => DistKind::Const(ns(*c)),
            DistKind::Exp { mean } => DistKind::Exp { mean: f(*mean) },
            DistKind::Uniform { min, max } => DistKind::Uniform {
                min: ns(*min),
                max: ns(*max).max(ns(*min)),
            },
            DistKind::LogNormal { median, p99 } => DistKind::LogNormal {
                median: f(*median),
                p99: f(*p99).max(f(*median) * (1.0 + 1e-9)),
            },
            DistKind::Mix(parts) => DistKind::Mix(parts.iter().map(|(w, d)| (*w, d.scaled(factor))).collect()),
        })
    }

    pub fn kind(&self) -> &DistKind {
        &self.0
    }

    /// The mean in nanoseconds.
    pub fn mean(&self) -> f64 {
        match &self.0 {
            DistKind::Const(c) => *c as f64,
            DistKind::Exp { mean } => *mean,
            DistKind::Uniform { min, max } => (*min as f64 + *max as f64) / 2.0,
            DistKind::LogNormal { .. } => {
                let (mu, sigma) = self.lognormal_params().expect("log-normal");
                (mu + sigma * sigma / 2.0).exp()
            }
            DistKind::Mix(parts) => parts.iter().map(|(w, d)| w * d.mean()).sum(),
        }
    }

    /// E[X²] in ns².
    pub fn second_moment(&self) -> f64 {
        match &self.0 {
            DistKind::Const(c) => (*c as f64).powi(2),
            DistKind::Exp { mean } => 2.0 * mean * mean,
            DistKind::Uniform { min, max } => {
                let (a, b) = (*min as f64, *max as f64);
                (a * a + a * b + b * b) / 3.0
            }
            DistKind::LogNormal { .. } => {
                let (mu, sigma) = self.lognormal_params().expect("log-normal");
                (2.0 * mu + 2.0 * sigma * sigma).exp()
            }
            DistKind::Mix(parts) => parts.iter().map(|(w, d)| w * d.second_moment()).sum(),
        }
    }

    /// `(mu, sigma)` of the underlying normal, for a log-normal.
    pub fn lognormal_params(&self) -> Option<(f64, f64)> {
        match self.0 {
            DistKind::LogNormal { median, p99 } => {
                let mu = median.ln();
                Some((mu, (p99.ln() - mu) / Z99))
            }
            _ => None,
        }
    }
}

impl fmt::Display for Dist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = |ns: f64| format_duration(ns.round() as u64);
        match &self.0 {
            DistKind::Const(c) => write!(f, "const({})", format_duration(*c)),
            DistKind::Exp { mean } => write!(f, "exp(mean = {})", d(*mean)),
            DistKind::Uniform { min, max } => {
                write!(f, "uniform({}, {})", format_duration(*min), format_duration(*max))
            }
            DistKind::LogNormal { median, p99 } => {
                write!(f, "lognormal(median = {}, p99 = {})", d(*median), d(*p99))
            }
            DistKind::Mix(parts) => {
                write!(f, "mix(")?;
                for (i, (w, dist)) in parts.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{}% {dist}", trim(w * 100.0))?;
                }
                write!(f, ")")
            }
        }
    }
}

fn trim(x: f64) -> String {
    let s = format!("{x:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

const KINDS: &str = "const, exp, uniform, lognormal or mix";

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    /// Distributions open around the current one.
    depth: usize,
}

enum Arg {
    Named(String, String),
    Positional(String),
    Weighted(f64, Dist),
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn skip_ws(&mut self) {
        let r = self.rest();
        self.pos += r.len() - r.trim_start().len();
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.rest().starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// A run of characters up to the next delimiter, trimmed: a duration
    /// (spaces allowed, as in "5 ms" or "1m 30s"), a name, or a value.
    fn atom(&mut self) -> &'a str {
        self.skip_ws();
        let r = self.rest();
        let len = r.find(|c: char| "(),=".contains(c)).unwrap_or(r.len());
        self.pos += len;
        r[..len].trim_end()
    }

    /// A mixture component's weight: everything up to and with its '%'.
    fn weight(&mut self) -> Result<f64, String> {
        self.skip_ws();
        let r = self.rest();
        let len = r.find('%').map_or(0, |i| i + 1);
        let w = &r[..len];
        let bad = || {
            let shown = r.split([',', ')']).next().unwrap_or("").trim();
            format!(
                "mix: each component starts with its weight, e.g. \"99% exp(mean = 2ms)\"; found \"{}\"",
                echo(shown)
            )
        };
        if w.is_empty() || w[..w.len() - 1].contains(|c: char| "(),=".contains(c)) {
            return Err(bad());
        }
        let weight = parse_percent(w).map_err(|_| bad())?;
        self.pos += len;
        Ok(weight)
    }

    fn dist(&mut self) -> Result<Dist, String> {
        if self.depth >= MAX_DIST_DEPTH {
            return Err(format!(
                "distributions nest at most {MAX_DIST_DEPTH} deep (a mix of mixes of …); flatten this one"
            ));
        }
        self.depth += 1;
        let d = self.dist_inner();
        self.depth -= 1;
        d
    }

    fn dist_inner(&mut self) -> Result<Dist, String> {
        let start = self.pos;
        let word = self.atom();
        if word.is_empty() {
            return Err(format!(
                "expected a distribution ({KINDS}) or a duration, found \"{}\"",
                echo(self.src)
            ));
        }
        if !self.eat('(') {
            // A bare duration is a constant.
            return parse_duration(word).map(Dist::constant).map_err(|e| {
                if word.starts_with(|c: char| c.is_alphabetic()) {
                    format!(
                        "unknown distribution \"{}\": expected {KINDS}, e.g. \"exp(mean = 20ms)\"",
                        echo(word)
                    )
                } else {
                    e
                }
            });
        }
        let args = self.args(word)?;
        let whole = &self.src[start..self.pos];
        build(word, args).map_err(|e| format!("{e} (in \"{}\")", echo(whole.trim())))
    }

    fn args(&mut self, kind: &str) -> Result<Vec<Arg>, String> {
        let mut args = Vec::new();
        if self.eat(')') {
            return Ok(args);
        }
        loop {
            self.skip_ws();
            if kind == "mix" {
                let weight = self.weight()?;
                let d = self.dist()?;
                args.push(Arg::Weighted(weight, d));
            } else {
                let first = self.atom();
                if self.eat('=') {
                    let value = self.atom();
                    args.push(Arg::Named(first.to_string(), value.to_string()));
                } else {
                    args.push(Arg::Positional(first.to_string()));
                }
            }
            if self.eat(')') {
                return Ok(args);
            }
            if !self.eat(',') {
                return Err(format!(
                    "expected \",\" or \")\" in the arguments of {kind}(...) in \"{}\"",
                    echo(self.src)
                ));
            }
        }
    }
}

/// Resolves named and positional arguments against a parameter list.
fn bind(kind: &str, params: &[&str], args: Vec<Arg>) -> Result<Vec<u64>, String> {
    let mut values: Vec<Option<u64>> = vec![None; params.len()];
    for (i, arg) in args.into_iter().enumerate() {
        let (slot, text) = match arg {
            Arg::Named(name, v) => {
                let Some(slot) = params.iter().position(|p| *p == name) else {
                    return Err(format!(
                        "{kind}() has no parameter \"{}\": expected {}",
                        echo(&name),
                        params.join(", ")
                    ));
                };
                (slot, v)
            }
            Arg::Positional(v) => {
                if i >= params.len() {
                    return Err(format!(
                        "{kind}() takes {} argument(s): {}",
                        params.len(),
                        params.join(", ")
                    ));
                }
                (i, v)
            }
            Arg::Weighted(..) => return Err(format!("{kind}() does not take weighted components")),
        };
        if values[slot].is_some() {
            return Err(format!("{kind}(): \"{}\" is given twice", params[slot]));
        }
        let ns = parse_duration(&text).map_err(|e| format!("{kind}(): {}: {e}", params[slot]))?;
        values[slot] = Some(ns);
    }
    values
        .into_iter()
        .zip(params)
        .map(|(v, p)| v.ok_or_else(|| format!("{kind}() needs \"{p}\": write {kind}({})", example(kind))))
        .collect()
}

fn example(kind: &str) -> &'static str {
    match kind {
        "const" => "5ms",
        "exp" => "mean = 20ms",
        "uniform" => "1ms, 3ms",
        "lognormal" => "median = 4ms, p99 = 40ms",
        _ => "...",
    }
}

fn build(kind: &str, args: Vec<Arg>) -> Result<Dist, String> {
    match kind {
        "const" => Ok(Dist::constant(bind(kind, &["value"], args)?[0])),
        "exp" | "exponential" => Dist::exp(bind("exp", &["mean"], args)?[0] as f64),
        "uniform" => {
            let v = bind(kind, &["min", "max"], args)?;
            Dist::uniform(v[0], v[1])
        }
        "lognormal" => {
            let v = bind(kind, &["median", "p99"], args)?;
            Dist::lognormal(v[0] as f64, v[1] as f64)
        }
        "mix" => {
            let parts = args
                .into_iter()
                .map(|a| match a {
                    Arg::Weighted(w, d) => Ok((w, d)),
                    _ => Err("mix: each component starts with its weight, e.g. \"99% exp(mean = 2ms)\"".to_string()),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Dist::mix(parts)
        }
        other => Err(format!("unknown distribution \"{}\": expected {KINDS}", echo(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind() {
        assert_eq!(Dist::parse("5ms").unwrap(), Dist::constant(5_000_000));
        assert_eq!(Dist::parse("const(5ms)").unwrap(), Dist::constant(5_000_000));
        assert_eq!(Dist::parse("exp(mean = 20ms)").unwrap(), Dist::exp(20e6).unwrap());
        assert_eq!(Dist::parse("exp(20ms)").unwrap(), Dist::exp(20e6).unwrap());
        assert_eq!(
            Dist::parse("uniform(1ms, 3ms)").unwrap(),
            Dist::uniform(1_000_000, 3_000_000).unwrap()
        );
        assert_eq!(
            Dist::parse("uniform(max = 3ms, min = 1ms)").unwrap(),
            Dist::uniform(1_000_000, 3_000_000).unwrap()
        );
        let ln = Dist::parse("lognormal(median = 4ms, p99 = 40ms)").unwrap();
        let (mu, sigma) = ln.lognormal_params().unwrap();
        assert!((mu.exp() - 4e6).abs() < 1.0);
        assert!(((mu + sigma * Z99).exp() - 40e6).abs() < 10.0);
        let m = Dist::parse("mix(99% exp(mean = 2ms), 1% lognormal(median = 1s, p99 = 8s))").unwrap();
        let DistKind::Mix(parts) = m.kind() else { panic!() };
        assert_eq!(parts.len(), 2);
        assert!((parts[0].0 - 0.99).abs() < 1e-12);
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "const(5ms)",
            "exp(mean = 20ms)",
            "uniform(1ms, 3ms)",
            "lognormal(median = 4ms, p99 = 40ms)",
            "mix(99% exp(mean = 2ms), 1% const(2s))",
        ] {
            let d = Dist::parse(text).unwrap();
            assert_eq!(d.to_string(), text);
            assert_eq!(Dist::parse(&d.to_string()).unwrap(), d);
        }
    }

    #[test]
    fn means() {
        assert_eq!(Dist::parse("uniform(1ms, 3ms)").unwrap().mean(), 2e6);
        let m = Dist::parse("mix(50% 2ms, 50% 4ms)").unwrap();
        assert!((m.mean() - 3e6).abs() < 1e-6);
        let ln = Dist::parse("lognormal(median = 4ms, p99 = 40ms)").unwrap();
        assert!(ln.mean() > 4e6);
        // Var = E[X²] − E[X]²: 0 for a constant, mean² for an exponential,
        // (b − a)²/12 for a uniform.
        assert_eq!(Dist::constant(3).second_moment(), 9.0);
        let e = Dist::exp(5.0).unwrap();
        assert!((e.second_moment() - e.mean().powi(2) - 25.0).abs() < 1e-9);
        let u = Dist::uniform(0, 12).unwrap();
        assert!((u.second_moment() - u.mean().powi(2) - 12.0).abs() < 1e-9);
        assert_eq!(m.second_moment(), (4e12 + 16e12) / 2.0);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let e = |s: &str| Dist::parse(s).unwrap_err();
        assert!(
            e("lognormal(median = 40ms, p99 = 4ms)").contains("must be above the median"),
            "{}",
            e("lognormal(median = 40ms, p99 = 4ms)")
        );
        assert!(e("gamma(2, 3ms)").contains("unknown distribution"));
        assert!(e("pareto").contains("unknown distribution"));
        assert!(e("exp(mean = 0s)").contains("greater than 0"));
        assert!(e("exp(rate = 3ms)").contains("no parameter \"rate\""));
        assert!(e("lognormal(median = 4ms)").contains("needs \"p99\""));
        assert!(e("uniform(3ms, 1ms)").contains("below the lower bound"));
        assert!(e("mix(90% 1ms, 5% 2ms)").contains("add up to 95%"));
        assert!(e("mix(1ms, 2ms)").contains("weight"));
        assert!(e("exp(mean = 2ms) extra").contains("unexpected"));
        assert!(e("exp(mean = 2ms").contains("expected \",\" or \")\""));
        assert!(e("exp(mean = 2)").contains("no unit"));
    }

    #[test]
    fn durations_inside_distributions_may_hold_spaces() {
        assert_eq!(Dist::parse("5 ms").unwrap(), Dist::constant(5_000_000));
        assert_eq!(Dist::parse("1m 30s").unwrap(), Dist::constant(90_000_000_000));
        assert_eq!(Dist::parse("exp(mean = 20 ms)").unwrap(), Dist::exp(20e6).unwrap());
        assert_eq!(
            Dist::parse("uniform(1 ms, 1m 30s)").unwrap(),
            Dist::uniform(1_000_000, 90_000_000_000).unwrap()
        );
        assert_eq!(
            Dist::parse("mix(50% 5 ms, 50% const(1m 30s))").unwrap().mean(),
            (5e6 + 90e9) / 2.0
        );
        let e = Dist::parse("5 parsecs").unwrap_err();
        assert!(e.contains("unknown unit in \"5 parsecs\""), "{e}");
        let e = Dist::parse("mix(5 ms, 2s)").unwrap_err();
        assert!(e.contains("starts with its weight"), "{e}");
    }

    #[test]
    fn mixes_have_a_bounded_number_of_parts() {
        let parts = |n: usize| format!("mix({})", vec![format!("{}% 1ms", 100.0 / n as f64); n].join(", "));
        assert!(Dist::parse(&parts(MAX_MIX_PARTS)).is_ok());
        let e = Dist::parse(&parts(MAX_MIX_PARTS + 1)).unwrap_err();
        assert!(e.contains("at most 64 components"), "{e}");
    }

    #[test]
    fn nesting_is_bounded() {
        let nested = |n: usize| format!("{}1ms{}", "mix(50% ".repeat(n), ", 50% 2ms)".repeat(n));
        assert!(Dist::parse(&nested(MAX_DIST_DEPTH - 1)).is_ok());
        let e = Dist::parse(&nested(30_000)).unwrap_err();
        assert!(e.contains("nest at most 16 deep"), "{e}");
    }

    #[test]
    fn long_text_is_not_echoed_whole() {
        let e = Dist::parse(&format!("exp({})", "x".repeat(300_000))).unwrap_err();
        assert!(e.len() < 400, "{}", e.len());
    }

    #[test]
    fn scaling_multiplies_the_mean_and_keeps_the_shape() {
        for text in [
            "const(2ms)",
            "exp(mean = 3ms)",
            "uniform(1ms, 5ms)",
            "lognormal(median = 4ms, p99 = 40ms)",
            "mix(97% lognormal(median = 4ms, p99 = 30ms), 3% const(2s))",
        ] {
            let d = Dist::parse(text).unwrap();
            let s = d.scaled(1.5);
            assert!((s.mean() / d.mean() - 1.5).abs() < 1e-6, "{text}: {s}");
            // The scaled distribution prints as one the parser takes back.
            assert_eq!(
                Dist::parse(&s.to_string()).unwrap().to_string(),
                s.to_string(),
                "{text}"
            );
        }
        let l = Dist::parse("lognormal(median = 4ms, p99 = 40ms)").unwrap().scaled(0.5);
        assert_eq!(l.to_string(), "lognormal(median = 2ms, p99 = 20ms)");
        assert_eq!(
            Dist::constant(1).scaled(0.1).to_string(),
            "const(1ns)",
            "never below 1 ns"
        );
    }
}
