//! One era measured for real: deployed, driven by the load generator with
//! its faults struck at the scenario's times, torn down. `lab real`,
//! `lab validate` and `lab calibrate` share it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use lab_core::Record;
use lab_core::scenario::{Era, Fault, Kernel, Scenario};
use lab_deploy::{Deployment, Signals, UpOptions};
use lab_loadgen::{Bar, Plan, Target};

use crate::gauges;

/// How to measure.
pub struct Measure {
    /// The deployment's run folder (configs and logs, kept); a temporary
    /// one, removed at teardown, when `None`.
    pub folder: Option<PathBuf>,
    pub users: Option<u32>,
    pub quiet: bool,
}

/// What a measured run gives besides its record.
pub struct Measured {
    pub record: Record,
    /// What each fault struck and when, as it happened.
    pub faults: Vec<String>,
    /// A fault that could not be struck or healed (the run went on, and
    /// its record is kept for the report).
    pub fault_error: Option<String>,
    /// Why hosts' cores were not enforced, if they were not.
    pub unenforced: Option<String>,
    /// Why hosts were not each on CPUs of their own, if they were not
    /// (more cores in the era than CPUs here, or no cpuset).
    pub unpinned: Option<String>,
    /// Ctrl-C (or SIGTERM, SIGHUP) ended the run early.
    pub interrupted: bool,
    /// The load generator's kernel, as its SYNs were sent again (its
    /// network namespace's sysctls), when they could be read.
    pub clients: Option<Kernel>,
}

/// Goose users: [`lab_core::scenario::Traffic::real_users`] (not `lab
/// drive`'s one second of the peak, which a failover gap would run dry;
/// the simulator's clients keep as many connections alive). `None` for
/// the closed model, whose users are the scenario's.
fn default_users(s: &Scenario) -> Option<usize> {
    matches!(s.traffic.workload, lab_core::scenario::Workload::Open(_)).then(|| s.traffic.real_users())
}

/// A scheduled step of the fault player.
enum Step {
    Strike(usize),
    Heal(usize),
}

/// Deploys `era`, drives it for the scenario's duration while playing its
/// faults, and tears it down whatever happens.
pub fn measure(scenario: &Scenario, era: &Era, m: &Measure) -> Result<Measured> {
    on_deployment(scenario, era, m, |d, signals| drive_on(d, signals, scenario, era, m))
}

/// Deploys `era`, hands the deployment to `work` and tears it down
/// whatever `work` gave (a teardown that leaves something behind is the
/// error, after `work`'s own).
pub fn on_deployment<T>(
    scenario: &Scenario,
    era: &Era,
    m: &Measure,
    work: impl FnOnce(&mut Deployment, Signals) -> Result<T>,
) -> Result<T> {
    // Before anything starts, so a Ctrl-C at any point ends in teardown.
    let signals = Signals::install();
    let opts = UpOptions {
        out: m.folder.clone(),
        signals: Some(signals),
    };
    let label = &era.label;
    let file = scenario.file.display();
    if !m.quiet {
        eprintln!("bringing era {label} up…");
    }
    let mut d = lab_deploy::up(scenario, label, &opts).with_context(|| format!("bringing era {label} of {file} up"))?;
    if let Some(why) = &d.unenforced {
        eprintln!("warning: hosts' cores are not enforced, so the comparison with the simulator is not fair: {why}");
    }
    if let Some(why) = &d.unpinned {
        eprintln!("note: {why}");
    }
    if let Err(e) = d.join_load_generator() {
        eprintln!(
            "warning: the load generator could not move into its cgroup or cpuset (its CPU may go uncounted, or run on the hosts' CPUs): {e}"
        );
    }
    let done = work(&mut d, signals);
    if !m.quiet {
        eprintln!("tearing era {label} down…");
    }
    let teardown = d.tear_down().map_err(|errors| {
        let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow!(
            "teardown left something behind (`lab down` removes it): {}",
            list.join("; ")
        )
    });
    match (done, teardown) {
        (Ok(done), Ok(())) => Ok(done),
        (Ok(_), Err(t)) => Err(t),
        (Err(e), Ok(())) => Err(e),
        (Err(e), Err(t)) => {
            // Both matter; the work's error is the one returned.
            eprintln!("error: {t:#}");
            Err(e)
        }
    }
}

