//! A whole plan: for each era, its capacity and the cheapest configuration
//! that meets the target.

use lab_core::scenario::{Architecture, Era, KnobRanges, Scenario, Workload};
use serde::Serialize;

use crate::PlanError;
use crate::capacity::{self, Bound, Capacity};
use crate::cheapest::{self, Candidate, Cheapest};
use crate::knobs::{self, Knob, Space, cost};
use crate::load::Load;
use crate::point::Point;
use crate::{fragment, theory};

/// What a plan is asked.
#[derive(Clone, Debug)]
pub struct Options {
    pub replications: u32,
    pub tolerance: f64,
    /// The target as a multiplier of the traffic (1: the scenario's own).
    pub target: f64,
    /// Where the target comes from, for people: `--target 5000/s`.
    pub target_source: String,
    pub ranges: KnobRanges,
    /// Search the cheapest configuration too (not only the capacity).
    pub cheapest: bool,
    pub steady: bool,
}

/// What the plan found for one era.
#[derive(Clone, Debug, Serialize)]
pub struct EraPlan {
    pub era: String,
    pub model: String,
    /// The era as the scenario gives it: its cost.
    pub cost: f64,
    pub capacity: Capacity,
    /// Queueing theory's answer beside the simulation's, where it applies.
    pub analytic: Option<Analytic>,
    pub cheapest: Option<Cheapest>,
    /// The winner as the era's table to paste (or, when the scenario's
    /// file could not be rewritten, as keys to set in it).
    pub fragment: Option<String>,
    /// The whole scenario with the winner written in, ready for `lab run`.
    #[serde(skip)]
    pub scenario_file: Option<String>,
    /// Requests simulated for this era, and the wall time it took.
    pub requests: u64,
    pub seconds: f64,
}

/// Theory's figure beside the simulated one: Erlang C's capacity for an
/// open model at a steady rate, MVA's throughput at the capacity's users
/// for a closed one.
#[derive(Clone, Debug, Serialize)]
pub struct Analytic {
    /// `Erlang C` or `MVA`.
    pub method: String,
    /// The M/M/c queue the era is: servers, and jobs a second each.
    pub servers: u32,
    pub service_rate: f64,
    /// What theory gives: the capacity (arrivals a second) or the
    /// throughput (responses a second).
    pub analytic: f64,
    /// The same, simulated.
    pub simulated: f64,
    /// `simulated / analytic - 1`.
    pub difference: f64,
    /// Whether the analytic figure lies in the simulated one's 95 %
    /// interval (Erlang C), or within the sampling error of the throughput
    /// (MVA: 3 %).
    pub agrees: bool,
}

/// The plan of every era asked.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub scenario: String,
    pub replications: u32,
    pub tolerance: f64,
    pub steady: bool,
    /// The target: multiplier, offered load and its unit, and its source.
    pub target_multiplier: f64,
    pub target_offered: f64,
    pub unit: String,
    pub target_source: String,
    /// The phase whose windows give utilisation and bottlenecks.
    pub busiest_phase: String,
    pub eras: Vec<EraPlan>,
}

