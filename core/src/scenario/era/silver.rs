//! Silver: two load-balancer hosts running HAProxy, keepalived moving a
//! virtual address (VIP) between them, N web nodes (nginx and PHP-FPM
//! each, on a host of its own) and the database host.

use lab_control::vrrp::{InitialState, SECOND, VrrpConfig, VrrpConfigError, VrrpVersion};
use serde::Deserialize;

use super::super::dist::Dist;
use super::super::haproxy::{Balance, Haproxy, HashType, HealthCheck};
use super::super::limits;
use super::super::locate::KeyPath;
use super::super::raw::{Field, Opt, RawFpm, RawHost, RawMySql, RawNetwork, RawNginx, Shape, TABLE};
use super::super::units::format_duration;
use super::super::validate::{Ctx, host, stack};
use super::{Architecture, Host, Network, Stack};
use crate::topology::{NodeId, NodeKind, TopologyBuilder};

/// `[eras.<label>]` with `model = "silver"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSilver {
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
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHaproxy {
    pub balance: Opt<String>,
    pub draws: Opt<i64>,
    pub maxconn: Opt<i64>,
    pub server_maxconn: Opt<i64>,
    pub maxqueue: Opt<i64>,
    pub timeout_connect: Opt<String>,
    pub timeout_queue: Opt<String>,
    pub timeout_server: Opt<String>,
    pub timeout_check: Opt<String>,
    pub hash_type: Opt<String>,
    pub check: Opt<bool>,
    pub inter: Opt<String>,
    pub fastinter: Opt<String>,
    pub downinter: Opt<String>,
    pub rise: Opt<i64>,
    pub fall: Opt<i64>,
    pub retries: Opt<i64>,
    pub redispatch: Opt<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKeepalived {
    pub version: Opt<i64>,
    pub advert_int: Opt<String>,
    /// `[lb0, lb1]`.
    pub priority: Opt<Vec<Field<i64>>>,
    pub preempt: Opt<bool>,
    pub preempt_delay: Opt<String>,
}

impl Shape for RawSilver {
    const WHAT: &'static str = TABLE;
}
impl Shape for RawHaproxy {
    const WHAT: &'static str = TABLE;
}
impl Shape for RawKeepalived {
    const WHAT: &'static str = TABLE;
}

/// The silver era's settings, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Silver {
    /// Web nodes behind the balancer.
    pub nodes: u32,
    /// Each of the two balancer hosts.
    pub lb: Host,
    /// Each web node's host.
    pub web: Host,
    pub db: Host,
    pub network: Network,
    pub haproxy: Haproxy,
    /// keepalived on `lb[0]` and `lb[1]`.
    pub keepalived: [VrrpConfig; 2],
    pub stack: Stack,
}

impl Silver {
    /// Two web nodes: the least that survives losing one.
    pub const DEFAULT_NODES: u32 = 2;
    /// The usual pair: the intended master one above keepalived's default 100.
    pub const DEFAULT_PRIORITIES: [u8; 2] = [101, 100];
}

impl Silver {
    /// Why the health checks alone would be more work than a run may do
    /// ([`limits::MAX_WORK`]): each balancer checks each node every
    /// interval, a start and an end each.
    /// Events the pair's health checks make in a run of `duration`.
    pub fn check_events(&self, duration: u64) -> f64 {
        let Some(c) = self.haproxy.check else { return 0.0 };
        let every = c.inter.min(c.fastinter).min(c.downinter).max(1);
        2.0 * 2.0 * f64::from(self.nodes) * duration as f64 / every as f64
    }

    pub fn check_work_problem(&self, duration: u64) -> Option<String> {
        let c = self.haproxy.check?;
        let every = c.inter.min(c.fastinter).min(c.downinter).max(1);
        let events = 2.0 * 2.0 * f64::from(self.nodes) * duration as f64 / every as f64;
        (events > limits::MAX_WORK).then(|| {
            format!(
                "health checks alone would take {events:.2e} events (2 balancers × {} nodes × a check every {} for {}); one era may simulate at most {:.0e}: lengthen inter (and fastinter, downinter), use fewer nodes or a shorter run",
                self.nodes,
                format_duration(every),
                format_duration(duration),
                limits::MAX_WORK
            )
        })
    }
}

pub(in crate::scenario) fn validate(cx: &mut Ctx<'_, '_>, p: &KeyPath, raw: &RawSilver) -> Option<Architecture> {
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
    front(cx, p, &keys).map(|s| Architecture::Silver(Box::new(s)))
}

