//! The running system's gauges, read once a second while the load
//! generator drives a deployment, under the keys the simulator gives the
//! same levels (`fpm.busy`, `mysql.connections`, `<host>.cpu`...), so the
//! report of a real run reads like a simulated one and `lab validate`
//! can lay the two side by side.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use lab_core::record::{CounterId, CounterSpec, GaugeId, GaugeKind, GaugeSpec, RecordBuilder};
use lab_core::topology::{NodeKind, Topology};
use lab_deploy::scrape::{self, ScrapeError};
use lab_deploy::{Deployment, MariaDb, fpm};
use lab_loadgen::{Reading, Scrape};

/// Every scraper a deployment of `t` has something for.
pub fn scrapers(d: &Deployment, t: &Topology) -> Vec<Box<dyn Scrape>> {
    let mut out: Vec<Box<dyn Scrape>> = vec![Box::new(Fpm::new(d, t)), Box::new(MySql::new(d, t))];
    if !d.balancers.is_empty() {
        out.push(Box::new(Haproxy {
            sockets: d.balancers.iter().map(|b| b.stats.clone()).collect(),
            servers: d.web.len(),
            ids: None,
        }));
    }
    let mut hosts: Vec<_> = d
        .hosts
        .iter()
        .filter_map(|h| Some((h.name.clone(), h.cores, h.accounting.clone()?)))
        .collect();
    if let Some(a) = d.load_generator_accounting() {
        let cpus = lab_deploy::cpuset::online().len().max(1) as u32;
        hosts.push(("load-generator".into(), cpus, a.to_path_buf()));
    }
    if !hosts.is_empty() {
        out.push(Box::new(Cpu {
            hosts,
            state: Vec::new(),
        }));
    }
    out
}

/// A gauge that failed is skipped for that second and named once on
/// stderr, so a broken page does not go unnoticed nor flood the terminal.
#[derive(Default)]
struct Complaints(Vec<String>);

impl Complaints {
    fn once(&mut self, e: &ScrapeError) {
        let s = e.to_string();
        if !self.0.contains(&s) {
            eprintln!("warning: a gauge could not be read (it is left out where so): {s}");
            self.0.push(s);
        }
    }
}

fn gauge(b: &mut RecordBuilder, key: &str, label: &str, kind: GaugeKind, capacity: Option<f64>) -> GaugeId {
    b.add_gauge(GaugeSpec {
        key: key.into(),
        label: label.into(),
        kind,
        capacity,
    })
}

/// One web node's pool: its status page through nginx, and for a unix
/// pool the socket whose accept queue is its backlog (read in the node's
/// network namespace).
struct Pool {
    page: SocketAddr,
    unix: Option<(Option<String>, PathBuf)>,
}

/// PHP-FPM's status page of every web node, summed; a unix pool's
/// backlog from its socket's accept queue.
struct Fpm {
    pools: Vec<Pool>,
    children: f64,
    ids: Option<[GaugeId; 3]>,
    complaints: Complaints,
}

impl Fpm {
    fn new(d: &Deployment, t: &Topology) -> Fpm {
        let children = f64::from(t.fpm_workers());
        Fpm {
            pools: d
                .web
                .iter()
                .map(|w| Pool {
                    page: w.listen,
                    unix: match &w.fpm_address {
                        lab_deploy::FpmAddress::Unix(p) => Some((w.netns.clone(), p.clone())),
                        lab_deploy::FpmAddress::Tcp(_) => None,
                    },
                })
                .collect(),
            children,
            ids: None,
            complaints: Complaints::default(),
        }
    }
}

impl Scrape for Fpm {
    fn declare(&mut self, b: &mut RecordBuilder) {
        let c = Some(self.children);
        self.ids = Some([
            gauge(b, "fpm.busy", "FPM busy workers", GaugeKind::Workers, c),
            gauge(b, "fpm.children", "FPM children", GaugeKind::Workers, c),
            gauge(b, "fpm.backlog", "listen backlog", GaugeKind::Queue, None),
        ]);
    }

    fn scrape(&mut self, out: &mut Vec<Reading>) {
        let Some([busy, children, backlog]) = self.ids else {
            return;
        };
        let mut sum = [0u64; 3];
        for Pool { page, unix } in &self.pools {
            // The page is served by a pool of its own (pm.status_listen),
            // so its request is not among the active.
            let status = scrape::fpm_status(*page, fpm::STATUS_PATH);
            let backlog = match unix {
                Some((ns, socket)) => scrape::unix_backlog(ns.as_deref(), socket),
                None => status
                    .as_ref()
                    .map(|s| s.listen_queue)
                    .map_err(|e| ScrapeError::Format {
                        what: "PHP-FPM's listen queue".into(),
                        why: e.to_string(),
                    }),
            };
            match status.and_then(|s| Ok((s, backlog?))) {
                Ok((s, backlog)) => {
                    sum[0] += s.active;
                    sum[1] += s.total;
                    sum[2] += backlog;
                }
                // A node that is down has no pool to count.
                Err(e) => self.complaints.once(&e),
            }
        }
        out.extend([
            Reading::Gauge(busy, sum[0]),
            Reading::Gauge(children, sum[1]),
            Reading::Gauge(backlog, sum[2]),
        ]);
    }
}

