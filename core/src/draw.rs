//! The draws the simulator and the load generator share: when the open
//! model's requests arrive, which endpoint each asks for, and the stream
//! each request's other draws come from. One implementation, so that the
//! same seed sends the same requests in a simulated run of any era and in
//! a real run (common random numbers, see [`crate::streams`]).

mod arrivals;

use rand::Rng;
use rand_distr::{Distribution, Exp1};
use rand_pcg::Pcg64Mcg;

use crate::scenario::{Mix, RateProfile, lerp};
use crate::streams::Streams;

pub use arrivals::Arrivals;

/// 2^52: adding it to a non-negative f64 below it leaves the number rounded
/// to an integer in the low bits of the mantissa.
pub const TWO_52: f64 = 4_503_599_627_370_496.0;

/// Rounds a non-negative time to whole nanoseconds (to even on a tie),
/// saturating: a draw too large for a `u64`, or NaN, is `u64::MAX`, a time
/// that never comes. (Times are never negative; one above -0.25 gives 0.)
///
/// `f64::round` is a libm call on baseline x86-64 and `as` conversions
/// check for overflow; below 2^52 ns (52 days) the rounding is done by the
/// FPU through the 2^52 trick, beyond it (and for NaN, which fails the
/// comparison) by a saturating conversion.
#[inline(always)]
pub fn round_ns(x: f64) -> u64 {
    if x < TWO_52 {
        debug_assert!(x > -0.25, "a negative time: {x}");
        (x + TWO_52).to_bits() - TWO_52.to_bits()
    } else {
        round_ns_slow(x)
    }
}

#[cold]
pub fn round_ns_slow(x: f64) -> u64 {
    if x.is_nan() {
        u64::MAX
    } else {
        // Saturating: 2^64 and beyond, infinity included, give u64::MAX.
        x as u64
    }
}

/// Draws a request's endpoint from the mix at its time.
#[derive(Clone, Debug)]
pub struct Picker {
    /// A constant mix's cumulative shares, `(up to, endpoint)`: the table
    /// every draw scanned before mixes could change, kept so that they
    /// draw exactly as they did, at the same cost.
    cumulative: Vec<(f64, u32)>,
    /// A mix that changes.
    varying: Option<Varying>,
}

/// The cumulative shares of each of a mix's rows: the cumulative shares at
/// a time are those of the rows around it interpolated (a sum of
/// interpolations is the interpolation of the sums), so a draw searches
/// them as a constant mix's table, without adding up every endpoint.
#[derive(Clone, Debug)]
struct Varying {
    mix: Mix,
    endpoints: Vec<u32>,
    cumulative: Vec<Vec<f64>>,
}

/// Each row's running sums, added in the same order as a constant mix's.
fn running_sums(row: &[f64]) -> Vec<f64> {
    let mut acc = 0.0;
    row.iter()
        .map(|s| {
            acc += s;
            acc
        })
        .collect()
}

impl Picker {
    pub fn new(mix: &Mix) -> Picker {
        let endpoints: Vec<u32> = (mix.endpoints().iter())
            .map(|&e| u32::try_from(e).expect("fewer than 2^32 endpoints"))
            .collect();
        if !mix.is_constant() {
            return Picker {
                cumulative: Vec::new(),
                varying: Some(Varying {
                    cumulative: mix.rows().iter().map(|r| running_sums(r)).collect(),
                    mix: mix.clone(),
                    endpoints,
                }),
            };
        }
        let sums = running_sums(&mix.rows()[0]);
        Picker {
            cumulative: sums.into_iter().zip(endpoints).collect(),
            varying: None,
        }
    }

    /// The endpoint for a uniform draw `u` in [0, 1) at time `t` (ns): the
    /// first whose cumulative share exceeds `u`, or, if rounding left `u`
    /// above them all, the last one with a share.
    #[inline(always)]
    pub fn pick(&self, t: u64, u: f64) -> u32 {
        match &self.varying {
            None => endpoint(&self.cumulative, u),
            Some(v) => v.pick(t, u),
        }
    }
}

/// A scan for the usual few endpoints, a binary search for thousands.
#[inline(always)]
fn endpoint(mix: &[(f64, u32)], u: f64) -> u32 {
    if mix.len() <= 16 {
        mix.iter().find(|(c, _)| u < *c).unwrap_or(&mix[mix.len() - 1]).1
    } else {
        let at = mix.partition_point(|(c, _)| *c <= u);
        mix[at.min(mix.len() - 1)].1
    }
}

impl Varying {
    #[inline(never)]
    fn pick(&self, t: u64, u: f64) -> u32 {
        let (a, b, f) = self.mix.segment(t);
        let (ca, cb) = (&self.cumulative[a], &self.cumulative[b]);
        let below = |j: usize| lerp(ca[j], cb[j], f) <= u;
        let n = self.endpoints.len();
        let at = if n <= 16 {
            (0..n).find(|&j| !below(j)).unwrap_or(n)
        } else {
            let (mut lo, mut hi) = (0, n);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if below(mid) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            lo
        };
        if at < n {
            return self.endpoints[at];
        }
        // Rounding left `u` above every sum: the last endpoint with a share.
        let (ra, rb) = (&self.mix.rows()[a], &self.mix.rows()[b]);
        let last = (0..n).rev().find(|&j| lerp(ra[j], rb[j], f) > 0.0).unwrap_or(n - 1);
        self.endpoints[last]
    }
}

