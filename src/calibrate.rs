//! `lab calibrate`: each endpoint alone at low load on the real stack,
//! its CPU per request on the web and database hosts read from their
//! cgroups, then the scenario's mix at a high load, and a scenario file
//! written whose endpoints carry what the stack costs beyond their steps
//! as their `overhead` (`lab_core::scenario::calibrate` says why not
//! scaled steps).
//!
//! Why the second pass: a request costs the web host less CPU when the
//! host is busy than when it is idle (measured on `validate-bronze`'s
//! 1-core web host: 5.5 ms at 20 % load, 5.2 ms at 50 %, 4.8 ms at 85 %),
//! close to linear in the share of requests that find the core idle: a
//! CPU waking from idle, and nginx and the PHP child running cold. One
//! overhead measured at low load makes the simulated host too slow near
//! capacity, where queues are most sensitive to it. Two loads give two
//! equations for the warm overhead and the cold extra
//! ([`fit_cold`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use lab_core::scenario::calibrate::{self, EndpointCost};
use lab_core::scenario::{self, RateProfile, Scenario, Work, Workload, limits};
use lab_core::topology::{HostId, NodeKind, Topology};
use lab_deploy::{Deployment, Signals, UpOptions};
use lab_loadgen::{Bar, Plan, Target};

use crate::gauges::cpu_ns;
use crate::{CalibrateArgs, UsageError};

/// How long the idle machine is watched for the hosts' background CPU.
const IDLE: Duration = Duration::from_secs(2);
/// Share of the busiest host's capacity the low load may take.
const LOW_LOAD: f64 = 0.2;
/// Share of the measured capacity the mix is driven at in the second pass:
/// high enough that most requests find the web host busy, low enough that
/// no queue overflows.
const HIGH_LOAD: f64 = 0.7;

/// What one endpoint costs, modelled and measured, in CPU ns per request
/// of the hosts as they are (a host at speed 0.5 takes twice the demand).
struct Cost {
    endpoint: String,
    requests: u64,
    errors: u64,
    web: (f64, f64),
    db: (f64, f64),
    /// The web and database hosts are one (stone): one factor for both.
    shared: bool,
    /// Share of its requests that found a core of the web host idle
    /// ([`idle_share`]).
    idle: f64,
}

impl Cost {
    /// The overhead at speed 1: what was measured beyond the steps, in
    /// host time, times the host's speed. Stone's one host cannot tell the
    /// web's share from the database's: all of it is the web's, where the
    /// request starts.
    ///
    /// `cold` is the fitted extra of a request on an idle web host, in host
    /// ns: the part of the measured CPU it explains ([`Cost::idle`] of it)
    /// is not the warm overhead.
    fn overhead(&self, web_speed: f64, db_speed: f64, cold: f64) -> EndpointCost {
        let beyond =
            |(modelled, measured): (f64, f64), speed: f64| ((measured - modelled).max(0.0) * speed).round() as u64;
        let warm = self.web_measured() - cold * self.idle;
        let (web, db) = if self.shared {
            (beyond((self.web.0 + self.db.0, warm), web_speed), 0)
        } else {
            (beyond((self.web.0, warm), web_speed), beyond(self.db, db_speed))
        };
        EndpointCost {
            endpoint: self.endpoint.clone(),
            web,
            cold: (cold * web_speed).round() as u64,
            db,
        }
    }

    /// Modelled and measured CPU per request of the web host (stone: the
    /// one host).
    fn web_modelled(&self) -> f64 {
        if self.shared {
            self.web.0 + self.db.0
        } else {
            self.web.0
        }
    }

    fn web_measured(&self) -> f64 {
        self.web.1
    }

    /// A host where less was measured than the steps ask: the burn loop
    /// or the accounting is off, and no overhead can say so.
    fn below_model(&self) -> bool {
        if self.shared {
            self.web.1 < self.web.0 + self.db.0
        } else {
            self.web.1 < self.web.0 || self.db.1 < self.db.0
        }
    }
}

