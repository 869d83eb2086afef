//! Stage two: raw serde structs to validated types. Every check reports the
//! key path; `Ctx` turns it into a line and column. Checking goes on after a
//! problem so that one run lists them all.

use std::path::Path;

use super::app::{App, Endpoint, Lock, Query, Step};
use super::dist::Dist;
use super::era::{Architecture, Era, FpmPool, Host, MODELS, MySql, Network, Nginx, ProcessManager, Stack};
use super::error::Problem;
use super::locate::{KeyPath, Locator};
use super::raw::*;
use super::traffic::{RateProfile, Traffic, Workload};
use super::units::{check_rate, format_duration, parse_duration, parse_percent, parse_rate};
use super::{LatencyObjective, Percentile, Scenario, Slo, Stats};

struct Ctx<'a> {
    loc: &'a Locator<'a>,
    problems: Vec<Problem>,
}

impl Ctx<'_> {
    fn report(&mut self, path: &KeyPath, message: impl Into<String>) {
        let pos = self.loc.find(path);
        self.problems.push(Problem {
            line: pos.line,
            column: pos.column,
            key: path.to_string(),
            message: message.into(),
        });
    }

    fn duration(&mut self, path: &KeyPath, text: &str) -> Option<u64> {
        parse_duration(text).map_err(|e| self.report(path, e)).ok()
    }

    /// A timeout: a duration, or `"off"` (also `"0s"`) for none.
    fn timeout(&mut self, path: &KeyPath, text: Option<&String>, default: Option<u64>) -> Option<Option<u64>> {
        match text.map(|s| s.trim()) {
            None => Some(default),
            Some("off") => Some(None),
            Some(t) => self.duration(path, t).map(|ns| (ns > 0).then_some(ns)),
        }
    }

    fn dist(&mut self, path: &KeyPath, text: &str) -> Option<Dist> {
        Dist::parse(text).map_err(|e| self.report(path, e)).ok()
    }

    fn count(&mut self, path: &KeyPath, value: Option<i64>, default: u32, min: i64, what: &str) -> Option<u32> {
        let Some(v) = value else { return Some(default) };
        if v < min {
            let need = if min == 1 {
                "at least 1".to_string()
            } else {
                format!("at least {min}")
            };
            self.report(path, format!("{what} must be {need}, found {v}"));
            return None;
        }
        match u32::try_from(v) {
            Ok(n) => Some(n),
            Err(_) => {
                self.report(path, format!("{what} is too large: {v}"));
                None
            }
        }
    }
}

pub(super) fn validate(raw: RawScenario, file: &Path, loc: &Locator) -> Result<Scenario, Vec<Problem>> {
    let mut cx = Ctx {
        loc,
        problems: Vec::new(),
    };
    let root = KeyPath::root();

    let name = match raw.name {
        Some(n) => {
            if n.is_empty() || !n.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) || n.starts_with('.')
            {
                cx.report(
                    &root.key("name"),
                    "a name may hold letters, digits, '-', '_' and '.' (it names the output folder)",
                );
            }
            n
        }
        None => file
            .file_stem()
            .map_or("scenario".into(), |s| s.to_string_lossy().into_owned()),
    };
    let seed = match raw.seed {
        Some(s) if s < 0 => {
            cx.report(
                &root.key("seed"),
                format!("seed must be a non-negative integer, found {s}"),
            );
            0
        }
        Some(s) => s as u64,
        None => 1,
    };
    let duration = match &raw.duration {
        None => {
            cx.report(
                &root,
                "missing key \"duration\": how long to run, e.g. duration = \"5m\"",
            );
            None
        }
        Some(d) => cx.duration(&root.key("duration"), d).and_then(|ns| {
            if ns == 0 {
                cx.report(&root.key("duration"), "duration must be longer than 0s");
                None
            } else {
                Some(ns)
            }
        }),
    };

    let stats = stats(&mut cx, &raw.stats, duration);
    let slo = slo(&mut cx, &raw.slo);
    let app = match &raw.app {
        Some(a) => app(&mut cx, a),
        None => {
            cx.report(
                &root,
                "missing table [app]: declare the endpoints, e.g. [app.endpoints.home] steps = [{ cpu = \"5ms\" }]",
            );
            None
        }
    };
    let traffic = match &raw.traffic {
        Some(t) => traffic(&mut cx, t, app.as_ref()),
        None => {
            cx.report(
                &root,
                "missing table [traffic]: say what hits the shop, e.g. [traffic] rate = \"100/s\"",
            );
            None
        }
    };
    let eras = eras(&mut cx, &raw.eras);

    if !cx.problems.is_empty() {
        return Err(cx.problems);
    }
    let (Some(duration), Some(stats), Some(slo), Some(app), Some(traffic), Some(eras)) =
        (duration, stats, slo, app, traffic, eras)
    else {
        unreachable!("every missing part reported a problem")
    };
    Ok(Scenario {
        name,
        description: raw.description.unwrap_or_default(),
        file: file.to_path_buf(),
        seed,
        duration,
        stats,
        slo,
        traffic,
        app,
        eras,
    })
}

