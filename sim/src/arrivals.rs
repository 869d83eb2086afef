//! Poisson arrivals whose rate follows a piecewise-linear profile, by
//! inverting the cumulative rate: the next arrival after `t` is where the
//! expected number of arrivals since `t` reaches an Exp(1) draw. Exact (no
//! thinning), one draw per arrival, and O(1) amortised because time only
//! moves forward through the profile's segments.

use lab_core::scenario::RateProfile;

use crate::sample::round_ns;

pub struct Arrivals {
    /// `(time ns, rate per ns)`.
    points: Vec<(f64, f64)>,
    seg: usize,
    t: f64,
    /// Mean gap after the last point (1 / its rate): one multiply per
    /// arrival on a constant rate instead of a division.
    last_gap: f64,
}

impl Arrivals {
    pub fn new(profile: &RateProfile) -> Arrivals {
        let points: Vec<(f64, f64)> = profile.points().iter().map(|&(t, r)| (t as f64, r / 1e9)).collect();
        let last_rate = points.last().map_or(0.0, |p| p.1);
        Arrivals {
            points,
            seg: 0,
            t: 0.0,
            last_gap: if last_rate > 0.0 { 1.0 / last_rate } else { 0.0 },
        }
    }

    /// The next arrival time given an Exp(1) draw, or `None` when the rate
    /// stays at zero from here on.
    pub fn next(&mut self, mut e: f64) -> Option<u64> {
        loop {
            let (a, ra) = self.points[self.seg];
            let Some(&(b, rb)) = self.points.get(self.seg + 1) else {
                if ra <= 0.0 {
                    return None;
                }
                self.t += e * self.last_gap;
                return Some(round_ns(self.t));
            };
            if b <= a || self.t >= b {
                self.seg += 1;
                self.t = self.t.max(b);
                continue;
            }
            let k = (rb - ra) / (b - a);
            let rt = ra + k * (self.t - a);
            let mass = (rt + rb) / 2.0 * (b - self.t);
            if mass < e {
                e -= mass;
                self.t = b;
                self.seg += 1;
                continue;
            }
            // Solve k/2·x² + rt·x = e in the form that is stable when k → 0.
            let disc = (rt * rt + 2.0 * k * e).max(0.0);
            let x = 2.0 * e / (rt + disc.sqrt());
            self.t += x;
            return Some(round_ns(self.t));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Exp1};
    use rand_pcg::Pcg64Mcg;

    const S: u64 = 1_000_000_000;

    fn count_in(profile: &RateProfile, from: u64, to: u64, seed: u64) -> usize {
        let mut a = Arrivals::new(profile);
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let mut n = 0;
        while let Some(t) = a.next(Exp1.sample(&mut rng)) {
            if t >= to {
                break;
            }
            if t >= from {
                n += 1;
            }
        }
        n
    }

    #[test]
    fn counts_follow_the_profile() {
        let p = RateProfile::new(vec![
            (0, 100.0),
            (10 * S, 100.0),
            (20 * S, 1000.0),
            (30 * S, 1000.0),
            (30 * S, 0.0),
        ])
        .unwrap();
        // Expected counts are the integral of the rate; Poisson sd is sqrt(mean).
        for (from, to) in [(0, 10 * S), (10 * S, 20 * S), (20 * S, 30 * S)] {
            let expected = p.cumulative(to) - p.cumulative(from);
            let n = count_in(&p, from, to, 11) as f64;
            assert!(
                (n - expected).abs() < 4.0 * expected.sqrt(),
                "{from}..{to}: {n} vs {expected}"
            );
        }
        assert_eq!(count_in(&p, 30 * S, 100 * S, 11), 0);
    }

    #[test]
    fn constant_rate_has_exponential_gaps() {
        let p = RateProfile::constant(50.0);
        let mut a = Arrivals::new(&p);
        let mut rng = Pcg64Mcg::seed_from_u64(5);
        let n = 100_000;
        let mut last = 0;
        let mut sum = 0.0;
        for _ in 0..n {
            let t = a.next(Exp1.sample(&mut rng)).unwrap();
            sum += (t - last) as f64;
            last = t;
        }
        let mean_gap = sum / n as f64;
        assert!((mean_gap / 20e6 - 1.0).abs() < 0.01, "{mean_gap}");
    }
}