/// The web hosts (those of FPM pools) and the database host.
fn roles(t: &Topology) -> Result<(Vec<HostId>, HostId)> {
    let mut web = Vec::new();
    let mut db = None;
    for n in &t.nodes {
        match &n.kind {
            NodeKind::Fpm { .. } if !web.contains(&n.host) => web.push(n.host),
            NodeKind::MySql(_) => db = Some(n.host),
            _ => {}
        }
    }
    Ok((web, db.ok_or_else(|| anyhow!("the era has no database"))?))
}

/// Modelled CPU ns per request of endpoint `i` on the web and the database
/// hosts, at their speeds.
fn modelled(s: &Scenario, i: usize, web_speed: f64, db_speed: f64) -> (f64, f64) {
    let (mut web, mut db) = (0.0, 0.0);
    for w in s.app.monolith_program(i) {
        match w {
            Work::Cpu(d) => web += d.mean(),
            Work::Query(q) => db += q.db_cpu.as_ref().map_or(0.0, |d| d.mean()),
            Work::Begin | Work::Commit(_) => {}
        }
    }
    (web / web_speed, db / db_speed)
}

/// How to calibrate: `lab calibrate`'s options, which `lab validate
/// --calibrate` shares.
pub struct Settings {
    /// The era's label.
    pub era: String,
    /// Each endpoint's rate alone; by the model when `None`.
    pub rate: Option<f64>,
    /// The mix's rate at load; by the endpoints' measurements when `None`.
    pub load_rate: Option<f64>,
    /// Seconds each endpoint, and the mix at load, is driven.
    pub seconds: u64,
    pub quiet: bool,
}

impl From<&CalibrateArgs> for Settings {
    fn from(a: &CalibrateArgs) -> Settings {
        Settings {
            era: a.era.clone(),
            rate: a.rate,
            load_rate: a.load_rate,
            seconds: a.seconds,
            quiet: a.quiet,
        }
    }
}

/// A scenario calibrated on a deployment of one of its eras.
pub struct Calibrated {
    /// The scenario file's text with each endpoint's measured overhead.
    pub text: String,
    /// What changed, key by key.
    pub changes: Vec<calibrate::Change>,
}

impl Calibrated {
    /// Prints what changed, as a diff of `from` against `to`.
    pub fn print_diff(&self, from: &Path, to: &Path) {
        println!("--- {}\n+++ {}", from.display(), to.display());
        for c in &self.changes {
            println!("  {}\n-   {}\n+   {}", c.key, c.before, c.after);
        }
    }
}

/// `lab calibrate`: brings the era up, measures it, tears it down and
/// writes the calibrated scenario.
pub fn calibrate(args: &CalibrateArgs) -> Result<()> {
    let s = scenario::load(&args.scenario)?;
    let era = s
        .select_eras(std::slice::from_ref(&args.era))
        .map_err(|e| UsageError(format!("--era: {e}")))?[0];
    let out = args.out.clone().unwrap_or_else(|| calibrated_name(&args.scenario));
    let text =
        std::fs::read_to_string(&args.scenario).with_context(|| format!("reading {}", args.scenario.display()))?;
    let settings = Settings::from(args);

    let signals = Signals::install();
    if !args.quiet {
        eprintln!("bringing era {} up…", era.label);
    }
    let d = lab_deploy::up(
        &s,
        &era.label,
        &UpOptions {
            out: None,
            signals: Some(signals),
        },
    )
    .with_context(|| format!("bringing era {} of {} up", era.label, args.scenario.display()))?;
    // Where `lab validate` will run it, off the web host's CPU.
    if let Err(e) = d.join_load_generator() {
        eprintln!(
            "warning: the load generator could not move into its cgroup or cpuset (it may run on the hosts' CPUs): {e}"
        );
    }
    let measured = on(&d, signals, &s, era, &text, &settings);
    let teardown = d.tear_down().map_err(|errors| {
        let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow!(
            "teardown left something behind (`lab down` removes it): {}",
            list.join("; ")
        )
    });
    let calibrated = match (measured, teardown) {
        (_, Err(t)) if signals.interrupted() => return Err(t),
        _ if signals.interrupted() => {
            anyhow::bail!("interrupted: the era is torn down and no calibrated file was written")
        }
        (Ok(c), Ok(())) => c,
        (Ok(_), Err(t)) | (Err(t), Ok(())) => return Err(t),
        (Err(e), Err(t)) => {
            eprintln!("error: {t:#}");
            return Err(e);
        }
    };
    // What is written must be a scenario `lab` takes.
    scenario::parse(&calibrated.text, &out).with_context(|| {
        format!(
            "the calibrated scenario is not valid, so {} was not written (without --quiet the measured overheads are printed)",
            out.display()
        )
    })?;
    std::fs::write(&out, &calibrated.text).with_context(|| format!("writing {}", out.display()))?;
    calibrated.print_diff(&args.scenario, &out);
    println!(
        "Wrote {} ({} values changed). Validate it with: lab validate {} --era {}",
        out.display(),
        calibrated.changes.len(),
        out.display(),
        era.label
    );
    Ok(())
}

