//! A host's cores as a processor-sharing server: `n` runnable jobs on `c`
//! cores each progress at `min(1, c/n)` times the host's speed, so
//! contention stretches every job's service time, as the Linux scheduler
//! does for CPU-bound processes — with one exception, the wake-up credit.
//!
//! **Wake-up credit.** Linux does not share a saturated core evenly with a
//! task that has just woken from sleep: EEVDF (kernel 6.6 on) places the
//! woken task at the run queue's average virtual runtime with a deadline
//! one base slice ahead, which lets it preempt the CPU-bound tasks and run
//! its first slice at once (CFS gave sleepers a vruntime credit to the same
//! effect). Measured on kernel 6.18 (docs/model.md, "Hosts"): beside 2 to 16
//! CPU-bound processes on one core, a burst of up to 1.2 ms after a sleep
//! finishes in its own CPU time, where sharing predicts 3 to 17 times that;
//! longer bursts share after their first slice. So a job that starts after
//! its task slept, on a host with more runnable jobs than cores, first runs
//! in the *fresh* pool for `min(demand, credit)`: fresh jobs share the cores
//! among themselves (each at full speed while they are fewer than the cores)
//! and the other jobs share what cores are left, none if the fresh jobs fill
//! them. Then the job moves to the *sharing* pool for the rest of its
//! demand. The credit is the kernel's default base slice,
//! `0.7 ms × (1 + log2(min(cores, 8)))`, in time at full speed. A job that
//! starts on a host with a free core runs at full speed anyway and gets no
//! credit: that keeps an unsaturated host, and the queueing-theory cases,
//! exactly processor sharing, and costs them no extra event.
//!
//! Implemented with a virtual clock per pool: `vclock` is the service every
//! job of the pool has received since an arbitrary origin. A job needing `d`
//! finishes when `vclock` reaches `vclock_at_start + d`; jobs wait in a
//! min-heap on that mark, and only the earliest of each pool needs an event.
//! A change in a pool's size changes the clocks' speeds, not the marks.
//!
//! Precision: an f64 clock that ran for a year at speed 1,000 would count in
//! steps of 4 µs, swallowing short jobs and small advances. A pool's clock
//! therefore restarts from zero whenever its last job leaves, and when a
//! mark is made past [`REBASE_AT`] the clock and every mark are moved back
//! by the same amount, a multiple of 2^20 chosen so that the subtraction is
//! exact: the order of the marks and their distances to the clock do not
//! change, and new marks keep at least 2^-8 ns of resolution. A sweep is one
//! pass over the jobs per 2^44 ns of service at most.
//!
//! Every completion time is at least 1 ns after an event that finished no
//! job and moved none between pools (the job still has more than `EPSILON`
//! to go, which takes at least 1 ns at any speed), and never before `now`:
//! time moves forward.

mod dedicated;
#[cfg(test)]
mod dedicated_tests;
mod pool;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod wakeup_tests;

use crate::engine::{Time, after};
use crate::sample::ceil_ns;
pub use dedicated::HostCpu;
use pool::{Fresh, Job, Pool};

/// Identifies a job to whoever started it; opaque to the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobTag {
    pub slot: u32,
    pub job: u64,
}

/// Bytes of one job in the marks, for the memory estimate: a job is in one
/// pool at a time, and a fresh one is the larger.
pub(crate) const JOB_BYTES: usize = size_of::<Fresh>();

/// Service (in ns at speed 1) within which a job counts as finished; absorbs
/// the rounding of completion times up to whole nanoseconds.
const EPSILON: f64 = 0.5;

/// The clock is moved back once it reaches 2^44 ns of service (4.9 hours).
const REBASE_AT: f64 = (1u64 << 44) as f64;
/// Rebases move by multiples of 2^20: `mark - base` is then exact for
/// every mark below 2^72, far above any demand plus the clock.
const REBASE_GRAIN: u64 = 1 << 20;
/// Cancelled jobs linger in the marks until they surface; past this many
/// more than the runnable jobs, they are swept out.
const PURGE_FLOOR: usize = 1024;

/// Linux's default base slice on a machine with `cores` CPUs, in ns:
/// `sysctl_sched_base_slice` is 0.7 ms scaled by `1 + ilog2(min(cpus, 8))`
/// (`get_update_sysctl_factor` in kernel/sched/fair.c; 0.75 ms before 6.12).
pub fn linux_base_slice(cores: u32) -> u64 {
    700_000 * u64::from(1 + cores.clamp(1, 8).ilog2())
}

pub struct Cpu {
    cores: f64,
    whole_cores: u32,
    speed: f64,
    inv_speed: f64,
    /// Time (ns at full speed) a woken job runs ahead of the sharing, and
    /// that as service (ns at speed 1); zero turns the credit off.
    slice: f64,
    credit: f64,
    /// Jobs in their wake-up credit; never holds a cancelled job.
    fresh: Pool<Fresh>,
    /// Every other job.
    shared: Pool<Job>,
    /// Fresh jobs [`Cpu::complete`] popped as finished whose
    /// [`Cpu::finished`] has not come yet.
    unaccounted: u32,
    last: Time,
}