/// MariaDB's `Threads_connected` and `Slow_queries`.
struct MySql {
    db: MariaDb,
    max_connections: f64,
    ids: Option<(GaugeId, CounterId)>,
    slow_before: Option<u64>,
    complaints: Complaints,
}

impl MySql {
    fn new(d: &Deployment, t: &Topology) -> MySql {
        let max_connections = t
            .nodes
            .iter()
            .filter_map(|n| match &n.kind {
                NodeKind::MySql(m) => Some(f64::from(m.max_connections)),
                _ => None,
            })
            .sum();
        MySql {
            db: d.db().clone(),
            max_connections,
            ids: None,
            slow_before: None,
            complaints: Complaints::default(),
        }
    }
}

impl Scrape for MySql {
    fn declare(&mut self, b: &mut RecordBuilder) {
        let g = gauge(
            b,
            "mysql.connections",
            "MySQL connections",
            GaugeKind::Connections,
            Some(self.max_connections),
        );
        let c = b.add_counter(CounterSpec {
            key: "mysql.slow_queries".into(),
            label: "slow queries (over long_query_time)".into(),
        });
        self.ids = Some((g, c));
    }

    fn scrape(&mut self, out: &mut Vec<Reading>) {
        let Some((connections, slow)) = self.ids else { return };
        let text = match self.db.root_sql("SHOW GLOBAL STATUS") {
            Ok(t) => t,
            Err(e) => {
                return self.complaints.once(&ScrapeError::Format {
                    what: "MariaDB's SHOW GLOBAL STATUS".into(),
                    why: e.to_string(),
                });
            }
        };
        let status = scrape::parse_mariadb_status(&text);
        if let Some(n) = status.get("Threads_connected") {
            // The client asking is one of them.
            out.push(Reading::Gauge(connections, n.saturating_sub(1)));
        }
        if let Some(&n) = status.get("Slow_queries") {
            if let Some(before) = self.slow_before {
                out.push(Reading::Count(slow, n.saturating_sub(before)));
            }
            self.slow_before = Some(n);
        }
    }
}

/// HAProxy's `show stat` on each balancer: the web backend's queue and how
/// many of its servers are UP (the balancer that sees the most: a dead
/// balancer's checks fail too).
struct Haproxy {
    sockets: Vec<PathBuf>,
    servers: usize,
    ids: Option<(GaugeId, GaugeId)>,
}

impl Scrape for Haproxy {
    fn declare(&mut self, b: &mut RecordBuilder) {
        self.ids = Some((
            gauge(b, "haproxy.queue", "HAProxy queue", GaugeKind::Queue, None),
            gauge(
                b,
                "haproxy.up_servers",
                "servers UP (HAProxy)",
                GaugeKind::Workers,
                Some(self.servers as f64),
            ),
        ));
    }

    fn scrape(&mut self, out: &mut Vec<Reading>) {
        let Some((queue, up)) = self.ids else { return };
        let (mut queued, mut most_up, mut read) = (0, 0, false);
        // A crashed balancer's socket is gone: the other one answers.
        for stats in self.sockets.iter().filter_map(|s| scrape::haproxy_stat(s).ok()) {
            read = true;
            let servers = stats.iter().filter(|s| s.name != "FRONTEND" && s.name != "BACKEND");
            let (q, u) = servers.fold((0, 0), |(q, u), s| {
                (q + s.queued, u + u64::from(s.status.starts_with("UP")))
            });
            queued += q;
            most_up = most_up.max(u);
        }
        if read {
            out.extend([Reading::Gauge(queue, queued), Reading::Gauge(up, most_up)]);
        }
    }
}

/// Each host's busy cores, from its cgroup's CPU time.
struct Cpu {
    hosts: Vec<(String, u32, PathBuf)>,
    /// Per host: its gauge, and the last reading (CPU ns, when).
    state: Vec<(GaugeId, Option<(u64, Instant)>)>,
}

impl Scrape for Cpu {
    fn declare(&mut self, b: &mut RecordBuilder) {
        self.state = self
            .hosts
            .iter()
            .map(|(name, cores, _)| {
                let label = format!("{name} CPU");
                let g = gauge(
                    b,
                    &format!("{name}.cpu"),
                    &label,
                    GaugeKind::Cpu,
                    Some(f64::from(*cores)),
                );
                (g, None)
            })
            .collect();
    }

    fn scrape(&mut self, out: &mut Vec<Reading>) {
        for ((_, _, dir), (id, last)) in self.hosts.iter().zip(&mut self.state) {
            let Some(now) = cpu_ns(dir) else { continue };
            let at = Instant::now();
            if let Some((before, then)) = *last {
                // Over the second past, laid down over the second to come:
                // a second late, which a window of a few seconds hardly sees.
                let busy = scrape::busy_cores(before, now, at.duration_since(then));
                out.push(Reading::Level(*id, busy));
            }
            *last = Some((now, at));
        }
    }
}

/// A host's CPU time so far, in ns, from its accounting cgroup.
pub fn cpu_ns(dir: &std::path::Path) -> Option<u64> {
    lab_deploy::cgroup::cpu_time_ns(dir)
}
