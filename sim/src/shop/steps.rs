//! What happens to a request, event by event.
//!
//! Functions that may end a request return the FPM child it freed, if that
//! child stays, with its web node ([`Freed`]); the event handler then gives
//! it the next connection from that node's backlog in a loop
//! ([`Shop::child_free`]), so a chain of instant requests never recurses.

use crate::table::Table;
use lab_core::record::OutcomeId;
use rand::Rng;
use rand_pcg::Pcg64Mcg;

use super::program::CompiledStep;
use super::{
    Database, Driver, Ev, Front, Key, NO_KEY, NO_LINK, NO_USER, NO_VIA, Phase, Recorder, Request, Shop, WebNode,
};
use crate::engine::{Lane, Scheduler, Time, after};
use crate::nodes::fpm::{ChildId, Pool};
use crate::nodes::nginx::Conns;

/// A child that finished and stays, and the web node whose pool it is in.
pub(super) type Freed = (u32, ChildId);
use crate::nodes::mysql::{Acquire, NO_ROW};

mod pools;
mod txn;

impl Shop {
    #[inline(always)]
    pub(super) fn dispatch(&mut self, ev: Ev) {
        let freed = match ev {
            Ev::Arrival => {
                self.arrive_open();
                self.schedule_arrival();
                None
            }
            Ev::UserWakes(u) => {
                self.arrive(u);
                None
            }
            Ev::CpuDone(host) => {
                self.cpu_done(host as usize);
                None
            }
            Ev::Resume(key) if self.on_web(key) => self.resume(key),
            Ev::LockGranted(key) if self.live(key) => self.lock_granted(key),
            Ev::ClientTimeout(key) if self.live(key) => {
                self.client_gives_up(key);
                None
            }
            Ev::UpstreamTimeout(key) if self.live(key) => {
                self.reply(key, self.outcomes.upstream_timeout);
                None
            }
            Ev::LockTimeout(key) if self.live(key) => self.lock_timeout(key),
            Ev::FlushDone(db) => {
                self.flush_done(db);
                None
            }
            Ev::Terminate(key) if self.on_web(key) => {
                self.terminate(key);
                None
            }
            Ev::ChildReady(web, generation, child) => {
                (self.webs[web as usize].generation == generation).then_some((web, child))
            }
            Ev::Maintenance => {
                self.maintain();
                None
            }
            Ev::SynRetry(key) if self.live(key) => {
                self.syn_retry(key);
                None
            }
            Ev::FpmSyn(key) if self.on_web(key) => {
                self.fpm_syn(key);
                None
            }
            Ev::ConnectGiveUp(key) if self.live(key) => {
                self.connect_give_up(key);
                None
            }
            Ev::Forward(key) if self.live(key) => {
                self.forward(key);
                None
            }
            Ev::ConnectTimeout(key) if self.live(key) => {
                self.connect_timeout(key);
                None
            }
            Ev::ConnectRetry(key) if self.live(key) => {
                self.connect_retry(key);
                None
            }
            Ev::QueueTimeout(key) if self.live(key) => {
                self.queue_timeout(key);
                None
            }
            Ev::ServerTimeout(key) if self.live(key) => {
                self.server_timeout(key);
                None
            }
            Ev::LbReply(key, outcome) if self.live(key) => {
                self.lb_reply(key, outcome);
                None
            }
            Ev::Accept(lb) => {
                self.accept(lb);
                None
            }
            Ev::Checks => {
                self.checks_due();
                None
            }
            Ev::Fault(i, ends) => {
                self.fault(i, ends);
                None
            }
            Ev::Reset(key) if self.live(key) => {
                self.reset(key);
                None
            }
            Ev::Retransmit(key) if self.live(key) => {
                self.retransmit(key);
                None
            }
            Ev::VipMoved(i) => {
                self.vip_moved(i);
                None
            }
            Ev::PoolExpiry => {
                self.pool_expiry();
                None
            }
            Ev::IdleClosed(lb, epoch) => {
                self.idle_closed(lb, epoch);
                None
            }
            Ev::CallArrives(key) if self.live(key) => {
                self.call_arrives(key);
                None
            }
            Ev::CallReply(key, outcome) if self.live(key) => self.call_reply(key, outcome),
            Ev::CallTimeout(key) if self.live(key) => self.call_timeout(key),
            // The request this event was about has gone.
            _ => None,
        };
        if let Some((web, child)) = freed {
            self.child_free(web, child);
        }
        self.sample_gauges();
    }

