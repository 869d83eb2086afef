//! The event queue: integer-nanosecond virtual time, ties broken by the order
//! in which events were scheduled, so a run is a pure function of its seed.
//!
//! Three kinds of storage share one ordering by `(time, sequence)`:
//!
//! - a binary heap for one-off events at arbitrary times;
//! - *lanes*, FIFO queues for timers whose delay is the same for every entry
//!   (client timeouts, nginx's read timeout, lock-wait timeouts, fork time):
//!   entries arrive in time order, so pushing and popping is O(1);
//! - *slots*, one pending event each, that a component moves whenever its
//!   next event moves (a processor-sharing CPU's next completion): moving a
//!   slot replaces the entry instead of leaving a stale one in the heap.
//!
//! `pop` compares the heap's top, each lane's front (lanes are one per kind
//! of timer, a handful, so scanning them is cheap) and the earliest slot.
//! Slots are one per component, and a topology may have thousands of hosts:
//! past a few slots their keys live in an indexed 4-ary min-heap that knows
//! where each slot sits, so that setting, moving, clearing and popping a
//! slot cost O(log n) instead of a scan of every slot per event. Slots may
//! be added and removed while a run goes on (pods scaled out and in); see
//! [`Slot`] for what removal guarantees.
//!
//! Events are plain `Copy` values; nothing is boxed or allocated per event
//! once the queues have grown to their working size.
//!
//! A lane's entries outlive their purpose when a request ends before its
//! timer: at a million arrivals a second and a minute's timeout, that would
//! be sixty million stale entries. A lane therefore reports when it has
//! grown past twice its size after the last compaction (plus a floor), and
//! its owner drops the stale entries ([`Scheduler::compact_lane`]): memory
//! follows the live timers, at an amortised O(1) per push.
//!
//! Times saturate ([`after`]): an event due beyond `u64::MAX` ns is due at
//! `u64::MAX`, past any run's end, so it never fires instead of wrapping
//! round to the past.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// Virtual time in nanoseconds since the start of the run.
pub type Time = u64;

/// `delay` after `now`; `u64::MAX` (never, as the run ends first) when the
/// sum would overflow.
#[inline(always)]
pub fn after(now: Time, delay: u64) -> Time {
    now.saturating_add(delay)
}

/// A lane is compacted when it holds this many entries more than twice
/// what survived its last compaction: small lanes are never swept, large
/// ones are swept after as many pushes as they hold, so each push pays O(1).
const COMPACT_FLOOR: usize = 4096;

struct LaneQueue<E> {
    entries: VecDeque<Entry<E>>,
    /// The length at which the owner is asked to compact.
    compact_at: usize,
}

struct Entry<E> {
    time: Time,
    seq: u64,
    event: E,
}

