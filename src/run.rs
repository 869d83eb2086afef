//! `lab run` and `lab check`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use lab_core::scenario::units::format_duration;
use lab_core::scenario::{self, Scenario, Workload};
use rayon::prelude::*;

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

    let started = Instant::now();
    let bars = MultiProgress::with_draw_target(if args.quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    });
    let style = ProgressStyle::with_template("{prefix:>12} [{bar:40}] {percent:>3}% of {msg} simulated · {elapsed}")
        .expect("valid template")
        .progress_chars("=> ");
    let records: Vec<_> = eras
        .par_iter()
        .map(|era| {
            let bar = bars.add(
                ProgressBar::new(1000)
                    .with_style(style.clone())
                    .with_prefix(era.label.clone())
                    .with_message(format_duration(scenario.duration)),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            let run = lab_sim::run(&scenario, era, &mut |p| {
                bar.set_position((p.fraction() * 1000.0) as u64)
            });
            bar.finish();
            run.record
        })
        .collect();
    let simulated = started.elapsed();

    let writing = bars.add(
        ProgressBar::new_spinner()
            .with_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"))
            .with_message(format!("writing the report to {}", out.display())),
    );
    writing.enable_steady_tick(Duration::from_millis(100));
    let report = lab_reports::write(&scenario, &records, &out)
        .with_context(|| format!("writing the report for {}", args.scenario.display()))?;
    writing.finish_and_clear();
    let slo_ok = report.summary.eras.iter().all(|e| e.slo.pass);
    if !args.quiet {
        println!("{}", lab_reports::table::render(&report.summary));
        println!(
            "Simulated {} of {} in {:.2} s; report: {}",
            format_duration(scenario.duration),
            eras.iter().map(|e| e.label.as_str()).collect::<Vec<_>>().join(", "),
            simulated.as_secs_f64(),
            out.join("index.html").display()
        );
        if !slo_ok {
            println!("SLO missed by: {}", failing(&report.summary).join(", "));
        }
    }
    Ok(slo_ok)
}

fn failing(summary: &lab_reports::Summary) -> Vec<String> {
    summary
        .eras
        .iter()
        .filter(|e| !e.slo.pass)
        .map(|e| e.label.clone())
        .collect()
}

/// Validates a scenario and prints a one-paragraph description of it.
pub fn check(path: &Path) -> Result<()> {
    let s = load(path)?;
    let traffic = match &s.traffic.workload {
        Workload::Open(p) => format!("open model, Poisson arrivals peaking at {:.0}/s", p.peak()),
        Workload::Closed { users, think } => format!("closed model, {users} users thinking {think}"),
    };
    let eras: Vec<String> = s
        .eras
        .iter()
        .map(|e| format!("{} ({})", e.label, e.arch.model()))
        .collect();
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
    Ok(())
}
