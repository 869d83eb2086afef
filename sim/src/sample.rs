//! Drawing durations from the scenario's distributions, and the random
//! streams they are drawn from.

use lab_core::scenario::{Dist, DistKind};
use rand::Rng;
use rand_distr::{Distribution, Exp1, LogNormal};

/// The largest draw, 2^63 − 1 ns (292 years): a job that long never ends
/// in a run (at most a year), and the top bit stays free to mark a demand
/// drawn ahead (`feed::DRAWN`).
pub const MAX_DRAW: u64 = u64::MAX / 2;

/// A distribution compiled for sampling: parameters precomputed, no
/// allocation per draw.
#[derive(Clone, Debug)]
pub enum Sampler {
    Const(u64),
    Exp {
        mean: f64,
    },
    Uniform {
        min: u64,
        max: u64,
    },
    LogNormal(LogNormal<f64>),
    /// Components with cumulative weights; the last is 1.
    Mix(Box<[(f64, Sampler)]>),
    /// A constant added to every draw (an endpoint's overhead on its queries).
    Shifted(u64, Box<Sampler>),
}

impl Sampler {
    pub fn new(d: &Dist) -> Sampler {
        match d.kind() {
            DistKind::Const(c) => Sampler::Const(*c),
            DistKind::Exp { mean } => Sampler::Exp { mean: *mean },
            DistKind::Uniform { min, max } => Sampler::Uniform { min: *min, max: *max },
            DistKind::LogNormal { .. } => {
                let (mu, sigma) = d.lognormal_params().expect("log-normal parameters");
                Sampler::LogNormal(LogNormal::new(mu, sigma).expect("validated log-normal"))
            }
            DistKind::Mix(parts) => {
                let mut acc = 0.0;
                let mut out: Vec<(f64, Sampler)> = parts
                    .iter()
                    .map(|(w, d)| {
                        acc += w;
                        (acc, Sampler::new(d))
                    })
                    .collect();
                if let Some(last) = out.last_mut() {
                    last.0 = 1.0;
                }
                Sampler::Mix(out.into_boxed_slice())
            }
        }
    }

    /// One draw, in whole nanoseconds, at most [`MAX_DRAW`].
    #[inline(always)]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        self.unbounded(rng).min(MAX_DRAW)
    }

    #[inline(always)]
    fn unbounded<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        match self {
            Sampler::Const(c) => *c,
            Sampler::Exp { mean } => {
                let e: f64 = rng.sample(Exp1);
                round_ns(e * mean)
            }
            Sampler::Uniform { min, max } => {
                if min == max {
                    *min
                } else {
                    rng.random_range(*min..=*max)
                }
            }
            Sampler::LogNormal(d) => round_ns(d.sample(rng)),
            Sampler::Mix(parts) => Self::sample_mix(parts, rng),
            Sampler::Shifted(c, s) => c.saturating_add(s.sample(rng)),
        }
    }
}

impl Sampler {
    #[inline(never)]
    fn sample_mix<R: Rng + ?Sized>(parts: &[(f64, Sampler)], rng: &mut R) -> u64 {
        let u: f64 = rng.random();
        let (_, s) = parts.iter().find(|(c, _)| u < *c).unwrap_or(&parts[parts.len() - 1]);
        s.sample(rng)
    }
}

// The rounding lives in lab-core, beside the arrivals it times, which the
// load generator draws too.
pub use lab_core::draw::{TWO_52, round_ns, round_ns_slow};

/// Rounds a time up to whole nanoseconds, without libm; saturates as
/// [`round_ns`] does.
#[inline(always)]
pub fn ceil_ns(x: f64) -> u64 {
    if x < TWO_52 {
        let r = round_ns(x);
        // Without a branch: whether `x` rounded down is a coin toss.
        r + u64::from((r as i64 as f64) < x)
    } else {
        round_ns_slow(x)
    }
}

// The named streams live in lab-core: the load generator draws the very
// same arrivals and endpoints from them (common random numbers across the
// simulated and the real run).
pub use lab_core::streams::{Streams, mix64};

#[cfg(test)]
mod tests {
    use super::*;
    use rand_pcg::Pcg64Mcg;

    fn mean_of(s: &Sampler, n: u32) -> f64 {
        let mut rng = Streams::new(7).request(1);
        (0..n).map(|_| s.sample(&mut rng) as f64).sum::<f64>() / n as f64
    }

