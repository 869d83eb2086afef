//! An era's effective settings, each with where it came from: the scenario
//! file, or a default and the real system (or the lab) that sets it.
//!
//! The validator records which keys the file wrote as it reads them
//! ([`Ctx::given`](super::validate)) and calls [`describe`] on each
//! validated era, so `lab check` shows what the simulator will run, never
//! a second reading of the TOML. The sources are those of
//! `docs/scenario.md` and FACTS.md.

use std::fmt;

use super::era::{Architecture, FpmPool, Host, Listen, MySql, Nginx, ProcessManager, Stack};
use super::haproxy::Haproxy;
use super::units::format_duration;
use super::{Dist, Era};

/// Where an effective setting came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Written in the scenario, at the setting's key under `[eras.<label>]`.
    Scenario,
    /// Not written: the default of the named source.
    Default(&'static str),
    /// Not written: taken from other settings, as the text says.
    From(String),
}

impl Origin {
    pub fn is_scenario(&self) -> bool {
        matches!(self, Origin::Scenario)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Scenario => f.write_str("scenario"),
            Origin::Default(s) => f.write_str(s),
            Origin::From(s) => f.write_str(s),
        }
    }
}

/// One effective setting of an era.
#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    /// The key below `[eras.<label>]`, as the file would write it:
    /// `fpm.max_children`, `services.cart.host.cores`.
    pub key: String,
    /// The value as the simulator runs it, in the file's units.
    pub value: String,
    pub origin: Origin,
}

pub const LAB: &str = "lab default";
pub const LAB_ASSUMPTION: &str = "lab assumption, to calibrate";
pub const LINUX: &str = "Linux default (since 5.4)";
pub const DEBIAN_NGINX: &str = "Debian nginx.conf";
pub const NGINX: &str = "nginx default";
pub const DEBIAN_FPM: &str = "Debian php-fpm www.conf";
pub const FPM: &str = "php-fpm default";
pub const MYSQL: &str = "MySQL/MariaDB default";
pub const HAPROXY: &str = "HAProxy 2.6 default";
pub const DEBIAN_HAPROXY: &str = "Debian haproxy.cfg";
pub const KEEPALIVED: &str = "keepalived default";
pub const PHP_SOCKET_TIMEOUT: &str = "PHP default_socket_timeout";

/// Whether the file wrote the key at these segments below the era.
pub(super) type Given<'g> = &'g dyn Fn(&[&str]) -> bool;

struct Rows<'g> {
    given: Given<'g>,
    rows: Vec<Setting>,
}

