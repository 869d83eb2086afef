//! What the load generator sends and when: the open model's requests (their
//! times and endpoints) and closed users' think times.
//!
//! The open model's requests are the simulator's: [`lab_core::draw`] draws
//! them for both, so request *n* of a real run arrives at the time and asks
//! for the endpoint it does in a simulated run of the same scenario and
//! seed, whether the mix is constant or follows the profile.

use lab_core::Scenario;
use lab_core::draw::OpenDraws;
use lab_core::scenario::{Dist, DistKind, Mix, RateProfile, Workload};
use rand::Rng;
use rand_distr::{Distribution, Exp1, StandardNormal};

/// The open model's requests a drive of `scenario` sends, `(intended time
/// in ns from the start of the run, endpoint index)`, up to the end of the
/// run; none for a closed model, whose users send when they are answered.
pub fn requests(scenario: &Scenario) -> impl Iterator<Item = (u64, usize)> + use<> {
    let end = scenario.duration;
    let open = match &scenario.traffic.workload {
        Workload::Open(p) => Some(open(p, &scenario.traffic.mix, scenario.seed)),
        Workload::Closed { .. } => None,
    };
    open.into_iter().flatten().take_while(move |r| r.0 < end)
}

/// The open model's requests, `(intended time in ns from the start of the
/// run, endpoint index)`, in order, until the rate stays at zero.
pub fn open(profile: &RateProfile, mix: &Mix, seed: u64) -> impl Iterator<Item = (u64, usize)> + Send + use<> {
    let mut draws = OpenDraws::new(profile, mix, seed);
    std::iter::from_fn(move || {
        let d = draws.draw();
        d.time.map(|t| (t, d.endpoint as usize))
    })
    .fuse()
}

/// One draw of a duration distribution (a closed user's think time), in ns.
pub fn sample<R: Rng + ?Sized>(d: &Dist, rng: &mut R) -> u64 {
    match d.kind() {
        DistKind::Const(c) => *c,
        DistKind::Exp { mean } => (rng.sample::<f64, _>(Exp1) * mean) as u64,
        DistKind::Uniform { min, max } => {
            if min == max {
                *min
            } else {
                rng.random_range(*min..=*max)
            }
        }
        DistKind::LogNormal { .. } => {
            let (mu, sigma) = d.lognormal_params().expect("a log-normal has its parameters");
            let z: f64 = StandardNormal.sample(rng);
            (mu + sigma * z).exp().min(u64::MAX as f64 / 2.0) as u64
        }
        DistKind::Mix(parts) => {
            let u: f64 = rng.random();
            let mut acc = 0.0;
            for (w, part) in parts {
                acc += w;
                if u < acc {
                    return sample(part, rng);
                }
            }
            sample(&parts[parts.len() - 1].1, rng)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_pcg::Pcg64Mcg;

    const S: u64 = 1_000_000_000;

    fn times(p: &RateProfile, seed: u64) -> impl Iterator<Item = u64> {
        open(p, &Mix::constant(vec![(0, 1.0)]), seed).map(|r| r.0)
    }

    #[test]
    fn arrivals_follow_the_profile() {
        let p = RateProfile::new(vec![
            (0, 1000.0),
            (10 * S, 1000.0),
            (10 * S, 0.0),
            (20 * S, 0.0),
            (20 * S, 4000.0),
        ])
        .unwrap();
        let mut counts = [0u64; 3];
        let mut last = 0;
        for t in times(&p, 7) {
            if t >= 30 * S {
                break;
            }
            assert!(t >= last, "arrivals go forward");
            last = t;
            counts[(t / (10 * S)) as usize] += 1;
        }
        // Poisson counts within 3.5 standard deviations (√n) of their means.
        let near = |n: u64, mean: f64| (n as f64 - mean).abs() < 3.5 * mean.sqrt();
        assert!(near(counts[0], 10_000.0), "{counts:?}");
        assert_eq!(counts[1], 0, "none in the gap");
        assert!(near(counts[2], 40_000.0), "{counts:?}");
    }

    #[test]
    fn a_ramp_is_integrated() {
        // 0 to 2,000/s over 10 s: 2,500 arrivals in the first half, 7,500 in the second.
        let p = RateProfile::new(vec![(0, 0.0), (10 * S, 2000.0)]).unwrap();
        let mut halves = [0u64; 2];
        for t in times(&p, 11).take_while(|t| *t < 10 * S) {
            halves[(t / (5 * S)) as usize] += 1;
        }
        let near = |n: u64, mean: f64| (n as f64 - mean).abs() < 3.5 * mean.sqrt();
        assert!(near(halves[0], 2500.0) && near(halves[1], 7500.0), "{halves:?}");
    }

    #[test]
    fn a_zero_rate_ends_the_arrivals() {
        assert_eq!(times(&RateProfile::constant(0.0), 1).next(), None);
    }

    #[test]
    fn the_mix_keeps_its_weights_and_skips_idle_endpoints() {
        let m = Mix::constant(vec![(0, 0.75), (1, 0.0), (2, 0.25)]);
        let mut n = [0u32; 3];
        for (_, e) in open(&RateProfile::constant(1000.0), &m, 3).take(100_000) {
            n[e] += 1;
        }
        assert_eq!(n[1], 0);
        assert!((f64::from(n[0]) / 75_000.0 - 1.0).abs() < 0.02, "{n:?}");
    }

    #[test]
    fn samples_have_their_distributions_means() {
        let mut rng = Pcg64Mcg::seed_from_u64(5);
        for text in [
            "exp(mean = 20ms)",
            "uniform(1ms, 3ms)",
            "lognormal(median = 4ms, p99 = 40ms)",
            "mix(90% 1ms, 10% 11ms)",
        ] {
            let d = Dist::parse(text).unwrap();
            let n = 200_000;
            let mean = (0..n).map(|_| sample(&d, &mut rng) as f64).sum::<f64>() / f64::from(n);
            assert!((mean / d.mean() - 1.0).abs() < 0.02, "{text}: {mean} vs {}", d.mean());
        }
    }
}
