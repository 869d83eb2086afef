//! The integer path against the general processor-sharing `Cpu`, driven
//! by the same calls: children that compute one job at a time, never more
//! of them than cores, as on the hosts `Host::all` gives the path to.

use super::*;

/// A small deterministic generator, so that each case is reproducible.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 11
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Something to do to both CPUs at a given step.
#[derive(Clone, Copy, PartialEq)]
enum Twist {
    None,
    /// A `slow` fault: the speed halves.
    Slow,
    /// A demand past what the integer path takes.
    Huge,
}

/// Runs `children` (at most `cores`) on a dedicated `HostCpu` and on the
/// general `Cpu` for `steps` events and asserts that every answer is the
/// same: start's, each next completion, each set of finished jobs.
/// Returns whether the host was still on the integer path at the end.
fn race(cores: u32, children: u32, seed: u64, demand: u64, gap: u64, steps: usize, twist: (usize, Twist)) -> bool {
    assert!(children <= cores);
    let mut rng = Lcg(seed);
    let mut fast = HostCpu::new(cores, 1.0, true);
    assert!(fast.is_dedicated());
    let mut slow = Cpu::new(cores, 1.0);
    // Each child's next start when idle, or its running job.
    let mut wake: Vec<Option<Time>> = (0..children).map(|_| Some(rng.below(gap + 1))).collect();
    let mut running: Vec<Option<u64>> = vec![None; children as usize];
    let mut cancelled: Vec<u64> = Vec::new();
    let mut job = 0u64;
    let mut huge_done = false;
    let mut now: Time = 0;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for step in 0..steps {
        let next_fast = fast.next_completion(now);
        assert_eq!(next_fast, slow.next_completion(now), "next completion at step {step}");
        if step == twist.0 && twist.1 == Twist::Slow {
            fast.set_speed(now, 0.5);
            slow.set_speed(now, 0.5);
            continue;
        }
        let (child, at) = wake
            .iter()
            .enumerate()
            .filter_map(|(c, w)| w.map(|t| (c, t)))
            .min_by_key(|&(_, t)| t)
            .unwrap_or((usize::MAX, Time::MAX));
        if next_fast.is_some_and(|t| t <= at) {
            now = next_fast.expect("some");
            a.clear();
            b.clear();
            let popped = fast.complete(now, &mut a);
            assert_eq!(popped, slow.complete(now, &mut b), "popped at step {step}");
            assert_eq!(a, b, "finished jobs at step {step}");
            for tag in &a {
                if cancelled.contains(&tag.job) {
                    continue;
                }
                fast.finished();
                slow.finished();
                let c = tag.slot as usize;
                running[c] = None;
                wake[c] = Some(now + rng.below(gap + 1));
            }
            continue;
        }
        assert!(child != usize::MAX, "a child is idle when nothing runs");
        now = at;
        // Now and then a running child is killed instead (its job cancelled).
        if rng.below(50) == 0 {
            if let Some(c) = running.iter().position(Option::is_some) {
                let tag = JobTag {
                    slot: c as u32,
                    job: running[c].take().expect("running"),
                };
                cancelled.push(tag.job);
                assert_eq!(fast.cancel(now, tag), slow.cancel(now, tag));
                wake[c] = Some(now + rng.below(gap + 1));
                continue;
            }
        }
        job += 1;
        // The first job started from the twist's step on.
        let d = if step >= twist.0 && twist.1 == Twist::Huge && !huge_done {
            huge_done = true;
            1 << 52
        } else {
            1 + rng.below(demand)
        };
        let tag = JobTag {
            slot: child as u32,
            job,
        };
        assert_eq!(
            fast.start(now, d, tag, true),
            slow.start(now, d, tag, true),
            "start at step {step}"
        );
        assert_eq!(fast.busy_cores(), slow.busy_cores());
        wake[child] = None;
        running[child] = Some(job);
    }
    fast.is_dedicated()
}

#[test]
fn the_integer_path_finishes_jobs_when_processor_sharing_does() {
    for seed in 0..40 {
        let cores = 1 + (seed % 8) as u32;
        let children = 1 + (seed as u32 * 7) % cores;
        // Short jobs with idle spells, and long ones that keep the host
        // busy past a rebase of the clock (2^44 ns of service).
        assert!(race(
            cores,
            children,
            seed,
            20_000_000,
            30_000_000,
            3_000,
            (0, Twist::None)
        ));
        assert!(race(cores, cores, seed, 1 << 41, 1 << 20, 2_000, (0, Twist::None)));
    }
}

#[test]
fn a_slow_fault_or_a_huge_demand_hands_over_to_processor_sharing() {
    for seed in 0..10 {
        assert!(!race(4, 4, seed, 20_000_000, 5_000_000, 2_000, (700, Twist::Slow)));
        assert!(!race(4, 3, seed, 20_000_000, 5_000_000, 2_000, (700, Twist::Huge)));
    }
}

#[test]
fn only_speed_one_takes_the_integer_path() {
    assert!(HostCpu::new(4, 1.0, true).is_dedicated());
    assert!(!HostCpu::new(4, 2.0, true).is_dedicated());
    assert!(!HostCpu::new(4, 1.0, false).is_dedicated());
}
