//! `lab drive`: the scenario's traffic at an already running server, with
//! the report `lab run` writes.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use lab_core::scenario::{self, units::format_duration};
use lab_loadgen::{Bar, LoadgenError, Plan, Target};

use crate::{DriveArgs, UsageError};

/// Drives the target; returns whether the run met the scenario's SLO.
pub fn drive(args: &DriveArgs) -> Result<bool> {
    let mut scenario = scenario::load(&args.scenario)?;
    if let Some(d) = args.duration {
        scenario
            .set_duration(d)
            .map_err(|e| UsageError(format!("--duration {}: {e}", format_duration(d))))?;
    }
    let target = Target::with_allowed(&args.target, &args.allow).map_err(|e| match e {
        LoadgenError::BadTarget { .. } | LoadgenError::Forbidden { .. } => UsageError(format!("--target: {e}")),
        other => UsageError(other.to_string()),
    })?;
    let mut plan = Plan::new(target);
    plan.users = args.users;
    if let Some(label) = &args.era {
        let era = scenario
            .select_eras(std::slice::from_ref(label))
            .map_err(|e| UsageError(format!("--era: {e}")))?[0];
        plan.era = era.label.clone();
        plan.model = era.arch.model().to_string();
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(format!("{}-drive", scenario.name)));

    let mut bar = Bar::new(args.quiet);
    let record = lab_loadgen::drive(&scenario, plan, &mut bar)
        .with_context(|| format!("driving {} at {}", args.scenario.display(), args.target))?;
    let report = lab_reports::write(&scenario, std::slice::from_ref(&record), &out)
        .with_context(|| format!("writing the report for {}", args.scenario.display()))?;
    let slo_ok = report.summary.eras.iter().all(|e| e.slo.pass);
    if !args.quiet {
        println!("{}", lab_reports::table::render(&report.summary));
        let dropped = record.outcome_id("dropped").map_or(0, |d| record.totals.outcomes[d]);
        println!(
            "Drove {} of {} at {}: {} arrivals, {} dropped, {} unanswered at the end; report: {}",
            format_duration(scenario.duration),
            scenario.name,
            args.target,
            record.totals.arrivals,
            dropped,
            record.totals.unfinished,
            out.join("index.html").display()
        );
        if dropped > 0 {
            println!("Arrivals were dropped: no goose user was free at their time; raise --users.");
        }
    }
    Ok(slo_ok)
}

/// `--allow`: an address the target may have besides the loopback range.
pub fn parse_addr(s: &str) -> Result<IpAddr, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("{s:?} is not an IP address (such as 10.200.0.10)"))
}
