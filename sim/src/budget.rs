//! What a run will cost before it starts, and the safety net that stops a
//! run whose cost runs away from that estimate.
//!
//! [`estimate`] works from the scenario alone:
//!
//! - **requests** = `traffic.expected_requests(duration)`: the integral of
//!   the rate for an open model; for a closed one Lorden's bound on a
//!   renewal process (see `Traffic::expected_requests`), which still holds
//!   when think times are skewed.
//! - **events** = requests × (1 arrival + 1 per timer the era sets (client,
//!   nginx, `request_terminate_timeout`) + the mix's mean events per
//!   request + 2) + ticks × 33, where a request's events are 1 per CPU
//!   step, and per query 1 for `db_cpu`, 1 for `db_wait`, 2 for a lock
//!   (grant, timeout) and on bronze 1 for the way back, plus 1 to connect;
//!   per BEGIN on bronze 1, per COMMIT 1 for its flush and on bronze 1;
//!   the 2 cover a replaced child's start and a killed job's stale
//!   completion; a process manager's tick (once a second) may fork 32
//!   children. Every term is what the model can schedule, so actual runs
//!   stay below: flash-sale 0.37 (stone) and 0.50 (bronze) of it, M/M/4
//!   0.49, a system flooded with refusals 0.17.
//! - **in system**: requests in memory at once are bounded by construction:
//!   a busy child holds one, the listen backlog `backlog + 1` (`backlog`
//!   being `listen_backlog` capped at the host's `somaxconn`), and a
//!   request killed by `request_terminate_timeout` lives on only while its
//!   query holds one of `max_connections`; so at most `max_children +
//!   backlog + 1` per web node `+ max_connections + 1` (the one arriving).
//!   A TCP pool's connections retrying their SYN each hold two of nginx's
//!   connections, so nginx's capacity in requests is added for them. Memory is
//!   estimated with that bound, lowered to the closed model's users when
//!   nobody gives up early (no client timeout, `fastcgi_read_timeout` or
//!   `request_terminate_timeout`: a user then has one request at a time),
//!   and to the expected requests.
//! - **peak bytes** = in system × [`REQUEST_BYTES`] + windows ×
//!   ([`WINDOW_BYTES`] + services × [`SERVICE_WINDOW_BYTES`] + endpoints
//!   kept apart × [`ENDPOINT_WINDOW_BYTES`]) + those endpoints ×
//!   [`ENDPOINT_BYTES`] + (1 + those endpoints) × the lesser of segments
//!   × [`SEGMENT_BYTES`] and windows × [`SEGMENT_WINDOW_BYTES`] + the web
//!   nodes' CPU gauges (a 16-byte figure a window for the first 16, at
//!   most 256 8-byte points for each other) + max_children ×
//!   [`CHILD_BYTES`] + web nodes × [`NODE_BYTES`] + users × [`USER_BYTES`] + steps × the size of a
//!   compiled step + [`FIXED_BYTES`].
//!   A request's bytes count its slab entry (144 bytes) and, behind a
//!   balancer, its way in (a 32-byte entry of its own), its three timers
//!   (40 bytes each, twice: lanes are swept once they hold twice their live
//!   entries), a backlog place (24), a CPU job (32, as one in its wake-up
//!   credit), a pending event (40) and a lock wait (16), all twice again
//!   for vectors that grow by doubling: 1,056 bytes, where a system filled
//!   with 20,000 requests measures 360 to 500. A window holds its figures
//!   (232 bytes), its outcome counts (8 bytes each), a digest per wait (80
//!   bytes), gauges and counters, but no histogram: the simulator's record
//!   merges the windows as they close into segments, the spans the reports
//!   merge later (phases and levels of the rate: see
//!   [`lab_core::record::Segment`]), counted as two per profile point and
//!   per phase and four more (a slow ramp makes more, of a few windows
//!   each: a segment is charged no more than the windows it spans). A window takes
//!   about 700 bytes on flash-sale's stone era and 1,300 on gold's,
//!   besides its endpoints' figures (about 220 bytes each). Only the 232 bytes double with the
//!   record's vector of windows (the rest is allocated to size), so 2 KiB
//!   holds the largest window and leaves room for more gauges.
//!   The fixed part is the recorder's
//!   batches in flight (at most 11 of 32,832 facts of 24 bytes, 8.7 MB;
//!   gauge levels travel as facts), its four live histograms, the open
//!   model's arrivals drawn ahead (at most 5 batches of 4,096, 1.3 MB) and
//!   the queues' headers;
//!   small runs measure 1 to 5 MB in all.
//!
//! With a balancer (silver), a request adds 4 events (its way to the server
//! and back, `timeout server`, `timeout queue`) and may wait for its SYN
//! to be answered (a VIP gap) or for a reset, so requests in the system are
//! bounded by the web nodes' children and backlogs, both balancers'
//! `maxconn` and accept queues, and the expected requests themselves; each
//! balancer checks each server twice per `inter` (start and end). A run
//! with faults may hold every request whose client still waits on a dead
//! host: the bound then includes the expected requests too.
//!
//! `sim/tests/budget.rs` checks these figures against a counting allocator.
//!
//! The safety net in [`crate::run`]: the run stops with a [`SimError`] when
//! its events pass 20 × the estimate + 10⁶, or its requests in the system
//! pass the bound above. Neither should ever happen; if the estimate is
//! wrong, or the model has a bug, the user gets a message instead of a run
//! that exhausts memory or never ends.

