//! Gold: the monolith split into services. The front tier is silver's (the
//! VIP, the HAProxy pair, web nodes running the endpoints' own steps, the
//! database host); every service of the application runs on a cluster of
//! its own — its nodes (nginx and PHP-FPM each), its own HAProxy, and its
//! database, shared with the front or its own — and a `call` is an RPC to
//! that cluster: a network hop through the service's balancer, with
//! serialisation CPU on both sides and a per-call timeout.
//!
//! ```toml
//! [eras.gold]
//! nodes = 2                       # the front's web nodes, as in silver
//! rpc = { cpu = "50us", timeout = "5s" }
//! [eras.gold.services.cart]
//! nodes = 4
//! host = { cores = 2 }
//! db = "own"
//! ```

use indexmap::IndexMap;
use serde::Deserialize;

use super::super::app::App;
use super::super::dist::Dist;
use super::super::haproxy::Haproxy;
use super::super::limits::{self, echo};
use super::super::locate::KeyPath;
use super::super::raw::{Field, Opt, RawFpm, RawHost, RawMySql, RawNetwork, RawNginx, Shape, TABLE};
use super::super::validate::{Ctx, host, stack};
use super::silver::{self, FrontKeys, RawHaproxy, RawKeepalived, Silver};
use super::{Architecture, Era, Host, Stack};
use crate::topology::{NodeKind, Rpc, ServiceRoute, TopologyBuilder};

/// `[eras.<label>]` with `model = "gold"`: silver's keys for the front
/// tier, `rpc` and `services`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGold {
    /// Read by the dispatcher (`validate/era.rs`), which chose this model.
    #[allow(dead_code)]
    pub model: Opt<String>,
    pub nodes: Opt<i64>,
    pub lb: Opt<RawHost>,
    pub web: Opt<RawHost>,
    pub db: Opt<RawHost>,
    pub network: Opt<RawNetwork>,
    pub haproxy: Opt<RawHaproxy>,
    pub keepalived: Opt<RawKeepalived>,
    pub fpm: Opt<RawFpm>,
    pub mysql: Opt<RawMySql>,
    pub nginx: Opt<RawNginx>,
    pub rpc: Opt<RawRpc>,
    pub services: Opt<IndexMap<String, Field<RawPlacement>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRpc {
    pub cpu: Opt<String>,
    pub timeout: Opt<String>,
}

/// `[eras.<label>.services.<service>]`: where one service runs.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlacement {
    pub nodes: Opt<i64>,
    pub host: Opt<RawHost>,
    pub lb: Opt<RawHost>,
    pub haproxy: Opt<RawHaproxy>,
    pub fpm: Opt<RawFpm>,
    pub nginx: Opt<RawNginx>,
    pub db: Opt<String>,
    pub db_host: Opt<RawHost>,
    pub mysql: Opt<RawMySql>,
    pub timeout: Opt<String>,
}

impl Shape for RawGold {
    const WHAT: &'static str = TABLE;
}
impl Shape for RawRpc {
    const WHAT: &'static str = TABLE;
}
impl Shape for RawPlacement {
    const WHAT: &'static str = TABLE;
}

/// The gold era's settings, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Gold {
    /// The VIP, the balancer pair, the web nodes running the endpoints and
    /// the front's database: silver's settings.
    pub front: Silver,
    pub rpc: RpcSettings,
    /// Placements written in the file, by service name.
    pub written: Vec<Placement>,
    /// Every service of the application, in the application's order: the
    /// written placement, or the era's defaults. Filled once the
    /// application is known ([`place_services`]).
    pub services: Vec<Placement>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RpcSettings {
    /// CPU each side of a call spends on one message pair (the caller
    /// encodes the request and decodes the answer; the callee decodes and
    /// encodes), at speed 1.0.
    pub cpu: Dist,
    /// How long a caller waits for an answer by default; `None`: for ever.
    pub timeout: Option<u64>,
}

impl RpcSettings {
    /// An assumption, not a documented default: encoding and decoding a
    /// small JSON body in PHP takes tens of microseconds.
    pub const DEFAULT_CPU_NS: u64 = 50_000;
    /// PHP's `default_socket_timeout` (php.ini: 60).
    pub const DEFAULT_TIMEOUT_NS: u64 = 60_000_000_000;
}

/// Where one service runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Placement {
    pub service: String,
    pub nodes: u32,
    /// Each node's host.
    pub host: Host,
    /// The host of the service's HAProxy.
    pub lb: Host,
    pub haproxy: Haproxy,
    /// nginx and PHP-FPM on each node; MySQL's settings apply to an own
    /// database.
    pub stack: Stack,
    /// The service's own database host, or `None` to share the front's.
    pub own_db: Option<Host>,
    /// How long a caller waits for this service's answer; `None`: for ever.
    pub timeout: Option<u64>,
}

