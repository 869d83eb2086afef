//! The cheapest configuration that meets a target: the era's knobs
//! searched in order of cost, each candidate run at the target with the
//! plan's replications, and meeting it when every replication meets the
//! SLO (as `lab run --replications N --check-slo` asks).
//!
//! Candidates are tried from the cheapest; among equal costs, by the
//! hosts' knobs' places in the grid (nodes, web cores, database cores,
//! each service's nodes and cores), then on one set of hosts with the
//! fewest PHP workers, then MySQL connections, then `pm` in the order the
//! plan lists it: the first that meets the target is the cheapest, and
//! the leanest on its hosts. Two rules skip candidates that cannot meet it, so the
//! search stays far below the grid:
//! - a bound: a candidate whose web or database CPU, a gold service's
//!   CPU, or whose PHP workers by Little's law, would be loaded past what
//!   the SLO can survive (`bound`: a little over 100 % for a stretch much
//!   longer than its latency bound, with both a latency and an error-rate
//!   objective) at the lowest arrival rate of the stretch the SLO is judged
//!   on (the measured run, or its `during` phase), from the steps' mean
//!   demands, is not run;
//! - a saturated resource cannot be fixed by adding another: when a run
//!   fails with a CPU saturated, every candidate with no more of that CPU
//!   fails too; with the workers saturated, every candidate on the same
//!   hosts and `pm` with no more workers; with the connections, every one
//!   on the same hosts, `pm` and workers with no more connections; with a
//!   gold service's workers, every one on the same other hosts with no
//!   more nodes for that service, whatever the front's settings. A run
//!   that fails with nothing saturated teaches only where the front's
//!   workers and MySQL's connections were not short by Erlang C at their
//!   use (a small pool far from full still queues, and more workers may
//!   fix it; a large one does not): then more of both, on the same hosts
//!   and `pm`, would stand idle and fail alike.

use lab_core::scenario::{Architecture, Era, Workload};
use lab_core::sizing;
use serde::Serialize;

use crate::PlanError;
use crate::capacity::knob_for;
use crate::knobs::{Config, Knob, Pricing, Space, cost};
use crate::load::Load;
use crate::point::{Bottleneck, Interval, Point, evaluate, role};

/// Candidates run at most per era: beyond, the search stops and says so.
pub const MAX_EVALUATIONS: usize = 200;
/// Costlier configurations that meet the target shown beside the winner.
pub const ALTERNATIVES: usize = 2;
/// Cheaper configurations that miss it shown beside the winner.
pub const NEAR_MISSES: usize = 3;

/// One configuration run at the target.
#[derive(Clone, Debug, Serialize)]
pub struct Candidate {
    /// Each knob and its value, as `[eras.<label>]` writes it; in JSON an
    /// object from key to value, in the space's order.
    #[serde(serialize_with = "as_object")]
    pub settings: Vec<(String, String)>,
    pub cost: f64,
    pub meets: bool,
    pub slo_load: Interval,
    pub passed: u32,
    pub replications: u32,
    pub p99_ms: Option<f64>,
    pub error_rate: Option<f64>,
    pub bottleneck: Option<Bottleneck>,
    /// Why it is not the winner, or `cheapest` for the winner.
    pub why: String,
    #[serde(skip)]
    pub config: Config,
}

#[derive(Clone, Debug, Serialize)]
pub struct Cheapest {
    /// The target as a multiplier of the scenario's traffic, and as load.
    pub multiplier: f64,
    pub offered: f64,
    pub unit: String,
    /// `/h` (the scenario's prices) or ` cores` (it gives none).
    pub cost_unit: String,
    pub winner: Option<Candidate>,
    /// The next cheapest configurations that meet the target, on other hosts.
    pub alternatives: Vec<Candidate>,
    /// The costliest of the cheaper configurations that missed it.
    pub near_misses: Vec<Candidate>,
    /// Configurations in the grid, run, and skipped by each rule.
    pub grid: u64,
    pub evaluated: usize,
    pub skipped_by_bound: usize,
    pub skipped_by_saturation: usize,
    /// Why the search stopped before finding a winner, if it did.
    pub stopped: Option<String>,
    /// Requests simulated.
    #[serde(skip)]
    pub requests: u64,
}

/// Pairs as a JSON object, in their order: `{"host.cores": "4"}` reads
/// better than `[["host.cores", "4"]]`.
fn as_object<S: serde::Serializer>(pairs: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(pairs.len()))?;
    for (k, v) in pairs {
        m.serialize_entry(k, v)?;
    }
    m.end()
}

