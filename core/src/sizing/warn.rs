//! The estimates of [`super`] applied to a scenario's eras: warnings with a
//! concrete suggestion, for settings that will fail under its traffic.

use std::fmt;

use super::{Dynamic, TOLERATED_LAG_S, backlog_overflow, capacity, in_system, min_spare_to_follow, spawn_shortfall};
use crate::record::{clock, thousands};
use crate::scenario::{App, Architecture, Era, FpmPool, Listen, ProcessManager, Scenario, Step, Workload};

/// A risky setting of one era.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub era: String,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.era, self.message)
    }
}

/// The longest stretch of per-second rates the estimates replay: past it
/// the last rate holds anyway, and a year of seconds would be 250 MB.
const MAX_SECONDS: u64 = 1_000_000;

/// What one request costs the pool that serves it, in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Cost {
    /// How long it holds a PHP child: its CPU, its queries and waits, the
    /// round trips and, where calls are RPCs, the calls.
    hold: f64,
    /// CPU of the pool's host it burns (the database's too where they share it).
    cpu: f64,
    /// CPU it burns on a database host of its own (bronze and later).
    db: f64,
    /// Cores of that database host; 0 when MySQL shares the web host.
    db_cores: u32,
}

impl std::ops::AddAssign for Cost {
    fn add_assign(&mut self, o: Cost) {
        self.hold += o.hold;
        self.cpu += o.cpu;
        self.db += o.db;
    }
}

/// Gold's calls: the RPC CPU on each side, each service's host speed and
/// its own database's speed, if it has one.
type Remote<'a> = (f64, &'a [f64], &'a [Option<f64>]);

/// How an era runs a request's steps, for [`cost`].
#[derive(Clone, Copy)]
struct Place<'a> {
    app: &'a App,
    speed: f64,
    db_speed: f64,
    rtt: f64,
    /// Stone: MySQL burns the web host's cores.
    db_on_web: bool,
    /// Gold: the RPC CPU on each side, each service's host speed, and the
    /// speed of its own database where it has one (`db = "own"`).
    remote: Option<Remote<'a>>,
}

fn cost(p: &Place<'_>, steps: &[Step]) -> Cost {
    let mut c = Cost::default();
    for s in steps {
        match s {
            Step::Cpu(d) => {
                let t = d.mean() / 1e9 / p.speed;
                c += Cost {
                    hold: t,
                    cpu: t,
                    ..Cost::default()
                };
            }
            Step::Query(q) => {
                let db = q.db_cpu.as_ref().map_or(0.0, |d| d.mean() / 1e9 / p.db_speed);
                let wait = q.db_wait.as_ref().map_or(0.0, |d| d.mean() / 1e9);
                c += Cost {
                    hold: db + wait + p.rtt,
                    cpu: if p.db_on_web { db } else { 0.0 },
                    db: if p.db_on_web { 0.0 } else { db },
                    db_cores: 0,
                };
            }
            Step::Call(r) => match &p.remote {
                None => c += cost(p, &p.app.op(*r).steps),
                Some((rpc, speeds, own_dbs)) => {
                    let rpc = *rpc;
                    let callee_speed = speeds.get(r.service).copied().unwrap_or(p.speed);
                    let own_db = own_dbs.get(r.service).copied().flatten();
                    let callee = Place {
                        speed: callee_speed,
                        db_speed: own_db.unwrap_or(p.db_speed),
                        ..*p
                    };
                    let inner = cost(&callee, &p.app.op(*r).steps);
                    c += Cost {
                        hold: p.rtt + rpc / p.speed + rpc / callee_speed + inner.hold,
                        cpu: rpc / p.speed,
                        // A service's own database is not the front's.
                        db: if own_db.is_some() { 0.0 } else { inner.db },
                        db_cores: 0,
                    };
                }
            },
            Step::Parallel(branches) => {
                let each: Vec<Cost> = branches.iter().map(|b| cost(p, b)).collect();
                let cpu = each.iter().map(|b| b.cpu).sum();
                let db = each.iter().map(|b| b.db).sum();
                // PHP runs branches one after another unless they are RPCs.
                let hold = if p.remote.is_some() {
                    each.iter().map(|b| b.hold).fold(0.0, f64::max)
                } else {
                    each.iter().map(|b| b.hold).sum()
                };
                c += Cost {
                    hold,
                    cpu,
                    db,
                    db_cores: 0,
                };
            }
            Step::Transaction(t) => {
                c += cost(p, &t.steps);
                // BEGIN and COMMIT are round trips; COMMIT waits for the flush.
                c.hold += 2.0 * p.rtt + t.commit_flush.mean() / 1e9;
            }
        }
    }
    c
}