/// Calibrates `era` of `s` (read from `text`) on its deployment `d`: each
/// endpoint alone at low load, then the mix at load; prints what each
/// endpoint cost and returns the rewritten scenario.
pub fn on(
    d: &Deployment,
    signals: Signals,
    s: &Scenario,
    era: &lab_core::scenario::Era,
    text: &str,
    args: &Settings,
) -> Result<Calibrated> {
    let t = era.topology();
    let (web_hosts, db_host) = roles(&t)?;
    let web_speed = t.host(web_hosts[0]).speed;
    let db_speed = t.host(db_host).speed;
    let shared = web_hosts.contains(&db_host);
    let host_cores = f64::from(t.host(web_hosts[0]).cores);
    let web_cores: f64 = web_hosts.iter().map(|h| f64::from(t.host(*h).cores)).sum();
    let file = s.file.display();
    let cgroup = |h: HostId| {
        d.hosts[h.0 as usize].accounting.clone().ok_or_else(|| {
            anyhow!(
                "calibrating reads each host's CPU time from a cgroup v2 cpu.stat, and this machine gives none: {}",
                d.unenforced
                    .as_deref()
                    .unwrap_or("the unified hierarchy is not mounted or not writable")
            )
        })
    };
    let web: Vec<PathBuf> = web_hosts.iter().map(|h| cgroup(*h)).collect::<Result<_>>()?;
    let db = cgroup(db_host)?;
    let hosts: Vec<PathBuf> = if shared {
        web.clone()
    } else {
        web.iter().cloned().chain([db]).collect()
    };
    let idle = idle_rates(&hosts)?;
    let mut costs = Vec::new();
    for (i, e) in s.app.endpoints.iter().enumerate() {
        if signals.interrupted() {
            anyhow::bail!("interrupted");
        }
        let m = modelled(s, i, web_speed, db_speed);
        let rate = args
            .rate
            .unwrap_or_else(|| low_rate(&t, &web_hosts, db_host, m, wall(s, i, m), shared));
        if !args.quiet {
            eprintln!("endpoint {} alone at {rate:.1}/s for {} s…", e.name, args.seconds);
        }
        let mut one = s.clone();
        one.traffic.mix = lab_core::scenario::Mix::constant(vec![(i, 1.0)]);
        let drove =
            drive(&one, rate, args, d, &hosts, signals).with_context(|| format!("driving endpoint {}", e.name))?;
        let o = &drove.record.totals.outcomes;
        let (requests, errors) = (o.total() - o.errors(), o.errors());
        let busy = drove.busy(&idle);
        // A failed request costs a share of the CPU a good one does:
        // more than a few of them and the figure is not the endpoint's.
        if requests == 0 || errors * 100 > (requests + errors) {
            anyhow::bail!(
                "endpoint {}: {errors} of {} requests failed at {rate:.1}/s, where none should: the CPU per request \
                 would be wrong; check the deployment (lab up {file} --era {}) or calibrate at a lower rate \
                 (lab calibrate --rate)",
                e.name,
                requests + errors,
                args.era
            );
        }
        let n = requests as f64;
        let web_busy = busy[..web.len()].iter().sum::<f64>();
        let db_ns = if shared { 0.0 } else { busy[web.len()] / n };
        costs.push(Cost {
            endpoint: e.name.clone(),
            requests,
            errors,
            web: (m.0, web_busy / n),
            db: (m.1, db_ns),
            shared,
            idle: idle_share(web_busy / (args.seconds as f64 * 1e9 * web_cores), host_cores),
        });
    }
    if signals.interrupted() {
        anyhow::bail!("interrupted");
    }
    let cold = at_load(s, &t, &costs, args, d, &hosts, &idle, web.len(), signals)?;
    if signals.interrupted() {
        anyhow::bail!("interrupted");
    }
    let overheads: Vec<EndpointCost> = costs
        .iter()
        .map(|c| c.overhead(web_speed, db_speed, cold.unwrap_or(0.0)))
        .collect();
    if !args.quiet {
        print_costs(&costs, &overheads, shared);
    }
    let (text, changes) = calibrate::rewrite(text, &overheads).with_context(|| format!("rewriting {file}"))?;
    Ok(Calibrated { text, changes })
}

