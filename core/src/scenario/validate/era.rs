//! Eras: each architecture, its hosts and its stack (nginx, PHP-FPM, MySQL).

use super::super::era::bronze::{self, RawBronze};
use super::super::era::silver::{self, RawSilver};
use super::super::era::stone::{self, RawStone};
use super::super::era::{Architecture, Era, FpmPool, Host, MODELS, MySql, Nginx, ProcessManager, Stack};
use super::super::limits::{self, echo};
use super::super::locate::KeyPath;
use super::super::raw::{Field, Opt, RawFpm, RawHost, RawMySql, RawNginx, Shape, describe};
use super::{Ctx, thousands};

pub(super) fn eras(
    cx: &mut Ctx<'_, '_>,
    raw: &Opt<indexmap::IndexMap<String, Field<toml::Table>>>,
) -> Option<Vec<Era>> {
    let p = KeyPath::root().key("eras");
    let raw = cx.get(&p, raw)?;
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        cx.report(
            &KeyPath::root(),
            format!(
                "declare at least one era to run, e.g. [eras.stone] (models: {})",
                MODELS.join(", ")
            ),
        );
        return None;
    };
    let mut out = Vec::new();
    let mut ok = true;
    for (label, e) in raw {
        let ep = p.key(label);
        if label.is_empty()
            || label.len() > 100
            || !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            cx.report_key(
                &ep,
                format!(
                    "an era label may hold letters, digits, '-' and '_' and be at most 100 characters (it names files in the report), found \"{}\"",
                    echo(label)
                ),
            );
            ok = false;
        }
        let Some(table) = cx.field(&ep, e, "") else {
            ok = false;
            continue;
        };
        match era(cx, &ep, label, table) {
            Some(arch) if ok => out.push(Era {
                label: label.clone(),
                arch,
                faults: Vec::new(),
            }),
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

/// Finds the era's model (written, or implied by a label that is a model's
/// name) and lets that model read the table.
fn era(cx: &mut Ctx<'_, '_>, p: &KeyPath, label: &str, table: &toml::Table) -> Option<Architecture> {
    let model = match table.get("model") {
        Some(toml::Value::String(m)) => m.as_str(),
        Some(other) => {
            cx.report(
                &p.key("model"),
                format!(
                    "expected the name of an era model ({}), found {}",
                    quoted(MODELS),
                    describe(other)
                ),
            );
            return None;
        }
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
    let value = toml::Value::Table(table.clone());
    match model {
        "stone" => {
            let f = Field::<RawStone>::read(value);
            let raw = model_field(cx, p, &f, model)?;
            stone::validate(cx, p, raw)
        }
        "bronze" => {
            let f = Field::<RawBronze>::read(value);
            let raw = model_field(cx, p, &f, model)?;
            bronze::validate(cx, p, raw)
        }
        "silver" => {
            let f = Field::<RawSilver>::read(value);
            let raw = model_field(cx, p, &f, model)?;
            silver::validate(cx, p, raw)
        }
        other => {
            cx.report(
                &p.key("model"),
                format!(
                    "unknown era model \"{}\": expected one of {}",
                    echo(other),
                    quoted(MODELS)
                ),
            );
            None
        }
    }
}

/// A model's table, its unknown keys reported as another model's machines
/// where they are one.
fn model_field<'f, T: Shape>(cx: &mut Ctx<'_, '_>, p: &KeyPath, f: &'f Field<T>, model: &str) -> Option<&'f T> {
    for (key, takes) in &f.unknown {
        let message = match MACHINES.iter().find(|(k, _)| k == key) {
            Some((_, models)) => {
                format!("a {model} era has no \"{key}\" (that is a machine of {models}); [{p}] takes {takes}")
            }
            None => format!("unknown key \"{}\": [{p}] takes {takes}", echo(key)),
        };
        cx.report_key(&p.key(key), message);
    }
    let quiet = Field {
        value: None,
        unknown: Vec::new(),
        wrong: f.wrong.clone(),
    };
    match &f.wrong {
        None => f.value.as_ref(),
        Some(_) => {
            cx.field::<T>(p, &quiet, "");
            None
        }
    }
}

/// Keys that name a machine in some model, for a clearer message when
/// another model's era is given one.
const MACHINES: &[(&str, &str)] = &[
    ("host", "stone"),
    ("web", "bronze and silver"),
    ("db", "bronze and silver"),
    ("network", "bronze and silver"),
    ("lb", "silver"),
    ("nodes", "silver"),
    ("haproxy", "silver"),
    ("keepalived", "silver"),
];

fn quoted(names: &[&str]) -> String {
    names.iter().map(|m| format!("\"{m}\"")).collect::<Vec<_>>().join(", ")
}

