//! `[[phases]]`: the stretches of the run the report gives apart, or, when
//! none are named, the ones the rate profile suggests.

use super::super::Stats;
use super::super::limits::echo;
use super::super::locate::KeyPath;
use super::super::phase::{self, Phase};
use super::super::raw::{Field, RawPhase};
use super::super::traffic::Traffic;
use super::super::units::format_duration;
use super::{Ctx, is_safe_name};

use super::super::phase::MAX_PHASES;

/// The named phases, or the derived ones when none are named. `None` when
/// the phases had problems (or the duration or traffic did: derived phases
/// need both).
pub(super) fn phases(
    cx: &mut Ctx<'_, '_>,
    raw: &Option<Field<Vec<Field<RawPhase>>>>,
    duration: Option<u64>,
    traffic: Option<&Traffic>,
    stats: Option<&Stats>,
) -> Option<Vec<Phase>> {
    let p = KeyPath::root().key("phases");
    let list = cx.get_as(&p, raw, "an array of tables, [[phases]]")?;
    let Some(list) = list.filter(|l| !l.is_empty()) else {
        return Some(phase::derive(&traffic?.workload, duration?, stats?.window));
    };
    if list.len() > MAX_PHASES {
        cx.report(
            &p,
            format!("at most {MAX_PHASES} phases per scenario, found {}", list.len()),
        );
        return None;
    }
    let mut ok = true;
    let mut out: Vec<Phase> = Vec::new();
    for (i, f) in list.iter().enumerate() {
        let pp = p.index(i);
        let Some(raw) = cx.field(&pp, f, "") else {
            ok = false;
            continue;
        };
        let name = cx.get(&pp.key("name"), &raw.name);
        let from = cx.duration(&pp.key("from"), &raw.from);
        let to = cx.duration(&pp.key("to"), &raw.to);
        let (Some(name), Some(from), Some(to)) = (name, from, to) else {
            ok = false;
            continue;
        };
        let Some(name) = name else {
            cx.report(&pp, "a phase needs a name: name = \"sale\"");
            ok = false;
            continue;
        };
        if !is_safe_name(name) {
            cx.report(
                &pp.key("name"),
                format!(
                    "\"{}\" cannot name a phase: use ASCII letters, digits, '-', '_' and '.' (at most 100)",
                    echo(name)
                ),
            );
            ok = false;
            continue;
        }
        if out.iter().any(|o| &o.name == name) {
            cx.report(&pp.key("name"), format!("phase \"{name}\" is named twice"));
            ok = false;
            continue;
        }
        let from = from.unwrap_or(0);
        let to = match (to, duration) {
            (Some(t), _) => t,
            (None, Some(d)) => d,
            (None, None) => {
                ok = false;
                continue;
            }
        };
        if let Some(d) = duration
            && from >= d
        {
            cx.report(
                &pp.key("from"),
                format!(
                    "the phase starts at {}, when the run ({}) is over: start it before the run ends",
                    format_duration(from),
                    format_duration(d)
                ),
            );
            ok = false;
            continue;
        }
        if to <= from {
            cx.report(
                &pp.key("to"),
                format!(
                    "the phase ends ({}) before it starts ({}): `to` must be after `from`",
                    format_duration(to),
                    format_duration(from)
                ),
            );
            ok = false;
            continue;
        }
        if let Some(d) = duration
            && to > d
        {
            cx.report(
                &pp.key("to"),
                format!(
                    "the phase ends at {}, after the run ({}): end it by the run's duration",
                    format_duration(to),
                    format_duration(d)
                ),
            );
            ok = false;
            continue;
        }
        let phase = Phase {
            name: name.clone(),
            from,
            to,
            derived: false,
        };
        if let (Some(st), Some(d)) = (stats, duration)
            && let Some(problem) = phase.unmeasured(st, d)
        {
            cx.report(&pp, problem);
            ok = false;
            continue;
        }
        out.push(phase);
    }
    ok.then_some(out)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::scenario;

    const BASE: &str =
        "duration = \"60s\"\n[traffic]\nrate = 10\n[app.endpoints.home]\nsteps = [{ cpu = \"1ms\" }]\n[eras.stone]\n";

    fn problems(extra: &str) -> String {
        match scenario::parse(&format!("{BASE}{extra}"), Path::new("p.toml")) {
            Ok(_) => panic!("accepted {extra}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn named_phases_are_kept_in_the_file_s_order() {
        let s = scenario::parse(
            &format!("{BASE}[[phases]]\nname = \"sale\"\nfrom = \"20s\"\nto = \"40s\"\n[[phases]]\nname = \"after\"\nfrom = \"40s\"\n"),
            Path::new("p.toml"),
        )
        .unwrap();
        let got: Vec<_> = s
            .phases
            .iter()
            .map(|p| (p.name.as_str(), p.from / 1_000_000_000, p.to / 1_000_000_000, p.derived))
            .collect();
        assert_eq!(got, [("sale", 20, 40, false), ("after", 40, 60, false)]);
    }

    #[test]
    fn a_constant_rate_has_one_derived_phase() {
        let s = scenario::parse(BASE, Path::new("p.toml")).unwrap();
        assert_eq!(s.phases.len(), 1);
        assert!(s.phases[0].derived && s.phases[0].to == s.duration);
    }

    #[test]
    fn bad_phases_say_what_to_change() {
        let e = problems("[[phases]]\nname = \"sale\"\nfrom = \"40s\"\nto = \"20s\"\n");
        assert!(
            e.contains("phases[0].to") && e.contains("`to` must be after `from`"),
            "{e}"
        );
        let e = problems("[[phases]]\nname = \"sale\"\nto = \"90s\"\n");
        assert!(e.contains("after the run (1m)"), "{e}");
        let e = problems("[[phases]]\nname = \"a\"\n[[phases]]\nname = \"a\"\n");
        assert!(e.contains("phases[1].name") && e.contains("named twice"), "{e}");
        let e = problems("[[phases]]\nname = \"late\"\nfrom = \"70s\"\n");
        assert!(
            e.contains("phases[0].from") && e.contains("starts at 1m10s, when the run (1m) is over"),
            "{e}"
        );
        let e = problems("[[phases]]\nfrom = \"1s\"\n");
        assert!(e.contains("a phase needs a name"), "{e}");
        let e = problems("[[phases]]\nname = \"a\"\nstart = \"1s\"\n");
        assert!(e.contains("unknown key \"start\""), "{e}");
        let e = problems("[slo]\nduring = \"sael\"\n[[phases]]\nname = \"sale\"\n");
        assert!(
            e.contains("slo.during") && e.contains("no phase \"sael\"") && e.contains("sale"),
            "{e}"
        );
    }

    #[test]
    fn a_phase_without_a_measured_window_is_refused() {
        // Inside the warm-up.
        let e = problems("[stats]\nwarmup = \"20s\"\n[[phases]]\nname = \"early\"\nto = \"15s\"\n");
        assert!(
            e.contains("phases[0]") && e.contains("holds no statistics window after the warm-up"),
            "{e}"
        );
        // Shorter than a window and holding no window's middle.
        let e = problems("[stats]\nwindow = \"10s\"\n[[phases]]\nname = \"blip\"\nfrom = \"11s\"\nto = \"14s\"\n");
        assert!(e.contains("\"blip\" (11s to 14s) holds no statistics window"), "{e}");
        // A derived phase inside the warm-up cannot be judged on.
        let ramp = "duration = \"60s\"\n[stats]\nwarmup = \"20s\"\n[slo]\np99 = \"1s\"\nduring = \"ramp\"\n[traffic]\nprofile = [{ at = \"0s\", rate = 1 }, { at = \"10s\", rate = 10 }]\n[app.endpoints.home]\nsteps = [{ cpu = \"1ms\" }]\n[eras.stone]\n";
        let e = scenario::parse(ramp, Path::new("p.toml")).unwrap_err().to_string();
        assert!(e.contains("slo.during") && e.contains("phase \"ramp\""), "{e}");
    }

    #[test]
    fn a_new_duration_rederives_phases_and_moves_the_end_of_named_ones() {
        const S: u64 = 1_000_000_000;
        let profile = "duration = \"60s\"\n[traffic]\nprofile = [{ at = \"0s\", rate = 1 }, { at = \"30s\", rate = 1 }, { at = \"40s\", rate = 9 }]\n[app.endpoints.home]\nsteps = [{ cpu = \"1ms\" }]\n[eras.stone]\n";
        let mut s = scenario::parse(profile, Path::new("p.toml")).unwrap();
        s.set_duration(35 * S).unwrap();
        let got: Vec<_> = s.phases.iter().map(|p| (p.name.as_str(), p.to / S)).collect();
        assert_eq!(got, [("steady", 30), ("ramp", 35)]);
        let named = format!(
            "{BASE}[slo]\np99 = \"1s\"\nduring = \"after\"\n[[phases]]\nname = \"sale\"\nfrom = \"20s\"\nto = \"40s\"\n[[phases]]\nname = \"after\"\nfrom = \"40s\"\n"
        );
        let mut s = scenario::parse(&named, Path::new("p.toml")).unwrap();
        s.set_duration(90 * S).unwrap();
        assert_eq!(s.phases[1].to, 90 * S, "a phase to the run's end follows it");
        assert_eq!(s.slo.during.as_ref().unwrap().to, 90 * S);
        let e = s.set_duration(30 * S).unwrap_err();
        assert!(
            e.contains("\"sale\"") && e.contains("ends at 40s, after the run"),
            "{e}"
        );
        assert_eq!(s.duration, 90 * S, "a refused duration changes nothing");
    }

    #[test]
    fn a_warm_up_that_leaves_no_window_is_refused() {
        let e = problems("[stats]\nwindow = \"10s\"\nwarmup = \"55s\"\n");
        assert!(
            e.contains("stats.warmup") && e.contains("no statistics window starts after the warm-up"),
            "{e}"
        );
    }
}