use lab_core::record::{FULL_MEMBERS, GaugeStat, POINTS, Point};
use lab_core::scenario::{App, Era, Listen, Scenario, Work, Workload};

use crate::engine::Time;

/// Bytes per request in the system (see the module doc).
pub const REQUEST_BYTES: f64 = 2.0
    * (crate::shop::SLAB_ENTRY_BYTES
        + crate::shop::VIA_ENTRY_BYTES
        + 3 * crate::shop::TIMER_BYTES * 2
        + crate::shop::BACKLOG_BYTES
        + crate::cpu::JOB_BYTES
        + crate::shop::TIMER_BYTES
        + crate::shop::WAITER_BYTES) as f64;
/// Bytes per statistics window of the record.
pub const WINDOW_BYTES: f64 = 2048.0;
/// Bytes a window's wait of each service adds (gold's `rpc.<svc>`): its
/// digest (no histogram) and its hosts' gauges, with room to spare.
pub const SERVICE_WINDOW_BYTES: f64 = 256.0;
/// Bytes a window's figures of each endpoint add (when the record keeps
/// them apart): outcome counts and a digest (no histogram).
pub const ENDPOINT_WINDOW_BYTES: f64 = 384.0;
/// Bytes each endpoint kept apart holds for the whole run: its three live
/// latency histograms (the window's, the total and the segment's, about
/// 100 KiB each at the record's precision).
pub const ENDPOINT_BYTES: f64 = 384.0 * 1024.0;
/// Bytes of one distribution's encoded histogram in a segment: a span of
/// windows merged, which fills more buckets than one window (flash-sale's
/// take 1 to 3 KiB).
pub const SEGMENT_BYTES: f64 = 8.0 * 1024.0;
/// Bytes one window's encoded histogram of one distribution takes: what a
/// segment of a few windows holds at most per window it spans.
pub const SEGMENT_WINDOW_BYTES: f64 = 1024.0;

