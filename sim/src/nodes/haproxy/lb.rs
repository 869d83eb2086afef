//! The balancer's index of the UP servers, one per `balance` algorithm,
//! and the picks (lb_fwrr.c, lb_fwlc.c, lb_fas.c, lb_chash.c, lb_map.c and
//! `get_server_rnd` in backend.c).

use std::collections::BTreeSet;

use lab_core::scenario::{Balance, Haproxy, HashType};
use rand::Rng;

use super::{Backend, ServerId};

/// BE_WEIGHT_SCALE × SRV_UWGHT_MAX: leastconn's scale (SRV_EWGHT_MAX).
const EWGHT_MAX: u64 = 16 * 256;
/// Points per unit of weight on the consistent-hash ring (BE_WEIGHT_SCALE).
const RING_POINTS: u32 = 16;
/// roundrobin's pass unit: a pick advances a server by this over its weight.
const RR_SCALE: u128 = 1 << 64;
/// The balancer's index of the UP servers.
pub(super) enum Lb {
    /// roundrobin and static-rr: the server with the smallest pass is next
    /// (stride scheduling, which interleaves by weight).
    Rr {
        order: BTreeSet<(u128, ServerId)>,
        clock: u128,
    },
    /// leastconn: by `(load key, when listed)`, so equal loads take turns.
    LeastConn {
        order: BTreeSet<(u64, u64, ServerId)>,
        stamp: u64,
        /// Listed servers that accept a request: with none, under
        /// saturation, a pick does not walk every server to find out.
        open: u32,
    },
    /// first: the servers with room (not full), by id.
    First { open: BTreeSet<ServerId> },
    /// random and source consistent: points on a hash ring.
    Ring { points: BTreeSet<(u32, ServerId)> },
    /// source map-based: a table of `tot_weight` entries.
    Map { map: Vec<ServerId> },
}

impl Lb {
    pub(super) fn new(cfg: &Haproxy) -> Lb {
        match cfg.balance {
            Balance::RoundRobin | Balance::StaticRr => Lb::Rr {
                order: BTreeSet::new(),
                clock: 0,
            },
            Balance::LeastConn => Lb::LeastConn {
                order: BTreeSet::new(),
                stamp: 0,
                open: 0,
            },
            Balance::First => Lb::First { open: BTreeSet::new() },
            Balance::Random { .. } => Lb::Ring {
                points: BTreeSet::new(),
            },
            Balance::Source => match cfg.hash_type {
                HashType::Consistent => Lb::Ring {
                    points: BTreeSet::new(),
                },
                HashType::MapBased => Lb::Map { map: Vec::new() },
            },
        }
    }
}

impl<K: Copy> Backend<K> {
    /// Puts an UP server in the balancer's index.
    pub(super) fn list(&mut self, s: ServerId) {
        let srv = &mut self.servers[s as usize];
        if !srv.pickable() {
            return;
        }
        let w = srv.spec.weight;
        match &mut self.lb {
            Lb::Rr { order, clock } => {
                // Joins the rotation half a turn ahead, as at start-up.
                srv.rr_pass = *clock + RR_SCALE / u128::from(w) / 2;
                order.insert((srv.rr_pass, s));
            }
            Lb::LeastConn { order, stamp, open } => {
                // fwlc_queue_srv: (inflight + 1) × SRV_EWGHT_MAX / eweight, 0 when idle.
                let inflight = u64::from(srv.conns + srv.queue.live);
                let key = if inflight == 0 {
                    0
                } else {
                    (inflight + 1) * EWGHT_MAX / (16 * u64::from(w))
                };
                *stamp += 1;
                srv.lc_key = Some((key, *stamp, srv.accepts()));
                *open += u32::from(srv.accepts());
                order.insert((key, *stamp, s));
            }
            Lb::First { open } => {
                if !srv.full() {
                    open.insert(s);
                }
            }
            Lb::Ring { points } => {
                for node in 0..w * RING_POINTS {
                    points.insert((ring_point(s, node), s));
                }
            }
            Lb::Map { .. } => {}
        }
    }

    /// Takes a server out of the balancer's index (DOWN, or about to move).
    pub(super) fn unlist(&mut self, s: ServerId) {
        let srv = &mut self.servers[s as usize];
        match &mut self.lb {
            Lb::Rr { order, .. } => {
                order.remove(&(srv.rr_pass, s));
            }
            Lb::LeastConn { order, open, .. } => {
                if let Some((key, stamp, accepted)) = srv.lc_key.take() {
                    order.remove(&(key, stamp, s));
                    *open -= u32::from(accepted);
                }
            }
            Lb::First { open } => {
                open.remove(&s);
            }
            Lb::Ring { points } => {
                for node in 0..srv.spec.weight * RING_POINTS {
                    points.remove(&(ring_point(s, node), s));
                }
            }
            Lb::Map { .. } => {}
        }
    }

    /// A server's load changed: leastconn and first re-place it.
    pub(super) fn reposition(&mut self, s: ServerId) {
        if matches!(self.lb, Lb::LeastConn { .. } | Lb::First { .. }) {
            self.unlist(s);
            self.list(s);
        }
    }

