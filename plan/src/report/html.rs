//! `index.html` of a plan: one self-contained page, the charts inlined.

use std::fmt::Write;

use lab_core::record::{format_ms as ms, percent};
use lab_reports::charts::Rendered;
use lab_reports::html::{escape, figure};

use super::{capacity_figure, load};
use crate::capacity::Bound;
use crate::cheapest::{Candidate, Cheapest, money};
use crate::era_plan::{EraPlan, Plan};
use crate::point::Interval;

/// The run report's look (`lab_reports::html`), so both read alike.
const STYLE: &str = "body{font-family:'DejaVu Sans',Verdana,sans-serif;max-width:1060px;margin:2em auto;padding:0 1em;color:#222}\
h1{margin-bottom:.2em}h2{margin-top:2em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}\
th{background:#f3f3f3}td.l,th.l{text-align:left}table.nw td{white-space:nowrap}.pass{color:#1a7f1a;font-weight:bold}.fail{color:#c01616;font-weight:bold}\
figure{margin:1.5em 0}figcaption{margin:.4em 0 0;color:#444}figure svg{max-width:100%;height:auto}\
.meta{color:#555}code{background:#f3f3f3;padding:0 .2em}pre{background:#f6f6f6;padding:.8em;overflow-x:auto}";

/// One era's part of the page: its plan, the unit its cost is in, its
/// charts and the file its fragment went to.
pub struct EraPage<'a> {
    pub plan: &'a EraPlan,
    pub cost_unit: String,
    pub charts: Vec<Rendered>,
    pub fragment_file: Option<String>,
}

pub fn page(plan: &Plan, file: &str, eras: &[EraPage<'_>]) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>lab plan: {name}</title><style>{STYLE}</style></head><body>\n\
         <h1>{name}: capacity plan</h1>\n<p class=\"meta\">Scenario <code>{file}</code> · {reps} replications per point (the same seeds at every \
         point) · tolerance {tol} · target {target}{unit} ({source}) · {traffic} · utilisation and bottlenecks from phase <code>{phase}</code> · lab {ver}</p>\n",
        name = escape(&plan.scenario),
        file = escape(file),
        reps = plan.replications,
        tol = percent(plan.tolerance),
        target = load(plan.target_offered),
        unit = escape(&plan.unit),
        source = escape(&plan.target_source),
        traffic = if plan.steady {
            "steady at the profile's peak"
        } else {
            "the rate profile scaled"
        },
        phase = escape(&plan.busiest_phase),
        ver = env!("CARGO_PKG_VERSION"),
    );
    summary(&mut h, plan, eras);
    costs(&mut h, plan);
    for e in eras {
        era_section(&mut h, plan, e);
    }
    h.push_str(
        "<h2>Files</h2>\n<ul>\n<li><a href=\"summary.json\">summary.json</a>: the whole plan (schema in docs/summary-json.md)</li>\n",
    );
    for e in eras {
        if let Some(f) = &e.fragment_file {
            let _ = writeln!(
                h,
                "<li><a href=\"{0}\">{0}</a>: {1}</li>",
                escape(f),
                if e.plan.scenario_file.is_some() {
                    format!(
                        "the scenario with era {} at its cheapest configuration, and the plan's traffic and seed, ready for <code>lab run</code>",
                        escape(&e.plan.era)
                    )
                } else {
                    format!(
                        "the keys that give era {} its cheapest configuration",
                        escape(&e.plan.era)
                    )
                }
            );
        }
    }
    h.push_str("<li>each chart as SVG and PNG, named after the chart</li>\n</ul>\n</body></html>\n");
    h
}