impl Gold {
    /// Why the health checks alone would be more work than a run may do:
    /// the front pair's, and each service's balancer checking its nodes.
    pub fn check_work_problem(&self, duration: u64) -> Option<String> {
        let mut events = self.front.check_events(duration);
        for s in &self.services {
            if let Some(c) = s.haproxy.check {
                let every = c.inter.min(c.fastinter).min(c.downinter).max(1);
                events += 2.0 * f64::from(s.nodes) * duration as f64 / every as f64;
            }
        }
        (events > limits::MAX_WORK).then(|| {
            format!(
                "health checks alone would take {events:.2e} events (the front's pair and each service's balancer checking its nodes); one era may simulate at most {:.0e}: lengthen inter (and fastinter, downinter), use fewer nodes or a shorter run",
                limits::MAX_WORK
            )
        })
    }

    /// Two nodes, like silver's web tier: the least that survives losing one.
    pub const DEFAULT_SERVICE_NODES: u32 = 2;
    pub const MAX_SERVICES: usize = 250;
}

pub(in crate::scenario) fn validate(cx: &mut Ctx<'_, '_>, p: &KeyPath, raw: &RawGold) -> Option<Architecture> {
    let keys = FrontKeys {
        nodes: &raw.nodes,
        lb: &raw.lb,
        web: &raw.web,
        db: &raw.db,
        network: &raw.network,
        haproxy: &raw.haproxy,
        keepalived: &raw.keepalived,
        fpm: &raw.fpm,
        mysql: &raw.mysql,
        nginx: &raw.nginx,
    };
    let front = silver::front(cx, p, &keys);
    let rp = p.key("rpc");
    let default = RawRpc::default();
    let rpc = cx.table(&rp, &raw.rpc, &default).and_then(|r| {
        let cpu = cx
            .dist(&rp.key("cpu"), &r.cpu)
            .map(|d| d.unwrap_or_else(|| Dist::constant(RpcSettings::DEFAULT_CPU_NS)));
        let timeout = cx.timeout(&rp.key("timeout"), &r.timeout, Some(RpcSettings::DEFAULT_TIMEOUT_NS));
        Some(RpcSettings {
            cpu: cpu?,
            timeout: timeout?,
        })
    });
    // The placements are read even when the front or `rpc` has a problem,
    // against the defaults, so that every problem is reported at once.
    let valid = front.is_some() && rpc.is_some();
    let front = front.or_else(|| silver::front(cx, p, &FrontKeys::ABSENT))?;
    let rpc = rpc.unwrap_or(RpcSettings {
        cpu: Dist::constant(RpcSettings::DEFAULT_CPU_NS),
        timeout: Some(RpcSettings::DEFAULT_TIMEOUT_NS),
    });
    let sp = p.key("services");
    let services = cx.get_as(
        &sp,
        &raw.services,
        "a table of services, e.g. [eras.gold.services.cart]",
    )?;
    let mut written = Vec::new();
    let mut ok = true;
    if let Some(services) = services {
        if services.len() > Gold::MAX_SERVICES {
            cx.report(
                &sp,
                format!("a gold era places at most {} services", Gold::MAX_SERVICES),
            );
            return None;
        }
        for (name, f) in services {
            let p = sp.key(name);
            let placement = cx
                .field(&p, f, "")
                .and_then(|raw| placement(cx, &p, name, raw, &front, &rpc));
            match placement {
                Some(pl) => written.push(pl),
                None => ok = false,
            }
        }
    }
    (ok && valid).then(|| {
        Architecture::Gold(Box::new(Gold {
            front,
            rpc,
            written,
            services: Vec::new(),
        }))
    })
}