    /// A web node's pool, noted as changed for the gauges.
    #[inline(always)]
    pub(super) fn pool(&mut self, web: u32) -> &mut Pool<Key> {
        let many = self.webs.len() > 1;
        let w = &mut self.webs[web as usize];
        if many && !w.touched {
            w.touched = true;
            self.touched.push(web);
        }
        &mut w.pool
    }

    /// The request is live and still on its web node: events of the web
    /// side (a step resuming, FPM's kill, a SYN towards FPM) of a request
    /// whose node crashed under it, and which the balancer still holds,
    /// must not touch the node's new pool.
    #[inline(always)]
    fn on_web(&self, key: Key) -> bool {
        self.reqs
            .get(key.slot as usize)
            .is_some_and(|r| r.id == key.id && r.at_web)
    }

    #[inline(always)]
    fn live(&self, key: Key) -> bool {
        self.reqs.get(key.slot as usize).is_some_and(|r| r.id == key.id)
    }

    /// A closed-model user sends a request.
    fn arrive(&mut self, user: u32) {
        let id = self.next_id;
        let mut rng = self.streams.request(id);
        let u: f64 = rng.random();
        let endpoint = self.mix.pick(self.now, u);
        // Drawn now, in the same place of the request's stream in every era,
        // so that the user thinks as long whatever became of the request.
        if let Driver::Closed { think, .. } = &self.driver {
            if user != NO_USER {
                self.thinks[user as usize] = think.sample(&mut rng);
            }
        }
        // Network times only exist in some eras: they come from a stream of
        // their own so that they do not shift the request's other draws.
        let net = match self.rtt {
            Some(_) => self.streams.network(id),
            None => Pcg64Mcg::new(1),
        };
        self.admit(rng, net, endpoint, user, 0);
    }

    /// The open model's arrival the slot held, drawn on the feed's thread
    /// as `arrive` draws a user's (without a think time).
    fn arrive_open(&mut self) {
        let Driver::Open { feed, .. } = &self.driver else {
            unreachable!("arrivals of an open model")
        };
        let a = feed.current();
        let (rng, net, endpoint, first) = (a.rng.clone(), a.net.clone(), a.endpoint, a.first);
        self.admit(rng, net, endpoint, NO_USER, first);
    }

    /// A new request, number `next_id`, reaches the entry. `first`: its
    /// first step's demand drawn ahead (see [`crate::feed::DRAWN`]), or 0.
    #[inline(always)]
    fn admit(&mut self, rng: Pcg64Mcg, net: Pcg64Mcg, endpoint: u32, user: u32, first: u64) {
        let now = self.now;
        let id = self.next_id;
        self.next_id += 1;
        self.rec.arrival(now);
        // The slab never holds more than the safety net's bound (about a
        // million), which `Shop::check_limits` enforces.
        let key = Key {
            slot: self.reqs.next_key() as u32,
            id,
        };
        self.reqs.insert(Request {
            id,
            arrived: now,
            started: 0,
            query_start: 0,
            // Until its first CPU job starts, the demand drawn ahead for
            // it: no job's number, so no completion takes it for its own.
            cpu_job: first,
            rng,
            net,
            user,
            web: 0,
            child: 0,
            program: endpoint,
            step: 0,
            phase: Phase::Backlog,
            row: NO_ROW,
            held: NO_ROW,
            in_txn: false,
            client_waiting: true,
            nginx_waiting: true,
            in_nginx: false,
            syns: 0,
            has_conn: false,
            terminated: false,
            cold: false,
            front: Front::Direct,
            at_web: false,
            link: NO_LINK,
            via: NO_VIA,
        });
        if self.front.is_none() {
            let w = &self.webs[0];
            if !w.refusing && w.up && w.reachable {
                self.enter_direct(key);
            } else {
                self.connect_entry(key);
            }
            return;
        }
        if let Some(t) = self.client_timeout {
            self.timer(self.lanes.client, after(now, t), Ev::ClientTimeout(key));
        }
        self.client_sends(key);
    }

    /// The request leaves its web node (finished, killed, or its node died).
    pub(super) fn leave_web(&mut self, key: Key) {
        let phase = self.reqs[key.slot as usize].phase;
        if phase == Phase::RpcWait {
            self.give_up_call(key);
        }
        self.reqs[key.slot as usize].at_web = false;
        if phase == Phase::ForkWait {
            self.drop_branches(key);
        }
        self.settle(key);
    }

