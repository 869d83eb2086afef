//! A web node's pool over the run: FPM's kills at
//! `request_terminate_timeout`, its forks and its once-a-second process
//! manager, and the gauges the pools' levels feed.

use super::super::{
    Ev, FPM_BACKLOG, FPM_BUSY, FPM_CHILDREN, IN_SYSTEM, Key, MYSQL_CONNECTIONS, MYSQL_LOCK_WAITERS, Phase, Shop,
};
use crate::cpu::JobTag;
use crate::engine::after;
use crate::nodes::fpm::{MAINTENANCE_PERIOD, Maintenance};

impl Shop {
    /// request_terminate_timeout: FPM kills the child; nginx answers 502.
    pub(in crate::shop) fn terminate(&mut self, key: Key) {
        let now = self.now;
        let r = &self.reqs[key.slot as usize];
        if matches!(r.phase, Phase::Backlog | Phase::Syn)
            || r.terminated
            || self.webs[r.web as usize].pool.terminate_at(r.started) != Some(now)
        {
            return;
        }
        let (phase, web, child) = (r.phase, r.web, r.child);
        self.rec.count(now, self.counters.terminated, 1);
        self.reply(key, self.outcomes.terminated);
        self.pool(web).kill_busy(child);
        if self.pool(web).respawns() {
            self.spawn_child(web);
        }
        match phase {
            Phase::AppCpu | Phase::RpcSend | Phase::RpcRecv => {
                let host = self.webs[web as usize].host;
                let r = &mut self.reqs[key.slot as usize];
                let tag = JobTag {
                    slot: key.slot,
                    job: r.cpu_job,
                };
                r.cpu_job = 0;
                let purge = self.hosts[host].cpu.cancel(now, tag);
                self.drop_request(key);
                if purge {
                    let reqs = &self.reqs;
                    self.hosts[host]
                        .cpu
                        .purge(|tag| reqs.get(tag.slot as usize).is_some_and(|r| r.cpu_job == tag.job));
                }
                self.cpu_changed(host);
            }
            // The query, or the COMMIT, runs on in MySQL until it ends or
            // times out.
            Phase::LockWait | Phase::DbCpu | Phase::DbWait | Phase::Commit => {
                self.reqs[key.slot as usize].terminated = true
            }
            // Closing the connection rolls back an open transaction. A call
            // in progress goes on, unwanted; branches stop at their next step.
            Phase::Connecting
            | Phase::Refused
            | Phase::Returning
            | Phase::Backlog
            | Phase::Syn
            | Phase::RpcWait
            | Phase::ForkWait => self.drop_request(key),
        }
    }

    pub(in crate::shop) fn spawn_child(&mut self, web: u32) {
        let now = self.now;
        let id = self.pool(web).fork(now);
        let ready = after(now, self.webs[web as usize].fpm.spawn_time);
        let generation = self.webs[web as usize].generation;
        let lane = self.webs[web as usize].spawn_lane;
        self.timer(lane, ready, Ev::ChildReady(web, generation, id));
        self.rec.count(now, self.counters.spawned, 1);
    }

    /// Every pool's process manager, once a second (FPM's heartbeat).
    pub(in crate::shop) fn maintain(&mut self) {
        for web in 0..self.webs.len() as u32 {
            if !self.webs[web as usize].up {
                continue;
            }
            let now = self.now;
            match self.pool(web).maintain(now) {
                Maintenance::Spawn(n) => {
                    for _ in 0..n {
                        self.spawn_child(web);
                    }
                }
                Maintenance::Kill(_) | Maintenance::Nothing => {}
            }
        }
        self.sched.at(after(self.now, MAINTENANCE_PERIOD), Ev::Maintenance);
    }