fn stats(cx: &mut Ctx, raw: &RawStats, duration: Option<u64>) -> Option<Stats> {
    let p = KeyPath::root().key("stats");
    let window = match &raw.window {
        Some(w) => cx.duration(&p.key("window"), w)?,
        None => 1_000_000_000,
    };
    let warmup = match &raw.warmup {
        Some(w) => cx.duration(&p.key("warmup"), w)?,
        None => 0,
    };
    if window == 0 {
        cx.report(&p.key("window"), "the stats window must be longer than 0s");
        return None;
    }
    if let Some(d) = duration {
        if window > d {
            cx.report(
                &p.key("window"),
                format!(
                    "the stats window ({}) is longer than the run ({})",
                    format_duration(window),
                    format_duration(d)
                ),
            );
            return None;
        }
        if warmup >= d {
            cx.report(
                &p.key("warmup"),
                format!(
                    "the warm-up ({}) must end before the run does ({})",
                    format_duration(warmup),
                    format_duration(d)
                ),
            );
            return None;
        }
    }
    Some(Stats { window, warmup })
}

fn slo(cx: &mut Ctx, raw: &RawSlo) -> Option<Slo> {
    let p = KeyPath::root().key("slo");
    let mut latency = Vec::new();
    let mut ok = true;
    for (pct, text) in [
        (Percentile::P50, &raw.p50),
        (Percentile::P90, &raw.p90),
        (Percentile::P95, &raw.p95),
        (Percentile::P99, &raw.p99),
        (Percentile::P999, &raw.p999),
    ] {
        let Some(text) = text else { continue };
        match cx.duration(&p.key(pct.key()), text) {
            Some(max) => latency.push(LatencyObjective { percentile: pct, max }),
            None => ok = false,
        }
    }
    for w in latency.windows(2) {
        if w[1].max < w[0].max {
            cx.report(
                &p.key(w[1].percentile.key()),
                format!(
                    "{} ({}) is below {} ({}): a higher percentile cannot be faster",
                    w[1].percentile.key(),
                    format_duration(w[1].max),
                    w[0].percentile.key(),
                    format_duration(w[0].max)
                ),
            );
            ok = false;
        }
    }
    let error_rate = match &raw.error_rate {
        Some(t) => match parse_percent(t) {
            Ok(f) => Some(f),
            Err(e) => {
                cx.report(&p.key("error_rate"), e);
                ok = false;
                None
            }
        },
        None => None,
    };
    ok.then_some(Slo { latency, error_rate })
}

