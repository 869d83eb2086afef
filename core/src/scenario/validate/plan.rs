//! `[plan]`: the load `lab plan` plans for, how many replications and how
//! narrow an interval it asks, and the ranges its search moves knobs in.

use super::super::app::App;
use super::super::limits::{self, echo, echo_number};
use super::super::locate::KeyPath;
use super::super::plan::{KnobRange, KnobRanges, PlanSpec, PmChoice};
use super::super::raw::{Field, Opt, RawPlan, RawPlanFpm, RawPlanHost, RawPlanMySql, RawPlanServices, RawRange};
use super::super::raw::{RawRate, RawTraffic};
use super::super::traffic::{RateProfile, Traffic, Workload};
use super::super::units::parse_percent;
use super::traffic::{rate, work_problem_fixed_by};
use super::{Ctx, thousands};

/// What the target's work is checked against: the validated traffic and
/// app, the run's duration and whether calls are remote (as for
/// [`super::work_problem`]).
pub(super) type Run<'a> = (&'a Traffic, &'a App, u64, bool);

/// `[plan]`, or its defaults when the file has none. `traffic` is the raw
/// table, so that a target under a closed model is reported even when the
/// traffic has problems of its own; `run` is `None` when something it
/// needs has problems (reported where they are).
pub(super) fn plan(
    cx: &mut Ctx<'_, '_>,
    raw: &Opt<RawPlan>,
    traffic: &Opt<RawTraffic>,
    run: Option<Run<'_>>,
) -> Option<PlanSpec> {
    let p = KeyPath::root().key("plan");
    let default = RawPlan::default();
    let raw = cx.table(&p, raw, &default)?;
    let closed = traffic
        .as_ref()
        .and_then(|t| t.value.as_ref())
        .and_then(|t| t.model.as_ref())
        .and_then(|m| m.value.as_deref())
        == Some("closed");
    let target = target(cx, &p.key("target"), &raw.target, closed, run);
    let replications = cx.count(
        &p.key("replications"),
        &raw.replications,
        PlanSpec::DEFAULT_REPLICATIONS,
        1,
        PlanSpec::MAX_REPLICATIONS,
        "replications",
    );
    let tolerance = tolerance(cx, &p.key("tolerance"), &raw.tolerance);
    let ranges = ranges(cx, &p, raw);
    Some(PlanSpec {
        target: target?,
        replications: replications?,
        tolerance: tolerance?,
        ranges: ranges?,
    })
}

fn target(
    cx: &mut Ctx<'_, '_>,
    p: &KeyPath,
    f: &Opt<RawRate>,
    closed: bool,
    run: Option<Run<'_>>,
) -> Option<Option<f64>> {
    let Some(r) = cx.get(p, f)? else {
        return Some(None);
    };
    if closed {
        cx.report_key(
            p,
            "target is a peak arrival rate and applies to open models only; this traffic is model = \"closed\" (users who think): leave target out to plan for its users",
        );
        return None;
    }
    let r = rate(cx, p, r)?;
    if r <= 0.0 {
        cx.report(
            p,
            format!(
                "target must be above 0/s (it is the peak arrival rate the configuration must carry), found {}/s",
                echo_number(r)
            ),
        );
        return None;
    }
    if let Some((traffic, app, duration, remote)) = run {
        let problem = match &traffic.workload {
            Workload::Open(profile) if profile.peak() <= 0.0 => Some(
                "the traffic's rate is 0/s throughout: target scales the profile so that its peak is the target, and a profile without a peak cannot be scaled: give it a positive rate".to_string(),
            ),
            _ => target_work_problem(traffic, app, duration, remote, r),
        };
        if let Some(m) = problem {
            cx.report(p, m);
            return None;
        }
    }
    Some(Some(r))
}