/// `shop.toml` → `shop.calibrated.toml`, beside it.
pub(crate) fn calibrated_name(p: &Path) -> PathBuf {
    let stem = p
        .file_stem()
        .map_or_else(|| "scenario".into(), |s| s.to_string_lossy().into_owned());
    p.with_file_name(format!("{stem}.calibrated.toml"))
}

/// A rate that keeps the busiest host, and the PHP workers, at
/// [`LOW_LOAD`] by the model: queues stay short, so the CPU per request is
/// the endpoint's own. `wall_ns` is a request's modelled time in a worker
/// (its CPU and its waits), which bounds the rate of a slow endpoint.
fn low_rate(t: &Topology, web: &[HostId], db: HostId, (web_ns, db_ns): (f64, f64), wall_ns: f64, shared: bool) -> f64 {
    let cores = |h: HostId| f64::from(t.host(h).cores);
    let web_cores: f64 = web.iter().map(|h| cores(*h)).sum();
    let per_req = |ns: f64, cores: f64| if ns > 0.0 { cores * 1e9 / ns } else { f64::INFINITY };
    let workers = f64::from(t.fpm_workers());
    let capacity = if shared {
        per_req(web_ns + db_ns, web_cores)
    } else {
        per_req(web_ns, web_cores).min(per_req(db_ns, cores(db)))
    }
    .min(per_req(wall_ns, workers));
    (capacity * LOW_LOAD).clamp(0.5, 100.0)
}

/// A request's modelled time in its PHP worker, ns: its CPU at the hosts'
/// speeds and its queries' waits (lock waits and round trips left out).
fn wall(s: &Scenario, i: usize, (web_ns, db_ns): (f64, f64)) -> f64 {
    let waits: f64 = s
        .app
        .monolith_program(i)
        .iter()
        .map(|w| match w {
            Work::Query(q) => q.db_wait.as_ref().map_or(0.0, |d| d.mean()),
            Work::Commit(d) => d.mean(),
            Work::Cpu(_) | Work::Begin => 0.0,
        })
        .sum();
    web_ns + db_ns + waits
}

/// Each host's background CPU (ns a second) while nothing is sent.
fn idle_rates(hosts: &[PathBuf]) -> Result<Vec<f64>> {
    let before = read_all(hosts)?;
    let started = Instant::now();
    std::thread::sleep(IDLE);
    let after = read_all(hosts)?;
    let secs = started.elapsed().as_secs_f64();
    Ok(before
        .iter()
        .zip(&after)
        .map(|(b, a)| a.saturating_sub(*b) as f64 / secs)
        .collect())
}

fn read_all(hosts: &[PathBuf]) -> Result<Vec<u64>> {
    hosts
        .iter()
        .map(|h| cpu_ns(h).ok_or_else(|| anyhow!("cannot read the CPU time of cgroup {}", h.display())))
        .collect()
}

/// What a drive gave.
struct Drove {
    record: lab_core::record::Record,
    /// Each host's CPU ns over the drive.
    cpu: Vec<f64>,
    /// The drive's seconds.
    secs: f64,
}

impl Drove {
    /// Each host's CPU ns over the drive less its background (`idle`, ns a
    /// second).
    fn busy(&self, idle: &[f64]) -> Vec<f64> {
        self.cpu
            .iter()
            .zip(idle)
            .map(|(ns, idle)| (ns - idle * self.secs).max(0.0))
            .collect()
    }
}