pub(in crate::scenario) fn host(cx: &mut Ctx<'_, '_>, p: &KeyPath, raw: &Opt<RawHost>) -> Option<Host> {
    let default = RawHost::default();
    let raw = cx.table(p, raw, &default)?;
    let cores = cx.count(
        &p.key("cores"),
        &raw.cores,
        Host::DEFAULT_CORES,
        1,
        limits::MAX_CORES,
        "cores",
    );
    let speed = match cx.get(&p.key("speed"), &raw.speed) {
        None => None,
        Some(None) => Some(1.0),
        Some(Some(&s)) if (limits::MIN_SPEED..=limits::MAX_SPEED).contains(&s) => Some(s),
        Some(Some(&s)) => {
            cx.report(
                &p.key("speed"),
                format!(
                    "speed is a factor between {} and {} (1.0 = the speed CPU demands are written for), found {s}",
                    limits::MIN_SPEED,
                    limits::MAX_SPEED
                ),
            );
            None
        }
    };
    Some(Host {
        cores: cores?,
        speed: speed?,
    })
}

/// The software every LAMP-style era runs, from an era's three tables.
pub(in crate::scenario) fn stack(
    cx: &mut Ctx<'_, '_>,
    p: &KeyPath,
    nginx: &Opt<RawNginx>,
    fpm_raw: &Opt<RawFpm>,
    mysql_raw: &Opt<RawMySql>,
) -> Option<Stack> {
    let np = p.key("nginx");
    let default_nginx = RawNginx::default();
    let nginx = cx.table(&np, nginx, &default_nginx).and_then(|n| {
        cx.timeout(
            &np.key("fastcgi_read_timeout"),
            &n.fastcgi_read_timeout,
            Some(Nginx::DEFAULT_FASTCGI_READ_TIMEOUT_NS),
        )
    });
    let default_fpm = RawFpm::default();
    let fpm = cx
        .table(&p.key("fpm"), fpm_raw, &default_fpm)
        .and_then(|f| fpm(cx, &p.key("fpm"), f));
    let default_mysql = RawMySql::default();
    let mysql = cx
        .table(&p.key("mysql"), mysql_raw, &default_mysql)
        .and_then(|m| mysql(cx, &p.key("mysql"), m));
    Some(Stack {
        nginx: Nginx {
            fastcgi_read_timeout: nginx?,
        },
        fpm: fpm?,
        mysql: mysql?,
    })
}

fn fpm(cx: &mut Ctx<'_, '_>, p: &KeyPath, raw: &RawFpm) -> Option<FpmPool> {
    let max_children = cx.count(
        &p.key("max_children"),
        &raw.max_children,
        FpmPool::DEFAULT_MAX_CHILDREN,
        1,
        limits::MAX_FPM_CHILDREN,
        "max_children (pm.max_children)",
    );
    let pm_name = cx.get_as(&p.key("pm"), &raw.pm, "\"static\", \"dynamic\" or \"ondemand\"");
    let listen_backlog = match cx.get(&p.key("listen_backlog"), &raw.listen_backlog) {
        None => None,
        Some(None) | Some(Some(-1)) => Some(FpmPool::SOMAXCONN),
        Some(Some(&n)) if n >= 1 && n <= i64::from(limits::MAX_LISTEN_BACKLOG) => Some(n as u32),
        Some(Some(&n)) => {
            cx.report(
                &p.key("listen_backlog"),
                format!(
                    "listen_backlog must be -1 (net.core.somaxconn, {}) or a number from 1 to {}, found {n}",
                    FpmPool::SOMAXCONN,
                    thousands(limits::MAX_LISTEN_BACKLOG)
                ),
            );
            None
        }
    };
    let max_requests = cx.count(
        &p.key("max_requests"),
        &raw.max_requests,
        0,
        0,
        u32::MAX,
        "max_requests",
    );
    let request_terminate_timeout = cx.timeout(
        &p.key("request_terminate_timeout"),
        &raw.request_terminate_timeout,
        None,
    );
    let spawn_time = cx
        .duration(&p.key("spawn_time"), &raw.spawn_time)
        .map(|t| t.unwrap_or(FpmPool::DEFAULT_SPAWN_TIME_NS));
    let pm_name = pm_name?.map_or("dynamic", |s| s.as_str());
    let misplaced = |cx: &mut Ctx<'_, '_>, keys: &[(&str, bool)], wanted: &str| {
        let mut found = false;
        for (k, given) in keys {
            if *given {
                cx.report_key(
                    &p.key(k),
                    format!("\"{k}\" only applies to pm = \"{wanted}\" (this pool has pm = \"{pm_name}\")"),
                );
                found = true;
            }
        }
        found
    };
    let dynamic_only = [
        ("start_servers", raw.start_servers.is_some()),
        ("min_spare_servers", raw.min_spare_servers.is_some()),
        ("max_spare_servers", raw.max_spare_servers.is_some()),
    ];
    let idle = [("process_idle_timeout", raw.process_idle_timeout.is_some())];
    let pm = match pm_name {
        "static" => {
            let a = misplaced(cx, &dynamic_only, "dynamic");
            let b = misplaced(cx, &idle, "ondemand");
            (!a && !b).then_some(ProcessManager::Static)
        }
        "ondemand" => {
            let misplaced = misplaced(cx, &dynamic_only, "dynamic");
            let t = match cx.duration(&p.key("process_idle_timeout"), &raw.process_idle_timeout) {
                Some(Some(0)) => {
                    cx.report(
                        &p.key("process_idle_timeout"),
                        "process_idle_timeout must be longer than 0s",
                    );
                    None
                }
                t => t.map(|t| t.unwrap_or(FpmPool::DEFAULT_IDLE_TIMEOUT_NS)),
            };
            let t = t?;
            (!misplaced).then_some(ProcessManager::OnDemand {
                process_idle_timeout: t,
            })
        }
        "dynamic" => {
            let misplaced = misplaced(cx, &idle, "ondemand");
            let d = max_children.and_then(|m| dynamic(cx, p, raw, m));
            d.filter(|_| !misplaced)
        }
        other => {
            cx.report(
                &p.key("pm"),
                format!(
                    "unknown pm \"{}\": expected \"static\", \"dynamic\" or \"ondemand\"",
                    echo(other)
                ),
            );
            None
        }
    };
    Some(FpmPool {
        pm: pm?,
        max_children: max_children?,
        listen_backlog: listen_backlog?,
        max_requests: max_requests?,
        request_terminate_timeout: request_terminate_timeout?,
        spawn_time: spawn_time?,
    })
}

