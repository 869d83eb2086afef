//! Back-of-the-envelope capacity estimates, for `lab check` and `lab run`
//! to warn about settings that will fail before anything is simulated.
//!
//! They ignore contention and randomness on purpose: a warning must be
//! explainable in one sentence, and the simulation is there for the rest.
//! [`warnings`] applies them to a scenario's eras.

mod warn;

pub use warn::{Demand, Warning, demand, warnings};

/// What php-fpm's `pm = dynamic` maintenance works with
/// (`fpm_pctl_perform_idle_server_maintenance` in fpm_process_ctl.c).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dynamic {
    pub start_servers: u32,
    pub min_spare_servers: u32,
    pub max_spare_servers: u32,
    pub max_children: u32,
}

/// php-fpm's `FPM_MAX_SPAWN_RATE`: the batch stops doubling at 32.
pub const MAX_SPAWN_RATE: u32 = 32;

/// Seconds of falling behind that count as not following the load: a
/// second or two is the tick itself.
pub const TOLERATED_LAG_S: u64 = 2;

/// A stretch of whole seconds during which the pool ran fewer children
/// than the load kept busy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shortfall {
    /// The first second (from the start of the run) short of children.
    pub from: u64,
    /// How many seconds in a row.
    pub seconds: u64,
    /// The most children the load needed during the stretch.
    pub needed: u32,
    /// Children running when the stretch began.
    pub had: u32,
}

/// Replays `pm = dynamic` once a second against `busy[t]`, the children the
/// load keeps busy during second `t` (arrival rate × holding time, by
/// Little's law), and returns the longest stretch with fewer children than
/// needed (needs above `max_children` count as `max_children`: more is the
/// backlog's business).
///
/// Each tick: more than `max_spare_servers` idle → one is killed; fewer
/// than `min_spare_servers` idle → `min(rate, min_spare − idle, room)` are
/// forked and `rate` doubles up to 32, else `rate` falls back to 1. So a
/// saturated pool (none idle) grows by at most `min_spare_servers` a
/// second: one a second with Debian's `min_spare_servers = 1`.
pub fn spawn_shortfall(pool: Dynamic, busy: &[f64]) -> Option<Shortfall> {
    let mut running = pool.start_servers.min(pool.max_children);
    let mut rate = 1u32;
    let mut best: Option<Shortfall> = None;
    let mut open: Option<Shortfall> = None;
    for (t, &b) in busy.iter().enumerate() {
        let need = (b.max(0.0).ceil() as u32).min(pool.max_children);
        if running < need {
            let s = open.get_or_insert(Shortfall {
                from: t as u64,
                seconds: 0,
                needed: 0,
                had: running,
            });
            s.seconds += 1;
            s.needed = s.needed.max(need);
        } else if let Some(s) = open.take() {
            best = longer(best, s);
        }
        let idle = running - need.min(running);
        if idle > pool.max_spare_servers {
            running -= 1;
            rate = 1;
        } else if idle < pool.min_spare_servers {
            let n = rate.min(pool.min_spare_servers - idle).min(pool.max_children - running);
            if n == 0 {
                rate = 1;
            } else {
                running += n;
                rate = (rate * 2).min(MAX_SPAWN_RATE);
            }
        } else {
            rate = 1;
        }
    }
    match open {
        Some(s) => longer(best, s),
        None => best,
    }
}

fn longer(best: Option<Shortfall>, s: Shortfall) -> Option<Shortfall> {
    match best {
        Some(b) if b.seconds >= s.seconds => Some(b),
        _ => Some(s),
    }
}