fn app(cx: &mut Ctx, raw: &RawApp) -> Option<App> {
    let p = KeyPath::root().key("app");
    let mut ok = true;
    let mut locks = Vec::new();
    for (name, l) in &raw.locks {
        let rows = cx.count(&p.key("locks").key(name).key("rows"), l.rows, 1, 1, "rows");
        ok &= rows.is_some();
        locks.push(Lock {
            name: name.clone(),
            rows: rows.unwrap_or(1),
        });
    }
    if raw.endpoints.is_empty() {
        cx.report(
            &p,
            "declare at least one endpoint, e.g. [app.endpoints.home] steps = [{ cpu = \"5ms\" }]",
        );
        return None;
    }
    let mut endpoints = Vec::new();
    for (name, e) in &raw.endpoints {
        let ep = p.key("endpoints").key(name);
        if e.steps.is_empty() {
            cx.report(
                &ep.key("steps"),
                "an endpoint needs at least one step, e.g. { cpu = \"5ms\" }",
            );
            ok = false;
        }
        let mut steps = Vec::new();
        for (i, s) in e.steps.iter().enumerate() {
            match step(cx, &ep.key("steps").index(i), s, &locks) {
                Some(s) => steps.push(s),
                None => ok = false,
            }
        }
        endpoints.push(Endpoint {
            name: name.clone(),
            steps,
        });
    }
    ok.then_some(App { endpoints, locks })
}

fn step(cx: &mut Ctx, p: &KeyPath, s: &RawStep, locks: &[Lock]) -> Option<Step> {
    match (&s.cpu, &s.query) {
        (Some(_), Some(_)) => {
            cx.report(
                p,
                "a step is either { cpu = ... } (PHP work) or { query = ... } (SQL), not both",
            );
            None
        }
        (None, None) => {
            cx.report(p, "a step needs \"cpu\" (PHP work, e.g. cpu = \"5ms\") or \"query\" (a named SQL statement with db_cpu and/or db_wait)");
            None
        }
        (Some(cpu), None) => {
            for (key, given) in [
                ("db_cpu", s.db_cpu.is_some()),
                ("db_wait", s.db_wait.is_some()),
                ("lock", s.lock.is_some()),
            ] {
                if given {
                    cx.report(
                        &p.key(key),
                        format!("\"{key}\" belongs to a query step: write {{ query = \"name\", {key} = ... }}"),
                    );
                    return None;
                }
            }
            cx.dist(&p.key("cpu"), cpu).map(Step::Cpu)
        }
        (None, Some(name)) => {
            if s.db_cpu.is_none() && s.db_wait.is_none() {
                cx.report(p, format!("query \"{name}\" does no work: give it db_cpu (CPU on the database host) and/or db_wait (I/O, sleeps)"));
                return None;
            }
            let db_cpu = match &s.db_cpu {
                Some(t) => Some(cx.dist(&p.key("db_cpu"), t)?),
                None => None,
            };
            let db_wait = match &s.db_wait {
                Some(t) => Some(cx.dist(&p.key("db_wait"), t)?),
                None => None,
            };
            let lock = match &s.lock {
                Some(l) => {
                    match locks.iter().position(|x| &x.name == l) {
                        Some(i) => Some(i),
                        None => {
                            cx.report(&p.key("lock"), format!("unknown lock \"{l}\": declare it as [app.locks.{l}] (rows = 1 for a single hot row)"));
                            return None;
                        }
                    }
                }
                None => None,
            };
            Some(Step::Query(Query {
                name: name.clone(),
                db_cpu,
                db_wait,
                lock,
            }))
        }
    }
}

