//! Traffic: the open or closed model, the client timeout and the mix.

use super::super::app::App;
use super::super::locate::KeyPath;
use super::super::raw::{RawPoint, RawRate, RawTraffic};
use super::super::traffic::{RateProfile, Traffic, Workload};
use super::super::units::{check_rate, parse_rate};
use super::Ctx;

pub(super) fn traffic(cx: &mut Ctx, raw: &RawTraffic, app: Option<&App>) -> Option<Traffic> {
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