/// The segments' encoded histograms, per distribution kept (the latency
/// and each endpoint kept apart): [`SEGMENT_BYTES`] each, but no more
/// than [`SEGMENT_WINDOW_BYTES`] for each window they span (a profile of
/// thousands of points makes as many segments of a window or two).
fn segment_bytes(segments: f64, windows: u64) -> f64 {
    (segments * SEGMENT_BYTES).min(windows as f64 * SEGMENT_WINDOW_BYTES)
}
/// Bytes per FPM child (its entry, its place in the changed list, its
/// pending start, twice).
pub const CHILD_BYTES: f64 = 2.0 * (crate::nodes::fpm::CHILD_BYTES + 4 + crate::shop::TIMER_BYTES) as f64;
/// Bytes per web node besides its children: its pool, nginx, host, CPU
/// and the balancers' server entries.
pub const NODE_BYTES: f64 = 2048.0;
/// Bytes per closed-model user: its pending wake-up, twice.
pub const USER_BYTES: f64 = 2.0 * crate::shop::TIMER_BYTES as f64;
/// The recorder's batches in flight (up to 11 of 32,832 facts) and live
/// histograms, the arrivals drawn ahead, the queues' and the record's
/// headers.
pub const FIXED_BYTES: f64 = 16.0 * 1024.0 * 1024.0;
// The open model's arrivals drawn ahead fit in the fixed part with room.
const _: () = assert!(crate::feed::FEED_BYTES < 2 << 20);

/// How many events past the estimate the safety net allows, and a floor
/// for runs too small for the ratio to mean anything.
const EVENT_SLACK: f64 = 20.0;
const EVENT_FLOOR: f64 = 1e6;

/// What a run of one era should cost.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// Requests expected (an upper bound for a closed model).
    pub requests: f64,
    /// Events the run should process, an upper bound in practice.
    pub events: f64,
    /// Peak memory of the simulation (its record included), in bytes.
    pub peak_bytes: f64,
    /// Statistics windows in the record.
    pub windows: u64,
    /// What one window should take at most.
    pub window_bytes: f64,
    /// Requests that can be in the system at once, by construction.
    pub in_system_limit: u64,
}

impl Estimate {
    /// Events past which [`crate::run`] stops with [`SimError::TooManyEvents`].
    pub fn event_limit(&self) -> u64 {
        if self.events.is_nan() {
            return u64::MAX;
        }
        // Saturating float-to-int conversion: a huge estimate is no limit.
        (EVENT_SLACK * self.events + EVENT_FLOOR) as u64
    }
}

/// Why a run stopped before its end.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SimError {
    #[error(
        "the simulation stopped at {at_s:.3} s of virtual time after {events} events, past its limit of {limit} \
         (20 times the {estimate:.0} the scenario's requests should need): something in the scenario makes far \
         more events than its traffic explains; a shorter duration, a lower rate or fewer users, or fewer steps \
         per endpoint make the run smaller",
        at_s = *at as f64 / 1e9
    )]
    TooManyEvents {
        at: Time,
        events: u64,
        limit: u64,
        estimate: f64,
    },
    #[error(
        "the simulation stopped at {at_s:.3} s of virtual time with {in_system} requests in the system, past \
         the {limit} that max_children + listen_backlog + max_connections allow: this is a bug in lab-sim; \
         smaller pools (max_children, listen_backlog) or fewer users keep the run within memory meanwhile",
        at_s = *at as f64 / 1e9
    )]
    TooManyRequests { at: Time, in_system: u64, limit: u64 },
}

/// Events a request of this endpoint can schedule, beyond its arrival.
fn endpoint_events(program: &[Work], networked: bool) -> f64 {
    let mut n = 0.0;
    let mut queries = false;
    for w in program {
        match w {
            Work::Cpu(_) => n += 1.0,
            Work::Query(q) => {
                queries = true;
                n += f64::from(u8::from(q.db_cpu.is_some()))
                    + f64::from(u8::from(q.db_wait.is_some()))
                    + if q.lock.is_some() { 2.0 } else { 0.0 }
                    + if networked { 1.0 } else { 0.0 };
            }
            Work::Begin => {
                queries = true;
                n += if networked { 1.0 } else { 0.0 };
            }
            // At most one flush per commit (a flush may serve many).
            Work::Commit(_) => {
                queries = true;
                n += 1.0 + if networked { 1.0 } else { 0.0 };
            }
        }
    }
    if queries && networked {
        n += 1.0;
    }
    n
}

