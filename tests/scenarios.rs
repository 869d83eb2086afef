//! Every scenario shipped in scenarios/ loads and runs, every era of it.

use std::path::{Path, PathBuf};

use lab_core::scenario;

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            toml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

#[test]
fn every_shipped_scenario_loads_and_runs() {
    let mut files = Vec::new();
    toml_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"), &mut files);
    files.sort();
    assert!(files.len() >= 4, "flash-sale plus the theory scenarios: {files:?}");
    for file in &files {
        let s = scenario::load(file).unwrap_or_else(|e| panic!("{e}"));
        for era in &s.eras {
            let run = lab_sim::run(&s, era, &mut |_| {}).unwrap();
            let r = &run.record;
            let expected_windows = s.duration.div_ceil(s.stats.window) as usize;
            assert_eq!(r.windows.len(), expected_windows, "{}: {}", file.display(), era.label);
            assert!(
                r.totals.arrivals > 0,
                "{}: {} saw no traffic",
                file.display(),
                era.label
            );
            assert!(
                r.totals.outcomes[lab_core::OutcomeId::OK] > 0,
                "{}: {} served nothing",
                file.display(),
                era.label
            );
        }
    }
}

#[test]
fn the_flash_sale_shows_what_breaks_in_each_era() {
    let s = scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/flash-sale.toml")).unwrap();
    let labels: Vec<_> = s.eras.iter().map(|e| e.label.as_str()).collect();
    assert_eq!(labels, ["stone", "bronze", "silver", "gold"]);
    let records: Vec<_> = s
        .eras
        .iter()
        .map(|e| lab_sim::run(&s, e, &mut |_| {}).unwrap().record)
        .collect();
    for r in &records {
        let busy = r.gauge_index("fpm.busy").unwrap();
        let spec = &r.gauges[busy];
        // FPM saturates during the spike: every child busy in some window
        // (in gold the pools are summed, and the front's, which waits for
        // the services, is sized to wait for them all).
        let peak = r.windows.iter().map(|w| w.gauges[busy].mean).fold(0.0, f64::max);
        assert!(
            r.meta.model == "gold" || peak > 0.95 * spec.capacity.unwrap(),
            "{}: FPM never saturates ({peak})",
            r.meta.era
        );
        assert!(
            r.totals.outcomes[r.outcome_id("backlog_full_502").unwrap()] > 0,
            "{}: the backlog never overflows",
            r.meta.era
        );
        let slow = r.totals.counters[r.counter_index("mysql.slow_queries").unwrap()];
        assert!(slow > 0, "{}: no slow query", r.meta.era);
        // Before the spike the typical window's median request is quick (a
        // burst of slow searches can still stall the stone server for a
        // second or two); at the peak requests wait in FPM's listen backlog.
        let typical_p50 = |from: usize, to: usize| {
            let mut v: Vec<u64> = r.windows[from..to]
                .iter()
                .filter_map(|w| w.latency.percentile(scenario::Percentile::P50))
                .collect();
            v.sort_unstable();
            v[v.len() / 2]
        };
        assert!(
            typical_p50(0, 55) < 50_000_000,
            "{}: p50 {} ns before the spike",
            r.meta.era,
            typical_p50(0, 55)
        );
        assert!(
            typical_p50(80, 100) > 300_000_000,
            "{}: p50 {} ns at the peak",
            r.meta.era,
            typical_p50(80, 100)
        );
    }
    // Separate machines cope better than one.
    assert!(records[1].totals.throughput() > records[0].totals.throughput());
    // Silver spends about bronze's money on two smaller web nodes: about
    // bronze's throughput, at a higher price per success.
    let ratio = records[2].totals.throughput() / records[1].totals.throughput();
    assert!((0.9..1.1).contains(&ratio), "silver/bronze throughput {ratio}");
    assert!(records[2].meta.price_per_hour > records[1].meta.price_per_hour);
    // Gold splits the shop into services on the same database: it pays for
    // its front and balancers and does not get past the database either.
    let ratio = records[3].totals.throughput() / records[2].totals.throughput();
    assert!((0.85..1.1).contains(&ratio), "gold/silver throughput {ratio}");
    assert!(records[3].meta.price_per_hour > records[2].meta.price_per_hour);
    let w = records[3].wait_index("rpc.catalog").unwrap();
    assert!(records[3].totals.waits[w].count() > 0);
}