/// Drives `one` (a scenario whose mix is what is measured) at `rate` for
/// `--seconds`.
fn drive(
    one: &Scenario,
    rate: f64,
    args: &Settings,
    d: &Deployment,
    hosts: &[PathBuf],
    signals: Signals,
) -> Result<Drove> {
    let mut one = one.clone();
    one.traffic.workload = Workload::Open(RateProfile::constant(rate));
    one.duration = Duration::from_secs(args.seconds).as_nanos() as u64;
    one.stats.warmup = 0;
    let allowed: Vec<std::net::IpAddr> = d.vip().map(Into::into).into_iter().collect();
    let mut plan =
        Plan::new(Target::with_allowed(&d.url(), &allowed).map_err(|e| anyhow!("the deployment's address: {e}"))?);
    plan.era = args.era.clone();
    plan.stop = Some(Box::new(move || signals.interrupted()));
    let before = read_all(hosts)?;
    let started = Instant::now();
    let record = lab_deploy::netns::run_in(d.client_netns(), || {
        lab_loadgen::drive(&one, plan, &mut Bar::new(args.quiet))
    })??;
    let secs = started.elapsed().as_secs_f64();
    let after = read_all(hosts)?;
    let cpu = before
        .iter()
        .zip(&after)
        .map(|(b, a)| a.saturating_sub(*b) as f64)
        .collect();
    Ok(Drove { record, cpu, secs })
}

/// Share of requests that find a core of a host with `cores` cores idle,
/// at utilisation `u` (0–1): one less the chance that every core is busy
/// when a request arrives, Erlang C at an offered load of `cores × u`
/// (Poisson arrivals see time averages): 1 − u on one core.
fn idle_share(u: f64, cores: f64) -> f64 {
    let u = u.clamp(0.0, 1.0);
    if u >= 1.0 {
        return 0.0;
    }
    let c = cores.max(1.0).round() as u32;
    let a = f64::from(c) * u;
    // Erlang B by its recursion, then C.
    let b = (1..=c).fold(1.0, |b, k| a * b / (f64::from(k) + a * b));
    1.0 - b / (1.0 - u * (1.0 - b))
}

/// The cold extra of a request on an idle web host, host ns, from the
/// endpoints alone at low load and the mix at a high one. Each request of
/// endpoint e costs `warm_e + cold × idle` (idle: the share of requests
/// that find a core idle). `low`: per endpoint, (requests of it in the
/// high-load run, its ns per request alone, the idle share then);
/// `high_ns`, `high_idle`: the high-load run's web CPU and idle share.
/// So `high_ns = Σ n_e (ns_e − cold × idle_e) + cold × high_idle × N`.
/// None when the two loads left the host idle about as often (no slope to
/// read); never below 0.
fn fit_cold(low: &[(f64, f64, f64)], high_ns: f64, high_idle: f64) -> Option<f64> {
    let n: f64 = low.iter().map(|l| l.0).sum();
    let expected: f64 = low.iter().map(|(n, ns, _)| n * ns).sum();
    let spread: f64 = low.iter().map(|(n, _, idle)| n * idle).sum::<f64>() - high_idle * n;
    (n > 0.0 && spread > 0.1 * n).then(|| ((expected - high_ns) / spread).max(0.0))
}