/// A rule learnt from a failed candidate.
enum Rule {
    /// Every candidate with at most this much of a CPU role fails.
    Cpu { role: String, room: f64 },
    /// With the knobs `same` at `values`, at least these values of the
    /// workers and connections fail: they were not short ([`roomy`]).
    Roomy {
        same: Vec<usize>,
        values: Vec<u32>,
        at_least: Vec<(usize, u32)>,
    },
    /// With the knobs `same` at `values`, at most `at_most` of knob
    /// `knob` (the workers, the connections, a service's nodes) fails.
    Free {
        same: Vec<usize>,
        values: Vec<u32>,
        knob: usize,
        at_most: u32,
    },
}

/// Searches `space` for the cheapest configuration of `era` meeting the
/// SLO at `multiplier` times the traffic.
pub fn search(
    load: &Load,
    era: &Era,
    space: &Space,
    multiplier: f64,
    replications: u32,
    progress: &mut dyn FnMut(usize, &Candidate),
) -> Result<Cheapest, PlanError> {
    let scenario = load.at(multiplier);
    let pricing = Pricing::of(era, space);
    let (hardware, free) = space.split();
    // Hosts in order of cost (then of their values' places in the ranges);
    // on each, the software settings in their order. Cost depends on the
    // hosts only, so this is the order of the whole grid by cost.
    let full = |hw: &[u32], sw: &[u32]| -> Config {
        let mut c = vec![0; space.knobs.len()];
        hardware.iter().zip(hw).for_each(|(&i, &v)| c[i] = v);
        free.iter().zip(sw).for_each(|(&i, &v)| c[i] = v);
        c
    };
    let place = |i: usize, v: u32| space.values[i].iter().position(|&x| x == v).unwrap_or(0);
    let mut hosts: Vec<(f64, Vec<usize>, Vec<u32>)> = space
        .product(&hardware)
        .into_iter()
        .map(|hw| {
            let c = full(&hw, &vec![0; free.len()]);
            let places = hardware.iter().zip(&hw).map(|(&i, &v)| place(i, v)).collect();
            (pricing.cost(&c), places, hw)
        })
        .collect();
    hosts.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let software = space.product(&free);
    let cost_unit = cost(era).1.to_string();
    let busiest_rate = bound(&scenario);
    // The bound's demands do not depend on the knobs (speeds, round trips
    // and the mix do), so they are read once.
    let demand = sizing::demand(&scenario, era);

    let mut rules: Vec<Rule> = Vec::new();
    let mut out = Cheapest {
        multiplier,
        offered: load.offered(multiplier),
        unit: load.unit_name().into(),
        cost_unit,
        winner: None,
        alternatives: Vec::new(),
        near_misses: Vec::new(),
        grid: space.size(),
        evaluated: 0,
        skipped_by_bound: 0,
        skipped_by_saturation: 0,
        stopped: None,
        requests: 0,
    };
    let mut failed: Vec<Candidate> = Vec::new();
    // What ruled the skipped configurations out, and how many each.
    let mut why_skipped: std::collections::BTreeMap<String, usize> = Default::default();
    'hosts: for (price, _, hw) in &hosts {
        if out.alternatives.len() >= ALTERNATIVES || out.stopped.is_some() {
            break;
        }
        for sw in &software {
            let config = full(hw, sw);
            if let Some((rate, overload)) = busiest_rate
                && let Some(short) = over_bound(space, &config, era, &demand, rate, overload)
            {
                out.skipped_by_bound += 1;
                *why_skipped.entry(short).or_default() += 1;
                continue;
            }
            if let Some(r) = rules.iter().find(|r| ruled_out(r, space, &config, era)) {
                out.skipped_by_saturation += 1;
                *why_skipped.entry(r.why()).or_default() += 1;
                continue;
            }
            if out.evaluated >= MAX_EVALUATIONS {
                out.stopped = Some(format!(
                    "stopped after {MAX_EVALUATIONS} configurations: narrow the [plan] ranges"
                ));
                break 'hosts;
            }
            let candidate = space.apply(era, &config);
            let p = evaluate(load, &candidate, multiplier, replications)?;
            out.evaluated += 1;
            out.requests += p.requests;
            let mut c = candidate_of(space, &config, *price, &p);
            if c.meets {
                match &out.winner {
                    None => {
                        c.why = "cheapest".into();
                        out.winner = Some(c.clone());
                    }
                    Some(w) => {
                        c.why = alternative(&c, w, &out.cost_unit);
                        out.alternatives.push(c.clone());
                    }
                }
                progress(out.evaluated, &c);
                // The leanest settings on these hosts are found: the
                // alternatives are on other hosts.
                continue 'hosts;
            }
            c.why = miss(&c);
            if let Some(rule) = learn(space, &config, &candidate, c.bottleneck.as_ref()) {
                rules.push(rule);
            } else if let Some(rule) = roomy(space, &config, &p) {
                rules.push(rule);
            }
            if out.winner.is_none() {
                failed.push(c.clone());
            }
            progress(out.evaluated, &c);
        }
    }
    if out.winner.is_none() && out.stopped.is_none() {
        let mut reasons: Vec<(String, usize)> = why_skipped.into_iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let reasons: Vec<String> = reasons
            .iter()
            .map(|(w, n)| format!("{} {w}", lab_core::record::thousands(*n as f64)))
            .collect();
        out.stopped = Some(if reasons.is_empty() {
            "no configuration within the ranges meets the target".into()
        } else {
            format!(
                "no configuration within the ranges meets the target: {}; widen the [plan] ranges of what runs short",
                reasons.join(", ")
            )
        });
    }
    failed.sort_by(|a, b| b.cost.total_cmp(&a.cost));
    failed.truncate(NEAR_MISSES);
    out.near_misses = failed;
    Ok(out)
}

