//! # lab-sim
//!
//! The discrete-event simulator behind `lab run`.
//!
//! [`run`] simulates one era of a scenario and returns its [`Record`]. Time
//! is virtual, in integer nanoseconds; the same scenario and seed give a
//! byte-identical record. Inside:
//!
//! - `engine`: the event queue (a heap, FIFO lanes for constant-delay
//!   timers, and movable slots), ordered by `(time, sequence)`;
//! - `cpu`: a host's cores as a processor-sharing server, with Linux's
//!   head start for a task that has just woken;
//! - `fpm`: a PHP-FPM pool with its listen backlog and process manager;
//! - `haproxy`: HAProxy's backend (balancing algorithms, server and
//!   backend queues, health checks, retries and redispatch) as a pure state
//!   machine;
//! - `mysql`: connections against `max_connections` and row locks;
//! - `sample`: distributions and the seeded random streams (the arrivals
//!   and endpoint draws are `lab_core::draw`'s, shared with the load
//!   generator);
//! - `feed`: an open model's arrivals (times, streams, endpoints), drawn
//!   ahead on a thread of their own; [`arrivals`] lists them;
//! - `shop`: the request path of the stone and bronze eras (nginx → an FPM
//!   pool → MySQL), wired from the era's `lab_core::topology::Topology`;
//! - `budget`: what a run will cost ([`estimate`]) and the limits past
//!   which it stops with a [`SimError`].
//!
//! ```
//! use std::path::Path;
//! use lab_core::{scenario, OutcomeId};
//!
//! let s = scenario::parse(r#"
//!     duration = "30s"
//!     [traffic]
//!     rate = "20/s"
//!     [app.endpoints.home]
//!     steps = [{ cpu = "exp(mean = 10ms)" }, { query = "load", db_cpu = "2ms" }]
//!     [eras.stone]
//! "#, Path::new("shop.toml")).unwrap();
//! let estimate = lab_sim::estimate(&s, &s.eras[0]);
//! assert!(estimate.peak_bytes < 64e6, "a small run: {estimate:?}");
//! let run = lab_sim::run(&s, &s.eras[0], &mut |_| {}).expect("within its estimate");
//! let ok = run.record.totals.outcomes[OutcomeId::OK];
//! assert!(ok > 500 && ok < 700, "about 600 requests in 30 s: {ok}");
//! ```

mod budget;
mod cpu;
mod engine;
mod feed;
mod nodes;
mod ring;
mod sample;
mod shop;
mod table;

use lab_core::Record;
use lab_core::scenario::{Era, Scenario};

pub use budget::{Estimate, SimError, estimate};

/// The open model's arrivals as every era's run draws them, in order: each
/// one's time and endpoint index, up to the end of the run. Empty for a
/// closed model, whose users send when their responses let them.
pub fn arrivals(scenario: &Scenario) -> impl Iterator<Item = (Time, u32)> + use<> {
    let end = scenario.duration;
    let mut draws = feed::draws(scenario);
    std::iter::from_fn(move || {
        let d = draws.as_mut()?.draw();
        d.time.filter(|t| *t < end).map(|t| (t, d.endpoint))
    })
    .fuse()
}
pub use engine::Time;

/// How far a run has got, reported every few tens of thousands of events.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub now: Time,
    pub end: Time,
    pub events: u64,
}

impl Progress {
    pub fn fraction(&self) -> f64 {
        if self.end == 0 {
            1.0
        } else {
            self.now as f64 / self.end as f64
        }
    }
}

/// What a simulation produced.
pub struct Run {
    pub record: Record,
    /// Events processed, for throughput figures.
    pub events: u64,
}

/// Simulates `era` of `scenario` from start to end.
///
/// Fails, rather than exhaust memory or run on for ever, when the run
/// grows far past its [`estimate`]: see [`SimError`].
pub fn run(scenario: &Scenario, era: &Era, progress: &mut dyn FnMut(Progress)) -> Result<Run, SimError> {
    let estimate = budget::estimate(scenario, era);
    shop::Shop::new(scenario, era, &estimate).run(progress)
}
