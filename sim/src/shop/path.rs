//! The request path the shop wires from a `Topology`: the web nodes, the
//! balancers in front of them and the database behind.

use lab_control::vrrp::VrrpConfig;
use lab_core::scenario::{FpmPool, Haproxy, MySql, Nginx};
use lab_core::topology::{NodeKind, Topology};

/// The request path the shop wires: the web nodes clients reach (each
/// nginx → its FPM pool), directly or through a balancer, and the MySQL
/// every pool queries, with the hosts they run on.
pub(crate) struct Path<'t> {
    pub nginx: &'t Nginx,
    pub fpm: &'t FpmPool,
    pub mysql: &'t MySql,
    /// Each web node's host.
    pub webs: Vec<usize>,
    pub db: usize,
    /// The balancer in front of the web nodes, if there is one.
    pub front: Option<Balancers<'t>>,
}

/// HAProxy on two hosts under keepalived's VIP.
pub(crate) struct Balancers<'t> {
    pub haproxy: &'t Haproxy,
    pub vrrp: &'t [VrrpConfig; 2],
    /// The two balancers' hosts.
    pub lbs: [usize; 2],
}

impl<'t> Path<'t> {
    pub(crate) fn of(t: &'t Topology) -> Path<'t> {
        let (servers, front) = match &t.node(t.entry).kind {
            NodeKind::Nginx { .. } => (vec![t.entry], None),
            NodeKind::Vip { members, vrrp } => {
                let NodeKind::Haproxy { cfg, servers } = &t.node(members[0]).kind else {
                    unreachable!("a VIP fronts HAProxy")
                };
                let lbs = members.map(|m| t.node(m).host.0 as usize);
                (
                    servers.clone(),
                    Some(Balancers {
                        haproxy: cfg,
                        vrrp,
                        lbs,
                    }),
                )
            }
            other => unreachable!("clients reach nginx or a VIP, not {other:?}"),
        };
        let mut webs = Vec::with_capacity(servers.len());
        let mut stack = None;
        for &n in &servers {
            let NodeKind::Nginx { cfg: nginx, upstream } = &t.node(n).kind else {
                unreachable!("a web node starts with nginx")
            };
            let pool = t.node(*upstream);
            let NodeKind::Fpm { pool: fpm, db } = &pool.kind else {
                unreachable!("nginx passes requests to an FPM pool")
            };
            webs.push(pool.host.0 as usize);
            stack.get_or_insert((nginx, fpm, *db));
        }
        let (nginx, fpm, db) = stack.expect("at least one web node");
        let database = t.node(db);
        let NodeKind::MySql(mysql) = &database.kind else {
            unreachable!("the pool's queries go to MySQL")
        };
        Path {
            nginx,
            fpm,
            mysql,
            webs,
            db: database.host.0 as usize,
            front,
        }
    }
}
