//! `lab doctor`, `lab up` and `lab down`: real deployments on this machine.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use lab_core::scenario;
use lab_deploy::state::{self, Down};
use lab_deploy::{Signals, UpOptions, doctor};

use crate::UsageError;

/// Prints what this machine has and lacks; fails when stone or bronze
/// could not be deployed.
pub fn doctor() -> Result<()> {
    let findings = doctor::examine();
    let width = findings.iter().map(|f| f.what.len()).max().unwrap_or(0);
    let mut missing_now = Vec::new();
    for f in &findings {
        let mark = if f.ok { "ok  " } else { "MISSING" };
        let mark = if !f.ok && f.what == "cgroup cpu" { "NO  " } else { mark };
        println!("{mark:7} {:width$}  {}", f.what, f.detail);
        if !f.ok && f.needed_now && f.what != "cgroup cpu" {
            missing_now.push(f.what.clone());
        }
    }
    let for_silver: Vec<_> = findings
        .iter()
        .filter(|f| !f.ok && !f.needed_now)
        .map(|f| f.what.as_str())
        .collect();
    if !missing_now.is_empty() {
        anyhow::bail!(
            "stone and bronze cannot be deployed here: {} missing; run `sudo scripts/install-real.sh`",
            missing_now.join(", ")
        );
    }
    if for_silver.is_empty() {
        println!("stone, bronze and silver can be deployed: `lab up SCENARIO --era ERA`");
    } else {
        println!(
            "stone and bronze can be deployed (`lab up SCENARIO --era ERA`); silver also needs {}",
            for_silver.join(", ")
        );
    }
    Ok(())
}

/// Brings an era up, prints its URL and keeps it up until a signal, then
/// tears it down.
pub fn up(path: &std::path::Path, era: &str, out: Option<PathBuf>) -> Result<()> {
    let s = scenario::load(path)?;
    s.select_eras(&[era.to_string()])
        .map_err(|e| UsageError(format!("--era: {e}")))?;
    // Before anything starts, so a Ctrl-C at any point ends in teardown.
    let signals = Signals::install();
    let opts = UpOptions {
        out,
        signals: Some(signals),
    };
    let d =
        lab_deploy::up(&s, era, &opts).with_context(|| format!("bringing era \"{era}\" of {} up", path.display()))?;
    if let Some(why) = &d.unenforced {
        eprintln!("warning: hosts' cores are not enforced: {why}");
    }
    println!("era {era} is up at {}", d.url());
    for e in &s.app.endpoints {
        println!("  {}{}", d.url(), e.name);
    }
    if let Some(ns) = d.client_netns() {
        println!(
            "  (the VIP is on the run's own network: `ip netns exec {ns} curl {}…`)",
            d.url()
        );
        for b in &d.balancers {
            let h = &d.hosts[b.host];
            println!(
                "  balancer {} in namespace {}",
                h.name,
                h.netns.as_deref().unwrap_or("?")
            );
        }
    }
    for h in &d.hosts {
        match &h.cgroup {
            Some(c) => println!("  host {} ({} cores): cgroup {}", h.name, h.cores, c.display()),
            None => println!("  host {} ({} cores): not enforced", h.name, h.cores),
        }
    }
    println!("run folder {} (Ctrl-C tears it all down)", d.folder().root.display());
    std::io::stdout().flush().ok();
    signals.wait();
    eprintln!("tearing down…");
    d.tear_down().map_err(|errors| {
        let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("teardown left something behind: {}", list.join("; "))
    })?;
    eprintln!("torn down");
    Ok(())
}

/// Removes what killed runs left; with `all`, stops live runs too.
pub fn down(all: bool) -> Result<()> {
    let results = state::down(all).with_context(|| format!("reading {}", state::dir().display()))?;
    if results.is_empty() {
        println!("no runs recorded in {}", state::dir().display());
        return Ok(());
    }
    let mut failed = false;
    for r in results {
        match r {
            Down::Live(run) => println!(
                "run {} (era {}) is live, owned by pid {}: stop it with Ctrl-C or `lab down --all`",
                run.run, run.era, run.owner.pid
            ),
            Down::Removed { run, errors } => {
                if errors.is_empty() {
                    let folder = if run.remove_folder {
                        format!("{}", run.folder.display())
                    } else {
                        format!("the data, sockets and temporary files in {}", run.folder.display())
                    };
                    println!(
                        "run {} (era {}): {} process group(s), {} network namespace(s), its cgroup and {folder} removed",
                        run.run,
                        run.era,
                        run.processes.len(),
                        run.netns.len()
                    );
                } else {
                    failed = true;
                    for e in errors {
                        eprintln!("run {}: {e}", run.run);
                    }
                }
            }
        }
    }
    if failed {
        anyhow::bail!("some of what killed runs left could not be removed (see above)");
    }
    Ok(())
}