impl<E> Entry<E> {
    #[inline]
    fn key(&self) -> (Time, u64) {
        (self.time, self.seq)
    }
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    // Reversed: BinaryHeap is a max-heap and the earliest event must come first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

/// Bytes of one queued event, for the memory estimate.
pub(crate) const fn entry_bytes<E>() -> usize {
    size_of::<Entry<E>>()
}

/// Index of a lane created by [`Scheduler::add_lane`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lane(u16);

/// A slot created by [`Scheduler::add_slot`]: the owner's handle on one
/// movable pending event.
///
/// Neither `Copy` nor `Clone`, so that whoever holds it owns the slot:
/// [`Scheduler::remove_slot`] takes the handle, drops the pending event and
/// frees the index for the next `add_slot`, and no copy is left behind to
/// move the next owner's event (a generation checked on every move did the
/// same at run time, for 0.8 % more instructions on M/M/4). Events the old
/// owner put in the heap or on a lane are the caller's to recognise, as
/// with any other stale event. A handle dropped without `remove_slot`
/// leaks its index, and its pending event still fires.
#[derive(Debug, PartialEq, Eq)]
pub struct Slot(u32);

/// Where the earliest pending event is.
#[derive(Clone, Copy)]
enum Source {
    Heap,
    Lane(usize),
    /// A slot found by scanning them all.
    Slot(usize),
    /// The slot at the top of the slot heap.
    SlotHeap,
}

/// `Slots::pos` of a slot whose key is not in the heap.
const NOT_QUEUED: u32 = u32::MAX;

/// Children per node of the slot heap: half the depth of a binary heap,
/// and a node's children (4 × 24 bytes) share one or two cache lines.
/// Measured against 2 with `examples/engine_scale.rs`: as fast from 100
/// to 1,000 slots, 5–10 % faster at 16 and at 100,000.
const ARITY: usize = 4;

/// Up to this many slot indexes, `pop` scans the slots instead of keeping
/// them in a heap: a stone or bronze shop has two or three. Measured with
/// `examples/engine_scale.rs`, where every event is a slot's, the scan is
/// cheaper up to about 12 slots (2 slots: 15 ns an event against 25 ns with
/// the heap; M/M/4 ran 15 % more instructions with the heap alone); a scan
/// is paid on every pop, a slot's or not, so the switch comes earlier.
const LINEAR_MAX: usize = 8;

/// A slot's key in the heap; the event stays in `entries`, so that sifting
/// moves 24 bytes whatever the event's size.
#[derive(Clone, Copy)]
struct Queued {
    time: Time,
    seq: u64,
    slot: u32,
}

impl Queued {
    #[inline(always)]
    fn key(&self) -> (Time, u64) {
        (self.time, self.seq)
    }
}

/// The slots' pending events, by index. Past `LINEAR_MAX` indexes their keys
/// are also kept in an indexed min-heap on `(time, seq)`. Keys are unique
/// (every schedule takes a new sequence number), so the scan and the heap
/// pop the same slot: the order of a run does not depend on the store.
struct Slots<E> {
    entries: Vec<Option<Entry<E>>>,
    /// Where each slot's key is in `heap`, once slots are indexed.
    pos: Vec<u32>,
    /// Whether `heap` holds every pending slot's key; once set it stays set.
    indexed: bool,
    heap: Vec<Queued>,
    /// Indexes of removed slots, for `add` to reuse.
    free: Vec<u32>,
    /// Heap levels walked by sifts, for the complexity test.
    #[cfg(test)]
    steps: u64,
}

impl<E: Copy> Slots<E> {
    fn new() -> Self {
        Slots {
            entries: Vec::new(),
            pos: Vec::new(),
            indexed: false,
            heap: Vec::new(),
            free: Vec::new(),
            #[cfg(test)]
            steps: 0,
        }
    }

    fn add(&mut self) -> Slot {
        if let Some(index) = self.free.pop() {
            return Slot(index);
        }
        let index = u32::try_from(self.entries.len()).expect("fewer than 2^32 slots");
        self.entries.push(None);
        self.pos.push(NOT_QUEUED);
        if !self.indexed && self.entries.len() > LINEAR_MAX {
            self.index_all();
        }
        Slot(index)
    }

    #[cold]
    fn index_all(&mut self) {
        self.indexed = true;
        for i in 0..self.entries.len() {
            if let Some((time, seq)) = self.entries[i].as_ref().map(Entry::key) {
                self.requeue(i, time, seq);
            }
        }
    }

    fn remove(&mut self, slot: Slot) {
        self.clear(&slot);
        self.free.push(slot.0);
    }

    #[inline(always)]
    fn set(&mut self, slot: &Slot, time: Time, seq: u64, event: E) {
        let i = slot.0 as usize;
        self.entries[i] = Some(Entry { time, seq, event });
        if self.indexed {
            self.requeue(i, time, seq);
        }
    }

    /// Puts slot `i`'s new key in the heap, or moves its old one.
    #[inline(never)]
    fn requeue(&mut self, i: usize, time: Time, seq: u64) {
        let new = Queued {
            time,
            seq,
            slot: i as u32,
        };
        let pos = self.pos[i];
        if pos == NOT_QUEUED {
            self.heap.push(new);
            self.sift_up(self.heap.len() - 1, new);
        } else {
            let pos = pos as usize;
            // `seq` is newer than the old key's, so an equal time moves it later.
            if new.time < self.heap[pos].time {
                self.sift_up(pos, new);
            } else {
                self.sift_down(pos, new);
            }
        }
    }

    #[inline]
    fn clear(&mut self, slot: &Slot) {
        let i = slot.0 as usize;
        self.entries[i] = None;
        let pos = self.pos[i];
        if pos != NOT_QUEUED {
            self.pos[i] = NOT_QUEUED;
            self.unlink(pos as usize);
        }
    }

