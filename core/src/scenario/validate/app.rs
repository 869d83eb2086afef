//! The application: endpoints, their steps and row locks.

use super::super::app::{App, Endpoint, Lock, Query, Step};
use super::super::locate::KeyPath;
use super::super::raw::{RawApp, RawStep};
use super::Ctx;

pub(super) fn app(cx: &mut Ctx, raw: &RawApp) -> Option<App> {
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