fn candidate_of(space: &Space, config: &Config, cost: f64, p: &Point) -> Candidate {
    Candidate {
        settings: space
            .knobs
            .iter()
            .zip(config)
            .map(|(k, &v)| (k.key(), k.show(v)))
            .collect(),
        cost,
        meets: p.all_passed(),
        slo_load: p.slo_load,
        passed: p.passed,
        replications: p.replications,
        p99_ms: p.p99_ms,
        error_rate: p.error_rate,
        bottleneck: p.bottleneck.clone(),
        why: String::new(),
        config: config.clone(),
    }
}

/// Why an alternative that meets the target is not the winner.
fn alternative(c: &Candidate, w: &Candidate, unit: &str) -> String {
    let margin = format!("SLO load {:.2} against {:.2}", c.slo_load.mean, w.slo_load.mean);
    let more_margin = c.slo_load.mean < w.slo_load.mean;
    if c.cost - w.cost < 1e-9 {
        format!(
            "costs the same, {} ({margin}); the winner comes first with fewer nodes and cores where they tie",
            if more_margin { "more margin" } else { "less margin" }
        )
    } else if more_margin {
        format!(
            "costs {} more, for more margin ({margin})",
            money(c.cost - w.cost, unit)
        )
    } else {
        format!("costs {} more", money(c.cost - w.cost, unit))
    }
}

fn miss(c: &Candidate) -> String {
    let mut s = format!(
        "misses the SLO ({} of {} replications met it, SLO load {:.2})",
        c.passed, c.replications, c.slo_load.mean
    );
    if let Some(b) = &c.bottleneck {
        s.push_str(&format!(": {}", b.what));
    }
    s
}

/// A cost as the tables show it.
pub fn money(v: f64, unit: &str) -> String {
    if unit == "/h" {
        format!("{v:.2}{unit}")
    } else if unit == " cores" && v.round() == 1.0 {
        "1 core".into()
    } else {
        format!("{v:.0}{unit}")
    }
}