impl Cpu {
    /// A host of `cores` cores at `speed`, with Linux's wake-up credit.
    pub fn new(cores: u32, speed: f64) -> Cpu {
        Cpu::with_slice(cores, speed, linux_base_slice(cores))
    }

    /// A host whose woken jobs run `slice` ns (at full speed) ahead of the
    /// sharing; 0 makes it pure processor sharing.
    pub fn with_slice(cores: u32, speed: f64, slice: u64) -> Cpu {
        Cpu {
            cores: f64::from(cores),
            whole_cores: cores,
            speed,
            inv_speed: 1.0 / speed,
            slice: slice as f64,
            credit: slice as f64 * speed,
            fresh: Pool::new(speed),
            shared: Pool::new(speed),
            unaccounted: 0,
            last: 0,
        }
    }

    /// Sets both pools' rates after their sizes changed; call after
    /// [`Cpu::advance`]. Fresh jobs share all the cores, the others what
    /// the fresh ones leave.
    #[inline]
    fn set_rates(&mut self) {
        let f = self.fresh.n;
        if f <= self.whole_cores {
            self.fresh.rate = self.speed;
            self.fresh.inv_rate = self.inv_speed;
        } else {
            self.fresh.rate = self.speed * self.cores / f64::from(f);
            self.fresh.inv_rate = 1.0 / self.fresh.rate;
        }
        let free = self.whole_cores.saturating_sub(f);
        let s = self.shared.n;
        if s <= free {
            self.shared.rate = self.speed;
            self.shared.inv_rate = self.inv_speed;
        } else if free == 0 {
            self.shared.rate = 0.0;
            self.shared.inv_rate = f64::INFINITY;
        } else {
            self.shared.rate = self.speed * f64::from(free) / f64::from(s);
            self.shared.inv_rate = 1.0 / self.shared.rate;
        }
    }

    /// Nanoseconds as f64; time spans fit in i64 (a run ends within a
    /// year, and later events never fire), whose conversion is one instruction.
    #[inline]
    fn f(ns: u64) -> f64 {
        debug_assert!(ns < 1 << 63);
        ns as i64 as f64
    }

    #[inline]
    fn advance(&mut self, now: Time) {
        let dt = Self::f(now - self.last);
        self.fresh.advance(dt);
        self.shared.advance(dt);
        self.last = now;
    }

    #[inline]
    fn live(&self) -> u32 {
        self.fresh.n + self.shared.n
    }

    /// Starts a job that needs `demand` ns of CPU at speed 1. `woke` says
    /// its task has just woken from sleep (a PHP worker handed a request or
    /// a query's answer, a MySQL thread handed a query), rather than gone on
    /// computing after a job that just finished: only a woken job gets the
    /// wake-up credit.
    ///
    /// Returns when the CPU next needs an event for this job if the sharing
    /// did not change (a free core took it), so that the caller need only
    /// compare that with its pending completion; `None` when other jobs
    /// slowed down and the next completion must be recomputed
    /// ([`Cpu::next_completion`]).
    #[inline(always)]
    pub fn start(&mut self, now: Time, demand: u64, tag: JobTag, woke: bool) -> Option<Time> {
        // A free core and no job in its credit: the job runs at full speed
        // and slows no other, so the rates stay as they are (the general
        // case below would set them to the same values) and the fresh
        // pool, empty, has no clock to move.
        if self.fresh.n == 0 && self.shared.n < self.whole_cores {
            self.shared.advance(Self::f(now - self.last));
            self.last = now;
            let demand = demand as f64;
            let finish = self.shared.mark_after(demand);
            self.shared
                .marks
                .push_made(Job::key_of(finish, tag.job), || Job { finish, tag });
            self.shared.n += 1;
            let inv_rate = self.shared.inv_rate;
            return inv_rate.is_finite().then(|| after(now, ceil_ns(demand * inv_rate)));
        }
        self.start_sharing(now, demand, tag, woke)
    }

    /// [`Cpu::start`] on a host whose cores are all taken, or with jobs in
    /// their credit.
    #[inline(never)]
    fn start_sharing(&mut self, now: Time, demand: u64, tag: JobTag, woke: bool) -> Option<Time> {
        self.advance(now);
        let before = (self.fresh.rate, self.shared.rate);
        // Demands may be anything up to u64::MAX (a saturated draw), past
        // the range of the cheap conversion `f`.
        let demand = demand as f64;
        // Only a saturated host makes a woken job wait for a share.
        let (first, inv_rate) = if woke && self.credit > 0.0 && self.live() >= self.whole_cores {
            let first = demand.min(self.credit);
            let finish = self.fresh.mark_after(first);
            self.fresh.marks.push(Fresh {
                job: Job { finish, tag },
                rest: demand - first,
            });
            self.fresh.n += 1;
            self.set_rates();
            (first, self.fresh.inv_rate)
        } else {
            let finish = self.shared.mark_after(demand);
            self.shared
                .marks
                .push_made(Job::key_of(finish, tag.job), || Job { finish, tag });
            self.shared.n += 1;
            self.set_rates();
            (demand, self.shared.inv_rate)
        };
        let same = before == (self.fresh.rate, self.shared.rate) && inv_rate.is_finite();
        same.then(|| after(now, ceil_ns(first * inv_rate)))
    }

