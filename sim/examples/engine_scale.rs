//! Events per second of the event queue alone as the number of slots grows:
//! N slots, each holding one pending event; every pop re-sets the slot it
//! came from a random delay later, as a host's CPU moves its next
//! completion. With the slots in an indexed heap the cost per event grows
//! like log N; a scan of every slot on each pop would grow like N.
//!
//!     cargo run --release -p lab-sim --example engine_scale [-- N...]
//!
//! The engine is private to lab-sim, so its source is compiled in here.

#[allow(dead_code)]
#[path = "../src/engine.rs"]
mod engine;

use std::time::Instant;

use engine::{Scheduler, Slot};

/// xorshift64*: a cheap, seeded stream, so that the queue's cost dominates.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Pops `events` events from `n` slots that are re-set after each pop;
/// returns events per second and a checksum of the times, so that the
/// work cannot be optimised away.
fn run(n: u32, events: u64) -> (f64, u64) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ u64::from(n));
    let mut s = Scheduler::<u32>::default();
    let slots: Vec<Slot> = (0..n).map(|_| s.add_slot()).collect();
    for (i, slot) in slots.iter().enumerate() {
        s.set_slot(slot, rng.next() % 1_000_000, i as u32);
    }
    let started = Instant::now();
    let mut sum = 0u64;
    for _ in 0..events {
        let (t, i) = s.pop().expect("every slot is always pending");
        sum = sum.wrapping_add(t);
        s.set_slot(&slots[i as usize], t + 1 + rng.next() % 1_000_000, i);
    }
    (events as f64 / started.elapsed().as_secs_f64(), sum)
}

fn main() {
    let sizes: Vec<u32> = match std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(v) if !v.is_empty() => v,
        Ok(_) => vec![1, 2, 3, 4, 6, 8, 12, 16, 32, 1_000, 10_000],
        Err(e) => {
            eprintln!("usage: engine_scale [N...]: {e}");
            std::process::exit(2);
        }
    };
    const ROUNDS: usize = 5;
    const EVENTS: u64 = 4_000_000;
    println!("{:>8} {:>14} {:>14}", "slots", "events/s", "ns/event");
    for n in sizes {
        // The median of a few rounds: this machine's speed drifts.
        let mut rates: Vec<f64> = (0..ROUNDS).map(|_| run(n, EVENTS).0).collect();
        rates.sort_by(f64::total_cmp);
        let rate = rates[ROUNDS / 2];
        println!("{n:>8} {rate:>14.0} {:>14.1}", 1e9 / rate);
    }
}