/// When the rate peaks within the run (0 for a closed model).
fn peak_at(s: &Scenario) -> u64 {
    match &s.traffic.workload {
        Workload::Open(p) => {
            p.points()
                .iter()
                .filter(|(t, _)| *t < s.duration)
                .fold(
                    (0, f64::NEG_INFINITY),
                    |best, &(t, r)| if r > best.1 { (t, r) } else { best },
                )
                .0
        }
        Workload::Closed { .. } => 0,
    }
}

/// The mean cost of a request of the traffic's mix in the era's front pool.
fn front_cost(s: &Scenario, era: &Era) -> Cost {
    let (web, db, rtt) = match &era.arch {
        Architecture::Stone { host, .. } => (host, host, 0.0),
        Architecture::Bronze { web, db, network, .. } => (web, db, network.rtt.mean() / 1e9),
        Architecture::Silver(x) => (&x.web, &x.db, x.network.rtt.mean() / 1e9),
        Architecture::Gold(g) => (&g.front.web, &g.front.db, g.front.network.rtt.mean() / 1e9),
    };
    let speeds: Vec<f64> = match &era.arch {
        Architecture::Gold(g) => g.services.iter().map(|p| p.host.speed).collect(),
        _ => Vec::new(),
    };
    let own_dbs: Vec<Option<f64>> = match &era.arch {
        Architecture::Gold(g) => g.services.iter().map(|p| p.own_db.as_ref().map(|h| h.speed)).collect(),
        _ => Vec::new(),
    };
    let remote = match &era.arch {
        Architecture::Gold(g) => Some((g.rpc.cpu.mean() / 1e9, speeds.as_slice(), own_dbs.as_slice())),
        _ => None,
    };
    let place = Place {
        app: &s.app,
        speed: web.speed,
        db_speed: db.speed,
        rtt,
        db_on_web: matches!(era.arch, Architecture::Stone { .. }),
        remote,
    };
    let mut total = Cost::default();
    // The mix where the rate peaks: the warnings are about the peak.
    let peak_at = peak_at(s);
    for (i, share) in s.traffic.mix.at(peak_at) {
        let e = &s.app.endpoints[i];
        let mut c = cost(&place, &e.steps);
        let web_overhead = e.overhead.web as f64 / 1e9 / web.speed;
        c += Cost {
            hold: web_overhead,
            cpu: web_overhead,
            ..Cost::default()
        };
        total += Cost {
            hold: share * c.hold,
            cpu: share * c.cpu,
            db: share * c.db,
            db_cores: 0,
        };
    }
    total.db_cores = if place.db_on_web { 0 } else { db.cores };
    total
}

/// What one request of the traffic's mix at its peak costs the era, in
/// seconds at the hosts' speeds: the front's web host CPU (the
/// database's too in stone, where they share it), the database host's CPU
/// (0 in stone), how long it holds a front PHP child, and in gold the CPU
/// of each service's nodes (in the application's order of services; empty
/// where calls are not RPCs).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Demand {
    pub web_cpu: f64,
    pub db_cpu: f64,
    pub hold: f64,
    pub services: Vec<f64>,
}

