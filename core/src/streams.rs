//! Named, independent random streams derived from a scenario's seed.
//!
//! The simulator draws everything from them, and the load generator draws
//! its arrivals and each request's endpoint from the same ones: request *n*
//! arrives at the same time for the same endpoint in every era and in the
//! real run of the same scenario, so what differs between two runs is the
//! system, not the luck of the draw (common random numbers).

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

/// SplitMix64's finaliser: spreads nearby integers over the whole range.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Named, independent streams derived from the scenario seed.
///
/// Streams do not depend on the era, so every era sees the same arrivals and
/// request *n* has the same endpoint and the same demands in every era
/// (common random numbers): differences between eras are the architecture's.
pub struct Streams {
    seed: u64,
}

impl Streams {
    pub fn new(seed: u64) -> Streams {
        Streams { seed }
    }

    /// The stream of arrival times (open model) or think times (closed).
    pub fn traffic(&self) -> Pcg64Mcg {
        Pcg64Mcg::seed_from_u64(mix64(self.seed ^ 0x0074_7261_6666_6963))
    }

    /// The stream that decides everything about request number `id`.
    #[inline]
    pub fn request(&self, id: u64) -> Pcg64Mcg {
        // A multiplicative PCG: one 128-bit multiply per draw, and a seed
        // that is just its (odd) state, so a stream per request is cheap.
        // The high half is a hash of seed and id; the low half keeps the id
        // so that no two requests share a state.
        let a = mix64(self.seed ^ id.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        Pcg64Mcg::new((u128::from(a) << 64) | u128::from((id << 1) | 1))
    }

    /// The balancers' own draws (`balance random`).
    pub fn balancer(&self) -> Pcg64Mcg {
        Pcg64Mcg::seed_from_u64(mix64(self.seed ^ 0x0062_616c_616e_6365))
    }

    /// The stream of network round trips of request number `id`.
    pub fn network(&self, id: u64) -> Pcg64Mcg {
        let a = mix64(self.seed ^ 0x6e65_7477_6f72_6b00 ^ id.wrapping_mul(0xd1b5_4a32_d192_ed03));
        Pcg64Mcg::new((u128::from(a) << 64) | u128::from((id << 1) | 1))
    }
}
