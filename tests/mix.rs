//! The load generator sends the simulator's requests: for the same seed,
//! request n arrives at the same time for the same endpoint, also when the
//! mix follows the profile (common random numbers between a simulated and
//! a real run).

use std::path::Path;

use lab_core::scenario;

#[test]
fn loadgen_draws_the_simulator_s_requests_with_a_changing_mix() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/checkout-rush.toml");
    let s = scenario::load(&file).unwrap();
    assert!(!s.traffic.mix.is_constant(), "the sale moves the mix");
    let sim: Vec<(u64, usize)> = lab_sim::arrivals(&s).map(|(t, e)| (t, e as usize)).collect();
    let real: Vec<(u64, usize)> = lab_loadgen::requests(&s).collect();
    assert!(sim.len() > 20_000, "{} requests", sim.len());
    assert_eq!(sim.len(), real.len());
    for (n, (a, b)) in sim.iter().zip(&real).enumerate() {
        assert_eq!(a, b, "request {n}");
    }
    // Both endpoints are drawn, checkout far more often in the sale.
    let share = |from: u64, to: u64| {
        let inside: Vec<_> = sim.iter().filter(|r| (from..to).contains(&r.0)).collect();
        inside.iter().filter(|r| r.1 == 1).count() as f64 / inside.len() as f64
    };
    let sec = 1_000_000_000;
    assert!((0.07..0.13).contains(&share(0, 30 * sec)), "{}", share(0, 30 * sec));
    assert!(
        (0.55..0.65).contains(&share(40 * sec, 70 * sec)),
        "{}",
        share(40 * sec, 70 * sec)
    );
    // Another seed, other requests.
    let mut other = s.clone();
    other.seed += 1;
    assert_ne!(lab_loadgen::requests(&other).take(100).collect::<Vec<_>>(), real[..100]);
}
