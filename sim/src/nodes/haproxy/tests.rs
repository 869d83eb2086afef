use lab_core::scenario::{HashType, HealthCheck};
use rand::SeedableRng;
use rand_pcg::Pcg64;

use super::*;

const MS: Time = 1_000_000;
const S: Time = 1_000_000_000;

fn cfg(balance: Balance) -> Haproxy {
    Haproxy {
        balance,
        ..Haproxy::default()
    }
}

fn spec(weight: u32, maxconn: u32, maxqueue: u32) -> ServerSpec {
    ServerSpec {
        weight,
        maxconn,
        maxqueue,
    }
}

fn rng() -> Pcg64 {
    Pcg64::seed_from_u64(7)
}

fn server(d: Dispatch) -> ServerId {
    match d {
        Dispatch::Server(s) => s,
        other => panic!("expected a server, got {other:?}"),
    }
}

fn queued(d: Dispatch) -> Waiter {
    match d {
        Dispatch::Queued(w) => w,
        other => panic!("expected a queue, got {other:?}"),
    }
}

/// Runs `s`'s next check to its end; returns (start, end, transition).
fn run_check(b: &mut Backend<u32>, s: ServerId) -> (Time, Time, Option<Transition>) {
    let start = b.next_check(s).expect("a check is planned");
    let end = b.start_check(s, start);
    assert_eq!(b.next_check(s), None, "no new check while one is under way");
    assert_eq!(b.check_ends(s), Some(end));
    let change = b.end_check(s, end, &mut Effects::default());
    (start, end, change)
}

/// Kills `s` (RST) and runs its checks until it is marked DOWN.
fn take_down(b: &mut Backend<u32>, s: ServerId, fx: &mut Effects<u32>) {
    b.set_liveness(s, Liveness::Refusing);
    for _ in 0..10 {
        let start = b.next_check(s).unwrap();
        let end = b.start_check(s, start);
        if b.end_check(s, end, fx) == Some(Transition::MarkedDown) {
            return;
        }
    }
    panic!("server {s} never marked DOWN");
}

#[test]
fn roundrobin_weights_give_their_shares_interleaved() {
    let mut b: Backend<u32> = Backend::with_servers(cfg(Balance::RoundRobin), &[spec(3, 0, 0), spec(1, 0, 0)]);
    let picks: Vec<ServerId> = (0..400).map(|i| server(b.dispatch(i, 0, None, &mut rng()))).collect();
    assert_eq!(picks.iter().filter(|&&s| s == 0).count(), 300);
    // Smooth: every turn of 4 has the weight-1 server exactly once, never
    // a burst of 3 then 1 across turns.
    for (i, turn) in picks.chunks(4).enumerate() {
        assert_eq!(turn.iter().filter(|&&s| s == 1).count(), 1, "turn {i}: {turn:?}");
    }
    // Strides 2^64/3 (floored) and 2^64, starting half a stride in: server
    // 0's passes sit just below the exact thirds, so it wins the ties at
    // 1/2 and 3/2: 0 (1/6), 0 (1/2), 1 (1/2), 0 (5/6), 0 (7/6), 0 (3/2), 1 (3/2).
    assert_eq!(&picks[..8], &[0, 0, 1, 0, 0, 0, 1, 0]);
}

#[test]
fn roundrobin_takes_turns_and_skips_full_servers() {
    let mut b: Backend<u32> = Backend::with_servers(cfg(Balance::RoundRobin), &[spec(1, 1, 0); 3]);
    let mut r = rng();
    assert_eq!(server(b.dispatch(0, 0, None, &mut r)), 0);
    assert_eq!(server(b.dispatch(1, 0, None, &mut r)), 1);
    b.release(1);
    // Server 2 is next in turn; then 0 is full, so 1.
    assert_eq!(server(b.dispatch(2, 0, None, &mut r)), 2);
    assert_eq!(server(b.dispatch(3, 0, None, &mut r)), 1);
    assert_eq!(
        b.dispatch(4, 0, None, &mut r),
        Dispatch::Queued(Waiter { slot: 0, id: 1 })
    );
}