/// Silver's keys, which gold's front tier shares.
pub(super) struct FrontKeys<'r> {
    pub nodes: &'r Opt<i64>,
    pub lb: &'r Opt<RawHost>,
    pub web: &'r Opt<RawHost>,
    pub db: &'r Opt<RawHost>,
    pub network: &'r Opt<RawNetwork>,
    pub haproxy: &'r Opt<RawHaproxy>,
    pub keepalived: &'r Opt<RawKeepalived>,
    pub fpm: &'r Opt<RawFpm>,
    pub mysql: &'r Opt<RawMySql>,
    pub nginx: &'r Opt<RawNginx>,
}

impl FrontKeys<'static> {
    /// Every key absent: the defaults.
    pub(super) const ABSENT: FrontKeys<'static> = FrontKeys {
        nodes: &None,
        lb: &None,
        web: &None,
        db: &None,
        network: &None,
        haproxy: &None,
        keepalived: &None,
        fpm: &None,
        mysql: &None,
        nginx: &None,
    };
}

/// The VIP, the balancer pair, the web nodes and the database host.
pub(super) fn front(cx: &mut Ctx<'_, '_>, p: &KeyPath, raw: &FrontKeys<'_>) -> Option<Silver> {
    let nodes = cx.count(
        &p.key("nodes"),
        raw.nodes,
        Silver::DEFAULT_NODES,
        1,
        limits::MAX_WEB_NODES,
        "nodes (web nodes)",
    );
    let lb = host(cx, &p.key("lb"), raw.lb);
    let web = host(cx, &p.key("web"), raw.web);
    let db = host(cx, &p.key("db"), raw.db);
    let np = p.key("network");
    let default = RawNetwork::default();
    let rtt = cx
        .table(&np, raw.network, &default)
        .and_then(|n| cx.dist(&np.key("rtt"), &n.rtt))
        .map(|d| d.unwrap_or_else(|| Dist::constant(Network::DEFAULT_RTT_NS)));
    let hp = p.key("haproxy");
    let default = RawHaproxy::default();
    let haproxy = cx.table(&hp, raw.haproxy, &default).and_then(|h| haproxy(cx, &hp, h));
    let kp = p.key("keepalived");
    let default = RawKeepalived::default();
    let keepalived = cx
        .table(&kp, raw.keepalived, &default)
        .and_then(|k| keepalived(cx, &kp, k));
    let stack = stack(cx, p, raw.nginx, raw.fpm, raw.mysql);
    Some(Silver {
        nodes: nodes?,
        lb: lb?,
        web: web?,
        db: db?,
        network: Network { rtt: rtt? },
        haproxy: haproxy?,
        keepalived: keepalived?,
        stack: stack?,
    })
}

