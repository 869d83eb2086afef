//! `lab run` and `lab check`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use lab_core::scenario::units::format_duration;
use lab_core::scenario::{self, Era, Scenario, Workload};
use lab_core::sizing;
use rayon::prelude::*;

use lab_reports::replications::{self, EraReplications, Replica};

use crate::{RunArgs, UsageError};

fn load(path: &Path) -> Result<Scenario> {
    // The error already names the file, line, column and key.
    Ok(scenario::load(path)?)
}

/// Runs the scenario; returns whether every era met the SLO.
pub fn run(args: &RunArgs) -> Result<bool> {
    let mut scenario = load(&args.scenario)?;
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    if let Some(d) = args.duration {
        scenario
            .set_duration(d)
            .map_err(|e| UsageError(format!("--duration {}: {e}", format_duration(d))))?;
    }
    let eras = scenario
        .select_eras(&args.eras)
        .map_err(|e| UsageError(format!("--era: {e}")))?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(&scenario.name));

    let n = args.replications;
    budget(&scenario, &eras, n)?;
    if !args.quiet {
        for era in &eras {
            for w in sizing::warnings(&scenario, era) {
                eprintln!("warning: {w}");
            }
        }
    }

    let started = Instant::now();
    let bars = MultiProgress::with_draw_target(if args.quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    });
    let style = ProgressStyle::with_template("{prefix:>12} [{bar:40}] {percent:>3}% of {msg} simulated · {elapsed}")
        .expect("valid template")
        .progress_chars("=> ");
    let bars_by_era: Vec<ProgressBar> = eras
        .iter()
        .map(|era| {
            let bar = bars.add(
                ProgressBar::new(1000 * u64::from(n))
                    .with_style(style.clone())
                    .with_prefix(era.label.clone())
                    .with_message(if n == 1 {
                        format_duration(scenario.duration)
                    } else {
                        format!("{n} × {}", format_duration(scenario.duration))
                    }),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        })
        .collect();
    // Every (era, replication) is one job; the first replication keeps
    // its record for the report, the others only their figures, so that
    // memory holds one record per era and one per running job.
    let jobs: Vec<(usize, u32)> = (0..n).flat_map(|k| (0..eras.len()).map(move |e| (e, k))).collect();
    let results: Vec<(usize, u32, Option<lab_core::Record>, Replica)> = jobs
        .par_iter()
        .map(|&(e, k)| {
            let era = eras[e];
            let mut s = scenario.clone();
            s.seed = replications::seed(scenario.seed, k);
            let bar = &bars_by_era[e];
            let mut last = 0u64;
            let run = lab_sim::run(&s, era, &mut |p| {
                let now = (p.fraction() * 1000.0) as u64;
                bar.inc(now.saturating_sub(last));
                last = now;
            });
            bar.inc(1000u64.saturating_sub(last));
            let record = run.map(|r| r.record).with_context(|| {
                format!(
                    "simulating era {} of {} (seed {})",
                    era.label,
                    args.scenario.display(),
                    s.seed
                )
            })?;
            let replica = Replica::of(&s, &record);
            Ok((e, k, (k == 0).then_some(record), replica))
        })
        .collect::<Result<_>>()?;
    bars_by_era.iter().for_each(ProgressBar::finish);
    let simulated = started.elapsed();
    let mut records: Vec<Option<lab_core::Record>> = eras.iter().map(|_| None).collect();
    let mut replicas: Vec<Vec<Replica>> = eras.iter().map(|_| Vec::new()).collect();
    for (e, _, record, replica) in results {
        if let Some(r) = record {
            records[e] = Some(r);
        }
        replicas[e].push(replica);
    }
    let records: Vec<lab_core::Record> = records.into_iter().map(|r| r.expect("replication 0 ran")).collect();
    let reps: Vec<EraReplications> = if n > 1 {
        eras.iter()
            .zip(&replicas)
            .map(|(era, r)| EraReplications::of(&era.label, r))
            .collect()
    } else {
        Vec::new()
    };

    let writing = bars.add(
        ProgressBar::new_spinner()
            .with_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"))
            .with_message(format!("writing the report to {}", out.display())),
    );
    writing.enable_steady_tick(Duration::from_millis(100));
    let report = lab_reports::write_replicated(&scenario, &records, &reps, &out)
        .with_context(|| format!("writing the report for {}", args.scenario.display()))?;
    writing.finish_and_clear();
    // With replications, an era meets the SLO only if every seed does: one
    // lucky seed is what replications are there to rule out.
    let missed = failing(&report.summary, &reps);
    let slo_ok = missed.is_empty();
    if !args.quiet {
        println!("{}", lab_reports::table::render(&report.summary));
        println!(
            "Simulated {}{} of {} in {:.2} s; report: {}",
            if n > 1 { format!("{n} × ") } else { String::new() },
            format_duration(scenario.duration),
            eras.iter().map(|e| e.label.as_str()).collect::<Vec<_>>().join(", "),
            simulated.as_secs_f64(),
            out.join("index.html").display()
        );
        if !slo_ok {
            println!("SLO missed by: {}", missed.join(", "));
        }
    }
    Ok(slo_ok)
}

fn failing(summary: &lab_reports::Summary, reps: &[EraReplications]) -> Vec<String> {
    if reps.is_empty() {
        return summary
            .eras
            .iter()
            .filter(|e| !e.slo.pass)
            .map(|e| e.label.clone())
            .collect();
    }
    reps.iter()
        .filter_map(|r| {
            let passed = r.slo_passed?;
            (passed < r.replications).then(|| format!("{} ({passed} of {} replications passed)", r.era, r.replications))
        })
        .collect()
}

