//! Eras: each architecture, its hosts and its stack (nginx, PHP-FPM, MySQL).

use super::super::era::bronze::{self, RawBronze};
use super::super::era::gold::{self, RawGold};
use super::super::era::silver::{self, RawSilver};
use super::super::era::stone::{self, RawStone};
use super::super::era::{
    Architecture, Era, FpmPool, Host, Kernel, Listen, MODELS, MySql, Nginx, ProcessManager, Stack,
};
use super::super::limits::{self, echo, echo_number};
use super::super::locate::KeyPath;
use super::super::raw::{Field, Opt, RawFpm, RawHost, RawMySql, RawNginx, RawWorkers, Shape, describe};
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
                    "an era label may hold ASCII letters, digits, '-' and '_' and be at most 100 characters (it names files in the report), found \"{}\"",
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
                settings: Vec::new(),
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
        "gold" => {
            let f = Field::<RawGold>::read(value);
            let raw = model_field(cx, p, &f, model)?;
            gold::validate(cx, p, raw)
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
    ("web", "bronze, silver and gold"),
    ("db", "bronze, silver and gold"),
    ("network", "bronze, silver and gold"),
    ("lb", "silver and gold"),
    ("nodes", "silver and gold"),
    ("haproxy", "silver and gold"),
    ("keepalived", "silver and gold"),
    ("services", "gold"),
    ("rpc", "gold"),
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
                    "speed is a factor between {} and {} (1.0 = the speed CPU demands are written for), found {}",
                    limits::MIN_SPEED,
                    limits::MAX_SPEED,
                    echo_number(s)
                ),
            );
            None
        }
    };
    let somaxconn = cx.count(
        &p.key("somaxconn"),
        &raw.somaxconn,
        Kernel::DEFAULT_SOMAXCONN,
        1,
        limits::MAX_SOMAXCONN,
        "somaxconn (net.core.somaxconn)",
    );
    let (syn_retries, linear) = syn_keys(cx, p, &raw.tcp_syn_retries, &raw.tcp_syn_linear_timeouts, "");
    let price = match cx.get(&p.key("price_per_hour"), &raw.price_per_hour) {
        None => None,
        Some(None) => Some(0.0),
        Some(Some(&x)) if (0.0..=limits::MAX_PRICE_PER_HOUR).contains(&x) => Some(x),
        Some(Some(&x)) => {
            cx.report(
                &p.key("price_per_hour"),
                format!(
                    "price_per_hour is what the host costs an hour, from 0 to {}, found {}",
                    limits::MAX_PRICE_PER_HOUR,
                    echo_number(x)
                ),
            );
            None
        }
    };
    Some(Host {
        cores: cores?,
        speed: speed?,
        price_per_hour: price?,
        kernel: Kernel {
            somaxconn: somaxconn?,
            tcp_syn_retries: syn_retries?,
            tcp_syn_linear_timeouts: linear?,
        },
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
    let nginx = cx
        .table(&np, nginx, &default_nginx)
        .and_then(|n| self::nginx(cx, &np, n));
    let default_fpm = RawFpm::default();
    let fpm = cx
        .table(&p.key("fpm"), fpm_raw, &default_fpm)
        .and_then(|f| fpm(cx, &p.key("fpm"), f));
    let default_mysql = RawMySql::default();
    let mysql = cx
        .table(&p.key("mysql"), mysql_raw, &default_mysql)
        .and_then(|m| mysql(cx, &p.key("mysql"), m));
    Some(Stack {
        nginx: nginx?,
        fpm: fpm?,
        mysql: mysql?,
    })
}

fn nginx(cx: &mut Ctx<'_, '_>, p: &KeyPath, raw: &RawNginx) -> Option<Nginx> {
    let read = cx.timeout(
        &p.key("fastcgi_read_timeout"),
        &raw.fastcgi_read_timeout,
        Some(Nginx::DEFAULT_FASTCGI_READ_TIMEOUT_NS),
    );
    let cp = p.key("fastcgi_connect_timeout");
    let connect = match cx.duration(&cp, &raw.fastcgi_connect_timeout) {
        None => None,
        Some(None) => Some(Nginx::DEFAULT_FASTCGI_CONNECT_TIMEOUT_NS),
        Some(Some(ns)) if (1..=Nginx::MAX_FASTCGI_CONNECT_TIMEOUT_NS).contains(&ns) => Some(ns),
        Some(Some(_)) => {
            cx.report(
                &cp,
                "fastcgi_connect_timeout lies between 1ms and 75s (nginx: it \"cannot usually exceed 75 seconds\")",
            );
            None
        }
    };
    let wp = p.key("worker_processes");
    let workers = match cx.get(&wp, &raw.worker_processes) {
        None => None,
        Some(None) => Some(None),
        Some(Some(RawWorkers::Text(t))) if t.trim() == "auto" => Some(None),
        Some(Some(RawWorkers::Number(n))) => cx
            .bounded(&wp, *n, 1, limits::MAX_NGINX_WORKERS, "worker_processes")
            .map(Some),
        Some(Some(RawWorkers::Text(t))) => {
            cx.report(
                &wp,
                format!(
                    "worker_processes is a number or \"auto\" (one per core), found \"{}\"",
                    echo(t)
                ),
            );
            None
        }
    };
    let min = Nginx::RESERVED_PER_WORKER + 2;
    let connections = cx.count(
        &p.key("worker_connections"),
        &raw.worker_connections,
        Nginx::DEFAULT_WORKER_CONNECTIONS,
        0,
        limits::MAX_WORKER_CONNECTIONS,
        "worker_connections",
    );
    let connections = match connections {
        Some(n) if n < min => {
            cx.report(
                &p.key("worker_connections"),
                format!(
                    "worker_connections must be at least {min}: each worker keeps {} for its listening sockets and \
                     its channel to the master, and a proxied request takes 2 (the client's and FPM's), found {n}",
                    Nginx::RESERVED_PER_WORKER
                ),
            );
            None
        }
        n => n,
    };
    Some(Nginx {
        fastcgi_read_timeout: read?,
        fastcgi_connect_timeout: connect?,
        worker_processes: workers?,
        worker_connections: connections?,
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
    let pm_name = cx.choice_or(
        &p.key("pm"),
        &raw.pm,
        "pm",
        &[("static", "static"), ("dynamic", "dynamic"), ("ondemand", "ondemand")],
        "dynamic",
    );
    let listen = cx.choice_or(
        &p.key("listen"),
        &raw.listen,
        "listen",
        &[
            (
                "unix (a socket such as /run/php/php8.2-fpm.sock, Debian's default)",
                Listen::Unix,
            ),
            ("tcp (a port such as 127.0.0.1:9000)", Listen::Tcp),
        ],
        Listen::Unix,
    );
    let listen_backlog = match cx.get(&p.key("listen_backlog"), &raw.listen_backlog) {
        None => None,
        Some(None) | Some(Some(-1)) => Some(None),
        Some(Some(&n)) if n >= 1 && n <= i64::from(limits::MAX_LISTEN_BACKLOG) => Some(Some(n as u32)),
        Some(Some(&n)) => {
            cx.report(
                &p.key("listen_backlog"),
                format!(
                    "listen_backlog must be -1 (the host's net.core.somaxconn, {} by default) or a number from 1 to {}, found {n}",
                    Kernel::DEFAULT_SOMAXCONN,
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
    let tp = p.key("request_terminate_timeout");
    let request_terminate_timeout = match cx.timeout(&tp, &raw.request_terminate_timeout, None) {
        Some(Some(ns)) if ns % 1_000_000_000 != 0 => {
            cx.report(
                &tp,
                "php-fpm reads request_terminate_timeout in whole seconds: write \"1s\", \"30s\" or \"2m\", or \"off\"",
            );
            None
        }
        t => t,
    };
    let spawn_time = cx
        .duration(&p.key("spawn_time"), &raw.spawn_time)
        .map(|t| t.unwrap_or(FpmPool::DEFAULT_SPAWN_TIME_NS));
    let pm_name = pm_name?;
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
        // "dynamic", the only other choice.
        _ => {
            let misplaced = misplaced(cx, &idle, "ondemand");
            let d = max_children.and_then(|m| dynamic(cx, p, raw, m));
            d.filter(|_| !misplaced)
        }
    };
    Some(FpmPool {
        pm: pm?,
        max_children: max_children?,
        listen: listen?,
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

/// A kernel's SYN retransmission keys under `p`, a host's or the
/// clients' (`whose`: "" or "the clients' ", for the messages).
pub(super) fn syn_keys(
    cx: &mut Ctx<'_, '_>,
    p: &KeyPath,
    retries: &Opt<i64>,
    linear: &Opt<i64>,
    whose: &str,
) -> (Option<u32>, Option<u32>) {
    let retries = cx.count(
        &p.key("tcp_syn_retries"),
        retries,
        Kernel::DEFAULT_SYN_RETRIES,
        1,
        limits::MAX_SYN_RETRIES,
        &format!("tcp_syn_retries ({whose}net.ipv4.tcp_syn_retries)"),
    );
    let linear = cx.count(
        &p.key("tcp_syn_linear_timeouts"),
        linear,
        Kernel::DEFAULT_SYN_LINEAR_TIMEOUTS,
        0,
        limits::MAX_SYN_LINEAR_TIMEOUTS,
        &format!("tcp_syn_linear_timeouts ({whose}net.ipv4.tcp_syn_linear_timeouts)"),
    );
    (retries, linear)
}