/// The era's [`Demand`] per request, for a planner's bounds: contention and
/// randomness ignored, as everywhere in this module.
pub fn demand(s: &Scenario, era: &Era) -> Demand {
    let c = front_cost(s, era);
    let mut services = Vec::new();
    if let Architecture::Gold(g) = &era.arch {
        services = vec![0.0; s.app.services.len()];
        let speeds: Vec<f64> = g.services.iter().map(|p| p.host.speed).collect();
        let own_dbs: Vec<Option<f64>> = g.services.iter().map(|p| p.own_db.as_ref().map(|h| h.speed)).collect();
        let place = Place {
            app: &s.app,
            speed: g.front.web.speed,
            db_speed: g.front.db.speed,
            rtt: g.front.network.rtt.mean() / 1e9,
            db_on_web: false,
            remote: Some((g.rpc.cpu.mean() / 1e9, speeds.as_slice(), own_dbs.as_slice())),
        };
        for (i, share) in s.traffic.mix.at(peak_at(s)) {
            service_cpu(&place, &s.app.endpoints[i].steps, share, &mut services);
        }
    }
    Demand {
        web_cpu: c.cpu,
        db_cpu: c.db,
        hold: c.hold,
        services,
    }
}

/// Adds to `acc` the CPU each service's nodes spend on `steps`, run
/// `share` times per request: a call's own work and its side of the RPC,
/// then, through it, the calls it makes in turn.
fn service_cpu(p: &Place<'_>, steps: &[Step], share: f64, acc: &mut [f64]) {
    for step in steps {
        match step {
            Step::Call(r) => {
                let op = &p.app.op(*r).steps;
                match &p.remote {
                    None => service_cpu(p, op, share, acc),
                    Some((rpc, speeds, own_dbs)) => {
                        let speed = speeds.get(r.service).copied().unwrap_or(p.speed);
                        let callee = Place {
                            speed,
                            db_speed: own_dbs.get(r.service).copied().flatten().unwrap_or(p.db_speed),
                            ..*p
                        };
                        let inner = cost(&callee, op);
                        if let Some(a) = acc.get_mut(r.service) {
                            *a += share * (inner.cpu + rpc / speed);
                        }
                        service_cpu(&callee, op, share, acc);
                    }
                }
            }
            Step::Parallel(branches) => branches.iter().for_each(|b| service_cpu(p, b, share, acc)),
            Step::Transaction(t) => service_cpu(p, &t.steps, share, acc),
            Step::Cpu(_) | Step::Query(_) => {}
        }
    }
}

/// Arrivals in each second of the run (the mean rate over that second).
fn arrivals(s: &Scenario, hold: f64) -> Vec<f64> {
    let seconds = s.duration.div_ceil(1_000_000_000).clamp(1, MAX_SECONDS);
    match &s.traffic.workload {
        Workload::Open(p) => (0..seconds)
            .map(|t| p.mean_rate(t * 1_000_000_000, (t + 1) * 1_000_000_000))
            .collect(),
        // Every user sends a request per think time and response: the most
        // a closed population can offer, from the start.
        Workload::Closed { users, think } => {
            vec![f64::from(*users) / (think.mean() / 1e9 + hold).max(1e-9); seconds as usize]
        }
    }
}

/// The front tier's pool as every web node runs it.
struct Front<'a> {
    fpm: &'a FpmPool,
    nodes: u32,
    cores: u32,
    somaxconn: u32,
    /// `web` or `host`: the key of its host in the file.
    host_key: &'static str,
}

fn front(era: &Era) -> Front<'_> {
    let (host, nodes, host_key) = match &era.arch {
        Architecture::Stone { host, .. } => (host, 1, "host"),
        Architecture::Bronze { web, .. } => (web, 1, "web"),
        Architecture::Silver(x) => (&x.web, x.nodes, "web"),
        Architecture::Gold(g) => (&g.front.web, g.front.nodes, "web"),
    };
    Front {
        fpm: &era.arch.stack().fpm,
        nodes,
        cores: host.cores,
        somaxconn: host.kernel.somaxconn,
        host_key,
    }
}

