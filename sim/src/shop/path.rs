//! The request path the shop wires from a `Topology`: the web nodes, the
//! balancers in front of them, the databases behind, and (gold) the
//! services' clusters that calls go to.

use lab_control::vrrp::VrrpConfig;
use lab_core::scenario::{FpmPool, Haproxy, MySql, Nginx};
use lab_core::topology::{NodeId, NodeKind, Topology};

/// The request path the shop wires: the web nodes clients reach (each
/// nginx → its FPM pool), directly or through a balancer, then each
/// service's nodes; the MySQL servers the pools query, with the hosts they
/// run on.
pub(crate) struct Path<'t> {
    /// The entry's web nodes' settings (the front tier's).
    pub nginx: &'t Nginx,
    pub fpm: &'t FpmPool,
    /// Every web node: the front's first, then each service's in turn.
    pub webs: Vec<WebSpec<'t>>,
    /// How many of `webs` the entry reaches.
    pub front_webs: usize,
    /// Every MySQL server; the front's is the first.
    pub dbs: Vec<DbSpec<'t>>,
    /// The balancer in front of the web nodes, if there is one.
    pub front: Option<Balancers<'t>>,
    /// Where calls go, by the application's service index (gold only).
    pub services: Vec<ServiceSpec<'t>>,
}

/// One web node: nginx and its pool on a host.
pub(crate) struct WebSpec<'t> {
    pub host: usize,
    pub nginx: &'t Nginx,
    pub fpm: &'t FpmPool,
    /// Index in [`Path::dbs`] of the MySQL its pool queries.
    pub db: usize,
}

pub(crate) struct DbSpec<'t> {
    pub host: usize,
    pub mysql: &'t MySql,
}

/// HAProxy on two hosts under keepalived's VIP.
pub(crate) struct Balancers<'t> {
    pub haproxy: &'t Haproxy,
    pub vrrp: &'t [VrrpConfig; 2],
    /// The two balancers' hosts.
    pub lbs: [usize; 2],
}

/// A service's cluster: its HAProxy and its nodes, `webs[first..first + nodes]`.
pub(crate) struct ServiceSpec<'t> {
    pub name: &'t str,
    pub haproxy: &'t Haproxy,
    /// The balancer's host.
    pub lb: usize,
    pub first: usize,
    pub nodes: usize,
    /// How long a caller waits for an answer; `None`: for ever.
    pub timeout: Option<u64>,
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
        let mut db_nodes: Vec<NodeId> = Vec::new();
        let mut dbs = Vec::new();
        let mut webs = Vec::with_capacity(servers.len());
        let mut add = |n: NodeId, webs: &mut Vec<WebSpec<'t>>| {
            let NodeKind::Nginx { cfg: nginx, upstream } = &t.node(n).kind else {
                unreachable!("a web node starts with nginx")
            };
            let pool = t.node(*upstream);
            let NodeKind::Fpm { pool: fpm, db } = &pool.kind else {
                unreachable!("nginx passes requests to an FPM pool")
            };
            let db = match db_nodes.iter().position(|d| d == db) {
                Some(i) => i,
                None => {
                    let database = t.node(*db);
                    let NodeKind::MySql(mysql) = &database.kind else {
                        unreachable!("the pool's queries go to MySQL")
                    };
                    db_nodes.push(*db);
                    dbs.push(DbSpec {
                        host: database.host.0 as usize,
                        mysql,
                    });
                    dbs.len() - 1
                }
            };
            webs.push(WebSpec {
                host: pool.host.0 as usize,
                nginx,
                fpm,
                db,
            });
        };
        for &n in &servers {
            add(n, &mut webs);
        }
        let front_webs = webs.len();
        let mut services = Vec::new();
        for route in &t.services {
            let b = t.node(route.balancer);
            let NodeKind::Haproxy { cfg, servers } = &b.kind else {
                unreachable!("a service is reached through HAProxy")
            };
            let first = webs.len();
            for &n in servers {
                add(n, &mut webs);
            }
            services.push(ServiceSpec {
                name: &route.name,
                haproxy: cfg,
                lb: b.host.0 as usize,
                first,
                nodes: servers.len(),
                timeout: route.timeout,
            });
        }
        let first = webs.first().expect("at least one web node");
        Path {
            nginx: first.nginx,
            fpm: first.fpm,
            front_webs,
            webs,
            dbs,
            front,
            services,
        }
    }

    /// Each web node's host.
    pub(crate) fn web_hosts(&self) -> Vec<usize> {
        self.webs.iter().map(|w| w.host).collect()
    }
}
