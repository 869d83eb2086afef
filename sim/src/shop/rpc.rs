//! Gold's calls and branches.
//!
//! A call is a request of its own (a "sub-request") whose parent is its
//! caller: the caller's PHP encodes it (CPU), it travels half a round trip
//! to the service's HAProxy, which sends it on to a node like any request
//! (`shop/front.rs`), the node's nginx and pool run the operation (framed by
//! decoding and encoding), and the answer comes back the same way; the
//! caller decodes it (CPU) and goes on. The caller's child stays busy all
//! along. An error ends the caller with the callee's cause; no answer
//! within the call's timeout ends it with `rpc_timeout_504`, and the callee
//! works on, unaware, as a real one would.
//!
//! The callee draws its demands from its caller's stream, which it hands
//! back with the answer: a request draws the same numbers whether its
//! calls are function calls (monolith eras) or RPCs. The branches of a
//! `parallel` step run side by side in the caller's child, each with a
//! stream of its own (side by side, they cannot share one sequence).

use lab_core::record::OutcomeId;

use super::steps::Freed;
use super::{Ev, FIRST_SUB_ID, Front, Key, Link, NO_KEY, NO_LINK, NO_USER, NO_VIA, Phase, Request, Shop, via_mut};
use crate::engine::after;
use crate::nodes::mysql::NO_ROW;

impl Shop {
    /// Forgets a request (and its link).
    #[inline(always)]
    pub(super) fn forget(&mut self, key: Key) {
        // The side entries read where the request lies, not from a copy of
        // it moved out of the slab.
        let r = &self.reqs[key.slot as usize];
        let (link, via) = (r.link, r.via);
        self.reqs.remove(key.slot as usize);
        if link != NO_LINK {
            self.links.remove(link as usize);
        }
        if via != NO_VIA {
            self.vias.remove(via as usize);
        }
    }

    /// The request's link, made when it first needs one.
    fn link_of(&mut self, key: Key) -> &mut Link {
        let r = &mut self.reqs[key.slot as usize];
        if r.link == NO_LINK {
            let l = self.links.insert(Link {
                parent: NO_KEY,
                fiber: false,
                call: NO_KEY,
                call_at: 0,
                pending: 0,
                failed: OutcomeId::OK,
            });
            r.link = u32::try_from(l).expect("fewer than 2^32 links");
        }
        &mut self.links[r.link as usize]
    }

    /// The request left its node in the middle of a `parallel` step:
    /// branches that wait (for a call, or for branches of their own) could
    /// wait for ever, so they end now; the others stop at their next step.
    #[cold]
    pub(super) fn drop_branches(&mut self, key: Key) {
        let links = &self.links;
        let waiting: Vec<Key> = self
            .reqs
            .iter()
            .filter(|(_, r)| {
                r.link != NO_LINK
                    && matches!(r.phase, Phase::RpcWait | Phase::ForkWait)
                    && links[r.link as usize].fiber
                    && links[r.link as usize].parent == key
            })
            .map(|(slot, r)| Key {
                slot: slot as u32,
                id: r.id,
            })
            .collect();
        for b in waiting {
            // Its own call or branches go as it leaves.
            self.leave_web_quietly(b);
            self.branch_done(b, OutcomeId::OK);
        }
    }

    /// A branch's side of `leave_web`, without forgetting it (its end,
    /// `branch_done`, does).
    fn leave_web_quietly(&mut self, key: Key) {
        let phase = self.reqs[key.slot as usize].phase;
        if phase == Phase::RpcWait {
            self.give_up_call(key);
        }
        self.reqs[key.slot as usize].at_web = false;
        if phase == Phase::ForkWait {
            self.drop_branches(key);
        }
    }

    /// Whether the request is a call (its client is its caller).
    pub(super) fn is_call(&self, key: Key) -> bool {
        let r = &self.reqs[key.slot as usize];
        r.link != NO_LINK && {
            let l = &self.links[r.link as usize];
            l.parent != NO_KEY && !l.fiber
        }
    }

    /// The web node a call's caller runs on, if the request is a call and
    /// its caller is still there.
    pub(super) fn caller_node(&self, key: Key) -> Option<u32> {
        if !self.is_call(key) {
            return None;
        }
        let parent = self.link(key).parent;
        self.reqs
            .get(parent.slot as usize)
            .filter(|p| p.id == parent.id && p.at_web)
            .map(|p| p.web)
    }

    /// Whether a call's caller can reach the network (its node's link is
    /// up); true for anything but a call.
    pub(super) fn caller_reachable(&self, key: Key) -> bool {
        self.caller_node(key).is_none_or(|w| self.webs[w as usize].reachable)
    }