/// What is wrong with the work of the traffic scaled so that its peak is
/// `target` (the load `lab plan` runs at), if it exceeds
/// [`limits::MAX_WORK`]; `None` for a closed model or a profile that is 0
/// throughout, which a target does not scale.
pub(in super::super) fn target_work_problem(
    traffic: &Traffic,
    app: &App,
    duration: u64,
    remote: bool,
    target: f64,
) -> Option<String> {
    let Workload::Open(profile) = &traffic.workload else {
        return None;
    };
    let peak = profile.peak();
    if peak <= 0.0 {
        return None;
    }
    let k = target / peak;
    // Scaling keeps the points' times and order, and rates stay finite
    // and non-negative: the profile's invariants hold.
    let scaled = RateProfile::new(profile.points().iter().map(|&(t, r)| (t, r * k)).collect()).ok()?;
    let scaled = Traffic {
        workload: Workload::Open(scaled),
        ..traffic.clone()
    };
    let m = work_problem_fixed_by(&scaled, app, duration, remote, "a lower target or a shorter duration")?;
    Some(format!(
        "with its profile scaled to peak at the target, {}/s, {m}",
        echo_number(target)
    ))
}

fn tolerance(cx: &mut Ctx<'_, '_>, p: &KeyPath, f: &Opt<String>) -> Option<f64> {
    let text = cx.get_as(p, f, "a percentage such as \"5%\"")?;
    let Some(text) = text else {
        return Some(PlanSpec::DEFAULT_TOLERANCE);
    };
    let share = parse_percent(text).map_err(|e| cx.report(p, e)).ok()?;
    if !(PlanSpec::MIN_TOLERANCE..=PlanSpec::MAX_TOLERANCE).contains(&share) {
        cx.report(
            p,
            format!(
                "tolerance lies from {}% to {}% (the capacity's interval, as a share of the capacity, at which the search stops), found \"{}\"",
                PlanSpec::MIN_TOLERANCE * 100.0,
                PlanSpec::MAX_TOLERANCE * 100.0,
                echo(text.trim())
            ),
        );
        return None;
    }
    Some(share)
}

/// Every range; each bounded by the limit an era's key of the same
/// setting has, so that the search never proposes an era validation
/// would refuse.
fn ranges(cx: &mut Ctx<'_, '_>, p: &KeyPath, raw: &RawPlan) -> Option<KnobRanges> {
    let nodes = range(
        cx,
        &p.key("nodes"),
        &raw.nodes,
        limits::MAX_WEB_NODES,
        "nodes (web nodes)",
    );
    let host_cores = |cx: &mut Ctx<'_, '_>, key: &str, f: &Opt<RawPlanHost>| {
        let hp = p.key(key);
        let default = RawPlanHost::default();
        let h = cx.table(&hp, f, &default)?;
        range(cx, &hp.key("cores"), &h.cores, limits::MAX_CORES, "cores")
    };
    let host = host_cores(cx, "host", &raw.host);
    let web = host_cores(cx, "web", &raw.web);
    let db = host_cores(cx, "db", &raw.db);

    let fp = p.key("fpm");
    let default = RawPlanFpm::default();
    let fpm = cx.table(&fp, &raw.fpm, &default).map(|f| {
        let children = range(
            cx,
            &fp.key("max_children"),
            &f.max_children,
            limits::MAX_FPM_CHILDREN,
            "max_children (pm.max_children)",
        );
        (children, pm(cx, &fp.key("pm"), &f.pm))
    });
    let (max_children, pm) = fpm.unzip();

    let mp = p.key("mysql");
    let default = RawPlanMySql::default();
    let max_connections = cx.table(&mp, &raw.mysql, &default).and_then(|m| {
        range(
            cx,
            &mp.key("max_connections"),
            &m.max_connections,
            limits::MAX_DB_CONNECTIONS,
            "max_connections",
        )
    });

    let sp = p.key("services");
    let default = RawPlanServices::default();
    let services = cx.table(&sp, &raw.services, &default).map(|s| {
        let nodes = range(
            cx,
            &sp.key("nodes"),
            &s.nodes,
            limits::MAX_WEB_NODES,
            "nodes (a service's nodes)",
        );
        let cores = range(cx, &sp.key("cores"), &s.cores, limits::MAX_CORES, "cores");
        (nodes, cores)
    });
    let (service_nodes, service_cores) = services.unzip();

    Some(KnobRanges {
        nodes: nodes?,
        host_cores: host?,
        web_cores: web?,
        db_cores: db?,
        max_children: max_children.flatten()?,
        pm: pm.flatten()?,
        max_connections: max_connections?,
        service_nodes: service_nodes.flatten()?,
        service_cores: service_cores.flatten()?,
    })
}

