//! The limits a scenario must stay within, and why each is there.
//!
//! Each bound comes from what the model means (no real pool has a million
//! PHP children; MySQL itself refuses `max_connections` above 100,000), or
//! from what one run on one machine can hold and finish. `docs/scenario.md`
//! lists them for users; validation reports a value beyond one with the
//! file, the key and the bound, before anything runs.

/// A scenario file larger than this is refused before it is read whole: a
/// hand-written scenario is a few kilobytes; this leaves room for generated
/// ones with [`MAX_ENDPOINTS`] endpoints. Locating problems keeps a lossless
/// parse of the file that takes about a hundred times its size.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Distributions nest (`mix(50% mix(…), …)`) at most this deep; parsing is
/// recursive and a deeper one is never a model anybody means.
pub const MAX_DIST_DEPTH: usize = 16;
/// Components of one `mix`: a draw scans them, and calls copy them into
/// every place they are inlined; a slow tail needs two or three.
pub const MAX_MIX_PARTS: usize = 64;

/// Endpoints in one application, and steps in one endpoint.
pub const MAX_ENDPOINTS: usize = 10_000;
/// The most CPU an endpoint's `overhead` may add per request (web or db):
/// a stack's own cost is a millisecond or so; a second is a typo.
pub const MAX_OVERHEAD_NS: u64 = 1_000_000_000;
pub const MAX_STEPS: usize = 1_000;
/// Services, and operations in one service.
pub const MAX_SERVICES: usize = 1_000;
pub const MAX_OPS: usize = 1_000;
/// Branches of one `parallel` step.
pub const MAX_BRANCHES: usize = 100;
/// Steps one request runs, every call and branch counted out: calls can
/// multiply (an operation calling another twice, ten levels deep, is a
/// thousand steps), and a request is a program, not a loop.
pub const MAX_PROGRAM: usize = 10_000;
/// Calls nested in calls: a real call graph is a few levels deep, and
/// programs are expanded by recursion along it.
pub const MAX_CALL_DEPTH: usize = 32;

/// Web nodes behind one balancer: each is a host with its own pool, and
/// a thousand is already a large fleet for one HAProxy.
pub const MAX_WEB_NODES: u32 = 10_000;

/// `[[faults]]` entries: each is a few events; a scenario is read by people.
pub const MAX_FAULTS: usize = 1_000;

/// A host's price an hour: past a million (in any currency) it is a typo.
pub const MAX_PRICE_PER_HOUR: f64 = 1e6;

/// Cores of one host: the largest servers sold have a few hundred.
pub const MAX_CORES: u32 = 1_024;
/// A host's speed factor lies within this range (1.0 = the speed CPU demands
/// are written for); a thousandfold either way covers any real pair of CPUs.
pub const MIN_SPEED: f64 = 1e-3;
pub const MAX_SPEED: f64 = 1e3;

/// `pm.max_children`: each child is a PHP process of tens of megabytes, so
/// 100,000 of them is terabytes of memory on a real host.
pub const MAX_FPM_CHILDREN: u32 = 100_000;
/// `listen.backlog`: queued connections are held in memory by the
/// simulator; a million is far past any `net.core.somaxconn` in use and
/// still lets a theory scenario use the backlog as an unbounded queue.
pub const MAX_LISTEN_BACKLOG: u32 = 1_000_000;
/// `net.core.somaxconn`: bounded like `listen_backlog`, which it caps.
pub const MAX_SOMAXCONN: u32 = MAX_LISTEN_BACKLOG;
/// `net.ipv4.tcp_syn_retries`: the kernel refuses more than 127.
pub const MAX_SYN_RETRIES: u32 = 127;
/// `net.ipv4.tcp_syn_linear_timeouts`: the kernel refuses more than 127.
pub const MAX_SYN_LINEAR_TIMEOUTS: u32 = 127;
/// `worker_processes`: one per core is the rule; the largest hosts have
/// `MAX_CORES` cores.
pub const MAX_NGINX_WORKERS: u32 = MAX_CORES;
/// `worker_connections`: each is a file descriptor, and Linux's default
/// `fs.nr_open` caps a process at 1,048,576 of them.
pub const MAX_WORKER_CONNECTIONS: u32 = 1 << 20;

