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

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_pcg::Pcg64Mcg;

    use super::*;

    #[test]
    fn pops_in_time_then_schedule_order_across_storages() {
        let mut s = Scheduler::<u32>::default();
        let lane = s.add_lane();
        let slot = s.add_slot();
        s.at(10, 1);
        assert!(!s.on_lane(lane, 10, 2));
        s.set_slot(&slot, 5, 3);
        s.at(5, 4);
        s.set_slot(&slot, 10, 5); // moves the slot: event 3 is gone
        assert!(!s.on_lane(lane, 20, 6));
        s.at(1, 7);
        let order: Vec<_> = std::iter::from_fn(|| s.pop()).collect();
        assert_eq!(order, vec![(1, 7), (5, 4), (10, 1), (10, 2), (10, 5), (20, 6)]);
        assert_eq!(s.popped(), 6);
        assert_eq!(s.pending(), 0);
    }

    #[test]
    fn cleared_slots_never_fire() {
        let mut s = Scheduler::<u32>::default();
        let slot = s.add_slot();
        s.set_slot(&slot, 3, 1);
        assert_eq!(s.slot_time(&slot), Some(3));
        s.clear_slot(&slot);
        assert_eq!(s.pop(), None);
    }

    /// The store the slot heap replaced, as the reference: every pending
    /// event in one list, the earliest found by scanning it all.
    #[derive(Default)]
    struct Reference {
        seq: u64,
        /// (time, seq, slot index if a slot's, event)
        pending: Vec<(Time, u64, Option<u32>, u32)>,
    }

    impl Reference {
        fn schedule(&mut self, time: Time, slot: Option<u32>, event: u32) {
            self.seq += 1;
            if let Some(i) = slot {
                self.clear(i);
            }
            self.pending.push((time, self.seq, slot, event));
        }

        fn clear(&mut self, slot: u32) {
            self.pending.retain(|p| p.2 != Some(slot));
        }

        fn slot_time(&self, slot: u32) -> Option<Time> {
            self.pending.iter().find(|p| p.2 == Some(slot)).map(|p| p.0)
        }

        fn pop(&mut self) -> Option<(Time, u32)> {
            let i = (0..self.pending.len()).min_by_key(|&i| (self.pending[i].0, self.pending[i].1))?;
            let p = self.pending.swap_remove(i);
            Some((p.0, p.3))
        }
    }

    /// Random operations on all three stores, slots added and removed
    /// between `low` and `high` of them, against the reference. Times come
    /// from a narrow range so that ties, broken by schedule order, abound.
    fn against_reference(seed: u64, start: usize, low: usize, high: usize, ops: usize) -> Scheduler<u32> {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let mut s = Scheduler::<u32>::default();
        let mut r = Reference::default();
        let lanes = [s.add_lane(), s.add_lane(), s.add_lane()];
        let mut lane_last = [0; 3];
        let mut live: Vec<Slot> = (0..start).map(|_| s.add_slot()).collect();
        let (mut now, mut next_event, mut pops) = (0, 0, 0);
        for op in 0..ops {
            next_event += 1;
            let time = now + rng.random_range(0..30);
            match rng.random_range(0..10) {
                0 => {
                    s.at(time, next_event);
                    r.schedule(time, None, next_event);
                }
                1 => {
                    let k = rng.random_range(0..lanes.len());
                    lane_last[k] = time.max(lane_last[k]);
                    let _ = s.on_lane(lanes[k], lane_last[k], next_event);
                    r.schedule(lane_last[k], None, next_event);
                }
                2 | 3 if !live.is_empty() => {
                    let slot = &live[rng.random_range(0..live.len())];
                    s.set_slot(slot, time, next_event);
                    r.schedule(time, Some(slot.0), next_event);
                }
                4 if !live.is_empty() => {
                    let slot = &live[rng.random_range(0..live.len())];
                    s.clear_slot(slot);
                    r.clear(slot.0);
                }
                5 if live.len() > low => {
                    let slot = live.swap_remove(rng.random_range(0..live.len()));
                    r.clear(slot.0);
                    s.remove_slot(slot);
                }
                6 if live.len() < high => {
                    let slot = s.add_slot();
                    assert_eq!(s.slot_time(&slot), None, "a new slot, or a reused one, starts empty");
                    live.push(slot);
                }
                _ => {
                    let got = s.pop();
                    assert_eq!(got, r.pop(), "pop {pops} (operation {op})");
                    if let Some((t, _)) = got {
                        now = t;
                        pops += 1;
                    }
                }
            }
            if op % 64 == 0 {
                for slot in &live {
                    assert_eq!(s.slot_time(slot), r.slot_time(slot.0), "operation {op}");
                }
            }
        }
        let rest: Vec<_> = std::iter::from_fn(|| s.pop()).collect();
        let expect: Vec<_> = std::iter::from_fn(|| r.pop()).collect();
        assert_eq!(rest, expect);
        assert!(pops > ops / 5, "{pops} pops");
        s
    }

    #[test]
    fn few_slots_are_scanned_in_the_reference_order() {
        let s = against_reference(1, 3, 1, LINEAR_MAX, 200_000);
        assert!(!s.slots.indexed);
    }

    #[test]
    fn many_slots_pop_in_the_reference_order() {
        let s = against_reference(2, 300, 200, 400, 200_000);
        assert!(s.slots.indexed);
    }

    #[test]
    fn slots_turn_into_a_heap_in_the_middle_of_a_run() {
        // From a scan to the heap with events pending; removals leave holes.
        let s = against_reference(3, 2, 0, 3 * LINEAR_MAX, 50_000);
        assert!(s.slots.indexed);
    }

    #[test]
    fn removed_slots_are_reused_without_their_events() {
        for n in [2, 100] {
            let mut s = Scheduler::<u32>::default();
            let mut kept = Vec::new();
            let mut freed = Vec::new();
            let slots: Vec<Slot> = (0..n).map(|_| s.add_slot()).collect();
            for (i, slot) in (0..n).zip(slots) {
                s.set_slot(&slot, 10 + u64::from(i), i);
                if i % 2 == 0 {
                    freed.push(slot.0);
                    s.remove_slot(slot);
                } else {
                    kept.push(slot.0);
                }
            }
            // The freed indexes come back empty; their new owners' events
            // fire, their old owners' do not.
            let again: Vec<Slot> = freed.iter().map(|_| s.add_slot()).collect();
            let mut reused: Vec<u32> = again.iter().map(|slot| slot.0).collect();
            reused.sort_unstable();
            assert_eq!(reused, freed, "{n} slots");
            for slot in &again {
                assert_eq!(s.slot_time(slot), None);
                s.set_slot(slot, 5, 1000 + slot.0);
            }
            assert_eq!(s.add_slot().0, n, "no free index left: a new one");
            let fired: Vec<u32> = std::iter::from_fn(|| s.pop()).map(|(_, e)| e).collect();
            let expect: Vec<u32> = again.iter().map(|slot| 1000 + slot.0).chain(kept).collect();
            assert_eq!(fired, expect, "{n} slots");
        }
    }

    /// Heap levels walked per event when each of `n` slots is moved to a
    /// random later time after it fires, as a host's next completion is.
    fn levels_per_event(n: u32) -> f64 {
        let mut rng = Pcg64Mcg::seed_from_u64(u64::from(n));
        let mut s = Scheduler::<u32>::default();
        let slots: Vec<Slot> = (0..n).map(|_| s.add_slot()).collect();
        for (i, slot) in slots.iter().enumerate() {
            s.set_slot(slot, rng.random_range(0..1_000_000), i as u32);
        }
        assert!(s.slots.indexed, "{n} slots are not scanned");
        s.slots.steps = 0;
        let events = 200_000;
        for _ in 0..events {
            let (t, i) = s.pop().expect("every slot is pending");
            s.set_slot(&slots[i as usize], t + 1 + rng.random_range(0..1_000_000), i);
        }
        s.slots.steps as f64 / f64::from(events)
    }

    #[test]
    fn moving_a_slot_costs_log_n_not_n() {
        let [a, b, c] = [100, 1_000, 10_000].map(levels_per_event);
        println!("heap levels per event: {a:.2} at 100 slots, {b:.2} at 1,000, {c:.2} at 10,000");
        // A pop sinks the last key from the root, about log4(n) levels; a
        // re-set rises a level or two. A scan would cost n.
        for (levels, n) in [(a, 100f64), (b, 1e3), (c, 1e4)] {
            assert!(levels < n.log(4.0) + 3.0, "{levels} levels at {n} slots");
        }
        // Ten times the slots, log4(10) ≈ 1.7 levels more.
        assert!(b - a < 2.5 && c - b < 2.5, "{a} {b} {c}");
    }

    #[test]
    fn host_ids_do_not_grow_the_shops_events() {
        // The shop's `Ev` is private to it; its size as queued is not.
        let queued = crate::shop::TIMER_BYTES;
        let ev = queued - size_of::<(Time, u64)>();
        println!("size_of::<Ev>() = {ev} bytes; queued with its time and sequence, {queued}");
        assert_eq!(ev, 24, "Ev::CpuDone(u32) fits beside Key, the largest payload");
    }

    #[test]
    fn times_saturate_instead_of_wrapping() {
        assert_eq!(after(5, 7), 12);
        assert_eq!(after(u64::MAX - 1, 7), u64::MAX);
        assert_eq!(after(3, u64::MAX), u64::MAX);
    }

    #[test]
    fn compaction_keeps_lanes_to_their_live_timers() {
        // A timer per arrival, each request over long before its timer:
        // without compaction the lane holds every timer ever set.
        let mut s = Scheduler::<u64>::default();
        let lane = s.add_lane();
        let mut peak = 0;
        let mut compactions = 0;
        for i in 0..1_000_000u64 {
            if s.on_lane(lane, i + 60_000_000, i) {
                // Only the last ten requests are still in the system.
                s.compact_lane(lane, |_, &e| e + 10 > i);
                compactions += 1;
            }
            peak = peak.max(s.lane_len(lane));
        }
        assert!(peak <= 2 * 10 + COMPACT_FLOOR, "peak {peak}");
        assert!(compactions < 1_000_000 / (COMPACT_FLOOR - 20) + 1, "{compactions}");
        // What is left fires in order, and is what was live.
        let left: Vec<_> = std::iter::from_fn(|| s.pop()).map(|(_, e)| e).collect();
        assert!(left.len() < COMPACT_FLOOR + 20);
        assert!(left.windows(2).all(|w| w[0] < w[1]));
        assert!(left.contains(&999_999));
    }

    #[test]
    fn compaction_keeps_live_entries_in_order_and_grows_geometrically() {
        // Every timer live: the lane is swept at doubling sizes, O(1) a push.
        let mut s = Scheduler::<u64>::default();
        let lane = s.add_lane();
        let other = s.add_lane();
        let mut swept = 0;
        let n = 200_000u64;
        for i in 0..n {
            if s.on_lane(lane, i, i) {
                swept += s.lane_len(lane);
                s.compact_lane(lane, |_, _| true);
            }
            let _ = s.on_lane(other, i, n + i);
        }
        assert!(swept < 3 * n as usize, "{swept}");
        let order: Vec<_> = std::iter::from_fn(|| s.pop()).map(|(_, e)| e).collect();
        let expect: Vec<_> = (0..n).flat_map(|i| [i, n + i]).collect();
        assert_eq!(order, expect);
    }
}
