//! Judging a record against the scenario's SLO.

use crate::scenario::Slo;
use crate::scenario::units::format_duration;

use super::{Latencies, OutcomeCounts, Record};

/// One objective, judged.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// `p99`, `error_rate`, ...; an endpoint's are `checkout p99`.
    pub name: String,
    pub target: String,
    pub actual: String,
    pub pass: bool,
    /// The figure over its bound (1.0 is right at it); infinite when
    /// nothing was measured, which fails.
    pub ratio: f64,
}

/// Every objective of an SLO, judged against one record.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub checks: Vec<Check>,
}

impl Verdict {
    /// Latency objectives apply to successful responses after the warm-up;
    /// the error rate counts every failure, client timeouts included. A run
    /// in which nothing succeeded fails every latency objective.
    ///
    /// An endpoint's objectives are judged on its own requests; an endpoint
    /// the record does not know fails them, since nothing was measured.
    ///
    /// With `during`, every objective is judged on that phase's windows.
    pub fn judge(slo: &Slo, record: &Record) -> Verdict {
        let t = &record.totals;
        let mut checks = Vec::new();
        let stretch = slo.during.as_ref().map(|p| record.stretch(p));
        match &stretch {
            Some(s) => judge_into(&mut checks, "", slo, &s.outcomes, &s.latency),
            None => judge_into(&mut checks, "", slo, &t.outcomes, &t.latency),
        }
        for (name, objectives) in &slo.endpoints {
            let i = record.endpoints.iter().position(|e| e == name);
            let figures = match (&stretch, i) {
                (_, None) => None,
                (None, Some(i)) => record.endpoint_totals(i).map(|v| (v.outcomes, v.latency)),
                (Some(s), Some(i)) if record.endpoints.len() == 1 && i == 0 => Some((&s.outcomes, &s.latency)),
                (Some(s), Some(i)) => s.endpoints.get(i).map(|(o, l)| (o, l)),
            };
            let prefix = format!("{name} ");
            match figures {
                Some((o, l)) => judge_into(&mut checks, &prefix, objectives, o, l),
                None => {
                    let none = OutcomeCounts::zeroed(1);
                    judge_into(&mut checks, &prefix, objectives, &none, &Latencies::default());
                }
            }
        }
        if let Some(p) = &slo.during {
            for c in &mut checks {
                c.target = format!("{} during {}", c.target, p.name);
            }
        }
        Verdict { checks }
    }

    /// True when every objective holds (and vacuously when there are none).
    pub fn pass(&self) -> bool {
        self.checks.iter().all(|c| c.pass)
    }
}

fn judge_into(checks: &mut Vec<Check>, prefix: &str, slo: &Slo, outcomes: &OutcomeCounts, latency: &Latencies) {
    for o in &slo.latency {
        let actual = latency.percentile(o.percentile);
        checks.push(Check {
            name: format!("{prefix}{}", o.percentile.key()),
            target: format!("≤ {}", format_duration(o.max)),
            actual: actual.map_or("no successful response".into(), |ns| format_ms(ns as f64 / 1e6)),
            pass: actual.is_some_and(|a| a <= o.max),
            ratio: actual.map_or(f64::INFINITY, |a| ratio(a as f64, o.max as f64)),
        });
    }
    if let Some(max) = slo.error_rate {
        let actual = outcomes.error_rate();
        checks.push(Check {
            name: format!("{prefix}error_rate"),
            target: format!("≤ {}", percent(max)),
            actual: actual.map_or("no finished request".into(), percent),
            pass: actual.is_some_and(|a| a <= max),
            ratio: actual.map_or(f64::INFINITY, |a| ratio(a, max)),
        });
    }
}

/// `actual / bound`, with a bound of zero met only by zero.
fn ratio(actual: f64, bound: f64) -> f64 {
    if bound > 0.0 {
        actual / bound
    } else if actual > 0.0 {
        f64::INFINITY
    } else {
        0.0
    }
}

impl Verdict {
    /// How close the run came to its SLO: the largest of each objective's
    /// figure over its bound. At most 1.0 when it passes; 0 without
    /// objectives.
    pub fn load(&self) -> f64 {
        self.checks.iter().map(|c| c.ratio).fold(0.0, f64::max)
    }
}

/// A time into the run as the terminal, the page and the warnings give
/// it: `1:05`, `0:45`.
pub fn clock(seconds: f64) -> String {
    let s = seconds.round() as i64;
    format!("{}:{:02}", s / 60, s % 60)
}

/// A count with its thousands separated: `60,273`.
pub fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A latency in milliseconds as people read it, with three significant
/// figures: `0.421ms`, `4.21ms`, `42.1ms`, `421ms`, `4.21s`, `42.1s`. The
/// terminal, the page and the SLO table all print latencies with it, so one
/// value reads the same everywhere.
pub fn format_ms(ms: f64) -> String {
    if !ms.is_finite() {
        return "-".into();
    }
    let (v, unit) = if ms >= 1000.0 { (ms / 1000.0, "s") } else { (ms, "ms") };
    // Rounding can carry into the next decade (999.6 → 1000): decide the
    // digits from the rounded value.
    let digits = |v: f64| {
        if v >= 100.0 {
            0
        } else if v >= 10.0 {
            1
        } else if v >= 1.0 {
            2
        } else {
            3
        }
    };
    let d = digits(v);
    let rounded = (v * 10f64.powi(d)).round() / 10f64.powi(d);
    if unit == "ms" && rounded >= 1000.0 {
        return format_ms(1000.0);
    }
    format!("{rounded:.*}{unit}", digits(rounded) as usize)
}

/// A fraction as a percentage with enough digits to tell 0.01 % from 0.
pub fn percent(f: f64) -> String {
    let p = f * 100.0;
    if p == 0.0 || p >= 10.0 {
        format!("{p:.1}%")
    } else if p >= 0.1 {
        format!("{p:.2}%")
    } else {
        format!("{p:.3}%")
    }
}

#[cfg(test)]
mod tests {
    use super::format_ms;

    #[test]
    fn latencies_read_with_three_significant_figures() {
        let cases = [
            (0.4213, "0.421ms"),
            (4.213, "4.21ms"),
            (42.13, "42.1ms"),
            (989.856, "990ms"),
            (999.7, "1.00s"),
            (9.9999, "10.0ms"),
            (1234.0, "1.23s"),
            (61_000.0, "61.0s"),
            (0.0, "0.000ms"),
        ];
        for (v, s) in cases {
            assert_eq!(format_ms(v), s, "{v}");
        }
    }
}
