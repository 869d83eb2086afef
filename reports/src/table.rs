//! The summary table printed at the end of `lab run`.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Color, ContentArrangement, Table};
use lab_core::record::{outcomes, percent};

use crate::summary::{EraSummary, Summary};

fn ms(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1}s", v / 1000.0)
    } else if v >= 100.0 {
        format!("{v:.0}ms")
    } else if v >= 1.0 {
        format!("{v:.1}ms")
    } else {
        format!("{v:.2}ms")
    }
}

/// The errors of an era by cause, largest first: `502 backlog full 3.1%, …`.
pub fn errors_by_cause(e: &EraSummary) -> String {
    let finished = e.requests.finished.max(1) as f64;
    let mut causes: Vec<(&str, u64)> = e
        .outcome_specs
        .iter()
        .filter(|o| o.key != outcomes::OK.key)
        .map(|o| (o.label.as_str(), e.outcomes.get(&o.key).copied().unwrap_or(0)))
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
            Cell::new(format!("{} ({})", e.label, e.model)),
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
    if let Some(c) = costs(summary) {
        out.push('\n');
        out.push_str(&c);
    }
    out
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