/// A range `[min, max]`, both from 1 to `max`: absent → `Some(None)`.
/// `what` names the setting in messages.
fn range(cx: &mut Ctx<'_, '_>, p: &KeyPath, f: &Opt<RawRange>, limit: u32, what: &str) -> Option<Option<KnobRange>> {
    let shape = "a range [min, max] of whole numbers, such as [2, 16]";
    let Some(list) = cx.get_as(p, f, shape)? else {
        return Some(None);
    };
    if list.len() != 2 {
        cx.report(
            p,
            format!(
                "a range is two whole numbers, [min, max], found {} value{}",
                list.len(),
                if list.len() == 1 { "" } else { "s" }
            ),
        );
        return None;
    }
    // Both ends are read before either is refused, so that one run
    // reports both.
    let ends: Vec<Option<u32>> = (list.iter().enumerate())
        .map(|(i, end)| {
            let ep = p.index(i);
            let &v = cx.field(&ep, end, "a whole number")?;
            if v < 1 || v > i64::from(limit) {
                cx.report(
                    &ep,
                    format!(
                        "a range of {what} lies from 1 to {} (an era's own limits), found {v}",
                        thousands(limit)
                    ),
                );
                return None;
            }
            Some(v as u32)
        })
        .collect();
    let (Some(min), Some(max)) = (ends[0], ends[1]) else {
        return None;
    };
    if min > max {
        cx.report(
            p,
            format!("the range [{min}, {max}] has its min above its max: write it [min, max], [{max}, {min}]"),
        );
        return None;
    }
    Some(Some(KnobRange { min, max }))
}