    /// Forgets the request once neither its web node nor its balancer
    /// holds it, and no client waits on a connection only it knows of.
    pub(super) fn settle(&mut self, key: Key) {
        let r = &self.reqs[key.slot as usize];
        let front_done = match r.front {
            Front::Direct | Front::Done => true,
            Front::Syn | Front::Accept | Front::Lost => !r.client_waiting,
            _ => false,
        };
        if !r.at_web && front_done {
            self.forget(key);
        }
    }

    /// The client gets its answer, if it still waits for one.
    pub(super) fn client_answer(&mut self, key: Key, outcome: OutcomeId) {
        let r = &mut self.reqs[key.slot as usize];
        if r.link != NO_LINK && self.links[r.link as usize].parent != NO_KEY {
            // A call: its caller is the client.
            if r.client_waiting {
                self.call_answered(key, outcome);
            }
            return;
        }
        if r.client_waiting {
            r.client_waiting = false;
            self.rec.outcome(self.now, r.program, outcome, self.now - r.arrived);
            next_request_of(r.user, &self.thinks, self.now, &mut self.sched);
        }
    }

    /// Sets a timer on a lane, sweeping the lane's stale timers when it has
    /// grown (see [`Scheduler::compact_lane`]).
    #[inline(always)]
    pub(super) fn timer(&mut self, lane: Lane, time: Time, ev: Ev) {
        if self.sched.on_lane(lane, time, ev) {
            self.compact(lane);
        }
    }

    #[cold]
    #[inline(never)]
    fn compact(&mut self, lane: Lane) {
        let (reqs, webs, dbs) = (&self.reqs, &self.webs, &self.dbs);
        self.sched
            .compact_lane(lane, |t, ev| timer_matters(reqs, webs, dbs, t, ev));
    }

    /// A child takes a connection that has waited since `since`.
    #[inline(always)]
    pub(super) fn start_on(&mut self, child: ChildId, key: Key, since: Time) -> Option<Freed> {
        let now = self.now;
        let r = &mut self.reqs[key.slot as usize];
        r.child = child;
        r.started = now;
        self.rec.wait(now, self.backlog_wait, now - since);
        if let Some(t) = self.webs[r.web as usize].pool.terminate_at(now) {
            let lane = self.webs[r.web as usize].terminate_lane;
            self.timer(lane, t, Ev::Terminate(key));
        }
        self.run_steps(key)
    }

    /// A child is free (it finished, or it has just been forked): it takes
    /// connections from the backlog until one of them keeps it busy.
    pub(super) fn child_free(&mut self, web: u32, child: ChildId) {
        self.next_connection(web, child);
    }

    /// [`Shop::child_free`] in line, where a request ends (once a request).
    #[inline(always)]
    pub(super) fn next_connection(&mut self, mut web: u32, mut child: ChildId) {
        loop {
            let now = self.now;
            let pool = self.pool(web);
            match pool.dequeue() {
                None => {
                    pool.park(child, now);
                    break;
                }
                Some(w) => {
                    pool.reuse(child);
                    match self.start_on(child, w.key, w.since) {
                        Some(c) => (web, child) = c,
                        None => break,
                    }
                }
            }
        }
    }