    #[test]
    fn no_draw_passes_the_largest() {
        let mut rng = Streams::new(7).request(1);
        let top = 1u64 << 63;
        for s in [
            Sampler::Const(top),
            Sampler::Uniform {
                min: top,
                max: u64::MAX,
            },
            Sampler::Shifted(top, Box::new(Sampler::Const(top))),
            Sampler::Exp { mean: 1e30 },
        ] {
            assert_eq!(s.sample(&mut rng), MAX_DRAW, "{s:?}");
        }
    }

    #[test]
    fn sample_means_match_the_distributions() {
        for text in [
            "exp(mean = 20ms)",
            "uniform(1ms, 3ms)",
            "lognormal(median = 4ms, p99 = 40ms)",
            "mix(90% 1ms, 10% 11ms)",
        ] {
            let d = Dist::parse(text).unwrap();
            let m = mean_of(&Sampler::new(&d), 400_000);
            assert!((m / d.mean() - 1.0).abs() < 0.01, "{text}: {m} vs {}", d.mean());
        }
        assert_eq!(mean_of(&Sampler::Const(5), 10), 5.0);
    }

    #[test]
    fn lognormal_hits_its_p99() {
        let d = Dist::parse("lognormal(median = 4ms, p99 = 40ms)").unwrap();
        let s = Sampler::new(&d);
        let mut rng = Streams::new(3).request(9);
        let mut v: Vec<u64> = (0..200_000).map(|_| s.sample(&mut rng)).collect();
        v.sort_unstable();
        let p50 = v[v.len() / 2] as f64;
        let p99 = v[v.len() * 99 / 100] as f64;
        assert!((p50 / 4e6 - 1.0).abs() < 0.02, "{p50}");
        assert!((p99 / 40e6 - 1.0).abs() < 0.05, "{p99}");
    }

    #[test]
    fn rounding_without_libm() {
        assert_eq!(round_ns(2.49), 2);
        assert_eq!(round_ns(2.51), 3);
        assert_eq!(round_ns(3.5), 4);
        assert_eq!(round_ns(0.0), 0);
        assert_eq!(ceil_ns(2.0), 2);
        assert_eq!(ceil_ns(2.000001), 3);
        assert_eq!(ceil_ns(0.0), 0);
        assert_eq!(round_ns(1e300), u64::MAX);
        assert_eq!(round_ns(1e17), 100_000_000_000_000_000);
        assert_eq!(ceil_ns(1e17 + 0.5), 100_000_000_000_000_000);
        assert_eq!(ceil_ns(7.2), 8);
    }

    #[test]
    fn ceil_ns_is_the_ceiling() {
        // Against the integer it rounds to, converted back (as it once
        // was computed), on random values of every size and on values a
        // hair either side of whole numbers.
        let mut rng = Pcg64Mcg::new(0x5eed_0000_0000_0001);
        for i in 0..200_000 {
            let scale = 2f64.powi((i % 53) as i32);
            let mut x: f64 = rng.random::<f64>() * scale;
            if i % 3 == 0 {
                x = x.round() + [-1e-9, 0.0, 1e-9][i % 9 / 3] * scale.max(1.0);
            }
            if !(0.0..TWO_52).contains(&x) {
                continue;
            }
            let r = round_ns(x);
            let want = if (r as i64 as f64) < x { r + 1 } else { r };
            assert_eq!(ceil_ns(x), want, "{x}");
            assert_eq!(ceil_ns(x) as f64, x.ceil(), "{x}");
        }
    }

    #[test]
    fn rounding_saturates_on_hostile_values() {
        // Once 0 (a NaN demand finished at once) or an overflow panic.
        for x in [f64::NAN, f64::INFINITY, 2e19, 1e300] {
            assert_eq!(round_ns(x), u64::MAX, "{x}");
            assert_eq!(ceil_ns(x), u64::MAX, "{x}");
        }
        for x in [-0.0, -0.2, -1e-300] {
            assert_eq!(round_ns(x), 0, "{x}");
            assert_eq!(ceil_ns(x), 0, "{x}");
        }
        assert_eq!(round_ns(TWO_52), 1 << 52);
        assert_eq!(round_ns(TWO_52 - 1.0), (1 << 52) - 1);
        assert_eq!(ceil_ns(TWO_52 - 0.5), 1 << 52);
        // A draw from a huge mean stays a time that never comes.
        let s = Sampler::Exp { mean: 1e300 };
        assert_eq!(s.sample(&mut Streams::new(1).request(1)), MAX_DRAW);
    }

    #[test]
    fn request_streams_are_reproducible_and_distinct() {
        let s = Streams::new(42);
        let a: u32 = s.request(5).random();
        let b: u32 = s.request(5).random();
        let c: u32 = s.request(6).random();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
