//! `lab plan`: each era's capacity, its bottleneck, and the cheapest
//! configuration that meets a target.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lab_core::record::{format_ms, percent, thousands};
use lab_core::scenario::{self, Workload};
use lab_plan::capacity::Bound;
use lab_plan::cheapest::money;
use lab_plan::{EraPlan, Options, Plan, Progress};

use crate::{PlanArgs, UsageError};

/// Runs the plan; prints it and writes its report.
pub fn plan(args: &PlanArgs) -> Result<()> {
    let mut s = scenario::load(&args.scenario)?;
    if let Some(seed) = args.seed {
        s.seed = seed;
    }
    let eras = s
        .select_eras(&args.eras)
        .map_err(|e| UsageError(format!("--era: {e}")))?;
    let peak = match &s.traffic.workload {
        Workload::Open(p) => Some(p.peak()),
        Workload::Closed { .. } => None,
    };
    let load = lab_plan::Load::new(&s, args.steady).map_err(|e| UsageError(e.to_string()))?;
    let given = (args.target.map(|t| (t, "--target"))).or(s.plan.target.map(|t| (t, "[plan] target =")));
    let (target, source) = match (given, peak) {
        (None, _) => (1.0, "the scenario's traffic".to_string()),
        (Some((_, src)), None) => {
            return Err(UsageError(format!(
                "{src}: a target is a peak arrival rate, and a closed model has none"
            ))
            .into());
        }
        (Some(_), Some(p)) if p <= 0.0 => (1.0, String::new()),
        (Some((t, src)), Some(p)) => {
            // The traffic as planned: with --steady, flat at the target.
            if let Some(problem) = load.base().target_problem(t) {
                return Err(UsageError(format!("{src} {}/s: {problem}", rate(t))).into());
            }
            (t / p, format!("{src} {}/s", rate(t)))
        }
    };
    if peak.is_some_and(|p| p <= 0.0) {
        return Err(UsageError(format!(
            "{}: the traffic's rate is 0/s throughout: there is no load to plan for",
            s.file.display()
        ))
        .into());
    }
    let each = load.requests(target);
    if each < lab_plan::capacity::MIN_REQUESTS as f64 {
        return Err(UsageError(format!(
            "{}: about {each:.0} requests a run at the target ({source}), too few to judge an SLO on (at least {}): \
             raise the target or lengthen the duration",
            s.file.display(),
            lab_plan::capacity::MIN_REQUESTS
        ))
        .into());
    }
    let o = Options {
        replications: args.replications.unwrap_or(s.plan.replications),
        tolerance: args.tolerance.unwrap_or(s.plan.tolerance),
        target,
        target_source: source,
        ranges: s.plan.ranges.clone(),
        cheapest: !args.capacity_only,
        steady: args.steady,
    };
    if s.slo.is_empty() {
        return Err(UsageError(format!(
            "{}: the scenario has no [slo]: a plan looks for the load at which it stops holding (add e.g. [slo] p99 = \"300ms\")",
            s.file.display()
        ))
        .into());
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(format!("{}-plan", s.name)));

    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        b.set_style(ProgressStyle::with_template("{spinner} {prefix:>10} {msg} · {elapsed}").expect("valid template"));
        b.enable_steady_tick(Duration::from_millis(120));
        b
    };
    let started = Instant::now();
    let unit = load.unit_name();
    let plan = lab_plan::plan(&s, &eras, &o, &mut |era, p| {
        bar.set_prefix(era.to_string());
        if args.verbose {
            bar.suspend(|| eprintln!("{era}: {}", line(&p, unit)));
        }
        match p {
            Progress::Capacity(p) => bar.set_message(format!(
                "capacity: {}{unit} ({:.3}×) → SLO load {:.2}{}",
                thousands(p.offered),
                p.multiplier,
                p.slo_load.mean,
                if p.holds() { ", holds" } else { ", misses" }
            )),
            Progress::Candidate(n, c) => bar.set_message(format!(
                "configuration {n}: {} → {}",
                c.settings
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                if c.meets { "meets the target" } else { "misses" }
            )),
        }
    })
    .map_err(|e| match e {
        lab_plan::PlanError::Usage(m) => anyhow::Error::new(UsageError(m)),
        e => anyhow::Error::new(e),
    })
    .with_context(|| format!("planning {}", args.scenario.display()))?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let index = lab_plan::report::write(&plan, &s, &out)
        .with_context(|| format!("writing the plan's report for {}", args.scenario.display()))?;
    if !args.quiet {
        print!("{}", render(&plan));
        let requests: u64 = plan.eras.iter().map(|e| e.requests).sum();
        println!(
            "Planned {} in {:.1} s: {} requests simulated ({}/s); report: {}",
            plan.eras.iter().map(|e| e.era.as_str()).collect::<Vec<_>>().join(", "),
            seconds,
            thousands(requests as f64),
            thousands(requests as f64 / seconds.max(1e-9)),
            index.display()
        );
    }
    Ok(())
}

