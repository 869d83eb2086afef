//! A mix that follows the profile's points: the endpoints drawn in each
//! stretch of the run follow the mix interpolated there, weighted by the
//! arrivals; and a constant mix still draws what it always drew.

mod support;

use std::path::Path;

use lab_core::draw::Arrivals;
use lab_core::scenario::{self, Scenario, Workload};
use lab_core::streams::Streams;
use rand::Rng;
use rand_distr::{Distribution, Exp1};
use support::run;

const S: u64 = 1_000_000_000;

/// Home's 90 % falls to 20 % while the rate climbs from 1,000/s to
/// 3,000/s between 10 s and 20 s; both then hold.
const RUSH: &str = r#"
    seed = 11
    duration = "30s"
    [stats]
    window = "1s"
    [traffic]
    profile = [
        { at = "0s", rate = "1000/s" },
        { at = "10s", rate = "1000/s" },
        { at = "20s", rate = "3000/s", mix = { home = 20, checkout = 80 } },
        { at = "30s", rate = "3000/s", mix = { home = 2, checkout = 8 } },
    ]
    [traffic.mix]
    home = 90
    checkout = 10
    [app.endpoints.home]
    steps = [{ cpu = "50us" }]
    [app.endpoints.checkout]
    steps = [{ cpu = "50us" }]
    [eras.stone]
    host = { cores = 16 }
    fpm = { pm = "static", max_children = 32 }
"#;

fn parse(text: &str) -> Scenario {
    scenario::parse(text, Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// Checkout's expected share of the arrivals in `[from, to)`: the rate ×
/// share integrated over the stretch, over the rate integrated, in steps of
/// a millisecond.
fn expected_share(s: &Scenario, from: u64, to: u64) -> f64 {
    let Workload::Open(profile) = &s.traffic.workload else {
        unreachable!()
    };
    let (mut both, mut rate) = (0.0, 0.0);
    let step = 1_000_000;
    for t in (from..to).step_by(step as usize) {
        let mid = t + step / 2;
        let r = profile.rate_at(mid);
        both += r * s.traffic.mix.share(1, mid);
        rate += r;
    }
    both / rate
}

/// `k` of `n` within four binomial standard deviations (plus `slack`
/// requests) of a share `p`.
#[track_caller]
fn near(what: &str, k: u64, n: u64, p: f64, slack: f64) {
    let n_f = n as f64;
    let sd = (n_f * p * (1.0 - p)).sqrt();
    let diff = (k as f64 - n_f * p).abs();
    assert!(
        diff <= 4.0 * sd + slack,
        "{what}: {k} of {n} ({:.4}), expected {p:.4} ± {:.4}",
        k as f64 / n_f,
        (4.0 * sd + slack) / n_f
    );
}

#[test]
fn the_drawn_endpoints_follow_the_interpolated_mix() {
    let s = parse(RUSH);
    let draws: Vec<(u64, u32)> = lab_sim::arrivals(&s).collect();
    let count = |from: u64, to: u64| {
        let inside = draws.iter().filter(|(t, _)| (from..to).contains(t));
        let (n, k) = inside.fold((0, 0), |(n, k), d| (n + 1, k + u64::from(d.1 == 1)));
        (k, n)
    };
    // The start, the middle of the ramp, the end: 10 %, then checkout at
    // 15 s holds 45 % (a share interpolated halfway), 80 % at the end.
    assert!((expected_share(&s, 0, 10 * S) - 0.1).abs() < 1e-9);
    assert!((s.traffic.mix.share(1, 15 * S) - 0.45).abs() < 1e-12);
    assert!((expected_share(&s, 20 * S, 30 * S) - 0.8).abs() < 1e-9);
    for (from, to) in [(0, 10 * S), (14 * S, 16 * S), (20 * S, 30 * S)] {
        let (k, n) = count(from, to);
        near(&format!("{from}..{to}"), k, n, expected_share(&s, from, to), 0.0);
    }
    // Every second of the ramp, where both the rate and the mix move.
    for w in 10..20 {
        let (k, n) = count(w * S, (w + 1) * S);
        near(
            &format!("second {w}"),
            k,
            n,
            expected_share(&s, w * S, (w + 1) * S),
            0.0,
        );
    }
}

#[test]
fn the_run_serves_the_interpolated_mix() {
    // The record's endpoints, window by window: requests take 50 µs on
    // idle cores, so each ends in the window it arrived in (a few at the
    // edge excepted: the slack).
    let s = parse(RUSH);
    let r = run(RUSH);
    let (home, checkout) = (0, 1);
    for w in [0usize, 5, 12, 15, 18, 25, 29] {
        let win = &r.windows[w];
        let k = win.endpoints[checkout].outcomes.total();
        let n = k + win.endpoints[home].outcomes.total();
        let (from, to) = (w as u64 * S, (w as u64 + 1) * S);
        near(&format!("window {w}"), k, n, expected_share(&s, from, to), 5.0);
    }
}

#[test]
fn a_constant_mix_draws_what_it_always_drew() {
    // Written out as the simulator drew before a mix could change: the
    // n-th Exp(1) of the traffic stream timed by the profile, and the
    // first number of request n's stream against the mix's cumulative
    // shares, in [traffic.mix]'s order.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let s = scenario::load(&root.join("scenarios/flash-sale.toml")).unwrap();
    assert!(s.traffic.mix.is_constant());
    let Workload::Open(profile) = &s.traffic.workload else {
        unreachable!()
    };
    let mut acc = 0.0;
    let cumulative: Vec<(f64, u32)> = (s.traffic.mix.at(0).into_iter())
        .map(|(e, w)| {
            acc += w;
            (acc, e as u32)
        })
        .collect();
    let streams = Streams::new(s.seed);
    let mut traffic = streams.traffic();
    let mut arrivals = Arrivals::new(profile);
    let mut n = 0;
    for (t, e) in lab_sim::arrivals(&s) {
        let time = arrivals.next(Exp1.sample(&mut traffic)).unwrap();
        let u: f64 = streams.request(n).random();
        let want = cumulative.iter().find(|c| u < c.0).unwrap_or(&cumulative[4]).1;
        assert_eq!((t, e), (time, want), "request {n}");
        n += 1;
    }
    assert!(n > 100_000, "{n} requests");
}

#[test]
fn points_that_repeat_the_mix_run_as_a_constant_mix() {
    let plain = RUSH
        .replace(", mix = { home = 20, checkout = 80 }", "")
        .replace(", mix = { home = 2, checkout = 8 }", "");
    let repeated = RUSH
        .replace("home = 20, checkout = 80", "home = 9, checkout = 1")
        .replace("home = 2, checkout = 8", "home = 90, checkout = 10");
    assert_eq!(parse(&plain).traffic.mix, parse(&repeated).traffic.mix);
    assert_eq!(
        format!("{:?}", run(&plain).windows),
        format!("{:?}", run(&repeated).windows)
    );
}