    #[inline]
    fn time(&self, slot: &Slot) -> Option<Time> {
        self.entries[slot.0 as usize].as_ref().map(|e| e.time)
    }

    /// Makes `best` the earliest slot if one is earlier. Written as the
    /// old all-slot scan was, into the caller's running minimum, so that a
    /// shop's two or three slots cost what they did before the heap.
    #[inline(always)]
    fn earliest(&self, best: &mut Option<((Time, u64), Source)>) {
        if self.indexed {
            if let Some(q) = self.heap.first() {
                if best.is_none_or(|(k, _)| q.key() < k) {
                    *best = Some((q.key(), Source::SlotHeap));
                }
            }
            return;
        }
        for (i, s) in self.entries.iter().enumerate() {
            if let Some(e) = s {
                if best.is_none_or(|(k, _)| e.key() < k) {
                    *best = Some((e.key(), Source::Slot(i)));
                }
            }
        }
    }

    /// Takes the event of the slot at the top of the heap.
    #[inline]
    fn pop_top(&mut self) -> Option<Entry<E>> {
        let i = self.heap[0].slot as usize;
        self.pos[i] = NOT_QUEUED;
        self.unlink(0);
        self.entries[i].take()
    }

    /// Takes the key at `pos` out of the heap, filling the hole with the last.
    #[inline(never)]
    fn unlink(&mut self, pos: usize) {
        let last = self.heap.pop().expect("a queued slot is in the heap");
        if pos < self.heap.len() {
            if last.key() < self.heap[pos].key() {
                self.sift_up(pos, last);
            } else {
                self.sift_down(pos, last);
            }
        }
    }

    /// Puts `node` at `pos` or above, moving larger parents down.
    fn sift_up(&mut self, mut pos: usize, node: Queued) {
        while pos > 0 {
            #[cfg(test)]
            {
                self.steps += 1;
            }
            let parent = (pos - 1) / ARITY;
            let p = self.heap[parent];
            if p.key() < node.key() {
                break;
            }
            self.place(pos, p);
            pos = parent;
        }
        self.place(pos, node);
    }

    /// Puts `node` at `pos` or below, moving smaller children up.
    fn sift_down(&mut self, mut pos: usize, node: Queued) {
        let n = self.heap.len();
        loop {
            let first = ARITY * pos + 1;
            if first >= n {
                break;
            }
            #[cfg(test)]
            {
                self.steps += 1;
            }
            let mut best = first;
            for c in first + 1..(first + ARITY).min(n) {
                if self.heap[c].key() < self.heap[best].key() {
                    best = c;
                }
            }
            let child = self.heap[best];
            if node.key() < child.key() {
                break;
            }
            self.place(pos, child);
            pos = best;
        }
        self.place(pos, node);
    }

    #[inline(always)]
    fn place(&mut self, pos: usize, node: Queued) {
        self.heap[pos] = node;
        self.pos[node.slot as usize] = pos as u32;
    }
}

pub struct Scheduler<E> {
    seq: u64,
    heap: BinaryHeap<Entry<E>>,
    lanes: Vec<LaneQueue<E>>,
    /// Entries over all lanes, so that `pop` can skip them when all are empty.
    in_lanes: usize,
    slots: Slots<E>,
    popped: u64,
}

impl<E: Copy> Default for Scheduler<E> {
    fn default() -> Self {
        Scheduler {
            seq: 0,
            heap: BinaryHeap::new(),
            lanes: Vec::new(),
            in_lanes: 0,
            slots: Slots::new(),
            popped: 0,
        }
    }
}

impl<E: Copy> Scheduler<E> {
    pub fn add_lane(&mut self) -> Lane {
        self.lanes.push(LaneQueue {
            entries: VecDeque::new(),
            compact_at: COMPACT_FLOOR,
        });
        Lane(u16::try_from(self.lanes.len() - 1).expect("fewer than 65,536 lanes"))
    }

    /// A new slot with no pending event, reusing a removed slot's index if
    /// there is one. May be called at any time in a run.
    pub fn add_slot(&mut self) -> Slot {
        self.slots.add()
    }

