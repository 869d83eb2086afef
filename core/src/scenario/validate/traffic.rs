//! Traffic: the open or closed model, the client timeout and the mix, one
//! for the run or one per profile point.

use std::collections::HashMap;

use super::super::app::App;
use super::super::limits::{self, echo, echo_number};
use super::super::locate::KeyPath;
use indexmap::IndexMap;

use super::super::era::Kernel;
use super::super::mix::Mix;
use super::super::raw::{Field, RawPoint, RawRate, RawTraffic};
use super::super::traffic::{RateProfile, Traffic, Workload};
use super::super::units::{check_rate, format_duration, parse_rate};
use super::Ctx;

pub(super) fn traffic(cx: &mut Ctx<'_, '_>, raw: &RawTraffic, app: Option<&App>) -> Option<Traffic> {
    let p = KeyPath::root().key("traffic");
    let model = cx.choice_or(
        &p.key("model"),
        &raw.model,
        "traffic model",
        &[
            ("open (arrivals at a rate)", "open"),
            ("closed (users who think)", "closed"),
        ],
        "open",
    );
    let workload = match model {
        None => None,
        Some("open") => open(cx, &p, raw),
        Some(_) => closed(cx, &p, raw),
    };
    let timeout = cx.timeout(&p.key("timeout"), &raw.timeout, Some(60_000_000_000));
    let mix = app.and_then(|a| mix(cx, &p, raw, a, workload.as_ref()));
    let clients = clients(cx, &p, raw);
    Some(Traffic {
        workload: workload?,
        timeout: timeout?,
        mix: mix?,
        clients: clients?,
    })
}

/// The clients' kernel: how often, and when, their SYNs go again.
fn clients(cx: &mut Ctx<'_, '_>, p: &KeyPath, raw: &RawTraffic) -> Option<Kernel> {
    let (retries, linear) = super::era::syn_keys(
        cx,
        p,
        &raw.tcp_syn_retries,
        &raw.tcp_syn_linear_timeouts,
        "the clients' ",
    );
    Some(Kernel {
        tcp_syn_retries: retries?,
        tcp_syn_linear_timeouts: linear?,
        ..Kernel::default()
    })
}

fn open(cx: &mut Ctx<'_, '_>, p: &KeyPath, raw: &RawTraffic) -> Option<Workload> {
    for (key, given) in [("users", raw.users.is_some()), ("think", raw.think.is_some())] {
        if given {
            cx.report_key(
                &p.key(key),
                format!("\"{key}\" belongs to model = \"closed\"; an open model is driven by rate or profile"),
            );
        }
    }
    let rate_v = cx.get(&p.key("rate"), &raw.rate);
    let profile_v = cx.get(&p.key("profile"), &raw.profile);
    match (rate_v?, profile_v?) {
        (Some(_), Some(_)) => {
            cx.report(
                &p.key("profile"),
                "give either a constant \"rate\" or a \"profile\", not both",
            );
            None
        }
        (None, None) => {
            cx.report(
                p,
                "an open model needs rate = \"100/s\" or profile = [{ at = \"0s\", rate = \"100/s\" }, ...]",
            );
            None
        }
        (Some(r), None) => rate(cx, &p.key("rate"), r).map(|r| Workload::Open(RateProfile::constant(r))),
        (None, Some(points)) => profile(cx, &p.key("profile"), points).map(Workload::Open),
    }
}

fn closed(cx: &mut Ctx<'_, '_>, p: &KeyPath, raw: &RawTraffic) -> Option<Workload> {
    for (key, given) in [("rate", raw.rate.is_some()), ("profile", raw.profile.is_some())] {
        if given {
            // A mix per point comes with the profile: say where a closed
            // model's mix goes instead.
            let mixes = key == "profile" && !point_mixes(raw).iter().all(Option::is_none);
            let also = if mixes {
                "; its mix is one [traffic.mix], which cannot change over time"
            } else {
                ""
            };
            cx.report_key(
                &p.key(key),
                format!("\"{key}\" belongs to model = \"open\"; a closed model is driven by users and think{also}"),
            );
        }
    }
    let users = match cx.get(&p.key("users"), &raw.users) {
        None => None,
        Some(None) => {
            cx.report(
                p,
                "a closed model needs users = N (how many users loop over request and think)",
            );
            None
        }
        Some(Some(&u)) => cx.bounded(&p.key("users"), u, 1, limits::MAX_USERS, "users"),
    };
    let think = match cx.dist(&p.key("think"), &raw.think) {
        None => None,
        Some(None) => {
            cx.report(
                p,
                "a closed model needs think = \"exp(mean = 5s)\" (the pause between a response and the next request)",
            );
            None
        }
        Some(Some(d)) if d.mean() < 1_000.0 => {
            // A user who never pauses would retry an instant failure (a
            // full backlog) at the same instant forever.
            cx.report(&p.key("think"), "the think time must average at least 1us: users who never pause retry instant failures in the same instant forever");
            None
        }
        Some(Some(d)) => Some(d),
    };
    Some(Workload::Closed {
        users: users?,
        think: think?,
    })
}