fn traffic(cx: &mut Ctx, raw: &RawTraffic, app: Option<&App>) -> Option<Traffic> {
    let p = KeyPath::root().key("traffic");
    let model = raw.model.as_deref().unwrap_or("open");
    let workload = match model {
        "open" => {
            for (key, given) in [("users", raw.users.is_some()), ("think", raw.think.is_some())] {
                if given {
                    cx.report(
                        &p.key(key),
                        format!("\"{key}\" belongs to model = \"closed\"; an open model is driven by rate or profile"),
                    );
                }
            }
            match (&raw.rate, &raw.profile) {
                (Some(_), Some(_)) => {
                    cx.report(
                        &p.key("profile"),
                        "give either a constant \"rate\" or a \"profile\", not both",
                    );
                    None
                }
                (None, None) => {
                    cx.report(
                        &p,
                        "an open model needs rate = \"100/s\" or profile = [{ at = \"0s\", rate = \"100/s\" }, ...]",
                    );
                    None
                }
                (Some(r), None) => rate(cx, &p.key("rate"), r).map(|r| Workload::Open(RateProfile::constant(r))),
                (None, Some(points)) => profile(cx, &p.key("profile"), points).map(Workload::Open),
            }
        }
        "closed" => {
            for (key, given) in [("rate", raw.rate.is_some()), ("profile", raw.profile.is_some())] {
                if given {
                    cx.report(
                        &p.key(key),
                        format!("\"{key}\" belongs to model = \"open\"; a closed model is driven by users and think"),
                    );
                }
            }
            let users = match raw.users {
                None => {
                    cx.report(
                        &p,
                        "a closed model needs users = N (how many users loop over request and think)",
                    );
                    None
                }
                Some(u) => cx.count(&p.key("users"), Some(u), 0, 1, "users"),
            };
            let think = match &raw.think {
                None => {
                    cx.report(&p, "a closed model needs think = \"exp(mean = 5s)\" (the pause between a response and the next request)");
                    None
                }
                Some(t) => cx.dist(&p.key("think"), t).and_then(|d| {
                    if d.mean() < 1_000.0 {
                        // A user who never pauses would retry an instant
                        // failure (a full backlog) at the same instant forever.
                        cx.report(&p.key("think"), "the think time must average at least 1us: users who never pause retry instant failures in the same instant forever");
                        None
                    } else {
                        Some(d)
                    }
                }),
            };
            Some(Workload::Closed {
                users: users?,
                think: think?,
            })
        }
        other => {
            cx.report(&p.key("model"), format!("unknown traffic model \"{other}\": expected \"open\" (arrivals at a rate) or \"closed\" (users who think)"));
            None
        }
    };
    let timeout = cx.timeout(&p.key("timeout"), raw.timeout.as_ref(), Some(60_000_000_000));
    let mix = app.and_then(|a| mix(cx, &p.key("mix"), raw, a));
    Some(Traffic {
        workload: workload?,
        timeout: timeout?,
        mix: mix?,
    })
}

fn rate(cx: &mut Ctx, p: &KeyPath, r: &RawRate) -> Option<f64> {
    let parsed = match r {
        RawRate::PerSecond(v) => check_rate(*v),
        RawRate::Text(t) => parse_rate(t),
    };
    parsed.map_err(|e| cx.report(p, e)).ok()
}

fn profile(cx: &mut Ctx, p: &KeyPath, raw: &[RawPoint]) -> Option<RateProfile> {
    let mut points = Vec::new();
    for (i, pt) in raw.iter().enumerate() {
        let at = cx.duration(&p.index(i).key("at"), &pt.at);
        let r = rate(cx, &p.index(i).key("rate"), &pt.rate);
        points.push((at?, r?));
    }
    RateProfile::new(points)
        .map_err(|(i, e)| {
            let key = if e.contains("rate") { "rate" } else { "at" };
            cx.report(&p.index(i).key(key), e)
        })
        .ok()
}

