//! One processor-sharing pool: a virtual clock and its jobs' finishing marks.
//! A [`super::Cpu`] has two, the jobs in their wake-up credit and the rest.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::{JobTag, REBASE_AT, REBASE_GRAIN};
use crate::engine::{Time, after};
use crate::sample::ceil_ns;

/// A job in the sharing pool.
#[derive(Clone, Copy)]
pub(super) struct Job {
    /// The finishing mark as the bits of a non-negative f64, whose order
    /// is the order of the numbers: comparing them is an integer compare.
    pub finish: u64,
    pub tag: JobTag,
}

impl Job {
    #[inline]
    pub fn mark(&self) -> f64 {
        f64::from_bits(self.finish)
    }

    /// (mark, job) as one integer, which compares in two instructions.
    #[inline]
    fn key(&self) -> u128 {
        Self::key_of(self.finish, self.tag.job)
    }

    /// The key of a job with mark bits `finish` and number `job`.
    #[inline(always)]
    pub fn key_of(finish: u64, job: u64) -> u128 {
        (u128::from(finish) << 64) | u128::from(job)
    }
}

/// A job in its wake-up credit: `job.finish` marks where the credit ends
/// (or the job, if it needs less), `rest` the service it needs after that.
#[derive(Clone, Copy)]
pub(super) struct Fresh {
    pub job: Job,
    pub rest: f64,
}

/// What the marks hold: a job, with or without more.
pub(super) trait Entry: Copy {
    fn job(&self) -> &Job;
    fn job_mut(&mut self) -> &mut Job;
}

impl Entry for Job {
    #[inline]
    fn job(&self) -> &Job {
        self
    }
    #[inline]
    fn job_mut(&mut self) -> &mut Job {
        self
    }
}

impl Entry for Fresh {
    #[inline]
    fn job(&self) -> &Job {
        &self.job
    }
    #[inline]
    fn job_mut(&mut self) -> &mut Job {
        &mut self.job
    }
}

/// Orders entries for [`BinaryHeap`], a max-heap: the earliest mark is the
/// greatest. Ties by job number keep runs deterministic.
#[derive(Clone, Copy)]
pub(super) struct ByMark<E>(pub E);

impl<E: Entry> PartialEq for ByMark<E> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<E: Entry> Eq for ByMark<E> {}
impl<E: Entry> PartialOrd for ByMark<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E: Entry> Ord for ByMark<E> {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.job().key().cmp(&self.0.job().key())
    }
}

/// The runnable jobs ordered by finishing mark. A host usually runs a few
/// jobs, for which a sorted vector (earliest last) beats a heap: popping is
/// one load. Past [`Marks::SMALL`] jobs it switches to a binary heap until
/// it drains.
pub(super) struct Marks<E> {
    pub sorted: Vec<E>,
    pub heap: BinaryHeap<ByMark<E>>,
}

impl<E> Default for Marks<E> {
    fn default() -> Self {
        Marks {
            sorted: Vec::new(),
            heap: BinaryHeap::new(),
        }
    }
}

impl<E: Entry> Marks<E> {
    const SMALL: usize = 32;

    #[inline(always)]
    pub fn push(&mut self, entry: E) {
        self.push_made(entry.job().key(), || entry);
    }

    /// Pushes the entry `make` builds, whose key is `key`: it is built
    /// where it goes, from the values in registers (built first and moved,
    /// it went through the stack, written in narrow stores and read back
    /// in a wide one, which waited for them).
    #[inline(always)]
    pub fn push_made(&mut self, key: u128, make: impl Fn() -> E) {
        if !(self.heap.is_empty() && self.sorted.len() < Self::SMALL) {
            return self.push_to_heap(make());
        }
        // Descending by (mark, job): the job goes after every job that
        // finishes later. Counting those, rather than searching for the
        // first that does not, leaves no data-dependent branch to
        // mispredict (marks arrive in random order).
        let len = self.sorted.len();
        let at: usize = self.sorted.iter().map(|j| usize::from(j.job().key() > key)).sum();
        // Shift by hand: `Vec::insert` calls memmove even to move nothing,
        // and the usual move here is zero to three jobs. The new entry is
        // written once, where it goes: written twice, it was put together
        // on the stack and copied from there in wider moves than it was
        // written with, which waited for those stores.
        if at == len {
            self.sorted.push(make());
            return;
        }
        let last = self.sorted[len - 1];
        self.sorted.push(last);
        for i in (at + 1..len).rev() {
            self.sorted[i] = self.sorted[i - 1];
        }
        self.sorted[at] = make();
    }

    /// Past [`Marks::SMALL`] jobs, and until they drain: out of line, so
    /// that the usual push is a few instructions where it is made.
    #[cold]
    #[inline(never)]
    fn push_to_heap(&mut self, entry: E) {
        self.heap.extend(self.sorted.drain(..).map(ByMark));
        self.heap.push(ByMark(entry));
    }

