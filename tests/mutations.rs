//! Hostile input, fuzz-style, in a way that cannot pass by luck.
//!
//! A seeded loop mutates the shipped scenarios (`scenarios/flash-sale.toml`,
//! the silver ones with their faults, `lb-failover.toml` and
//! `web-node-crash.toml`, `checkout-rush.toml` with its mix per profile
//! point, and `scenarios/theory/*.toml`) with operators
//! aimed at the hostile classes — extreme numbers, durations and rates,
//! deeply nested and overflowing mixtures, broken structure, wrong TOML
//! types, unknown keys, huge strings, bytes that are not UTF-8, hostile
//! names, huge counts, tens of thousands of steps or endpoints, a slow host
//! with a huge CPU step, each silver, machine and `[[faults]]` key set to a
//! value it takes or one past it — and runs the real binary on every mutant:
//!
//! - `lab check FILE`: it must exit normally (no signal: an abort from an
//!   allocation failure or a stack overflow fails the test) with 0 or 1
//!   within 10 s and 1 GiB, explain a rejection on stderr in lines of
//!   reasonable length, name the file (and the key, when the mutant only
//!   set keys), and never show Rust internals;
//! - `lab run FILE --duration D -q --out DIR` on a deterministic,
//!   operator-stratified subset of the accepted mutants: no signal, done
//!   within 60 s and 1 GiB, exit 0 with `index.html` and `summary.json` in
//!   DIR and nothing written anywhere else, or 1/2 with a one-line reason
//!   (2 only for the `--duration` override).
//!
//! Time limits are CPU time (every thread), so that a machine busy with
//! other work does not fail the test; three times as long on the clock
//! kills a child that hangs without using the CPU.
//!
//! The seed and the number of mutants are fixed, so every run of this test
//! tries exactly the same inputs. The test then checks its own coverage —
//! how many mutants were accepted and simulated, how often each operator was
//! applied, accepted and run — so that it cannot pass by trying nothing.
//!
//! A failing mutant is saved under `target/mutation-failures/` with a `.txt`
//! beside it naming its operators, the command and what went wrong.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::ops::Range;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The seed of every mutant: mutant `i` is drawn from `(SEED, i)` alone.
const SEED: u64 = 0x1AB5_EED0_2026_1126;
/// Mutants given to `lab check`.
const MUTANTS: usize = 2_000;
/// Accepted mutants given to `lab run` (a stratified subset when more are
/// accepted); the test fails below `MIN_RUNS`.
const MAX_RUNS: usize = 300;
const MIN_RUNS: usize = 100;
/// How long one `lab check` and one `lab run` may take, in CPU time (all
/// threads): the same on an idle machine as on one where others compile.
/// A child is also killed after `WALL_FACTOR` times as long on the clock,
/// which catches a hang that burns no CPU.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);
const RUN_TIMEOUT: Duration = Duration::from_secs(60);
const WALL_FACTOR: u32 = 3;
/// Longest acceptable stderr line, in characters.
const MAX_LINE_CHARS: usize = 2_000;
/// The most memory one `lab check` or one short `lab run` may hold (peak
/// resident set, sampled while it runs): the short runs here simulate
/// seconds to minutes, and memory that grows with the traffic instead of
/// staying bounded is what turns a longer run into an abort or an OOM kill.
const MAX_RSS_KIB: u64 = 1 << 20;
/// A child past this much is killed at once, to keep the machine usable.
const KILL_RSS_KIB: u64 = 4 << 20;
/// Output kept from a child; more is counted but not stored.
const MAX_CAPTURE: usize = 8 << 20;

#[path = "mutations/child.rs"]
mod child;
#[path = "mutations/corpus.rs"]
mod corpus;
#[path = "mutations/keys.rs"]
mod keys;
#[path = "mutations/lex.rs"]
mod lex;
#[path = "mutations/ops.rs"]
mod ops;

use child::*;
use corpus::*;
use keys::*;
use lex::*;
use ops::*;

// Bookkeeping.