#[test]
fn static_rr_follows_the_weights_too() {
    let mut b: Backend<u32> = Backend::with_servers(cfg(Balance::StaticRr), &[spec(1, 0, 0), spec(2, 0, 0)]);
    let picks: Vec<ServerId> = (0..300).map(|i| server(b.dispatch(i, 0, None, &mut rng()))).collect();
    assert_eq!(picks.iter().filter(|&&s| s == 1).count(), 200);
}

#[test]
fn leastconn_picks_the_fewest_relative_to_weight_in_turn() {
    let mut b: Backend<u32> = Backend::new(cfg(Balance::LeastConn), 3);
    let mut r = rng();
    let first: Vec<ServerId> = (0..3).map(|i| server(b.dispatch(i, 0, None, &mut r))).collect();
    assert_eq!(first, [0, 1, 2], "idle servers in turn");
    b.release(1);
    assert_eq!(
        server(b.dispatch(3, 0, None, &mut r)),
        1,
        "the only one with no connection"
    );
    // All at one connection: the one that has waited longest at that load goes first.
    assert_eq!(server(b.dispatch(4, 0, None, &mut r)), 0);
    assert_eq!(server(b.dispatch(5, 0, None, &mut r)), 2);
    assert_eq!(server(b.dispatch(6, 0, None, &mut r)), 1);
    assert_eq!((b.conns(0), b.conns(1), b.conns(2)), (2, 2, 2));

    // Weight 2 vs 1 at one connection each: keys (1+1)×4096/32 = 256 and 512.
    let mut w: Backend<u32> = Backend::with_servers(cfg(Balance::LeastConn), &[spec(1, 0, 0), spec(2, 0, 0)]);
    assert_eq!(server(w.dispatch(0, 0, None, &mut r)), 0);
    assert_eq!(server(w.dispatch(1, 0, None, &mut r)), 1);
    assert_eq!(server(w.dispatch(2, 0, None, &mut r)), 1);
    // Now 1 vs 2 connections: 512 vs (2+1)×4096/32 = 384: still server 1.
    assert_eq!(server(w.dispatch(3, 0, None, &mut r)), 1);
    // 512 vs 512: server 0 has waited longer.
    assert_eq!(server(w.dispatch(4, 0, None, &mut r)), 0);
}

#[test]
fn first_fills_server_0_before_server_1() {
    let mut b: Backend<u32> = Backend::with_servers(cfg(Balance::First), &[spec(1, 2, 0); 3]);
    let mut r = rng();
    let picks: Vec<ServerId> = (0..5).map(|i| server(b.dispatch(i, 0, None, &mut r))).collect();
    assert_eq!(picks, [0, 0, 1, 1, 2]);
    b.release(0);
    assert_eq!(server(b.dispatch(5, 0, None, &mut r)), 0, "the lowest id with room");
    server(b.dispatch(6, 0, None, &mut r));
    queued(b.dispatch(7, 0, None, &mut r));
    assert_eq!(b.backend_queue(), 1);

    // Unlike leastconn, first ignores maxqueue: it never queues on a server
    // (fas_get_next_server skips any server at maxconn).
    let mut q: Backend<u32> = Backend::with_servers(cfg(Balance::First), &[spec(1, 1, 5); 2]);
    server(q.dispatch(0, 0, None, &mut r));
    server(q.dispatch(1, 0, None, &mut r));
    queued(q.dispatch(2, 0, None, &mut r));
    assert_eq!((q.server_queue(0), q.server_queue(1), q.backend_queue()), (0, 0, 1));
}

fn owners(b: &mut Backend<u32>, clients: u64) -> Vec<ServerId> {
    (0..clients)
        .map(|c| {
            let s = server(b.dispatch(0, c, None, &mut rng()));
            b.release(s);
            s
        })
        .collect()
}

#[test]
fn source_is_stable_and_consistent_hashing_moves_only_the_dead_servers_clients() {
    let mut c = cfg(Balance::Source);
    c.hash_type = HashType::Consistent;
    let mut b: Backend<u32> = Backend::new(c, 4);
    let before = owners(&mut b, 4000);
    assert_eq!(before, owners(&mut b, 4000), "one client, one server");
    for s in 0..4 {
        let n = before.iter().filter(|&&o| o == s).count();
        assert!((500..1500).contains(&n), "server {s} has {n} of 4000 clients");
    }
    take_down(&mut b, 2, &mut Effects::default());
    let after = owners(&mut b, 4000);
    for (c, (&was, &is)) in before.iter().zip(&after).enumerate() {
        if was == 2 {
            assert_ne!(is, 2, "client {c} still on the DOWN server");
        } else {
            assert_eq!(is, was, "client {c} moved off a server that stayed UP");
        }
    }
}