fn summary(h: &mut String, plan: &Plan, eras: &[EraPage<'_>]) {
    h.push_str(
        "<h2>Summary</h2>\n<p>The capacity is the largest load at which the SLO load (the largest SLO figure over its bound) \
         of the typical replication, their geometric mean, is at most 1, with its 95 % interval; the bottleneck is what saturated \
         first just past it, and the next is what saturates once the knob behind it is four times larger.</p>\n<table><tr><th class=\"l\">era</th><th>cost</th><th>capacity</th><th class=\"l\">bottleneck</th>\
         <th class=\"l\">next</th><th class=\"l\">cheapest for the target</th></tr>\n",
    );
    for e in eras {
        let p = e.plan;
        let c = &p.capacity;
        let mut cap = escape(&capacity_figure(c));
        if c.bound == Bound::Wide {
            cap.push_str(
                "<br><small>wider than the tolerance: more replications or a looser tolerance would narrow it</small>",
            );
        }
        let next = match &c.next {
            Some(n) => format!(
                "after <code>{}</code>: {}",
                escape(&n.relieved),
                escape(n.bottleneck.as_ref().map_or("nothing saturated", |b| &b.what))
            ),
            None => "–".into(),
        };
        let cheapest = match &p.cheapest {
            None => "not searched".to_string(),
            Some(ch) => match &ch.winner {
                Some(w) => format!("{}: {}", escape(&money(w.cost, &ch.cost_unit)), escape(&settings(w))),
                None => format!(
                    "none: {}",
                    escape(ch.stopped.as_deref().unwrap_or("no configuration meets the target"))
                ),
            },
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{} ({})</td><td>{}</td><td>{cap}</td><td class=\"l\">{}</td><td class=\"l\">{next}</td><td class=\"l\">{cheapest}</td></tr>",
            escape(&p.era),
            escape(&p.model),
            escape(&money(p.cost, &e.cost_unit)),
            escape(c.bottleneck.as_ref().map_or("–", |b| &b.what)),
        );
    }
    h.push_str("</table>\n");
    let _ = writeln!(
        h,
        "<p>The target is {}{} ({}).</p>",
        load(plan.target_offered),
        escape(&plan.unit),
        escape(&plan.target_source)
    );
}

fn settings(c: &Candidate) -> String {
    c.settings
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn interval(i: &Interval) -> String {
    format!("{:.2} ({:.2}–{:.2})", i.mean, i.low, i.high)
}

fn costs(h: &mut String, plan: &Plan) {
    let searched: Vec<(&EraPlan, &Cheapest)> = plan
        .eras
        .iter()
        .filter_map(|e| e.cheapest.as_ref().map(|c| (e, c)))
        .collect();
    if searched.is_empty() {
        return;
    }
    let _ = writeln!(
        h,
        "<h2>Cost</h2>\n<p>Each era's configurations run at the target, {}{}, from the cheapest: a configuration meets it when every \
         replication meets the SLO. The winner is the first that does; beside it the next cheapest on other hosts and the \
         costliest of the cheaper ones that missed.</p>\n<table><tr><th class=\"l\">era</th><th class=\"l\">role</th><th class=\"l\">settings</th>\
         <th>cost</th><th>meets</th><th>SLO load</th><th>p99</th><th>errors</th><th class=\"l\">why</th></tr>",
        load(plan.target_offered),
        escape(&plan.unit)
    );
    for (e, c) in &searched {
        let rows = c
            .winner
            .iter()
            .map(|w| ("winner", w))
            .chain(c.alternatives.iter().map(|a| ("alternative", a)))
            .chain(c.near_misses.iter().map(|m| ("near miss", m)));
        for (role, k) in rows {
            let _ = writeln!(
                h,
                "<tr><td class=\"l\">{}</td><td class=\"l\">{role}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
                escape(&e.era),
                escape(&settings(k)),
                escape(&money(k.cost, &c.cost_unit)),
                if k.meets {
                    format!("<span class=\"pass\">yes</span> ({}/{})", k.passed, k.replications)
                } else {
                    format!("<span class=\"fail\">no</span> ({}/{})", k.passed, k.replications)
                },
                interval(&k.slo_load),
                k.p99_ms.map_or("–".into(), ms),
                k.error_rate.map_or("–".into(), percent),
                escape(&k.why)
            );
        }
    }
    h.push_str("</table>\n<ul>\n");
    for (e, c) in &searched {
        let _ = write!(
            h,
            "<li><b>{}</b>: evaluated {} of the grid's {} configurations ({} skipped by the bound, {} by what failed runs showed)",
            escape(&e.era),
            c.evaluated,
            lab_core::record::thousands(c.grid as f64),
            lab_core::record::thousands(c.skipped_by_bound as f64),
            lab_core::record::thousands(c.skipped_by_saturation as f64)
        );
        if let Some(s) = &c.stopped {
            let _ = write!(h, "; {}", escape(s));
        }
        h.push_str(".</li>\n");
    }
    h.push_str("</ul>\n");
}

fn era_section(h: &mut String, plan: &Plan, e: &EraPage<'_>) {
    let p = e.plan;
    let c = &p.capacity;
    let u = escape(&c.unit);
    let _ = writeln!(
        h,
        "<h2>Era: {} ({})</h2>\n<p><b>Capacity</b> {}{}.</p>\n<p><b>Bottleneck</b> (what filled up first just past the capacity, then what followed): {}</p>",
        escape(&p.era),
        escape(&p.model),
        escape(&capacity_figure(c)),
        match c.bound {
            Bound::Converged => String::new(),
            Bound::Wide => ", wider than the tolerance: more replications or a looser tolerance would narrow it".into(),
            Bound::AtLeast => ": the SLO still held at the largest load a plan may simulate".into(),
            Bound::Below => ": the SLO failed even at the smallest load the search tries".into(),
        },
        escape(&c.sentence)
    );
    if let Some(n) = &c.next {
        let _ = writeln!(
            h,
            "<p><b>Next</b>: with <code>{}</code>, at {:.3}× the traffic: {}</p>",
            escape(&n.relieved),
            n.multiplier,
            escape(n.bottleneck.as_ref().map_or("nothing saturated", |b| &b.what))
        );
    }
    if let Some(a) = &p.analytic {
        let _ = writeln!(h, "<p><b>Theory</b>: {}.</p>", escape(&a.sentence()));
    }
    match c.knee.and_then(|k| c.points.get(k)) {
        Some(k) => {
            let _ = writeln!(
                h,
                "<p><b>Knee</b> of the latency curve at {}{u} (p99 {}): past it, latency climbs faster than the load.</p>",
                load(k.offered),
                k.p99_ms.map_or("–".into(), ms)
            );
        }
        None => h.push_str("<p>The latency curve has no clear knee within the capacity.</p>\n"),
    }
    if !c.utilisation_at_capacity.is_empty() {
        let mut us = c.utilisation_at_capacity.clone();
        us.sort_by(|a, b| b.value.total_cmp(&a.value));
        h.push_str(
            "<h3>Utilisation at capacity</h3>\n<p>At the last point within the capacity, in the busiest phase.</p>\n\
             <table><tr><th class=\"l\">resource</th><th>utilisation</th></tr>\n",
        );
        for u in &us {
            let _ = writeln!(
                h,
                "<tr><td class=\"l\">{}</td><td>{}</td></tr>",
                escape(&u.label),
                percent(u.value)
            );
        }
        h.push_str("</table>\n");
    }
    for r in &e.charts {
        figure(h, r);
    }
    let _ = writeln!(
        h,
        "<h3>Points</h3>\n<p>Every load run, with {} replications or more (<i>met</i> says how many: the points near the \
         capacity get more); a run's SLO load is its largest SLO figure over its bound, shown as the replications' geometric \
         mean with its 95 % interval.</p>\n<table class=\"nw\"><tr><th>offered</th><th>multiplier</th><th>SLO load</th><th>met</th><th>ok/s</th>\
         <th>p50</th><th>p99</th><th>errors</th></tr>",
        plan.replications
    );
    for pt in &c.points {
        let class = if pt.holds() { "pass" } else { "fail" };
        let _ = writeln!(
            h,
            "<tr><td>{}{u}</td><td>{:.3}×</td><td><span class=\"{class}\">{}</span></td><td>{}/{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            load(pt.offered),
            pt.multiplier,
            interval(&pt.slo_load),
            pt.passed,
            pt.replications,
            pt.throughput_rps,
            pt.p50_ms.map_or("–".into(), ms),
            pt.p99_ms.map_or("–".into(), ms),
            pt.error_rate.map_or("–".into(), percent),
        );
    }
    h.push_str("</table>\n");
    if let Some(f) = &p.fragment {
        let _ = writeln!(
            h,
            "<h3>Cheapest configuration</h3>\n<p>The era's settings with the cheapest configuration written in{}:</p>\n<pre>{}</pre>",
            e.fragment_file.as_ref().map_or(String::new(), |n| format!(
                " (<a href=\"{0}\">{0}</a>: {1})",
                escape(n),
                if p.scenario_file.is_some() {
                    "the whole scenario with them, ready for <code>lab run</code>"
                } else {
                    "the same keys"
                }
            )),
            escape(f)
        );
    }
    let _ = writeln!(
        h,
        "<p class=\"meta\">{} requests simulated in {:.1} s.</p>",
        lab_core::record::thousands(p.requests as f64),
        p.seconds
    );
}
