//! A request reaches a web node's nginx, which takes two of its
//! connections ([`crate::nodes::nginx::Conns`]) and connects to the node's FPM
//! pool: the connection is accepted, queued in the listen backlog, refused
//! (a Unix socket's full backlog), or, on a TCP pool whose backlog is
//! full, its SYN is dropped and nginx's kernel sends it again on its
//! retransmission schedule ([`crate::nodes::fpm::SynSchedule`]) until it gets
//! in, the kernel gives up (502) or nginx does at
//! `fastcgi_connect_timeout` (504).

use super::{Ev, Key, Phase, Shop, via};
use crate::engine::after;
use crate::nodes::fpm::{Connect, SynStep};
use crate::nodes::nginx::Admit;

impl Shop {
    /// The request reaches nginx on web node `web`, which takes two of its
    /// connections and hands it to FPM at once (an idle child, the listen
    /// backlog, a refusal (502) or, on TCP, a dropped SYN).
    pub(super) fn enter_web(&mut self, key: Key, web: u32) {
        let now = self.now;
        let direct = self.front.is_none();
        let cold = self.cold_overhead && self.idle_core(self.webs[web as usize].host);
        let r = &mut self.reqs[key.slot as usize];
        r.web = web;
        let connect = match self.webs[web as usize].nginx.admit() {
            Admit::Yes => {
                r.in_nginx = true;
                r.cold = cold;
                self.pool(web).connect(key, now)
            }
            refused => return self.refused_by_nginx(key, refused),
        };
        if connect == Connect::Refused {
            return self.refused_by_fpm(key);
        }
        self.reqs[key.slot as usize].at_web = true;
        // nginx's and the client's timeouts, before anything the request
        // starts (the order of events at one instant is the order they
        // were scheduled in). nginx's read timeout runs once its
        // connection to FPM is made.
        if connect == Connect::Dropped {
            // When nginx sent its first SYN: `started` means nothing until a
            // child takes the request.
            self.reqs[key.slot as usize].started = now;
        } else {
            self.read_timer(key);
        }
        // The client's timer, unless a lost SYN already set it.
        if direct && via(&self.vias, &self.reqs[key.slot as usize]).syn_sent == 0 {
            if let Some(t) = self.client_timeout {
                self.timer(self.lanes.client, after(now, t), Ev::ClientTimeout(key));
            }
        }
        self.connected(key, web, connect);
    }

    /// A new request's client reaches nginx on the one web node of stone
    /// and bronze, which is up: [`Shop::connect_entry`] and
    /// [`Shop::enter_web`] for that case, in line, the request looked up
    /// once (the request is made with `web` 0 and `front` direct).
    #[inline(always)]
    pub(super) fn enter_direct(&mut self, key: Key) {
        let now = self.now;
        let admit = self.webs[0].nginx.admit();
        if !matches!(admit, Admit::Yes) {
            return self.refused_by_nginx(key, admit);
        }
        let cold = self.cold_overhead && self.idle_core(self.webs[0].host);
        let connect = self.pool(0).connect(key, now);
        let r = &mut self.reqs[key.slot as usize];
        r.in_nginx = true;
        r.cold = cold;
        // As in `enter_web`: nginx's and the client's timers, then what
        // the connection starts.
        match connect {
            Connect::Accepted(child) => {
                r.at_web = true;
                self.read_timer_on(0, key);
                self.client_timer(key);
                if let Some((web, child)) = self.start_on(child, key, now) {
                    self.child_free(web, child);
                }
            }
            Connect::Queued => {
                r.at_web = true;
                self.read_timer_on(0, key);
                self.client_timer(key);
                if self.webs[0].pool.wants_fork_on_connect() {
                    self.spawn_child(0);
                }
            }
            Connect::Refused => self.refused_by_fpm(key),
            Connect::Dropped => {
                r.at_web = true;
                r.started = now;
                self.client_timer(key);
                self.syn_dropped(key);
            }
        }
    }

    /// Whether a core of `host` is idle: nginx, the PHP child and their
    /// caches wake up cold for a request that arrives then (the overhead's
    /// `cold`). Asked as the request arrives, before it takes a child, so
    /// that a request a child takes from the backlog the moment it freed
    /// counts as warm: the host had no idle moment.
    fn idle_core(&self, host: usize) -> bool {
        let h = &self.hosts[host];
        h.cpu.busy_cores() < u64::from(h.cores)
    }