#[derive(Default, Clone)]
struct Counts {
    applied: usize,
    check_ok: usize,
    check_rejected: usize,
    check_failed: usize,
    runs: usize,
    run_ok: usize,
    run_1: usize,
    run_2: usize,
    run_failed: usize,
}

struct Failure {
    index: usize,
    phase: &'static str,
    description: String,
    problems: Vec<String>,
    command: String,
    stderr: String,
    saved: PathBuf,
}

fn failures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/mutation-failures")
}

fn record_failure(
    m: &Mutant,
    bases: &[Base],
    phase: &'static str,
    command: String,
    problems: Vec<String>,
    o: &Outcome,
) -> Failure {
    let dir = failures_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let saved = dir.join(format!("{phase}-{:05}.toml", m.index));
    std::fs::write(&saved, &m.bytes).unwrap();
    let description = m.describe(bases);
    let report = format!(
        "{description}\ncommand: {command}\nexit code: {:?}, signal: {:?}, timed out: {}, {:.2} s ({:.2} s of CPU), peak {} MiB\nproblems:\n  {}\nstderr ({} bytes):\n{}\n",
        o.code,
        o.signal,
        o.timed_out,
        o.elapsed.as_secs_f64(),
        o.cpu.as_secs_f64(),
        o.peak_kib >> 10,
        problems.join("\n  "),
        o.stderr_bytes,
        cut(&o.stderr, 4_000).replace("\\n", "\n"),
    );
    std::fs::write(saved.with_extension("txt"), report).unwrap();
    Failure {
        index: m.index,
        phase,
        description,
        problems,
        command,
        stderr: o.stderr.clone(),
        saved,
    }
}

/// Runs `work(i)` for every `i` in `items` on `threads` threads.
fn parallel<T: Send>(items: &[usize], threads: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= items.len() {
                        break;
                    }
                    let r = work(items[k]);
                    results.lock().unwrap()[k] = Some(r);
                }
            });
        }
    });
    results.into_inner().unwrap().into_iter().map(Option::unwrap).collect()
}

/// The message of a rejection with the file, line and column taken off and
/// numbers blurred: how many different ways mutants were turned down.
fn message_kind(line: &str) -> String {
    let line = line.strip_prefix("error: ").unwrap_or(line);
    let msg = match line.find(".toml:") {
        Some(i) => {
            let rest = &line[i + ".toml:".len()..];
            // line:col: key: message
            rest.splitn(3, ':').nth(2).unwrap_or(rest).trim_start()
        }
        None => line,
    };
    let mut out = String::new();
    let mut last_digit = false;
    for c in msg.chars().take(48) {
        if c.is_ascii_digit() {
            if !last_digit {
                out.push('#');
            }
            last_digit = true;
        } else {
            out.push(c);
            last_digit = false;
        }
    }
    out
}

// ---------------------------------------------------------------------------