impl Rows<'_> {
    /// A setting at `at` + `key`: from the scenario if written, else `default`.
    fn push(&mut self, at: &[&str], key: &str, value: String, default: Origin) {
        let path = join(at, key);
        let origin = if (self.given)(&path) { Origin::Scenario } else { default };
        self.rows.push(Setting {
            key: path.join("."),
            value,
            origin,
        });
    }

    /// `fpm_here`: whether a PHP-FPM pool listens on it, the only place
    /// `somaxconn` matters (it caps the listen backlog).
    fn host(&mut self, at: &[&str], h: &Host, fpm_here: bool) {
        self.push(at, "cores", h.cores.to_string(), Origin::Default(LAB));
        if h.speed != 1.0 || (self.given)(&join(at, "speed")) {
            self.push(at, "speed", format!("{}", h.speed), Origin::Default(LAB));
        }
        if fpm_here || (self.given)(&join(at, "somaxconn")) {
            self.push(at, "somaxconn", h.kernel.somaxconn.to_string(), Origin::Default(LINUX));
        }
        if h.price_per_hour > 0.0 {
            self.push(
                at,
                "price_per_hour",
                format!("{}", h.price_per_hour),
                Origin::Default(LAB),
            );
        }
    }

    fn stack(&mut self, at: &[&str], s: &Stack, web: &Host, db: bool) {
        self.nginx(&join(at, "nginx"), &s.nginx, web);
        self.fpm(&join(at, "fpm"), &s.fpm, web);
        if db {
            self.mysql(&join(at, "mysql"), &s.mysql);
        }
    }

    fn nginx(&mut self, at: &[&str], n: &Nginx, web: &Host) {
        let workers = match n.worker_processes {
            Some(w) => w.to_string(),
            None => format!("auto ({})", web.cores),
        };
        self.push(
            at,
            "worker_processes",
            workers,
            Origin::Default("Debian nginx.conf (auto: one per core)"),
        );
        self.push(
            at,
            "worker_connections",
            n.worker_connections.to_string(),
            Origin::Default(DEBIAN_NGINX),
        );
        self.push(
            at,
            "fastcgi_connect_timeout",
            format_duration(n.fastcgi_connect_timeout),
            Origin::Default(NGINX),
        );
        self.push(
            at,
            "fastcgi_read_timeout",
            timeout(n.fastcgi_read_timeout),
            Origin::Default(NGINX),
        );
    }

    fn fpm(&mut self, at: &[&str], f: &FpmPool, web: &Host) {
        self.push(at, "pm", f.pm.name().to_string(), Origin::Default(DEBIAN_FPM));
        self.push(
            at,
            "max_children",
            f.max_children.to_string(),
            Origin::Default(DEBIAN_FPM),
        );
        match f.pm {
            ProcessManager::Static => {}
            ProcessManager::Dynamic {
                start_servers,
                min_spare_servers,
                max_spare_servers,
            } => {
                self.push(
                    at,
                    "start_servers",
                    start_servers.to_string(),
                    Origin::From("php-fpm: min_spare + (max_spare − min_spare) / 2".into()),
                );
                self.push(
                    at,
                    "min_spare_servers",
                    min_spare_servers.to_string(),
                    Origin::Default(DEBIAN_FPM),
                );
                self.push(
                    at,
                    "max_spare_servers",
                    max_spare_servers.to_string(),
                    Origin::Default(DEBIAN_FPM),
                );
            }
            ProcessManager::OnDemand { process_idle_timeout } => self.push(
                at,
                "process_idle_timeout",
                format_duration(process_idle_timeout),
                Origin::Default(FPM),
            ),
        }
        let listen = match f.listen {
            Listen::Unix => "unix",
            Listen::Tcp => "tcp",
        };
        self.push(at, "listen", listen.into(), Origin::Default(DEBIAN_FPM));
        let somaxconn = web.kernel.somaxconn;
        let backlog = match f.listen_backlog {
            None => format!("-1 (somaxconn: {somaxconn})"),
            Some(b) if b > somaxconn => format!("{b} (capped at somaxconn: {somaxconn})"),
            Some(b) => b.to_string(),
        };
        self.push(at, "listen_backlog", backlog, Origin::Default(FPM));
        self.push(
            at,
            "request_terminate_timeout",
            timeout(f.request_terminate_timeout),
            Origin::Default(FPM),
        );
        let max_requests = match f.max_requests {
            0 => "0 (never)".to_string(),
            n => n.to_string(),
        };
        self.push(at, "max_requests", max_requests, Origin::Default(FPM));
        self.push(
            at,
            "spawn_time",
            format_duration(f.spawn_time),
            Origin::Default(LAB_ASSUMPTION),
        );
    }

    fn mysql(&mut self, at: &[&str], m: &MySql) {
        self.push(
            at,
            "max_connections",
            m.max_connections.to_string(),
            Origin::Default(MYSQL),
        );
        self.push(
            at,
            "long_query_time",
            format_duration(m.long_query_time),
            Origin::Default(MYSQL),
        );
        self.push(
            at,
            "innodb_lock_wait_timeout",
            format_duration(m.innodb_lock_wait_timeout),
            Origin::Default(MYSQL),
        );
    }

    fn rtt(&mut self, rtt: &Dist) {
        self.push(&["network"], "rtt", rtt.to_string(), Origin::Default(LAB));
    }

    fn haproxy(&mut self, at: &[&str], h: &Haproxy) {
        self.push(at, "balance", h.balance.name().into(), Origin::Default(HAPROXY));
        self.push(at, "maxconn", h.maxconn.to_string(), Origin::Default(HAPROXY));
        let unlimited = |n: u32| if n == 0 { "0 (none)".into() } else { n.to_string() };
        self.push(
            at,
            "server_maxconn",
            unlimited(h.server_maxconn),
            Origin::Default(HAPROXY),
        );
        self.push(at, "maxqueue", unlimited(h.maxqueue), Origin::Default(HAPROXY));
        self.push(
            at,
            "timeout_connect",
            format_duration(h.timeout_connect),
            Origin::Default(DEBIAN_HAPROXY),
        );
        self.push(
            at,
            "timeout_queue",
            format_duration(h.timeout_queue),
            Origin::From("HAProxy: timeout_connect".into()),
        );
        self.push(
            at,
            "timeout_server",
            format_duration(h.timeout_server),
            Origin::Default(DEBIAN_HAPROXY),
        );
        match h.check {
            None => self.push(at, "check", "false".into(), Origin::Default(HAPROXY)),
            Some(c) => {
                let timing = format!(
                    "inter {}, fastinter {}, downinter {}, rise {}, fall {}",
                    format_duration(c.inter),
                    format_duration(c.fastinter),
                    format_duration(c.downinter),
                    c.rise,
                    c.fall
                );
                let written = ["check", "inter", "fastinter", "downinter", "rise", "fall"]
                    .iter()
                    .any(|k| (self.given)(&join(at, k)));
                self.rows.push(Setting {
                    key: join(at, "check").join("."),
                    value: timing,
                    origin: if written {
                        Origin::Scenario
                    } else {
                        Origin::Default(HAPROXY)
                    },
                });
            }
        }
        self.push(at, "retries", h.retries.to_string(), Origin::Default(HAPROXY));
        self.push(at, "redispatch", h.redispatch.to_string(), Origin::Default(HAPROXY));
    }
}

