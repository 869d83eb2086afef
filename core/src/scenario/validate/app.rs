//! The application: endpoints, their steps and row locks.

use std::collections::HashMap;

use super::super::app::{App, Endpoint, Lock, Query, Step};
use super::super::limits::{self, echo};
use super::super::locate::KeyPath;
use super::super::raw::{Field, RawApp, RawStep};
use super::{Ctx, is_safe_name};

pub(super) fn app(cx: &mut Ctx<'_, '_>, raw: &RawApp) -> Option<App> {
    let p = KeyPath::root().key("app");
    let mut ok = true;
    let mut locks = Vec::new();
    let lock_map = cx.get(&p.key("locks"), &raw.locks);
    ok &= lock_map.is_some();
    for (name, l) in lock_map.flatten().into_iter().flatten() {
        let lp = p.key("locks").key(name);
        ok &= checked_name(cx, &lp, name, "a lock");
        let Some(l) = cx.field(&lp, l, "") else {
            ok = false;
            continue;
        };
        let rows = cx.count(&lp.key("rows"), &l.rows, 1, 1, limits::MAX_LOCK_ROWS, "rows");
        ok &= rows.is_some();
        locks.push(Lock {
            name: name.clone(),
            rows: rows.unwrap_or(1),
        });
    }
    let lock_index: HashMap<&str, usize> = locks.iter().enumerate().map(|(i, l)| (l.name.as_str(), i)).collect();

    let eps = match cx.get(&p.key("endpoints"), &raw.endpoints) {
        None => return None,
        Some(None) => {
            cx.report(
                &p,
                "declare at least one endpoint, e.g. [app.endpoints.home] steps = [{ cpu = \"5ms\" }]",
            );
            return None;
        }
        Some(Some(e)) => e,
    };
    if eps.is_empty() {
        cx.report(
            &p.key("endpoints"),
            "declare at least one endpoint, e.g. [app.endpoints.home] steps = [{ cpu = \"5ms\" }]",
        );
        return None;
    }
    if eps.len() > limits::MAX_ENDPOINTS {
        cx.report(
            &p.key("endpoints"),
            format!(
                "an application has at most {} endpoints, found {}",
                limits::MAX_ENDPOINTS,
                eps.len()
            ),
        );
        return None;
    }
    let mut endpoints = Vec::new();
    for (name, e) in eps {
        let ep = p.key("endpoints").key(name);
        ok &= checked_name(cx, &ep, name, "an endpoint");
        let Some(e) = cx.field(&ep, e, "") else {
            ok = false;
            continue;
        };
        let steps = match cx.get(&ep.key("steps"), &e.steps) {
            None => None,
            Some(None) => {
                cx.report(
                    &ep,
                    "an endpoint needs steps, e.g. steps = [{ cpu = \"5ms\" }, { query = \"load\", db_cpu = \"1ms\" }]",
                );
                None
            }
            Some(Some(s)) => steps(cx, &ep.key("steps"), s, &lock_index),
        };
        match steps {
            Some(steps) => endpoints.push(Endpoint {
                name: name.clone(),
                steps,
            }),
            None => ok = false,
        }
    }
    ok.then_some(App { endpoints, locks })
}

/// Endpoint and lock names appear in reports and, later, in file names.
fn checked_name(cx: &mut Ctx<'_, '_>, p: &KeyPath, name: &str, what: &str) -> bool {
    if is_safe_name(name) {
        return true;
    }
    cx.report_key(
        p,
        format!(
            "{what} name may hold letters, digits, '-', '_' and '.', not start with '.' and be at most 100 characters, found \"{}\"",
            echo(name)
        ),
    );
    false
}

fn steps(cx: &mut Ctx<'_, '_>, p: &KeyPath, raw: &[Field<RawStep>], locks: &HashMap<&str, usize>) -> Option<Vec<Step>> {
    if raw.is_empty() {
        cx.report(p, "an endpoint needs at least one step, e.g. { cpu = \"5ms\" }");
        return None;
    }
    if raw.len() > limits::MAX_STEPS {
        cx.report(
            p,
            format!(
                "an endpoint has at most {} steps, found {}",
                limits::MAX_STEPS,
                raw.len()
            ),
        );
        return None;
    }
    let mut ok = true;
    let mut out = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        let sp = p.index(i);
        match cx
            .field(&sp, s, "a step such as { cpu = \"5ms\" }")
            .and_then(|s| step(cx, &sp, s, locks))
        {
            Some(s) => out.push(s),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn step(cx: &mut Ctx<'_, '_>, p: &KeyPath, s: &RawStep, locks: &HashMap<&str, usize>) -> Option<Step> {
    let cpu = cx.dist(&p.key("cpu"), &s.cpu);
    let query = cx.get_as(&p.key("query"), &s.query, "a query name such as \"load_product\"");
    let db_cpu = cx.dist(&p.key("db_cpu"), &s.db_cpu);
    let db_wait = cx.dist(&p.key("db_wait"), &s.db_wait);
    let lock = cx.get_as(&p.key("lock"), &s.lock, "the name of a lock in [app.locks]");
    let given = |f: &Option<Field<String>>| f.is_some();
    match (given(&s.cpu), given(&s.query)) {
        (true, true) => {
            cx.report(
                p,
                "a step is either { cpu = ... } (PHP work) or { query = ... } (SQL), not both",
            );
            None
        }
        (false, false) => {
            cx.report(p, "a step needs \"cpu\" (PHP work, e.g. cpu = \"5ms\") or \"query\" (a named SQL statement with db_cpu and/or db_wait)");
            None
        }
        (true, false) => {
            let mut ok = true;
            for (key, f) in [("db_cpu", &s.db_cpu), ("db_wait", &s.db_wait), ("lock", &s.lock)] {
                if given(f) {
                    cx.report(
                        &p.key(key),
                        format!("\"{key}\" belongs to a query step: write {{ query = \"name\", {key} = ... }}"),
                    );
                    ok = false;
                }
            }
            let cpu = cpu??;
            ok.then_some(Step::Cpu(cpu))
        }
        (false, true) => {
            let (query, db_cpu, db_wait, lock) = (query?, db_cpu, db_wait, lock);
            let name = query.expect("given");
            if name.trim().is_empty() {
                cx.report(&p.key("query"), "a query needs a name, e.g. query = \"load_product\"");
                return None;
            }
            if !given(&s.db_cpu) && !given(&s.db_wait) {
                cx.report(p, format!("query \"{}\" does no work: give it db_cpu (CPU on the database host) and/or db_wait (I/O, sleeps)", echo(name)));
                return None;
            }
            let lock = match lock? {
                None => None,
                Some(l) => match locks.get(l.as_str()) {
                    Some(&i) => Some(i),
                    None => {
                        cx.report(
                            &p.key("lock"),
                            format!(
                                "unknown lock \"{0}\": declare it as [app.locks.{0}] (rows = 1 for a single hot row)",
                                echo(l)
                            ),
                        );
                        return None;
                    }
                },
            };
            Some(Step::Query(Query {
                name: name.clone(),
                db_cpu: db_cpu?,
                db_wait: db_wait?,
                lock,
            }))
        }
    }
}