/// The second pass: the scenario's mix at [`HIGH_LOAD`] of the capacity
/// the endpoints' measurements give (or `--load-rate`), and the cold extra
/// fitted from it (host ns; None when it cannot be told, and the
/// overheads are then the low load's).
#[allow(clippy::too_many_arguments)]
fn at_load(
    s: &Scenario,
    t: &Topology,
    costs: &[Cost],
    args: &Settings,
    d: &Deployment,
    hosts: &[PathBuf],
    idle: &[f64],
    web_hosts: usize,
    signals: Signals,
) -> Result<Option<f64>> {
    let mix = s.traffic.mean_mix(s.duration);
    let per_request = |f: &dyn Fn(&Cost) -> f64| -> f64 {
        mix.iter()
            .map(|&(i, w)| {
                costs
                    .iter()
                    .find(|c| c.endpoint == s.app.endpoints[i].name)
                    .map_or(0.0, |c| w * f(c))
            })
            .sum()
    };
    let (web_ids, db_host) = roles(t)?;
    let web_cores: f64 = web_ids.iter().map(|h| f64::from(t.host(*h).cores)).sum();
    let host_cores = f64::from(t.host(web_ids[0]).cores);
    let per = |ns: f64, cores: f64| if ns > 0.0 { cores * 1e9 / ns } else { f64::INFINITY };
    let mut capacity = per(per_request(&|c| c.web.1), web_cores);
    if !costs.first().is_some_and(|c| c.shared) {
        capacity = capacity.min(per(per_request(&|c| c.db.1), f64::from(t.host(db_host).cores)));
    }
    // And what the PHP workers can hold of requests that wait.
    let wall_ns = |c: &Cost| {
        let i = s.app.endpoints.iter().position(|e| e.name == c.endpoint).unwrap_or(0);
        wall(s, i, (c.web.1, c.db.1))
    };
    capacity = capacity.min(per(per_request(&wall_ns), f64::from(t.fpm_workers())));
    let rate = args
        .load_rate
        .unwrap_or_else(|| (capacity * HIGH_LOAD).clamp(0.5, 2_000.0));
    if !args.quiet {
        eprintln!("the mix at {rate:.1}/s for {} s (warm against cold)…", args.seconds);
    }
    // The mean mix throughout: the scenario's own may change over its run,
    // and only its first seconds would be driven.
    let mut mixed = s.clone();
    mixed.traffic.mix = lab_core::scenario::Mix::constant(mix.clone());
    let drove = drive(&mixed, rate, args, d, hosts, signals).context("driving the mix at load")?;
    if signals.interrupted() {
        return Ok(None);
    }
    let r = &drove.record;
    let o = &r.totals.outcomes;
    let (ok, errors) = (o.total() - o.errors(), o.errors());
    if ok == 0 || errors * 100 > ok + errors {
        eprintln!(
            "warning: {errors} of {} requests of the mix at {rate:.1}/s failed: the overheads are the low load's, \
             with no cold extra (give a lower --load-rate)",
            ok + errors
        );
        return Ok(None);
    }
    let web_busy: f64 = drove.busy(idle)[..web_hosts].iter().sum();
    // Over the traffic's seconds: the drive's wall time also holds the
    // load generator's start and drain, when the host idles.
    let high_idle = idle_share(web_busy / (args.seconds as f64 * 1e9 * web_cores), host_cores);
    let low: Vec<(f64, f64, f64)> = costs
        .iter()
        .map(|c| {
            let n = r
                .endpoints
                .iter()
                .position(|e| *e == c.endpoint)
                .and_then(|i| r.endpoint_totals(i))
                .map_or(0.0, |e| e.outcomes[lab_core::record::OutcomeId::OK] as f64);
            (n, c.web_measured(), c.idle)
        })
        .collect();
    let fitted = fit_cold(&low, web_busy, high_idle).map(|cold| {
        // No endpoint's warm cost below what its steps burn (among those
        // the mix sends and that were not measured below their steps
        // already, which `print_costs` reports), and no more than an
        // overhead may be.
        costs
            .iter()
            .zip(&low)
            .filter(|(c, l)| c.idle > 0.0 && l.0 > 0.0 && !c.below_model())
            .map(|(c, _)| ((c.web_measured() - c.web_modelled()) / c.idle).max(0.0))
            .fold(cold, f64::min)
            .min(limits::MAX_OVERHEAD_NS as f64 / t.host(web_ids[0]).speed)
    });
    if !args.quiet {
        let n: f64 = low.iter().map(|l| l.0).sum();
        eprintln!(
            "  {:.0} % of requests found the web host busy (by its utilisation), {:.2} ms of its CPU a request (alone at low load: {:.2} ms) → cold extra {}",
            100.0 * (1.0 - high_idle),
            web_busy / n.max(1.0) / 1e6,
            low.iter().map(|(n, ns, _)| n * ns).sum::<f64>() / n.max(1.0) / 1e6,
            fitted.map_or("not told apart".to_string(), |c| format!("{:.2} ms", c / 1e6)),
        );
    }
    Ok(fitted)
}