/// The bound's rate and load: the lowest arrival rate in the stretch the
/// SLO is judged on (its `during` phase, or the measured run), and the
/// load `overload` (demand over capacity) past which the SLO cannot hold
/// there, whatever the randomness.
///
/// At load ρ > 1 from the start of a stretch of length T, the fluid queue
/// delays an arrival at time t by (ρ − 1)t. Every request that arrives once
/// that delay passes L either finishes later than L, fails (refused by a
/// full backlog, timed out) or is still unfinished at the end, which is not
/// judged; the judged ones arrived before T/ρ, and the share of them that
/// either waited past L or failed is 1 − Lρ / ((ρ − 1)T). With a latency
/// objective (q, L) and an error-rate objective e, one of the two fails
/// once that share passes (1 − q) + e, that is when
/// ρ > 1 / (1 − L / ((q − e)T)). Randomness only lengthens a queue that
/// grows on average, and the service time only adds to the wait. Both
/// kinds of objective are needed: with latency alone, a small backlog
/// refuses the excess and keeps the successful requests fast; with errors
/// alone, the excess may wait without failing. `None` without both, or for
/// a closed model.
fn bound(s: &lab_core::Scenario) -> Option<(f64, f64)> {
    let Workload::Open(p) = &s.traffic.workload else {
        return None;
    };
    let e = s.slo.error_rate?;
    let (from, to) = match &s.slo.during {
        Some(ph) => (ph.from, ph.to),
        None => (s.stats.warmup, s.duration),
    };
    let t = (to.saturating_sub(from)) as f64 / 1e9;
    let overload = s
        .slo
        .latency
        .iter()
        .filter_map(|o| {
            let judged = o.percentile.quantile() - e;
            let share = o.max as f64 / 1e9 / (judged * t);
            (judged > 0.0 && share < 1.0).then(|| 1.0 / (1.0 - share))
        })
        .fold(f64::INFINITY, f64::min);
    if !overload.is_finite() {
        return None;
    }
    // The profile is piecewise linear: its least rate in the stretch is at
    // an end or at a point inside.
    let lowest = p
        .points()
        .iter()
        .filter(|(at, _)| (from..to).contains(at))
        .map(|&(_, r)| r)
        .chain([p.rate_at(from), p.rate_at(to.saturating_sub(1))])
        .fold(f64::INFINITY, f64::min);
    Some((lowest, overload))
}

/// The bound of the module's doc: the resource whose load at the stretch's
/// lowest rate would be past `overload`, before any queueing, if one would.
fn over_bound(
    space: &Space,
    config: &Config,
    era: &Era,
    d: &sizing::Demand,
    rate: f64,
    overload: f64,
) -> Option<String> {
    let get = |k: &Knob| f64::from(space.get(config, k).unwrap_or_else(|| k.current(era)));
    let nodes = match &era.arch {
        Architecture::Silver(_) | Architecture::Gold(_) => get(&Knob::Nodes),
        _ => 1.0,
    };
    let (web_cores, db_cores) = match &era.arch {
        Architecture::Stone { .. } => (get(&Knob::HostCores), 0.0),
        _ => (get(&Knob::WebCores), get(&Knob::DbCores)),
    };
    if rate * d.web_cpu >= overload * web_cores * nodes {
        return Some("would need more web CPU than they have".into());
    }
    if db_cores > 0.0 && rate * d.db_cpu >= overload * db_cores {
        return Some("would need more database CPU than they have".into());
    }
    if rate * d.hold >= overload * get(&Knob::MaxChildren) * nodes {
        return Some("would need more PHP workers than they have (Little's law)".into());
    }
    if let Architecture::Gold(g) = &era.arch {
        for (p, &cpu) in g.services.iter().zip(&d.services) {
            let have = get(&Knob::ServiceNodes(p.service.clone())) * get(&Knob::ServiceCores(p.service.clone()));
            if rate * cpu >= overload * have {
                return Some(format!(
                    "would need more CPU for service {} than its nodes have",
                    p.service
                ));
            }
        }
    }
    None
}

/// How much of a CPU role a candidate has: cores times hosts.
fn cpu_room(space: &Space, config: &Config, era: &Era, role: &str) -> Option<f64> {
    let get = |k: &Knob| space.get(config, k).unwrap_or_else(|| k.current(era));
    let silver_like = space.knobs.contains(&Knob::Nodes);
    match role {
        "server.cpu" => Some(f64::from(get(&Knob::HostCores))),
        "web.cpu" if silver_like => Some(f64::from(get(&Knob::WebCores) * get(&Knob::Nodes))),
        "web.cpu" => Some(f64::from(get(&Knob::WebCores))),
        "db.cpu" => Some(f64::from(get(&Knob::DbCores))),
        r => {
            let svc = r.strip_prefix("svc.")?.strip_suffix(".cpu")?.to_string();
            Some(f64::from(
                get(&Knob::ServiceNodes(svc.clone())) * get(&Knob::ServiceCores(svc)),
            ))
        }
    }
}

/// Chance of waiting below which a pool (or MySQL's connections) was not
/// short: a tenth of the share of requests a p99 leaves out.
pub const ROOMY_WAIT: f64 = 1e-3;