    /// The link of a request that has one.
    fn link(&self, key: Key) -> &Link {
        &self.links[self.reqs[key.slot as usize].link as usize]
    }

    /// A new sub-request (a call or a branch) of `parent`, running `program`.
    fn sub_request(&mut self, parent: Key, program: u32, fiber: bool) -> Key {
        let now = self.now;
        let id = self.next_sub;
        self.next_sub += 1;
        debug_assert!(id >= FIRST_SUB_ID);
        let p = &self.reqs[parent.slot as usize];
        // A call draws on from its caller's stream; a branch from its own.
        let rng = if fiber { self.streams.request(id) } else { p.rng.clone() };
        let (web, child) = (p.web, p.child);
        let slot = self.reqs.insert(Request {
            id,
            arrived: now,
            started: now,
            query_start: 0,
            cpu_job: 0,
            rng,
            net: self.streams.network(id),
            user: NO_USER,
            web,
            child,
            program,
            step: 0,
            phase: if fiber { Phase::AppCpu } else { Phase::Backlog },
            row: NO_ROW,
            held: NO_ROW,
            in_txn: false,
            // A branch answers nobody through nginx: its request does.
            client_waiting: !fiber,
            nginx_waiting: !fiber,
            in_nginx: false,
            syns: 0,
            has_conn: false,
            terminated: false,
            cold: false,
            front: if fiber { Front::Direct } else { Front::Sent },
            at_web: fiber,
            link: NO_LINK,
            via: NO_VIA,
        });
        let key = Key { slot: slot as u32, id };
        let l = self.link_of(key);
        l.parent = parent;
        l.fiber = fiber;
        key
    }

    /// The caller's PHP has encoded the call: it leaves for the service's
    /// balancer, and the caller waits for the answer.
    pub(super) fn send_call(&mut self, key: Key) -> Option<Freed> {
        let now = self.now;
        let (program, service) = self.current_call(key);
        let call = self.sub_request(key, program, false);
        let svc = &self.services[service as usize];
        let (lb, timeout, lane) = (svc.lb, svc.timeout, svc.lane);
        let l = self.link_of(key);
        l.call = call;
        l.call_at = now;
        let r = &mut self.reqs[key.slot as usize];
        r.phase = Phase::RpcWait;
        let d = self.rtt.as_ref().map_or(0, |s| s.sample(&mut r.net) / 2);
        let c = &mut self.reqs[call.slot as usize];
        via_mut(&mut self.vias, c).lb = lb;
        // A caller cut off sends its SYN anyway; `call_arrives` finds it
        // lost and the kernel sends it again.
        self.sched.at(after(now, d), Ev::CallArrives(call));
        if let Some(t) = timeout {
            self.timer(lane, after(now, t), Ev::CallTimeout(key));
        }
        None
    }

    /// The step the request is on, a call: its program and service.
    fn current_call(&self, key: Key) -> (u32, u32) {
        let r = &self.reqs[key.slot as usize];
        match self.programs[r.program as usize][r.step as usize] {
            super::program::CompiledStep::Call { program, service } => (program, service),
            _ => unreachable!("a call step"),
        }
    }

    /// The callee's answer has left its balancer for the caller (the
    /// balancer's side of the call is over).
    pub(super) fn call_answered(&mut self, key: Key, outcome: OutcomeId) {
        let r = &mut self.reqs[key.slot as usize];
        r.front = Front::Replying;
        // Its caller has its answer: work the callee still does is for
        // nobody (`fpm.abandoned`).
        r.client_waiting = false;
        let d = self.rtt.as_ref().map_or(0, |s| s.sample(&mut r.net) / 2);
        self.sched.at(after(self.now, d), Ev::CallReply(key, outcome));
    }

