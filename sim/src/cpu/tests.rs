use super::pool::{Job, Marks};
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
    let mut m = Marks::<Job>::default();
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
    cpu.start(0, 100, tag(1), false);
    cpu.start(0, 300, tag(2), false);
    assert_eq!(drain(&mut cpu, 0), vec![(1, 100), (2, 300)]);
}

#[test]
fn contention_stretches_service() {
    // Three equal jobs on one core share it: each takes three times as long.
    let mut cpu = Cpu::new(1, 1.0);
    for j in 1..=3 {
        cpu.start(0, 1_000, tag(j), false);
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
    cpu.start(0, 1_000, tag(1), false);
    cpu.start(500, 200, tag(2), false);
    assert_eq!(drain(&mut cpu, 500), vec![(2, 900), (1, 1_200)]);
}

#[test]
fn speed_scales_demand_and_cancel_frees_the_core() {
    let mut cpu = Cpu::new(1, 2.0);
    cpu.start(0, 1_000, tag(1), false);
    cpu.start(0, 1_000, tag(2), false);
    assert!(!cpu.cancel(0, tag(2)), "one cancelled job needs no purge"); // job 2's process is killed
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
    let t = cpu.start(5, 360_000_000_000_000_000, tag(1), false);
    assert_eq!(t, Some(u64::MAX));
    // A saturated draw: once it converted to -1.0 and finished at once.
    let mut cpu = Cpu::new(2, 1.0);
    assert_eq!(cpu.start(0, u64::MAX, tag(1), false), Some(u64::MAX));
    cpu.start(0, 10, tag(2), false);
    assert_eq!(cpu.next_completion(0), Some(10));
    let mut done = Vec::new();
    cpu.complete(10, &mut done);
    assert_eq!(done, vec![tag(2)]);
    cpu.finished();
    // Contention: the next completion is still never.
    cpu.start(10, u64::MAX, tag(3), false);
    cpu.start(10, u64::MAX, tag(4), false);
    assert_eq!(cpu.next_completion(10), Some(u64::MAX));
}

#[test]
fn short_jobs_keep_their_length_after_a_year_of_service() {
    // A job that has run for 115 days at speed 1,000 (1e19 ns of
    // service): an f64 clock counts in 2 µs steps there. A 3 µs job
    // started then must take 3 µs of service, 3 ns.
    let mut cpu = Cpu::new(2, 1000.0);
    cpu.start(0, u64::MAX, tag(1), false);
    let year = 10_000_000_000_000_000;
    assert_eq!(cpu.start(year, 3_000, tag(2), false), Some(year + 3));
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
    cpu.start(0, u64::MAX / 4, tag(1), false);
    let t = 30_000_000_000_000_000;
    cpu.start(t, 3, tag(2), false);
    assert_eq!(cpu.next_completion(t), Some(t + 6));
}

#[test]
fn an_idle_host_restarts_its_clock() {
    let mut cpu = Cpu::new(1, 1.0);
    cpu.start(0, 1 << 40, tag(1), false);
    assert_eq!(drain(&mut cpu, 0), vec![(1, 1 << 40)]);
    cpu.start(1 << 51, 1, tag(2), false);
    assert_eq!(cpu.shared.vclock, 0.0);
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
        cpu.start(j, 1 << 40, tag(j), false);
        if j > 1 && cpu.cancel(j, tag(j - 1)) {
            let keep = j;
            cpu.purge(|t| t.job == keep);
        }
        live = j;
        peak = peak.max(cpu.shared.marks.len());
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
                    // Woken or not: credits end and move jobs between pools.
                    cpu.start(now, demand, tag(job), r & 8 != 0);
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
