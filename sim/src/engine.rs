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
pub struct Lane(u8);

/// Index of a slot created by [`Scheduler::add_slot`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot(u8);

/// Where the earliest pending event is.
#[derive(Clone, Copy)]
enum Source {
    Heap,
    Lane(usize),
    Slot(usize),
}

pub struct Scheduler<E> {
    seq: u64,
    heap: BinaryHeap<Entry<E>>,
    lanes: Vec<LaneQueue<E>>,
    /// Entries over all lanes, so that `pop` can skip them when all are empty.
    in_lanes: usize,
    slots: Vec<Option<Entry<E>>>,
    popped: u64,
}

impl<E: Copy> Default for Scheduler<E> {
    fn default() -> Self {
        Scheduler {
            seq: 0,
            heap: BinaryHeap::new(),
            lanes: Vec::new(),
            in_lanes: 0,
            slots: Vec::new(),
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
        Lane(u8::try_from(self.lanes.len() - 1).expect("fewer than 256 lanes"))
    }

    pub fn add_slot(&mut self) -> Slot {
        self.slots.push(None);
        Slot(u8::try_from(self.slots.len() - 1).expect("fewer than 256 slots"))
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
        self.slots[slot.0 as usize] = Some(Entry { time, seq, event });
    }

    #[inline]
    pub fn clear_slot(&mut self, slot: Slot) {
        self.slots[slot.0 as usize] = None;
    }

    /// The time of the slot's pending event, if any.
    #[inline]
    pub fn slot_time(&self, slot: Slot) -> Option<Time> {
        self.slots[slot.0 as usize].as_ref().map(|e| e.time)
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
        for (i, s) in self.slots.iter().enumerate() {
            if let Some(e) = s {
                if best.is_none_or(|(k, _)| e.key() < k) {
                    best = Some((e.key(), Source::Slot(i)));
                }
            }
        }
        let entry = match best?.1 {
            Source::Heap => self.heap.pop(),
            Source::Lane(i) => {
                self.in_lanes -= 1;
                self.lanes[i].entries.pop_front()
            }
            Source::Slot(i) => self.slots[i].take(),
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
            + self.slots.iter().flatten().count()
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
