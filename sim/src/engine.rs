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
//! `pop` compares three candidates: the heap's top, each lane's front (lanes
//! are one per kind of timer, a handful, so scanning them is cheap) and the
//! earliest slot. Slots are one per component, and a topology may have
//! thousands of hosts, so their keys live in an indexed 4-ary min-heap that
//! knows where each slot sits: setting, moving, clearing and popping a slot
//! cost O(log n), not a scan of every slot per event.
//!
//! Slots may be added and removed while a run goes on (a pod scaled in or
//! out); a removed slot's index is reused by the next [`Scheduler::add_slot`],
//! and a handle kept past [`Scheduler::remove_slot`] panics when used (see
//! [`Slot`]) rather than moving the next owner's event.
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

/// A slot created by [`Scheduler::add_slot`].
///
/// Contract: a slot's index is reused only after [`Scheduler::remove_slot`],
/// which drops its pending event, so nothing the old owner set can fire for
/// the next one. The handle also carries the index's generation, bumped by
/// each removal: using a handle after its slot was removed panics (a bug in
/// the caller) instead of silently moving the next owner's event. Events
/// the old owner put in the heap or on a lane are the caller's to recognise,
/// as with any other stale event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    index: u32,
    generation: u32,
}

/// Where the earliest pending event is.
#[derive(Clone, Copy)]
enum Source {
    Heap,
    Lane(usize),
    Slot,
}

/// `SlotState::pos` of a slot with no pending event.
const NOT_QUEUED: u32 = u32::MAX;

/// Children per node of the slot heap: half the depth of a binary heap,
/// and a node's children (4 × 24 bytes) share one or two cache lines.
const ARITY: usize = 4;

struct SlotState<E> {
    /// The pending event, whose key is at `heap[pos]`.
    event: Option<E>,
    time: Time,
    pos: u32,
    generation: u32,
}

/// A slot's key in the heap; the event stays in `SlotState`, so that sifting
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

/// Slots in an indexed min-heap on `(time, seq)`. Keys are unique (every
/// schedule takes a new sequence number), so any correct heap pops them in
/// the one order the old linear scan did: records do not change.
struct Slots<E> {
    states: Vec<SlotState<E>>,
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
            states: Vec::new(),
            heap: Vec::new(),
            free: Vec::new(),
            #[cfg(test)]
            steps: 0,
        }
    }

    fn add(&mut self) -> Slot {
        if let Some(index) = self.free.pop() {
            let generation = self.states[index as usize].generation;
            return Slot { index, generation };
        }
        let index = u32::try_from(self.states.len())
            .ok()
            .filter(|&i| i != NOT_QUEUED)
            .expect("fewer than 2^32 - 1 slots");
        self.states.push(SlotState {
            event: None,
            time: 0,
            pos: NOT_QUEUED,
            generation: 0,
        });
        Slot { index, generation: 0 }
    }

    /// The slot's state, after checking that the handle is not stale.
    #[inline(always)]
    fn state(&self, slot: Slot) -> &SlotState<E> {
        let s = &self.states[slot.index as usize];
        if s.generation != slot.generation {
            stale(slot);
        }
        s
    }

    #[allow(dead_code, reason = "see Scheduler::remove_slot")]
    fn remove(&mut self, slot: Slot) {
        self.clear(slot);
        let s = &mut self.states[slot.index as usize];
        s.generation = s.generation.wrapping_add(1);
        self.free.push(slot.index);
    }

    #[inline]
    fn set(&mut self, slot: Slot, time: Time, seq: u64, event: E) {
        let pos = self.state(slot).pos;
        let new = Queued {
            time,
            seq,
            slot: slot.index,
        };
        let s = &mut self.states[slot.index as usize];
        s.event = Some(event);
        s.time = time;
        if pos == NOT_QUEUED {
            self.heap.push(new);
            self.sift_up(self.heap.len() - 1, new);
        } else {
            let pos = pos as usize;
            // `seq` is newer than the old key's, so an equal time moves it later.
            if time < self.heap[pos].time {
                self.sift_up(pos, new);
            } else {
                self.sift_down(pos, new);
            }
        }
    }

    #[inline]
    fn clear(&mut self, slot: Slot) {
        let pos = self.state(slot).pos;
        if pos != NOT_QUEUED {
            let s = &mut self.states[slot.index as usize];
            s.event = None;
            s.pos = NOT_QUEUED;
            self.unlink(pos as usize);
        }
    }

    #[inline]
    fn time(&self, slot: Slot) -> Option<Time> {
        let s = self.state(slot);
        s.event.map(|_| s.time)
    }

    #[inline(always)]
    fn peek(&self) -> Option<(Time, u64)> {
        self.heap.first().map(Queued::key)
    }

    /// Takes the earliest slot's event; the heap must not be empty.
    #[inline]
    fn pop(&mut self) -> (Time, E) {
        let top = self.heap[0];
        let s = &mut self.states[top.slot as usize];
        s.pos = NOT_QUEUED;
        let event = s.event.take().expect("a queued slot has an event");
        self.unlink(0);
        (top.time, event)
    }

    /// Takes the key at `pos` out of the heap, filling the hole with the last.
    #[inline]
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
    #[inline]
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
    #[inline]
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
        self.states[node.slot as usize].pos = pos as u32;
    }
}

#[cold]
#[inline(never)]
fn stale(slot: Slot) -> ! {
    panic!("slot {slot:?} used after remove_slot")
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
    pub fn set_slot(&mut self, slot: Slot, time: Time, event: E) {
        let seq = self.next_seq();
        self.slots.set(slot, time, seq, event);
    }

    #[inline]
    pub fn clear_slot(&mut self, slot: Slot) {
        self.slots.clear(slot);
    }

    /// The time of the slot's pending event, if any.
    #[inline]
    pub fn slot_time(&self, slot: Slot) -> Option<Time> {
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
        if let Some(k) = self.slots.peek() {
            if best.is_none_or(|(b, _)| k < b) {
                best = Some((k, Source::Slot));
            }
        }
        let entry = match best?.1 {
            Source::Heap => self.heap.pop(),
            Source::Lane(i) => {
                self.in_lanes -= 1;
                self.lanes[i].entries.pop_front()
            }
            Source::Slot => {
                self.popped += 1;
                return Some(self.slots.pop());
            }
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
        self.heap.len() + self.lanes.iter().map(|q| q.entries.len()).sum::<usize>() + self.slots.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_then_schedule_order_across_storages() {
        let mut s = Scheduler::<u32>::default();
        let lane = s.add_lane();
        let slot = s.add_slot();
        s.at(10, 1);
        assert!(!s.on_lane(lane, 10, 2));
        s.set_slot(slot, 5, 3);
        s.at(5, 4);
        s.set_slot(slot, 10, 5); // moves the slot: event 3 is gone
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
        s.set_slot(slot, 3, 1);
        assert_eq!(s.slot_time(slot), Some(3));
        s.clear_slot(slot);
        assert_eq!(s.pop(), None);
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
