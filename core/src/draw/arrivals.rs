//! Poisson arrivals whose rate follows a piecewise-linear profile, by
//! inverting the cumulative rate: the next arrival after `t` is where the
//! expected number of arrivals since `t` reaches an Exp(1) draw. Exact (no
//! thinning), one draw per arrival, and O(1) amortised because time only
//! moves forward through the profile's segments.

use super::round_ns;
use crate::scenario::RateProfile;

/// The clock is a whole number of nanoseconds plus an f64 offset, folded
/// into the whole part past this: after months of virtual time an f64 time
/// counts in steps of several nanoseconds, and gaps of 1 ns (10^9 arrivals
/// a second) would be rounded away or doubled. Below it (4.9 hours) the
/// offset alone is the time, exactly as a plain f64 would be.
const FOLD_AT: f64 = (1u64 << 44) as f64;

pub struct Arrivals {
    /// `(time ns, rate per ns)`.
    points: Vec<(u64, f64)>,
    seg: usize,
    /// The time of the last arrival: `origin + off`.
    origin: u64,
    off: f64,
    /// Mean gap after the last point (1 / its rate): one multiply per
    /// arrival on a constant rate instead of a division.
    last_gap: f64,
}

impl Arrivals {
    pub fn new(profile: &RateProfile) -> Arrivals {
        let points: Vec<(u64, f64)> = profile.points().iter().map(|&(t, r)| (t, r / 1e9)).collect();
        let last_rate = points.last().map_or(0.0, |p| p.1);
        Arrivals {
            points,
            seg: 0,
            origin: 0,
            off: 0.0,
            last_gap: if last_rate > 0.0 { 1.0 / last_rate } else { 0.0 },
        }
    }

    /// Moves the clock's offset forward by `x` ns and returns the time.
    #[inline]
    fn step(&mut self, x: f64) -> u64 {
        self.off += x;
        if self.off >= FOLD_AT {
            self.fold();
        }
        self.origin.saturating_add(round_ns(self.off))
    }

    #[cold]
    fn fold(&mut self) {
        // Exact: the offset is below 2^53 here and loses its integer part.
        let whole = self.off as u64;
        self.origin = self.origin.saturating_add(whole);
        self.off -= whole as f64;
    }

    /// `t - a` for a profile point `a` at or before the clock, in ns.
    #[inline]
    fn since(&self, a: u64) -> f64 {
        self.origin.wrapping_sub(a) as i64 as f64 + self.off
    }

    /// The next arrival time given an Exp(1) draw, or `None` when the rate
    /// stays at zero from here on.
    #[inline]
    pub fn next(&mut self, mut e: f64) -> Option<u64> {
        loop {
            let (a, ra) = self.points[self.seg];
            let Some(&(b, rb)) = self.points.get(self.seg + 1) else {
                if ra <= 0.0 {
                    return None;
                }
                return Some(self.step(e * self.last_gap));
            };
            let len = (b - a) as f64;
            let x0 = self.since(a);
            if b <= a || x0 >= len {
                self.seg += 1;
                if x0 < len {
                    (self.origin, self.off) = (b, 0.0);
                }
                continue;
            }
            let k = (rb - ra) / len;
            let rt = ra + k * x0;
            let mass = (rt + rb) / 2.0 * (len - x0);
            if mass < e {
                e -= mass;
                (self.origin, self.off) = (b, 0.0);
                self.seg += 1;
                continue;
            }
            // Solve k/2·x² + rt·x = e in the form that is stable when k → 0.
            let disc = (rt * rt + 2.0 * k * e).max(0.0);
            let x = 2.0 * e / (rt + disc.sqrt());
            return Some(self.step(x));
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

    #[test]
    fn a_billion_a_second_after_a_year_is_a_billion_a_second() {
        // At 3e16 ns an f64 counts in 4 ns steps: 1 ns gaps were rounded to
        // 0 or 4 ns, and a millisecond held 1.8 million arrivals.
        let day = 24 * 3600 * S;
        let p = RateProfile::new(vec![(0, 0.0), (365 * day, 0.0), (365 * day, 1e9)]).unwrap();
        let n = count_in(&p, 365 * day, 365 * day + 1_000_000, 3) as f64;
        assert!((n - 1e6).abs() < 5.0 * 1e3, "{n}");
        // And on a slope, from a tenth of that to the full rate over a day.
        let p = RateProfile::new(vec![(0, 1e8), (300 * day, 1e8), (301 * day, 1e9)]).unwrap();
        let (from, to) = (300 * day + day / 2, 300 * day + day / 2 + 1_000_000);
        let expected = p.cumulative(to) - p.cumulative(from);
        let mut a = Arrivals::new(&p);
        // Skip to the slope: a first "draw" of the expected arrivals until
        // `from` lands there.
        let mut rng = Pcg64Mcg::seed_from_u64(4);
        let mut n = 0.0;
        let mut e = p.cumulative(from);
        while let Some(t) = a.next(e) {
            e = Exp1.sample(&mut rng);
            if t >= to {
                break;
            }
            if t >= from {
                n += 1.0;
            }
        }
        assert!((n - expected).abs() < 5.0 * expected.sqrt(), "{n} vs {expected}");
    }
}