/// One open-model request as drawn: request `id` arrives at `time` (`None`
/// when the rate stays at zero from there on) for `endpoint`, and its own
/// stream `rng` goes on after the endpoint's draw.
pub struct Drawn {
    pub id: u64,
    pub time: Option<u64>,
    pub endpoint: u32,
    pub rng: Pcg64Mcg,
}

/// The open model's requests in arrival order: the `n`-th arrival is
/// request `n`, its time an Exp(1) draw from the traffic stream turned into
/// a time by the rate profile, its endpoint the first draw of its own
/// stream, taken from the mix at its time.
pub struct OpenDraws {
    arrivals: Arrivals,
    traffic: Pcg64Mcg,
    streams: Streams,
    picker: Picker,
    next: u64,
}

impl OpenDraws {
    pub fn new(profile: &RateProfile, mix: &Mix, seed: u64) -> OpenDraws {
        let streams = Streams::new(seed);
        OpenDraws {
            arrivals: Arrivals::new(profile),
            traffic: streams.traffic(),
            streams,
            picker: Picker::new(mix),
            next: 0,
        }
    }

    /// The next request. After one without a time there are none, and
    /// what this returns means nothing.
    #[inline]
    pub fn draw(&mut self) -> Drawn {
        let e: f64 = Exp1.sample(&mut self.traffic);
        let time = self.arrivals.next(e);
        let id = self.next;
        self.next += 1;
        let mut rng = self.streams.request(id);
        let u: f64 = rng.random();
        // A request that never arrives asks for the last point's mix.
        let endpoint = self.picker.pick(time.unwrap_or(u64::MAX), u);
        Drawn {
            id,
            time,
            endpoint,
            rng,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    /// What every draw did before mixes could change.
    fn old_pick(mix: &[(usize, f64)], u: f64) -> u32 {
        let mut acc = 0.0;
        let table: Vec<(f64, u32)> = mix
            .iter()
            .map(|&(i, w)| {
                acc += w;
                (acc, i as u32)
            })
            .collect();
        endpoint(&table, u)
    }

    #[test]
    fn a_constant_mix_draws_as_before() {
        let shares = vec![(2, 0.35), (0, 0.15), (4, 0.35), (1, 0.1), (3, 0.05)];
        let constant = Picker::new(&Mix::constant(shares.clone()));
        let mut rng = Streams::new(9).request(0);
        for i in 0..100_000u64 {
            let u: f64 = rng.random();
            assert_eq!(constant.pick(i * 1000, u), old_pick(&shares, u));
        }
        // Rounding above every share gives the last endpoint.
        assert_eq!(constant.pick(0, 0.999_999_999_999_999_9), 3);
    }

    #[test]
    fn at_its_points_a_varying_mix_draws_as_their_constant_mixes() {
        // 5 and 40 endpoints: the scan and the binary search.
        for n in [5usize, 40] {
            let a: Vec<(usize, f64)> = (0..n).map(|e| (e, 1.0 / n as f64)).collect();
            let total = (n * (n + 1) / 2) as f64;
            let b: Vec<(usize, f64)> = (0..n).map(|e| (e, (n - e) as f64 / total)).collect();
            let mix = Mix::per_point(None, vec![(0, Some(a.clone())), (10 * S, Some(b.clone()))]);
            let varying = Picker::new(&mix);
            let (pa, pb) = (Picker::new(&Mix::constant(a)), Picker::new(&Mix::constant(b)));
            let mut rng = Streams::new(3).request(1);
            for _ in 0..20_000 {
                let u: f64 = rng.random();
                assert_eq!(varying.pick(0, u), pa.pick(0, u));
                assert_eq!(varying.pick(10 * S, u), pb.pick(0, u));
                assert_eq!(varying.pick(99 * S, u), pb.pick(0, u));
            }
        }
    }

    #[test]
    fn a_varying_mix_draws_its_shares_at_each_time() {
        let mix = Mix::per_point(None, vec![(0, Some(vec![(0, 1.0)])), (10 * S, Some(vec![(1, 1.0)]))]);
        let p = Picker::new(&mix);
        assert_eq!(p.pick(0, 0.99), 0);
        assert_eq!(p.pick(10 * S, 0.0), 1);
        // At 2.5 s endpoint 1 has a quarter.
        assert_eq!(p.pick(10 * S / 4, 0.74), 0);
        assert_eq!(p.pick(10 * S / 4, 0.76), 1);
        // An endpoint with no share is never drawn, even by rounding.
        assert_eq!(p.pick(0, 1.0), 0);
        assert_eq!(p.pick(20 * S, 1.0), 1);
    }
}
