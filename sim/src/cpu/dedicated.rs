//! A host whose jobs never share a core: the processor-sharing [`Cpu`]'s
//! arithmetic, kept in integers.
//!
//! **When it applies** (decided at build time, in `Shop`'s `Host::all`). On a host
//! whose only CPU users are static FPM pools with `max_children` in all at
//! most its cores, no MySQL, and programs without `fork` steps, every job
//! is a PHP child's, and a child runs one job at a time: it computes, or
//! waits for something that is not this host's CPU (a query, a call's
//! answer, a connection). A static pool never runs more than
//! `max_children` children (a killed or retired child is gone before its
//! replacement forks; a crash replaces the pool and the CPU). So when a job
//! starts, at most `cores - 1` others are live, and the general [`Cpu`]:
//!
//! - takes its fast path in [`Cpu::start`] (a free core, no job in its
//!   wake-up credit): the credit never applies, the fresh pool stays empty
//!   and the rates are never recomputed;
//! - keeps the sharing pool's rate at the host's speed, as no pool ever
//!   holds more jobs than the cores left to it.
//!
//! What remains is one pool's virtual clock and marks at rate `speed`. At
//! speed 1 (a second condition) every number the general `Cpu` computes is
//! an integer below 2^53 while demands stay below [`MAX_DEMAND`]: the clock
//! is moved on by whole nanoseconds, marks are the clock plus a demand,
//! and a rebase subtracts a whole multiple of 2^20 from values under 2^53
//! (the clock is below [`super::REBASE_AT`] when a mark is made, so marks
//! stay under 2^44 + 2^52). Each f64 operation is then exact, `EPSILON`'s
//! half a nanosecond compares as "not after", and `ceil_ns` of a whole
//! number is that number: the same steps in u64 give the same values, so
//! the same completion times and the same events. The first demand at or
//! past `MAX_DEMAND`, or a change of speed (a `slow` fault), turns the host
//! into the general `Cpu` with exactly the state it would have had (every
//! value converts exactly), and it stays general.

use super::pool::{Job, Marks};
use super::{Cpu, JobTag, PURGE_FLOOR, REBASE_AT, REBASE_GRAIN};
use crate::engine::{Time, after};

/// Demands (ns) the integer path takes: with the clock under 2^52, marks
/// stay exact integers in f64.
const MAX_DEMAND: u64 = 1 << 51;

/// One pool's clock and marks in integers, for a host at speed 1 whose
/// live jobs are always fewer than its cores when one starts.
pub struct Dedicated {
    cores: u32,
    /// Live jobs (cancelled ones linger in `marks` until they surface).
    n: u32,
    /// Service each running job has received since an arbitrary origin,
    /// in ns: every running job runs at full speed.
    vclock: u64,
    last: Time,
    /// Finishing marks as integers: their order is the order of the f64
    /// bits the general `Cpu` keeps.
    marks: Marks<Job>,
}

impl Dedicated {
    pub fn new(cores: u32) -> Dedicated {
        Dedicated {
            cores,
            n: 0,
            vclock: 0,
            last: 0,
            marks: Marks::default(),
        }
    }

    /// [`Cpu::advance`] for the one pool, at rate 1.
    #[inline(always)]
    fn advance(&mut self, now: Time) {
        if self.n > 0 {
            self.vclock += now - self.last;
        }
        self.last = now;
    }

    /// [`Cpu::start`]'s fast path; `None` when the demand is too large for
    /// the integer path (nothing has changed then).
    #[inline(always)]
    fn start(&mut self, now: Time, demand: u64, tag: JobTag) -> Option<Time> {
        if demand >= MAX_DEMAND {
            return None;
        }
        debug_assert!(self.n < self.cores, "a dedicated host's job waits for a core");
        self.advance(now);
        if self.vclock >= REBASE_AT as u64 {
            self.rebase();
        }
        let finish = self.vclock + demand;
        self.marks
            .push_made(Job::key_of(finish, tag.job), || Job { finish, tag });
        self.n += 1;
        Some(after(now, demand))
    }

    /// `Pool::rebase`, in integers: the same base, as every value is exact.
    #[cold]
    fn rebase(&mut self) {
        let floor = self.marks.peek().map_or(self.vclock, |j| j.finish.min(self.vclock));
        let base = floor / REBASE_GRAIN * REBASE_GRAIN;
        if (base as f64) < REBASE_AT / 2.0 {
            return;
        }
        self.vclock -= base;
        self.marks.remap(|m| m - base);
    }

    #[inline(always)]
    fn next_completion(&self, now: Time) -> Option<Time> {
        let top = self.marks.peek()?;
        if self.n == 0 {
            // Only cancelled entries remain; surface them now.
            return Some(now);
        }
        let vnow = self.vclock + (now - self.last);
        Some(after(now, top.finish.saturating_sub(vnow)))
    }

