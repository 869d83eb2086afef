//! Judging a record against the scenario's SLO.

use crate::scenario::Slo;
use crate::scenario::units::format_duration;

use super::Record;

/// One objective, judged.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// `p99`, `error_rate`, ...
    pub name: String,
    pub target: String,
    pub actual: String,
    pub pass: bool,
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
    pub fn judge(slo: &Slo, record: &Record) -> Verdict {
        let t = &record.totals;
        let mut checks = Vec::new();
        for o in &slo.latency {
            let actual = t.latency.percentile(o.percentile);
            checks.push(Check {
                name: o.percentile.key().to_string(),
                target: format!("≤ {}", format_duration(o.max)),
                actual: actual.map_or("no successful response".into(), format_duration),
                pass: actual.is_some_and(|a| a <= o.max),
            });
        }
        if let Some(max) = slo.error_rate {
            let actual = t.outcomes.error_rate();
            checks.push(Check {
                name: "error_rate".into(),
                target: format!("≤ {}", percent(max)),
                actual: actual.map_or("no finished request".into(), percent),
                pass: actual.is_some_and(|a| a <= max),
            });
        }
        Verdict { checks }
    }

    /// True when every objective holds (and vacuously when there are none).
    pub fn pass(&self) -> bool {
        self.checks.iter().all(|c| c.pass)
    }
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