pub(super) fn haproxy(cx: &mut Ctx<'_, '_>, p: &KeyPath, raw: &RawHaproxy) -> Option<Haproxy> {
    let d = Haproxy::default();
    let draws = cx.count(&p.key("draws"), &raw.draws, 2, 1, 100, "draws");
    // `random`'s draws are filled in below, once both keys are read.
    let balance = cx.choice_or(
        &p.key("balance"),
        &raw.balance,
        "balance",
        &[
            ("roundrobin", Balance::RoundRobin),
            ("static-rr", Balance::StaticRr),
            ("leastconn", Balance::LeastConn),
            ("first", Balance::First),
            ("source", Balance::Source),
            ("random", Balance::Random { draws: 0 }),
        ],
        Balance::RoundRobin,
    );
    let balance = match balance {
        Some(Balance::Random { .. }) => draws.map(|draws| Balance::Random { draws }),
        b => b,
    };
    if raw.draws.is_some() && !matches!(balance, Some(Balance::Random { .. }) | None) {
        cx.report_key(&p.key("draws"), "\"draws\" only applies to balance = \"random\"");
    }
    let max = limits::MAX_DB_CONNECTIONS * 10;
    let maxconn = cx.count(&p.key("maxconn"), &raw.maxconn, d.maxconn, 1, max, "maxconn");
    let server_maxconn = cx.count(
        &p.key("server_maxconn"),
        &raw.server_maxconn,
        0,
        0,
        max,
        "server_maxconn (0 = no limit)",
    );
    let maxqueue = cx.count(&p.key("maxqueue"), &raw.maxqueue, 0, 0, max, "maxqueue (0 = no limit)");
    let positive = |cx: &mut Ctx<'_, '_>, key: &str, f: &Opt<String>, default: u64| -> Option<u64> {
        // Other timeouts take "off"; these are always set in HAProxy.
        if f.as_ref().and_then(|f| f.value.as_deref()).map(str::trim) == Some("off") {
            cx.report(
                &p.key(key),
                format!("{key} must be longer than 0s: HAProxy has no \"off\" for it"),
            );
            return None;
        }
        match cx.duration(&p.key(key), f)? {
            None => Some(default),
            Some(0) => {
                cx.report(&p.key(key), format!("{key} must be longer than 0s"));
                None
            }
            Some(t) => Some(t),
        }
    };
    let connect = positive(cx, "timeout_connect", &raw.timeout_connect, d.timeout_connect);
    let queue = positive(
        cx,
        "timeout_queue",
        &raw.timeout_queue,
        connect.unwrap_or(d.timeout_queue),
    );
    let server = positive(cx, "timeout_server", &raw.timeout_server, d.timeout_server);
    let timeout_check = match raw.timeout_check {
        None => Some(None),
        Some(_) => positive(cx, "timeout_check", &raw.timeout_check, 0).map(Some),
    };
    let hash_type = cx.choice_or(
        &p.key("hash_type"),
        &raw.hash_type,
        "hash_type",
        &[("map-based", HashType::MapBased), ("consistent", HashType::Consistent)],
        HashType::MapBased,
    );
    let check = cx.get(&p.key("check"), &raw.check).map(|c| c.copied().unwrap_or(true));
    let inter = positive(cx, "inter", &raw.inter, HealthCheck::DEFAULT_INTER_NS);
    let fastinter = positive(cx, "fastinter", &raw.fastinter, inter.unwrap_or(0));
    let downinter = positive(cx, "downinter", &raw.downinter, inter.unwrap_or(0));
    let rise = cx.count(&p.key("rise"), &raw.rise, HealthCheck::DEFAULT_RISE, 1, 1000, "rise");
    let fall = cx.count(&p.key("fall"), &raw.fall, HealthCheck::DEFAULT_FALL, 1, 1000, "fall");
    let retries = cx.count(&p.key("retries"), &raw.retries, d.retries, 0, 100, "retries");
    let redispatch = cx
        .get(&p.key("redispatch"), &raw.redispatch)
        .map(|r| r.copied().unwrap_or(false));
    let check = match check? {
        true => Some(HealthCheck {
            inter: inter?,
            fastinter: fastinter?,
            downinter: downinter?,
            rise: rise?,
            fall: fall?,
        }),
        false => {
            for key in ["inter", "fastinter", "downinter", "rise", "fall"] {
                let given = match key {
                    "inter" => raw.inter.is_some(),
                    "fastinter" => raw.fastinter.is_some(),
                    "downinter" => raw.downinter.is_some(),
                    "rise" => raw.rise.is_some(),
                    _ => raw.fall.is_some(),
                };
                if given {
                    cx.report_key(&p.key(key), format!("\"{key}\" times health checks, and check = false"));
                }
            }
            None
        }
    };
    let server_maxconn = server_maxconn?;
    if balance == Some(Balance::First) && server_maxconn == 0 {
        cx.report(
            &p.key("balance"),
            "balance = \"first\" fills each server up to its maxconn: set server_maxconn",
        );
        return None;
    }
    Some(Haproxy {
        balance: balance?,
        maxconn: maxconn?,
        server_maxconn,
        maxqueue: maxqueue?,
        timeout_connect: connect?,
        timeout_queue: queue?,
        timeout_server: server?,
        timeout_check: timeout_check?,
        hash_type: hash_type?,
        check,
        retries: retries?,
        redispatch: redispatch?,
    })
}

