//! What the load generator sends and when: Poisson arrival times that follow
//! the scenario's rate profile, the endpoint of each request drawn from the
//! mix, and closed users' think times.
//!
//! The arrival times are drawn the way the simulator draws them (inverting
//! the cumulative rate: the next arrival after `t` is where the expected
//! number of arrivals since `t` reaches an Exp(1) draw), so a real run and a
//! simulated one offer the same traffic shape.

use lab_core::scenario::{Dist, DistKind, RateProfile};
use rand::Rng;
use rand_distr::{Distribution, Exp1, StandardNormal};

/// Poisson arrivals over a piecewise-linear rate, in nanoseconds from the
/// start of the run. `f64` time is exact to well under a microsecond for
/// any run this crate drives (far finer than a wall clock's timers).
pub struct Arrivals {
    /// `(time ns, rate per ns)`.
    points: Vec<(f64, f64)>,
    seg: usize,
    now: f64,
}

impl Arrivals {
    pub fn new(profile: &RateProfile) -> Arrivals {
        Arrivals {
            points: profile.points().iter().map(|&(t, r)| (t as f64, r / 1e9)).collect(),
            seg: 0,
            now: 0.0,
        }
    }

    /// The next arrival time, `None` when the rate stays at zero for ever.
    pub fn next<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Option<u64> {
        let mut e: f64 = rng.sample(Exp1);
        loop {
            let (a, ra) = self.points[self.seg];
            let Some(&(b, rb)) = self.points.get(self.seg + 1) else {
                if ra <= 0.0 {
                    return None;
                }
                self.now += e / ra;
                return Some(self.now as u64);
            };
            let len = b - a;
            let x0 = (self.now - a).max(0.0);
            if len <= 0.0 || x0 >= len {
                self.seg += 1;
                self.now = self.now.max(b);
                continue;
            }
            let k = (rb - ra) / len;
            let rt = ra + k * x0;
            let mass = (rt + rb) / 2.0 * (len - x0);
            if mass < e {
                e -= mass;
                self.now = b;
                self.seg += 1;
                continue;
            }
            // Solve k/2·x² + rt·x = e in the form that is stable when k → 0.
            let disc = (rt * rt + 2.0 * k * e).max(0.0);
            self.now += 2.0 * e / (rt + disc.sqrt());
            return Some(self.now as u64);
        }
    }
}

/// Draws endpoints by the scenario's mix.
#[derive(Clone, Debug)]
pub struct Mix {
    /// `(endpoint index, cumulative probability)`.
    cumulative: Vec<(usize, f64)>,
}

impl Mix {
    pub fn new(mix: &[(usize, f64)]) -> Mix {
        let mut acc = 0.0;
        let cumulative = mix
            .iter()
            .filter(|(_, p)| *p > 0.0)
            .map(|&(e, p)| {
                acc += p;
                (e, acc)
            })
            .collect();
        Mix { cumulative }
    }

    pub fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        let total = self.cumulative.last().map_or(0.0, |c| c.1);
        let u: f64 = rng.random::<f64>() * total;
        self.cumulative
            .iter()
            .find(|(_, c)| u < *c)
            .or(self.cumulative.last())
            .map_or(0, |c| c.0)
    }
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
        let mut a = Arrivals::new(&p);
        let mut rng = Pcg64Mcg::seed_from_u64(7);
        let mut counts = [0u64; 3];
        let mut last = 0;
        while let Some(t) = a.next(&mut rng) {
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
        let mut a = Arrivals::new(&p);
        let mut rng = Pcg64Mcg::seed_from_u64(11);
        let mut halves = [0u64; 2];
        while let Some(t) = a.next(&mut rng).filter(|t| *t < 10 * S) {
            halves[(t / (5 * S)) as usize] += 1;
        }
        let near = |n: u64, mean: f64| (n as f64 - mean).abs() < 3.5 * mean.sqrt();
        assert!(near(halves[0], 2500.0) && near(halves[1], 7500.0), "{halves:?}");
    }

    #[test]
    fn a_zero_rate_ends_the_arrivals() {
        let mut a = Arrivals::new(&RateProfile::constant(0.0));
        assert_eq!(a.next(&mut Pcg64Mcg::seed_from_u64(1)), None);
    }

    #[test]
    fn the_mix_keeps_its_weights_and_skips_idle_endpoints() {
        let m = Mix::new(&[(0, 0.75), (1, 0.0), (2, 0.25)]);
        let mut rng = Pcg64Mcg::seed_from_u64(3);
        let mut n = [0u32; 3];
        for _ in 0..100_000 {
            n[m.pick(&mut rng)] += 1;
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
