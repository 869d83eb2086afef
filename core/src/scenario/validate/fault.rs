//! `[[faults]]`: each entry's time, kind and target, checked against the
//! topology of every era it applies to.

use super::super::era::Era;
use super::super::fault::{Fault, FaultKind, LB_MASTER};
use super::super::limits::{self, echo, echo_number};
use super::super::locate::KeyPath;
use super::super::raw::{Field, RawFault};
use super::Ctx;
use crate::topology::{NodeKind, Topology};

/// Validates the faults and hands each era the ones that apply to it, in
/// time order. `eras` and `duration` are `None` when they had problems of
/// their own; the checks that need them are skipped.
pub(super) fn faults(
    cx: &mut Ctx<'_, '_>,
    raw: &Option<Field<Vec<Field<RawFault>>>>,
    eras: Option<&mut Vec<Era>>,
    duration: Option<u64>,
) -> Option<()> {
    let p = KeyPath::root().key("faults");
    let Some(list) = cx.get_as(&p, raw, "an array of tables, [[faults]]")? else {
        return Some(());
    };
    if list.len() > limits::MAX_FAULTS {
        cx.report(
            &p,
            format!(
                "at most {} faults per scenario, found {}",
                limits::MAX_FAULTS,
                list.len()
            ),
        );
        return None;
    }
    let topologies: Option<Vec<(String, Topology)>> = eras
        .as_ref()
        .map(|eras| eras.iter().map(|e| (e.label.clone(), e.topology())).collect());
    let mut ok = true;
    let mut out: Vec<(Vec<String>, Fault)> = Vec::new();
    for (i, f) in list.iter().enumerate() {
        let fp = p.index(i);
        let Some(raw) = cx.field(&fp, f, "") else {
            ok = false;
            continue;
        };
        match fault(cx, &fp, raw, duration, topologies.as_deref()) {
            Some(x) => out.push(x),
            None => ok = false,
        }
    }
    if !ok {
        return None;
    }
    // Two faults on one target at once have no single meaning.
    for (i, (ei, a)) in out.iter().enumerate() {
        for (eb, b) in &out[..i] {
            let same_era = ei.iter().any(|e| eb.contains(e));
            let overlap = a.at < b.until.unwrap_or(u64::MAX) && b.at < a.until.unwrap_or(u64::MAX);
            if same_era && a.target == b.target && overlap {
                cx.report(
                    &p.index(i),
                    format!(
                        "this fault on \"{}\" overlaps an earlier one on the same target: give one of them a `for` that ends before the other starts",
                        a.target
                    ),
                );
                ok = false;
            }
        }
    }
    if let (true, Some(eras)) = (ok, eras) {
        for era in eras.iter_mut() {
            era.faults = out
                .iter()
                .filter(|(labels, _)| labels.contains(&era.label))
                .map(|(_, f)| f.clone())
                .collect();
            era.faults.sort_by_key(|f| f.at);
        }
    }
    ok.then_some(())
}