fn mix(cx: &mut Ctx, p: &KeyPath, raw: &RawTraffic, app: &App) -> Option<Vec<(usize, f64)>> {
    let Some(weights) = &raw.mix else {
        if app.endpoints.len() == 1 {
            return Some(vec![(0, 1.0)]);
        }
        let names: Vec<_> = app.endpoints.iter().map(|e| format!("{} = 1", e.name)).collect();
        cx.report(
            &KeyPath::root().key("traffic"),
            format!(
                "with several endpoints, say how often each is requested: [traffic.mix] {}",
                names.join(", ")
            ),
        );
        return None;
    };
    let mut ok = true;
    let mut out = Vec::new();
    for (name, w) in weights {
        let Some(i) = app.endpoint_index(name) else {
            cx.report(
                &p.key(name),
                format!("unknown endpoint \"{name}\": declare it as [app.endpoints.{name}]"),
            );
            ok = false;
            continue;
        };
        if !(w.is_finite() && *w >= 0.0) {
            cx.report(
                &p.key(name),
                format!("a weight must be a non-negative number, found {w}"),
            );
            ok = false;
            continue;
        }
        out.push((i, *w));
    }
    for e in &app.endpoints {
        if !weights.contains_key(&e.name) {
            cx.report(
                p,
                format!(
                    "endpoint \"{}\" is never requested: give it a weight in [traffic.mix] (0 to keep it idle)",
                    e.name
                ),
            );
            ok = false;
        }
    }
    let total: f64 = out.iter().map(|x| x.1).sum();
    if ok && total <= 0.0 {
        cx.report(
            p,
            "the weights add up to 0: give at least one endpoint a positive weight",
        );
        ok = false;
    }
    ok.then(|| {
        out.into_iter()
            .filter(|x| x.1 > 0.0)
            .map(|(i, w)| (i, w / total))
            .collect()
    })
}