pub(super) fn rate(cx: &mut Ctx<'_, '_>, p: &KeyPath, r: &RawRate) -> Option<f64> {
    let parsed = match r {
        RawRate::PerSecond(v) => check_rate(*v),
        RawRate::Text(t) => parse_rate(t),
    };
    match parsed {
        Ok(r) if r > limits::MAX_RATE_PER_SECOND => {
            cx.report(
                p,
                format!(
                    "a rate is at most 1,000,000,000/s (one arrival per nanosecond, the simulator's resolution), found {r:e}/s"
                ),
            );
            None
        }
        Ok(r) => Some(r),
        Err(e) => {
            cx.report(p, e);
            None
        }
    }
}

fn profile(cx: &mut Ctx<'_, '_>, p: &KeyPath, raw: &[Field<RawPoint>]) -> Option<RateProfile> {
    if raw.is_empty() {
        cx.report(
            p,
            "a profile needs at least one point, e.g. profile = [{ at = \"0s\", rate = \"100/s\" }]",
        );
        return None;
    }
    let mut points = Vec::new();
    let mut ok = true;
    for (i, pt) in raw.iter().enumerate() {
        let pp = p.index(i);
        let Some(pt) = cx.field(&pp, pt, "a point such as { at = \"10s\", rate = \"100/s\" }") else {
            ok = false;
            continue;
        };
        let at = match cx.duration(&pp.key("at"), &pt.at) {
            Some(None) => {
                cx.report(&pp, "a point needs at = \"10s\" (when the rate applies)");
                None
            }
            other => other.flatten(),
        };
        let r = match cx.get(&pp.key("rate"), &pt.rate) {
            Some(None) => {
                cx.report(&pp, "a point needs rate = \"100/s\"");
                None
            }
            Some(Some(r)) => rate(cx, &pp.key("rate"), r),
            None => None,
        };
        match (at, r) {
            (Some(at), Some(r)) => points.push((at, r)),
            _ => ok = false,
        }
    }
    if !ok {
        return None;
    }
    RateProfile::new(points)
        .map_err(|(i, e)| {
            let key = if e.contains("rate") { "rate" } else { "at" };
            cx.report(&p.index(i).key(key), e)
        })
        .ok()
}

/// A mix as written: endpoint names and their weights.
type RawMix = IndexMap<String, Field<f64>>;

/// The mix each profile point gives, by point (`None`: it gives none, or
/// the point or the profile is malformed, which `profile` reports).
fn point_mixes(raw: &RawTraffic) -> Vec<Option<&Field<RawMix>>> {
    let Some(Field {
        value: Some(points), ..
    }) = &raw.profile
    else {
        return Vec::new();
    };
    points
        .iter()
        .map(|pt| pt.value.as_ref().and_then(|pt| pt.mix.as_ref()))
        .collect()
}

/// `[traffic.mix]`, and the mixes of the profile's points: a point without
/// one takes `[traffic.mix]`, which may then be left out if every point has
/// its own.
fn mix(cx: &mut Ctx<'_, '_>, p: &KeyPath, raw: &RawTraffic, app: &App, workload: Option<&Workload>) -> Option<Mix> {
    let closed = raw.model.as_ref().and_then(|m| m.value.as_deref()) == Some("closed");
    let open = !closed;
    let raw_points = if open { point_mixes(raw) } else { Vec::new() };
    let everywhere = !raw_points.is_empty() && raw_points.iter().all(Option::is_some);
    let base = match cx.get(&p.key("mix"), &raw.mix) {
        None => None,
        // A bad [traffic.mix] is no base for the points without a mix.
        Some(Some(w)) => weights(cx, &p.key("mix"), w, app, "[traffic.mix]").map(Some),
        Some(None) if app.endpoints.len() == 1 => Some(Some(vec![(0, 1.0)])),
        Some(None) if everywhere => Some(None),
        Some(None) => {
            let names: Vec<_> = app
                .endpoints
                .iter()
                .take(6)
                .map(|e| format!("{} = 1", e.name))
                .collect();
            let more = if app.endpoints.len() > 6 { ", ..." } else { "" };
            cx.report(
                p,
                format!(
                    "with several endpoints, say how often each is requested: [traffic.mix] {}{more}",
                    names.join(", ")
                ),
            );
            None
        }
    };
    let mut own = Vec::new();
    let mut ok = true;
    for (i, m) in raw_points.iter().enumerate() {
        let mp = p.key("profile").index(i).key("mix");
        own.push(match m {
            None => None,
            Some(m) => match cx.field(&mp, m, "a mix such as { home = 90, checkout = 10 }") {
                None => {
                    ok = false;
                    None
                }
                Some(w) => {
                    let shares = weights(cx, &mp, w, app, "this point's mix");
                    ok &= shares.is_some();
                    shares
                }
            },
        });
    }
    let base = base?;
    if !ok {
        return None;
    }
    if own.iter().all(Option::is_none) {
        return base.map(Mix::constant);
    }
    let Some(Workload::Open(profile)) = workload else {
        return None;
    };
    let points = (profile.points().iter().zip(own))
        .map(|(&(t, _), own)| (t, own))
        .collect();
    Some(Mix::per_point(base.as_deref(), points))
}