/// The smallest `min_spare_servers` (raising `max_spare_servers` and
/// `start_servers` with it where php-fpm requires) with which the pool
/// falls behind `busy` by at most [`TOLERATED_LAG_S`]; `None` when even
/// `max_children` spares do not (then only `pm = static` keeps up).
pub fn min_spare_to_follow(pool: Dynamic, busy: &[f64]) -> Option<u32> {
    let with = |m: u32| Dynamic {
        min_spare_servers: m,
        max_spare_servers: pool.max_spare_servers.max(m),
        start_servers: pool.start_servers.max(m),
        ..pool
    };
    let follows = |m: u32| spawn_shortfall(with(m), busy).is_none_or(|s| s.seconds <= TOLERATED_LAG_S);
    if !follows(pool.max_children) {
        return None;
    }
    // More spares never slow the growth down, so the first that follows is
    // found by bisection.
    let (mut lo, mut hi) = (pool.min_spare_servers, pool.max_children);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if follows(mid) { hi = mid } else { lo = mid + 1 }
    }
    Some(lo)
}

/// When the listen backlog first overflows, by a fluid estimate: each
/// second `arrivals[t]` requests come and the pool serves at most
/// `capacity` a second; what it cannot serve waits in the backlog.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Overflow {
    /// The second the queue passes the backlog.
    pub at: u64,
    /// The most requests that would wait, had the backlog no bound.
    pub queue: f64,
}

/// The first second at which more than `backlog` requests wait, with the
/// longest queue the run would build; `None` if it never does.
pub fn backlog_overflow(arrivals: &[f64], capacity: f64, backlog: u32) -> Option<Overflow> {
    let mut q: f64 = 0.0;
    let mut first = None;
    let mut most: f64 = 0.0;
    for (t, &a) in arrivals.iter().enumerate() {
        q = (q + a - capacity).max(0.0);
        most = most.max(q);
        if first.is_none() && q > f64::from(backlog) {
            first = Some(t as u64);
        }
    }
    first.map(|at| Overflow { at, queue: most })
}

/// Little's law: requests in the pool at once (in service or waiting) when
/// `rate` a second each hold a child `hold` seconds.
pub fn in_system(rate: f64, hold: f64) -> f64 {
    rate * hold
}