fn eras(cx: &mut Ctx, raw: &indexmap::IndexMap<String, RawEra>) -> Option<Vec<Era>> {
    let p = KeyPath::root().key("eras");
    if raw.is_empty() {
        cx.report(
            &KeyPath::root(),
            format!(
                "declare at least one era to run, e.g. [eras.stone] (models: {})",
                MODELS.join(", ")
            ),
        );
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for (label, e) in raw {
        let ep = p.key(label);
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            cx.report(
                &ep,
                "an era label may hold letters, digits, '-' and '_' (it names files in the report)",
            );
            ok = false;
            continue;
        }
        match era(cx, &ep, label, e) {
            Some(arch) => out.push(Era {
                label: label.clone(),
                arch,
            }),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn era(cx: &mut Ctx, p: &KeyPath, label: &str, e: &RawEra) -> Option<Architecture> {
    let model = match &e.model {
        Some(m) => m.as_str(),
        None if MODELS.contains(&label) => label,
        None => {
            cx.report(
                p,
                format!(
                    "say which architecture era \"{label}\" is: model = one of {}",
                    quoted(MODELS)
                ),
            );
            return None;
        }
    };
    let allowed: &[&str] = match model {
        "stone" => &["host"],
        "bronze" => &["web", "db", "network"],
        other => {
            cx.report(
                &p.key("model"),
                format!("unknown era model \"{other}\": expected one of {}", quoted(MODELS)),
            );
            return None;
        }
    };
    for (key, given) in [
        ("host", e.host.is_some()),
        ("web", e.web.is_some()),
        ("db", e.db.is_some()),
        ("network", e.network.is_some()),
    ] {
        if given && !allowed.contains(&key) {
            cx.report(
                &p.key(key),
                format!(
                    "a {model} era has no \"{key}\"; its machines are: {}",
                    allowed.join(", ")
                ),
            );
            return None;
        }
    }
    let stack = stack(cx, p, e);
    let arch = match model {
        "stone" => Architecture::Stone {
            host: host(cx, &p.key("host"), e.host.as_ref())?,
            stack: stack?,
        },
        _ => {
            let web = host(cx, &p.key("web"), e.web.as_ref());
            let db = host(cx, &p.key("db"), e.db.as_ref());
            let rtt = match e.network.as_ref().and_then(|n| n.rtt.as_ref()) {
                Some(t) => cx.dist(&p.key("network").key("rtt"), t),
                None => Some(Dist::constant(Network::DEFAULT_RTT_NS)),
            };
            Architecture::Bronze {
                web: web?,
                db: db?,
                network: Network { rtt: rtt? },
                stack: stack?,
            }
        }
    };
    Some(arch)
}

fn quoted(names: &[&str]) -> String {
    names.iter().map(|m| format!("\"{m}\"")).collect::<Vec<_>>().join(", ")
}

fn host(cx: &mut Ctx, p: &KeyPath, raw: Option<&RawHost>) -> Option<Host> {
    let default = RawHost::default();
    let raw = raw.unwrap_or(&default);
    let cores = cx.count(&p.key("cores"), raw.cores, Host::DEFAULT_CORES, 1, "cores");
    let speed = raw.speed.unwrap_or(1.0);
    if !(speed.is_finite() && speed > 0.0) {
        cx.report(
            &p.key("speed"),
            format!("speed is a factor above 0 (1.0 = the speed CPU demands are written for), found {speed}"),
        );
        return None;
    }
    Some(Host { cores: cores?, speed })
}

fn stack(cx: &mut Ctx, p: &KeyPath, e: &RawEra) -> Option<Stack> {
    let nginx = {
        let n = e.nginx.as_ref();
        let t = cx.timeout(
            &p.key("nginx").key("fastcgi_read_timeout"),
            n.and_then(|n| n.fastcgi_read_timeout.as_ref()),
            Some(Nginx::DEFAULT_FASTCGI_READ_TIMEOUT_NS),
        );
        t.map(|fastcgi_read_timeout| Nginx { fastcgi_read_timeout })
    };
    let default_fpm = RawFpm::default();
    let fpm = fpm(cx, &p.key("fpm"), e.fpm.as_ref().unwrap_or(&default_fpm));
    let default_mysql = RawMySql::default();
    let mysql = mysql(cx, &p.key("mysql"), e.mysql.as_ref().unwrap_or(&default_mysql));
    Some(Stack {
        nginx: nginx?,
        fpm: fpm?,
        mysql: mysql?,
    })
}

fn fpm(cx: &mut Ctx, p: &KeyPath, raw: &RawFpm) -> Option<FpmPool> {
    let max_children = cx.count(
        &p.key("max_children"),
        raw.max_children,
        FpmPool::DEFAULT_MAX_CHILDREN,
        1,
        "max_children (pm.max_children)",
    )?;
    let pm_name = raw.pm.as_deref().unwrap_or("dynamic");
    let dynamic_only = [
        ("start_servers", raw.start_servers.is_some()),
        ("min_spare_servers", raw.min_spare_servers.is_some()),
        ("max_spare_servers", raw.max_spare_servers.is_some()),
    ];
    let misplaced = |cx: &mut Ctx, keys: &[(&str, bool)], wanted: &str| {
        for (k, given) in keys {
            if *given {
                cx.report(
                    &p.key(k),
                    format!("\"{k}\" only applies to pm = \"{wanted}\" (this pool has pm = \"{pm_name}\")"),
                );
                return true;
            }
        }
        false
    };
    let idle = [("process_idle_timeout", raw.process_idle_timeout.is_some())];
    let pm = match pm_name {
        "static" => {
            if misplaced(cx, &dynamic_only, "dynamic") || misplaced(cx, &idle, "ondemand") {
                return None;
            }
            ProcessManager::Static
        }
        "ondemand" => {
            if misplaced(cx, &dynamic_only, "dynamic") {
                return None;
            }
            let t = match &raw.process_idle_timeout {
                Some(t) => cx.duration(&p.key("process_idle_timeout"), t)?,
                None => FpmPool::DEFAULT_IDLE_TIMEOUT_NS,
            };
            if t == 0 {
                cx.report(
                    &p.key("process_idle_timeout"),
                    "process_idle_timeout must be longer than 0s",
                );
                return None;
            }
            ProcessManager::OnDemand {
                process_idle_timeout: t,
            }
        }
        "dynamic" => {
            if misplaced(cx, &idle, "ondemand") {
                return None;
            }
            dynamic(cx, p, raw, max_children)?
        }
        other => {
            cx.report(
                &p.key("pm"),
                format!("unknown pm \"{other}\": expected \"static\", \"dynamic\" or \"ondemand\""),
            );
            return None;
        }
    };
    let listen_backlog = match raw.listen_backlog {
        None | Some(-1) => FpmPool::SOMAXCONN,
        Some(n) if n >= 1 && n <= i64::from(u32::MAX) => n as u32,
        Some(n) => {
            cx.report(
                &p.key("listen_backlog"),
                format!(
                    "listen_backlog must be -1 (net.core.somaxconn, {}) or a positive number, found {n}",
                    FpmPool::SOMAXCONN
                ),
            );
            return None;
        }
    };
    let max_requests = cx.count(&p.key("max_requests"), raw.max_requests, 0, 0, "max_requests")?;
    let request_terminate_timeout = cx.timeout(
        &p.key("request_terminate_timeout"),
        raw.request_terminate_timeout.as_ref(),
        None,
    )?;
    let spawn_time = match &raw.spawn_time {
        Some(t) => cx.duration(&p.key("spawn_time"), t)?,
        None => FpmPool::DEFAULT_SPAWN_TIME_NS,
    };
    Some(FpmPool {
        pm,
        max_children,
        listen_backlog,
        max_requests,
        request_terminate_timeout,
        spawn_time,
    })
}

/// FPM's own start-up checks for `pm = dynamic` (fpm_conf.c), with its defaults.
fn dynamic(cx: &mut Ctx, p: &KeyPath, raw: &RawFpm, max_children: u32) -> Option<ProcessManager> {
    let min = cx.count(
        &p.key("min_spare_servers"),
        raw.min_spare_servers,
        FpmPool::DEFAULT_MIN_SPARE,
        1,
        "min_spare_servers",
    )?;
    let max = cx.count(
        &p.key("max_spare_servers"),
        raw.max_spare_servers,
        FpmPool::DEFAULT_MAX_SPARE,
        1,
        "max_spare_servers",
    )?;
    let default_note = |given: bool| if given { "" } else { ", the default" };
    if max > max_children {
        cx.report(
            &p.key("max_spare_servers"),
            format!(
                "max_spare_servers ({max}{}) must not exceed max_children ({max_children})",
                default_note(raw.max_spare_servers.is_some())
            ),
        );
        return None;
    }
    if min > max {
        cx.report(
            &p.key("min_spare_servers"),
            format!(
                "min_spare_servers ({min}) must not exceed max_spare_servers ({max}{})",
                default_note(raw.max_spare_servers.is_some())
            ),
        );
        return None;
    }
    let start = cx.count(
        &p.key("start_servers"),
        raw.start_servers,
        min + (max - min) / 2,
        1,
        "start_servers",
    )?;
    if start < min || start > max {
        cx.report(
            &p.key("start_servers"),
            format!("start_servers ({start}) must lie between min_spare_servers ({min}) and max_spare_servers ({max})"),
        );
        return None;
    }
    Some(ProcessManager::Dynamic {
        start_servers: start,
        min_spare_servers: min,
        max_spare_servers: max,
    })
}

fn mysql(cx: &mut Ctx, p: &KeyPath, raw: &RawMySql) -> Option<MySql> {
    let max_connections = cx.count(
        &p.key("max_connections"),
        raw.max_connections,
        MySql::DEFAULT_MAX_CONNECTIONS,
        1,
        "max_connections",
    );
    let long_query_time = match &raw.long_query_time {
        Some(t) => cx.duration(&p.key("long_query_time"), t),
        None => Some(MySql::DEFAULT_LONG_QUERY_TIME_NS),
    };
    let lock_wait = match &raw.innodb_lock_wait_timeout {
        Some(t) => cx.duration(&p.key("innodb_lock_wait_timeout"), t).and_then(|ns| {
            if ns < 1_000_000_000 {
                cx.report(
                    &p.key("innodb_lock_wait_timeout"),
                    "innodb_lock_wait_timeout is at least 1s (MySQL's minimum)",
                );
                None
            } else {
                Some(ns)
            }
        }),
        None => Some(MySql::DEFAULT_LOCK_WAIT_TIMEOUT_NS),
    };
    Some(MySql {
        max_connections: max_connections?,
        long_query_time: long_query_time?,
        innodb_lock_wait_timeout: lock_wait?,
    })
}
