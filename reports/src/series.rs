//! Every time series of a record as one CSV row per window.

use std::io::Write;

use lab_core::scenario::Percentile;
use lab_core::{OutcomeId, Record};

/// Column names, in order: time, load, the declared outcomes, latency, the
/// declared waits, gauges (mean and max), counters, then each endpoint's
/// figures when the run had several. Documented in docs/summary-json.md.
pub fn header(r: &Record) -> Vec<String> {
    let mut h: Vec<String> = ["start_s", "end_s", "offered_rps", "arrivals", "throughput_rps"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    h.extend(r.outcomes.iter().map(|o| o.key.to_string()));
    for prefix in std::iter::once("latency").chain(r.waits.iter().map(|w| w.key.as_ref())) {
        h.push(format!("{prefix}_count"));
        h.push(format!("{prefix}_mean_ms"));
        h.extend(Percentile::ALL.iter().map(|p| format!("{prefix}_{}_ms", p.key())));
        h.push(format!("{prefix}_max_ms"));
    }
    for g in &r.gauges {
        h.push(format!("{}_mean", g.key));
        h.push(format!("{}_max", g.key));
    }
    h.extend(r.counters.iter().map(|c| c.key.clone()));
    for e in endpoints(r) {
        h.push(format!("{e}.throughput_rps"));
        h.push(format!("{e}.errors"));
        h.extend(ENDPOINT_PERCENTILES.iter().map(|p| format!("{e}.{}_ms", p.key())));
        h.push(format!("{e}.max_ms"));
    }
    h
}

/// The endpoints a record keeps apart, as column prefixes.
fn endpoints(r: &Record) -> Vec<String> {
    r.windows
        .first()
        .filter(|w| !w.endpoints.is_empty())
        .map_or(Vec::new(), |_| {
            r.endpoints.iter().map(|e| format!("endpoint.{e}")).collect()
        })
}

/// An endpoint's columns keep the percentiles people ask of one.
const ENDPOINT_PERCENTILES: [Percentile; 3] = [Percentile::P50, Percentile::P95, Percentile::P99];

fn num(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x:.6}")
    }
}

fn opt_ms(v: Option<f64>) -> String {
    v.map_or(String::new(), |x| num(x / 1e6))
}

/// Writes the CSV of one record.
pub fn write<W: Write>(r: &Record, out: W) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(header(r))?;
    let mut row: Vec<String> = Vec::new();
    for (wi, win) in r.windows.iter().enumerate() {
        row.clear();
        row.push(num(win.start as f64 / 1e9));
        row.push(num((win.start + win.len) as f64 / 1e9));
        row.push(num(win.offered));
        row.push(win.arrivals.to_string());
        row.push(num(win.throughput()));
        row.extend(win.outcomes.iter().map(|(_, n)| n.to_string()));
        for d in std::iter::once(&win.latency).chain(&win.waits) {
            row.push(d.count.to_string());
            row.push(opt_ms(d.mean()));
            row.extend(
                Percentile::ALL
                    .iter()
                    .map(|p| opt_ms(d.percentile(*p).map(|v| v as f64))),
            );
            row.push(opt_ms((d.count > 0).then_some(d.max as f64)));
        }
        // A coarse gauge repeats the figure of the point that covers the
        // window (docs/summary-json.md).
        for g in (0..r.gauges.len()).map(|i| r.gauge_in_window(i, wi)) {
            row.push(num(g.mean));
            row.push(num(g.max));
        }
        row.extend(win.counters.iter().map(|c| c.to_string()));
        for e in &win.endpoints {
            row.push(num(e.outcomes[OutcomeId::OK] as f64 / win.seconds()));
            row.push(e.outcomes.errors().to_string());
            let d = &e.latency;
            row.extend(
                ENDPOINT_PERCENTILES
                    .iter()
                    .map(|p| opt_ms(d.percentile(*p).map(|v| v as f64))),
            );
            row.push(opt_ms((d.count > 0).then_some(d.max as f64)));
        }
        w.write_record(&row)?;
    }
    w.flush()?;
    Ok(())
}