    /// Runs the request's steps from its current one until one of them has
    /// to wait.
    #[inline(always)]
    pub(super) fn run_steps(&mut self, key: Key) -> Option<Freed> {
        loop {
            let link = self.reqs[key.slot as usize].link;
            if link != NO_LINK && self.orphan(link) {
                self.branch_done(key, OutcomeId::OK);
                return None;
            }
            let r = &mut self.reqs[key.slot as usize];
            let steps = &self.programs[r.program as usize];
            let Some(step) = steps.get(r.step as usize) else {
                return self.finish(key, OutcomeId::OK);
            };
            match step {
                CompiledStep::Cpu(s) => {
                    // The first step's demand may have been drawn ahead,
                    // from the same place of the request's stream.
                    let demand = if r.cpu_job >= crate::feed::DRAWN {
                        let d = r.cpu_job - crate::feed::DRAWN;
                        r.cpu_job = 0;
                        d
                    } else {
                        s.sample(&mut r.rng)
                    };
                    if demand == 0 {
                        r.step += 1;
                        continue;
                    }
                    // PHP computes on without sleeping after a `cpu` step;
                    // from anywhere else it has just been woken.
                    let woke = r.phase != Phase::AppCpu;
                    r.phase = Phase::AppCpu;
                    let host = self.webs[r.web as usize].host;
                    self.cpu_start(host, demand, key, woke);
                    return None;
                }
                CompiledStep::Overhead { web, cold } => {
                    let host = self.webs[r.web as usize].host;
                    let demand = web + if r.cold { *cold } else { 0 };
                    if demand == 0 {
                        r.step += 1;
                        continue;
                    }
                    let woke = r.phase != Phase::AppCpu;
                    r.phase = Phase::AppCpu;
                    self.cpu_start(host, demand, key, woke);
                    return None;
                }
                CompiledStep::Call { .. } | CompiledStep::RpcCpu => {
                    // Encoding or decoding a call's message.
                    let demand = self.rpc_cpu.as_ref().map_or(0, |s| s.sample(&mut r.net));
                    let call = matches!(step, CompiledStep::Call { .. });
                    if demand == 0 {
                        if call {
                            return self.send_call(key);
                        }
                        r.step += 1;
                        continue;
                    }
                    let woke = r.phase != Phase::AppCpu;
                    r.phase = if call { Phase::RpcSend } else { Phase::AppCpu };
                    let host = self.webs[r.web as usize].host;
                    self.cpu_start(host, demand, key, woke);
                    return None;
                }
                CompiledStep::Fork { first, count } => {
                    let (first, count) = (*first, *count);
                    return self.fork(key, first, count);
                }
                // Every statement, BEGIN and COMMIT included, goes over the
                // request's connection, opened by the first.
                CompiledStep::Query { .. } | CompiledStep::Begin | CompiledStep::Commit(_) => {
                    if r.has_conn {
                        return self.begin_query(key);
                    }
                    let db = self.webs[r.web as usize].db as usize;
                    let connected = self.dbs[db].server.connect();
                    // TCP handshake, then MySQL's greeting and authentication.
                    // A refused client pays the same: MySQL accepts the TCP
                    // connection and sends ERROR 1040 in place of the
                    // greeting, which cannot leave before the handshake's
                    // last ACK arrives, so it reaches PHP as late as the
                    // greeting would.
                    let Some(rtt) = &self.rtt else {
                        if !connected {
                            return self.finish(key, self.outcomes.too_many_connections);
                        }
                        r.has_conn = true;
                        return self.begin_query(key);
                    };
                    let delay = rtt.sample(&mut r.net).saturating_add(rtt.sample(&mut r.net));
                    r.has_conn = connected;
                    r.phase = if connected { Phase::Connecting } else { Phase::Refused };
                    self.sched.at(after(self.now, delay), Ev::Resume(key));
                    return None;
                }
            }
        }
    }

    fn begin_query(&mut self, key: Key) -> Option<Freed> {
        let now = self.now;
        let (r, step) = current(&mut self.reqs, &self.programs, key);
        r.query_start = now;
        let (lock, rows) = match step {
            CompiledStep::Query {
                lock: Some((lock, rows)),
                ..
            } => (*lock, *rows),
            CompiledStep::Begin => {
                r.in_txn = true;
                return self.after_lock(key);
            }
            CompiledStep::Commit(flush) => {
                let flush = flush.sample(&mut r.rng);
                return self.commit(key, flush);
            }
            _ => return self.after_lock(key),
        };
        let n = if rows > 1 { r.rng.random_range(0..rows) } else { 0 };
        let db = &mut self.dbs[self.webs[r.web as usize].db as usize].server;
        let row = db.row(lock, n);
        match db.lock(row, key, &mut r.held) {
            Acquire::Granted | Acquire::AlreadyHeld => return self.after_lock(key),
            Acquire::Wait => {}
        }
        r.row = row;
        r.phase = Phase::LockWait;
        // `query_start` is now: when the wait started too.
        let deadline = db.lock_wait_deadline(now);
        let lane = self.dbs[self.webs[self.reqs[key.slot as usize].web as usize].db as usize].lock_lane;
        self.timer(lane, deadline, Ev::LockTimeout(key));
        self.rec.count(now, self.counters.lock_waits, 1);
        None
    }

    fn after_lock(&mut self, key: Key) -> Option<Freed> {
        let (r, step) = current(&mut self.reqs, &self.programs, key);
        if let CompiledStep::Query { db_cpu: Some(s), .. } = step {
            let demand = s.sample(&mut r.rng);
            if demand > 0 {
                r.phase = Phase::DbCpu;
                let host = self.dbs[self.webs[r.web as usize].db as usize].host;
                // MySQL's thread has slept until the query came.
                self.cpu_start(host, demand, key, true);
                return None;
            }
        }
        self.after_db_cpu(key)
    }

