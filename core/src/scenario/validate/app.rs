//! The application: services and their operations, endpoints, their steps
//! and row locks; calls resolved, call cycles and runaway programs refused.

use std::collections::HashMap;

use super::super::app::{App, Endpoint, Lock, Op, OpRef, Overhead, Query, Service, Step, Transaction};
use super::super::dist::Dist;
use super::super::limits::{self, echo};
use super::super::locate::KeyPath;
use super::super::raw::{Field, Opt, RawApp, RawEndpoint, RawOverhead, RawStep};
use super::super::units::format_duration;
use super::{Ctx, is_safe_name};

/// What steps can refer to while they are checked.
struct Names<'a> {
    locks: HashMap<&'a str, usize>,
    ops: HashMap<String, OpRef>,
}

/// A call written at `path` inside `caller` (`None`: an endpoint).
struct CallSite {
    caller: Option<OpRef>,
    callee: OpRef,
    path: KeyPath,
    /// Written inside a transaction: the callee's steps join it.
    in_txn: bool,
}

/// How long one redo-log flush takes when a transaction does not say: an
/// fsync on the SSD of a rented server (an assumption to calibrate, as
/// `spawn_time` is; local NVMe with power-loss protection is ten times faster).
pub const DEFAULT_COMMIT_FLUSH_NS: u64 = 1_000_000;

/// An operation of a service as declared: its name, and its table when it
/// could be read.
type DeclaredOp<'r> = (String, Option<&'r RawEndpoint>);

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

    // Every operation's name first, so that a call may name one declared
    // further down the file.
    let sp = p.key("services");
    let raw_services = cx.get(&sp, &raw.services);
    ok &= raw_services.is_some();
    let raw_services = raw_services.flatten();
    let mut declared: Vec<(String, Vec<DeclaredOp<'_>>)> = Vec::new();
    if raw_services.is_some_and(|s| s.len() > limits::MAX_SERVICES) {
        cx.report(
            &sp,
            format!("an application has at most {} services", limits::MAX_SERVICES),
        );
        return None;
    }
    for (name, svc) in raw_services.into_iter().flatten() {
        let svp = sp.key(name);
        ok &= checked_name(cx, &svp, name, "a service") && undotted(cx, &svp, name, "a service");
        let ops = cx.field(&svp, svc, "").and_then(|s| cx.get(&svp.key("ops"), &s.ops));
        let ops = match ops {
            None => {
                ok = false;
                continue;
            }
            Some(None) => {
                cx.report(
                    &svp,
                    "a service needs operations, e.g. [app.services.catalog.ops.list] steps = [{ cpu = \"2ms\" }]",
                );
                ok = false;
                continue;
            }
            Some(Some(ops)) => ops,
        };
        if ops.len() > limits::MAX_OPS {
            cx.report(
                &svp.key("ops"),
                format!("a service has at most {} operations", limits::MAX_OPS),
            );
            ok = false;
            continue;
        }
        let mut list = Vec::new();
        for (op, f) in ops {
            let opp = svp.key("ops").key(op);
            ok &= checked_name(cx, &opp, op, "an operation") && undotted(cx, &opp, op, "an operation");
            let body = cx.field(&opp, f, "");
            ok &= body.is_some();
            list.push((op.clone(), body));
        }
        declared.push((name.clone(), list));
    }
    let names = Names {
        locks: locks.iter().enumerate().map(|(i, l)| (l.name.as_str(), i)).collect(),
        ops: declared
            .iter()
            .enumerate()
            .flat_map(|(s, (svc, ops))| {
                ops.iter()
                    .enumerate()
                    .map(move |(o, (op, _))| (format!("{svc}.{op}"), OpRef { service: s, op: o }))
            })
            .collect(),
    };

    let mut calls = Vec::new();
    let mut services = Vec::new();
    for (s, (svc, ops)) in declared.iter().enumerate() {
        let mut out = Vec::new();
        for (o, (op, body)) in ops.iter().enumerate() {
            let opp = sp.key(svc).key("ops").key(op);
            let me = Some(OpRef { service: s, op: o });
            let steps = body.and_then(|b| program(cx, &opp, &b.steps, &names, me, &mut calls));
            ok &= steps.is_some();
            if body.is_some_and(|b| b.overhead.is_some()) {
                cx.report(
                    &opp.key("overhead"),
                    "an overhead is the real stack's cost per request of an endpoint: give it to the endpoints that call this operation",
                );
                ok = false;
            }
            out.push(Op {
                name: op.clone(),
                steps: steps.unwrap_or_default(),
            });
        }
        services.push(Service {
            name: svc.clone(),
            ops: out,
        });
    }

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
    let mut endpoint_paths = Vec::new();
    for (name, e) in eps {
        let ep = p.key("endpoints").key(name);
        ok &= checked_name(cx, &ep, name, "an endpoint");
        let Some(e) = cx.field(&ep, e, "") else {
            ok = false;
            continue;
        };
        let overhead = overhead(cx, &ep, &e.overhead);
        match (program(cx, &ep, &e.steps, &names, None, &mut calls), overhead) {
            (Some(steps), Some(overhead)) => {
                endpoints.push(Endpoint {
                    name: name.clone(),
                    steps,
                    overhead,
                });
                endpoint_paths.push(ep);
            }
            _ => ok = false,
        }
    }
    if !ok {
        return None;
    }
    let app = App {
        endpoints,
        locks,
        services,
    };
    let order = acyclic(cx, &app, &calls)?;
    let mut fits = calls_in_transactions(cx, &app, &order, &calls);
    let sizes = op_sizes(&app, &order);
    for (i, ep) in endpoint_paths.iter().enumerate() {
        let (n, depth) = size(&app.endpoints[i].steps, &sizes);
        if depth > limits::MAX_CALL_DEPTH {
            cx.report(
                &ep.key("steps"),
                format!(
                    "calls from this endpoint nest {depth} deep; at most {} levels are allowed",
                    limits::MAX_CALL_DEPTH
                ),
            );
            fits = false;
        } else if n > limits::MAX_PROGRAM as u64 {
            cx.report(
                &ep.key("steps"),
                format!(
                    "a request of this endpoint runs {} steps once its calls are counted out (each call and each parallel branch counting as one); at most {} are allowed (a request is a program, not a loop)",
                    if n == u64::MAX { "more than 10^19".to_string() } else { n.to_string() },
                    limits::MAX_PROGRAM
                ),
            );
            fits = false;
        }
    }
    fits.then_some(app)
}