/// `fpm.pm`: the process managers to try, at least one, each once.
fn pm(cx: &mut Ctx<'_, '_>, p: &KeyPath, f: &Opt<Vec<Field<String>>>) -> Option<Option<Vec<PmChoice>>> {
    const NAMES: [(&str, PmChoice); 3] = [
        ("static", PmChoice::Static),
        ("dynamic", PmChoice::Dynamic),
        ("ondemand", PmChoice::OnDemand),
    ];
    let Some(list) = cx.get_as(p, f, "a list of process managers, such as [\"static\", \"dynamic\"]")? else {
        return Some(None);
    };
    if list.is_empty() {
        cx.report(
            p,
            "pm lists the process managers to try: give at least one of \"static\", \"dynamic\" and \"ondemand\", or leave pm out to keep each era's own",
        );
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for (i, f) in list.iter().enumerate() {
        let ep = p.index(i);
        match cx.pick(&ep, f, "pm", &NAMES) {
            Some(c) if out.contains(&c) => {
                cx.report(&ep, format!("pm \"{}\" is listed twice: list each once", c.name()));
                ok = false;
            }
            Some(c) => out.push(c),
            None => ok = false,
        }
    }
    ok.then_some(Some(out))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::scenario::{self, KnobRange, KnobRanges, PlanSpec, PmChoice};

    const BASE: &str =
        "duration = \"60s\"\n[traffic]\nrate = 10\n[app.endpoints.home]\nsteps = [{ cpu = \"1ms\" }]\n[eras.stone]\n";

    fn plan(extra: &str) -> PlanSpec {
        match scenario::parse(&format!("{BASE}{extra}"), Path::new("p.toml")) {
            Ok(s) => s.plan,
            Err(e) => panic!("refused {extra}: {e}"),
        }
    }

    fn problems(extra: &str) -> String {
        match scenario::parse(&format!("{BASE}{extra}"), Path::new("p.toml")) {
            Ok(_) => panic!("accepted {extra}"),
            Err(e) => e.to_string(),
        }
    }

    fn r(min: u32, max: u32) -> Option<KnobRange> {
        Some(KnobRange { min, max })
    }

    #[test]
    fn a_full_plan_is_read() {
        let got = plan(
            "[plan]\ntarget = \"3000/s\"\nreplications = 7\ntolerance = \"2.5%\"\nnodes = [1, 8]\n\
             host.cores = [2, 32]\nweb.cores = [2, 16]\ndb.cores = [4, 16]\nfpm.max_children = [8, 128]\n\
             fpm.pm = [\"static\", \"dynamic\", \"ondemand\"]\nmysql.max_connections = [151, 600]\n\
             services.nodes = [1, 4]\nservices.cores = [1, 2]\n",
        );
        assert_eq!(
            got,
            PlanSpec {
                target: Some(3000.0),
                replications: 7,
                tolerance: 0.025,
                ranges: KnobRanges {
                    nodes: r(1, 8),
                    host_cores: r(2, 32),
                    web_cores: r(2, 16),
                    db_cores: r(4, 16),
                    max_children: r(8, 128),
                    pm: Some(vec![PmChoice::Static, PmChoice::Dynamic, PmChoice::OnDemand]),
                    max_connections: r(151, 600),
                    service_nodes: r(1, 4),
                    service_cores: r(1, 2),
                },
            }
        );
        // Tables written out read the same as dotted keys; a bare number
        // is a rate per second, as everywhere.
        let got = plan("[plan]\ntarget = 50\n[plan.fpm]\nmax_children = [5, 5]\n");
        assert_eq!(got.target, Some(50.0));
        assert_eq!(got.ranges.max_children, r(5, 5));
        assert_eq!(got.ranges.pm, None);
    }

    #[test]
    fn no_plan_is_the_defaults() {
        assert_eq!(plan(""), PlanSpec::default());
        assert_eq!(plan("[plan]\n"), PlanSpec::default());
    }

    #[test]
    fn bad_ranges_say_what_a_range_is() {
        let e = problems("[plan]\nfpm.max_children = [128, 8]\n");
        assert!(
            e.contains("plan.fpm.max_children:") && e.contains("[128, 8] has its min above its max"),
            "{e}"
        );
        let e = problems("[plan]\nnodes = [0, 4]\n");
        assert!(
            e.contains("plan.nodes[0]") && e.contains("from 1 to 10,000") && e.contains("found 0"),
            "{e}"
        );
        let e = problems("[plan]\nweb.cores = [1, 2, 4]\n");
        assert!(
            e.contains("plan.web.cores:") && e.contains("two whole numbers, [min, max], found 3 values"),
            "{e}"
        );
        let e = problems("[plan]\ndb.cores = [1, 2.5]\n");
        assert!(
            e.contains("plan.db.cores[1]") && e.contains("expected a whole number, found the number 2.5"),
            "{e}"
        );
        let e = problems("[plan]\nhost.cores = 4\n");
        assert!(
            e.contains("plan.host.cores") && e.contains("expected a range [min, max]"),
            "{e}"
        );
        // The same bound as the era's key.
        let e = problems("[plan]\nmysql.max_connections = [151, 100001]\n");
        assert!(
            e.contains("plan.mysql.max_connections[1]") && e.contains("from 1 to 100,000"),
            "{e}"
        );
        let e = problems("[plan]\nservices.cores = [1, 2000]\n");
        assert!(
            e.contains("plan.services.cores[1]") && e.contains("from 1 to 1,024"),
            "{e}"
        );
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let e = problems("[plan]\nreplications = 0\nnodes = [0, 0]\nfpm.pm = []\ntolerance = \"80%\"\n");
        for key in [
            "plan.replications",
            "plan.nodes[0]",
            "plan.nodes[1]",
            "plan.fpm.pm",
            "plan.tolerance",
        ] {
            assert!(e.contains(&format!("{key}:")), "{key} missing from {e}");
        }
    }

    #[test]
    fn bad_process_managers_are_named() {
        let e = problems("[plan]\nfpm.pm = [\"static\", \"bogus\"]\n");
        assert!(
            e.contains("plan.fpm.pm[1]")
                && e.contains("unknown pm \"bogus\": expected \"static\", \"dynamic\" or \"ondemand\""),
            "{e}"
        );
        let e = problems("[plan]\nfpm.pm = []\n");
        assert!(e.contains("plan.fpm.pm:") && e.contains("give at least one"), "{e}");
        let e = problems("[plan]\nfpm.pm = [\"static\", \"static\"]\n");
        assert!(e.contains("plan.fpm.pm[1]") && e.contains("listed twice"), "{e}");
    }

    #[test]
    fn bad_settings_say_what_is_allowed() {
        let e = problems("[plan]\ntolerance = \"80%\"\n");
        assert!(
            e.contains("plan.tolerance") && e.contains("from 0.1% to 50%") && e.contains("found \"80%\""),
            "{e}"
        );
        let e = problems("[plan]\nreplications = 0\n");
        assert!(
            e.contains("plan.replications") && e.contains("at least 1, found 0"),
            "{e}"
        );
        let e = problems("[plan]\nreplications = 101\n");
        assert!(e.contains("at most 100, found 101"), "{e}");
        let e = problems("[plan]\ntarget = \"0/s\"\n");
        assert!(e.contains("plan.target") && e.contains("must be above 0/s"), "{e}");
        let e = problems("[plan]\ntarget = \"fast\"\n");
        assert!(e.contains("plan.target") && e.contains("has no unit"), "{e}");
    }

    #[test]
    fn unknown_keys_list_the_known_ones() {
        let e = problems("[plan]\nweb.ram = [1, 2]\n");
        assert!(
            e.contains("p.toml:8:5: plan.web.ram: unknown key \"ram\": [plan.web] takes cores"),
            "{e}"
        );
        let e = problems("[plan]\nrate = \"5/s\"\n");
        assert!(
            e.contains("plan.rate: unknown key \"rate\"") && e.contains("target, replications, tolerance, nodes"),
            "{e}"
        );
    }

    #[test]
    fn a_target_belongs_to_an_open_model() {
        let closed = "duration = \"60s\"\n[traffic]\nmodel = \"closed\"\nusers = 10\nthink = \"1s\"\n[app.endpoints.home]\nsteps = [{ cpu = \"1ms\" }]\n[eras.stone]\n[plan]\ntarget = \"100/s\"\n";
        let e = scenario::parse(closed, Path::new("p.toml")).unwrap_err().to_string();
        assert!(
            e.contains("plan.target") && e.contains("peak arrival rate and applies to open models only"),
            "{e}"
        );
    }

    #[test]
    fn a_target_must_fit_the_work_limit() {
        // 10/s at peak for a minute is far inside it; scaled a
        // hundred-million-fold it is not.
        let e = problems("[plan]\ntarget = \"1000000000/s\"\n");
        assert!(
            e.contains("plan.target") && e.contains("scaled to peak at the target") && e.contains("a lower target"),
            "{e}"
        );
        // The profile's shape is scaled, not its mean: a short spike to
        // 10/s over a base of 1/s.
        let spike = "duration = \"60s\"\n[traffic]\nprofile = [{ at = \"0s\", rate = 1 }, { at = \"30s\", rate = 10 }, { at = \"31s\", rate = 1 }]\n[app.endpoints.home]\nsteps = [{ cpu = \"1ms\" }]\n[eras.stone]\n[plan]\ntarget = \"3000000/s\"\n";
        assert!(scenario::parse(spike, Path::new("p.toml")).is_ok());
        let mut s = scenario::parse(spike, Path::new("p.toml")).unwrap();
        let e = s.set_duration(3_600_000_000_000).unwrap_err();
        assert!(e.contains("plan.target") && e.contains("a lower target"), "{e}");
    }
}
