//! A host's cores as a processor-sharing server: `n` runnable jobs on `c`
//! cores each progress at `min(1, c/n)` times the host's speed, so
//! contention stretches every job's service time, as the Linux scheduler
//! does for CPU-bound processes.
//!
//! Implemented with a virtual clock: `vclock` is the service every runnable
//! job has received since an arbitrary origin. A job needing `d` finishes
//! when `vclock` reaches `vclock_at_start + d`; jobs wait in a min-heap on
//! that mark, and only the earliest needs an event. A change in `n` changes
//! the clock's speed, not the marks.
//!
//! Precision: an f64 clock that ran for a year at speed 1,000 would count in
//! steps of 4 µs, swallowing short jobs and small advances. The clock
//! therefore restarts from zero whenever the host's last job finishes, and
//! when a job starts past [`REBASE_AT`] the clock and every mark are moved
//! back by the same amount, a multiple of 2^20 chosen so that the
//! subtraction is exact: the order of the marks and their distances to the
//! clock do not change, and new marks keep at least 2^-8 ns of resolution.
//! A sweep is one pass over the jobs per 2^44 ns of service at most.
//!
//! Every completion time is at least 1 ns after an event that finished no
//! job (the job still has more than `EPSILON` to go, which takes at least
//! 1 ns at any speed), and never before `now`: time moves forward.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::engine::{Time, after};
use crate::sample::ceil_ns;

/// Identifies a job to whoever started it; opaque to the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobTag {
    pub slot: u32,
    pub job: u64,
}

#[derive(Clone, Copy)]
struct Job {
    /// The finishing mark as the bits of a non-negative f64, whose order
    /// is the order of the numbers: comparing them is an integer compare.
    finish: u64,
    tag: JobTag,
}

impl PartialEq for Job {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Job {}
impl PartialOrd for Job {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Job {
    // Reversed for a min-heap; ties by job number keep runs deterministic.
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        (other.finish, other.tag.job).cmp(&(self.finish, self.tag.job))
    }
}

impl Job {
    #[inline]
    fn mark(&self) -> f64 {
        f64::from_bits(self.finish)
    }

    /// (mark, job) as one integer, which compares in two instructions.
    #[inline]
    fn key(&self) -> u128 {
        (u128::from(self.finish) << 64) | u128::from(self.tag.job)
    }
}

/// Bytes of one job in the marks, for the memory estimate.
pub(crate) const JOB_BYTES: usize = size_of::<Job>();

/// The runnable jobs ordered by finishing mark. A host usually runs a few
/// jobs, for which a sorted vector (earliest last) beats a heap: popping is
/// one load. Past [`Marks::SMALL`] jobs it switches to a binary heap until
/// it drains.
#[derive(Default)]
struct Marks {
    sorted: Vec<Job>,
    heap: BinaryHeap<Job>,
}

impl Marks {
    const SMALL: usize = 32;

    #[inline]
    fn push(&mut self, job: Job) {
        if self.heap.is_empty() && self.sorted.len() < Self::SMALL {
            // Descending by (mark, job): the job goes after every job that
            // finishes later. Counting those, rather than searching for the
            // first that does not, leaves no data-dependent branch to
            // mispredict (marks arrive in random order).
            let key = job.key();
            let at = self.sorted.iter().map(|j| usize::from(j.key() > key)).sum();
            // Shift by hand: `Vec::insert` calls memmove even to move nothing,
            // and the usual move here is zero to three jobs.
            self.sorted.push(job);
            let tail = &mut self.sorted[at..];
            for i in (1..tail.len()).rev() {
                tail[i] = tail[i - 1];
            }
            tail[0] = job;
        } else {
            self.heap.extend(self.sorted.drain(..));
            self.heap.push(job);
        }
    }

    #[inline]
    fn peek(&self) -> Option<&Job> {
        if self.heap.is_empty() {
            self.sorted.last()
        } else {
            self.heap.peek()
        }
    }