/// A large count in words people read: 1,234 or 5.6 million.
fn count(n: f64) -> String {
    if n < 1e6 {
        lab_core::record::thousands(n)
    } else if n < 1e9 {
        format!("{:.1} million", n / 1e6)
    } else {
        format!("{:.1} billion", n / 1e9)
    }
}

/// Peak memory all selected eras may need together: their records are all
/// kept for the report, and they run in parallel. About a third of the
/// machine this project is built on; the limits of a scenario keep one era
/// far below it, so only files with many large eras meet it.
pub const MEMORY_BUDGET: f64 = 8.0 * 1024.0 * 1024.0 * 1024.0;

/// Refuses a run whose estimated memory exceeds [`MEMORY_BUDGET`], before
/// anything is simulated. With replications, each era's first record is
/// kept and as many runs as there are threads are live besides.
fn budget(scenario: &Scenario, eras: &[&Era], replications: u32) -> Result<()> {
    let estimates: Vec<_> = eras.iter().map(|e| (e, lab_sim::estimate(scenario, e))).collect();
    let mut total: f64 = estimates.iter().map(|(_, e)| e.peak_bytes).sum();
    if replications > 1 {
        let live = rayon::current_num_threads().min((replications as usize - 1) * eras.len()) as f64;
        total += live * estimates.iter().map(|(_, e)| e.peak_bytes).fold(0.0, f64::max);
    }
    if total <= MEMORY_BUDGET {
        return Ok(());
    }
    let each: Vec<String> = estimates
        .iter()
        .map(|(era, e)| format!("{} {}", era.label, mib(e.peak_bytes)))
        .collect();
    anyhow::bail!(
        "{}: the eras would need about {} of memory together ({}), more than the {} a run may take: \
         run fewer eras at once (--era), or make the largest smaller (a smaller listen_backlog or max_children, \
         fewer users, a longer stats.window)",
        scenario.file.display(),
        mib(total),
        each.join(", "),
        mib(MEMORY_BUDGET)
    )
}

fn mib(bytes: f64) -> String {
    if bytes >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} GiB", bytes / (1024.0 * 1024.0 * 1024.0))
    } else {
        format!("{:.0} MiB", (bytes / (1024.0 * 1024.0)).ceil())
    }
}

/// An era as the report names it: its label, and its model when that
/// differs (`stone`, `big-bronze (bronze)`).
fn era_name(label: &str, model: &str) -> String {
    if label == model {
        label.to_string()
    } else {
        format!("{label} ({model})")
    }
}

/// Validates a scenario and prints a one-paragraph description of it, then
/// the effective settings of each era (of those named in `labels`, or all)
/// and the warnings about them.
pub fn check(path: &Path, labels: &[String]) -> Result<()> {
    let s = load(path)?;
    let selected = s.select_eras(labels).map_err(|e| UsageError(format!("--era: {e}")))?;
    let traffic = match &s.traffic.workload {
        Workload::Open(p) => format!("open model, Poisson arrivals peaking at {:.0}/s", p.peak()),
        Workload::Closed { users, think } => format!("closed model, {users} users thinking {think}"),
    };
    let eras: Vec<String> = s.eras.iter().map(|e| era_name(&e.label, e.arch.model())).collect();
    println!("{}: ok", path.display());
    println!("  {} over {}, seed {}", traffic, format_duration(s.duration), s.seed);
    println!(
        "  {} endpoints: {}",
        s.app.endpoints.len(),
        s.app
            .endpoints
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("  eras: {}", eras.join(", "));
    if s.plan != scenario::PlanSpec::default() {
        let p = &s.plan;
        let mut parts = vec![
            match p.target {
                Some(t) => format!("target {}/s", lab_core::record::thousands(t)),
                None => "target: the scenario's traffic".into(),
            },
            format!("{} replications", p.replications),
            format!("tolerance {}", lab_core::record::percent(p.tolerance)),
        ];
        parts.extend(p.ranges.written().into_iter().map(|(k, v)| format!("{k} {v}")));
        println!("  plan (lab plan): {}", parts.join(", "));
    }
    for era in &s.eras {
        let e = lab_sim::estimate(&s, era);
        println!(
            "  {}: about {} requests, {} events, {} windows, at most {} of memory",
            era.label,
            count(e.requests),
            count(e.events),
            e.windows,
            mib(e.peak_bytes)
        );
    }
    // What `run` would refuse, `check` refuses too.
    budget(&s, &s.eras.iter().collect::<Vec<_>>(), 1)?;
    let mut warnings = Vec::new();
    for era in selected {
        println!();
        print!("{}", settings_block(era));
        warnings.extend(sizing::warnings(&s, era));
    }
    if !warnings.is_empty() {
        println!();
    }
    for w in &warnings {
        println!("warning: {w}");
    }
    Ok(())
}

/// One era's effective settings, aligned in three columns: key, value,
/// origin ("scenario" for what `[eras.<label>]` wrote).
fn settings_block(era: &Era) -> String {
    let key_w = era.settings.iter().map(|x| x.key.chars().count()).max().unwrap_or(0);
    // A few long values (a distribution, health-check timing) push their
    // own origin right rather than every row's.
    let value_w = era
        .settings
        .iter()
        .map(|x| x.value.chars().count())
        .filter(|&n| n <= 24)
        .max()
        .unwrap_or(0);
    let mut out = if era.label == era.arch.model() {
        format!("[eras.{}] effective settings:\n", era.label)
    } else {
        format!("[eras.{}] ({}) effective settings:\n", era.label, era.arch.model())
    };
    for x in &era.settings {
        out.push_str(&format!("  {:key_w$}  {:value_w$}  {}\n", x.key, x.value, x.origin,));
    }
    out
}