#[test]
fn source_map_based_remaps_most_clients_when_a_server_goes_down() {
    // HAProxy's default hash-type: hash % tot_weight over the UP servers.
    let mut b: Backend<u32> = Backend::new(cfg(Balance::Source), 4);
    let before = owners(&mut b, 4000);
    assert_eq!(before, owners(&mut b, 4000));
    for s in 0..4 {
        let n = before.iter().filter(|&&o| o == s).count();
        assert!((900..1100).contains(&n), "server {s} has {n} of 4000 clients");
    }
    take_down(&mut b, 2, &mut Effects::default());
    let after = owners(&mut b, 4000);
    assert!(after.iter().all(|&s| s != 2));
    // The map goes from [0, 1, 2, 3] to [0, 1, 3]: a client stays put only
    // if map[h % 3] is still its server; over h mod 12 that is 3 cases of 9
    // (h ≡ 0, 1 and 11 mod 12), so 2 in 3 of them move.
    let stayed_up = before.iter().filter(|&&s| s != 2).count();
    let moved = before.iter().zip(&after).filter(|&(&w, &i)| w != 2 && w != i).count();
    assert!(moved * 2 > stayed_up, "{moved} of {stayed_up} moved");
}

#[test]
fn source_queues_on_its_server_and_refuses_past_maxqueue() {
    let mut c = cfg(Balance::Source);
    c.server_maxconn = 1;
    c.maxqueue = 1;
    let mut b: Backend<u32> = Backend::new(c, 3);
    let mut r = rng();
    let s = server(b.dispatch(0, 42, None, &mut r));
    let w = queued(b.dispatch(1, 42, None, &mut r));
    assert_eq!(b.server_queue(s), 1);
    assert_eq!(b.dispatch(2, 42, None, &mut r), Dispatch::QueueFull);
    let h = b.release(s).unwrap();
    assert_eq!((h.key, h.waiter, h.server), (1, w, s));
}

fn mean_load_picked(draws: u32) -> f64 {
    // Server k holds k connections; each pick is released at once.
    let mut b: Backend<u32> = Backend::new(cfg(Balance::Random { draws }), 10);
    for k in 0..10 {
        b.servers[k].conns = k as u32;
    }
    let mut r = rng();
    let n = 20_000;
    let total: u64 = (0..n)
        .map(|i| {
            let s = server(b.dispatch(i, 0, None, &mut r));
            b.release(s);
            u64::from(b.conns(s))
        })
        .sum();
    total as f64 / f64::from(n)
}

#[test]
fn random_2_picks_the_less_loaded_of_two() {
    // One draw: the mean load of the 10 servers, 4.5. Two draws keep the
    // smaller of two: P(k) = ((10-k)² - (9-k)²)/100, mean 2.85. The ring's
    // 16 points per server make the draws uneven, hence the margins.
    let one = mean_load_picked(1);
    let two = mean_load_picked(2);
    assert!((3.8..5.2).contains(&one), "random(1): mean load {one}");
    assert!((2.4..3.3).contains(&two), "random(2): mean load {two}");
    // Two servers, one busy: the idle one unless both draws hit the busy one.
    let mut b: Backend<u32> = Backend::new(cfg(Balance::Random { draws: 2 }), 2);
    b.servers[0].conns = 5;
    let mut r = rng();
    let idle = (0..1000)
        .filter(|&i| {
            let s = server(b.dispatch(i, 0, None, &mut r));
            b.release(s);
            s == 1
        })
        .count();
    assert!(idle > 600, "{idle} of 1000 on the idle server");
}