/// Drives the deployed `era` for the scenario's duration while playing
/// its faults.
pub fn drive_on(d: &mut Deployment, signals: Signals, scenario: &Scenario, era: &Era, m: &Measure) -> Result<Measured> {
    let label = &era.label;
    let file = scenario.file.display();
    let unenforced = d.unenforced.clone();
    let unpinned = d.unpinned.clone();
    let topology = era.topology();
    let allowed: Vec<std::net::IpAddr> = d.vip().map(Into::into).into_iter().collect();
    let target = Target::with_allowed(&d.url(), &allowed).map_err(|e| anyhow!("the deployment's address: {e}"))?;
    let mut plan = Plan::new(target);
    plan.users = m.users.map(|u| u as usize).or_else(|| default_users(scenario));
    plan.era = label.clone();
    plan.model = era.arch.model().to_string();
    plan.scrapers = gauges::scrapers(d, &topology);
    let (origin_tx, origin_rx) = mpsc::channel();
    plan.on_start = Some(Box::new(move |at| {
        let _ = origin_tx.send(at);
    }));
    plan.stop = Some(Box::new(move || signals.interrupted()));

    let client_netns = d.client_netns().map(str::to_string);
    let clients = lab_deploy::netns::run_in(client_netns.as_deref(), clients_kernel)
        .ok()
        .flatten();
    // The load generator gives up connecting when this machine's kernel
    // does, which is what `lab validate` simulates too.
    if let Some(k) = &clients {
        let syn = std::time::Duration::from_nanos(k.syn_schedule().1);
        plan.connect_timeout = Some(
            scenario
                .traffic
                .timeout
                .map_or(syn, |t| syn.min(std::time::Duration::from_nanos(t))),
        );
    }
    let over = AtomicBool::new(false);
    let faults = topology.faults.clone();
    let (driven, played) = std::thread::scope(|s| {
        let player = s.spawn(|| play(d, &faults, origin_rx, &over, signals));
        let driven = {
            // However the drive ends (a panic included), the player stops.
            let _over = Over(&over);
            lab_deploy::netns::run_in(client_netns.as_deref(), || {
                lab_loadgen::drive(scenario, plan, &mut Bar::new(m.quiet))
            })
        };
        let played = player
            .join()
            .unwrap_or_else(|_| Err(anyhow!("the fault player panicked")));
        (driven, played)
    });
    let record = driven
        .context("entering the clients' network namespace")?
        .with_context(|| format!("driving era {label} of {file}"))?;
    let (faults, fault_error) = match played {
        Ok(log) => (log, None),
        Err(e) => (Vec::new(), Some(format!("{e:#}"))),
    };
    Ok(Measured {
        record,
        faults,
        fault_error,
        unenforced,
        unpinned,
        interrupted: signals.interrupted(),
        clients,
    })
}

/// This network namespace's SYN retransmission settings; a kernel older
/// than 6.5 has no `tcp_syn_linear_timeouts`, as with 0.
fn clients_kernel() -> Option<Kernel> {
    let read = |key: &str| -> Option<u32> {
        std::fs::read_to_string(format!("/proc/sys/net/ipv4/{key}"))
            .ok()
            .and_then(|v| v.trim().parse().ok())
    };
    Some(Kernel {
        tcp_syn_retries: read("tcp_syn_retries")?,
        tcp_syn_linear_timeouts: read("tcp_syn_linear_timeouts").unwrap_or(0),
        ..Kernel::default()
    })
}

/// Sets the flag when dropped: the drive is over, however it ended.
struct Over<'a>(&'a AtomicBool);

impl Drop for Over<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Strikes and heals `faults` at their times from the drive's origin;
/// returns what it did, or the first fault it could not strike.
fn play(
    d: &mut Deployment,
    faults: &[Fault],
    origin: mpsc::Receiver<Instant>,
    over: &AtomicBool,
    signals: Signals,
) -> Result<Vec<String>> {
    let mut steps: Vec<(u64, Step)> = Vec::new();
    for (i, f) in faults.iter().enumerate() {
        steps.push((f.at, Step::Strike(i)));
        if let Some(until) = f.until {
            steps.push((until, Step::Heal(i)));
        }
    }
    // A heal before a strike at the same instant (a fault ending as the
    // next begins on the same host).
    steps.sort_by_key(|(t, s)| (*t, matches!(s, Step::Strike(_))));
    if steps.is_empty() {
        return Ok(Vec::new());
    }
    let origin = loop {
        match origin.recv_timeout(Duration::from_millis(50)) {
            Ok(at) => break at,
            Err(mpsc::RecvTimeoutError::Timeout) if !over.load(Ordering::SeqCst) && !signals.interrupted() => {}
            // The drive ended (or never started) before its traffic did.
            Err(_) => return Ok(Vec::new()),
        }
    };
    let mut struck: Vec<Option<String>> = vec![None; faults.len()];
    let mut log = Vec::new();
    for (t, step) in steps {
        let when = origin + Duration::from_nanos(t);
        loop {
            if over.load(Ordering::SeqCst) || signals.interrupted() {
                return Ok(log);
            }
            let left = when.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(20)));
        }
        let secs = origin.elapsed().as_secs_f64();
        match step {
            Step::Strike(i) => {
                let f = &faults[i];
                let host = d
                    .strike(f)
                    .with_context(|| format!("striking fault {} on {} at {secs:.2} s", f.kind.name(), f.target))?;
                log.push(format!("{secs:6.2} s  {} {} ({host})", f.kind.name(), f.target));
                struck[i] = Some(host);
            }
            Step::Heal(i) => {
                let f = &faults[i];
                let Some(host) = struck[i].take() else { continue };
                d.heal(f, &host)
                    .with_context(|| format!("healing fault {} on {host} at {secs:.2} s", f.kind.name()))?;
                log.push(format!("{secs:6.2} s  {} {} healed", f.kind.name(), f.target));
            }
        }
    }
    Ok(log)
}