    /// `recalc_server_map()`: each entry goes to the server with the highest
    /// score, scores growing by weight; O(tot_weight × n), at state changes.
    pub(super) fn rebuild_map(&mut self) {
        let Lb::Map { map } = &mut self.lb else { return };
        map.clear();
        let live: Vec<(ServerId, i64)> = (0..self.servers.len() as ServerId)
            .filter(|&s| self.servers[s as usize].pickable())
            .map(|s| (s, i64::from(self.servers[s as usize].spec.weight)))
            .collect();
        let gcd = live.iter().fold(0, |g, &(_, w)| gcd(g, w)).max(1);
        let tot: i64 = live.iter().map(|&(_, w)| w / gcd).sum();
        let mut score = vec![0i64; live.len()];
        for _ in 0..tot {
            let mut best = 0;
            let mut max = i64::MIN;
            for (i, &(_, w)) in live.iter().enumerate() {
                score[i] += w / gcd;
                let v = (score[i] + tot) / tot;
                if v > max {
                    max = v;
                    best = i;
                }
            }
            map.push(live[best].0);
            score[best] -= tot;
        }
    }

    pub(super) fn pick<R: Rng + ?Sized>(
        &mut self,
        client: u64,
        avoid: Option<ServerId>,
        rng: &mut R,
    ) -> Option<ServerId> {
        let servers = &self.servers;
        let avoided = |s: ServerId| Some(s) == avoid;
        match &mut self.lb {
            Lb::Rr { order, clock } => {
                // fwrr_get_next_server: skip full servers, use the avoided one
                // only if nothing else is left.
                let mut fallback = None;
                let mut chosen = None;
                for &(pass, s) in order.iter() {
                    if servers[s as usize].full() {
                        continue;
                    }
                    if avoided(s) {
                        fallback.get_or_insert((pass, s));
                        continue;
                    }
                    chosen = Some((pass, s));
                    break;
                }
                let (pass, s) = chosen.or(fallback)?;
                order.remove(&(pass, s));
                *clock = pass;
                let next = pass + RR_SCALE / u128::from(servers[s as usize].spec.weight);
                order.insert((next, s));
                self.servers[s as usize].rr_pass = next;
                Some(s)
            }
            Lb::LeastConn { open: 0, .. } => None,
            Lb::LeastConn { order, .. } => {
                first_usable(order.iter().map(|e| e.2), avoid, |s| servers[s as usize].accepts())
            }
            // Every server in `open` has room.
            Lb::First { open } => first_usable(open.iter().copied(), avoid, |_| true),
            Lb::Ring { points } => match self.cfg.balance {
                Balance::Random { draws } => {
                    // get_server_rnd: keep the least loaded relative to weight,
                    // then give up on it if it is full (backend queue).
                    let mut best: Option<ServerId> = None;
                    for _ in 0..draws.max(1) {
                        let cur = ring_lookup(points, rng.random::<u32>(), avoid)?;
                        best = Some(match best {
                            Some(prev) if prev != cur => {
                                let (p, c) = (&servers[prev as usize], &servers[cur as usize]);
                                if u64::from(c.conns) * u64::from(p.spec.weight)
                                    > u64::from(p.conns) * u64::from(c.spec.weight)
                                {
                                    prev
                                } else {
                                    cur
                                }
                            }
                            _ => cur,
                        });
                    }
                    best.filter(|&s| !servers[s as usize].full())
                }
                _ => ring_lookup(points, client_hash(client), None),
            },
            Lb::Map { map } => {
                if map.is_empty() {
                    None
                } else {
                    Some(map[client_hash(client) as usize % map.len()])
                }
            }
        }
    }
}

/// The first server in `order` that is `usable`, the avoided one only if
/// no other is (fwlc/fas_get_next_server).
fn first_usable(
    order: impl Iterator<Item = ServerId>,
    avoid: Option<ServerId>,
    usable: impl Fn(ServerId) -> bool,
) -> Option<ServerId> {
    let mut fallback = None;
    for s in order {
        if !usable(s) {
            continue;
        }
        if Some(s) == avoid {
            fallback = Some(s);
            continue;
        }
        return Some(s);
    }
    fallback
}

/// The server owning the first point at or after `hash`, wrapping round;
/// past `avoid` to the next other server if there is one
/// (`chash_get_server_hash`).
fn ring_lookup(points: &BTreeSet<(u32, ServerId)>, hash: u32, avoid: Option<ServerId>) -> Option<ServerId> {
    let mut walk = points.range((hash, 0)..).chain(points.iter()).map(|p| p.1);
    let first = walk.next()?;
    if Some(first) != avoid {
        return Some(first);
    }
    Some(walk.take(points.len()).find(|&s| s != first).unwrap_or(first))
}

/// A server's `node`-th point on the ring (HAProxy hashes `puid ×
/// SRV_EWGHT_RANGE + node` with its `full_hash`; any good mix will do).
fn ring_point(s: ServerId, node: u32) -> u32 {
    mix64((u64::from(s) << 32) | u64::from(node)) as u32
}

/// The hash `balance source` takes of a client (HAProxy hashes the source
/// address's bytes; the simulator's clients are numbers).
fn client_hash(client: u64) -> u32 {
    (mix64(client) >> 32) as u32
}

/// splitmix64's finaliser.
fn mix64(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a } else { gcd(b, a % b) }
}