/// Endpoint, service and lock names appear in reports and file names.
/// An endpoint's `overhead = { web = "…", cold = "…", db = "…" }`, each optional.
fn overhead(cx: &mut Ctx<'_, '_>, ep: &KeyPath, raw: &Opt<RawOverhead>) -> Option<Overhead> {
    let Some(f) = raw else {
        return Some(Overhead::default());
    };
    let p = ep.key("overhead");
    let o = cx.field(&p, f, "")?;
    // All read before any fails, so that each is reported.
    let (web, cold, db) = (
        cx.duration(&p.key("web"), &o.web),
        cx.duration(&p.key("cold"), &o.cold),
        cx.duration(&p.key("db"), &o.db),
    );
    let (Some(web), Some(cold), Some(db)) = (web, cold, db) else {
        return None;
    };
    let mut ok = true;
    for (key, v) in [("web", web), ("cold", cold), ("db", db)] {
        if v.is_some_and(|ns| ns > limits::MAX_OVERHEAD_NS) {
            cx.report(
                &p.key(key),
                format!(
                    "an overhead is CPU per request, at most {}: this is not what the stack costs beyond the steps",
                    format_duration(limits::MAX_OVERHEAD_NS)
                ),
            );
            ok = false;
        }
    }
    ok.then(|| Overhead {
        web: web.unwrap_or(0),
        cold: cold.unwrap_or(0),
        db: db.unwrap_or(0),
    })
}

fn checked_name(cx: &mut Ctx<'_, '_>, p: &KeyPath, name: &str, what: &str) -> bool {
    if is_safe_name(name) {
        return true;
    }
    cx.report_key(
        p,
        format!(
            "{what} name may hold ASCII letters, digits, '-', '_' and '.', not start with '.' and be at most 100 characters, found \"{}\"",
            echo(name)
        ),
    );
    false
}

/// A call names "service.operation": a dot in either name would make two
/// operations one name (service "a.b" op "x", service "a" op "b.x").
fn undotted(cx: &mut Ctx<'_, '_>, p: &KeyPath, name: &str, what: &str) -> bool {
    if !name.contains('.') {
        return true;
    }
    cx.report_key(
        p,
        format!(
            "{what} name cannot hold a '.', which separates the service from the operation in a call, found \"{}\"",
            echo(name)
        ),
    );
    false
}

/// An endpoint's or an operation's `steps`.
fn program(
    cx: &mut Ctx<'_, '_>,
    owner: &KeyPath,
    raw: &Opt<Vec<Field<RawStep>>>,
    names: &Names,
    me: Option<OpRef>,
    calls: &mut Vec<CallSite>,
) -> Option<Vec<Step>> {
    let p = owner.key("steps");
    match cx.get(&p, raw)? {
        None => {
            cx.report(
                owner,
                "steps are required, e.g. steps = [{ cpu = \"5ms\" }, { query = \"load\", db_cpu = \"1ms\" }]",
            );
            None
        }
        Some(s) => steps(cx, &p, s, names, me, calls, false),
    }
}