/// Something to show while a plan runs.
pub enum Progress<'a> {
    Capacity(&'a Point),
    Candidate(usize, &'a Candidate),
}

/// Plans `era` of the scenario behind `load`.
pub fn plan_era(
    load: &Load,
    era: &Era,
    o: &Options,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<EraPlan, PlanError> {
    let started = std::time::Instant::now();
    let capacity = capacity::search(load, era, o.replications, o.tolerance, &mut |p| {
        progress(Progress::Capacity(p))
    })?;
    let mut requests: u64 = capacity.points.iter().map(|p| p.requests).sum();
    let analytic = analytic(load, era, &capacity);
    let (cheapest, fragment) = if o.cheapest {
        let mut space = Space::of(era, &o.ranges);
        if !knobs::queries(&load.base().app) {
            space = space.without(&Knob::MaxConnections);
        }
        let c = cheapest::search(load, era, &space, o.target, o.replications, &mut |n, c| {
            progress(Progress::Candidate(n, c))
        })?;
        requests += c.requests;
        let fragment = c.winner.as_ref().map(|w| {
            let planned = fragment::Planned {
                multiplier: o.target,
                steady: o.steady.then(|| load.offered(o.target)),
                seed: load.base().seed,
            };
            written(
                load.base(),
                &space.apply(era, &w.config),
                &space,
                era,
                planned,
                o.replications,
            )
        });
        (Some(c), fragment)
    } else {
        (None, None)
    };
    let (fragment, scenario_file) = fragment.unzip();
    Ok(EraPlan {
        era: era.label.clone(),
        model: era.arch.model().into(),
        cost: cost(era).0,
        capacity,
        analytic,
        cheapest,
        fragment,
        scenario_file: scenario_file.flatten(),
        requests,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The cross-check where theory applies ([`theory::mmc`]): Erlang C at a
/// steady rate (a profile that changes is no stationary queue), MVA for a
/// closed model.
fn analytic(load: &Load, era: &Era, c: &Capacity) -> Option<Analytic> {
    let s = load.base();
    let m = theory::mmc(s, era)?;
    let of = |method: &str, analytic: f64, simulated: f64, agrees: bool| Analytic {
        method: method.into(),
        servers: m.servers,
        service_rate: m.service_rate,
        analytic,
        simulated,
        difference: simulated / analytic - 1.0,
        agrees,
    };
    match &s.traffic.workload {
        Workload::Open(p) => {
            let steady = p.points().iter().all(|&(_, r)| r == p.peak());
            if !steady || !matches!(c.bound, Bound::Converged | Bound::Wide) {
                return None;
            }
            let rate = theory::slo_capacity(&m, &s.slo)?;
            // An unbounded queue in theory, a listen backlog in the
            // simulator: at a capacity with a long queue (a loose SLO) the
            // backlog overflows, and the refused requests leave the
            // latency figures. Theory then answers another question.
            let host = match &era.arch {
                Architecture::Stone { host, .. } => host,
                Architecture::Bronze { web, .. } => web,
                _ => return None,
            };
            let room = era.arch.stack().fpm.backlog(host.kernel.somaxconn).saturating_add(2);
            if theory::queue_exceeds(&m, rate, room) > OVERFLOW {
                return None;
            }
            Some(of(
                "Erlang C",
                rate,
                c.offered,
                (c.offered_low..=c.offered_high).contains(&rate),
            ))
        }
        Workload::Closed { think, .. } => {
            // The point run nearest the capacity, and theory at its users.
            let p = c
                .points
                .iter()
                .filter(|p| p.holds())
                .max_by(|a, b| a.multiplier.total_cmp(&b.multiplier))?;
            let users = p.offered.round() as u32;
            let (x, _) = theory::mva(&m, users, think.mean() / 1e9);
            let d = p.throughput_rps / x - 1.0;
            Some(of("MVA", x, p.throughput_rps, d.abs() <= MVA_AGREES))
        }
    }
}

impl Analytic {
    /// The cross-check in one sentence.
    pub fn sentence(&self) -> String {
        let queue = format!(
            "M/M/{} at μ = {}/s a server",
            self.servers,
            lab_core::record::thousands(self.service_rate)
        );
        let diff = format!("{:+.1} %", self.difference * 100.0);
        match self.method.as_str() {
            "Erlang C" => format!(
                "Erlang C ({queue}): the SLO holds up to {:.1}/s; simulated {:.1}/s ({diff}), {} the simulated interval",
                self.analytic,
                self.simulated,
                if self.agrees { "within" } else { "outside" }
            ),
            _ => format!(
                "MVA ({queue}): {:.1} responses/s at the capacity's users; simulated {:.1}/s ({diff}), {}",
                self.analytic,
                self.simulated,
                if self.agrees {
                    "agreeing within 3 %"
                } else {
                    "more than 3 % apart"
                }
            ),
        }
    }
}

/// The chance of a full backlog at the analytic capacity past which
/// theory's unbounded queue is not the simulator's.
pub const OVERFLOW: f64 = 1e-4;

/// How far a simulated throughput may lie from MVA's and still agree: a
/// run's throughput is a mean over thousands of requests, within a few
/// per cent of its expectation.
pub const MVA_AGREES: f64 = 0.03;

/// Plans every era in `eras`.
pub fn plan(
    scenario: &Scenario,
    eras: &[&Era],
    o: &Options,
    progress: &mut dyn FnMut(&str, Progress<'_>),
) -> Result<Plan, PlanError> {
    let load = Load::new(scenario, o.steady)?;
    let mut out = Vec::new();
    for era in eras {
        out.push(plan_era(&load, era, o, &mut |p| progress(&era.label, p))?);
    }
    Ok(Plan {
        scenario: scenario.name.clone(),
        replications: o.replications,
        tolerance: o.tolerance,
        steady: o.steady,
        target_multiplier: o.target,
        target_offered: load.offered(o.target),
        unit: load.unit_name().into(),
        target_source: o.target_source.clone(),
        busiest_phase: load.busiest.name.clone(),
        eras: out,
    })
}

/// The winner's keys in `[eras.<label>]`: the era's table as it reads with
/// them set in the scenario's file, and that whole file with the traffic
/// and seed the plan ran (`planned`), so that `lab run` with the plan's
/// `replications` checks the winner as it was chosen (`None` when the
/// file cannot be read, is not TOML or does not validate once rewritten:
/// the keys are then given as dotted lines alone).
pub fn written(
    scenario: &Scenario,
    winner: &Era,
    space: &Space,
    base: &Era,
    planned: fragment::Planned,
    replications: u32,
) -> (String, Option<String>) {
    let keys = fragment::keys(winner, space);
    let (was, unit) = cost(base);
    let (now, _) = cost(winner);
    let head = format!(
        "# The cheapest {} found by lab plan: {} (as given: {}).\n",
        winner.label,
        cheapest::money(now, unit),
        cheapest::money(was, unit)
    );
    let rewritten = std::fs::read_to_string(&scenario.file)
        .ok()
        .and_then(|text| fragment::rewrite(&text, &winner.label, &keys, planned).ok())
        .filter(|(whole, _)| lab_core::scenario::parse(whole, &scenario.file).is_ok());
    match rewritten {
        Some((whole, era)) => (
            format!(
                "{head}# Replace the scenario's [eras.{}] with this table.\n{era}",
                winner.label
            ),
            Some(format!(
                "{head}# The traffic and the seed are the plan's ({}). Check the winner with\n\
                 #   lab run <this file> --era {} --replications {replications} --check-slo\n{whole}",
                match planned.steady {
                    Some(r) => format!("a steady {r:.0}/s"),
                    None => format!("the profile at {:.3}× the scenario's", planned.multiplier),
                },
                winner.label
            )),
        ),
        None => (
            format!(
                "{head}# Set these keys in [eras.{}], replacing the ones it has.\n{}",
                winner.label,
                fragment::dotted(&winner.label, &keys)
            ),
            None,
        ),
    }
}
