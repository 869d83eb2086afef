//! The summary table printed at the end of `lab run`.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Color, ContentArrangement, Table};
use lab_core::record::{format_ms as ms, outcomes, percent};

use crate::summary::{EraSummary, Summary};

/// The errors of an era by cause, largest first: `502 backlog full 3.1%, …`.
pub fn errors_by_cause(e: &EraSummary) -> String {
    causes(e, &e.outcomes, e.requests.finished)
}

/// Errors among `counts` (of `finished` requests of era `e`) by cause,
/// largest first.
pub fn causes(e: &EraSummary, counts: &std::collections::BTreeMap<String, u64>, finished: u64) -> String {
    let finished = finished.max(1) as f64;
    let mut causes: Vec<(&str, u64)> = e
        .outcome_specs
        .iter()
        .filter(|o| o.key != outcomes::OK.key)
        .map(|o| (o.label.as_str(), counts.get(&o.key).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    // Stable: equal counts keep the order the era declared them in.
    causes.sort_by_key(|c| std::cmp::Reverse(c.1));
    if causes.is_empty() {
        return "none".into();
    }
    causes
        .iter()
        .map(|(label, n)| format!("{label} {}", percent(*n as f64 / finished)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One row per era: throughput, latency percentiles of successful
/// responses, errors by cause and the SLO verdict.
pub fn render(summary: &Summary) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(vec![
        "era", "ok/s", "p50", "p95", "p99", "max", "errors", "by cause", "SLO",
    ]);
    for e in &summary.eras {
        let lat =
            |f: fn(&crate::summary::LatencySummary) -> f64| e.latency_ms.as_ref().map_or("-".into(), |l| ms(f(l)));
        let slo = if summary.slo.is_empty() {
            Cell::new("-")
        } else if e.slo.pass {
            Cell::new("pass").fg(Color::Green)
        } else {
            let failed: Vec<_> = e
                .slo
                .checks
                .iter()
                .filter(|c| !c.pass)
                .map(|c| c.name.as_str())
                .collect();
            Cell::new(format!("FAIL ({})", failed.join(", "))).fg(Color::Red)
        };
        t.add_row(vec![
            Cell::new(era_name(e)),
            Cell::new(format!("{:.1}", e.throughput_rps)).set_alignment(CellAlignment::Right),
            Cell::new(lat(|l| l.p50)).set_alignment(CellAlignment::Right),
            Cell::new(lat(|l| l.p95)).set_alignment(CellAlignment::Right),
            Cell::new(lat(|l| l.p99)).set_alignment(CellAlignment::Right),
            Cell::new(lat(|l| l.max)).set_alignment(CellAlignment::Right),
            Cell::new(e.error_rate.map_or("-".into(), percent)).set_alignment(CellAlignment::Right),
            Cell::new(errors_by_cause(e)),
            slo,
        ]);
    }
    let mut out = t.to_string();
    let warmup = summary.scenario.warmup_s;
    if warmup > 0.0 {
        out.push_str(&format!(
            "\nevery figure leaves out the first {} (the warm-up, [stats] warmup)",
            lab_core::scenario::units::format_duration((warmup * 1e9).round() as u64)
        ));
    }
    out.push_str("\nbottlenecks (what filled up first, then what followed):");
    out.push_str(&bottlenecks(summary));
    if let Some(r) = replications(summary) {
        out.push('\n');
        out.push_str(&r);
    }
    if let Some(p) = phases(summary) {
        out.push('\n');
        out.push_str(&p);
    }
    if let Some(e) = endpoints(summary) {
        out.push('\n');
        out.push_str(&e);
    }
    if let Some(c) = costs(summary) {
        out.push('\n');
        out.push_str(&c);
    }
    out
}

/// An era as people name it: its label, and its model when that differs
/// (`stone`, `big-bronze (bronze)`).
pub fn era_name(e: &EraSummary) -> String {
    if e.label == e.model {
        e.label.clone()
    } else {
        format!("{} ({})", e.label, e.model)
    }
}

/// Each era's bottleneck sentence, per phase when there are several.
pub fn bottlenecks(summary: &Summary) -> String {
    let mut out = String::new();
    for e in &summary.eras {
        match &e.bottlenecks[..] {
            // One derived phase is the whole run; a named one keeps its name.
            [one] if e.phases.first().is_none_or(|p| p.derived) => {
                out.push_str(&format!("\n  {}: {}", era_name(e), one.sentence))
            }
            many => {
                out.push_str(&format!("\n  {}:", era_name(e)));
                for b in many {
                    out.push_str(&format!("\n    {}: {}", b.phase, b.sentence));
                }
            }
        }
    }
    out
}

/// `1:15` for 75 s: phases are read against the charts' time axes.
pub use lab_core::record::clock;

/// One row per phase, one column per era: successes per second, p99 and
/// the worst window's p99, errors. `None` with a single derived phase,
/// whose figures are the whole run's.
pub fn phases(summary: &Summary) -> Option<String> {
    let first = summary.eras.first()?;
    if first.phases.len() < 2 && first.phases.iter().all(|p| p.derived) {
        return None;
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    let mut header = vec![Cell::new("phase")];
    header.extend(summary.eras.iter().map(|e| Cell::new(era_name(e))));
    t.set_header(header);
    for (i, p) in first.phases.iter().enumerate() {
        let mut row = vec![Cell::new(format!(
            "{}\n{}–{}\n{:.0}/s",
            p.name,
            clock(p.from_s),
            clock(p.to_s),
            p.offered_rps
        ))];
        for e in &summary.eras {
            let Some(ph) = e.phases.get(i) else {
                row.push(Cell::new("-"));
                continue;
            };
            let lat = ph
                .latency_ms
                .as_ref()
                .map_or("no success".into(), |l| format!("p99 {}", ms(l.p99)));
            let worst = match (ph.worst_window_p99_ms, ph.worst_window_start_s) {
                (Some(w), Some(at)) => format!("\nworst {} at {}", ms(w), clock(at)),
                _ => String::new(),
            };
            let err = ph.error_rate.map_or("-".into(), |r| format!("{} err", percent(r)));
            // Three short lines rather than one long one: four eras side by
            // side still fit a terminal.
            row.push(Cell::new(format!("{:.1}/s {lat}{worst}\n{err}", ph.throughput_rps)));
        }
        t.add_row(row);
    }
    let derived = if first.phases.iter().all(|p| p.derived) {
        " (derived from the rate profile; name your own with [[phases]])"
    } else {
        ""
    };
    Some(format!(
        "per phase{derived}: successes/s, p99 of successes and the worst window's p99, errors:\n{t}"
    ))
}

/// One row per endpoint, one column per era: its successes per second,
/// p50 and p99, and its error rate with its main cause. `None` with a
/// single endpoint, whose figures are the era's.
pub fn endpoints(summary: &Summary) -> Option<String> {
    let names: Vec<&str> = summary
        .eras
        .first()?
        .endpoints
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    if names.len() < 2 {
        return None;
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    let mut header = vec![Cell::new("endpoint")];
    header.extend(summary.eras.iter().map(|e| Cell::new(era_name(e))));
    t.set_header(header);
    for (i, name) in names.iter().enumerate() {
        let mut row = vec![Cell::new(name)];
        for e in &summary.eras {
            let Some(ep) = e.endpoints.get(i) else {
                row.push(Cell::new("-"));
                continue;
            };
            let lat = ep
                .latency_ms
                .as_ref()
                .map_or("no success".into(), |l| format!("p50 {} p99 {}", ms(l.p50), ms(l.p99)));
            let err = match ep.error_rate {
                None => "-".to_string(),
                Some(0.0) => "0 err".to_string(),
                Some(r) => {
                    let cause = ep
                        .outcomes
                        .iter()
                        .filter(|(k, _)| k.as_str() != outcomes::OK.key)
                        .max_by_key(|(_, n)| **n)
                        .and_then(|(k, _)| e.outcome_specs.iter().find(|o| &o.key == k))
                        .map_or(String::new(), |o| format!(" ({})", o.label));
                    format!("{} err{cause}", percent(r))
                }
            };
            row.push(Cell::new(format!("{:.1}/s {lat}\n{err}", ep.throughput_rps)));
        }
        t.add_row(row);
    }
    Some(format!(
        "per endpoint (successes/s, p50 and p99 of successes, errors):\n{t}"
    ))
}

/// `cost: stone 0.10/h (0.12 per million ok), …` when the hosts are priced.
pub fn costs(summary: &Summary) -> Option<String> {
    let parts: Vec<String> = summary
        .eras
        .iter()
        .filter_map(|e| {
            let c = e.cost.as_ref()?;
            let per_m = c
                .per_million_ok
                .map_or("no successes".into(), |m| format!("{} per million ok", money(m)));
            Some(format!("{} {}/h ({per_m})", e.label, money(c.per_hour)))
        })
        .collect();
    (!parts.is_empty()).then(|| format!("cost: {}", parts.join(", ")))
}

/// A price with the digits that matter at its size.
pub fn money(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// A replicated figure as `mean ± half-interval`, each with `f`.
pub fn with_interval(e: Option<&crate::replications::Estimate>, f: fn(f64) -> String) -> String {
    match e {
        None => "-".into(),
        Some(e) => match (e.ci95, e.ci95_low, e.ci95_high) {
            (Some(ci), ..) if e.symmetric() => format!("{} ± {}", f(e.mean), f(ci)),
            // An interval clipped at 0 (or at 100 % errors) is no longer
            // symmetric: its ends say what `±` would misstate.
            (_, Some(lo), Some(hi)) => format!("{} ({} to {})", f(e.mean), f(lo), f(hi)),
            _ => f(e.mean),
        },
    }
}

/// A column of the replications' table: its heading, the estimate's name
/// and how the figure reads.
pub type Column = (&'static str, &'static str, fn(f64) -> String);

/// The columns of the replications' table.
pub const REPLICATED: [Column; 6] = [
    ("ok/s", "throughput_rps", |v| format!("{v:.1}")),
    ("p50", "p50_ms", ms),
    ("p95", "p95_ms", ms),
    ("p99", "p99_ms", ms),
    ("mean", "latency_mean_ms", ms),
    ("errors", "error_rate", percent),
];

/// One row per era over its replications: means with 95 % intervals and how
/// many replications met the SLO. `None` without replications.
pub fn replications(summary: &Summary) -> Option<String> {
    let reps = summary.replications.as_ref()?;
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    let mut header = vec!["era"];
    header.extend(REPLICATED.iter().map(|c| c.0));
    header.push("SLO passed");
    t.set_header(header);
    for (e, r) in summary.eras.iter().zip(reps) {
        let mut row = vec![Cell::new(era_name(e))];
        for (_, key, f) in REPLICATED {
            row.push(Cell::new(with_interval(r.get(key), f)).set_alignment(CellAlignment::Right));
        }
        row.push(match r.slo_passed {
            None => Cell::new("-"),
            Some(p) if p == r.replications => Cell::new(format!("{p} of {}", r.replications)).fg(Color::Green),
            Some(p) => Cell::new(format!("{p} of {}", r.replications)).fg(Color::Red),
        });
        t.add_row(row);
    }
    let n = reps.first().map_or(0, |r| r.replications);
    Some(format!(
        "over {n} replications (seeds {}…; mean ± half the 95 % confidence interval; the other tables are the first seed's):\n{t}",
        summary.scenario.seed
    ))
}