    /// The host runs at `speed` from `now` on (a `slow` fault and its end):
    /// work done so far was done at the old speed. Credits from now on are
    /// the slice at the new speed; jobs in theirs keep the service left.
    pub fn set_speed(&mut self, now: Time, speed: f64) {
        self.advance(now);
        self.speed = speed;
        self.inv_speed = 1.0 / speed;
        self.credit = self.slice * speed;
        self.set_rates();
    }

    /// The runnable job `tag` stopped early (its process was killed). The
    /// caller ignores its tag if it surfaces from [`Cpu::complete`].
    ///
    /// Returns `true` when cancelled jobs have piled up (each waits for its
    /// mark, however far): the caller should then [`Cpu::purge`].
    #[must_use = "cancelled jobs pile up unless purged"]
    pub fn cancel(&mut self, now: Time, tag: JobTag) -> bool {
        self.advance(now);
        // A fresh job leaves at once, so that a credit never ends for a
        // job that is gone (fresh jobs are few: the scan is short).
        let before = self.fresh.marks.len();
        self.fresh.marks.retain(|e| e.job.tag != tag);
        if self.fresh.marks.len() < before {
            self.fresh.n -= 1;
        } else {
            self.shared.n -= 1;
        }
        self.set_rates();
        self.fresh.settle();
        self.shared.marks.len() > 2 * self.shared.n as usize + PURGE_FLOOR
    }

    /// Drops the jobs for which `live` is false (cancelled ones).
    #[cold]
    pub fn purge(&mut self, mut live: impl FnMut(JobTag) -> bool) {
        self.shared.marks.retain(|j| live(j.tag));
    }

    /// When the CPU next needs an event at the current sharing, if ever: a
    /// job finishing, or a credit ending.
    #[inline]
    pub fn next_completion(&self, now: Time) -> Option<Time> {
        if self.live() == 0 {
            // Only cancelled entries remain, if any; surface them now.
            return (!self.shared.marks.is_empty()).then_some(now);
        }
        let dt = Self::f(now - self.last);
        match (self.fresh.next(now, dt), self.shared.next(now, dt)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Pops the jobs that have finished by `now` (cancelled ones included:
    /// the caller knows which tags are still live) and pushes their tags to
    /// `done`; moves jobs whose credit has ended to the sharing pool. Returns
    /// how many were popped. The caller calls [`Cpu::finished`] for each
    /// live one before anything else.
    #[inline]
    pub fn complete(&mut self, now: Time, done: &mut Vec<JobTag>) -> usize {
        debug_assert_eq!(self.unaccounted, 0, "finished() not called for every finished job");
        self.advance(now);
        let mut popped = 0;
        let mut moved = false;
        while let Some(top) = self.fresh.marks.peek() {
            if top.job.mark() > self.fresh.vclock + EPSILON {
                break;
            }
            let top = self.fresh.marks.pop().expect("peeked");
            if top.rest > EPSILON {
                let finish = self.shared.mark_after(top.rest);
                self.shared.marks.push(Job {
                    finish,
                    tag: top.job.tag,
                });
                self.fresh.n -= 1;
                self.shared.n += 1;
                moved = true;
            } else {
                done.push(top.job.tag);
                self.unaccounted += 1;
                popped += 1;
            }
        }
        if moved {
            self.set_rates();
            self.fresh.settle();
        }
        while let Some(top) = self.shared.marks.peek() {
            if top.mark() > self.shared.vclock + EPSILON && self.live() > 0 {
                break;
            }
            done.push(top.tag);
            self.shared.marks.pop();
            popped += 1;
        }
        popped
    }

    /// A popped job that was still runnable has finished.
    #[inline]
    pub fn finished(&mut self) {
        // Fresh jobs popped are all live: the first calls account for them.
        if self.unaccounted > 0 {
            self.unaccounted -= 1;
            self.fresh.n -= 1;
            self.fresh.settle();
            self.set_rates();
        } else {
            self.shared.n -= 1;
            self.shared.settle();
            // Every job had a core and has one still: the rates stand.
            if self.fresh.n > 0 || self.shared.n >= self.whole_cores {
                self.set_rates();
            }
        }
    }

    /// Cores in use right now.
    #[inline]
    pub fn busy_cores(&self) -> u64 {
        u64::from(self.live().min(self.whole_cores))
    }

    #[cfg(test)]
    pub fn runnable(&self) -> u32 {
        self.live()
    }
}