fn keepalived(cx: &mut Ctx<'_, '_>, p: &KeyPath, raw: &RawKeepalived) -> Option<[VrrpConfig; 2]> {
    let version = match cx.get(&p.key("version"), &raw.version) {
        None => None,
        Some(None | Some(2)) => Some(VrrpVersion::V2),
        Some(Some(3)) => Some(VrrpVersion::V3),
        Some(Some(v)) => {
            cx.report(
                &p.key("version"),
                format!("version is 2 or 3 (vrrp_version), found {v}"),
            );
            None
        }
    };
    let advert_int = cx
        .duration(&p.key("advert_int"), &raw.advert_int)
        .map(|a| a.unwrap_or(SECOND));
    let priority = match cx.get_as(&p.key("priority"), &raw.priority, "two priorities, [lb0, lb1]") {
        None => None,
        Some(None) => Some(Silver::DEFAULT_PRIORITIES),
        Some(Some(v)) => priorities(cx, &p.key("priority"), v),
    };
    let preempt = cx
        .get(&p.key("preempt"), &raw.preempt)
        .map(|x| x.copied().unwrap_or(true));
    let delay = cx
        .duration(&p.key("preempt_delay"), &raw.preempt_delay)
        .map(|d| d.unwrap_or(0));
    let (version, advert_int, delay) = (version?, advert_int?, delay?);
    // A priority or preempt that could not be read is reported already; the
    // defaults stand in for it so that advert_int and preempt_delay are
    // still checked against what keepalived takes.
    let read = priority.zip(preempt);
    let (priority, preempt) = read.unwrap_or((Silver::DEFAULT_PRIORITIES, true));
    // Both routers start as BACKUP: keepalived 2.2.7 starts every non-owner
    // that way whatever `state` says, and only BACKUP allows nopreempt and
    // preempt_delay.
    let config = |i: usize| VrrpConfig {
        version,
        advert_int,
        priority: priority[i],
        preempt: preempt || priority[i] == 255,
        preempt_delay: delay,
        initial: InitialState::Backup,
        address: i as u32 + 1,
    };
    let configs = [config(0), config(1)];
    // `validate` stops at the first problem: advert_int and preempt_delay
    // are each checked with the other at a value keepalived takes, so that
    // one never hides the other.
    let mut found: Vec<&str> = Vec::new();
    for c in &configs {
        let probes = [
            VrrpConfig { preempt_delay: 0, ..*c },
            VrrpConfig {
                version: VrrpVersion::V2,
                advert_int: SECOND,
                ..*c
            },
        ];
        for e in probes.iter().filter_map(|c| c.validate().err()) {
            let shown = format_duration(advert_int);
            let (key, message) = match e {
                VrrpConfigError::AdvertIntV2(_) => (
                    "advert_int",
                    format!(
                        "advert_int is whole seconds from 1s to 255s with version = 2, found {shown} (version = 3 takes centiseconds)"
                    ),
                ),
                VrrpConfigError::AdvertIntV3(_) => (
                    "advert_int",
                    format!("advert_int is whole centiseconds from 10ms to 40.95s with version = 3, found {shown}"),
                ),
                VrrpConfigError::PreemptDelayTooLong(_) => (
                    "preempt_delay",
                    "preempt_delay is at most 1000s (keepalived's limit)".to_string(),
                ),
                other => ("", format!("keepalived would refuse this: {other}")),
            };
            if found.contains(&key) {
                continue;
            }
            found.push(key);
            let at = if key.is_empty() { p.clone() } else { p.key(key) };
            cx.report(&at, message);
        }
    }
    (found.is_empty() && read.is_some()).then_some(configs)
}

/// `priority = [lb0, lb1]`: two numbers, each of its own type.
fn priorities(cx: &mut Ctx<'_, '_>, p: &KeyPath, v: &[Field<i64>]) -> Option<[u8; 2]> {
    let problem =
        |found: String| format!("priority is two numbers from 1 to 255, one per balancer ([lb0, lb1]), found {found}");
    if v.len() != 2 {
        let found = format!("{} value{}", v.len(), if v.len() == 1 { "" } else { "s" });
        cx.report(p, problem(found));
        return None;
    }
    let a = cx.field(&p.index(0), &v[0], "a priority from 1 to 255");
    let b = cx.field(&p.index(1), &v[1], "a priority from 1 to 255");
    let (&a, &b) = (a?, b?);
    if ![a, b].iter().all(|x| (1..=255).contains(x)) {
        cx.report(p, problem(format!("[{a}, {b}]")));
        return None;
    }
    Some([a as u8, b as u8])
}

/// Hosts `lb[0]`, `lb[1]`, `web[0]`…`web[n-1]`, `db`; the VIP is the entry.
pub(super) fn lower(t: &mut TopologyBuilder, arch: &Architecture) {
    let Architecture::Silver(s) = arch else {
        unreachable!("lowering a silver era")
    };
    lower_front(t, s);
}

/// Lowers the front tier; returns its MySQL node.
pub(super) fn lower_front(t: &mut TopologyBuilder, s: &Silver) -> NodeId {
    t.rtt(s.network.rtt.clone());
    let lbs = [t.host("lb[0]", &s.lb), t.host("lb[1]", &s.lb)];
    let db = t.host("db", &s.db);
    let mysql = t.node("mysql", db, NodeKind::MySql(s.stack.mysql.clone()));
    let servers: Vec<_> = (0..s.nodes)
        .map(|i| {
            let web = t.host(&format!("web[{i}]"), &s.web);
            t.web_node(&s.stack, web, mysql, &format!("[{i}]"))
        })
        .collect();
    let members = [0, 1].map(|i| {
        t.node(
            &format!("haproxy[{i}]"),
            lbs[i],
            NodeKind::Haproxy {
                cfg: s.haproxy.clone(),
                servers: servers.clone(),
            },
        )
    });
    let vip = t.node(
        "vip",
        lbs[0],
        NodeKind::Vip {
            members,
            vrrp: s.keepalived,
        },
    );
    t.entry(vip);
    mysql
}
