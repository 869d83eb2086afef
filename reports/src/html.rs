//! `index.html`: one self-contained page (charts inlined as SVG) that opens
//! from disk without a server.

use std::fmt::Write;

use lab_core::record::{format_ms as ms, percent};

use crate::charts::Rendered;
use crate::summary::Summary;
use crate::table::{causes, clock, era_name, errors_by_cause, money};

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:'DejaVu Sans',Verdana,sans-serif;max-width:1060px;margin:2em auto;padding:0 1em;color:#222}\
h1{margin-bottom:.2em}h2{margin-top:2em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}\
th{background:#f3f3f3}td.l,th.l{text-align:left}table.nw td{white-space:nowrap}.pass{color:#1a7f1a;font-weight:bold}.fail{color:#c01616;font-weight:bold}\
figure{margin:1.5em 0}figcaption{margin:.4em 0 0;color:#444}figure svg{max-width:100%;height:auto}\
.meta{color:#555}code{background:#f3f3f3;padding:0 .2em}";

/// The page: summary table, SLO checks, the comparison chart, then each
/// era's charts, then the files.
pub fn page(
    summary: &Summary,
    comparison: Option<&Rendered>,
    per_era: &[(String, Vec<Rendered>)],
    after_summary: &str,
) -> String {
    let s = &summary.scenario;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>lab: {name}</title><style>{STYLE}</style></head><body>\n\
         <h1>{name}</h1>\n<p>{desc}</p>\n<p class=\"meta\">Scenario <code>{file}</code> · {dur} s simulated · seed {seed} · \
         statistics every {win} s{warm} · lab {ver}</p>\n",
        name = escape(&s.name),
        desc = escape(&s.description),
        file = escape(&s.file),
        dur = s.duration_s,
        seed = s.seed,
        win = s.window_s,
        warm = if s.warmup_s > 0.0 {
            format!(", first {} s left out as warm-up", s.warmup_s)
        } else {
            String::new()
        },
        ver = summary.lab_version,
    );
    h.push_str("<h2>Summary</h2>\n<p>Latency is measured on successful responses, from arrival to response; the error rate counts every failed request, client timeouts included.</p>\n<table><tr><th class=\"l\">era</th><th>ok/s</th><th>p50</th><th>p95</th><th>p99</th><th>max</th><th>errors</th><th class=\"l\">by cause</th><th>SLO</th></tr>\n");
    for e in &summary.eras {
        let lat =
            |f: fn(&crate::summary::LatencySummary) -> f64| e.latency_ms.as_ref().map_or("–".into(), |l| ms(f(l)));
        let slo = if summary.slo.is_empty() {
            "–".to_string()
        } else if e.slo.pass {
            "<span class=\"pass\">pass</span>".into()
        } else {
            "<span class=\"fail\">fail</span>".into()
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td><td>{}</td></tr>",
            escape(&era_name(e)),
            e.throughput_rps,
            lat(|l| l.p50),
            lat(|l| l.p95),
            lat(|l| l.p99),
            lat(|l| l.max),
            e.error_rate.map_or("–".into(), percent),
            escape(&errors_by_cause(e)),
            slo
        );
    }
    h.push_str("</table>\n");
    h.push_str(after_summary);
    if summary.eras.iter().any(|e| e.cost.is_some()) {
        h.push_str("<h2>Cost</h2>\n<p>From the hosts' <code>price_per_hour</code>: what each era costs an hour, and over the measured span per million successful responses.</p>\n<table><tr><th class=\"l\">era</th><th>per hour</th><th>per million ok</th></tr>\n");
        for e in &summary.eras {
            let (h_cost, m_cost) = match &e.cost {
                Some(c) => (money(c.per_hour), c.per_million_ok.map_or("–".into(), money)),
                None => ("–".into(), "–".into()),
            };
            let _ = writeln!(
                h,
                "<tr><td class=\"l\">{}</td><td>{h_cost}</td><td>{m_cost}</td></tr>",
                escape(&e.label)
            );
        }
        h.push_str("</table>\n");
    }
    if !summary.slo.is_empty() {
        h.push_str("<h2>SLO</h2>\n<table><tr><th class=\"l\">era</th><th class=\"l\">objective</th><th>target</th><th>actual</th><th>verdict</th></tr>\n");
        for e in &summary.eras {
            for c in &e.slo.checks {
                let _ = writeln!(
                    h,
                    "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&e.label),
                    escape(&c.name),
                    escape(&c.target),
                    escape(&c.actual),
                    if c.pass {
                        "<span class=\"pass\">pass</span>"
                    } else {
                        "<span class=\"fail\">fail</span>"
                    }
                );
            }
        }
        h.push_str("</table>\n");
    }
    if let Some(c) = comparison {
        h.push_str("<h2>Eras compared</h2>\n");
        figure(&mut h, c);
    }
    for (era, charts) in per_era {
        let _ = writeln!(h, "<h2>Era: {}</h2>", escape(era));
        // The answer first: what filled up, and each phase's figures; the
        // charts that show how, then the details.
        if let Some(e) = summary.eras.iter().find(|e| &e.label == era) {
            bottleneck_list(&mut h, e);
            phases_table(&mut h, e);
        }
        for c in charts {
            figure(&mut h, c);
        }
        if let Some(e) = summary.eras.iter().find(|e| &e.label == era) {
            endpoints_table(&mut h, e);
            waits_table(&mut h, e);
        }
    }
    h.push_str("<h2>Files</h2>\n<ul>\n<li><a href=\"summary.json\">summary.json</a>: whole-run figures (schema in docs/summary-json.md)</li>\n");
    for e in &summary.eras {
        let _ = writeln!(
            h,
            "<li><a href=\"{0}\">{0}</a>: every time series of era {1}, one row per window</li>",
            escape(&e.csv),
            escape(&e.label)
        );
    }
    h.push_str("<li>each chart as SVG and PNG, named after the chart</li>\n</ul>\n</body></html>\n");
    h
}

/// What filled up first in each phase, and what followed.
fn bottleneck_list(h: &mut String, e: &crate::summary::EraSummary) {
    h.push_str("<p class=\"bottleneck\"><b>Bottleneck</b> (what filled up first, then what followed):");
    match &e.bottlenecks[..] {
        [one] => {
            let _ = write!(h, " {}", escape(&one.sentence));
        }
        many => {
            h.push_str("</p>\n<ul class=\"bottleneck\">");
            for b in many {
                let _ = write!(h, "<li><b>{}</b>: {}</li>", escape(&b.phase), escape(&b.sentence));
            }
            h.push_str("</ul>\n<p>");
        }
    }
    h.push_str("</p>\n");
}

/// Each phase's figures, unless the run is one derived phase.
fn phases_table(h: &mut String, e: &crate::summary::EraSummary) {
    if e.phases.len() < 2 && e.phases.iter().all(|p| p.derived) {
        return;
    }
    let _ = writeln!(
        h,
        "<h3>{}: phases</h3>\n<p>Each phase's figures{}; the worst window is the one-window p99 a whole-phase figure dilutes.</p>\n<table><tr><th class=\"l\">phase</th><th>from</th><th>to</th><th>offered/s</th><th>ok/s</th><th>p50</th><th>p99</th><th>worst window p99</th><th>errors</th></tr>",
        escape(&e.label),
        if e.phases.iter().all(|p| p.derived) {
            " (derived from the rate profile: name your own with <code>[[phases]]</code>)"
        } else {
            ""
        }
    );
    for p in &e.phases {
        let lat =
            |f: fn(&crate::summary::LatencySummary) -> f64| p.latency_ms.as_ref().map_or("–".into(), |l| ms(f(l)));
        let worst = match (p.worst_window_p99_ms, p.worst_window_start_s) {
            (Some(w), Some(at)) => format!("{} at {}", ms(w), clock(at)),
            _ => "–".into(),
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{worst}</td><td>{}</td></tr>",
            escape(&p.name),
            clock(p.from_s),
            clock(p.to_s),
            p.offered_rps,
            p.throughput_rps,
            lat(|l| l.p50),
            lat(|l| l.p99),
            p.error_rate.map_or("–".into(), percent)
        );
    }
    h.push_str("</table>\n");
}

/// Each endpoint's figures, when the era had several.
fn endpoints_table(h: &mut String, e: &crate::summary::EraSummary) {
    if e.endpoints.len() < 2 {
        return;
    }
    let _ = writeln!(
        h,
        "<h3>{}: endpoints</h3>\n<p>Each endpoint's requests over the measured span; latency of its successful responses.</p>\n<table><tr><th class=\"l\">endpoint</th><th>ok/s</th><th>p50</th><th>p95</th><th>p99</th><th>max</th><th>errors</th><th class=\"l\">by cause</th></tr>",
        escape(&e.label)
    );
    for ep in &e.endpoints {
        let lat =
            |f: fn(&crate::summary::LatencySummary) -> f64| ep.latency_ms.as_ref().map_or("–".into(), |l| ms(f(l)));
        let by_cause = causes(e, &ep.outcomes, ep.finished);
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
            escape(&ep.name),
            ep.throughput_rps,
            lat(|l| l.p50),
            lat(|l| l.p95),
            lat(|l| l.p99),
            lat(|l| l.max),
            ep.error_rate.map_or("–".into(), percent),
            escape(&by_cause)
        );
    }
    h.push_str("</table>\n");
}

/// Where the era's requests waited, one row per wait the era declares (in
/// gold, `rpc.<service>` is each service's latency as its callers saw it).
fn waits_table(h: &mut String, e: &crate::summary::EraSummary) {
    if e.waits.is_empty() {
        return;
    }
    let _ = writeln!(
        h,
        "<h3>{}: waits</h3>\n<p>Each wait over the measured span: how long requests spent in each queue{}.</p>\n<table><tr><th class=\"l\">wait</th><th>count</th><th>mean</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr>",
        escape(&e.label),
        if e.waits.iter().any(|w| w.key.starts_with("rpc.")) {
            "; <code>rpc.&lt;service&gt;</code> rows are the calls to each service, from sending to the answer (or the caller's timeout)"
        } else {
            ""
        }
    );
    for w in &e.waits {
        let cells = match &w.ms {
            Some(l) => format!(
                "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                l.count,
                ms(l.mean),
                ms(l.p50),
                ms(l.p95),
                ms(l.p99),
                ms(l.max)
            ),
            None => "<td>0</td><td>–</td><td>–</td><td>–</td><td>–</td><td>–</td>".to_string(),
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{} <code>{}</code></td>{cells}</tr>",
            escape(&w.label),
            escape(&w.key)
        );
    }
    h.push_str("</table>\n");
}

/// A chart as the page shows it: inline SVG, title, caption and links to
/// its files.
pub fn figure(h: &mut String, c: &Rendered) {
    // plotters emits an XML prologue-free <svg> element, safe to inline.
    let _ = write!(
        h,
        "<figure id=\"{id}\">\n{svg}\n<figcaption><b>{title}.</b> {caption} <a href=\"{id}.png\">PNG</a> · <a href=\"{id}.svg\">SVG</a></figcaption>\n</figure>\n",
        id = escape(&c.id),
        svg = c.svg,
        title = escape(&c.title),
        caption = escape(&c.caption),
    );
}

/// The replications' table, under the summary; empty without replications.
pub fn replications(reps: &[crate::replications::EraReplications]) -> String {
    use crate::table::{REPLICATED, with_interval};
    if reps.is_empty() {
        return String::new();
    }
    let mut h = format!(
        "<h2>Over {} replications</h2>\n<p>The scenario run with {} seeds, each era with the same ones; each figure is the mean over the replications ± half its 95 % confidence interval (Student's t). The tables and charts below are the first seed's, except each era's replications chart.</p>\n<table class=\"nw\"><tr><th class=\"l\">era</th>",
        reps[0].replications, reps[0].replications
    );
    for (head, _, _) in REPLICATED {
        let _ = write!(h, "<th>{head}</th>");
    }
    h.push_str("<th>SLO passed</th></tr>\n");
    for r in reps {
        let _ = write!(h, "<tr><td class=\"l\">{}</td>", escape(&r.era));
        for (_, key, f) in REPLICATED {
            let _ = write!(h, "<td>{}</td>", escape(&with_interval(r.get(key), f)));
        }
        match r.slo_passed {
            Some(p) => {
                let _ = writeln!(h, "<td>{p} of {}</td></tr>", r.replications);
            }
            None => h.push_str("<td>-</td></tr>\n"),
        }
    }
    h.push_str("</table>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