fn placement(
    cx: &mut Ctx<'_, '_>,
    p: &KeyPath,
    name: &str,
    raw: &RawPlacement,
    front: &Silver,
    rpc: &RpcSettings,
) -> Option<Placement> {
    let nodes = cx.count(
        &p.key("nodes"),
        &raw.nodes,
        Gold::DEFAULT_SERVICE_NODES,
        1,
        limits::MAX_WEB_NODES,
        "nodes (the service's nodes)",
    );
    let or = |cx: &mut Ctx<'_, '_>, key: &str, f: &Opt<RawHost>, default: &Host| match f {
        None => Some(default.clone()),
        Some(_) => host(cx, &p.key(key), f),
    };
    let node_host = or(cx, "host", &raw.host, &front.web);
    let lb = or(cx, "lb", &raw.lb, &front.lb);
    let haproxy = match &raw.haproxy {
        None => Some(front.haproxy.clone()),
        Some(_) => {
            let hp = p.key("haproxy");
            let default = RawHaproxy::default();
            cx.table(&hp, &raw.haproxy, &default)
                .and_then(|h| silver::haproxy(cx, &hp, h))
        }
    };
    // Tables the service does not write are the era's; a written one is
    // read on its own, with the software's defaults for what it leaves out.
    let read = stack(cx, p, &raw.nginx, &raw.fpm, &raw.mysql);
    let stack = read.map(|s| Stack {
        nginx: if raw.nginx.is_some() {
            s.nginx
        } else {
            front.stack.nginx.clone()
        },
        fpm: if raw.fpm.is_some() {
            s.fpm
        } else {
            front.stack.fpm.clone()
        },
        mysql: if raw.mysql.is_some() {
            s.mysql
        } else {
            front.stack.mysql.clone()
        },
    });
    let own = cx.choice_or(&p.key("db"), &raw.db, "db", &[("shared", false), ("own", true)], false);
    let own_db = match own {
        None => None,
        Some(true) => or(cx, "db_host", &raw.db_host, &front.db).map(Some),
        Some(false) => {
            let mut ok = true;
            for (key, given) in [("db_host", raw.db_host.is_some()), ("mysql", raw.mysql.is_some())] {
                if given {
                    cx.report_key(
                        &p.key(key),
                        format!("\"{key}\" sets up the service's own database, and db is \"shared\": add db = \"own\""),
                    );
                    ok = false;
                }
            }
            ok.then_some(None)
        }
    };
    let timeout = cx.timeout(&p.key("timeout"), &raw.timeout, rpc.timeout);
    Some(Placement {
        service: name.to_string(),
        nodes: nodes?,
        host: node_host?,
        lb: lb?,
        haproxy: haproxy?,
        stack: stack?,
        own_db: own_db?,
        timeout: timeout?,
    })
}

/// Places every service of the application in each gold era: the written
/// placement, or the era's defaults; a placement of a service the
/// application does not have is an error.
pub(in crate::scenario) fn place_services(cx: &mut Ctx<'_, '_>, eras: &mut [Era], app: &App) {
    for era in eras {
        let Architecture::Gold(g) = &mut era.arch else { continue };
        let ep = KeyPath::root().key("eras").key(&era.label);
        if app.services.len() > Gold::MAX_SERVICES {
            cx.report(
                &ep,
                format!(
                    "a gold era runs each service on a cluster of its own behind its own HAProxy: at most {} services, and [app.services] declares {}",
                    Gold::MAX_SERVICES,
                    app.services.len()
                ),
            );
            continue;
        }
        if let Some(s) = app.services.iter().find(|s| s.name == "master") {
            cx.report(
                &ep,
                format!(
                    "a gold era cannot place a service named \"{}\": its balancer's host would be lb.master, which names whichever front balancer holds the address",
                    s.name
                ),
            );
            continue;
        }
        let nodes: u64 = u64::from(g.front.nodes)
            + app
                .services
                .iter()
                .map(|s| {
                    g.written
                        .iter()
                        .find(|w| w.service == s.name)
                        .map_or(Gold::DEFAULT_SERVICE_NODES, |w| w.nodes)
                })
                .map(u64::from)
                .sum::<u64>();
        if nodes > u64::from(limits::MAX_WEB_NODES) {
            cx.report(
                &ep,
                format!(
                    "a gold era runs at most {} web nodes, the front's and every service's together; this one has {nodes}",
                    limits::MAX_WEB_NODES
                ),
            );
            continue;
        }
        let mut ok = true;
        for w in &g.written {
            if !app.services.iter().any(|s| s.name == w.service) {
                let known: Vec<_> = app.services.iter().map(|s| format!("\"{}\"", s.name)).collect();
                let known = if known.is_empty() {
                    "the application declares none ([app.services.<name>.ops.<op>])".to_string()
                } else {
                    format!("services: {}", known.join(", "))
                };
                cx.report_key(
                    &KeyPath::root()
                        .key("eras")
                        .key(&era.label)
                        .key("services")
                        .key(&w.service),
                    format!("no service \"{}\" in [app.services] ({known})", echo(&w.service)),
                );
                ok = false;
            }
        }
        if !ok {
            continue;
        }
        g.services = app
            .services
            .iter()
            .map(|s| match g.written.iter().find(|w| w.service == s.name) {
                Some(w) => w.clone(),
                None => Placement {
                    service: s.name.clone(),
                    nodes: Gold::DEFAULT_SERVICE_NODES,
                    host: g.front.web.clone(),
                    lb: g.front.lb.clone(),
                    haproxy: g.front.haproxy.clone(),
                    stack: g.front.stack.clone(),
                    own_db: None,
                    timeout: g.rpc.timeout,
                },
            })
            .collect();
    }
}