/// A run that failed with nothing saturated, where the front's workers and
/// MySQL's connections were not short either: by Erlang C at their use (c
/// servers busy a share u of the time, so an offered load of uc), a
/// request would wait for one with a chance below [`ROOMY_WAIT`]. More of
/// them on the same hosts and `pm` would stand idle, and change nothing.
fn roomy(space: &Space, config: &Config, p: &Point) -> Option<Rule> {
    let mc = space.knobs.iter().position(|k| *k == Knob::MaxChildren)?;
    let nodes = space.get(config, &Knob::Nodes).unwrap_or(1);
    let use_of = |key: &str| p.utilisation_of(key);
    let workers_use = use_of("front.fpm.busy").or_else(|| use_of("fpm.busy"))?;
    let short = |servers: u32, u: f64| {
        servers == 0 || crate::theory::erlang_c(servers, (u * f64::from(servers)).min(f64::from(servers))) >= ROOMY_WAIT
    };
    if short(config[mc] * nodes, workers_use) {
        return None;
    }
    let conns = space.knobs.iter().position(|k| *k == Knob::MaxConnections);
    if let Some(i) = conns
        && short(config[i], use_of("mysql.connections").unwrap_or(0.0))
    {
        return None;
    }
    let same: Vec<usize> = (0..config.len())
        .filter(|&j| !space.knobs[j].free() || space.knobs[j] == Knob::Pm)
        .collect();
    Some(Rule::Roomy {
        values: same.iter().map(|&j| config[j]).collect(),
        same,
        at_least: std::iter::once((mc, config[mc]))
            .chain(conns.map(|i| (i, config[i])))
            .collect(),
    })
}

fn learn(space: &Space, config: &Config, era: &Era, b: Option<&Bottleneck>) -> Option<Rule> {
    let b = b?;
    let r = role(&b.gauge);
    if r.ends_with(".cpu") && !r.starts_with("lb") {
        return Some(Rule::Cpu {
            room: cpu_room(space, config, era, &r)?,
            role: r,
        });
    }
    // Nothing saturated, or nothing a knob gives (a lock, a balancer's
    // queue): no rule. Even a pool far from full queues when it is small,
    // so other settings on the same hosts may still meet the target.
    let knob = knob_for(&b.gauge, era)?;
    if let Knob::ServiceNodes(_) = knob {
        // A service's pool: the front's settings do not reach it, and
        // fewer of its nodes on the same hosts elsewhere do no better.
        let i = space.knobs.iter().position(|k| *k == knob)?;
        let same: Vec<usize> = (0..config.len())
            .filter(|&j| j != i && !space.knobs[j].free())
            .collect();
        return Some(Rule::Free {
            values: same.iter().map(|&j| config[j]).collect(),
            same,
            knob: i,
            at_most: config[i],
        });
    }
    if !knob.free() {
        return None;
    }
    let i = space.knobs.iter().position(|k| *k == knob)?;
    // What else must match: the hosts, and the pool's manager (a dynamic
    // pool that forks too slowly is not a static one); for connections,
    // the workers that ask for them too.
    let same: Vec<usize> = (0..config.len())
        .filter(|&j| {
            j != i
                && (!space.knobs[j].free()
                    || space.knobs[j] == Knob::Pm
                    || (knob == Knob::MaxConnections && space.knobs[j] == Knob::MaxChildren))
        })
        .collect();
    Some(Rule::Free {
        values: same.iter().map(|&j| config[j]).collect(),
        same,
        knob: i,
        at_most: config[i],
    })
}

impl Rule {
    /// The rule in words, for the count of what it skipped.
    fn why(&self) -> String {
        match self {
            Rule::Cpu { role, room } => format!(
                "have no more {} CPU than the {room} cores that saturated",
                role.trim_end_matches(".cpu")
            ),
            Rule::Roomy { .. } => {
                "have more PHP workers and MySQL connections than a run where they were not short and that failed"
                    .into()
            }
            Rule::Free { .. } => {
                "have no more PHP workers (or MySQL connections, or a service's nodes) than a run where they ran out"
                    .into()
            }
        }
    }
}

fn ruled_out(rule: &Rule, space: &Space, config: &Config, era: &Era) -> bool {
    match rule {
        Rule::Cpu { role, room } => cpu_room(space, config, era, role).is_some_and(|h| h <= *room),
        Rule::Free {
            same,
            values,
            knob,
            at_most,
        } => config[*knob] <= *at_most && same.iter().zip(values).all(|(&j, v)| config[j] == *v),
        Rule::Roomy { same, values, at_least } => {
            same.iter().zip(values).all(|(&j, v)| config[j] == *v)
                && at_least.iter().all(|&(j, least)| config[j] >= least)
        }
    }
}