    /// Levels only change inside events, so handing the recorder the
    /// stack's levels after each event records them exactly (in the order
    /// the gauges were added in `Shop::new`). The pools' totals move by
    /// what the nodes touched in this event changed; MySQL's levels are
    /// looked at only where a program queries (elsewhere the four levels
    /// go in one fact, changed or not, and the recorder's thread skips
    /// those that did not change); hosts record their own busy cores when
    /// they change (`cpu_changed`).
    #[inline(always)]
    pub(in crate::shop) fn sample_gauges(&mut self) {
        let now = self.now;
        let [busy, children, backlog] = if let [w] = &self.webs[..] {
            // One web node (stone, bronze): its levels are the totals.
            [
                u64::from(w.pool.busy()),
                u64::from(w.pool.running()),
                w.pool.backlog_len() as u64,
            ]
        } else {
            self.total_touched_pools();
            self.pool_levels
        };
        let in_system = self.reqs.len() as u64;
        if self.db_levels {
            let [connections, waiters] = if let [db] = &self.dbs[..] {
                [u64::from(db.server.connections()), u64::from(db.server.lock_waiters())]
            } else {
                [
                    self.dbs.iter().map(|d| u64::from(d.server.connections())).sum(),
                    self.dbs.iter().map(|d| u64::from(d.server.lock_waiters())).sum(),
                ]
            };
            self.rec.levels(
                now,
                [
                    FPM_BUSY,
                    FPM_CHILDREN,
                    FPM_BACKLOG,
                    MYSQL_CONNECTIONS,
                    MYSQL_LOCK_WAITERS,
                    IN_SYSTEM,
                ],
                [busy, children, backlog, connections, waiters, in_system],
            );
        } else {
            self.rec.levels4(
                now,
                [FPM_BUSY, FPM_CHILDREN, FPM_BACKLOG, IN_SYSTEM],
                [busy, children, backlog, in_system],
            );
        }
        if self.lb_gauges.is_some() {
            self.sample_lb_gauges();
        }
        if let Some(t) = self.tiers.as_deref_mut() {
            for k in 0..t.busy.len() {
                if t.busy[k] != t.recorded[k] {
                    t.recorded[k] = t.busy[k];
                    self.rec.gauge(now, t.gauges[k], t.busy[k]);
                }
            }
        }
    }

    /// HAProxy's queue over every balancer (the front's pair and, in gold,
    /// the services'), and the most servers a live balancer of the front's
    /// pair has UP, recorded when they change.
    pub(in crate::shop) fn sample_lb_gauges(&mut self) {
        let (Some(front), Some((queue, up, last))) = (self.front.as_deref(), self.lb_gauges.as_mut()) else {
            return;
        };
        let queued = front.lbs.iter().map(|b| b.backend.queued() as u64).sum::<u64>();
        // The servers the front's pair sees UP (a service's balancer has
        // its own, and its calls' latency shows when they go).
        let servers = front.lbs[..2]
            .iter()
            .filter(|b| b.up)
            .map(|b| u64::from(b.backend.up_servers()))
            .max()
            .unwrap_or(0);
        for (i, (gauge, value)) in [(*queue, queued), (*up, servers)].into_iter().enumerate() {
            if last[i] != value {
                last[i] = value;
                self.rec.gauge(self.now, gauge, value);
            }
        }
    }

    /// Moves the pools' totals by what the nodes touched in this event
    /// changed.
    pub(in crate::shop) fn total_touched_pools(&mut self) {
        for &web in &self.touched {
            let w = &mut self.webs[web as usize];
            w.touched = false;
            let now = [
                u64::from(w.pool.busy()),
                u64::from(w.pool.running()),
                w.pool.backlog_len() as u64,
            ];
            if let Some(t) = self.tiers.as_deref_mut() {
                let k = t.of_web[web as usize] as usize;
                t.busy[k] = t.busy[k] + now[0] - w.reported[0];
            }
            for ((level, now), before) in self.pool_levels.iter_mut().zip(now).zip(w.reported) {
                *level = *level + now - before;
            }
            w.reported = now;
        }
        self.touched.clear();
    }
}