    #[inline(always)]
    fn complete(&mut self, now: Time, done: &mut Vec<JobTag>) -> usize {
        self.advance(now);
        let mut popped = 0;
        while let Some(top) = self.marks.peek() {
            if top.finish > self.vclock && self.n > 0 {
                break;
            }
            done.push(top.tag);
            self.marks.pop();
            popped += 1;
        }
        popped
    }

    #[inline(always)]
    fn finished(&mut self) {
        self.n -= 1;
        if self.n == 0 && self.marks.is_empty() {
            self.vclock = 0;
        }
    }

    fn cancel(&mut self, now: Time) -> bool {
        self.advance(now);
        self.n -= 1;
        self.marks.len() > 2 * self.n as usize + PURGE_FLOOR
    }

    /// The general `Cpu` in the state this one stands for.
    fn general(self) -> Cpu {
        let mut cpu = Cpu::new(self.cores, 1.0);
        let mut marks = self.marks;
        marks.remap(|m| (m as f64).to_bits());
        cpu.shared.marks = marks;
        cpu.shared.n = self.n;
        cpu.shared.vclock = self.vclock as f64;
        cpu.last = self.last;
        cpu
    }
}

/// A host's CPU: the integer path where its jobs never share a core, the
/// general processor-sharing `Cpu` elsewhere. Same calls as [`Cpu`].
pub enum HostCpu {
    Dedicated(Dedicated),
    Shared(Cpu),
}

impl HostCpu {
    /// A host of `cores` at `speed`; `dedicated` when the module's
    /// conditions hold for it (its speed is checked here).
    pub fn new(cores: u32, speed: f64, dedicated: bool) -> HostCpu {
        if dedicated && speed == 1.0 {
            HostCpu::Dedicated(Dedicated::new(cores))
        } else {
            HostCpu::Shared(Cpu::new(cores, speed))
        }
    }

    /// Leaves the integer path for good.
    #[cold]
    #[inline(never)]
    fn make_general(&mut self) -> &mut Cpu {
        if let HostCpu::Dedicated(d) = self {
            let d = std::mem::replace(d, Dedicated::new(0));
            *self = HostCpu::Shared(d.general());
        }
        match self {
            HostCpu::Shared(c) => c,
            HostCpu::Dedicated(_) => unreachable!("just made general"),
        }
    }

    /// See [`Cpu::start`].
    #[inline(always)]
    pub fn start(&mut self, now: Time, demand: u64, tag: JobTag, woke: bool) -> Option<Time> {
        if let HostCpu::Dedicated(d) = self {
            if let Some(t) = d.start(now, demand, tag) {
                return Some(t);
            }
        }
        self.make_general().start(now, demand, tag, woke)
    }

    /// See [`Cpu::set_speed`].
    pub fn set_speed(&mut self, now: Time, speed: f64) {
        self.make_general().set_speed(now, speed);
    }

    /// See [`Cpu::cancel`].
    #[must_use = "cancelled jobs pile up unless purged"]
    pub fn cancel(&mut self, now: Time, tag: JobTag) -> bool {
        match self {
            HostCpu::Dedicated(d) => d.cancel(now),
            HostCpu::Shared(c) => c.cancel(now, tag),
        }
    }

    /// See [`Cpu::purge`].
    #[cold]
    pub fn purge(&mut self, mut live: impl FnMut(JobTag) -> bool) {
        match self {
            HostCpu::Dedicated(d) => d.marks.retain(|j| live(j.tag)),
            HostCpu::Shared(c) => c.purge(live),
        }
    }

    /// See [`Cpu::next_completion`].
    #[inline(always)]
    pub fn next_completion(&self, now: Time) -> Option<Time> {
        match self {
            HostCpu::Dedicated(d) => d.next_completion(now),
            HostCpu::Shared(c) => c.next_completion(now),
        }
    }

    /// See [`Cpu::complete`].
    #[inline(always)]
    pub fn complete(&mut self, now: Time, done: &mut Vec<JobTag>) -> usize {
        match self {
            HostCpu::Dedicated(d) => d.complete(now, done),
            HostCpu::Shared(c) => c.complete(now, done),
        }
    }

    /// See [`Cpu::finished`].
    #[inline(always)]
    pub fn finished(&mut self) {
        match self {
            HostCpu::Dedicated(d) => d.finished(),
            HostCpu::Shared(c) => c.finished(),
        }
    }

    /// See [`Cpu::busy_cores`].
    #[inline(always)]
    pub fn busy_cores(&self) -> u64 {
        match self {
            HostCpu::Dedicated(d) => u64::from(d.n),
            HostCpu::Shared(c) => c.busy_cores(),
        }
    }

    /// Whether the integer path is in use, for the tests.
    #[cfg(test)]
    pub fn is_dedicated(&self) -> bool {
        matches!(self, HostCpu::Dedicated(_))
    }
}