    pub(super) fn after_db_cpu(&mut self, key: Key) -> Option<Freed> {
        let now = self.now;
        let (r, step) = current(&mut self.reqs, &self.programs, key);
        if let CompiledStep::Query { db_wait: Some(s), .. } = step {
            let d = s.sample(&mut r.rng);
            if d > 0 {
                r.phase = Phase::DbWait;
                self.sched.at(after(now, d), Ev::Resume(key));
                return None;
            }
        }
        self.end_query(key)
    }

    fn end_query(&mut self, key: Key) -> Option<Freed> {
        let now = self.now;
        // A statement outside a transaction commits on its own (autocommit):
        // its row is free as it ends.
        if !self.reqs[key.slot as usize].in_txn {
            self.release_rows(key);
        }
        let r = &mut self.reqs[key.slot as usize];
        let db = &self.dbs[self.webs[r.web as usize].db as usize].server;
        if now - r.query_start > db.cfg.long_query_time {
            self.rec.count(now, self.counters.slow_queries, 1);
        }
        if r.terminated {
            // The PHP process that sent this query is gone; MySQL notices
            // the closed connection only now.
            self.drop_request(key);
            return None;
        }
        match &self.rtt {
            Some(rtt) => {
                let d = rtt.sample(&mut r.net);
                r.phase = Phase::Returning;
                self.sched.at(after(now, d), Ev::Resume(key));
                None
            }
            None => {
                r.step += 1;
                self.run_steps(key)
            }
        }
    }

    fn resume(&mut self, key: Key) -> Option<Freed> {
        let r = &mut self.reqs[key.slot as usize];
        match r.phase {
            Phase::Connecting => self.begin_query(key),
            Phase::Refused => self.finish(key, self.outcomes.too_many_connections),
            Phase::DbWait => self.end_query(key),
            Phase::Returning => {
                r.step += 1;
                self.run_steps(key)
            }
            other => unreachable!("resume in phase {other:?}"),
        }
    }

    /// nginx gets FPM's answer (or gives up on it) and passes it on.
    #[inline(always)]
    pub(super) fn reply(&mut self, key: Key, outcome: OutcomeId) {
        let r = &mut self.reqs[key.slot as usize];
        if r.front == Front::Direct {
            let nginx = &mut self.webs[r.web as usize].nginx;
            answer(
                r,
                outcome,
                self.now,
                &mut self.rec,
                &mut self.sched,
                &self.thinks,
                nginx,
            );
        } else {
            self.reply_upstream(key, outcome);
        }
    }

    /// nginx answers whoever sent it the request when that was not the
    /// client itself: HAProxy, or nobody any more.
    #[cold]
    fn reply_upstream(&mut self, key: Key, outcome: OutcomeId) {
        let r = &mut self.reqs[key.slot as usize];
        if !r.nginx_waiting {
            return;
        }
        r.nginx_waiting = false;
        leave_nginx(r, &mut self.webs[r.web as usize].nginx);
        if self.front.is_some() {
            self.answer_to_lb(key, outcome);
        }
    }

    fn client_gives_up(&mut self, key: Key) {
        let r = &mut self.reqs[key.slot as usize];
        if r.client_waiting {
            r.client_waiting = false;
            self.rec
                .outcome(self.now, r.program, self.outcomes.client_timeout, self.now - r.arrived);
            next_request_of(r.user, &self.thinks, self.now, &mut self.sched);
            if r.front != Front::Direct {
                self.settle(key);
                return;
            }
            // nginx sees its client close (499) and closes its connection
            // to FPM too: a connection still retrying its SYN is forgotten;
            // one FPM holds runs on, PHP has no way to know.
            r.nginx_waiting = false;
            leave_nginx(r, &mut self.webs[r.web as usize].nginx);
            if r.phase == Phase::Syn {
                self.leave_web(key);
            }
        }
    }

