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
    /// A mix that changes: its shares are interpolated at each draw.
    varying: Option<(Mix, Vec<u32>)>,
}

impl Picker {
    pub fn new(mix: &Mix) -> Picker {
        let endpoints: Vec<u32> = (mix.endpoints().iter())
            .map(|&e| u32::try_from(e).expect("fewer than 2^32 endpoints"))
            .collect();
        if !mix.is_constant() {
            return Picker {
                cumulative: Vec::new(),
                varying: Some((mix.clone(), endpoints)),
            };
        }
        let mut acc = 0.0;
        let cumulative = (mix.points()[0].1.iter().zip(endpoints))
            .map(|(s, e)| {
                acc += s;
                (acc, e)
            })
            .collect();
        Picker {
            cumulative,
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
            Some((mix, endpoints)) => varying(mix, endpoints, t, u),
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

/// The shares at `t` summed as they are interpolated: as many steps as
/// there are endpoints, and no table to build.
#[inline(never)]
fn varying(mix: &Mix, endpoints: &[u32], t: u64, u: f64) -> u32 {
    let (a, b, f) = mix.segment(t);
    let (mut acc, mut last) = (0.0, endpoints[0]);
    for ((&a, &b), &e) in a.iter().zip(b).zip(endpoints) {
        let s = lerp(a, b, f);
        if s > 0.0 {
            acc += s;
            last = e;
            if u < acc {
                return e;
            }
        }
    }
    last
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
    fn a_constant_mix_draws_as_before_on_either_path() {
        let shares = vec![(2, 0.35), (0, 0.15), (4, 0.35), (1, 0.1), (3, 0.05)];
        let constant = Picker::new(&Mix::constant(shares.clone()));
        // The same mix at two points, taken by the interpolating path.
        let mut twice = Picker::new(&Mix::constant(shares.clone()));
        twice.varying = Some((
            Mix::per_point(vec![(0, shares.clone()), (10 * S, shares.clone())]),
            vec![2, 0, 4, 1, 3],
        ));
        let mut rng = Streams::new(9).request(0);
        for i in 0..100_000u64 {
            let u: f64 = rng.random();
            let want = old_pick(&shares, u);
            assert_eq!(constant.pick(i * 1000, u), want);
            assert_eq!(twice.pick(i * 1000, u), want);
        }
        // Rounding above every share gives the last endpoint.
        assert_eq!(constant.pick(0, 0.999_999_999_999_999_9), 3);
        assert_eq!(twice.pick(0, 0.999_999_999_999_999_9), 3);
    }

    #[test]
    fn a_varying_mix_draws_its_shares_at_each_time() {
        let mix = Mix::per_point(vec![(0, vec![(0, 1.0)]), (10 * S, vec![(1, 1.0)])]);
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