fn steps(
    cx: &mut Ctx<'_, '_>,
    p: &KeyPath,
    raw: &[Field<RawStep>],
    names: &Names,
    me: Option<OpRef>,
    calls: &mut Vec<CallSite>,
    in_txn: bool,
) -> Option<Vec<Step>> {
    if raw.is_empty() {
        cx.report(p, "at least one step is needed, e.g. { cpu = \"5ms\" }");
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
            .and_then(|s| step(cx, &sp, s, names, me, calls, in_txn))
        {
            Some(s) => out.push(s),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

const KINDS: [&str; 5] = ["cpu", "query", "call", "parallel", "transaction"];

fn step(
    cx: &mut Ctx<'_, '_>,
    p: &KeyPath,
    s: &RawStep,
    names: &Names,
    me: Option<OpRef>,
    calls: &mut Vec<CallSite>,
    in_txn: bool,
) -> Option<Step> {
    let given = [
        s.cpu.is_some(),
        s.query.is_some(),
        s.call.is_some(),
        s.parallel.is_some(),
        s.transaction.is_some(),
    ];
    let kinds: Vec<&str> = KINDS.iter().zip(given).filter(|(_, g)| *g).map(|(k, _)| *k).collect();
    let kind = match kinds.as_slice() {
        [one] => *one,
        [] => {
            cx.report(p, "a step needs \"cpu\" (PHP work, e.g. cpu = \"5ms\"), \"query\" (a named SQL statement with db_cpu and/or db_wait), \"call\" (an operation, call = \"catalog.list\"), \"parallel\" (branches, parallel = [[...], [...]]) or \"transaction\" (steps between BEGIN and COMMIT, transaction = [...])");
            return None;
        }
        many => {
            let listed = many.iter().map(|k| format!("\"{k}\"")).collect::<Vec<_>>().join(", ");
            cx.report(
                p,
                format!("a step is one kind of work; this one says {listed}: split it into one step each"),
            );
            return None;
        }
    };
    if kind != "query" {
        let mut misplaced = false;
        for (key, f) in [("db_cpu", &s.db_cpu), ("db_wait", &s.db_wait), ("lock", &s.lock)] {
            if f.is_some() {
                cx.report_key(
                    &p.key(key),
                    format!("\"{key}\" belongs to a query step: write {{ query = \"name\", {key} = ... }}"),
                );
                misplaced = true;
            }
        }
        if misplaced {
            return None;
        }
    }
    if kind != "transaction" && s.commit_flush.is_some() {
        cx.report_key(
            &p.key("commit_flush"),
            "\"commit_flush\" belongs to a transaction step: write { transaction = [...], commit_flush = ... }",
        );
        return None;
    }
    if in_txn && (kind == "parallel" || kind == "transaction") {
        let why = if kind == "parallel" {
            "parallel cannot run inside a transaction: a transaction is one connection, whose statements run one at a time; write the branches' steps one after the other"
        } else {
            "a transaction cannot hold another: InnoDB has no nested transactions (START TRANSACTION inside one commits it); write these steps in the enclosing transaction"
        };
        cx.report_key(&p.key(kind), why);
        return None;
    }
    match kind {
        "cpu" => cx.dist(&p.key("cpu"), &s.cpu)?.map(Step::Cpu),
        "query" => query(cx, p, s, names),
        "call" => {
            let target = cx.get_as(&p.key("call"), &s.call, "an operation such as \"catalog.list\"")??;
            match names.ops.get(target.trim()) {
                Some(&callee) => {
                    calls.push(CallSite {
                        caller: me,
                        callee,
                        path: p.key("call"),
                        in_txn,
                    });
                    Some(Step::Call(callee))
                }
                None => {
                    let (svc, op) = target.split_once('.').unwrap_or((target, "op"));
                    cx.report(
                        &p.key("call"),
                        format!(
                            "unknown operation \"{}\": a call names \"service.operation\", declared as [app.services.{}.ops.{}]",
                            echo(target),
                            echo(svc),
                            echo(op)
                        ),
                    );
                    None
                }
            }
        }
        "transaction" => transaction(cx, p, s, names, me, calls),
        _ => {
            let bp = p.key("parallel");
            let branches = cx.get_as(
                &bp,
                &s.parallel,
                "branches such as [[{ call = \"a.x\" }], [{ call = \"b.y\" }]]",
            )??;
            if branches.len() < 2 || branches.len() > limits::MAX_BRANCHES {
                cx.report(
                    &bp,
                    format!(
                        "parallel takes 2 to {} branches, each an array of steps: [[{{ call = \"a.x\" }}], [{{ call = \"b.y\" }}]]",
                        limits::MAX_BRANCHES
                    ),
                );
                return None;
            }
            let mut ok = true;
            let mut out = Vec::new();
            for (i, b) in branches.iter().enumerate() {
                let brp = bp.index(i);
                match cx
                    .field(&brp, b, "an array of steps")
                    .and_then(|b| steps(cx, &brp, b, names, me, calls, in_txn))
                {
                    Some(b) => out.push(b),
                    None => ok = false,
                }
            }
            ok.then_some(Step::Parallel(out))
        }
    }
}

/// `{ transaction = [steps…], commit_flush = DIST }`.
fn transaction(
    cx: &mut Ctx<'_, '_>,
    p: &KeyPath,
    s: &RawStep,
    names: &Names,
    me: Option<OpRef>,
    calls: &mut Vec<CallSite>,
) -> Option<Step> {
    let tp = p.key("transaction");
    let flush = cx.dist(&p.key("commit_flush"), &s.commit_flush);
    let raw = cx.get_as(
        &tp,
        &s.transaction,
        "an array of steps such as [{ query = \"reserve\", db_cpu = \"1ms\", lock = \"stock\" }]",
    );
    let inner = steps(cx, &tp, raw??, names, me, calls, true)?;
    Some(Step::Transaction(Transaction {
        steps: inner,
        commit_flush: flush?.unwrap_or(Dist::constant(DEFAULT_COMMIT_FLUSH_NS)),
    }))
}

fn query(cx: &mut Ctx<'_, '_>, p: &KeyPath, s: &RawStep, names: &Names) -> Option<Step> {
    let name = cx.get_as(&p.key("query"), &s.query, "a query name such as \"load_product\"");
    let db_cpu = cx.dist(&p.key("db_cpu"), &s.db_cpu);
    let db_wait = cx.dist(&p.key("db_wait"), &s.db_wait);
    let lock = cx.get_as(&p.key("lock"), &s.lock, "the name of a lock in [app.locks]");
    let name = name??;
    if name.trim().is_empty() {
        cx.report(&p.key("query"), "a query needs a name, e.g. query = \"load_product\"");
        return None;
    }
    if s.db_cpu.is_none() && s.db_wait.is_none() {
        cx.report(
            p,
            format!(
                "query \"{}\" does no work: give it db_cpu (CPU on the database host) and/or db_wait (I/O, sleeps)",
                echo(name)
            ),
        );
        return None;
    }
    let lock = match lock? {
        None => None,
        Some(l) => match names.locks.get(l.as_str()) {
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

/// Refuses calls that come back to an operation already running (a call
/// cycle would make a request run forever), naming the cycle. Without one,
/// the operations in an order where every callee comes before its callers.
fn acyclic(cx: &mut Ctx<'_, '_>, app: &App, calls: &[CallSite]) -> Option<Vec<OpRef>> {
    let mut edges: HashMap<OpRef, Vec<&CallSite>> = HashMap::new();
    for c in calls {
        if let Some(caller) = c.caller {
            edges.entry(caller).or_default().push(c);
        }
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark: HashMap<OpRef, Mark> = HashMap::new();
    let mut order = Vec::new();
    let name = |r: OpRef| format!("{}.{}", app.services[r.service].name, app.op(r).name);
    for (s, svc) in app.services.iter().enumerate() {
        for o in 0..svc.ops.len() {
            let start = OpRef { service: s, op: o };
            if mark.get(&start).copied().unwrap_or(Mark::New) != Mark::New {
                continue;
            }
            // Depth-first without recursion: (operation, next call to follow).
            let mut stack: Vec<(OpRef, usize)> = vec![(start, 0)];
            mark.insert(start, Mark::Open);
            while let Some(&mut (at, ref mut next)) = stack.last_mut() {
                let out = edges.get(&at).map_or(&[][..], |v| v.as_slice());
                let Some(call) = out.get(*next) else {
                    mark.insert(at, Mark::Done);
                    order.push(at);
                    stack.pop();
                    continue;
                };
                *next += 1;
                match mark.get(&call.callee).copied().unwrap_or(Mark::New) {
                    Mark::Done => {}
                    Mark::New => {
                        mark.insert(call.callee, Mark::Open);
                        stack.push((call.callee, 0));
                    }
                    Mark::Open => {
                        let from = stack.iter().position(|(r, _)| *r == call.callee).unwrap_or(0);
                        let cycle: Vec<String> = stack[from..]
                            .iter()
                            .map(|(r, _)| name(*r))
                            .chain(std::iter::once(name(call.callee)))
                            .collect();
                        cx.report(
                            &call.path,
                            format!(
                                "calls go round in a circle: {}; a request would never end",
                                cycle.join(" → ")
                            ),
                        );
                        return None;
                    }
                }
            }
        }
    }
    Some(order)
}

/// What a step list runs, calls followed: (a transaction, a `parallel`).
#[derive(Clone, Copy, Default)]
struct Runs {
    transaction: bool,
    parallel: bool,
}

impl Runs {
    fn or(self, o: Runs) -> Runs {
        Runs {
            transaction: self.transaction || o.transaction,
            parallel: self.parallel || o.parallel,
        }
    }
}

/// Refuses calls written inside a transaction to an operation that runs a
/// transaction or a `parallel` (itself or through its own calls), as
/// [`step`] refuses them written in place. Operations are visited callees
/// first, so nothing recurses along a call chain.
fn calls_in_transactions(cx: &mut Ctx<'_, '_>, app: &App, order: &[OpRef], calls: &[CallSite]) -> bool {
    fn runs(steps: &[Step], ops: &HashMap<OpRef, Runs>) -> Runs {
        steps.iter().fold(Runs::default(), |acc, s| {
            let r = match s {
                Step::Cpu(_) | Step::Query(_) => Runs::default(),
                Step::Call(c) => ops.get(c).copied().unwrap_or_default(),
                Step::Parallel(b) => Runs {
                    parallel: true,
                    ..b.iter().fold(Runs::default(), |a, b| a.or(runs(b, ops)))
                },
                Step::Transaction(t) => Runs {
                    transaction: true,
                    ..runs(&t.steps, ops)
                },
            };
            acc.or(r)
        })
    }
    let mut ops = HashMap::new();
    for &r in order {
        let x = runs(&app.op(r).steps, &ops);
        ops.insert(r, x);
    }
    let mut ok = true;
    for c in calls.iter().filter(|c| c.in_txn) {
        let r = ops.get(&c.callee).copied().unwrap_or_default();
        let name = format!("{}.{}", app.services[c.callee.service].name, app.op(c.callee).name);
        let why = if r.transaction {
            "runs a transaction of its own, and InnoDB has no nested transactions (START TRANSACTION inside one commits it)"
        } else if r.parallel {
            "runs a parallel step, and a transaction is one connection, whose statements run one at a time"
        } else {
            continue;
        };
        cx.report(
            &c.path,
            format!("this call inside a transaction {why}: \"{name}\" (or an operation it calls) cannot run here"),
        );
        ok = false;
    }
    ok
}

/// Each operation's (steps once its calls are counted out, call depth),
/// computed callees first so that nothing recurses along a call chain (a
/// chain of a million operations would overflow the stack) and a call tree
/// that multiplies is counted in time linear in the file. Saturating.
fn op_sizes(app: &App, order: &[OpRef]) -> HashMap<OpRef, (u64, usize)> {
    let mut sizes = HashMap::new();
    for &r in order {
        let s = size(&app.op(r).steps, &sizes);
        sizes.insert(r, s);
    }
    sizes
}

/// (steps, call depth) of a list of steps whose callees are in `sizes`.
/// Recurses only into `parallel` branches, which TOML's own nesting limit
/// keeps shallow.
fn size(steps: &[Step], sizes: &HashMap<OpRef, (u64, usize)>) -> (u64, usize) {
    steps.iter().fold((0u64, 0usize), |(n, d), s| {
        let (k, depth) = match s {
            Step::Cpu(_) | Step::Query(_) => (1, 0),
            // BEGIN and COMMIT are steps of their own.
            Step::Transaction(t) => {
                let (k, depth) = size(&t.steps, sizes);
                (k.saturating_add(2), depth)
            }
            // A call and a branch are steps too: in gold each is a request
            // of its own, and a tree of empty calls is no free loop.
            Step::Call(r) => {
                let (k, depth) = sizes.get(r).copied().unwrap_or((0, 0));
                (k.saturating_add(1), depth.saturating_add(1))
            }
            Step::Parallel(b) => b.iter().fold((0u64, 0usize), |(n, d), b| {
                let (k, depth) = size(b, sizes);
                (n.saturating_add(k).saturating_add(1), d.max(depth))
            }),
        };
        (n.saturating_add(k), d.max(depth))
    })
}
