//! `lab real` (an era deployed, driven and reported) and `lab validate`
//! (the same era simulated and measured, side by side, against bands).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use lab_core::Record;
use lab_core::scenario::units::format_duration;
use lab_core::scenario::{self, Era, Scenario};
use lab_reports::validation::{self, Bands};

use crate::calibrate::{self, Settings};
use crate::measure::{self, Measure, Measured};
use crate::{RealArgs, UsageError, ValidateArgs};

/// The scenario with the command line's overrides, and the era it names.
fn load(args: &RealArgs) -> Result<(Scenario, usize)> {
    let s = scenario::load(&args.scenario)?;
    overridden(s, args)
}

/// `s` with the command line's overrides, and the era it names.
fn overridden(mut s: Scenario, args: &RealArgs) -> Result<(Scenario, usize)> {
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

fn measure_opts(args: &RealArgs, out: &Path) -> Measure {
    Measure {
        folder: Some(out.join("deployment")),
        users: args.users,
        quiet: args.quiet,
    }
}

fn measured(s: &Scenario, era: &Era, args: &RealArgs, out: &Path) -> Result<Measured> {
    let m = measure::measure(s, era, &measure_opts(args, out))?;
    print_faults(&m, args);
    Ok(m)
}

fn print_faults(m: &Measured, args: &RealArgs) {
    if !args.quiet && !m.faults.is_empty() {
        println!("Faults, from the start of the traffic:");
        for line in &m.faults {
            println!("  {line}");
        }
    }
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
pub fn validate(v: &ValidateArgs) -> Result<bool> {
    let args = &v.real;
    let (s, i) = load(args)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(format!("{}-validate", s.name)));
    // First, so that a scenario the simulator refuses fails before minutes
    // of real run; again after it only if what is simulated changed.
    let first = simulate(&s, i, args, false)?;
    let (run_s, run_i, m) = if v.calibrate {
        calibrated_run(v, &s, i, &out)?
    } else {
        let m = measured(&s, &s.eras[i], args, &out)?;
        (s.clone(), i, m)
    };
    // A run cut short keeps the first simulation, and the scenario it
    // simulated: its report is written at once.
    let (s, i, simulated) = if m.interrupted {
        (s, i, first)
    } else {
        let (run_s, clients_changed) = with_measured_clients(run_s, &m, args);
        if v.calibrate || clients_changed {
            let again = simulate(&run_s, run_i, args, true)?;
            (run_s, run_i, again)
        } else {
            (s, i, first)
        }
    };
    let era = &s.eras[i];
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
        if let Some(why) = &m.unpinned {
            println!(
                "Hosts did not each have CPUs of their own for real ({why}); the simulator gives every host its \
                 own cores, so their latencies are not comparable one for one."
            );
        }
        if m.unenforced.is_some() {
            println!("Hosts' cores were not enforced: the measured run had the whole machine.");
        }
    }
    interrupted(&m, &out)?;
    Ok(v.pass)
}

/// `s` with the simulated clients sending their SYNs again as the load
/// generator's kernel did, since a failover gap's comparison depends on
/// it; and whether that changed it.
fn with_measured_clients(mut s: Scenario, m: &Measured, args: &RealArgs) -> (Scenario, bool) {
    let Some(k) = m.clients.clone().filter(|k| *k != s.traffic.clients) else {
        return (s, false);
    };
    if !args.quiet {
        eprintln!(
            "note: the simulated clients send unanswered SYNs again as this machine's kernel does \
             (tcp_syn_retries = {}, tcp_syn_linear_timeouts = {}), not as the scenario says ({}, {})",
            k.tcp_syn_retries,
            k.tcp_syn_linear_timeouts,
            s.traffic.clients.tcp_syn_retries,
            s.traffic.clients.tcp_syn_linear_timeouts
        );
    }
    s.traffic.clients = k;
    (s, true)
}

/// Simulates era `i` of `s`. `after_run`: the era has been deployed, so
/// this process holds Ctrl-C for teardown; with nothing left to tear
/// down, a Ctrl-C now ends it at once, with status 1 as any other
/// interruption.
fn simulate(s: &Scenario, i: usize, args: &RealArgs, after_run: bool) -> Result<Record> {
    let era = &s.eras[i];
    if !args.quiet {
        eprintln!("simulating era {}…", era.label);
    }
    let signals = after_run.then(lab_deploy::Signals::install);
    let run = lab_sim::run(s, era, &mut |_| {
        if signals.is_some_and(|s| s.interrupted()) {
            eprintln!("Error: interrupted while simulating: the era is torn down and no report was written");
            std::process::exit(1);
        }
    })
    .with_context(|| format!("simulating era {} of {}", era.label, s.file.display()))?;
    Ok(run.record)
}

/// `lab validate --calibrate`: one deployment calibrated, then driven;
/// the calibrated scenario (with the command line's overrides), its era's
/// index, and the run. The calibrated file is written to `out`.
fn calibrated_run(v: &ValidateArgs, s: &Scenario, i: usize, out: &Path) -> Result<(Scenario, usize, Measured)> {
    let args = &v.real;
    let text =
        std::fs::read_to_string(&args.scenario).with_context(|| format!("reading {}", args.scenario.display()))?;
    let settings = Settings {
        era: args.era.clone(),
        rate: None,
        load_rate: None,
        seconds: v.calibrate_seconds,
        quiet: args.quiet,
    };
    let file = out.join(
        calibrate::calibrated_name(&args.scenario)
            .file_name()
            .expect("a file name with .calibrated.toml"),
    );
    let label = &s.eras[i].label;
    let (cs, ci, m) = measure::on_deployment(s, &s.eras[i], &measure_opts(args, out), |d, signals| {
        let cal = calibrate::on(d, signals, s, &s.eras[i], &text, &settings).map_err(|e| {
            if signals.interrupted() {
                anyhow::anyhow!("interrupted while calibrating era {label}: nothing was validated")
            } else {
                e.context(format!(
                    "calibrating era {label} of {} before the run",
                    args.scenario.display()
                ))
            }
        })?;
        // Written at once, so that a failure later keeps it; parsed under
        // its own name, so that a message points into it.
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        std::fs::write(&file, &cal.text).with_context(|| format!("writing {}", file.display()))?;
        if !args.quiet {
            cal.print_diff(&args.scenario, &file);
        }
        let parsed = scenario::parse(&cal.text, &file)
            .with_context(|| format!("the calibrated scenario {} is not valid", file.display()))?;
        let (cs, ci) = overridden(parsed, args)?;
        if !args.quiet {
            eprintln!("driving the calibrated era {}…", cs.eras[ci].label);
        }
        let m = measure::drive_on(d, signals, &cs, &cs.eras[ci], &measure_opts(args, out))?;
        Ok((cs, ci, m))
    })?;
    print_faults(&m, args);
    Ok((cs, ci, m))
}
