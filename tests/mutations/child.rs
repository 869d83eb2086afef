//! Running the `lab` binary as a bounded child process.

use super::*;

// ---------------------------------------------------------------------------
// Running the binary.

pub(crate) struct Outcome {
    pub(crate) code: Option<i32>,
    pub(crate) signal: Option<i32>,
    pub(crate) timed_out: bool,
    pub(crate) elapsed: Duration,
    /// CPU time (user and system, every thread), sampled while it runs.
    pub(crate) cpu: Duration,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) stderr_bytes: usize,
    /// The highest resident set seen while polling (best effort), in KiB.
    pub(crate) peak_kib: u64,
}

/// `VmHWM` (the peak resident set so far) of a running process, in KiB.
pub(crate) fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time so far (user and system) of a running process.
pub(crate) fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name in parentheses: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

pub(crate) fn capture(mut from: impl Read + Send + 'static) -> std::thread::JoinHandle<(Vec<u8>, usize)> {
    std::thread::spawn(move || {
        let (mut kept, mut total, mut buf) = (Vec::new(), 0usize, vec![0u8; 64 << 10]);
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    total += n;
                    if kept.len() < MAX_CAPTURE {
                        kept.extend_from_slice(&buf[..n.min(MAX_CAPTURE - kept.len())]);
                    }
                }
            }
        }
        (kept, total)
    })
}

/// Runs `lab ARGS` in `cwd`, killing it once it has used `timeout` of CPU
/// time or `WALL_FACTOR` times as long on the clock.
pub(crate) fn lab(args: &[&std::ffi::OsStr], cwd: &Path, timeout: Duration) -> Outcome {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start lab");
    let out = capture(child.stdout.take().unwrap());
    let err = capture(child.stderr.take().unwrap());
    let mut timed_out = false;
    let mut pause = Duration::from_millis(1);
    let mut peak = 0;
    let mut cpu = Duration::ZERO;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for lab") {
            break s;
        }
        peak = peak.max(peak_kib(child.id()).unwrap_or(0));
        cpu = cpu.max(cpu_time(child.id()).unwrap_or_default());
        if peak > KILL_RSS_KIB {
            let _ = child.kill();
            break child.wait().expect("wait for killed lab");
        }
        if cpu > timeout || started.elapsed() > timeout * WALL_FACTOR {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("wait for killed lab");
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    let (stdout, _) = out.join().unwrap();
    let (stderr, stderr_bytes) = err.join().unwrap();
    Outcome {
        code: status.code(),
        signal: status.signal(),
        timed_out,
        elapsed,
        cpu,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        stderr_bytes,
        peak_kib: peak,
    }
}

pub(crate) const SIGNALS: &[(i32, &str)] = &[
    (6, "SIGABRT (an abort: allocation failure or a Rust abort)"),
    (9, "SIGKILL (out of memory?)"),
    (11, "SIGSEGV (a stack overflow?)"),
    (7, "SIGBUS"),
    (8, "SIGFPE"),
    (4, "SIGILL"),
];

/// What is wrong with the way the process ended and what it printed on
/// stderr, whatever its exit code.
pub(crate) fn process_problems(o: &Outcome, timeout: Duration) -> Vec<String> {
    let mut out = Vec::new();
    if o.peak_kib > KILL_RSS_KIB {
        out.push(format!(
            "held more than {} MiB of memory and was killed by the test",
            KILL_RSS_KIB >> 10
        ));
    } else if o.peak_kib > MAX_RSS_KIB {
        out.push(format!(
            "held {} MiB of memory (peak resident set), more than {} MiB",
            o.peak_kib >> 10,
            MAX_RSS_KIB >> 10
        ));
    }
    if o.timed_out {
        out.push(format!(
            "did not finish within {} s of CPU time ({} s on the clock); killed after {:.1} s of CPU, {:.1} s on the clock",
            timeout.as_secs(),
            (timeout * WALL_FACTOR).as_secs(),
            o.cpu.as_secs_f64(),
            o.elapsed.as_secs_f64()
        ));
    } else if let Some(sig) = o.signal.filter(|_| o.peak_kib <= KILL_RSS_KIB) {
        let name = SIGNALS.iter().find(|(s, _)| *s == sig).map_or("", |(_, n)| n);
        out.push(format!("killed by signal {sig} {name}"));
    }
    for (n, line) in o.stderr.lines().enumerate() {
        let chars = line.chars().count();
        if chars >= MAX_LINE_CHARS {
            out.push(format!(
                "stderr line {} has {chars} characters: {}",
                n + 1,
                cut(line, 120)
            ));
            break;
        }
    }
    let b = o.stderr.as_bytes();
    if let Some(i) = (0..b.len().saturating_sub(3)).find(|&i| &b[i..i + 3] == b"Raw" && b[i + 3].is_ascii_uppercase()) {
        out.push(format!("stderr shows a Rust type name: {}", cut(&o.stderr[i..], 60)));
    }
    for bad in [
        "struct ",
        "panicked",
        "RUST_BACKTRACE",
        "Field<",
        "Option<",
        "Vec<",
        "Some(",
        "thread '",
        "stack overflow",
        "memory allocation of",
    ] {
        if let Some(i) = o.stderr.find(bad) {
            let from = o.stderr[..i].char_indices().rev().nth(40).map_or(0, |(j, _)| j);
            out.push(format!("stderr contains {bad:?}: {}", cut(&o.stderr[from..], 160)));
        }
    }
    out
}

/// Every entry under `dir`, as paths relative to it.
pub(crate) fn tree(dir: &Path) -> BTreeSet<String> {
    pub(crate) fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            out.insert(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            if p.is_dir() && !p.is_symlink() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

// ---------------------------------------------------------------------------
