//! One server's health check, as HAProxy 2.6's check.c runs it.
//!
//! - `health` counts from 0 to `rise + fall - 1`; the server is UP from
//!   `rise` on. A server starts UP with `health = rise` ("up, but will fall
//!   down at first failure", server.c), so a server that is dead at start-up
//!   is marked DOWN by its first check.
//! - A failed check takes one off `health` and drops it to 0 once it is below
//!   `rise` (`set_server_check_status`); 0 marks the server DOWN
//!   (`check_notify_failure`). A passed check adds one and jumps to
//!   `rise + fall - 1` once it reaches `rise`, which marks it UP.
//! - The next check starts `srv_getinter()` after the previous one *ended*
//!   (`t->expire = tick_add(now_ms, srv_getinter(check))` once the result
//!   is in): `inter` at full health, `downinter` at 0 while DOWN, `fastinter`
//!   in between (configuration.txt, 5.2 `inter`).
//! - A check that gets no answer ends after `inter` when `timeout check` is
//!   unset, or after min(`inter`, `timeout connect`) when it is set (the
//!   connect phase; configuration.txt, `timeout check`).

use lab_core::scenario::HealthCheck;

use crate::engine::Time;

const MS: Time = 1_000_000;

/// What a finished check changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    MarkedDown,
    MarkedUp,
}

#[derive(Clone, Debug)]
pub(super) struct Check {
    health: u32,
    /// When the next check starts, or when the one under way ends.
    pub(super) due: Time,
    /// The result of the check under way.
    pending: Option<bool>,
}

impl Check {
    /// The checks of a backend's `n` servers at start-up: `start_checks()`
    /// spreads them over the largest of the process's smallest interval of
    /// at least 1 s and the server's own first interval, server `i` starting
    /// at `interval × i / n` in whole milliseconds (`start_check_task`). With
    /// one backend whose servers share their settings that is the first
    /// interval (`fastinter`: a fresh server is not at full health).
    /// `spread-checks` is 0 by default, so there is no randomness.
    pub(super) fn start_up(hc: &HealthCheck, n: usize) -> Vec<Check> {
        assert!(hc.rise > 0 && hc.fall > 0, "HAProxy refuses rise or fall 0");
        let fresh = Check {
            health: hc.rise,
            due: 0,
            pending: None,
        };
        let first_ms = fresh.interval(hc, true) / MS;
        (0..n)
            .map(|i| Check {
                due: first_ms * i as u64 / n as u64 * MS,
                ..fresh.clone()
            })
            .collect()
    }

    fn full(hc: &HealthCheck) -> u32 {
        hc.rise + hc.fall - 1
    }

    /// `srv_getinter()`.
    fn interval(&self, hc: &HealthCheck, up: bool) -> Time {
        if self.health == Self::full(hc) {
            hc.inter
        } else if !up && self.health == 0 {
            hc.downinter
        } else {
            hc.fastinter
        }
    }

    pub(super) fn in_progress(&self) -> bool {
        self.pending.is_some()
    }

    /// Starts the check at `now`; returns when its result is known.
    pub(super) fn start(&mut self, now: Time, answer: Option<bool>, timeout: Time) -> Time {
        // No answer at all is a failure once the timeout strikes.
        self.pending = Some(answer.unwrap_or(false));
        self.due = if answer.is_some() { now } else { now + timeout };
        self.due
    }

    /// Applies the result of the check under way at `now`, the server being
    /// `up` until then, and plans the next one.
    pub(super) fn finish(&mut self, hc: &HealthCheck, up: bool, now: Time) -> Option<Transition> {
        let passed = self.pending.take().expect("a check under way");
        let full = Self::full(hc);
        let change = if passed {
            if self.health < full {
                self.health += 1;
                if self.health >= hc.rise {
                    self.health = full;
                }
            }
            (!up && self.health >= hc.rise).then_some(Transition::MarkedUp)
        } else {
            if self.health > 0 {
                self.health -= 1;
                if self.health < hc.rise {
                    self.health = 0;
                }
            }
            (up && self.health == 0).then_some(Transition::MarkedDown)
        };
        let up = match change {
            Some(Transition::MarkedDown) => false,
            Some(Transition::MarkedUp) => true,
            None => up,
        };
        self.due = now + self.interval(hc, up);
        change
    }
}