/// A rate as a target reads: `3,000`, `12.5`, `0.01`.
fn rate(r: f64) -> String {
    if r >= 100.0 {
        thousands(r)
    } else {
        let s = format!("{r:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// One point or configuration run, for `--verbose`.
fn line(p: &Progress<'_>, unit: &str) -> String {
    match p {
        Progress::Capacity(p) => format!(
            "{}{unit} ({:.4}×, {} replications): SLO load {:.2} ({:.2} to {:.2}), {} of {} met the SLO, p99 {}{}",
            thousands(p.offered),
            p.multiplier,
            p.replications,
            p.slo_load.mean,
            p.slo_load.low,
            p.slo_load.high,
            p.passed,
            p.replications,
            p.p99_ms.map_or("-".into(), format_ms),
            p.bottleneck.as_ref().map_or(String::new(), |b| format!("; {}", b.what))
        ),
        Progress::Candidate(n, c) => format!(
            "configuration {n} at {}: {} → {}",
            c.cost,
            c.settings
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect::<Vec<_>>()
                .join(", "),
            if c.meets {
                "meets the target".to_string()
            } else {
                c.why.clone()
            }
        ),
    }
}

/// The plan as the terminal shows it: a paragraph per era.
pub fn render(p: &Plan) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{}: {} replications per point; target {}{} ({})\n",
        p.scenario,
        p.replications,
        thousands(p.target_offered),
        p.unit,
        p.target_source
    ));
    for e in &p.eras {
        out.push('\n');
        out.push_str(&era(e, &p.unit));
    }
    out.push('\n');
    out
}

fn era(e: &EraPlan, unit: &str) -> String {
    let c = &e.capacity;
    let name = if e.era == e.model {
        e.era.clone()
    } else {
        format!("{} ({})", e.era, e.model)
    };
    let mut s = match c.bound {
        Bound::AtLeast => format!(
            "{name}: capacity at least {}{unit} ({:.2}× the traffic): the SLO still held at the largest run a plan makes\n",
            thousands(c.offered),
            c.multiplier
        ),
        Bound::Below => format!(
            "{name}: capacity below {}{unit}: the SLO fails even at {:.4}× the traffic\n",
            thousands(c.offered_high),
            c.high
        ),
        _ => format!(
            "{name}: capacity {}{unit} ({:.2}× the traffic; 95 % interval {} to {}){}\n",
            thousands(c.offered),
            c.multiplier,
            thousands(c.offered_low),
            thousands(c.offered_high),
            if c.bound == Bound::Wide {
                format!(
                    ", wider than the {} tolerance: more replications or a looser tolerance would narrow it",
                    percent(c.tolerance)
                )
            } else {
                String::new()
            }
        ),
    };
    if let Some(b) = &c.bottleneck {
        s.push_str(&format!("  bottleneck: {}\n", b.what));
    }
    if let Some(n) = &c.next {
        match &n.bottleneck {
            Some(b) => s.push_str(&format!("  next, with {}: {}\n", n.relieved, b.what)),
            None => s.push_str(&format!("  next, with {}: nothing saturates\n", n.relieved)),
        }
    }
    if let Some(a) = &e.analytic {
        s.push_str(&format!("  theory: {}\n", a.sentence()));
    }
    if let Some(k) = c.knee.map(|i| &c.points[i]) {
        s.push_str(&format!(
            "  knee at {}{unit} (p99 {})\n",
            thousands(k.offered),
            k.p99_ms.map_or("-".into(), format_ms)
        ));
    }
    if let Some(ch) = &e.cheapest {
        match &ch.winner {
            Some(w) => s.push_str(&format!(
                "  cheapest for {}{unit}: {} at {} (as given: {})\n",
                thousands(ch.offered),
                w.settings
                    .iter()
                    .map(|(k, v)| format!("{k} = {v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                money(w.cost, &ch.cost_unit),
                money(e.cost, &ch.cost_unit)
            )),
            None => s.push_str(&format!(
                "  cheapest for {}{unit}: none found ({})\n",
                thousands(ch.offered),
                ch.stopped.as_deref().unwrap_or("")
            )),
        }
        s.push_str(&format!(
            "  {} of the grid's {} configurations run ({} skipped by the bound, {} by what failed runs showed)\n",
            ch.evaluated,
            thousands(ch.grid as f64),
            thousands(ch.skipped_by_bound as f64),
            thousands(ch.skipped_by_saturation as f64)
        ));
    }
    s
}
