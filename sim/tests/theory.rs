//! The simulator against queueing theory, on the scenarios in
//! scenarios/theory/ (M/M/1, M/M/4 and M/M/2/6 written in lab's format).
//!
//! Tolerances come from the runs themselves: each estimate is checked by
//! batch means over the one-minute windows (each window spans hundreds of
//! the queue's relaxation times, so window means are close to independent).
//! An estimate must lie within 5 standard errors of theory, and the
//! standard error must be small enough (a few per cent) for the check to
//! catch a wrong model.

mod support;

use support::{batch_means, erlang_c};

use std::path::PathBuf;

use lab_core::record::outcomes::BACKLOG_FULL;
use lab_core::{Record, scenario};

fn simulate(file: &str) -> Record {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/theory")
        .join(file);
    let s = scenario::load(&path).unwrap();
    lab_sim::run(&s, &s.eras[0], &mut |_| {})
        .unwrap_or_else(|e| panic!("{e}"))
        .record
}

fn check(what: &str, (mean, se): (f64, f64), theory: f64, max_rel_se: f64) {
    println!("{what}: simulated {mean:.6} ± {se:.6}, theory {theory:.6}");
    assert!(
        se / theory < max_rel_se,
        "{what}: the run is too short to test anything (se {se} vs {theory})"
    );
    assert!(
        (mean - theory).abs() < 5.0 * se,
        "{what}: {mean} is {:.1} standard errors from {theory}",
        (mean - theory).abs() / se
    );
}

#[test]
fn mm1_mean_wait_time_in_system_and_littles_law() {
    let r = simulate("mm1.toml");
    let (lambda, mu) = (80.0, 100.0);
    let rho: f64 = lambda / mu;
    let backlog = r.wait_index("queue_wait").unwrap();
    let waits = batch_means(&r, |w| w.waits[backlog].mean().map(|ns| ns / 1e9));
    check("M/M/1 Wq (s)", waits, rho / (mu - lambda), 0.03);
    let sojourn = batch_means(&r, |w| w.latency.mean().map(|ns| ns / 1e9));
    check("M/M/1 W (s)", sojourn, 1.0 / (mu - lambda), 0.03);
    let in_system = r.gauge_index("requests.in_system").unwrap();
    let l = batch_means(&r, |w| Some(w.gauges[in_system].mean));
    check("M/M/1 L", l, rho / (1.0 - rho), 0.03);

    // Little's law holds on every sample path: L = λ W with the measured
    // arrival rate and time in system, up to requests straddling the ends.
    let t = &r.totals;
    let lambda_hat = t.arrivals as f64 / (t.span as f64 / 1e9);
    let w_hat = t.latency.mean().unwrap() / 1e9;
    let l_hat = t.gauges[in_system].mean;
    println!("Little: L = {l_hat:.4}, λW = {:.4}", lambda_hat * w_hat);
    assert!((l_hat / (lambda_hat * w_hat) - 1.0).abs() < 0.005);
    assert_eq!(t.outcomes.errors(), 0);
}

#[test]
fn mm4_wait_matches_erlang_c() {
    let r = simulate("mm4.toml");
    let (lambda, mu, c) = (360.0, 100.0, 4);
    let pw = erlang_c(c, lambda / mu);
    let backlog = r.wait_index("queue_wait").unwrap();
    let waits = batch_means(&r, |w| w.waits[backlog].mean().map(|ns| ns / 1e9));
    check("M/M/4 Wq (s)", waits, pw / (f64::from(c) * mu - lambda), 0.03);
    // P(wait > 0): waits under a microsecond are the ones served at once.
    // Windows keep a wait's figures, not its histogram, so this is the
    // whole run's: within 2 % of theory (batch means put it within 1 %).
    let l = &r.totals.waits[backlog];
    let delayed = 1.0 - l.histogram().count_between(0, 999) as f64 / l.count() as f64;
    println!("M/M/4 P(wait): simulated {delayed:.6}, theory {pw:.6}");
    assert!((delayed / pw - 1.0).abs() < 0.02, "{delayed} vs {pw}");
    assert!(
        r.totals.arrivals > 1_900_000,
        "about 2,000,000 customers: {}",
        r.totals.arrivals
    );
}

#[test]
fn mm2k_blocking_matches_the_closed_form() {
    let r = simulate("mm2k.toml");
    let (a, c, k) = (1.9f64, 2u32, 6u32);
    let term = |n: u32| -> f64 {
        let fact = |m: u32| (1..=m).map(f64::from).product::<f64>();
        if n <= c {
            a.powi(n as i32) / fact(n)
        } else {
            a.powi(n as i32) / (fact(c) * f64::from(c).powi((n - c) as i32))
        }
    };
    let p0 = 1.0 / (0..=k).map(term).sum::<f64>();
    let blocking = term(k) * p0;
    let refused = r.outcome_id(&BACKLOG_FULL.key).unwrap();
    let est = batch_means(&r, |w| {
        let total = w.outcomes.total();
        (total > 0).then(|| w.outcomes[refused] as f64 / total as f64)
    });
    check("M/M/2/6 blocking", est, blocking, 0.03);
    let backlog = r.gauge_index("fpm.backlog").unwrap();
    assert!(
        r.windows.iter().all(|w| w.gauges[backlog].max <= 4.0),
        "the backlog never holds more than K − c"
    );
}
