//! `lab calibrate`: each endpoint alone at low load on the real stack,
//! its CPU per request on the web and database hosts read from their
//! cgroups, and a scenario file written whose endpoints carry what the
//! stack costs beyond their steps as their `overhead`
//! (`lab_core::scenario::calibrate` says why not scaled steps).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use lab_core::scenario::calibrate::{self, EndpointCost};
use lab_core::scenario::{self, RateProfile, Scenario, Work, Workload};
use lab_core::topology::{HostId, NodeKind, Topology};
use lab_deploy::{Deployment, Signals, UpOptions};
use lab_loadgen::{Bar, Plan, Target};

use crate::gauges::cpu_ns;
use crate::{CalibrateArgs, UsageError};

/// How long the idle machine is watched for the hosts' background CPU.
const IDLE: Duration = Duration::from_secs(2);
/// Share of the busiest host's capacity the low load may take.
const LOW_LOAD: f64 = 0.2;

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
}

impl Cost {
    /// The overhead at speed 1: what was measured beyond the steps, in
    /// host time, times the host's speed. Stone's one host cannot tell the
    /// web's share from the database's: all of it is the web's, where the
    /// request starts.
    fn overhead(&self, web_speed: f64, db_speed: f64) -> EndpointCost {
        let beyond =
            |(modelled, measured): (f64, f64), speed: f64| ((measured - modelled).max(0.0) * speed).round() as u64;
        let (web, db) = if self.shared {
            (beyond((self.web.0 + self.db.0, self.web.1), web_speed), 0)
        } else {
            (beyond(self.web, web_speed), beyond(self.db, db_speed))
        };
        EndpointCost {
            endpoint: self.endpoint.clone(),
            web,
            db,
        }
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

pub fn calibrate(args: &CalibrateArgs) -> Result<()> {
    let s = scenario::load(&args.scenario)?;
    let era = s
        .select_eras(std::slice::from_ref(&args.era))
        .map_err(|e| UsageError(format!("--era: {e}")))?[0];
    let t = era.topology();
    let (web_hosts, db_host) = roles(&t)?;
    let web_speed = t.host(web_hosts[0]).speed;
    let db_speed = t.host(db_host).speed;
    let shared = web_hosts.contains(&db_host);
    let out = args.out.clone().unwrap_or_else(|| calibrated_name(&args.scenario));
    let text =
        std::fs::read_to_string(&args.scenario).with_context(|| format!("reading {}", args.scenario.display()))?;

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
    let measured = (|| {
        let cgroup =
            |h: HostId| {
                d.hosts[h.0 as usize].accounting.clone().ok_or_else(|| {
                anyhow!(
                    "calibrating reads each host's CPU time from a cgroup v2 cpu.stat, and this machine gives none: {}",
                    d.unenforced.as_deref().unwrap_or("the unified hierarchy is not mounted or not writable")
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
            let m = modelled(&s, i, web_speed, db_speed);
            let rate = args
                .rate
                .unwrap_or_else(|| low_rate(&t, &web_hosts, db_host, m, wall(&s, i, m), shared));
            if !args.quiet {
                eprintln!("endpoint {} alone at {rate:.1}/s for {} s…", e.name, args.seconds);
            }
            let Drove {
                ok: requests,
                errors,
                cpu,
            } = drive_one(&s, i, rate, args, &d, &hosts, signals)?;
            let busy: Vec<f64> = cpu
                .iter()
                .zip(&idle)
                .map(|((ns, secs), idle)| (ns - idle * secs).max(0.0))
                .collect();
            // A failed request costs a share of the CPU a good one does:
            // more than a few of them and the figure is not the endpoint's.
            if requests == 0 || errors * 100 > (requests + errors) {
                anyhow::bail!(
                    "endpoint {}: {errors} of {} requests failed at {rate:.1}/s, where none should: the CPU per request \
                     would be wrong; check the deployment (lab up {} --era {}) or lower --rate",
                    e.name,
                    requests + errors,
                    args.scenario.display(),
                    args.era
                );
            }
            let n = requests as f64;
            let web_ns = busy[..web.len()].iter().sum::<f64>() / n;
            let db_ns = if shared { 0.0 } else { busy[web.len()] / n };
            costs.push(Cost {
                endpoint: e.name.clone(),
                requests,
                errors,
                web: (m.0, web_ns),
                db: (m.1, db_ns),
                shared,
            });
        }
        Ok::<_, anyhow::Error>(costs)
    })();
    let teardown = d.tear_down().map_err(|errors| {
        let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow!("teardown left something behind: {}", list.join("; "))
    });
    let costs = measured?;
    teardown?;
    if signals.interrupted() {
        anyhow::bail!("interrupted: the era is torn down and no calibrated file was written");
    }

    let overheads: Vec<EndpointCost> = costs.iter().map(|c| c.overhead(web_speed, db_speed)).collect();
    print_costs(&costs, &overheads, shared);
    let (calibrated, changes) =
        calibrate::rewrite(&text, &overheads).with_context(|| format!("rewriting {}", args.scenario.display()))?;
    // What is written must be a scenario `lab` takes.
    scenario::parse(&calibrated, &out).with_context(|| {
        format!(
            "the calibrated scenario is not valid, so {} was not written (the measured overheads are above)",
            out.display()
        )
    })?;
    std::fs::write(&out, &calibrated).with_context(|| format!("writing {}", out.display()))?;
    println!("--- {}\n+++ {}", args.scenario.display(), out.display());
    for c in &changes {
        println!("  {}\n-   {}\n+   {}", c.key, c.before, c.after);
    }
    println!(
        "Wrote {} ({} values changed). Validate it with: lab validate {} --era {}",
        out.display(),
        changes.len(),
        out.display(),
        era.label
    );
    Ok(())
}

/// `shop.toml` → `shop.calibrated.toml`, beside it.
fn calibrated_name(p: &Path) -> PathBuf {
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

/// What driving one endpoint alone gave.
struct Drove {
    ok: u64,
    errors: u64,
    /// Each host's CPU ns over the drive, and the drive's seconds.
    cpu: Vec<(f64, f64)>,
}

/// Drives endpoint `i` alone.
fn drive_one(
    s: &Scenario,
    i: usize,
    rate: f64,
    args: &CalibrateArgs,
    d: &Deployment,
    hosts: &[PathBuf],
    signals: Signals,
) -> Result<Drove> {
    let mut one = s.clone();
    one.traffic.workload = Workload::Open(RateProfile::constant(rate));
    one.traffic.mix = lab_core::scenario::Mix::constant(vec![(i, 1.0)]);
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
    })?
    .with_context(|| format!("driving endpoint {}", s.app.endpoints[i].name))?;
    let secs = started.elapsed().as_secs_f64();
    let after = read_all(hosts)?;
    let o = &record.totals.outcomes;
    let cpu = before
        .iter()
        .zip(&after)
        .map(|(b, a)| (a.saturating_sub(*b) as f64, secs))
        .collect();
    Ok(Drove {
        ok: o.total() - o.errors(),
        errors: o.errors(),
        cpu,
    })
}

fn print_costs(costs: &[Cost], overheads: &[EndpointCost], shared: bool) {
    let ms = |ns: f64| format!("{:.2} ms", ns / 1e6);
    let at1 = |ns: u64| format!("{:.2} ms", ns as f64 / 1e6);
    println!("CPU per request on the hosts: the steps' as modelled → measured; the overhead at speed 1:");
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