/// Every warning for `era` under the scenario's traffic, in a fixed order:
/// workers against cores, spawning against the ramp, the backlog at the peak.
pub fn warnings(s: &Scenario, era: &Era) -> Vec<Warning> {
    let mut out = Vec::new();
    let mut warn = |message: String| {
        out.push(Warning {
            era: era.label.clone(),
            message,
        })
    };
    let f = front(era);
    let c = front_cost(s, era);
    let per_node: Vec<f64> = arrivals(s, c.hold).iter().map(|a| a / f64::from(f.nodes)).collect();
    let peak = per_node.iter().copied().fold(0.0, f64::max);
    let node_note = if f.nodes > 1 {
        format!(" on each of {} web nodes", f.nodes)
    } else {
        String::new()
    };
    let needed_at_peak = in_system(peak, c.hold).ceil() as u32;

    let from_file = |key: &str| era.settings.iter().any(|x| x.key == key && x.origin.is_scenario());
    let default_note = |key: &str| {
        if from_file(key) { "" } else { " (Debian's default)" }
    };
    if f.fpm.max_children < f.cores {
        warn(format!(
            "fpm.max_children is {}{} on a {} host of {} cores: at most {} requests run at once there, so {} cores never \
             serve PHP; set fpm.max_children to at least {} (the peak keeps about {} busy{}: {}/s × {} per request; \
             Debian's www.conf ships 5)",
            f.fpm.max_children,
            default_note("fpm.max_children"),
            f.host_key,
            f.cores,
            f.fpm.max_children,
            f.cores - f.fpm.max_children,
            f.cores.max(needed_at_peak),
            needed_at_peak,
            node_note,
            rate(peak),
            secs(c.hold),
        ));
    }
    if let Architecture::Gold(g) = &era.arch {
        for p in &g.services {
            if p.stack.fpm.max_children < p.host.cores {
                warn(format!(
                    "services.{}.fpm.max_children is {} on {}-core hosts: {} cores of each never serve PHP; set it to at \
                     least {} (Debian's www.conf ships 5)",
                    p.service,
                    p.stack.fpm.max_children,
                    p.host.cores,
                    p.host.cores - p.stack.fpm.max_children,
                    p.host.cores
                ));
            }
        }
    }

    if let ProcessManager::Dynamic {
        start_servers,
        min_spare_servers,
        max_spare_servers,
    } = f.fpm.pm
    {
        let pool = Dynamic {
            start_servers,
            min_spare_servers,
            max_spare_servers,
            max_children: f.fpm.max_children,
        };
        let busy: Vec<f64> = per_node.iter().map(|a| in_system(*a, c.hold)).collect();
        if let Some(short) = spawn_shortfall(pool, &busy).filter(|x| x.seconds > TOLERATED_LAG_S) {
            let stretch = &per_node[short.from as usize..(short.from + short.seconds) as usize];
            let top = stretch.iter().copied().fold(0.0, f64::max);
            let fix = match min_spare_to_follow(pool, &busy) {
                Some(m) => format!(
                    "set fpm.min_spare_servers = {m} (max_spare_servers and start_servers at least as many), or pm = \"static\""
                ),
                None => format!(
                    "use pm = \"static\" (all {} children forked at start)",
                    f.fpm.max_children
                ),
            };
            warn(format!(
                "pm = dynamic cannot follow the traffic: from {} the load keeps about {} busy{} ({}/s × {} per \
                 request) and the pool has {}; php-fpm's maintenance runs once a second and forks at most \
                 min_spare_servers − idle = {} a tick when none is idle (the batch doubles 1, 2, 4… up to 32, \
                 never above that cap), so the pool is short for {} s; {}",
                clock(short.from as f64),
                children(short.needed),
                node_note,
                rate(top),
                secs(c.hold),
                short.had,
                children(min_spare_servers),
                short.seconds,
                fix
            ));
        }
    }

    let backlog = f.fpm.backlog(f.somaxconn);
    // The database serves every web node: its cores cap each node at its
    // share of what they serve.
    let db_cap = if c.db_cores > 0 && c.db > 0.0 {
        f64::from(c.db_cores) / c.db / f64::from(f.nodes)
    } else {
        f64::INFINITY
    };
    let cap = capacity(f.fpm.max_children, c.hold, f64::from(f.cores), c.cpu).min(db_cap);
    let little = in_system(peak, c.hold);
    let overflow = backlog_overflow(&per_node, cap, backlog);
    let over_little = little > f64::from(f.fpm.max_children) + f64::from(backlog);
    if overflow.is_some() || over_little {
        let by_children = f64::from(f.fpm.max_children) / c.hold;
        let limit = if db_cap <= cap * 1.000_001 {
            format!(
                "the database's {} cores at {} of CPU each{}",
                c.db_cores,
                secs(c.db),
                if f.nodes > 1 { ", shared by the web nodes" } else { "" }
            )
        } else if by_children <= cap * 1.000_001 {
            format!("{} children / {} each", f.fpm.max_children, secs(c.hold))
        } else {
            format!("{} cores at {} of CPU each", f.cores, secs(c.cpu))
        };
        let when = match overflow {
            Some(o) => format!(
                ", so the backlog fills by {} (the excess would reach {} requests)",
                clock(o.at as f64),
                thousands(o.queue)
            ),
            None => format!(
                ": {}/s × {} = {:.0} requests at once by Little's law, more than {} children + {backlog} backlog",
                rate(peak),
                secs(c.hold),
                little,
                f.fpm.max_children
            ),
        };
        let then = match f.fpm.listen {
            Listen::Unix => "nginx then gets its connections refused and answers 502",
            Listen::Tcp => "SYNs are then dropped and retried, and nginx answers 504 after fastcgi_connect_timeout",
        };
        let fix = if by_children < cap * 1.000_001 && needed_at_peak > f.fpm.max_children {
            let cpu_room = if c.cpu > 0.0 {
                (f64::from(f.cores) / c.cpu * c.hold).floor() as u32
            } else {
                u32::MAX
            };
            format!(
                "raise fpm.max_children towards {} (the cores allow about {}), add web nodes or cores",
                needed_at_peak,
                cpu_room.min(needed_at_peak)
            )
        } else if db_cap <= cap * 1.000_001 {
            "the database's CPU is the limit: add DB cores or make the queries cheaper, or lower the peak".into()
        } else {
            "the web cores are the limit: add web nodes or cores, or lower the peak".into()
        };
        warn(format!(
            "the FPM listen backlog ({backlog}) will overflow at the peak: {}/s arrive{} and the pool serves at most about \
             {}/s ({limit}){when}; {then}; {fix} (a longer backlog only delays the overflow)",
            rate(peak),
            node_note,
            rate(cap),
        ));
    }
    out
}