    #[inline]
    pub fn peek(&self) -> Option<&E> {
        if self.heap.is_empty() {
            self.sorted.last()
        } else {
            self.heap.peek().map(|e| &e.0)
        }
    }

    #[inline]
    pub fn pop(&mut self) -> Option<E> {
        if self.heap.is_empty() {
            self.sorted.pop()
        } else {
            self.heap.pop().map(|e| e.0)
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty() && self.sorted.is_empty()
    }

    pub fn len(&self) -> usize {
        self.heap.len() + self.sorted.len()
    }

    /// Keeps the entries for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&E) -> bool) {
        self.sorted.retain(|e| keep(e));
        self.heap.retain(|e| keep(&e.0));
    }

    /// Subtracts `base` (at most the earliest mark) from every mark. The
    /// order is kept: subtraction is monotonic, and exact for the bases
    /// [`Pool::rebase`] picks, so no two marks become equal.
    fn shift(&mut self, base: f64) {
        self.remap(|m| (f64::from_bits(m) - base).to_bits());
    }

    /// Replaces every mark's bits `m` by `f(m)`, which must keep their
    /// order (and keep distinct marks distinct).
    pub fn remap(&mut self, f: impl Fn(u64) -> u64) {
        let remap = |e: &mut E| {
            let j = e.job_mut();
            j.finish = f(j.finish);
        };
        self.sorted.iter_mut().for_each(remap);
        let mut heap = std::mem::take(&mut self.heap).into_vec();
        heap.iter_mut().for_each(|e| remap(&mut e.0));
        self.heap = BinaryHeap::from(heap);
    }
}

/// Jobs sharing cores at one rate, on one virtual clock.
pub(super) struct Pool<E> {
    /// Live jobs (cancelled ones are not counted, though their entries in
    /// the sharing pool linger until they surface).
    pub n: u32,
    /// Service per nanosecond each job receives, and its inverse (infinite
    /// when the pool gets no core); both change only when a pool's `n` does.
    pub rate: f64,
    pub inv_rate: f64,
    /// Service each of the pool's jobs has received since an arbitrary origin.
    pub vclock: f64,
    pub marks: Marks<E>,
}

impl<E: Entry> Pool<E> {
    pub fn new(speed: f64) -> Self {
        Pool {
            n: 0,
            rate: speed,
            inv_rate: 1.0 / speed,
            vclock: 0.0,
            marks: Marks::default(),
        }
    }

    /// Moves the clock on by `dt` nanoseconds at the current rate.
    #[inline]
    pub fn advance(&mut self, dt: f64) {
        if self.n > 0 {
            self.vclock += dt * self.rate;
        }
    }

    /// When the earliest live job's mark is reached, `dt` after the clock
    /// was last advanced, if the pool has live jobs and a core.
    #[inline]
    pub fn next(&self, now: Time, dt: f64) -> Option<Time> {
        if self.n == 0 || self.rate == 0.0 {
            return None;
        }
        let top = self.marks.peek()?;
        // Asked just after the clock moved (the usual case), the clock is
        // now: without the multiply and add, the answer comes sooner.
        let vnow = if dt == 0.0 {
            self.vclock
        } else {
            self.vclock + dt * self.rate
        };
        let left = (top.job().mark() - vnow).max(0.0);
        Some(after(now, ceil_ns(left * self.inv_rate)))
    }

    /// Adds a job needing `service` more, and returns its mark's bits.
    #[inline]
    pub fn mark_after(&mut self, service: f64) -> u64 {
        // Where a new mark is made, the clock must be small enough to hold
        // the demand's nanoseconds.
        if self.vclock >= REBASE_AT {
            self.rebase();
        }
        let finish = self.vclock + service;
        debug_assert!(finish >= 0.0);
        finish.to_bits()
    }

    /// An empty pool's clock restarts: nothing refers to it.
    #[inline]
    pub fn settle(&mut self) {
        if self.n == 0 && self.marks.is_empty() {
            self.vclock = 0.0;
        }
    }

    /// Moves the clock and every mark back by the same exact amount.
    #[cold]
    fn rebase(&mut self) {
        // Never past the earliest mark, so that no mark goes negative (an
        // overdue one surfaces at the next completion and lets the next
        // rebase go further).
        let floor = self
            .marks
            .peek()
            .map_or(self.vclock, |j| j.job().mark().min(self.vclock));
        let base = (floor as u64 / REBASE_GRAIN * REBASE_GRAIN) as f64;
        if base < REBASE_AT / 2.0 {
            return;
        }
        self.vclock -= base;
        self.marks.shift(base);
    }
}