    /// Drops the slot's pending event, if any, and frees its index for the
    /// next [`Scheduler::add_slot`]; the handle must not be used again.
    #[allow(
        dead_code,
        reason = "for components removed during a run (pods scaled in); stone and bronze remove none"
    )]
    pub fn remove_slot(&mut self, slot: Slot) {
        self.slots.remove(slot);
    }

    #[inline]
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Schedules a one-off event.
    #[inline]
    pub fn at(&mut self, time: Time, event: E) {
        let seq = self.next_seq();
        self.heap.push(Entry { time, seq, event });
    }

    /// Schedules a timer on a lane. Times on one lane must not decrease,
    /// which holds when every entry is "now + the lane's constant delay".
    ///
    /// Returns `true` when the lane has grown enough that its owner should
    /// drop the stale entries with [`Scheduler::compact_lane`].
    #[inline]
    #[must_use = "a lane that is never compacted grows with every timer ever set"]
    pub fn on_lane(&mut self, lane: Lane, time: Time, event: E) -> bool {
        let seq = self.next_seq();
        let q = &mut self.lanes[lane.0 as usize];
        debug_assert!(
            q.entries.back().is_none_or(|b| b.time <= time),
            "lane times must not decrease"
        );
        q.entries.push_back(Entry { time, seq, event });
        self.in_lanes += 1;
        q.entries.len() >= q.compact_at
    }

    /// Drops the lane's entries for which `live(time, event)` is false.
    /// Only entries whose event would do nothing may be dropped: the order
    /// of the others, and so the run, is unchanged.
    #[cold]
    pub fn compact_lane(&mut self, lane: Lane, mut live: impl FnMut(Time, &E) -> bool) {
        let q = &mut self.lanes[lane.0 as usize];
        let before = q.entries.len();
        q.entries.retain(|e| live(e.time, &e.event));
        let kept = q.entries.len();
        self.in_lanes -= before - kept;
        q.compact_at = 2 * kept + COMPACT_FLOOR;
        // Give back memory a burst left behind, keeping room to grow to
        // the next compaction without reallocating.
        if q.entries.capacity() > 2 * q.compact_at {
            q.entries.shrink_to(q.compact_at);
        }
    }

    /// Entries on the lane, stale ones included.
    #[cfg(test)]
    pub fn lane_len(&self, lane: Lane) -> usize {
        self.lanes[lane.0 as usize].entries.len()
    }

    /// Sets (or moves) the slot's pending event.
    #[inline]
    pub fn set_slot(&mut self, slot: &Slot, time: Time, event: E) {
        let seq = self.next_seq();
        self.slots.set(slot, time, seq, event);
    }

    #[inline]
    pub fn clear_slot(&mut self, slot: &Slot) {
        self.slots.clear(slot);
    }

    /// The time of the slot's pending event, if any.
    #[inline]
    pub fn slot_time(&self, slot: &Slot) -> Option<Time> {
        self.slots.time(slot)
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(Time, E)> {
        let mut best: Option<((Time, u64), Source)> = self.heap.peek().map(|e| (e.key(), Source::Heap));
        if self.in_lanes > 0 {
            for (i, q) in self.lanes.iter().enumerate() {
                if let Some(e) = q.entries.front() {
                    if best.is_none_or(|(k, _)| e.key() < k) {
                        best = Some((e.key(), Source::Lane(i)));
                    }
                }
            }
        }
        self.slots.earliest(&mut best);
        let entry = match best?.1 {
            Source::Heap => self.heap.pop(),
            Source::Lane(i) => {
                self.in_lanes -= 1;
                self.lanes[i].entries.pop_front()
            }
            Source::Slot(i) => self.slots.entries[i].take(),
            Source::SlotHeap => self.slots.pop_top(),
        }?;
        self.popped += 1;
        Some((entry.time, entry.event))
    }

    /// Events handed out so far.
    pub fn popped(&self) -> u64 {
        self.popped
    }

    /// Events waiting, stale ones included.
    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.heap.len()
            + self.lanes.iter().map(|q| q.entries.len()).sum::<usize>()
            + self.slots.entries.iter().flatten().count()
    }
}

// A path of its own: `sim/examples/engine_scale.rs` compiles this file
// from outside the crate, where `mod tests;` would not be found.
#[cfg(test)]
#[path = "engine/tests.rs"]
mod tests;
