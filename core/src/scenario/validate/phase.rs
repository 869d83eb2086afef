//! `[[phases]]`: the stretches of the run the report gives apart, or, when
//! none are named, the ones the rate profile suggests.

use super::super::limits::echo;
use super::super::locate::KeyPath;
use super::super::phase::{self, Phase};
use super::super::raw::{Field, RawPhase};
use super::super::traffic::Traffic;
use super::super::units::format_duration;
use super::{Ctx, is_safe_name};

/// The most phases a scenario names: each is a row of the report's tables.
pub const MAX_PHASES: usize = 64;

/// The named phases, or the derived ones when none are named. `None` when
/// the phases had problems (or the duration or traffic did: derived phases
/// need both).
pub(super) fn phases(
    cx: &mut Ctx<'_, '_>,
    raw: &Option<Field<Vec<Field<RawPhase>>>>,
    duration: Option<u64>,
    traffic: Option<&Traffic>,
) -> Option<Vec<Phase>> {
    let p = KeyPath::root().key("phases");
    let list = cx.get_as(&p, raw, "an array of tables, [[phases]]")?;
    let Some(list) = list.filter(|l| !l.is_empty()) else {
        return Some(phase::derive(&traffic?.workload, duration?));
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
                    "\"{}\" cannot name a phase: use letters, digits, '-', '_' and '.' (at most 100)",
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
        out.push(Phase {
            name: name.clone(),
            from,
            to,
            derived: false,
        });
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
}