fn join<'a>(at: &[&'a str], key: &'a str) -> Vec<&'a str> {
    let mut v = at.to_vec();
    v.push(key);
    v
}

fn timeout(t: Option<u64>) -> String {
    t.map_or_else(|| "off".into(), format_duration)
}

/// The era's effective settings; `given` says which keys (segments below
/// `[eras.<label>]`) the file wrote.
pub(super) fn describe(era: &Era, given: Given<'_>) -> Vec<Setting> {
    let mut r = Rows {
        given,
        rows: Vec::new(),
    };
    match &era.arch {
        Architecture::Stone { host, stack } => {
            r.host(&["host"], host, true);
            r.stack(&[], stack, host, true);
        }
        Architecture::Bronze {
            web,
            db,
            network,
            stack,
        } => {
            r.host(&["web"], web, true);
            r.host(&["db"], db, false);
            r.rtt(&network.rtt);
            r.stack(&[], stack, web, true);
        }
        Architecture::Silver(s) => front(&mut r, s),
        Architecture::Gold(g) => {
            front(&mut r, &g.front);
            r.push(&["rpc"], "cpu", g.rpc.cpu.to_string(), Origin::Default(LAB_ASSUMPTION));
            r.push(
                &["rpc"],
                "timeout",
                timeout(g.rpc.timeout),
                Origin::Default(PHP_SOCKET_TIMEOUT),
            );
            for p in &g.services {
                let at = ["services", p.service.as_str()];
                let era_s = |what: &str| Origin::From(format!("the era's {what}"));
                r.push(&at, "nodes", p.nodes.to_string(), Origin::Default(LAB));
                let own = |r: &Rows<'_>, k: &str| (r.given)(&join(&at, k));
                if own(&r, "host") {
                    r.host(&join(&at, "host"), &p.host, true);
                } else {
                    r.push(&at, "host.cores", p.host.cores.to_string(), era_s("web"));
                }
                if own(&r, "fpm") {
                    // The sizing keys always; the rest only where written,
                    // to keep a service to a few lines.
                    let mut pool = Rows {
                        given: r.given,
                        rows: Vec::new(),
                    };
                    pool.fpm(&join(&at, "fpm"), &p.stack.fpm, &p.host);
                    let sizing = ["pm", "max_children", "min_spare_servers", "listen_backlog"];
                    r.rows.extend(pool.rows.into_iter().filter(|x| {
                        x.origin.is_scenario() || sizing.iter().any(|k| x.key.ends_with(&format!(".fpm.{k}")))
                    }));
                } else {
                    r.push(&at, "fpm.pm", p.stack.fpm.pm.name().into(), era_s("fpm"));
                    r.push(
                        &at,
                        "fpm.max_children",
                        p.stack.fpm.max_children.to_string(),
                        era_s("fpm"),
                    );
                }
                let db = if p.own_db.is_some() { "own" } else { "shared" };
                r.push(&at, "db", db.into(), Origin::Default(LAB));
                r.push(&at, "timeout", timeout(p.timeout), Origin::From("rpc.timeout".into()));
            }
        }
    }
    r.rows
}

fn front(r: &mut Rows<'_>, s: &super::Silver) {
    r.push(&[], "nodes", s.nodes.to_string(), Origin::Default(LAB));
    r.host(&["lb"], &s.lb, false);
    r.host(&["web"], &s.web, true);
    r.host(&["db"], &s.db, false);
    r.rtt(&s.network.rtt);
    r.haproxy(&["haproxy"], &s.haproxy);
    let k = &s.keepalived;
    let at = ["keepalived"];
    let version = match k[0].version {
        lab_control::vrrp::VrrpVersion::V2 => "2",
        lab_control::vrrp::VrrpVersion::V3 => "3",
    };
    r.push(&at, "version", version.into(), Origin::Default(KEEPALIVED));
    r.push(
        &at,
        "advert_int",
        format_duration(k[0].advert_int),
        Origin::Default(KEEPALIVED),
    );
    r.push(
        &at,
        "priority",
        format!("[{}, {}]", k[0].priority, k[1].priority),
        Origin::Default("lab default (keepalived's 100, the master one above)"),
    );
    r.push(&at, "preempt", k[0].preempt.to_string(), Origin::Default(KEEPALIVED));
    r.push(
        &at,
        "preempt_delay",
        format_duration(k[0].preempt_delay),
        Origin::Default(KEEPALIVED),
    );
    r.stack(&[], &s.stack, &s.web, true);
}