/// `max_connections`: MySQL's and MariaDB's own upper bound.
pub const MAX_DB_CONNECTIONS: u32 = 100_000;
/// Users of a closed model; each is a pending event and, while it waits, a
/// request in memory. A million pending events make every event a cache
/// miss: the simulation then runs 2–3 times slower than with 100,000.
pub const MAX_USERS: u32 = 100_000;
/// Rows of a lock set: only rows that are held or waited for take memory.
pub const MAX_LOCK_ROWS: u32 = u32::MAX;

/// Arrival rates: time is counted in whole nanoseconds, so more than one
/// arrival per nanosecond cannot be told apart.
pub const MAX_RATE_PER_SECOND: f64 = 1e9;

/// The longest run: a year of virtual time. Every time in the simulator is
/// below `MAX_DURATION` plus one delay, far inside a `u64` of nanoseconds.
pub const MAX_DURATION_NS: u64 = 366 * 24 * 3600 * 1_000_000_000;

/// Statistics windows per era: each holds histograms and every gauge; a
/// report can show no more than this in any case.
pub const MAX_WINDOWS: u64 = 100_000;

/// Steps simulated in one era (requests × (steps each + 1), expected):
/// 2 minutes of one core on the machine this project is built on for an
/// M/M/4 queue, up to about 15 with 100,000 users in flight.
pub const MAX_WORK: f64 = 2e9;
/// What a remote call (or a parallel branch) weighs in that work, in steps:
/// the events around it (encoding, the trips, the balancer, the node,
/// decoding, the caller's timer) cost about as much as this many steps.
pub const CALL_STEPS: f64 = 16.0;

/// Characters of a user's value echoed back in a message; longer ones are
/// cut, so that a 300,000-character value does not fill the terminal.
pub const MAX_ECHO_CHARS: usize = 60;

/// `text` for a message: whole if short, else its start and its length.
/// Control characters are escaped, so a file cannot drive the terminal.
pub fn echo(text: &str) -> String {
    let shown = |t: &str| -> String {
        t.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect()
    };
    let n = text.chars().count();
    if n <= MAX_ECHO_CHARS {
        return shown(text);
    }
    let start: String = text.chars().take(MAX_ECHO_CHARS - 10).collect();
    format!("{}… ({n} characters)", shown(&start))
}

/// A number for a message, as written in TOML: `1e308` and `1e-14` in
/// exponent form (plain, they are hundreds of digits or a row of zeros).
pub fn echo_number(x: f64) -> String {
    let tiny = x != 0.0 && x.abs() < 1e-6;
    if tiny || x.abs() >= 1e15 {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_when_echoed() {
        assert_eq!(echo("5 parsecs"), "5 parsecs");
        assert_eq!(echo("\u{1b}[31mred"), "\\u{1b}[31mred");
        let long = "x".repeat(300_000);
        let shown = echo(&long);
        assert!(shown.len() < 100, "{shown}");
        assert!(shown.ends_with("(300000 characters)"), "{shown}");
        assert_eq!(
            echo(&"é".repeat(70)).chars().count(),
            50 + "… (70 characters)".chars().count()
        );
    }

    #[test]
    fn numbers_are_echoed_short() {
        assert_eq!(echo_number(1e308), "1e308");
        assert_eq!(echo_number(1e-14), "1e-14");
        assert_eq!(echo_number(-2.5e20), "-2.5e20");
        assert_eq!(echo_number(1_000_001.0), "1000001");
        assert_eq!(echo_number(0.001), "0.001");
        assert_eq!(echo_number(0.0), "0");
        assert_eq!(echo_number(f64::NAN), "NaN");
        assert_eq!(echo_number(f64::NEG_INFINITY), "-inf");
    }
}