fn print_costs(costs: &[Cost], overheads: &[EndpointCost], shared: bool) {
    let ms = |ns: f64| format!("{:.2} ms", ns / 1e6);
    let at1 = |ns: u64| format!("{:.2} ms", ns as f64 / 1e6);
    println!(
        "CPU per request on the hosts: the steps' as modelled → measured alone at low load; the overhead at speed 1:"
    );
    if let Some(o) = overheads.first().filter(|o| o.cold > 0) {
        println!(
            "  (web overheads are warm: a request that finds a core of the web host idle pays {} more)",
            at1(o.cold)
        );
    }
    for (c, o) in costs.iter().zip(overheads) {
        if shared {
            println!(
                "  {:12} server {} → {} (overhead {})   {} requests, {} errors",
                c.endpoint,
                ms(c.web.0 + c.db.0),
                ms(c.web.1),
                at1(o.web),
                c.requests,
                c.errors
            );
        } else {
            println!(
                "  {:12} web {} → {} (overhead {})   db {} → {} (overhead {})   {} requests, {} errors",
                c.endpoint,
                ms(c.web.0),
                ms(c.web.1),
                at1(o.web),
                ms(c.db.0),
                ms(c.db.1),
                at1(o.db),
                c.requests,
                c.errors
            );
        }
        if c.below_model() {
            println!(
                "    warning: a host spent less than the steps ask; its overhead is left at 0 (is the host's CPU shared with something else?)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two endpoints whose warm costs are 4 and 6 ms and whose cold extra
    /// is 1 ms, measured alone with the host idle 80 % and 70 % of the
    /// time, then mixed 3:1 at a load where 20 % of requests find it idle.
    #[test]
    fn the_cold_extra_is_read_from_two_loads() {
        let ms = 1e6;
        let (warm, cold) = ([4.0 * ms, 6.0 * ms], 1.0 * ms);
        let alone = [warm[0] + cold * 0.8, warm[1] + cold * 0.7];
        let (n, high_idle) = ([300.0, 100.0], 0.2);
        let high_ns = n[0] * (warm[0] + cold * high_idle) + n[1] * (warm[1] + cold * high_idle);
        let low = [(n[0], alone[0], 0.8), (n[1], alone[1], 0.7)];
        let fitted = fit_cold(&low, high_ns, high_idle).unwrap();
        assert!((fitted - cold).abs() < 1.0, "{fitted}");
        // A host that costs more per request when busy has no cold extra.
        assert_eq!(fit_cold(&low, high_ns * 1.5, high_idle), Some(0.0));
        // Loads as idle as each other tell nothing apart.
        assert_eq!(fit_cold(&low, high_ns, 0.76), None);
        assert_eq!(fit_cold(&[], 0.0, 0.2), None);
    }

    #[test]
    fn the_idle_share_is_one_minus_erlang_c() {
        assert!((idle_share(0.3, 1.0) - 0.7).abs() < 1e-12);
        // M/M/2 at ρ = 0.5: C(2, 1) = 1/3; M/M/4 at ρ = 0.7: C(4, 2.8) ≈ 0.4287.
        assert!((idle_share(0.5, 2.0) - 2.0 / 3.0).abs() < 1e-12);
        assert!((idle_share(0.7, 4.0) - (1.0 - 0.428_7)).abs() < 1e-4);
        assert_eq!(idle_share(1.2, 1.0), 0.0);
        assert_eq!(idle_share(-0.1, 4.0), 1.0);
    }

    #[test]
    fn the_warm_overhead_leaves_out_what_the_cold_extra_explains() {
        let c = Cost {
            endpoint: "page".into(),
            requests: 100,
            errors: 0,
            web: (4.0e6, 5.6e6),
            db: (1.0e6, 1.2e6),
            shared: false,
            idle: 0.8,
        };
        // 5.6 ms measured with the host idle 80 % of the time and a cold
        // extra of 1 ms: warm 4.8 ms, 0.8 ms beyond the steps; at speed
        // 0.5 the host's ns are half as many at speed 1.
        let o = c.overhead(0.5, 1.0, 1.0e6);
        assert_eq!(o.web, 400_000);
        assert_eq!(o.cold, 500_000);
        assert_eq!(o.db, 200_000);
        assert_eq!(c.overhead(1.0, 1.0, 0.0).cold, 0);
        assert_eq!(c.overhead(1.0, 1.0, 0.0).web, 1_600_000);
    }
}
