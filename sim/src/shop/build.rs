//! Building the shop from an era's `Topology`: the record's declarations
//! (gauges, counters, outcomes, waits), the hosts, web nodes, databases,
//! balancers and services, and the programs the requests run.

use lab_core::record::{
    CounterSpec, FactSender, GaugeKind, GaugeSpec, HistogramSpec, RecordBuilder, RecordMeta, Source, outcomes, waits,
};
use lab_core::scenario::{Era, Scenario, Workload};
use slab::Slab;

use super::{
    Counters, Database, Driver, FIRST_SUB_ID, Host, Lanes, Limits, Outcomes, Path, Recorder, Service, Shop, WebNode,
    faults, front, program,
};
use crate::budget::Estimate;
use crate::engine::{Lane, Scheduler};
use crate::feed::{self, Feed};
use crate::nodes::fpm::Pool;
use crate::nodes::mysql::Server;
use crate::nodes::nginx::Conns;
use crate::nodes::vip::VipTimeline;
use crate::sample::{Sampler, Streams};
use crate::table::Table;
use lab_core::draw::Picker;

impl Shop {
    pub(crate) fn new(scenario: &Scenario, era: &Era, estimate: &Estimate) -> Shop {
        let topology = era.topology();
        let path = Path::of(&topology);
        // A round trip only where the pools and the databases are apart.
        let rtt = (path.webs[0].host != path.dbs[0].host)
            .then(|| topology.rtt.as_ref().map(Sampler::new))
            .flatten();
        let mut rec = RecordBuilder::new(RecordMeta {
            scenario: scenario.name.clone(),
            era: era.label.clone(),
            model: era.arch.model().to_string(),
            source: Source::Simulated,
            seed: scenario.seed,
            window: scenario.stats.window,
            warmup: scenario.stats.warmup,
            duration: scenario.duration,
            price_per_hour: topology.price_per_hour(),
        });
        rec.set_endpoints(scenario.app.endpoints.iter().map(|e| e.name.clone()));
        // What the reports merge later: the phases, and the levels of the
        // intended rate (a closed model's is known only at the end).
        if let Workload::Open(p) = &scenario.traffic.workload {
            let p = p.clone();
            rec.merge_by(&scenario.phases, move |a, b| p.mean_rate(a, b));
        }
        let mut sched = Scheduler::default();
        let mut book = LaneBook::default();
        let children = path.webs.iter().map(|w| f64::from(w.fpm.max_children)).sum::<f64>();
        let backlogs = path
            .webs
            .iter()
            .map(|w| f64::from(w.fpm.backlog(topology.hosts[w.host].kernel.somaxconn)) + 1.0)
            .sum::<f64>();
        let max_connections = path.dbs.iter().map(|d| f64::from(d.mysql.max_connections)).sum::<f64>();
        let mut gauge = |key: String, label: String, kind, capacity: Option<f64>| {
            rec.add_gauge(GaugeSpec {
                key,
                label,
                kind,
                capacity,
            });
        };
        // In the order `sample_gauges` gives their levels: the stack's
        // levels (`FPM_BUSY`…`IN_SYSTEM`), then each host's busy cores.
        for (key, label, kind, capacity) in [
            ("fpm.busy", "FPM busy workers", GaugeKind::Workers, Some(children)),
            ("fpm.children", "FPM children", GaugeKind::Workers, Some(children)),
            ("fpm.backlog", "listen backlog", GaugeKind::Queue, Some(backlogs)),
            (
                "mysql.connections",
                "MySQL connections",
                GaugeKind::Connections,
                Some(max_connections),
            ),
            ("mysql.lock_waiters", "row-lock waiters", GaugeKind::Queue, None),
            (
                "requests.in_system",
                "requests in the system",
                GaugeKind::InSystem,
                None,
            ),
        ] {
            gauge(key.into(), label.into(), kind, capacity);
        }
        let programs = program::compile(&scenario.app, topology.rpc.is_some());
        let hosts = Host::all(&topology, &path, &programs, &mut rec, &mut sched);
        let base_speed = topology.hosts.iter().map(|h| h.speed).collect();
        let mut counter = |key: &str, label: &str| {
            rec.add_counter(CounterSpec {
                key: key.into(),
                label: label.into(),
            })
        };
        let counters = Counters {
            slow_queries: counter("mysql.slow_queries", "slow queries (over long_query_time)"),
            lock_waits: counter("mysql.lock_waits", "queries that waited for a row lock"),
            commits: counter("mysql.commits", "transactions committed"),
            log_flushes: counter(
                "mysql.log_flushes",
                "redo-log flushes (one serves every commit waiting)",
            ),
            spawned: counter("fpm.spawned", "FPM children forked"),
            terminated: counter("fpm.terminated", "requests killed at request_terminate_timeout"),
            abandoned: counter("fpm.abandoned", "requests finished after their client had gone"),
            marked_down: counter("haproxy.marked_down", "servers marked DOWN by health checks"),
            marked_up: counter("haproxy.marked_up", "servers marked UP by health checks"),
            syn_dropped: counter("fpm.syn_dropped", "SYNs a full TCP backlog dropped"),
        };
        let outcomes = Outcomes {
            backlog_full: rec.add_outcome(outcomes::BACKLOG_FULL),
            upstream_timeout: rec.add_outcome(outcomes::UPSTREAM_TIMEOUT),
            terminated: rec.add_outcome(outcomes::TERMINATED),
            too_many_connections: rec.add_outcome(outcomes::TOO_MANY_CONNECTIONS),
            lock_wait_timeout: rec.add_outcome(outcomes::LOCK_WAIT_TIMEOUT),
            client_timeout: rec.add_outcome(outcomes::CLIENT_TIMEOUT),
            lb_unavailable: rec.add_outcome(outcomes::LB_UNAVAILABLE),
            lb_timeout: rec.add_outcome(outcomes::LB_TIMEOUT),
            connect_failed: rec.add_outcome(outcomes::CONNECT_FAILED),
            connection_reset: rec.add_outcome(outcomes::CONNECTION_RESET),
            connect_timeout: rec.add_outcome(outcomes::CONNECT_TIMEOUT),
            nginx_no_connection: rec.add_outcome(outcomes::NGINX_NO_CONNECTION),
            nginx_closed: rec.add_outcome(outcomes::NGINX_CLOSED),
            rpc_timeout: None,
        };
        let backlog_wait = rec.add_wait(waits::FPM_BACKLOG);
        let lock_wait = rec.add_wait(waits::LOCK_WAIT);
        let haproxy_wait = path.front.is_some().then(|| rec.add_wait(waits::HAPROXY_QUEUE));
        let lb_gauges = path.front.as_ref().map(|_| {
            let queue = rec.add_gauge(GaugeSpec {
                key: "haproxy.queue".into(),
                label: "HAProxy queue".into(),
                kind: GaugeKind::Queue,
                capacity: None,
            });
            let up = rec.add_gauge(GaugeSpec {
                key: "haproxy.up_servers".into(),
                label: "servers UP (HAProxy)".into(),
                kind: GaugeKind::Workers,
                capacity: Some(path.front_webs as f64),
            });
            (queue, up, [0, 0])
        });
        let tiers = (!path.services.is_empty()).then(|| {
            let mut of_web = vec![0u16; path.webs.len()];
            let mut gauges = Vec::new();
            let tiers = std::iter::once(("front".to_string(), 0, path.front_webs)).chain(
                path.services
                    .iter()
                    .map(|s| (format!("svc.{}", s.name), s.first, s.nodes)),
            );
            for (k, (name, first, nodes)) in tiers.enumerate() {
                let workers = path.webs[first..first + nodes]
                    .iter()
                    .map(|w| f64::from(w.fpm.max_children))
                    .sum::<f64>();
                of_web[first..first + nodes].fill(k as u16);
                gauges.push(rec.add_gauge(GaugeSpec {
                    key: format!("{name}.fpm.busy"),
                    label: format!("{name} FPM busy workers"),
                    kind: GaugeKind::Workers,
                    capacity: Some(workers),
                }));
            }
            Box::new(super::Tiers {
                busy: vec![0; gauges.len()],
                recorded: vec![0; gauges.len()],
                of_web,
                gauges,
            })
        });
        let services = path
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| Service {
                lb: u8::try_from(2 + i).expect("at most 253 services (validated)"),
                timeout: s.timeout,
                lane: book.lane(&mut sched, "rpc", s.timeout.unwrap_or(0)),
                latency: rec.add_wait(HistogramSpec {
                    key: format!("rpc.{}", s.name).into(),
                    label: format!("calls to {}", s.name).into(),
                }),
            })
            .collect();
        let rpc_timeout = (!path.services.is_empty()).then(|| rec.add_outcome(outcomes::RPC_TIMEOUT));
        let streams = Streams::new(scenario.seed);
        let mix = Picker::new(&scenario.traffic.mix);
        let driver = match &scenario.traffic.workload {
            Workload::Open(_) => Driver::Open {
                feed: Feed::spawn(feed::Source {
                    draws: feed::draws(scenario).expect("an open model"),
                    streams: Streams::new(scenario.seed),
                    network: rtt.is_some(),
                    first: programs[..scenario.app.endpoints.len()]
                        .iter()
                        .map(|p| match p.first() {
                            Some(program::CompiledStep::Cpu(s)) => Some(s.clone()),
                            _ => None,
                        })
                        .collect(),
                    end: scenario.duration,
                }),
                slot: sched.add_slot(),
            },
            Workload::Closed { users, think } => Driver::Closed {
                think: Sampler::new(think),
                rng: streams.traffic(),
                users: *users,
            },
        };
        let lanes = Lanes {
            client: sched.add_lane(),
        };
        let webs = path
            .webs
            .iter()
            .map(|w| WebNode {
                pool: Pool::new(w.fpm.clone(), &topology.hosts[w.host].kernel),
                nginx: Conns::new(w.nginx, topology.hosts[w.host].cores),
                kernel: topology.hosts[w.host].kernel.clone(),
                host: w.host,
                fpm: w.fpm.clone(),
                db: w.db as u32,
                read_timeout: w.nginx.fastcgi_read_timeout,
                connect_timeout: w.nginx.fastcgi_connect_timeout,
                read_lane: book.lane(&mut sched, "read", w.nginx.fastcgi_read_timeout.unwrap_or(0)),
                terminate_lane: book.lane(&mut sched, "terminate", w.fpm.request_terminate_timeout.unwrap_or(0)),
                spawn_lane: book.lane(&mut sched, "spawn", w.fpm.spawn_time),
                reported: [0; 3],
                touched: true,
                up: true,
                reachable: true,
                refusing: false,
                generation: 0,
            })
            .collect::<Vec<_>>();
        let touched = (0..webs.len() as u32).collect();
        let streams_for_front = Streams::new(scenario.seed);
        let (front, lb_faults) = match &path.front {
            None => (None, Vec::new()),
            Some(f) => {
                let names = f.lbs.map(|h| topology.hosts[h].name.as_str());
                let (vip, lb_faults) = VipTimeline::build(f.vrrp, names, &topology.faults, scenario.duration);
                let rtt = topology.rtt.as_ref().map(Sampler::new);
                let mut lanes = |sched: &mut Scheduler<_>, h: &lab_core::scenario::Haproxy| {
                    [
                        book.lane(sched, "queue", h.timeout_queue),
                        book.lane(sched, "server", h.timeout_server),
                    ]
                };
                let front_lanes = lanes(&mut sched, f.haproxy);
                let mut fe = front::FrontEnd::new(
                    vip,
                    streams_for_front.balancer(),
                    rtt,
                    sched.add_slot(),
                    scenario.traffic.real_users(),
                );
                for h in f.lbs {
                    let somaxconn = topology.hosts[h].kernel.somaxconn;
                    fe.add_balancer(f.haproxy, 0, path.front_webs, somaxconn, front_lanes);
                }
                for s in &path.services {
                    let l = lanes(&mut sched, s.haproxy);
                    fe.add_balancer(s.haproxy, s.first, s.nodes, topology.hosts[s.lb].kernel.somaxconn, l);
                }
                (Some(Box::new(fe)), lb_faults)
            }
        };
        let service_lbs: Vec<usize> = path.services.iter().map(|s| s.lb).collect();
        let faults = faults::strikes(
            &topology,
            &path.web_hosts(),
            path.front.as_ref().map(|f| f.lbs),
            &service_lbs,
            &lb_faults,
        );
        let commits = programs
            .iter()
            .flatten()
            .any(|s| matches!(s, program::CompiledStep::Commit(_)));
        let dbs = path
            .dbs
            .iter()
            .map(|d| Database {
                server: Server::new(d.mysql.clone(), &scenario.app.locks),
                host: d.host,
                flush: commits.then(|| sched.add_slot()),
                lock_lane: book.lane(&mut sched, "lock", d.mysql.innodb_lock_wait_timeout),
            })
            .collect();
        let mut shop = Shop {
            now: 0,
            end: scenario.duration,
            sched,
            lanes,
            reqs: Table::new(),
            links: Slab::new(),
            vias: Slab::new(),
            thinks: match &scenario.traffic.workload {
                Workload::Closed { users, .. } => vec![0; *users as usize],
                Workload::Open(_) => Vec::new(),
            },
            next_id: 0,
            next_sub: FIRST_SUB_ID,
            next_job: 0,
            streams,
            programs,
            mix,
            driver,
            profile: match &scenario.traffic.workload {
                Workload::Open(p) => Some(p.clone()),
                Workload::Closed { .. } => None,
            },
            client_timeout: scenario.traffic.timeout,
            hosts,
            base_speed,
            webs,
            touched,
            pool_levels: [0; 3],
            tiers,
            db_levels: false,
            cold_overhead: false,
            rtt,
            dbs,
            services,
            rpc_cpu: topology.rpc.as_ref().map(|r| Sampler::new(&r.cpu)),
            client_syn: crate::nodes::fpm::SynSchedule::new(&scenario.traffic.clients),
            hosts_syn: topology
                .hosts
                .iter()
                .map(|h| crate::nodes::fpm::SynSchedule::new(&h.kernel))
                .collect(),
            front,
            fault_labels: topology
                .faults
                .iter()
                .map(|f| format!("{} {}", f.kind.name(), f.target))
                .collect(),
            faults,
            rec: Recorder(FactSender::spawn(rec)),
            counters,
            outcomes: Outcomes {
                rpc_timeout,
                ..outcomes
            },
            backlog_wait,
            lock_wait,
            haproxy_wait,
            lb_gauges,
            done: Vec::new(),
            granted: Vec::new(),
            served: Vec::new(),
            limits: Limits {
                events: estimate.event_limit(),
                estimated_events: estimate.events,
                in_system: estimate.in_system_limit,
            },
        };
        shop.db_levels = shop.programs.iter().flatten().any(|s| {
            matches!(
                s,
                program::CompiledStep::Query { .. } | program::CompiledStep::Begin | program::CompiledStep::Commit(_)
            )
        });
        shop.cold_overhead = shop
            .programs
            .iter()
            .flatten()
            .any(|s| matches!(s, program::CompiledStep::Overhead { cold, .. } if *cold > 0));
        shop.start();
        shop
    }
}

/// Timer lanes by what they hold and its duration: nodes with the same
/// timeout share a lane (the scheduler looks at every lane's head).
#[derive(Default)]
struct LaneBook(std::collections::HashMap<(&'static str, u64), Lane>);

impl LaneBook {
    fn lane<E: Copy>(&mut self, sched: &mut Scheduler<E>, what: &'static str, duration: u64) -> Lane {
        *self.0.entry((what, duration)).or_insert_with(|| sched.add_lane())
    }
}
