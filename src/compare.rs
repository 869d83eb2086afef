//! `lab real` (an era deployed, driven and reported) and `lab validate`
//! (the same era simulated and measured, side by side, against bands).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use lab_core::Record;
use lab_core::scenario::units::format_duration;
use lab_core::scenario::{self, Era, Scenario};
use lab_reports::validation::{self, Bands};

use crate::measure::{self, Measure, Measured};
use crate::{RealArgs, UsageError};

/// The scenario with the command line's overrides, and the era it names.
fn load(args: &RealArgs) -> Result<(Scenario, usize)> {
    let mut s = scenario::load(&args.scenario)?;
    if let Some(d) = args.duration {
        s.set_duration(d)
            .map_err(|e| UsageError(format!("--duration {}: {e}", format_duration(d))))?;
    }
    let era = s
        .select_eras(std::slice::from_ref(&args.era))
        .map_err(|e| UsageError(format!("--era: {e}")))?[0];
    let i = s
        .eras
        .iter()
        .position(|e| std::ptr::eq(e, era))
        .expect("selected from its eras");
    Ok((s, i))
}

fn measured(s: &Scenario, era: &Era, args: &RealArgs, out: &Path) -> Result<Measured> {
    let m = measure::measure(
        s,
        era,
        &Measure {
            folder: Some(out.join("deployment")),
            users: args.users,
            quiet: args.quiet,
        },
    )?;
    if !args.quiet && !m.faults.is_empty() {
        println!("Faults, from the start of the traffic:");
        for line in &m.faults {
            println!("  {line}");
        }
    }
    Ok(m)
}

/// What ends a command cut short: the report holds what was measured.
fn interrupted(m: &Measured, out: &Path) -> Result<()> {
    if let Some(e) = &m.fault_error {
        anyhow::bail!(
            "a fault could not be played, so the run is not the scenario's: {e}; the report in {} holds the run as it went",
            out.display()
        );
    }
    if m.interrupted {
        anyhow::bail!(
            "interrupted: the era is torn down; the report in {} holds what was measured until then",
            out.display()
        );
    }
    Ok(())
}

/// `lab real`: returns whether the run met the scenario's SLO.
pub fn real(args: &RealArgs) -> Result<bool> {
    let (s, i) = load(args)?;
    let era = &s.eras[i];
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(format!("{}-real", s.name)));
    let m = measured(&s, era, args, &out)?;
    let report = lab_reports::write(&s, std::slice::from_ref(&m.record), &out)
        .with_context(|| format!("writing the report for {}", args.scenario.display()))?;
    let slo_ok = report.summary.eras.iter().all(|e| e.slo.pass);
    if !args.quiet {
        println!("{}", lab_reports::table::render(&report.summary));
        println!(
            "Ran era {} of {} for real for {}: {} arrivals; report: {}",
            era.label,
            s.name,
            format_duration(s.duration),
            m.record.totals.arrivals,
            out.join("index.html").display()
        );
    }
    interrupted(&m, &out)?;
    Ok(slo_ok)
}

/// `lab validate`: returns whether every row is within its band.
pub fn validate(args: &RealArgs) -> Result<bool> {
    let (s, i) = load(args)?;
    let era = &s.eras[i];
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(format!("{}-validate", s.name)));
    if !args.quiet {
        eprintln!("simulating era {}…", era.label);
    }
    let simulated: Record = lab_sim::run(&s, era, &mut |_| {})
        .with_context(|| format!("simulating era {} of {}", era.label, args.scenario.display()))?
        .record;
    let m = measured(&s, era, args, &out)?;
    let (report, v) = lab_reports::write_validation(&s, &simulated, &m.record, Bands::default(), &out)
        .with_context(|| format!("writing the report for {}", args.scenario.display()))?;
    if !args.quiet {
        println!("{}", lab_reports::table::render(&report.summary));
        println!("{}", validation::render_table(&v));
        let failed = v.rows.iter().filter(|r| !r.pass).count();
        println!(
            "Era {} of {}: {} of {} figures within their bands; report: {}",
            era.label,
            s.name,
            v.rows.len() - failed,
            v.rows.len(),
            out.join("index.html").display()
        );
        if m.unenforced.is_some() {
            println!("Hosts' cores were not enforced: the measured run had the whole machine.");
        }
    }
    interrupted(&m, &out)?;
    Ok(v.pass)
}