    #[inline]
    fn pop(&mut self) -> Option<Job> {
        if self.heap.is_empty() {
            self.sorted.pop()
        } else {
            self.heap.pop()
        }
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.heap.is_empty() && self.sorted.is_empty()
    }

    fn len(&self) -> usize {
        self.heap.len() + self.sorted.len()
    }

    /// Subtracts `base` (at most the earliest mark) from every mark. The
    /// order is kept: subtraction is monotonic, and exact for the bases
    /// [`Cpu::rebase`] picks, so no two marks become equal.
    fn shift(&mut self, base: f64) {
        let shift = |j: &mut Job| j.finish = (j.mark() - base).to_bits();
        self.sorted.iter_mut().for_each(shift);
        let mut heap = std::mem::take(&mut self.heap).into_vec();
        heap.iter_mut().for_each(shift);
        self.heap = BinaryHeap::from(heap);
    }
}

pub struct Cpu {
    cores: f64,
    speed: f64,
    /// Runnable jobs (cancelled ones are not counted, though their heap
    /// entries linger until they surface).
    runnable: u32,
    /// Service per nanosecond each runnable job receives, and its inverse;
    /// both change only when `runnable` does.
    rate: f64,
    inv_rate: f64,
    inv_speed: f64,
    whole_cores: u32,
    vclock: f64,
    last: Time,
    jobs: Marks,
}

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

impl Cpu {
    pub fn new(cores: u32, speed: f64) -> Cpu {
        Cpu {
            cores: f64::from(cores),
            speed,
            runnable: 0,
            rate: speed,
            inv_rate: 1.0 / speed,
            inv_speed: 1.0 / speed,
            whole_cores: cores,
            vclock: 0.0,
            last: 0,
            jobs: Marks::default(),
        }
    }