/// The most requests a second a pool serves: bounded by its children
/// (each busy `hold` seconds a request) and by its host's cores (each
/// request costing `cpu` seconds of one core); `cpu = 0` bounds nothing.
pub fn capacity(max_children: u32, hold: f64, cores: f64, cpu: f64) -> f64 {
    let by_children = if hold > 0.0 {
        f64::from(max_children) / hold
    } else {
        f64::INFINITY
    };
    let by_cores = if cpu > 0.0 { cores / cpu } else { f64::INFINITY };
    by_children.min(by_cores)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN: Dynamic = Dynamic {
        start_servers: 2,
        min_spare_servers: 1,
        max_spare_servers: 3,
        max_children: 5,
    };

    #[test]
    fn one_child_a_second_with_one_spare() {
        // Saturated at once: 2 running, 20 needed, capped at 20 children.
        let pool = Dynamic {
            max_children: 20,
            ..DEBIAN
        };
        let s = spawn_shortfall(pool, &[20.0; 40]).unwrap();
        // 2 → 20 at one child a second: short from second 0 for 18 seconds.
        assert_eq!(
            s,
            Shortfall {
                from: 0,
                seconds: 18,
                needed: 20,
                had: 2
            }
        );
    }

    #[test]
    fn the_batch_doubles_only_up_to_min_spare() {
        let pool = Dynamic {
            start_servers: 8,
            min_spare_servers: 8,
            max_spare_servers: 8,
            max_children: 100,
        };
        // The batch goes 1, 2, 4, then min_spare − idle caps it at 8 a
        // second: 8 → 23 in 4 s, → 95 in 9 more, 100 the next: 14 s short.
        let growth = spawn_shortfall(pool, &[100.0; 30]).unwrap();
        assert_eq!(growth.seconds, 14);
        // With no cap (min_spare 32) it doubles: 1, 2, 4, 8, 16, 32, 32…
        let wide = Dynamic {
            start_servers: 32,
            min_spare_servers: 32,
            max_spare_servers: 32,
            max_children: 100,
        };
        let s = spawn_shortfall(wide, &[100.0; 30]).unwrap();
        // 32 +1 +2 +4 +8 +16 +32 = 95, then 100.
        assert_eq!(s.seconds, 7);
    }

    #[test]
    fn a_pool_ahead_of_the_load_has_no_shortfall() {
        assert_eq!(spawn_shortfall(DEBIAN, &[1.0; 10]), None);
        // Needs above max_children are capped: 5 children suffice here.
        let pool = Dynamic {
            start_servers: 5,
            min_spare_servers: 1,
            max_spare_servers: 5,
            max_children: 5,
        };
        assert_eq!(spawn_shortfall(pool, &[50.0; 10]), None);
    }

    #[test]
    fn idle_children_above_max_spare_die_one_a_second() {
        // 10 children start, the load needs none for 8 s (they die down to
        // 3), then 10 again: from 3 at one a second, 7 seconds short.
        let pool = Dynamic {
            start_servers: 10,
            min_spare_servers: 1,
            max_spare_servers: 3,
            max_children: 10,
        };
        let mut busy = vec![0.0; 8];
        busy.extend([10.0; 20]);
        let s = spawn_shortfall(pool, &busy).unwrap();
        assert_eq!((s.from, s.had, s.needed), (8, 3, 10));
        assert_eq!(s.seconds, 7);
    }

    #[test]
    fn the_suggested_min_spare_keeps_up() {
        let pool = Dynamic {
            max_children: 40,
            ..DEBIAN
        };
        let mut busy = vec![2.0; 10];
        busy.extend((0..10).map(|i| 2.0 + 3.8 * f64::from(i)));
        busy.extend([40.0; 20]);
        let m = min_spare_to_follow(pool, &busy).unwrap();
        let fixed = Dynamic {
            min_spare_servers: m,
            max_spare_servers: m.max(3),
            start_servers: m.max(2),
            ..pool
        };
        assert!(spawn_shortfall(fixed, &busy).is_none_or(|s| s.seconds <= TOLERATED_LAG_S));
        let less = Dynamic {
            min_spare_servers: m - 1,
            max_spare_servers: (m - 1).max(3),
            start_servers: (m - 1).max(2),
            ..pool
        };
        assert!(spawn_shortfall(less, &busy).unwrap().seconds > TOLERATED_LAG_S);
        // A jump from nothing to 40: the batch starts at 1 whatever the
        // spares, so only 37 spares reach 40 by the third second (37 + 1 + 2).
        let jump = [0.0, 40.0, 40.0, 40.0, 40.0];
        assert_eq!(min_spare_to_follow(pool, &jump), Some(37));
    }

    #[test]
    fn a_queue_fills_the_backlog_at_the_excess_rate() {
        // 100/s against 60/s: 40 more a second; a backlog of 100 holds
        // 2.5 seconds, so the third second overflows.
        let o = backlog_overflow(&[100.0; 10], 60.0, 100).unwrap();
        assert_eq!(o.at, 2);
        assert!((o.queue - 400.0).abs() < 1e-9);
        // Below capacity nothing queues.
        assert_eq!(backlog_overflow(&[59.0; 100], 60.0, 0), None);
        // A burst the backlog absorbs, then drains.
        let mut a = vec![100.0; 2];
        a.extend([0.0; 5]);
        assert_eq!(backlog_overflow(&a, 60.0, 100), None);
    }

    #[test]
    fn capacity_is_the_tighter_of_children_and_cores() {
        // 5 children holding 50 ms: 100/s; 8 cores at 10 ms: 800/s.
        assert!((capacity(5, 0.05, 8.0, 0.01) - 100.0).abs() < 1e-9);
        // 40 children: 800/s by children, 800/s by cores.
        assert!((capacity(40, 0.05, 8.0, 0.01) - 800.0).abs() < 1e-9);
        assert!((capacity(400, 0.05, 8.0, 0.01) - 800.0).abs() < 1e-9);
        assert!((in_system(1200.0, 0.025) - 30.0).abs() < 1e-9);
    }
}