    /// The child finished the request (successfully or with an error PHP
    /// turned into a response). Returns the child if it stays.
    #[inline(always)]
    pub(super) fn finish(&mut self, key: Key, outcome: OutcomeId) -> Option<Freed> {
        let now = self.now;
        // Work on the request where it lies: moving it out first would copy
        // it through the stack and stall the loads that follow.
        let r = &mut self.reqs[key.slot as usize];
        if r.link != NO_LINK && self.links[r.link as usize].fiber {
            return self.branch_done(key, outcome);
        }
        if !r.client_waiting {
            self.rec.count(now, self.counters.abandoned, 1);
        }
        let (web, child, has_conn) = (r.web, r.child, r.has_conn);
        // PHP's exception ends the request without a COMMIT: closing the
        // connection rolls the transaction back and frees its rows.
        self.release_rows(key);
        let r = &mut self.reqs[key.slot as usize];
        if r.front == Front::Direct {
            answer(
                r,
                outcome,
                now,
                &mut self.rec,
                &mut self.sched,
                &self.thinks,
                &mut self.webs[web as usize].nginx,
            );
            self.forget(key);
        } else {
            self.reply_upstream(key, outcome);
            self.leave_web(key);
        }
        if has_conn {
            self.disconnect(web);
        }
        if self.pool(web).release(child) {
            return Some((web, child));
        }
        // pm.max_requests reached: the child exits and FPM replaces it.
        if self.pool(web).respawns() {
            self.spawn_child(web);
        }
        None
    }

    /// Frees what the request holds on the database side and forgets it.
    pub(super) fn drop_request(&mut self, key: Key) {
        self.release_rows(key);
        let r = &self.reqs[key.slot as usize];
        let (has_conn, web) = (r.has_conn, r.web);
        self.leave_web(key);
        if has_conn {
            self.disconnect(web);
        }
    }

    /// A connection of web node `web`'s pool to its database closes.
    fn disconnect(&mut self, web: u32) {
        let db = self.webs[web as usize].db;
        self.dbs[db as usize].server.disconnect();
    }
}

/// nginx passes FPM's answer (or its own 504) to the client, if both are
/// still waiting. Takes only the fields it needs, so that the caller may
/// hold the request borrowed from the slab.
#[inline(always)]
fn answer(
    r: &mut Request,
    outcome: OutcomeId,
    now: Time,
    rec: &mut Recorder,
    sched: &mut Scheduler<Ev>,
    thinks: &[Time],
    nginx: &mut Conns,
) {
    if !r.nginx_waiting {
        return;
    }
    r.nginx_waiting = false;
    leave_nginx(r, nginx);
    if r.client_waiting {
        r.client_waiting = false;
        rec.outcome(now, r.program, outcome, now - r.arrived);
        next_request_of(r.user, thinks, now, sched);
    }
}

/// nginx is done with the request: its two connections are free again.
#[inline(always)]
pub(super) fn leave_nginx(r: &mut Request, nginx: &mut Conns) {
    if r.in_nginx {
        r.in_nginx = false;
        nginx.release();
    }
}

/// A closed-model user thinks, then sends its next request.
#[inline(always)]
fn next_request_of(user: u32, thinks: &[Time], now: Time, sched: &mut Scheduler<Ev>) {
    if user != NO_USER {
        sched.at(after(now, thinks[user as usize]), Ev::UserWakes(user));
    }
}

/// Whether a timer on a lane can still do something; one that cannot may be
/// dropped without changing the run. Each case is the early return of the
/// event's handler.
fn timer_matters(reqs: &Table<Request>, webs: &[WebNode], dbs: &[Database], t: Time, ev: &Ev) -> bool {
    let live = |k: Key| reqs.get(k.slot as usize).filter(|r| r.id == k.id);
    match *ev {
        Ev::ClientTimeout(k) => live(k).is_some_and(|r| r.client_waiting),
        Ev::UpstreamTimeout(k) => live(k).is_some_and(|r| r.nginx_waiting),
        Ev::Terminate(k) => live(k).is_some_and(|r| !r.terminated),
        Ev::QueueTimeout(k) => live(k).is_some_and(|r| r.front == Front::Queued),
        Ev::ServerTimeout(k) => live(k).is_some_and(|r| matches!(r.front, Front::AtServer | Front::Returning)),
        Ev::LockTimeout(k) => live(k).is_some_and(|r| {
            let db = &dbs[webs[r.web as usize].db as usize].server;
            r.phase == Phase::LockWait && db.lock_wait_deadline(r.query_start) == t
        }),
        Ev::CallTimeout(k) => live(k).is_some_and(|r| r.phase == Phase::RpcWait),
        _ => true,
    }
}

/// The request and the step it is on, borrowing only those two fields.
fn current<'a>(
    reqs: &'a mut Table<Request>,
    programs: &'a [Vec<CompiledStep>],
    key: Key,
) -> (&'a mut Request, &'a CompiledStep) {
    let r = &mut reqs[key.slot as usize];
    let step = &programs[r.program as usize][r.step as usize];
    (r, step)
}
