//! The estimate against what runs actually use: a counting allocator
//! measures the heap, and the run counts its events.
//!
//! Each test runs alone (each takes `serial()` first), since the allocator
//! counts every thread of the process.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use lab_core::scenario::{self, Scenario};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static MEASURE: Mutex<()> = Mutex::new(());

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(now, Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Both blocks exist while the data is copied.
        let now = CURRENT.fetch_add(new_size, Relaxed) + new_size;
        PEAK.fetch_max(now, Relaxed);
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        CURRENT.fetch_sub(layout.size(), Relaxed);
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Holds the other tests off while one measures.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    MEASURE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Peak heap growth while `f` runs, in bytes.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let base = CURRENT.load(Relaxed);
    PEAK.store(base, Relaxed);
    let out = f();
    (out, (PEAK.load(Relaxed) - base) as f64)
}

fn parse(text: &str) -> Scenario {
    scenario::parse(text, Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"))
}

fn load(file: &str) -> Scenario {
    scenario::load(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios")
            .join(file),
    )
    .unwrap()
}

/// Runs every era; returns (events, estimated events, peak bytes, estimated bytes) of each.
fn measure(s: &Scenario) -> Vec<(f64, f64, f64, f64)> {
    s.eras
        .iter()
        .map(|era| {
            let e = lab_sim::estimate(s, era);
            let (run, peak) = peak_of(|| lab_sim::run(s, era, &mut |_| {}).unwrap());
            let m = (run.events as f64, e.events, peak, e.peak_bytes);
            println!(
                "{}: {} events (estimate {:.0}, {:.2}), peak {:.1} MB (estimate {:.1} MB, {:.2})",
                era.label,
                m.0,
                m.1,
                m.0 / m.1,
                m.2 / 1e6,
                m.3 / 1e6,
                m.2 / m.3
            );
            m
        })
        .collect()
}

#[test]
fn shipped_scenarios_stay_within_their_estimates() {
    let _serial = serial();
    let mut mm4 = load("theory/mm4.toml");
    mm4.duration /= 10;
    for s in [load("flash-sale.toml"), mm4] {
        for (events, est_events, peak, est_peak) in measure(&s) {
            assert!(
                events <= est_events && events > est_events / 4.0,
                "{events} vs {est_events}"
            );
            assert!(peak <= est_peak, "{peak} vs {est_peak}");
        }
    }
}

#[test]
fn a_full_system_stays_within_its_estimate() {
    let _serial = serial();
    // 20,000 requests pinned in the system (every child busy for an hour,
    // the backlog full), 180,000 refused: memory is the requests'.
    let text = |children: u32| {
        format!(
            r#"
            duration = "2s"
            [traffic]
            rate = "100000/s"
            [app.endpoints.home]
            steps = [{{ cpu = "1h" }}]
            [eras.stone]
            fpm = {{ pm = "static", max_children = {children}, listen_backlog = {children} }}
        "#
        )
    };
    let small = measure(&parse(&text(10)))[0];
    let full = measure(&parse(&text(10_000)))[0];
    let per_request = (full.2 - small.2) / 19_980.0;
    println!("{per_request:.0} bytes per request in the system");
    assert!(full.2 <= full.3, "{} vs {}", full.2, full.3);
    assert!(per_request <= lab_sim::estimate(&parse(&text(1)), &parse(&text(1)).eras[0]).peak_bytes);
}

#[test]
fn windows_stay_within_their_estimate() {
    let _serial = serial();
    let text = |window: &str| {
        format!(
            r#"
            duration = "100s"
            [stats]
            window = "{window}"
            [traffic]
            rate = "200/s"
            [app.endpoints.home]
            steps = [{{ cpu = "lognormal(median = 5ms, p99 = 50ms)" }}, {{ query = "q", db_cpu = "exp(mean = 1ms)" }}]
            [eras.bronze]
        "#
        )
    };
    let few = measure(&parse(&text("1s")))[0];
    let many = measure(&parse(&text("1ms")))[0];
    let per_window = (many.2 - few.2) / (100_000.0 - 100.0);
    println!("{per_window:.0} bytes per window");
    assert!(many.2 <= many.3, "{} vs {}", many.2, many.3);
    // Busy windows: they hold figures, no histogram (the record merges
    // them into segments as they close). The estimate allows 2 KiB a
    // window: the inline part twice (the record's vector of windows
    // doubles as it grows; the heap parts are allocated to size), and room
    // to spare for more gauges.
    let s = load("flash-sale.toml");
    for era in &s.eras {
        let r = lab_sim::run(&s, era, &mut |_| {}).unwrap().record;
        let bytes = |w: &lab_core::record::Window| {
            size_of::<lab_core::record::Window>()
                + w.gauges.capacity() * size_of::<lab_core::record::GaugeStat>()
                + w.counters.capacity() * size_of::<u64>()
                + w.outcomes.len() * size_of::<u64>()
                + w.latency.encoded_len()
                + w.waits.capacity() * size_of::<lab_core::record::Digest>()
                + w.waits.iter().map(|d| d.encoded_len()).sum::<usize>()
        };
        let max = r.windows.iter().map(bytes).max().unwrap();
        let mean = r.windows.iter().map(bytes).sum::<usize>() as f64 / r.windows.len() as f64;
        println!("{}: {mean:.0} bytes a window, at most {max}", era.label);
        let peak = max + size_of::<lab_core::record::Window>();
        // Gold's services each add a wait histogram, which the estimate counts.
        let allowed = lab_sim::estimate(&s, era).window_bytes;
        assert!((peak + 1024) as f64 <= allowed, "{}: {max} of {allowed}", era.label);
    }
}

/// Runs the scenario's first era; returns its record and peak heap growth.
fn run_measured(text: &str) -> (lab_core::Record, f64, f64) {
    let s = parse(text);
    let estimate = lab_sim::estimate(&s, &s.eras[0]);
    let (run, peak) = peak_of(|| lab_sim::run(&s, &s.eras[0], &mut |_| {}).unwrap());
    println!(
        "peak {:.1} MB, estimate {:.1} MB",
        peak / 1e6,
        estimate.peak_bytes / 1e6
    );
    assert!(peak <= estimate.peak_bytes, "{peak} vs {}", estimate.peak_bytes);
    (run.record, peak, estimate.peak_bytes)
}

const MB: f64 = 1e6;

#[test]
fn refused_requests_leave_no_timers_behind() {
    let _serial = serial();
    // A million arrivals a second against one busy child and a backlog of
    // one: each refusal once left a client and an nginx timer for a minute
    // (4 million entries, 160 MB, here; billions at 1e8/s).
    let (r, peak, _) = run_measured(
        r#"
        duration = "2s"
        [traffic]
        rate = "1000000/s"
        timeout = "60s"
        [app.endpoints.home]
        steps = [{ cpu = "1h" }]
        [eras.stone]
        fpm = { pm = "static", max_children = 1, listen_backlog = 1 }
    "#,
    );
    assert!(r.totals.outcomes[r.outcome_id("backlog_full_502").unwrap()] > 1_900_000);
    assert!(peak < 24.0 * MB, "{peak}");
}

#[test]
fn timers_of_finished_requests_are_swept() {
    let _serial = serial();
    // Requests that finish in a microsecond, each with a minute's client,
    // nginx and request_terminate_timeout timers: the lanes keep only the
    // timers of requests still in the system.
    let (r, peak, _) = run_measured(
        r#"
        duration = "2s"
        [traffic]
        rate = "1000000/s"
        timeout = "60s"
        [app.endpoints.home]
        steps = [{ cpu = "1us" }]
        [eras.stone]
        host = { cores = 64 }
        fpm = { pm = "static", max_children = 64, request_terminate_timeout = "60s" }
    "#,
    );
    assert!(r.totals.outcomes[lab_core::OutcomeId::OK] > 1_900_000);
    assert!(peak < 24.0 * MB, "{peak}");
}

#[test]
fn killed_jobs_do_not_linger_on_the_cpu() {
    let _serial = serial();
    // Every request killed after 1 s of a 100-hour job: its place in the
    // CPU's marks once stayed until the job would have ended.
    let (r, peak, _) = run_measured(
        r#"
        duration = "20s"
        [traffic]
        rate = "100000/s"
        timeout = "off"
        [app.endpoints.home]
        steps = [{ cpu = "100h" }]
        [eras.stone]
        host = { cores = 4 }
        fpm = { pm = "static", max_children = 10000, listen_backlog = 100, request_terminate_timeout = "1s", spawn_time = "1us" }
        nginx = { fastcgi_read_timeout = "off", worker_connections = 100000 }
    "#,
    );
    // 10,000 children each killed 1 to 1.33 s into a request (on FPM's
    // heartbeat) and forked again at once: over 7,000 a second, each
    // leaving a job that would end in 100 hours.
    assert!(r.totals.outcomes[r.outcome_id("terminated_502").unwrap()] > 120_000);
    assert!(peak < 24.0 * MB, "{peak}");
}

#[test]
fn four_billion_rows_take_memory_only_when_locked() {
    let _serial = serial();
    // A Vec of u32::MAX rows once aborted on allocation.
    let (r, peak, _) = run_measured(
        r#"
        duration = "10s"
        [traffic]
        rate = "1000/s"
        [app.locks.orders]
        rows = 4294967295
        [app.locks.hot]
        rows = 1
        [app.endpoints.buy]
        steps = [{ query = "a", db_wait = "1ms", lock = "orders" }, { query = "b", db_wait = "exp(mean = 0.5ms)", lock = "hot" }]
        [eras.stone]
        fpm = { pm = "static", max_children = 50 }
    "#,
    );
    assert!(r.totals.outcomes[lab_core::OutcomeId::OK] > 9_000);
    assert!(r.totals.counters[r.counter_index("mysql.lock_waits").unwrap()] > 100);
    assert!(peak < 24.0 * MB, "{peak}");
}

#[test]
fn the_largest_pools_and_populations_fit_their_estimate() {
    let _serial = serial();
    // 100,000 FPM children forked at start and 100,000 users (both at
    // their limits), each with a pending wake-up: linear in each, within
    // the estimate.
    let (r, peak, _) = run_measured(
        r#"
        duration = "2s"
        [traffic]
        model = "closed"
        users = 100000
        think = "exp(mean = 10s)"
        [app.endpoints.home]
        steps = [{ cpu = "exp(mean = 10ms)" }]
        [eras.stone]
        host = { cores = 1024 }
        fpm = { pm = "static", max_children = 100000, listen_backlog = 1000000 }
    "#,
    );
    assert!(r.totals.outcomes.total() > 15_000);
    println!("{:.0} bytes per user or child", peak / 2e5);
    assert!(peak < 60.0 * MB, "{peak}");
}