/// One entry, and the labels of the eras it applies to.
fn fault(
    cx: &mut Ctx<'_, '_>,
    p: &KeyPath,
    raw: &RawFault,
    duration: Option<u64>,
    topologies: Option<&[(String, Topology)]>,
) -> Option<(Vec<String>, Fault)> {
    // Every key is read before any is combined with another, so that a
    // bad one hides none of the others.
    let at = match cx.duration(&p.key("at"), &raw.at) {
        None => None,
        Some(None) => {
            cx.report(p, "missing key \"at\": when the fault strikes, e.g. at = \"5m\"");
            None
        }
        Some(Some(at)) => Some(at),
    };
    let span = match cx.duration(&p.key("for"), &raw.for_) {
        Some(Some(0)) => {
            cx.report(
                &p.key("for"),
                "for must be longer than 0s (leave it out for a fault that lasts)",
            );
            None
        }
        d => d,
    };
    let kinds = [
        ("crash", FaultKind::Crash),
        ("isolate", FaultKind::Isolate),
        // Its factor is read below.
        ("slow", FaultKind::Slow { factor: 0.0 }),
        ("restart", FaultKind::Restart),
    ];
    let kind = match cx.choice(&p.key("kind"), &raw.kind, "fault kind", &kinds) {
        None => None,
        Some(None) => {
            let names = super::one_of(kinds.iter().map(|(n, _)| format!("\"{n}\"")));
            cx.report(p, format!("missing key \"kind\": one of {names}"));
            None
        }
        Some(Some(k)) => Some(k),
    };
    let slow = matches!(kind, Some(FaultKind::Slow { .. }));
    // A factor beside another kind is misplaced whatever its value; beside
    // a kind that could not be read, its own type is still checked.
    let misplaced = raw.factor.is_some() && kind.is_some() && !slow;
    let factor = if misplaced {
        cx.report_key(&p.key("factor"), "\"factor\" only applies to kind = \"slow\"");
        None
    } else {
        cx.get(&p.key("factor"), &raw.factor)
    };
    let kind = match (kind, factor) {
        (Some(FaultKind::Slow { .. }), None) => None,
        (Some(FaultKind::Slow { .. }), Some(None)) => {
            cx.report(
                p,
                "a slow fault needs factor, the share of its speed the host keeps (e.g. 0.5)",
            );
            None
        }
        (Some(FaultKind::Slow { .. }), Some(Some(&f))) if f > 0.0 && f <= 1.0 => Some(FaultKind::Slow { factor: f }),
        (Some(FaultKind::Slow { .. }), Some(Some(&f))) => {
            cx.report(
                &p.key("factor"),
                format!(
                    "factor is the share of its speed the host keeps, above 0 and at most 1, found {}",
                    echo_number(f)
                ),
            );
            None
        }
        (k, _) => k,
    };
    let target = match cx.get(&p.key("target"), &raw.target) {
        None => None,
        Some(None) => {
            cx.report(
                p,
                "missing key \"target\": the host to strike, e.g. target = \"web[0]\" or \"lb.master\"",
            );
            None
        }
        Some(Some(t)) => Some(t.clone()),
    };
    let ep = p.key("eras");
    let labels = match cx.get_as(&ep, &raw.eras, "an array of era labels") {
        None => None,
        Some(None) => topologies.map(|t| t.iter().map(|(l, _)| l.clone()).collect::<Vec<_>>()),
        Some(Some(list)) => {
            let mut ok = true;
            let mut labels = Vec::new();
            for (i, l) in list.iter().enumerate() {
                let Some(l) = cx.field(&ep.index(i), l, "an era label") else {
                    ok = false;
                    continue;
                };
                if topologies.is_some_and(|t| !t.iter().any(|(label, _)| label == l)) {
                    cx.report(&ep.index(i), format!("no era is labelled \"{}\"", echo(l)));
                    ok = false;
                }
                labels.push(l.clone());
            }
            ok.then_some(labels)
        }
    };
    let mut ok = !misplaced;
    if let Some((at, d)) = at.zip(duration).filter(|(at, d)| at >= d) {
        cx.report(
            &p.key("at"),
            format!(
                "the fault strikes at {} but the run lasts {}: it would never happen",
                super::super::units::format_duration(at),
                super::super::units::format_duration(d)
            ),
        );
        ok = false;
    }
    // The target is checked in every era it applies to, whatever else is
    // wrong with the entry.
    if let (Some(target), Some(kind), Some(labels), Some(topologies)) = (&target, kind, &labels, topologies) {
        for (label, t) in topologies.iter().filter(|(l, _)| labels.contains(l)) {
            if let Err(why) = check_target(t, target, kind) {
                cx.report(&p.key("target"), format!("in era \"{label}\": {why}"));
                ok = false;
            }
        }
    }
    // A restart is the software down for a while: without `for` it would
    // be down for good (a crash without the lost work) or up at once (no
    // fault at all), and neither is what a restart means.
    if kind == Some(FaultKind::Restart) && matches!(span, Some(None)) {
        cx.report(
            p,
            "a restart needs \"for\": how long the software is down before it starts again, e.g. for = \"10s\"",
        );
        ok = false;
    }
    let (at, span, kind, target, labels) = (at?, span?, kind?, target?, labels?);
    let fault = Fault {
        at,
        until: span.map(|s| at.saturating_add(s)),
        kind,
        target,
    };
    ok.then_some((labels, fault))
}

/// Whether `target` names something `kind` can strike in `t`.
fn check_target(t: &Topology, target: &str, kind: FaultKind) -> Result<(), String> {
    let has_vip = t.nodes.iter().any(|n| matches!(n.kind, NodeKind::Vip { .. }));
    if target == LB_MASTER {
        if !has_vip {
            return Err("\"lb.master\" needs a balancer pair under a VIP (the silver era has one)".into());
        }
        return Ok(());
    }
    let Some(host) = t.hosts.iter().position(|h| h.name == target) else {
        let mut names: Vec<&str> = t.hosts.iter().take(6).map(|h| h.name.as_str()).collect();
        if t.hosts.len() > 6 {
            names.push("…");
        }
        let vip = if has_vip { ", lb.master" } else { "" };
        // A web node past the last is most often a `nodes` that changed.
        let webs = t.hosts.iter().filter(|h| h.name.starts_with("web[")).count();
        if webs > 0 && target.starts_with("web[") {
            return Err(format!(
                "no host is named \"{}\": the era's {webs} web node{} (nodes = {webs}) {} web[0]{}",
                echo(target),
                if webs == 1 { "" } else { "s" },
                if webs == 1 { "is" } else { "are" },
                if webs == 1 {
                    String::new()
                } else {
                    format!(" to web[{}]", webs - 1)
                },
            ));
        }
        return Err(format!(
            "no host is named \"{}\" (hosts: {}{vip})",
            echo(target),
            names.join(", ")
        ));
    };
    // A database host that dies takes every connection with it, and what
    // PHP then sees (connect and read timeouts) is not modelled yet.
    let runs_db = t
        .nodes
        .iter()
        .any(|n| n.host.0 as usize == host && matches!(n.kind, NodeKind::MySql(_)));
    if runs_db && !matches!(kind, FaultKind::Slow { .. }) {
        return Err(format!(
            "\"{target}\" runs MySQL; only kind = \"slow\" is modelled on a database host so far"
        ));
    }
    Ok(())
}
