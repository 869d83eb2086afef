//! The event queue's order, lanes, slots and sweeps.

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