fn rate(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// `1 child`, `5 children`.
fn children(n: u32) -> String {
    if n == 1 {
        "1 child".into()
    } else {
        format!("{n} children")
    }
}

/// A holding time in the report's own format (`14.2ms`).
fn secs(s: f64) -> String {
    crate::record::format_ms(s * 1e3)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::scenario;

    fn parse(text: &str) -> Scenario {
        scenario::parse(text, Path::new("s.toml")).unwrap()
    }

    #[test]
    fn hold_time_adds_cpu_queries_and_round_trips() {
        let s = parse(
            r#"duration = "1m"
            [traffic]
            rate = 10
            [app.endpoints.a]
            steps = [{ cpu = "10ms" }, { query = "q", db_cpu = "2ms", db_wait = "3ms" }]
            [eras.bronze]
            web = { speed = 2.0 }
            network = { rtt = "1ms" }
            [eras.stone]
            "#,
        );
        let b = front_cost(&s, &s.eras[0]);
        assert!((b.hold - (0.005 + 0.002 + 0.003 + 0.001)).abs() < 1e-9, "{b:?}");
        assert!((b.cpu - 0.005).abs() < 1e-9, "{b:?}");
        // Stone: no hop, and MySQL's CPU is the host's.
        let st = front_cost(&s, &s.eras[1]);
        assert!((st.hold - 0.015).abs() < 1e-9, "{st:?}");
        assert!((st.cpu - 0.012).abs() < 1e-9, "{st:?}");
    }

    #[test]
    fn debian_defaults_on_eight_cores_warn() {
        let s = parse(
            r#"duration = "1m"
            [traffic]
            rate = "100/s"
            [app.endpoints.a]
            steps = [{ cpu = "20ms" }]
            [eras.bronze]
            web = { cores = 8 }
            "#,
        );
        let w = warnings(&s, &s.eras[0]);
        assert!(
            w[0].message
                .contains("fpm.max_children is 5 (Debian's default) on a web host of 8 cores"),
            "{w:?}"
        );
        // 100/s × 20 ms = 2 busy: the pool keeps up and the backlog holds.
        assert_eq!(w.len(), 1, "{w:?}");
    }

    #[test]
    fn a_steep_ramp_outruns_one_spare() {
        let s = parse(
            r#"duration = "1m"
            [traffic]
            profile = [{ at = "0s", rate = "10/s" }, { at = "10s", rate = "10/s" }, { at = "15s", rate = "400/s" }]
            [app.endpoints.a]
            steps = [{ cpu = "1ms" }, { query = "q", db_wait = "49ms" }]
            [eras.bronze]
            web = { cores = 8 }
            fpm = { max_children = 40 }
            "#,
        );
        let w = warnings(&s, &s.eras[0]);
        let spawn = w
            .iter()
            .find(|w| w.message.starts_with("pm = dynamic"))
            .expect("a spawning warning");
        assert!(spawn.message.contains("min_spare_servers − idle = 1"), "{spawn}");
        assert!(spawn.message.contains("set fpm.min_spare_servers = "), "{spawn}");
        assert!(!w.iter().any(|w| w.message.contains("backlog")), "{w:?}");
    }

    #[test]
    fn an_overload_fills_the_backlog() {
        let s = parse(
            r#"duration = "1m"
            [traffic]
            rate = "300/s"
            [app.endpoints.a]
            steps = [{ cpu = "10ms" }]
            [eras.stone]
            host = { cores = 2 }
            fpm = { pm = "static", max_children = 4, listen_backlog = 100 }
            "#,
        );
        let w = warnings(&s, &s.eras[0]);
        assert_eq!(w.len(), 1, "{w:?}");
        let m = &w[0].message;
        // 2 cores at 10 ms: 200/s against 300/s; 100 more a second fill 100 in 2 s.
        assert!(m.contains("backlog (100) will overflow"), "{m}");
        assert!(
            m.contains("300/s arrive and the pool serves at most about 200/s (2 cores at 10.0ms of CPU each)"),
            "{m}"
        );
        assert!(m.contains("fills by 0:01"), "{m}");
        assert_eq!(crate::record::thousands(60273.4), "60,273");
    }

    #[test]
    fn a_database_slower_than_the_web_tier_is_named_as_the_limit() {
        let s = parse(
            r#"duration = "1m"
            [traffic]
            rate = "300/s"
            [app.endpoints.a]
            steps = [{ cpu = "1ms" }, { query = "q", db_cpu = "10ms" }]
            [eras.bronze]
            web = { cores = 8 }
            db = { cores = 2 }
            fpm = { pm = "static", max_children = 64, listen_backlog = 100 }
            "#,
        );
        let w = warnings(&s, &s.eras[0]);
        let m = &w
            .iter()
            .find(|w| w.message.contains("backlog"))
            .expect("a backlog warning")
            .message;
        // 2 DB cores at 10 ms serve 200/s of the 300/s; the web tier 8,000/s.
        assert!(
            m.contains("at most about 200/s (the database's 2 cores at 10.0ms of CPU each)"),
            "{m}"
        );
        assert!(m.contains("the database's CPU is the limit"), "{m}");
    }

    #[test]
    fn a_service_s_own_database_is_not_the_front_s() {
        // 300/s × 8 ms on the service's own 16-core database: the front's
        // 2 cores never see those queries.
        let s = parse(
            r#"duration = "60s"
            [traffic]
            rate = "300/s"
            [app.services.cat.ops.list]
            steps = [{ cpu = "1ms" }, { query = "q", db_cpu = "8ms" }]
            [app.endpoints.a]
            steps = [{ call = "cat.list" }]
            [eras.gold]
            model = "gold"
            nodes = 1
            web = { cores = 8 }
            db = { cores = 2 }
            fpm = { pm = "static", max_children = 64, listen_backlog = 100 }
            [eras.gold.services.cat]
            nodes = 2
            host = { cores = 8 }
            db = "own"
            db_host = { cores = 16 }
            "#,
        );
        let w = warnings(&s, &s.eras[0]);
        assert!(w.iter().all(|w| !w.message.contains("database")), "{w:?}");
    }
}
