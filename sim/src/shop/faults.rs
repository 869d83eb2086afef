//! Scheduled faults: a host crashes, is cut off, slows down or restarts,
//! and what each does to the requests it carried.
//!
//! What a fault does to keepalived's address was worked out before the run
//! (`nodes/vip.rs`); here the balancers, web nodes and hosts follow.

use lab_core::scenario::{FaultKind, FpmPool, LB_MASTER, ProcessManager};
use lab_core::topology::Topology;

use super::{Ev, Front, Key, Phase, Shop};
use lab_core::record::{Span, SpanKind, Timeline};

use crate::cpu::HostCpu;
use crate::engine::Time;
use crate::nodes::fpm::Pool;
use crate::nodes::haproxy::Liveness;
use crate::nodes::vip::LbFault;

/// What a fault strikes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Target {
    /// A balancer (HAProxy's host), resolved for `lb.master`.
    Lb(u8),
    /// A web node's host.
    Web(u32),
    /// Any other host (only `slow` reaches these: see the validation).
    Host(usize),
}

/// One fault of the topology, resolved.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Strike {
    pub(super) at: Time,
    pub(super) until: Option<Time>,
    pub(super) kind: FaultKind,
    pub(super) target: Target,
    pub(super) host: usize,
}

/// Resolves the topology's faults: balancers from the VIP's timeline
/// (`lb_faults`, in time order like the faults on balancers), web nodes and
/// other hosts by name.
/// Services' balancers (`service_lbs`, their hosts) are balancers 2, 3…
pub(super) fn strikes(
    t: &Topology,
    webs: &[usize],
    lbs: Option<[usize; 2]>,
    service_lbs: &[usize],
    lb_faults: &[LbFault],
) -> Vec<Strike> {
    let mut on_lbs = lb_faults.iter();
    t.faults
        .iter()
        .map(|f| {
            let host = t.hosts.iter().position(|h| h.name == f.target);
            let lb = lbs.and_then(|lbs| host.and_then(|h| lbs.iter().position(|&l| l == h)));
            let (target, host) = if f.target == LB_MASTER || lb.is_some() {
                let r = on_lbs.next().expect("every fault on a balancer was resolved");
                let lbs = lbs.expect("balancers");
                (Target::Lb(r.lb), lbs[r.lb as usize])
            } else {
                let host = host.expect("fault targets validated against the topology");
                if let Some(i) = service_lbs.iter().position(|&l| l == host) {
                    return Strike {
                        at: f.at,
                        until: f.until,
                        kind: f.kind,
                        target: Target::Lb(2 + i as u8),
                        host,
                    };
                }
                match webs.iter().position(|&w| w == host) {
                    Some(w) => (Target::Web(w as u32), host),
                    None => (Target::Host(host), host),
                }
            };
            Strike {
                at: f.at,
                until: f.until,
                kind: f.kind,
                target,
                host,
            }
        })
        .collect()
}

impl Shop {
    /// The faults and the VIP's gaps, for the charts.
    pub(super) fn spans(&self) -> Vec<Span> {
        let mut spans: Vec<Span> = self
            .faults
            .iter()
            .zip(&self.fault_labels)
            .filter(|(f, _)| f.at < self.end)
            .map(|(f, label)| Span {
                start: f.at,
                end: f.until.unwrap_or(self.end).min(self.end),
                kind: SpanKind::Fault,
                label: label.clone(),
            })
            .collect();
        if let Some(front) = &self.front {
            let c = front.vip.changes();
            for (i, ch) in c.iter().enumerate() {
                let end = c.get(i + 1).map_or(self.end, |n| n.at).min(self.end);
                if ch.holder.is_none() && ch.at < end {
                    spans.push(Span {
                        start: ch.at,
                        end,
                        kind: SpanKind::NoEntry,
                        label: "nobody holds the VIP".into(),
                    });
                }
            }
        }
        spans
    }

    /// The states the record charts over the run: who held the VIP.
    pub(super) fn timelines(&self) -> Vec<Timeline> {
        self.front.iter().map(|f| f.vip.timeline(self.end)).collect()
    }

    pub(super) fn schedule_faults(&mut self) {
        for (i, s) in self.faults.iter().enumerate() {
            self.sched.at(s.at, Ev::Fault(i as u32, false));
            if let Some(u) = s.until {
                self.sched.at(u, Ev::Fault(i as u32, true));
            }
        }
    }