/// The web nodes' CPU gauges beyond the few [`WINDOW_BYTES`] allows for:
/// behind a balancer, the first [`FULL_MEMBERS`] have a figure in every
/// window and the others at most [`POINTS`] figures each.
fn host_gauge_bytes(webs: usize, windows: u64) -> f64 {
    let in_windows = webs.min(FULL_MEMBERS) as f64;
    let coarse = webs.saturating_sub(FULL_MEMBERS) as f64;
    // Both kinds are allocated to size.
    windows as f64 * in_windows * size_of::<GaugeStat>() as f64
        + coarse * windows.min(POINTS as u64) as f64 * size_of::<Point>() as f64
}

fn compiled_steps(app: &App) -> f64 {
    (0..app.endpoints.len()).map(|i| app.program_len(i) as f64).sum()
}

/// The cost of simulating `era` of `scenario` (see the module doc).
pub fn estimate(scenario: &Scenario, era: &Era) -> Estimate {
    let topology = era.topology();
    let path = crate::shop::Path::of(&topology);
    let (fpm, nginx) = (path.fpm, path.nginx);
    let networked = path.webs[0].host != path.dbs[0].host;
    let nodes = path.webs.len() as f64;
    let remote = topology.rpc.is_some();
    let traffic = &scenario.traffic;
    let requests = traffic.expected_requests(scenario.duration);
    // An estimate that cannot be computed limits nothing (`max` would make
    // NaN a zero).
    let requests = if requests.is_nan() {
        f64::INFINITY
    } else {
        requests.max(0.0)
    };
    let per_request: f64 = traffic
        .mean_mix(scenario.duration)
        .iter()
        .map(|&(i, w)| {
            // A remote call or a branch: encoding, the trip there, the
            // balancer, the node, decoding and encoding, the trip back,
            // decoding and the caller's timer.
            let subs = if remote {
                scenario.app.subrequests(i) as f64
            } else {
                0.0
            };
            // The overhead's web share is a CPU step of its own (its db
            // share rides on the queries' own CPU events).
            let o = scenario.app.endpoints[i].overhead;
            let overhead = f64::from(u8::from(o.web > 0 || o.cold > 0));
            w * (endpoint_events(&scenario.app.monolith_program(i), networked)
                + overhead
                + lab_core::scenario::limits::CALL_STEPS * subs)
        })
        .sum();
    let timers = [
        traffic.timeout.is_some(),
        nginx.fastcgi_read_timeout.is_some(),
        fpm.request_terminate_timeout.is_some(),
    ]
    .into_iter()
    .filter(|&t| t)
    .count() as f64;
    let ticks = scenario.duration as f64 / 1e9;
    let (front_events, checks) = match &path.front {
        None => (0.0, 0.0),
        Some(f) => {
            let front_nodes = path.front_webs as f64;
            let every = |c: &lab_core::scenario::HealthCheck| c.inter.min(c.fastinter).min(c.downinter).max(1) as f64;
            let services: f64 = path
                .services
                .iter()
                .map(|s| s.haproxy.check.map_or(0.0, |c| 2.0 * s.nodes as f64 * 1e9 / every(&c)))
                .sum();
            (
                4.0,
                f.haproxy
                    .check
                    .map_or(0.0, |c| 2.0 * 2.0 * front_nodes * 1e9 / every(&c))
                    + services,
            )
        }
    };
    let events = requests * (1.0 + timers + per_request + 2.0 + front_events)
        + ticks * (33.0 * nodes + checks)
        + 2.0 * topology.faults.len() as f64;

    // Each web node: its children, its backlog (`backlog + 1`, capped at
    // its host's somaxconn) and, on a TCP pool, the connections retrying
    // their SYN, each holding two of nginx's connections.
    let mut in_system_limit = path
        .webs
        .iter()
        .map(|w| {
            let host = &topology.hosts[w.host];
            let retrying = match w.fpm.listen {
                Listen::Unix => 0,
                Listen::Tcp => crate::nodes::nginx::Conns::capacity(w.nginx, host.cores),
            };
            u64::from(w.fpm.max_children) + u64::from(w.fpm.backlog(host.kernel.somaxconn)) + 1 + retrying
        })
        .sum::<u64>()
        + path.dbs.iter().map(|d| u64::from(d.mysql.max_connections)).sum::<u64>()
        + 1;
    if let Some(f) = &path.front {
        let accept: u64 = f
            .lbs
            .iter()
            .map(|&h| u64::from(topology.hosts[h].kernel.somaxconn) + 1)
            .sum();
        in_system_limit += 2 * u64::from(f.haproxy.maxconn) + accept;
        for s in &path.services {
            let accept = u64::from(topology.hosts[s.lb].kernel.somaxconn) + 1;
            in_system_limit += u64::from(s.haproxy.maxconn) + accept;
        }
    }
    if remote {
        // Each request may have its calls and branches in the system too.
        let most = (0..scenario.app.endpoints.len())
            .map(|i| scenario.app.subrequests(i))
            .max()
            .unwrap_or(0) as u64;
        in_system_limit = in_system_limit.saturating_mul(1 + most);
    }
    if path.front.is_some() || !topology.faults.is_empty() {
        // Clients waiting on a dead entry (or one whose balancer died).
        in_system_limit = in_system_limit.saturating_add(requests.min(u64::MAX as f64 / 2.0) as u64 + 1);
    }
    let users = match &traffic.workload {
        Workload::Closed { users, .. } => f64::from(*users),
        Workload::Open(_) => 0.0,
    };
    // A user whose client, nginx or FPM gave up sends again while its last
    // request may still be in the system; otherwise it has one at a time.
    let answered_early =
        traffic.timeout.is_some() || nginx.fastcgi_read_timeout.is_some() || fpm.request_terminate_timeout.is_some();
    let mut in_system = in_system_limit as f64;
    if users > 0.0 && !answered_early {
        in_system = in_system.min(users);
    }
    // A request brings its calls and branches along (gold).
    let per_request = if remote {
        1.0 + (0..scenario.app.endpoints.len())
            .map(|i| scenario.app.subrequests(i))
            .max()
            .unwrap_or(0) as f64
    } else {
        1.0
    };
    in_system = in_system.min((requests.ceil() + 1.0) * per_request);

    let windows = scenario.duration.div_ceil(scenario.stats.window).max(1);
    let split = lab_core::record::split_endpoints(scenario.app.endpoints.len()) as f64;
    let window_bytes = WINDOW_BYTES + path.services.len() as f64 * SERVICE_WINDOW_BYTES + split * ENDPOINT_WINDOW_BYTES;
    // What the record merges later: a segment where a phase or a level
    // of the rate begins or ends, and the short last window.
    let points = match &scenario.traffic.workload {
        Workload::Open(p) => p.points().len(),
        Workload::Closed { .. } => 0,
    };
    let segments = (2 * (points + scenario.phases.len()) + 4).min(windows as usize) as f64;
    let peak_bytes = in_system * REQUEST_BYTES
        + split * ENDPOINT_BYTES
        + (1.0 + split) * segment_bytes(segments, windows)
        + windows as f64 * window_bytes
        + host_gauge_bytes(path.webs.len(), windows)
        + path.webs.iter().map(|w| f64::from(w.fpm.max_children)).sum::<f64>() * CHILD_BYTES
        + path.webs.len() as f64 * NODE_BYTES
        + users * USER_BYTES
        + compiled_steps(&scenario.app) * crate::shop::COMPILED_STEP_BYTES as f64
        + FIXED_BYTES;
    Estimate {
        requests,
        events,
        peak_bytes,
        windows,
        window_bytes,
        in_system_limit,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use lab_core::scenario;

    use super::*;

    #[test]
    fn segments_are_charged_no_more_than_the_windows_they_span() {
        // A few long segments: 8 KiB each.
        assert_eq!(segment_bytes(10.0, 3600), 10.0 * SEGMENT_BYTES);
        // A profile of 20,000 points over 100,000 windows: segments of a
        // window or two, bounded by what the windows' histograms took.
        assert_eq!(segment_bytes(40_004.0, 100_000), 100_000.0 * SEGMENT_WINDOW_BYTES);
    }

    fn parse(text: &str) -> Scenario {
        scenario::parse(text, Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_sizes_in_the_module_doc_are_the_types_sizes() {
        // When a layout changes, the figures documented above need a look.
        assert_eq!(size_of::<crate::shop::Request>(), 128);
        assert_eq!(crate::shop::SLAB_ENTRY_BYTES, 144);
        assert_eq!(crate::shop::VIA_ENTRY_BYTES, 32);
        assert_eq!(crate::shop::TIMER_BYTES, 40);
        assert_eq!(crate::shop::BACKLOG_BYTES, 24);
        assert_eq!(crate::cpu::JOB_BYTES, 32);
        assert_eq!(crate::shop::WAITER_BYTES, 16);
        assert_eq!(REQUEST_BYTES, 1056.0);
        assert_eq!(size_of::<lab_core::record::Window>(), 232);
        assert_eq!(size_of::<lab_core::record::Digest>(), 80);
    }

    #[test]
    fn events_count_what_each_step_can_schedule() {
        let s = parse(
            r#"
            duration = "100s"
            [traffic]
            rate = "10/s"
            timeout = "5s"
            [app.locks.stock]
            rows = 1
            [app.endpoints.a]
            steps = [{ cpu = "1ms" }, { query = "q", db_cpu = "1ms", db_wait = "1ms", lock = "stock" }]
            [eras.stone]
            fpm = { pm = "static", max_children = 7, listen_backlog = 11 }
            mysql = { max_connections = 13 }
            nginx = { fastcgi_read_timeout = "off" }
            [eras.bronze]
        "#,
        );
        let stone = estimate(&s, &s.eras[0]);
        assert!((stone.requests - 1000.0).abs() < 1e-6);
        // 1 arrival + 1 timer + (1 cpu + 1 db_cpu + 1 db_wait + 2 lock) + 2.
        assert!(
            (stone.events - (1000.0 * 9.0 + 100.0 * 33.0)).abs() < 1e-6,
            "{}",
            stone.events
        );
        assert_eq!(stone.in_system_limit, 7 + (11 + 1) + 13 + 1);
        assert_eq!(stone.windows, 100);
        // Bronze adds nginx's timeout, the way back and the connection.
        let bronze = estimate(&s, &s.eras[1]);
        assert!(
            (bronze.events - (1000.0 * 12.0 + 100.0 * 33.0)).abs() < 1e-6,
            "{}",
            bronze.events
        );
        assert!(stone.event_limit() > 20 * stone.events as u64);
        // An estimate past counting is no limit.
        for events in [f64::INFINITY, f64::NAN, 1e300] {
            assert_eq!(Estimate { events, ..stone }.event_limit(), u64::MAX);
        }
    }

    #[test]
    fn memory_follows_the_bound_on_requests_in_the_system() {
        let text = |users: u32, timeout: &str| {
            format!(
                "duration = \"1h\"\n[traffic]\nmodel = \"closed\"\nusers = {users}\nthink = \"1s\"\ntimeout = \"{timeout}\"\n\
                 [app.endpoints.a]\nsteps = [{{ cpu = \"1ms\" }}]\n[eras.stone]\n\
                 fpm = {{ pm = \"static\", max_children = 100, listen_backlog = 1000 }}\n\
                 nginx = {{ fastcgi_read_timeout = \"off\" }}\n"
            )
        };
        let few = parse(&text(10, "off"));
        let many = parse(&text(100_000, "off"));
        let leaving = parse(&text(10, "1s"));
        let bytes = |s: &Scenario| estimate(s, &s.eras[0]).peak_bytes;
        // Ten users without a timeout have ten requests at most; with one,
        // abandoned requests stay, up to the pool's bound.
        assert!(bytes(&leaving) - bytes(&few) > (1_000.0 + 100.0) * REQUEST_BYTES);
        // So do requests nginx answered with a 504.
        let mut answered = few.clone();
        if let lab_core::scenario::Architecture::Stone { stack, .. } = &mut answered.eras[0].arch {
            stack.nginx.fastcgi_read_timeout = Some(60_000_000_000);
        }
        assert_eq!(bytes(&answered), bytes(&leaving));
        // 100,000 users never have more than the pool's bound in the system,
        // but each has a pending wake-up.
        let b = estimate(&many, &many.eras[0]);
        assert_eq!(b.in_system_limit, 100 + (1000 + 1) + 151 + 1);
        assert!(b.peak_bytes < bytes(&leaving) + 100_000.0 * USER_BYTES + 1.0);
    }

    #[test]
    fn closed_models_are_bounded_even_with_skewed_think_times() {
        let text = |think: &str| {
            format!(
                "duration = \"1h\"\n[traffic]\nmodel = \"closed\"\nusers = 1000\nthink = \"{think}\"\n\
                 [app.endpoints.a]\nsteps = [{{ cpu = \"1ms\" }}]\n[eras.stone]\n"
            )
        };
        let requests = |think: &str| {
            let s = parse(&text(think));
            let r = estimate(&s, &s.eras[0]).requests;
            assert!(r >= s.traffic.expected_requests(s.duration) - 1e-6);
            r
        };
        // A constant think time: one request per think time, plus one.
        assert!((requests("1s") - 1000.0 * 3601.0).abs() < 1e-3);
        // About a hundred quick requests before each long pause.
        assert!(requests("mix(99% 1ms, 1% 1000h)") > 1000.0 * 100.0);
    }

    #[test]
    fn runs_stop_when_their_events_run_away_from_the_estimate() {
        // About three million events, where the estimate is made to say
        // none: the run stops at the floor of a million, not at its end.
        let s = parse(
            r#"
            duration = "100s"
            [traffic]
            rate = "10000/s"
            [app.endpoints.a]
            steps = [{ cpu = "exp(mean = 10us)" }]
            [eras.stone]
        "#,
        );
        let mut e = estimate(&s, &s.eras[0]);
        e.events = 0.0;
        let err = crate::shop::Shop::new(&s, &s.eras[0], &e)
            .run(&mut |_| {})
            .err()
            .expect("stopped");
        let SimError::TooManyEvents { events, limit, at, .. } = err else {
            panic!("{err}")
        };
        assert_eq!(limit, 1_000_000);
        assert!(events > limit && events <= limit + (1 << 16), "{events}");
        assert!(at < s.duration, "{at}");
    }

    #[test]
    fn runs_stop_when_requests_in_the_system_pass_their_bound() {
        let s = parse(
            r#"
            duration = "2s"
            [traffic]
            rate = "100000/s"
            [app.endpoints.a]
            steps = [{ cpu = "1h" }]
            [eras.stone]
            fpm = { pm = "static", max_children = 1000, listen_backlog = 1000 }
            nginx = { worker_connections = 100000 }
        "#,
        );
        let mut e = estimate(&s, &s.eras[0]);
        assert_eq!(e.in_system_limit, 2153);
        assert!(crate::shop::Shop::new(&s, &s.eras[0], &e).run(&mut |_| {}).is_ok());
        e.in_system_limit = 10;
        let err = crate::shop::Shop::new(&s, &s.eras[0], &e)
            .run(&mut |_| {})
            .err()
            .expect("stopped");
        assert_eq!(
            err,
            SimError::TooManyRequests {
                at: match err {
                    SimError::TooManyRequests { at, .. } => at,
                    _ => panic!("{err}"),
                },
                in_system: 2001,
                limit: 10
            }
        );
    }

    #[test]
    fn errors_say_what_grew_the_figure_the_limit_and_what_to_change() {
        let e = SimError::TooManyEvents {
            at: 2_500_000_000,
            events: 30_000_000,
            limit: 21_000_000,
            estimate: 1e6,
        };
        let m = e.to_string();
        for part in ["2.500 s", "30000000 events", "21000000", "1000000", "shorter duration"] {
            assert!(m.contains(part), "{part} in {m}");
        }
        let m = SimError::TooManyRequests {
            at: 0,
            in_system: 10,
            limit: 9,
        }
        .to_string();
        assert!(m.contains("10 requests") && m.contains("the 9 that"), "{m}");
    }
}