/// Silver's hosts, then for each service `lb.<svc>`, its own `db.<svc>`
/// and `svc.<svc>[0]`…; a call to a service goes to its HAProxy.
pub(super) fn lower(t: &mut TopologyBuilder, arch: &Architecture) {
    let Architecture::Gold(g) = arch else {
        unreachable!("lowering a gold era")
    };
    let shared = silver::lower_front(t, &g.front);
    for s in &g.services {
        let name = &s.service;
        let lb = t.host(&format!("lb.{name}"), &s.lb);
        let mysql = match &s.own_db {
            None => shared,
            Some(h) => {
                let db = t.host(&format!("db.{name}"), h);
                t.node(&format!("mysql.{name}"), db, NodeKind::MySql(s.stack.mysql.clone()))
            }
        };
        let servers: Vec<_> = (0..s.nodes)
            .map(|i| {
                let host = t.host(&format!("svc.{name}[{i}]"), &s.host);
                t.web_node(&s.stack, host, mysql, &format!(".{name}[{i}]"))
            })
            .collect();
        let balancer = t.node(
            &format!("haproxy.{name}"),
            lb,
            NodeKind::Haproxy {
                cfg: s.haproxy.clone(),
                servers,
            },
        );
        t.service(ServiceRoute {
            name: name.clone(),
            balancer,
            timeout: s.timeout,
        });
    }
    t.rpc(Rpc { cpu: g.rpc.cpu.clone() });
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::scenario::parse;
    use crate::topology::NodeKind;

    const APP: &str = r#"
        duration = "1m"
        [traffic]
        rate = "10/s"
        [app.services.cart.ops.add]
        steps = [{ cpu = "1ms" }]
        [app.services.catalog.ops.list]
        steps = [{ query = "list", db_cpu = "1ms" }]
        [app.endpoints.home]
        steps = [{ call = "catalog.list" }, { call = "cart.add" }]
    "#;

    #[test]
    fn every_service_gets_a_cluster_behind_its_own_balancer() {
        let s = parse(
            &format!("{APP}\n[eras.gold]\n[eras.gold.services.cart]\nnodes = 3\ndb = \"own\"\n"),
            Path::new("g.toml"),
        )
        .unwrap();
        let t = s.eras[0].topology();
        let names: Vec<_> = t.hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "lb[0]",
                "lb[1]",
                "db",
                "web[0]",
                "web[1]",
                "lb.cart",
                "db.cart",
                "svc.cart[0]",
                "svc.cart[1]",
                "svc.cart[2]",
                "lb.catalog",
                "svc.catalog[0]",
                "svc.catalog[1]"
            ]
        );
        assert_eq!(t.services.len(), 2);
        let NodeKind::Haproxy { servers, .. } = &t.node(t.services[0].balancer).kind else {
            panic!()
        };
        assert_eq!(servers.len(), 3);
        // cart's pools query its own database, catalog's the front's.
        let db_of = |svc: usize| {
            let NodeKind::Haproxy { servers, .. } = &t.node(t.services[svc].balancer).kind else {
                panic!()
            };
            let NodeKind::Nginx { upstream, .. } = &t.node(servers[0]).kind else {
                panic!()
            };
            let NodeKind::Fpm { db, .. } = &t.node(*upstream).kind else {
                panic!()
            };
            t.hosts[t.node(*db).host.0 as usize].name.clone()
        };
        assert_eq!(db_of(0), "db.cart");
        assert_eq!(db_of(1), "db");
        assert!(t.rpc.is_some());
    }

    #[test]
    fn a_placement_of_an_unknown_service_is_an_error() {
        let e = parse(
            &format!("{APP}\n[eras.gold]\n[eras.gold.services.payment]\nnodes = 3\n"),
            Path::new("g.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("eras.gold.services.payment"), "{e}");
        assert!(e.contains("no service \"payment\""), "{e}");
        assert!(e.contains("\"cart\", \"catalog\""), "{e}");
    }

    #[test]
    fn own_database_keys_need_db_own() {
        let e = parse(
            &format!("{APP}\n[eras.gold]\n[eras.gold.services.cart]\ndb_host = {{ cores = 8 }}\n"),
            Path::new("g.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("services.cart.db_host"), "{e}");
        assert!(e.contains("db = \"own\""), "{e}");
    }

    #[test]
    fn a_silver_era_has_no_services() {
        let e = parse(
            &format!("{APP}\n[eras.silver]\n[eras.silver.services.cart]\nnodes = 3\n"),
            Path::new("g.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("services"), "{e}");
        assert!(e.contains("gold"), "{e}");
    }
}