#[test]
fn random_is_deterministic_for_a_seed() {
    let run = |seed| {
        let mut b: Backend<u32> = Backend::new(cfg(Balance::Random { draws: 2 }), 8);
        let mut r = Pcg64::seed_from_u64(seed);
        (0..50)
            .map(|i| server(b.dispatch(i, 0, None, &mut r)))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

#[test]
fn the_backend_queue_is_fifo_and_released_slots_take_the_oldest() {
    let mut c = cfg(Balance::RoundRobin);
    c.server_maxconn = 1;
    let mut b: Backend<u32> = Backend::new(c, 2);
    let mut r = rng();
    assert_eq!(server(b.dispatch(1, 0, None, &mut r)), 0);
    assert_eq!(server(b.dispatch(2, 0, None, &mut r)), 1);
    let w3 = queued(b.dispatch(3, 0, None, &mut r));
    let w4 = queued(b.dispatch(4, 0, None, &mut r));
    assert_eq!((b.backend_queue(), b.queued()), (2, 2));
    let h = b.release(1).unwrap();
    assert_eq!((h.key, h.waiter, h.server), (3, w3, 1));
    let h = b.release(0).unwrap();
    assert_eq!((h.key, h.waiter, h.server), (4, w4, 0));
    assert_eq!(b.release(0), None);
    assert_eq!((b.conns(0), b.conns(1), b.queued()), (0, 1, 0));
}

#[test]
fn a_release_serves_the_oldest_of_the_servers_queue_and_the_backends() {
    // leastconn with maxqueue 1: each server takes one queued request of its
    // own, then the backend queues.
    let mut c = cfg(Balance::LeastConn);
    c.server_maxconn = 1;
    c.maxqueue = 1;
    let mut b: Backend<u32> = Backend::new(c, 2);
    let mut r = rng();
    assert_eq!(server(b.dispatch(1, 0, None, &mut r)), 0);
    assert_eq!(server(b.dispatch(2, 0, None, &mut r)), 1);
    queued(b.dispatch(3, 0, None, &mut r));
    queued(b.dispatch(4, 0, None, &mut r));
    assert_eq!((b.server_queue(0), b.server_queue(1)), (1, 1));
    queued(b.dispatch(5, 0, None, &mut r));
    queued(b.dispatch(6, 0, None, &mut r));
    assert_eq!(b.backend_queue(), 2);
    let order: Vec<(u32, ServerId)> = [1, 0, 0, 1]
        .iter()
        .map(|&s| {
            let h = b.release(s).unwrap();
            (h.key, h.server)
        })
        .collect();
    // Server 1: its own 4 before the backend's 5; server 0: its own 3, then 5
    // (older than 6), then 6 goes to server 1.
    assert_eq!(order, [(4, 1), (3, 0), (5, 0), (6, 1)]);
}

#[test]
fn abandon_removes_a_waiting_request() {
    let mut c = cfg(Balance::RoundRobin);
    c.server_maxconn = 1;
    let mut b: Backend<u32> = Backend::new(c, 1);
    let mut r = rng();
    server(b.dispatch(1, 0, None, &mut r));
    let ws: Vec<Waiter> = (2..5).map(|k| queued(b.dispatch(k, 0, None, &mut r))).collect();
    assert_eq!(b.abandon(ws[1]), Some(3));
    assert_eq!(b.abandon(ws[1]), None, "already gone");
    assert_eq!((b.backend_queue(), b.queued()), (2, 2));
    assert_eq!(b.release(0).unwrap().key, 2);
    assert_eq!(b.abandon(ws[0]), None, "it has its slot");
    assert_eq!(b.release(0).unwrap().key, 4);
    assert_eq!(b.release(0), None);
    // A slot reused by a new request does not answer to the old waiter.
    server(b.dispatch(5, 0, None, &mut r));
    let w6 = queued(b.dispatch(6, 0, None, &mut r));
    assert_eq!(w6.slot, ws[2].slot);
    assert_eq!(b.abandon(ws[2]), None);
    assert_eq!(b.abandon(w6), Some(6));
}

#[test]
fn first_checks_are_spread_over_the_first_interval() {
    let mut c = cfg(Balance::RoundRobin);
    c.check = Some(HealthCheck {
        fastinter: 1000 * MS,
        ..HealthCheck::default()
    });
    let b: Backend<u32> = Backend::new(c, 3);
    // A fresh server is at health = rise, so its interval is fastinter:
    // 1000 × i / 3 ms, truncated.
    let starts: Vec<Time> = (0..3).map(|s| b.next_check(s).unwrap()).collect();
    assert_eq!(starts, [0, 333 * MS, 666 * MS]);
    let d: Backend<u32> = Backend::new(cfg(Balance::RoundRobin), 4);
    let starts: Vec<Time> = (0..4).map(|s| d.next_check(s).unwrap()).collect();
    assert_eq!(starts, [0, 500 * MS, 1000 * MS, 1500 * MS]);
}

#[test]
fn a_killed_host_is_marked_down_at_the_fall_th_failed_check_and_up_after_rise() {
    // inter 2 s, fastinter 1 s, downinter 5 s, rise 2, fall 3; 4 servers, so
    // server 1 first checks at 1000 × 1/4 = 250 ms.
    let mut c = cfg(Balance::RoundRobin);
    c.check = Some(HealthCheck {
        inter: 2 * S,
        fastinter: S,
        downinter: 5 * S,
        rise: 2,
        fall: 3,
    });
    let mut b: Backend<u32> = Backend::new(c, 4);
    let ms = |t: Time| t / MS;
    let mut timeline = Vec::new();
    let run_until = |b: &mut Backend<u32>, until: Time, timeline: &mut Vec<_>| {
        while b.next_check(1).unwrap() < until {
            let (start, end, change) = run_check(b, 1);
            timeline.push((ms(start), ms(end), change));
        }
    };
    run_until(&mut b, 5 * S, &mut timeline);
    // The host vanishes at 5 s: checks get no answer and fail after inter.
    b.set_liveness(1, Liveness::Silent);
    run_until(&mut b, 20 * S, &mut timeline);
    b.set_liveness(1, Liveness::Alive);
    run_until(&mut b, 30 * S, &mut timeline);
    use Transition::*;
    assert_eq!(
        timeline,
        [
            (250, 250, None),   // fresh at health 2 → 4 (full)
            (2250, 2250, None), // inter 2 s
            (4250, 4250, None),
            (6250, 8250, None),  // no answer: fails after inter; health 3, still UP
            (9250, 11250, None), // fastinter 1 s after the end; health 2
            (12250, 14250, Some(MarkedDown)),
            (19250, 21250, None),           // downinter 5 s; still dead at 19.25 s
            (26250, 26250, None),           // alive again: health 1
            (27250, 27250, Some(MarkedUp)), // fastinter, health 2 = rise
            (29250, 29250, None),           // back to inter
        ]
    );
    assert!(b.is_up(1));
}

#[test]
fn with_default_timings_a_refusing_server_is_down_two_fastinters_after_its_first_failure() {
    // inter = fastinter = downinter = 2 s, rise 2, fall 3; server 0 checks at
    // 0, 2, 4 s…; killed (RST) at 5 s: fails at 6 (health 3), 8 (2), 10 (0).
    let mut b: Backend<u32> = Backend::new(cfg(Balance::RoundRobin), 1);
    let mut seen = Vec::new();
    for i in 0..6 {
        if i == 3 {
            b.set_liveness(0, Liveness::Refusing);
        }
        let (start, end, change) = run_check(&mut b, 0);
        assert_eq!(start, end, "an answer or a refusal is immediate");
        seen.push((start / S, change));
    }
    use Transition::*;
    assert_eq!(
        seen,
        [
            (0, None),
            (2, None),
            (4, None),
            (6, None),
            (8, None),
            (10, Some(MarkedDown))
        ]
    );
    assert_eq!(b.dispatch(1, 0, None, &mut rng()), Dispatch::NoServer);
}

#[test]
fn a_server_dead_at_start_up_is_down_at_its_first_check() {
    let mut b: Backend<u32> = Backend::new(cfg(Balance::LeastConn), 2);
    b.set_liveness(0, Liveness::Refusing);
    assert_eq!(run_check(&mut b, 0).2, Some(Transition::MarkedDown));
    assert_eq!(b.up_servers(), 1);
    // Only the UP server is picked.
    let mut r = rng();
    assert!((0..5).all(|i| server(b.dispatch(i, 0, None, &mut r)) == 1));
}

#[test]
fn with_no_server_up_requests_get_503_at_once() {
    for balance in [
        Balance::RoundRobin,
        Balance::StaticRr,
        Balance::LeastConn,
        Balance::First,
        Balance::Source,
        Balance::Random { draws: 2 },
    ] {
        let mut b: Backend<u32> = Backend::new(cfg(balance), 2);
        let mut fx = Effects::default();
        take_down(&mut b, 0, &mut fx);
        take_down(&mut b, 1, &mut fx);
        assert_eq!(b.dispatch(1, 0, None, &mut rng()), Dispatch::NoServer, "{balance:?}");
        assert_eq!(b.queued(), 0);
    }
}

#[test]
fn a_down_server_hands_its_queue_back_only_with_redispatch_and_an_up_one_takes_the_backends() {
    for redispatch in [false, true] {
        let mut c = cfg(Balance::Source);
        c.server_maxconn = 1;
        c.redispatch = redispatch;
        let mut b: Backend<u32> = Backend::new(c, 2);
        let mut r = rng();
        let s = server(b.dispatch(1, 9, None, &mut r));
        queued(b.dispatch(2, 9, None, &mut r));
        queued(b.dispatch(3, 9, None, &mut r));
        let mut fx = Effects::default();
        take_down(&mut b, s, &mut fx);
        if redispatch {
            let keys: Vec<(u32, u64)> = fx.requeue.iter().map(|q| (q.key, q.client)).collect();
            assert_eq!(keys, [(2, 9), (3, 9)]);
            assert_eq!(b.server_queue(s), 0);
            assert_eq!(b.abandon(fx.requeue[0].waiter), None, "out of the queue");
        } else {
            assert!(fx.requeue.is_empty());
            assert_eq!(b.server_queue(s), 2, "they wait for timeout queue");
        }
    }

    // roundrobin, maxconn 1 on both: 2 busy, 3 in the backend's queue. Server
    // 1 goes down and comes back: it takes one (its maxconn) on the way up.
    let mut c = cfg(Balance::RoundRobin);
    c.server_maxconn = 1;
    let mut b: Backend<u32> = Backend::new(c, 2);
    let mut r = rng();
    server(b.dispatch(1, 0, None, &mut r));
    let s1 = server(b.dispatch(2, 0, None, &mut r));
    for k in 3..6 {
        queued(b.dispatch(k, 0, None, &mut r));
    }
    let mut fx = Effects::default();
    take_down(&mut b, s1, &mut fx);
    assert_eq!(
        b.release(s1),
        None,
        "a DOWN server does not take from the backend's queue"
    );
    b.set_liveness(s1, Liveness::Alive);
    let mut up = None;
    while up.is_none() {
        let start = b.next_check(s1).unwrap();
        let end = b.start_check(s1, start);
        up = b.end_check(s1, end, &mut fx);
    }
    assert_eq!(up, Some(Transition::MarkedUp));
    let taken: Vec<(u32, ServerId)> = fx.handoffs.iter().map(|h| (h.key, h.server)).collect();
    assert_eq!(taken, [(3, s1)]);
    assert_eq!(b.backend_queue(), 2);
}

#[test]
fn connections_fail_by_liveness() {
    let mut c = cfg(Balance::RoundRobin);
    c.timeout_connect = 3 * S;
    let mut b: Backend<u32> = Backend::new(c, 3);
    b.set_liveness(1, Liveness::Refusing);
    b.set_liveness(2, Liveness::Silent);
    assert_eq!(b.connect(0), Connect::Established);
    assert_eq!(b.connect(1), Connect::Refused);
    assert_eq!(b.connect(2), Connect::TimesOut { after: 3 * S });
}

#[test]
fn retries_and_redispatch() {
    let pause = |b: &Backend<u32>, refused: bool| if refused { b.cfg.timeout_connect.min(S) } else { 0 };
    // Without redispatch: retries 3 on the same server, then 503; a pause of
    // min(timeout connect, 1 s) after a refusal only.
    let mut c = cfg(Balance::LeastConn);
    c.timeout_connect = 500 * MS;
    let b: Backend<u32> = Backend::new(c.clone(), 2);
    for refused in [false, true] {
        for f in 1..=3 {
            assert_eq!(
                b.retry(0, f, refused),
                Retry::SameServer {
                    after: pause(&b, refused)
                }
            );
        }
        assert_eq!(b.retry(0, 4, refused), Retry::GiveUp);
    }
    assert_eq!(b.retry(0, 1, true), Retry::SameServer { after: 500 * MS });

    // leastconn with redispatch: the last retry (the 3rd failure) moves, after
    // the pause if refused; earlier ones stay.
    c.redispatch = true;
    c.timeout_connect = 5 * S;
    let b: Backend<u32> = Backend::new(c.clone(), 2);
    assert_eq!(b.retry(0, 1, true), Retry::SameServer { after: S });
    assert_eq!(b.retry(0, 2, false), Retry::SameServer { after: 0 });
    assert_eq!(b.retry(0, 3, true), Retry::Redispatch { after: S });
    assert_eq!(b.retry(0, 3, false), Retry::Redispatch { after: 0 });
    assert_eq!(b.retry(0, 4, false), Retry::GiveUp);

    // A server already marked DOWN: redispatch at the first failure.
    let mut d: Backend<u32> = Backend::new(c.clone(), 2);
    take_down(&mut d, 0, &mut Effects::default());
    assert_eq!(d.retry(0, 1, false), Retry::Redispatch { after: 0 });

    // roundrobin with two servers UP: every retry redispatches, at once.
    c.balance = Balance::RoundRobin;
    let b: Backend<u32> = Backend::new(c.clone(), 2);
    assert_eq!(b.retry(0, 1, true), Retry::Redispatch { after: 0 });
    // With one server: the last retry only, after the pause.
    let one: Backend<u32> = Backend::new(c.clone(), 1);
    assert_eq!(one.retry(0, 1, true), Retry::SameServer { after: S });
    assert_eq!(one.retry(0, 3, true), Retry::Redispatch { after: S });

    // retries 0: the first failure is final.
    c.retries = 0;
    let b: Backend<u32> = Backend::new(c, 2);
    assert_eq!(b.retry(0, 1, false), Retry::GiveUp);
}

#[test]
fn a_redispatch_avoids_the_failed_server() {
    for balance in [
        Balance::RoundRobin,
        Balance::LeastConn,
        Balance::First,
        Balance::Random { draws: 2 },
    ] {
        let mut b: Backend<u32> = Backend::new(cfg(balance), 3);
        let mut r = rng();
        for i in 0..30 {
            let s = server(b.dispatch(i, 0, Some(0), &mut r));
            assert_ne!(s, 0, "{balance:?}");
            b.release(s);
        }
        // The avoided server is still used when it is the only one.
        let mut one: Backend<u32> = Backend::new(cfg(balance), 1);
        assert_eq!(server(one.dispatch(0, 0, Some(0), &mut r)), 0, "{balance:?}");
    }
}

#[test]
fn a_thousand_servers_pick_in_logarithmic_time() {
    // 200,000 dispatches over 1,000 servers, 5,000 (or, saturated, 3,000)
    // requests held: a linear scan per pick would be 10^8 steps.
    let cases = [Balance::LeastConn, Balance::RoundRobin, Balance::First]
        .into_iter()
        .flat_map(|b| [(b, 8, 5_000), (b, 2, 3_000)]);
    for (balance, maxconn, hold) in cases {
        let mut c = cfg(balance);
        c.server_maxconn = maxconn;
        let mut b: Backend<u32> = Backend::new(c, 1000);
        let mut r = rng();
        let mut held = VecDeque::new();
        let started = std::time::Instant::now();
        for i in 0..200_000u32 {
            if let Dispatch::Server(s) = b.dispatch(i, u64::from(i), None, &mut r) {
                held.push_back(s);
            }
            if held.len() > hold {
                let s = held.pop_front().unwrap();
                if let Some(h) = b.release(s) {
                    held.push_back(h.server);
                }
            }
        }
        let took = started.elapsed();
        assert!(took.as_secs() < 10, "{balance:?}, maxconn {maxconn}: {took:?}");
        if maxconn == 2 {
            assert!(b.backend_queue() > 0, "{balance:?}: saturated");
        }
    }
}