    pub(super) fn fault(&mut self, i: u32, ends: bool) {
        let s = self.faults[i as usize];
        let now = self.now;
        match (s.kind, ends) {
            (FaultKind::Slow { factor }, _) => {
                let speed = self.base_speed[s.host] * if ends { 1.0 } else { factor };
                self.hosts[s.host].cpu.set_speed(now, speed);
                self.cpu_changed(s.host);
            }
            // A balancer cut off runs on (`balancer_cut`); one that
            // crashed boots with a fresh HAProxy.
            (FaultKind::Crash | FaultKind::Isolate, false) => match s.target {
                Target::Lb(lb) if s.kind == FaultKind::Isolate => self.balancer_cut(lb),
                Target::Lb(lb) => self.balancer_down(lb),
                Target::Web(w) => self.web_down(w, s.kind == FaultKind::Crash),
                Target::Host(_) => unreachable!("validated: only slow strikes other hosts"),
            },
            (FaultKind::Crash | FaultKind::Isolate, true) => match s.target {
                Target::Lb(lb) if s.kind == FaultKind::Isolate => self.balancer_rejoined(lb),
                Target::Lb(lb) => self.balancer_up(lb),
                Target::Web(w) => self.web_up(w),
                Target::Host(_) => unreachable!("validated: only slow strikes other hosts"),
            },
            // A graceful restart: keepalived hands the address over (its
            // timeline has it) and HAProxy stops, closing its connections;
            // nginx and FPM refuse new connections while they are down.
            (FaultKind::Restart, false) => match s.target {
                Target::Lb(lb) if lb < 2 => {
                    self.balancer_stop(lb);
                    if s.until.is_none() {
                        self.balancer_up(lb);
                    }
                }
                Target::Web(w) if s.until.is_some() => {
                    self.webs[w as usize].refusing = true;
                    self.set_liveness(w, Liveness::Refusing);
                }
                // A service's HAProxy (no address to hand over) refuses
                // new calls while it is stopped.
                Target::Lb(lb) if lb >= 2 && s.until.is_some() => self.set_lb_refusing(lb, true),
                _ => {}
            },
            (FaultKind::Restart, true) => match s.target {
                Target::Lb(lb) if lb < 2 => self.balancer_up(lb),
                Target::Web(w) => {
                    self.webs[w as usize].refusing = false;
                    self.set_liveness(w, Liveness::Alive);
                }
                Target::Lb(lb) if lb >= 2 => self.set_lb_refusing(lb, false),
                _ => {}
            },
        }
    }

    /// A web node's host crashes (its work is lost) or is cut off (its
    /// work goes on, its answers do not get out).
    fn web_down(&mut self, w: u32, crash: bool) {
        self.set_liveness(w, Liveness::Silent);
        let node = &mut self.webs[w as usize];
        node.reachable = false;
        if !crash {
            // Its work goes on, but no answer gets out to a client that
            // talks to it directly: those clients wait for their timeout.
            for (_, r) in self.reqs.iter_mut() {
                if r.at_web && r.web == w && r.front == Front::Direct {
                    r.front = Front::Lost;
                }
            }
            return;
        }
        node.up = false;
        let host = node.host;
        // Its children die with it; children being forked are forgotten
        // (their `ChildReady` carries the old generation).
        node.generation += 1;
        let kernel = self.webs[w as usize].kernel.clone();
        *self.pool(w) = Pool::new(
            FpmPool {
                pm: ProcessManager::Static,
                max_children: 0,
                ..self.webs[w as usize].fpm.clone()
            },
            &kernel,
        );
        let on_node: Vec<Key> = self
            .reqs
            .iter()
            .filter(|(_, r)| r.at_web && r.web == w)
            .map(|(slot, r)| Key {
                slot: slot as u32,
                id: r.id,
            })
            .collect();
        for key in on_node {
            let r = &mut self.reqs[key.slot as usize];
            r.cpu_job = 0;
            r.nginx_waiting = false;
            super::steps::leave_nginx(r, &mut self.webs[w as usize].nginx);
            if r.front == Front::Direct {
                // Nobody will answer its client: it waits for its timeout.
                r.front = Front::Lost;
            }
            match r.phase {
                // The query (or COMMIT) it sent runs on in MySQL until it
                // ends; then its connection closes. Between statements the
                // connection stays open, and a transaction's rows locked:
                // MySQL sees no FIN from a crashed host and waits for the
                // next command (wait_timeout, 8 h).
                Phase::LockWait | Phase::DbCpu | Phase::DbWait | Phase::Commit => r.terminated = true,
                _ => self.leave_web(key),
            }
        }
        let h = &mut self.hosts[host];
        h.cpu = HostCpu::new(h.cores, self.base_speed[host], h.dedicated);
        self.sched.clear_slot(&self.hosts[host].slot);
        self.cpu_changed(host);
    }

    /// The host is back (booted, or its link up again). A booted node
    /// starts a fresh FPM pool, as at the start of the run.
    fn web_up(&mut self, w: u32) {
        let node = &mut self.webs[w as usize];
        let booted = !node.up;
        node.up = true;
        node.reachable = true;
        if booted {
            node.generation += 1;
            let kernel = self.webs[w as usize].kernel.clone();
            let fpm = self.webs[w as usize].fpm.clone();
            *self.pool(w) = Pool::new(fpm, &kernel);
        }
        self.set_liveness(w, Liveness::Alive);
    }
}
