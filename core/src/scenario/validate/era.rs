//! Eras: each architecture, its hosts and its stack (nginx, PHP-FPM, MySQL).

use super::super::dist::Dist;
use super::super::era::{Architecture, Era, FpmPool, Host, MODELS, MySql, Network, Nginx, ProcessManager, Stack};
use super::super::locate::KeyPath;
use super::super::raw::{RawEra, RawFpm, RawHost, RawMySql};
use super::Ctx;

pub(super) fn eras(cx: &mut Ctx, raw: &indexmap::IndexMap<String, RawEra>) -> Option<Vec<Era>> {
    let p = KeyPath::root().key("eras");
    if raw.is_empty() {
        cx.report(
            &KeyPath::root(),
            format!(
                "declare at least one era to run, e.g. [eras.stone] (models: {})",
                MODELS.join(", ")
            ),
        );
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for (label, e) in raw {
        let ep = p.key(label);
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            cx.report(
                &ep,
                "an era label may hold letters, digits, '-' and '_' (it names files in the report)",
            );
            ok = false;
            continue;
        }
        match era(cx, &ep, label, e) {
            Some(arch) => out.push(Era {
                label: label.clone(),
                arch,
            }),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn era(cx: &mut Ctx, p: &KeyPath, label: &str, e: &RawEra) -> Option<Architecture> {
    let model = match &e.model {
        Some(m) => m.as_str(),
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
    let allowed: &[&str] = match model {
        "stone" => &["host"],
        "bronze" => &["web", "db", "network"],
        other => {
            cx.report(
                &p.key("model"),
                format!("unknown era model \"{other}\": expected one of {}", quoted(MODELS)),
            );
            return None;
        }
    };
    for (key, given) in [
        ("host", e.host.is_some()),
        ("web", e.web.is_some()),
        ("db", e.db.is_some()),
        ("network", e.network.is_some()),
    ] {
        if given && !allowed.contains(&key) {
            cx.report(
                &p.key(key),
                format!(
                    "a {model} era has no \"{key}\"; its machines are: {}",
                    allowed.join(", ")
                ),
            );
            return None;
        }
    }
    let stack = stack(cx, p, e);
    let arch = match model {
        "stone" => Architecture::Stone {
            host: host(cx, &p.key("host"), e.host.as_ref())?,
            stack: stack?,
        },
        _ => {
            let web = host(cx, &p.key("web"), e.web.as_ref());
            let db = host(cx, &p.key("db"), e.db.as_ref());
            let rtt = match e.network.as_ref().and_then(|n| n.rtt.as_ref()) {
                Some(t) => cx.dist(&p.key("network").key("rtt"), t),
                None => Some(Dist::constant(Network::DEFAULT_RTT_NS)),
            };
            Architecture::Bronze {
                web: web?,
                db: db?,
                network: Network { rtt: rtt? },
                stack: stack?,
            }
        }
    };
    Some(arch)
}

fn quoted(names: &[&str]) -> String {
    names.iter().map(|m| format!("\"{m}\"")).collect::<Vec<_>>().join(", ")
}

fn host(cx: &mut Ctx, p: &KeyPath, raw: Option<&RawHost>) -> Option<Host> {
    let default = RawHost::default();
    let raw = raw.unwrap_or(&default);
    let cores = cx.count(&p.key("cores"), raw.cores, Host::DEFAULT_CORES, 1, "cores");
    let speed = raw.speed.unwrap_or(1.0);
    if !(speed.is_finite() && speed > 0.0) {
        cx.report(
            &p.key("speed"),
            format!("speed is a factor above 0 (1.0 = the speed CPU demands are written for), found {speed}"),
        );
        return None;
    }
    Some(Host { cores: cores?, speed })
}

fn stack(cx: &mut Ctx, p: &KeyPath, e: &RawEra) -> Option<Stack> {
    let nginx = {
        let n = e.nginx.as_ref();
        let t = cx.timeout(
            &p.key("nginx").key("fastcgi_read_timeout"),
            n.and_then(|n| n.fastcgi_read_timeout.as_ref()),
            Some(Nginx::DEFAULT_FASTCGI_READ_TIMEOUT_NS),
        );
        t.map(|fastcgi_read_timeout| Nginx { fastcgi_read_timeout })
    };
    let default_fpm = RawFpm::default();
    let fpm = fpm(cx, &p.key("fpm"), e.fpm.as_ref().unwrap_or(&default_fpm));
    let default_mysql = RawMySql::default();
    let mysql = mysql(cx, &p.key("mysql"), e.mysql.as_ref().unwrap_or(&default_mysql));
    Some(Stack {
        nginx: nginx?,
        fpm: fpm?,
        mysql: mysql?,
    })
}

fn fpm(cx: &mut Ctx, p: &KeyPath, raw: &RawFpm) -> Option<FpmPool> {
    let max_children = cx.count(
        &p.key("max_children"),
        raw.max_children,
        FpmPool::DEFAULT_MAX_CHILDREN,
        1,
        "max_children (pm.max_children)",
    )?;
    let pm_name = raw.pm.as_deref().unwrap_or("dynamic");
    let dynamic_only = [
        ("start_servers", raw.start_servers.is_some()),
        ("min_spare_servers", raw.min_spare_servers.is_some()),
        ("max_spare_servers", raw.max_spare_servers.is_some()),
    ];
    let misplaced = |cx: &mut Ctx, keys: &[(&str, bool)], wanted: &str| {
        for (k, given) in keys {
            if *given {
                cx.report(
                    &p.key(k),
                    format!("\"{k}\" only applies to pm = \"{wanted}\" (this pool has pm = \"{pm_name}\")"),
                );
                return true;
            }
        }
        false
    };
    let idle = [("process_idle_timeout", raw.process_idle_timeout.is_some())];
    let pm = match pm_name {
        "static" => {
            if misplaced(cx, &dynamic_only, "dynamic") || misplaced(cx, &idle, "ondemand") {
                return None;
            }
            ProcessManager::Static
        }
        "ondemand" => {
            if misplaced(cx, &dynamic_only, "dynamic") {
                return None;
            }
            let t = match &raw.process_idle_timeout {
                Some(t) => cx.duration(&p.key("process_idle_timeout"), t)?,
                None => FpmPool::DEFAULT_IDLE_TIMEOUT_NS,
            };
            if t == 0 {
                cx.report(
                    &p.key("process_idle_timeout"),
                    "process_idle_timeout must be longer than 0s",
                );
                return None;
            }
            ProcessManager::OnDemand {
                process_idle_timeout: t,
            }
        }
        "dynamic" => {
            if misplaced(cx, &idle, "ondemand") {
                return None;
            }
            dynamic(cx, p, raw, max_children)?
        }
        other => {
            cx.report(
                &p.key("pm"),
                format!("unknown pm \"{other}\": expected \"static\", \"dynamic\" or \"ondemand\""),
            );
            return None;
        }
    };
    let listen_backlog = match raw.listen_backlog {
        None | Some(-1) => FpmPool::SOMAXCONN,
        Some(n) if n >= 1 && n <= i64::from(u32::MAX) => n as u32,
        Some(n) => {
            cx.report(
                &p.key("listen_backlog"),
                format!(
                    "listen_backlog must be -1 (net.core.somaxconn, {}) or a positive number, found {n}",
                    FpmPool::SOMAXCONN
                ),
            );
            return None;
        }
    };
    let max_requests = cx.count(&p.key("max_requests"), raw.max_requests, 0, 0, "max_requests")?;
    let request_terminate_timeout = cx.timeout(
        &p.key("request_terminate_timeout"),
        raw.request_terminate_timeout.as_ref(),
        None,
    )?;
    let spawn_time = match &raw.spawn_time {
        Some(t) => cx.duration(&p.key("spawn_time"), t)?,
        None => FpmPool::DEFAULT_SPAWN_TIME_NS,
    };
    Some(FpmPool {
        pm,
        max_children,
        listen_backlog,
        max_requests,
        request_terminate_timeout,
        spawn_time,
    })
}

/// FPM's own start-up checks for `pm = dynamic` (fpm_conf.c), with its defaults.
fn dynamic(cx: &mut Ctx, p: &KeyPath, raw: &RawFpm, max_children: u32) -> Option<ProcessManager> {
    let min = cx.count(
        &p.key("min_spare_servers"),
        raw.min_spare_servers,
        FpmPool::DEFAULT_MIN_SPARE,
        1,
        "min_spare_servers",
    )?;
    let max = cx.count(
        &p.key("max_spare_servers"),
        raw.max_spare_servers,
        FpmPool::DEFAULT_MAX_SPARE,
        1,
        "max_spare_servers",
    )?;
    let default_note = |given: bool| if given { "" } else { ", the default" };
    if max > max_children {
        cx.report(
            &p.key("max_spare_servers"),
            format!(
                "max_spare_servers ({max}{}) must not exceed max_children ({max_children})",
                default_note(raw.max_spare_servers.is_some())
            ),
        );
        return None;
    }
    if min > max {
        cx.report(
            &p.key("min_spare_servers"),
            format!(
                "min_spare_servers ({min}) must not exceed max_spare_servers ({max}{})",
                default_note(raw.max_spare_servers.is_some())
            ),
        );
        return None;
    }
    let start = cx.count(
        &p.key("start_servers"),
        raw.start_servers,
        min + (max - min) / 2,
        1,
        "start_servers",
    )?;
    if start < min || start > max {
        cx.report(
            &p.key("start_servers"),
            format!("start_servers ({start}) must lie between min_spare_servers ({min}) and max_spare_servers ({max})"),
        );
        return None;
    }
    Some(ProcessManager::Dynamic {
        start_servers: start,
        min_spare_servers: min,
        max_spare_servers: max,
    })
}

fn mysql(cx: &mut Ctx, p: &KeyPath, raw: &RawMySql) -> Option<MySql> {
    let max_connections = cx.count(
        &p.key("max_connections"),
        raw.max_connections,
        MySql::DEFAULT_MAX_CONNECTIONS,
        1,
        "max_connections",
    );
    let long_query_time = match &raw.long_query_time {
        Some(t) => cx.duration(&p.key("long_query_time"), t),
        None => Some(MySql::DEFAULT_LONG_QUERY_TIME_NS),
    };
    let lock_wait = match &raw.innodb_lock_wait_timeout {
        Some(t) => cx.duration(&p.key("innodb_lock_wait_timeout"), t).and_then(|ns| {
            if ns < 1_000_000_000 {
                cx.report(
                    &p.key("innodb_lock_wait_timeout"),
                    "innodb_lock_wait_timeout is at least 1s (MySQL's minimum)",
                );
                None
            } else {
                Some(ns)
            }
        }),
        None => Some(MySql::DEFAULT_LOCK_WAIT_TIMEOUT_NS),
    };
    Some(MySql {
        max_connections: max_connections?,
        long_query_time: long_query_time?,
        innodb_lock_wait_timeout: lock_wait?,
    })
}