    /// The answer reaches the caller, if it still waits for this call.
    pub(super) fn call_reply(&mut self, call: Key, outcome: OutcomeId) -> Option<Freed> {
        let c = &mut self.reqs[call.slot as usize];
        if c.front != Front::Replying {
            return None;
        }
        c.front = Front::Done;
        let rng = c.rng.clone();
        let parent = self.link(call).parent;
        self.settle(call);
        // The caller may have left its node (killed, or its host crashed)
        // or be cut off: then the answer reaches nobody.
        if !self.reqs.get(parent.slot as usize).is_some_and(|p| {
            p.id == parent.id
                && p.at_web
                && p.phase == Phase::RpcWait
                && self.webs[p.web as usize].reachable
                && self.link(parent).call == call
        }) {
            return None;
        }
        let now = self.now;
        let l = self.link_of(parent);
        l.call = NO_KEY;
        let waited = now - l.call_at;
        let service = self.current_call(parent).1;
        self.rec.wait(self.now, self.services[service as usize].latency, waited);
        let p = &mut self.reqs[parent.slot as usize];
        if outcome != OutcomeId::OK {
            // PHP turns the failed call into an error response.
            return self.finish(parent, outcome);
        }
        p.rng = rng;
        let demand = match &self.rpc_cpu {
            Some(s) => s.sample(&mut p.net),
            None => 0,
        };
        if demand == 0 {
            p.step += 1;
            return self.run_steps(parent);
        }
        p.phase = Phase::RpcRecv;
        let host = self.webs[p.web as usize].host;
        // PHP slept in curl until the answer came.
        self.cpu_start(host, demand, parent, true);
        None
    }

    /// The caller's wait for its call ran out: it gives up on the call and
    /// answers with an error; the callee works on, its answer unwanted.
    pub(super) fn call_timeout(&mut self, key: Key) -> Option<Freed> {
        let r = &self.reqs[key.slot as usize];
        if r.phase != Phase::RpcWait || !r.at_web {
            return None;
        }
        let service = self.current_call(key).1;
        let svc = &self.services[service as usize];
        let l = self.link(key);
        if svc.timeout.map(|t| after(l.call_at, t)) != Some(self.now) {
            return None;
        }
        let (latency, since) = (svc.latency, l.call_at);
        self.rec.wait(self.now, latency, self.now - since);
        self.give_up_call(key);
        let outcome = self.outcomes.rpc_timeout.expect("declared where there are services");
        self.finish(key, outcome)
    }

    /// The caller stops waiting for its call (its timeout, or it was
    /// killed or lost its node): it closes its connection, and the call
    /// goes on for nobody.
    pub(super) fn give_up_call(&mut self, key: Key) {
        let l = self.link_of(key);
        let call = std::mem::replace(&mut l.call, NO_KEY);
        if let Some(c) = self.reqs.get_mut(call.slot as usize).filter(|c| c.id == call.id) {
            c.client_waiting = false;
            self.call_abandoned(call);
            self.settle(call);
        }
    }

    /// A `parallel` step: its branches start side by side in the request's
    /// child; the request waits for the last.
    pub(super) fn fork(&mut self, key: Key, first: u32, count: u32) -> Option<Freed> {
        self.reqs[key.slot as usize].phase = Phase::ForkWait;
        let l = self.link_of(key);
        l.pending = count;
        l.failed = OutcomeId::OK;
        let branches: Vec<Key> = (0..count).map(|i| self.sub_request(key, first + i, true)).collect();
        let mut freed = None;
        for b in branches {
            // A branch that ends at once may end the request (the last
            // one), which then frees its child.
            if let Some(f) = self.run_steps(b) {
                freed = Some(f);
            }
        }
        freed
    }

    /// A branch ended: the request goes on after its last branch, or ends
    /// with the first error one of them met.
    pub(super) fn branch_done(&mut self, key: Key, outcome: OutcomeId) -> Option<Freed> {
        let r = &self.reqs[key.slot as usize];
        let (has_conn, web) = (r.has_conn, r.web);
        let parent = self.link(key).parent;
        self.release_rows(key);
        if has_conn {
            let db = self.webs[web as usize].db;
            self.dbs[db as usize].server.disconnect();
        }
        self.forget(key);
        if !self
            .reqs
            .get(parent.slot as usize)
            .is_some_and(|p| p.id == parent.id && p.at_web && p.phase == Phase::ForkWait)
        {
            return None;
        }
        let l = self.link_of(parent);
        if outcome != OutcomeId::OK && l.failed == OutcomeId::OK {
            l.failed = outcome;
        }
        l.pending -= 1;
        if l.pending > 0 {
            return None;
        }
        if l.failed != OutcomeId::OK {
            let failed = l.failed;
            return self.finish(parent, failed);
        }
        self.reqs[parent.slot as usize].step += 1;
        self.run_steps(parent)
    }

    /// A branch whose request is gone (killed, or its node crashed) stops
    /// at its next step.
    #[cold]
    pub(super) fn orphan(&self, link: u32) -> bool {
        let l = &self.links[link as usize];
        l.fiber
            && !self
                .reqs
                .get(l.parent.slot as usize)
                .is_some_and(|p| p.id == l.parent.id && p.at_web && p.phase == Phase::ForkWait)
    }
}