#[test]
fn hostile_mutants_of_the_shipped_scenarios() {
    let started = Instant::now();
    let bases = bases();
    let _ = std::fs::remove_dir_all(failures_dir());
    let root = tempfile::Builder::new().prefix("lab-mutations-").tempdir().unwrap();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(4);

    // -- Phase 1: `lab check` on every mutant.
    struct Checked {
        log: String,
        ops: Vec<&'static str>,
        code: Option<i32>,
        elapsed: Duration,
        cpu: Duration,
        peak_kib: u64,
        kinds: Vec<String>,
        stderr_bytes: usize,
        size: usize,
        failure: Option<Failure>,
    }
    let indices: Vec<usize> = (0..MUTANTS).collect();
    let checked = parallel(&indices, threads, |i| {
        let m = mutant(&bases, i);
        let dir = root.path().join(format!("check-{i:05}"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("mutant.toml"), &m.bytes).unwrap();
        let o = lab(&["check".as_ref(), "mutant.toml".as_ref()], &dir, CHECK_TIMEOUT);
        let mut problems = process_problems(&o, CHECK_TIMEOUT);
        if !o.timed_out && o.signal.is_none() {
            match o.code {
                Some(0) => {
                    if !o.stdout.contains("mutant.toml: ok") {
                        problems.push(format!(
                            "exit 0 without \"mutant.toml: ok\" on stdout: {}",
                            cut(&o.stdout, 200)
                        ));
                    }
                }
                Some(1) => {
                    if o.stderr.trim().is_empty() {
                        problems.push("exit 1 with nothing on stderr".into());
                    } else if !o.stderr.contains("mutant.toml") {
                        problems.push("the error does not name the file".into());
                    }
                    // A mutant that only set keys is turned down for one of them.
                    if let Some(keys) = m.keys_set()
                        && !o
                            .stderr
                            .lines()
                            .any(|l| l.contains("mutant.toml:") && keys.iter().any(|k| l.contains(k.as_str())))
                    {
                        problems.push(format!(
                            "turned down without naming the key it set ({})",
                            keys.join(", ")
                        ));
                    }
                }
                c => problems.push(format!("exit code {c:?}, expected 0 or 1")),
            }
        }
        let after = tree(&dir);
        if after != BTreeSet::from(["mutant.toml".to_string()]) {
            problems.push(format!("lab check wrote files: {after:?}"));
        }
        let failure = (!problems.is_empty())
            .then(|| record_failure(&m, &bases, "check", "lab check mutant.toml".into(), problems, &o));
        let _ = std::fs::remove_dir_all(&dir);
        let log = format!(
            "check\t{i}\t{}\t{:?}\t{:.3}\t{:.2}\t{}\t{}\t{}\t{}",
            bases[m.base].name,
            o.code,
            o.elapsed.as_secs_f64(),
            o.cpu.as_secs_f64(),
            o.peak_kib,
            m.bytes.len(),
            m.describe(&bases),
            cut(o.stderr.lines().next().unwrap_or(""), 160)
        );
        Checked {
            log,
            ops: m.ops.clone(),
            code: if failure.is_some() { None } else { o.code },
            elapsed: o.elapsed,
            cpu: o.cpu,
            peak_kib: o.peak_kib,
            kinds: if o.code == Some(1) {
                o.stderr
                    .lines()
                    .filter(|l| l.contains(".toml:"))
                    .map(message_kind)
                    .collect()
            } else {
                Vec::new()
            },
            stderr_bytes: o.stderr_bytes,
            size: m.bytes.len(),
            failure,
        }
    });
    let check_time = started.elapsed();

    let mut counts: BTreeMap<&'static str, Counts> = OPS.iter().map(|o| (o.name, Counts::default())).collect();
    let mut failures: Vec<Failure> = Vec::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let (mut accepted, mut rejected) = (Vec::new(), 0usize);
    let mut slowest_check = (Duration::ZERO, 0usize, Duration::ZERO);
    let mut hungriest_check = (0u64, 0usize);
    let (mut biggest_stderr, mut biggest_file) = ((0usize, 0usize), 0usize);
    let mut ops_per_mutant = [0usize; 4];
    let mut log = String::new();
    for (i, c) in checked.into_iter().enumerate() {
        log.push_str(&c.log);
        log.push('\n');
        ops_per_mutant[c.ops.len().min(3)] += 1;
        let distinct: BTreeSet<_> = c.ops.iter().copied().collect();
        for op in &c.ops {
            counts.get_mut(op).unwrap().applied += 1;
        }
        for op in &distinct {
            let k = counts.get_mut(op).unwrap();
            match (&c.failure, c.code) {
                (Some(_), _) => k.check_failed += 1,
                (None, Some(0)) => k.check_ok += 1,
                _ => k.check_rejected += 1,
            }
        }
        if c.cpu > slowest_check.0 {
            slowest_check = (c.cpu, i, c.elapsed);
        }
        if c.peak_kib > hungriest_check.0 {
            hungriest_check = (c.peak_kib, i);
        }
        if c.stderr_bytes > biggest_stderr.0 {
            biggest_stderr = (c.stderr_bytes, i);
        }
        biggest_file = biggest_file.max(c.size);
        for k in c.kinds {
            *kinds.entry(k).or_default() += 1;
        }
        match (c.failure, c.code) {
            (Some(f), _) => failures.push(f),
            (None, Some(0)) => accepted.push((i, distinct)),
            _ => rejected += 1,
        }
    }

    // -- Phase 2: `lab run` on a stratified subset of the accepted mutants:
    // round robin over the operators, each taking its next accepted mutant
    // not yet chosen, so every operator that yields accepted mutants is run.
    let mut chosen = BTreeSet::new();
    let mut queues: Vec<Vec<usize>> = OPS
        .iter()
        .map(|o| {
            accepted
                .iter()
                .filter(|(_, ops)| ops.contains(o.name))
                .map(|(i, _)| *i)
                .rev()
                .collect()
        })
        .collect();
    while chosen.len() < MAX_RUNS.min(accepted.len()) {
        let mut progressed = false;
        for q in queues.iter_mut() {
            while let Some(i) = q.pop() {
                if chosen.insert(i) {
                    progressed = true;
                    break;
                }
            }
            if chosen.len() >= MAX_RUNS {
                break;
            }
        }
        if !progressed {
            break;
        }
    }
    let chosen: Vec<usize> = chosen.into_iter().collect();
    struct Ran {
        log: String,
        ops: Vec<&'static str>,
        code: Option<i32>,
        elapsed: Duration,
        cpu: Duration,
        peak_kib: u64,
        reason: Option<String>,
        failure: Option<Failure>,
    }
    let run_started = Instant::now();
    let ran = parallel(&chosen, threads, |i| {
        let m = mutant(&bases, i);
        // The parent this run may touch only through the files we make.
        let parent = root.path().join(format!("run-{i:05}"));
        let cwd = parent.join("cwd");
        std::fs::create_dir_all(&cwd).unwrap();
        let file = parent.join("mutant.toml");
        std::fs::write(&file, &m.bytes).unwrap();
        let out = parent.join("out");
        let duration = bases[m.base].run_duration;
        let args: Vec<&std::ffi::OsStr> = vec![
            "run".as_ref(),
            file.as_os_str(),
            "--duration".as_ref(),
            duration.as_ref(),
            "-q".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ];
        let command = format!("lab run mutant.toml --duration {duration} -q --out DIR");
        let o = lab(&args, &cwd, RUN_TIMEOUT);
        let mut problems = process_problems(&o, RUN_TIMEOUT);
        let mut reason = None;
        let expected: BTreeSet<String> = ["mutant.toml", "cwd", "out"].iter().map(|s| s.to_string()).collect();
        let top: BTreeSet<String> = tree(&parent).into_iter().filter(|p| !p.contains('/')).collect();
        if !top.is_subset(&expected) {
            problems.push(format!(
                "lab run wrote outside --out: {:?}",
                top.difference(&expected).collect::<Vec<_>>()
            ));
        }
        let in_cwd = tree(&cwd);
        if !in_cwd.is_empty() {
            problems.push(format!("lab run wrote into its working directory: {in_cwd:?}"));
        }
        if !o.timed_out && o.signal.is_none() {
            match o.code {
                Some(0) => {
                    for f in ["index.html", "summary.json"] {
                        if !std::fs::metadata(out.join(f)).is_ok_and(|m| m.len() > 0) {
                            problems.push(format!("exit 0 but {f} is missing or empty"));
                        }
                    }
                    if let Ok(s) = std::fs::read_to_string(out.join("summary.json"))
                        && serde_json::from_str::<serde_json::Value>(&s).is_err()
                    {
                        problems.push("summary.json is not JSON".into());
                    }
                    if !o.stdout.is_empty() {
                        problems.push(format!("-q printed on stdout: {}", cut(&o.stdout, 200)));
                    }
                }
                Some(code @ (1 | 2)) => {
                    let first = o.stderr.lines().next().unwrap_or("");
                    if !first.starts_with("error: ") || first.len() < 20 {
                        problems.push(format!(
                            "exit {code} without a clear reason on stderr: {}",
                            cut(&o.stderr, 200)
                        ));
                    }
                    if code == 2 && !o.stderr.contains("--duration") {
                        problems.push("exit 2 for a scenario `lab check` accepted, not about --duration".into());
                    }
                    if o.stderr.lines().count() > 1 && code == 2 {
                        problems.push("the --duration refusal takes more than one line".into());
                    }
                    reason = Some(cut(first, 200));
                }
                c => problems.push(format!("exit code {c:?}, expected 0, 1 or 2")),
            }
        }
        let failure = (!problems.is_empty()).then(|| record_failure(&m, &bases, "run", command, problems, &o));
        let _ = std::fs::remove_dir_all(&parent);
        let log = format!(
            "run\t{i}\t{}\t{:?}\t{:.3}\t{:.2}\t{}\t{}\t{}\t{}",
            bases[m.base].name,
            o.code,
            o.elapsed.as_secs_f64(),
            o.cpu.as_secs_f64(),
            o.peak_kib,
            m.bytes.len(),
            m.describe(&bases),
            cut(o.stderr.lines().next().unwrap_or(""), 160)
        );
        Ran {
            log,
            ops: m.ops.clone(),
            code: o.code,
            elapsed: o.elapsed,
            cpu: o.cpu,
            peak_kib: o.peak_kib,
            reason,
            failure,
        }
    });
    let run_time = run_started.elapsed();

    let mut simulated = 0usize;
    let mut slowest_run = (Duration::ZERO, 0usize, Duration::ZERO);
    let mut hungriest_run = (0u64, 0usize);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for (k, r) in ran.into_iter().enumerate() {
        log.push_str(&r.log);
        log.push('\n');
        let distinct: BTreeSet<_> = r.ops.iter().copied().collect();
        for op in &distinct {
            let c = counts.get_mut(op).unwrap();
            c.runs += 1;
            match (&r.failure, r.code) {
                (Some(_), _) => c.run_failed += 1,
                (None, Some(0)) => c.run_ok += 1,
                (None, Some(1)) => c.run_1 += 1,
                _ => c.run_2 += 1,
            }
        }
        if r.code == Some(0) || r.failure.is_some() {
            simulated += 1;
        }
        if r.cpu > slowest_run.0 {
            slowest_run = (r.cpu, chosen[k], r.elapsed);
        }
        if r.peak_kib > hungriest_run.0 {
            hungriest_run = (r.peak_kib, chosen[k]);
        }
        if let Some(reason) = r.reason {
            *reasons.entry(message_kind(&reason)).or_default() += 1;
        }
        if let Some(f) = r.failure {
            failures.push(f);
        }
    }

    // LAB_MUTATIONS_LOG=FILE keeps one line per check and run, for a closer look.
    if let Some(path) = std::env::var_os("LAB_MUTATIONS_LOG") {
        std::fs::write(path, &log).unwrap();
    }

    // -- The summary.
    let mut table = String::from(
        "operator              applied  check:ok  rejected  FAILED   run:runs  ok  exit1  exit2  FAILED\n",
    );
    for o in OPS {
        let c = &counts[o.name];
        table.push_str(&format!(
            "{:<20} {:>8} {:>9} {:>9} {:>7} {:>10} {:>3} {:>6} {:>6} {:>7}\n",
            o.name,
            c.applied,
            c.check_ok,
            c.check_rejected,
            c.check_failed,
            c.runs,
            c.run_ok,
            c.run_1,
            c.run_2,
            c.run_failed
        ));
    }
    let check_failures = failures.iter().filter(|f| f.phase == "check").count();
    eprintln!(
        "\n== hostile mutants (seed {SEED:#x}): outcomes per operator (a mutant counts once per operator it used)\n{table}"
    );
    eprintln!(
        "mutants: {MUTANTS} ({} with 1 operator, {} with 2, {} with 3); check: {} accepted ({:.1} %), {rejected} rejected, {check_failures} failed; in {:.1} s, slowest #{} {:.2} s of CPU ({:.2} s on the clock); biggest file {} bytes; most stderr #{} {} bytes",
        ops_per_mutant[1],
        ops_per_mutant[2],
        ops_per_mutant[3],
        accepted.len(),
        100.0 * accepted.len() as f64 / MUTANTS as f64,
        check_time.as_secs_f64(),
        slowest_check.1,
        slowest_check.0.as_secs_f64(),
        slowest_check.2.as_secs_f64(),
        biggest_file,
        biggest_stderr.1,
        biggest_stderr.0,
    );
    eprintln!(
        "runs: {} of the accepted, {simulated} simulated (exit 0 or failed), in {:.1} s, slowest #{} {:.2} s of CPU ({:.2} s on the clock)",
        chosen.len(),
        run_time.as_secs_f64(),
        slowest_run.1,
        slowest_run.0.as_secs_f64(),
        slowest_run.2.as_secs_f64()
    );
    eprintln!(
        "peak memory seen: check #{} {} MiB, run #{} {} MiB",
        hungriest_check.1,
        hungriest_check.0 >> 10,
        hungriest_run.1,
        hungriest_run.0 >> 10
    );
    eprintln!("{} distinct rejection messages; the most frequent:", kinds.len());
    let mut by_count: Vec<_> = kinds.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (k, n) in by_count.iter().take(12) {
        eprintln!("  {n:>5}  {k}");
    }
    if !reasons.is_empty() {
        eprintln!("run refusals:");
        for (k, n) in &reasons {
            eprintln!("  {n:>5}  {k}");
        }
    }
    eprintln!("total {:.1} s", started.elapsed().as_secs_f64());

    // -- Nothing outside the per-mutant folders, which are all gone.
    let left = tree(root.path());
    let mut problems: Vec<String> = Vec::new();
    if !left.is_empty() {
        problems.push(format!("files left in the test's parent folder: {left:?}"));
    }

    // -- Failures: each with its operators and where the mutant is saved.
    if !failures.is_empty() {
        failures.sort_by_key(|f| (f.phase, f.index));
        let mut text = format!(
            "{} mutants failed ({} in check, {} in run); saved in {}\n",
            failures.len(),
            check_failures,
            failures.len() - check_failures,
            failures_dir().display()
        );
        for f in &failures {
            text.push_str(&format!(
                "\n- {} [{}] {}\n    {}\n    saved: {}\n    stderr: {}\n",
                f.description,
                f.phase,
                f.command,
                f.problems.join("\n    "),
                f.saved.display(),
                cut(f.stderr.lines().next().unwrap_or(""), 200)
            ));
        }
        problems.push(text);
    }

    // -- Coverage: the loop must have tried what it claims to try.
    let share = accepted.len() as f64 / MUTANTS as f64;
    if share < 0.25 {
        problems.push(format!(
            "only {:.1} % of mutants were accepted by check; at least 25 % must be",
            share * 100.0
        ));
    }
    if simulated < MIN_RUNS {
        problems.push(format!(
            "only {simulated} mutants were simulated; at least {MIN_RUNS} must be"
        ));
    }
    if kinds.len() < 200 {
        problems.push(format!(
            "only {} distinct rejection messages; the operators reach too little",
            kinds.len()
        ));
    }
    for o in OPS {
        let c = &counts[o.name];
        if c.applied < o.min_applied {
            problems.push(format!(
                "{} was applied {} times, at least {} expected",
                o.name, c.applied, o.min_applied
            ));
        }
        if c.check_rejected + c.check_failed == 0 {
            problems.push(format!("{} never produced a mutant that check turns down", o.name));
        }
    }
    // These operators must also reach the simulator, not only validation.
    for name in [
        "number_extreme",
        "duration_extreme",
        "rate_extreme",
        "nested_mix",
        "huge_mix_weights",
        "delete_line",
        "swap_lines",
        "huge_count",
        "slow_host",
        "many_steps",
        "many_endpoints",
        "hostile_era_label",
        "silver_key",
        "machine_key",
        "traffic_key",
        "fault_entry",
    ] {
        let c = &counts[name];
        if c.check_ok == 0 || c.run_ok + c.run_failed == 0 {
            problems.push(format!(
                "{name}: {} mutants accepted, {} simulated; it must reach the simulator",
                c.check_ok,
                c.run_ok + c.run_failed
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