/// FPM's own start-up checks for `pm = dynamic` (fpm_conf.c), with its defaults.
fn dynamic(cx: &mut Ctx<'_, '_>, p: &KeyPath, raw: &RawFpm, max_children: u32) -> Option<ProcessManager> {
    let cap = limits::MAX_FPM_CHILDREN;
    let min = cx.count(
        &p.key("min_spare_servers"),
        &raw.min_spare_servers,
        FpmPool::DEFAULT_MIN_SPARE,
        1,
        cap,
        "min_spare_servers",
    );
    let max = cx.count(
        &p.key("max_spare_servers"),
        &raw.max_spare_servers,
        FpmPool::DEFAULT_MAX_SPARE,
        1,
        cap,
        "max_spare_servers",
    );
    let start = cx.count(&p.key("start_servers"), &raw.start_servers, 0, 1, cap, "start_servers");
    let (min, max, start) = (min?, max?, start?);
    let default_note = |given: bool| if given { "" } else { ", the default" };
    let mut ok = true;
    if max > max_children {
        cx.report(
            &p.key("max_spare_servers"),
            format!(
                "max_spare_servers ({max}{}) must not exceed max_children ({max_children})",
                default_note(raw.max_spare_servers.is_some())
            ),
        );
        ok = false;
    }
    if min > max {
        cx.report(
            &p.key("min_spare_servers"),
            format!(
                "min_spare_servers ({min}) must not exceed max_spare_servers ({max}{})",
                default_note(raw.max_spare_servers.is_some())
            ),
        );
        ok = false;
    }
    let start = if raw.start_servers.is_some() {
        start
    } else {
        min + max.saturating_sub(min) / 2
    };
    if ok && (start < min || start > max) {
        cx.report(
            &p.key("start_servers"),
            format!("start_servers ({start}) must lie between min_spare_servers ({min}) and max_spare_servers ({max})"),
        );
        ok = false;
    }
    ok.then_some(ProcessManager::Dynamic {
        start_servers: start,
        min_spare_servers: min,
        max_spare_servers: max,
    })
}

fn mysql(cx: &mut Ctx<'_, '_>, p: &KeyPath, raw: &RawMySql) -> Option<MySql> {
    let max_connections = cx.count(
        &p.key("max_connections"),
        &raw.max_connections,
        MySql::DEFAULT_MAX_CONNECTIONS,
        1,
        limits::MAX_DB_CONNECTIONS,
        "max_connections",
    );
    let long_query_time = cx
        .duration(&p.key("long_query_time"), &raw.long_query_time)
        .map(|t| t.unwrap_or(MySql::DEFAULT_LONG_QUERY_TIME_NS));
    let lock_wait = match cx.duration(&p.key("innodb_lock_wait_timeout"), &raw.innodb_lock_wait_timeout) {
        Some(Some(ns)) if ns < 1_000_000_000 => {
            cx.report(
                &p.key("innodb_lock_wait_timeout"),
                "innodb_lock_wait_timeout is at least 1s (MySQL's minimum)",
            );
            None
        }
        t => t.map(|t| t.unwrap_or(MySql::DEFAULT_LOCK_WAIT_TIMEOUT_NS)),
    };
    Some(MySql {
        max_connections: max_connections?,
        long_query_time: long_query_time?,
        innodb_lock_wait_timeout: lock_wait?,
    })
}