#[test]
fn the_checkout_rush_moves_the_mix_and_the_row_lock_breaks() {
    let s = scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/checkout-rush.toml")).unwrap();
    let sec = 1_000_000_000;
    assert!((s.traffic.mix.share(1, 20 * sec) - 0.1).abs() < 1e-12);
    assert!((s.traffic.mix.share(1, 35 * sec) - 0.35).abs() < 1e-12);
    assert!((s.traffic.mix.share(1, 60 * sec) - 0.6).abs() < 1e-12);
    for era in &s.eras {
        let r = lab_sim::run(&s, era, &mut |_| {}).unwrap().record;
        let checkouts = |from: usize, to: usize| {
            let ended = |e: usize| {
                r.windows[from..to]
                    .iter()
                    .map(|w| w.endpoints[e].outcomes.total())
                    .sum::<u64>()
            };
            ended(1) as f64 / (ended(0) + ended(1)) as f64
        };
        assert!(
            (0.08..0.12).contains(&checkouts(5, 30)),
            "{}: {}",
            era.label,
            checkouts(5, 30)
        );
        assert!(
            (0.5..0.7).contains(&checkouts(45, 70)),
            "{}: {}",
            era.label,
            checkouts(45, 70)
        );
        // The row, not the CPU: workers wait on the lock and the backlog
        // overflows in the sale, never outside it.
        let full = r.outcome_id("backlog_full_502").unwrap();
        let refused = |from: usize, to: usize| r.windows[from..to].iter().map(|w| w.outcomes[full]).sum::<u64>();
        assert_eq!(refused(0, 40), 0, "{}", era.label);
        assert!(refused(40, 90) > 100, "{}: {}", era.label, refused(40, 90));
        assert_eq!(refused(100, 120), 0, "{}", era.label);
        let cpu = r.gauge_index(if era.label == "stone" { "server.cpu" } else { "web.cpu" });
        let cpu = cpu.unwrap();
        let cores = r.gauges[cpu].capacity.unwrap();
        let busy = r.windows[45..70].iter().map(|w| w.gauges[cpu].mean).sum::<f64>() / 25.0 / cores;
        assert!(busy < 0.75, "{}: CPU {busy}", era.label);
        let waiting = r.gauge_index("mysql.lock_waiters").unwrap();
        let waiting = r.windows[45..70].iter().map(|w| w.gauges[waiting].mean).sum::<f64>() / 25.0;
        assert!(waiting > 30.0, "{}: {waiting} waiting for the row", era.label);
    }
}

/// What `lab validate` compares against the real stack must first hold in
/// the simulation: bronze copes at ~50 % and ~90 % of its capacity and
/// answers 502 only while overloaded; silver's clients see the failover
/// gap as SYN retransmissions and recover after it.
#[test]
fn the_validation_scenarios_show_what_they_are_sized_for() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let s = scenario::load(&dir.join("validate-bronze.toml")).unwrap();
    let r = lab_sim::run(&s, &s.eras[0], &mut |_| {}).unwrap().record;
    let full = r.outcome_id("backlog_full_502").unwrap();
    let refused = |from: usize, to: usize| r.windows[from..to].iter().map(|w| w.outcomes[full]).sum::<u64>();
    assert_eq!(refused(0, 40), 0, "502s before the overload");
    assert!(
        refused(40, 50) > 300,
        "the overload fills the backlog: {}",
        refused(40, 50)
    );
    let ok = |from: usize, to: usize| {
        r.windows[from..to]
            .iter()
            .map(|w| w.outcomes[lab_core::OutcomeId::OK])
            .sum::<u64>() as f64
            / (to - from) as f64
    };
    assert!(
        (90.0..110.0).contains(&ok(2, 20)),
        "~100/s served at 50 %: {}",
        ok(2, 20)
    );
    assert!(
        (165.0..195.0).contains(&ok(22, 40)),
        "~180/s served at 90 %: {}",
        ok(22, 40)
    );
    let busy = r.gauge_index("web.cpu").unwrap();
    let mean_busy = |from: usize, to: usize| {
        r.windows[from..to].iter().map(|w| w.gauges[busy].mean).sum::<f64>() / (to - from) as f64
    };
    assert!(
        (0.4..0.6).contains(&mean_busy(2, 20)),
        "web CPU at 50 %: {}",
        mean_busy(2, 20)
    );
    assert!(
        (0.8..0.97).contains(&mean_busy(22, 40)),
        "web CPU at 90 %: {}",
        mean_busy(22, 40)
    );

    let s = scenario::load(&dir.join("validate-silver.toml")).unwrap();
    let r = lab_sim::run(&s, &s.eras[0], &mut |_| {}).unwrap().record;
    let p99 = |i: usize| r.windows[i].latency.percentile(scenario::Percentile::P99).unwrap_or(0);
    // Nobody answers SYNs to the address for ~2.6–3.6 s after the cut at
    // 20 s: those requests wait for the kernel's retransmission, 1 s on.
    assert!((20..25).any(|i| p99(i) > 1_000_000_000), "no failover gap");
    assert!((2..20).all(|i| p99(i) < 200_000_000), "slow before the fault");
    assert!((30..60).all(|i| p99(i) < 200_000_000), "no recovery after the gap");
}