    /// Changes the number of runnable jobs; call after [`Cpu::advance`].
    #[inline]
    fn set_runnable(&mut self, n: u32) {
        self.runnable = n;
        if n <= self.whole_cores {
            self.rate = self.speed;
            self.inv_rate = self.inv_speed;
        } else {
            self.rate = self.speed * self.cores / f64::from(n);
            self.inv_rate = 1.0 / self.rate;
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
        if self.runnable > 0 {
            self.vclock += Self::f(now - self.last) * self.rate;
        }
        self.last = now;
    }

    /// Moves the clock and every mark back by the same exact amount.
    #[cold]
    fn rebase(&mut self) {
        // Never past the earliest mark, so that no mark goes negative (an
        // overdue one surfaces at the next completion and lets the next
        // rebase go further).
        let floor = self.jobs.peek().map_or(self.vclock, |j| j.mark().min(self.vclock));
        let base = (floor as u64 / REBASE_GRAIN * REBASE_GRAIN) as f64;
        if base < REBASE_AT / 2.0 {
            return;
        }
        self.vclock -= base;
        self.jobs.shift(base);
    }

    /// Starts a job that needs `demand` ns of CPU at speed 1.
    ///
    /// Returns when the job will finish if the sharing did not change (a
    /// free core took it), so that the caller need only compare that with
    /// its pending completion; `None` when every job slowed down and the
    /// next completion must be recomputed ([`Cpu::next_completion`]).
    #[inline]
    pub fn start(&mut self, now: Time, demand: u64, tag: JobTag) -> Option<Time> {
        self.advance(now);
        // Where a new mark is made, the clock must be small enough to hold
        // the demand's nanoseconds.
        if self.vclock >= REBASE_AT {
            self.rebase();
        }
        let before = self.rate;
        self.set_runnable(self.runnable + 1);
        // Demands may be anything up to u64::MAX (a saturated draw), past
        // the range of the cheap conversion `f`.
        let demand = demand as f64;
        let finish = self.vclock + demand;
        debug_assert!(finish >= 0.0);
        self.jobs.push(Job {
            finish: finish.to_bits(),
            tag,
        });
        (self.rate == before).then(|| after(now, ceil_ns(demand * self.inv_rate)))
    }

    /// The host runs at `speed` from `now` on (a `slow` fault and its end):
    /// work done so far was done at the old speed.
    pub fn set_speed(&mut self, now: Time, speed: f64) {
        self.advance(now);
        self.speed = speed;
        self.inv_speed = 1.0 / speed;
        self.set_runnable(self.runnable);
    }

    /// A runnable job stopped early (its process was killed). The caller
    /// ignores its tag when it surfaces from [`Cpu::complete`].
    ///
    /// Returns `true` when cancelled jobs have piled up (each waits for its
    /// mark, however far): the caller should then [`Cpu::purge`].
    #[must_use = "cancelled jobs pile up unless purged"]
    pub fn cancel(&mut self, now: Time) -> bool {
        self.advance(now);
        self.set_runnable(self.runnable - 1);
        self.jobs.len() > 2 * self.runnable as usize + PURGE_FLOOR
    }

    /// Drops the jobs for which `live` is false (cancelled ones).
    #[cold]
    pub fn purge(&mut self, mut live: impl FnMut(JobTag) -> bool) {
        self.jobs.sorted.retain(|j| live(j.tag));
        self.jobs.heap.retain(|j| live(j.tag));
    }

    /// When the earliest job finishes at the current sharing, if any.
    #[inline]
    pub fn next_completion(&self, now: Time) -> Option<Time> {
        let top = self.jobs.peek()?;
        if self.runnable == 0 {
            // Only cancelled entries remain; surface them now.
            return Some(now);
        }
        let vnow = self.vclock + Self::f(now - self.last) * self.rate;
        let left = (top.mark() - vnow).max(0.0);
        Some(after(now, ceil_ns(left * self.inv_rate)))
    }

    /// Pops the jobs that have finished by `now` (cancelled ones included:
    /// the caller knows which tags are still live) and pushes their tags to
    /// `done`. Returns how many were popped.
    #[inline]
    pub fn complete(&mut self, now: Time, done: &mut Vec<JobTag>) -> usize {
        self.advance(now);
        let mut popped = 0;
        while let Some(top) = self.jobs.peek() {
            if top.mark() > self.vclock + EPSILON && self.runnable > 0 {
                break;
            }
            done.push(top.tag);
            self.jobs.pop();
            popped += 1;
        }
        popped
    }

    /// A popped job that was still runnable has finished.
    #[inline]
    pub fn finished(&mut self) {
        self.set_runnable(self.runnable - 1);
        if self.runnable == 0 && self.jobs.is_empty() {
            // Idle: nothing refers to the clock, so it can start afresh.
            self.vclock = 0.0;
        }
    }

    /// Cores in use right now.
    #[inline]
    pub fn busy_cores(&self) -> u64 {
        u64::from(self.runnable.min(self.whole_cores))
    }

    #[cfg(test)]
    pub fn runnable(&self) -> u32 {
        self.runnable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(job: u64) -> JobTag {
        JobTag { slot: job as u32, job }
    }

    /// Runs the CPU to completion, returning (job, finish time) of live jobs.
    fn drain(cpu: &mut Cpu, now: Time) -> Vec<(u64, Time)> {
        drain_except(cpu, now, &[])
    }

    fn drain_except(cpu: &mut Cpu, mut now: Time, cancelled: &[u64]) -> Vec<(u64, Time)> {
        let mut out = Vec::new();
        let mut done = Vec::new();
        while let Some(t) = cpu.next_completion(now) {
            now = t;
            done.clear();
            cpu.complete(now, &mut done);
            for d in done.iter().filter(|d| !cancelled.contains(&d.job)) {
                cpu.finished();
                out.push((d.job, now));
            }
        }
        out
    }

    #[test]
    fn marks_order_jobs_whether_few_or_many() {
        let mut m = Marks::default();
        let mut x = 7u64;
        let mut expect = Vec::new();
        for job in 0..200u64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let finish = (((x >> 33) % 1000) as f64).to_bits();
            m.push(Job {
                finish,
                tag: JobTag { slot: 0, job },
            });
            expect.push((finish, job));
            // Pop some along the way, as a CPU does.
            if job % 3 == 0 {
                expect.sort_unstable();
                let first = expect.remove(0);
                let j = m.pop().unwrap();
                assert_eq!((j.finish, j.tag.job), first);
            }
        }
        expect.sort_unstable();
        for e in expect {
            let j = m.pop().unwrap();
            assert_eq!((j.finish, j.tag.job), e);
        }
        assert!(m.pop().is_none());
    }

    #[test]
    fn jobs_within_the_cores_run_at_full_speed() {
        let mut cpu = Cpu::new(2, 1.0);
        cpu.start(0, 100, tag(1));
        cpu.start(0, 300, tag(2));
        assert_eq!(drain(&mut cpu, 0), vec![(1, 100), (2, 300)]);
    }

    #[test]
    fn contention_stretches_service() {
        // Three equal jobs on one core share it: each takes three times as long.
        let mut cpu = Cpu::new(1, 1.0);
        for j in 1..=3 {
            cpu.start(0, 1_000, tag(j));
        }
        assert_eq!(cpu.busy_cores(), 1);
        let done = drain(&mut cpu, 0);
        assert_eq!(done.iter().map(|d| d.1).collect::<Vec<_>>(), vec![3_000, 3_000, 3_000]);
    }

    #[test]
    fn a_late_job_shares_only_while_both_run() {
        // Job 1 needs 1000 alone; job 2 (needs 200) arrives at 500 and both
        // run at half speed: job 2 ends at 900, job 1 at 1200.
        let mut cpu = Cpu::new(1, 1.0);
        cpu.start(0, 1_000, tag(1));
        cpu.start(500, 200, tag(2));
        assert_eq!(drain(&mut cpu, 500), vec![(2, 900), (1, 1_200)]);
    }

    #[test]
    fn speed_scales_demand_and_cancel_frees_the_core() {
        let mut cpu = Cpu::new(1, 2.0);
        cpu.start(0, 1_000, tag(1));
        cpu.start(0, 1_000, tag(2));
        assert!(!cpu.cancel(0), "one cancelled job needs no purge"); // job 2's process is killed
        // The live job runs alone at double speed.
        assert_eq!(drain_except(&mut cpu, 0, &[2]), vec![(1, 500)]);
        assert_eq!(cpu.runnable(), 0);
    }

    #[test]
    fn huge_demands_finish_never_instead_of_wrapping_or_at_once() {
        // 100,000 hours at speed 1e-3 is past u64::MAX ns: the job never
        // finishes in any run (once `now +` that overflowed, or wrapped
        // into the past).
        let mut cpu = Cpu::new(1, 1e-3);
        let t = cpu.start(5, 360_000_000_000_000_000, tag(1));
        assert_eq!(t, Some(u64::MAX));
        // A saturated draw: once it converted to -1.0 and finished at once.
        let mut cpu = Cpu::new(2, 1.0);
        assert_eq!(cpu.start(0, u64::MAX, tag(1)), Some(u64::MAX));
        cpu.start(0, 10, tag(2));
        assert_eq!(cpu.next_completion(0), Some(10));
        let mut done = Vec::new();
        cpu.complete(10, &mut done);
        assert_eq!(done, vec![tag(2)]);
        cpu.finished();
        // Contention: the next completion is still never.
        cpu.start(10, u64::MAX, tag(3));
        cpu.start(10, u64::MAX, tag(4));
        assert_eq!(cpu.next_completion(10), Some(u64::MAX));
    }

    #[test]
    fn short_jobs_keep_their_length_after_a_year_of_service() {
        // A job that has run for 115 days at speed 1,000 (1e19 ns of
        // service): an f64 clock counts in 2 µs steps there. A 3 µs job
        // started then must take 3 µs of service, 3 ns.
        let mut cpu = Cpu::new(2, 1000.0);
        cpu.start(0, u64::MAX, tag(1));
        let year = 10_000_000_000_000_000;
        assert_eq!(cpu.start(year, 3_000, tag(2)), Some(year + 3));
        assert_eq!(cpu.next_completion(year), Some(year + 3));
        let mut done = Vec::new();
        cpu.complete(year + 2, &mut done);
        assert!(done.is_empty(), "not finished after 2 of its 3 ns");
        cpu.complete(year + 3, &mut done);
        assert_eq!(done, vec![tag(2)]);
        cpu.finished();
        // Under contention too: a 3 ns job beside one that has run for a
        // year, both at half speed.
        let mut cpu = Cpu::new(1, 1.0);
        cpu.start(0, u64::MAX / 4, tag(1));
        let t = 30_000_000_000_000_000;
        cpu.start(t, 3, tag(2));
        assert_eq!(cpu.next_completion(t), Some(t + 6));
    }

    #[test]
    fn an_idle_host_restarts_its_clock() {
        let mut cpu = Cpu::new(1, 1.0);
        cpu.start(0, 1 << 40, tag(1));
        assert_eq!(drain(&mut cpu, 0), vec![(1, 1 << 40)]);
        cpu.start(1 << 51, 1, tag(2));
        assert_eq!(cpu.vclock, 0.0);
        assert_eq!(drain(&mut cpu, 1 << 51), vec![(2, (1 << 51) + 1)]);
    }

    #[test]
    fn cancelled_jobs_are_purged_not_kept_until_their_mark() {
        // Long jobs killed one after another, one runnable at a time: the
        // marks must not keep every cancelled job until it would have ended.
        let mut cpu = Cpu::new(1, 1.0);
        let mut live = 0;
        let mut peak = 0;
        for j in 1..100_000u64 {
            cpu.start(j, 1 << 40, tag(j));
            if j > 1 && cpu.cancel(j) {
                let keep = j;
                cpu.purge(|t| t.job == keep);
            }
            live = j;
            peak = peak.max(cpu.jobs.len());
        }
        assert!(peak <= 2 + PURGE_FLOOR + 1, "{peak}");
        let cancelled: Vec<u64> = (1..live).collect();
        assert_eq!(drain_except(&mut cpu, live, &cancelled).len(), 1);
    }

    #[test]
    fn completions_always_make_progress() {
        // Hostile mixes of speeds, core counts, job counts and demands: a
        // completion event either finishes a job or moves at least 1 ns
        // on, and time never goes backwards.
        let mut x = 12345u64;
        let mut next = || {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            x >> 11
        };
        for speed in [1e-3, 0.37, 1.0, 3.3, 1e3] {
            for cores in [1, 3, 64] {
                let mut cpu = Cpu::new(cores, speed);
                let mut now: Time = 0;
                let mut job = 0;
                let mut done = Vec::new();
                let mut running = 0u32;
                for _ in 0..20_000 {
                    let r = next();
                    if r % 3 != 0 || running == 0 {
                        job += 1;
                        let demand = match r % 7 {
                            0 => 1,
                            1 => u64::MAX,
                            2 => next() % 1_000_000_000_000_000_000,
                            _ => next() % 10_000_000,
                        };
                        cpu.start(now, demand, tag(job));
                        running += 1;
                    }
                    let Some(t) = cpu.next_completion(now) else { continue };
                    assert!(t >= now, "time went backwards");
                    // Past a run's longest end: such events never fire.
                    if t > 1 << 62 {
                        now += next() % 1_000_000;
                        continue;
                    }
                    done.clear();
                    let popped = cpu.complete(t, &mut done);
                    for _ in 0..popped {
                        cpu.finished();
                        running -= 1;
                    }
                    if popped == 0 {
                        assert!(cpu.next_completion(t).unwrap() > t, "an empty completion must move on");
                    }
                    now = t;
                }
            }
        }
    }
}