    /// The client's timer, set when its connection reaches nginx directly.
    #[inline(always)]
    fn client_timer(&mut self, key: Key) {
        if let Some(t) = self.client_timeout {
            self.timer(self.lanes.client, after(self.now, t), Ev::ClientTimeout(key));
        }
    }

    /// nginx has no connection for the request: refused at once. No timer
    /// is set, for none could ever matter (at a hundred million refusals a
    /// second, they filled memory).
    #[cold]
    fn refused_by_nginx(&mut self, key: Key, refused: Admit) {
        let outcome = match refused {
            Admit::Closed => self.outcomes.nginx_closed,
            _ => self.outcomes.nginx_no_connection,
        };
        self.reply(key, outcome);
        self.settle(key);
    }

    /// FPM's full Unix-socket backlog refuses nginx's connection: 502.
    #[cold]
    fn refused_by_fpm(&mut self, key: Key) {
        self.reply(key, self.outcomes.backlog_full);
        self.settle(key);
    }

    /// nginx starts waiting for FPM's answer: its connection is made.
    pub(super) fn read_timer(&mut self, key: Key) {
        self.read_timer_on(self.reqs[key.slot as usize].web, key);
    }

    /// [`Shop::read_timer`] for a request on web node `web`.
    #[inline(always)]
    fn read_timer_on(&mut self, web: u32, key: Key) {
        let w = &self.webs[web as usize];
        if let Some(t) = w.read_timeout {
            let lane = w.read_lane;
            self.timer(lane, after(self.now, t), Ev::UpstreamTimeout(key));
        }
    }

    /// What follows a connection to web node `web`'s pool that was not
    /// refused.
    pub(super) fn connected(&mut self, key: Key, web: u32, connect: Connect) {
        match connect {
            Connect::Accepted(child) => {
                if let Some((web, child)) = self.start_on(child, key, self.now) {
                    self.child_free(web, child);
                }
            }
            Connect::Queued if self.pool(web).wants_fork_on_connect() => self.spawn_child(web),
            Connect::Queued => {}
            Connect::Dropped => self.syn_dropped(key),
            Connect::Refused => unreachable!("refusals end the request"),
        }
    }

    /// The TCP backlog was full: the SYN is lost and nginx's kernel sends
    /// it again later, unless nginx or the kernel gives up first.
    fn syn_dropped(&mut self, key: Key) {
        self.rec.count(self.now, self.counters.syn_dropped, 1);
        let r = &mut self.reqs[key.slot as usize];
        r.phase = Phase::Syn;
        let syn = &self.webs[r.web as usize].pool.syn;
        let (offset, _) = syn.next(usize::from(r.syns), self.webs[r.web as usize].connect_timeout);
        // Offsets count from the first SYN (`started`, set by `enter_web`).
        self.sched.at(after(r.started, offset), Ev::FpmSyn(key));
    }

    /// A dropped SYN's next step: sent again, it gets in if a child is idle
    /// or the backlog has room at this instant.
    pub(super) fn fpm_syn(&mut self, key: Key) {
        let r = &mut self.reqs[key.slot as usize];
        if r.phase != Phase::Syn || !r.at_web {
            return;
        }
        let (web, now) = (r.web, self.now);
        match self.webs[web as usize]
            .pool
            .syn
            .next(usize::from(r.syns), self.webs[r.web as usize].connect_timeout)
            .1
        {
            SynStep::Retransmit => {
                r.syns += 1;
                let connect = self.pool(web).connect(key, now);
                if connect != Connect::Dropped {
                    self.reqs[key.slot as usize].phase = Phase::Backlog;
                    self.read_timer(key);
                }
                self.connected(key, web, connect);
            }
            SynStep::KernelGivesUp => {
                // connect() fails with ETIMEDOUT: nginx answers 502.
                self.reply(key, self.outcomes.backlog_full);
                self.leave_web(key);
            }
            SynStep::NginxTimesOut => {
                self.reply(key, self.outcomes.connect_timeout);
                self.leave_web(key);
            }
        }
    }
}
