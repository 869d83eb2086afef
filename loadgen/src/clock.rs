//! The run's own clock: nanoseconds since the first arrival's origin, set
//! once the pool of users is ready.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    origin: Arc<OnceLock<Instant>>,
}

impl Clock {
    /// Starts the run's time at `at`; later calls keep the first origin.
    pub fn start(&self, at: Instant) -> Instant {
        *self.origin.get_or_init(|| at)
    }

    pub fn origin(&self) -> Option<Instant> {
        self.origin.get().copied()
    }

    /// Nanoseconds since the origin (0 before it), or `None` before the
    /// run has started.
    pub fn now(&self) -> Option<u64> {
        self.origin().map(|o| self.since(o, Instant::now()))
    }

    fn since(&self, origin: Instant, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(origin).as_nanos()).unwrap_or(u64::MAX)
    }

    /// The wall-clock instant of run time `ns`.
    pub fn at(&self, ns: u64) -> Instant {
        self.origin().expect("the run has started") + Duration::from_nanos(ns)
    }
}