/// One table of weights, made shares that add up to one; endpoints with
/// no share are left out. `table` names it in messages.
fn weights(cx: &mut Ctx<'_, '_>, p: &KeyPath, weights: &RawMix, app: &App, table: &str) -> Option<Vec<(usize, f64)>> {
    let index: HashMap<&str, usize> = app
        .endpoints
        .iter()
        .enumerate()
        .map(|(i, e)| (e.name.as_str(), i))
        .collect();
    let mut ok = true;
    let mut out = Vec::new();
    for (name, w) in weights {
        let wp = p.key(name);
        let w = cx.field(&wp, w, "a weight such as 35 (relative to the others)");
        let Some(&i) = index.get(name.as_str()) else {
            cx.report_key(
                &wp,
                format!(
                    "unknown endpoint \"{0}\": declare it as [app.endpoints.{0}]",
                    echo(name)
                ),
            );
            ok = false;
            continue;
        };
        let Some(&w) = w else {
            ok = false;
            continue;
        };
        if !(w.is_finite() && w >= 0.0) {
            cx.report(
                &wp,
                format!("a weight must be a non-negative number, found {}", echo_number(w)),
            );
            ok = false;
            continue;
        }
        out.push((i, w));
    }
    for e in &app.endpoints {
        if !weights.contains_key(&e.name) {
            cx.report(
                p,
                format!(
                    "endpoint \"{}\" is never requested: give it a weight in {table} (0 to keep it idle)",
                    e.name
                ),
            );
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    let total: f64 = out.iter().map(|x| x.1).sum();
    if !total.is_finite() {
        cx.report(
            p,
            format!("the weights add up to {total}, which is not a number the shares can be taken from: use smaller weights (they are relative, e.g. 35 and 5)"),
        );
        return None;
    }
    if total <= 0.0 {
        cx.report(
            p,
            "the weights add up to 0: give at least one endpoint a positive weight",
        );
        return None;
    }
    Some(
        out.into_iter()
            .filter(|x| x.1 > 0.0)
            .map(|(i, w)| (i, w / total))
            .filter(|x| x.1 > 0.0)
            .collect(),
    )
}

/// Refuses a run whose expected work would take far longer than anybody
/// waits for a simulation.
pub(super) fn work(cx: &mut Ctx<'_, '_>, traffic: &Traffic, app: &App, duration: u64, remote: bool) {
    if let Some(message) = work_problem(traffic, app, duration, remote) {
        cx.report(&KeyPath::root().key("traffic"), message);
    }
}

/// What is wrong with a run's expected work (requests × (steps + 1)), if
/// it exceeds [`limits::MAX_WORK`]. Where calls are `remote` (gold), each
/// call and branch is a request of its own and weighs as
/// [`limits::CALL_STEPS`] steps.
pub(in super::super) fn work_problem(traffic: &Traffic, app: &App, duration: u64, remote: bool) -> Option<String> {
    let how = match traffic.workload {
        Workload::Open(_) => "a lower rate or a shorter duration",
        Workload::Closed { .. } => "fewer users, a longer think time or a shorter duration",
    };
    work_problem_fixed_by(traffic, app, duration, remote, how)
}

/// [`work_problem`], whose message ends "use {how}".
pub(super) fn work_problem_fixed_by(
    traffic: &Traffic,
    app: &App,
    duration: u64,
    remote: bool,
    how: &str,
) -> Option<String> {
    let requests = traffic.expected_requests(duration);
    let steps: f64 = traffic
        .mean_mix(duration)
        .iter()
        .map(|&(i, share)| {
            let calls = if remote { app.subrequests(i) as f64 } else { 0.0 };
            share * (app.program_len(i) as f64 + limits::CALL_STEPS * calls)
        })
        .sum();
    let work = requests * (steps + 1.0);
    if work.is_finite() && work <= limits::MAX_WORK {
        return None;
    }
    let fits = (duration as f64 * limits::MAX_WORK / work) as u64;
    Some(format!(
        "this run would simulate about {requests:.2e} requests of {steps:.1} steps each in {} ({work:.2e} steps); one era may simulate at most {:.0e}: use {how} (the same traffic fits in about {})",
        format_duration(duration),
        limits::MAX_WORK,
        format_duration(fits)
    ))
}
