//! The endpoint mix: one weighted mix for the whole run, or one per point of
//! the rate profile, interpolated linearly between the points like the rate.

/// How often each endpoint is requested, possibly changing over time.
///
/// Shares are interpolated, not the weights the file gives: each point's
/// weights are first made shares that add up to one, so a point's mix means
/// the same whatever scale its weights are written in, and every mix between
/// two points adds up to one as well.
#[derive(Clone, Debug, PartialEq)]
pub struct Mix {
    /// The endpoints a request may ask for, in the order draws scan them:
    /// the `[traffic.mix]` order, so that a constant mix draws as it always
    /// has. Endpoints idle at every point are left out.
    endpoints: Vec<usize>,
    /// `(time ns, share of each of `endpoints`)`: one point for a constant
    /// mix; otherwise the rate profile's points, with their times.
    points: Vec<(u64, Vec<f64>)>,
}

impl Mix {
    /// One mix for the whole run: `(endpoint index, share)`, shares adding
    /// up to one.
    pub fn constant(shares: Vec<(usize, f64)>) -> Mix {
        let (endpoints, row) = shares.into_iter().unzip();
        Mix {
            endpoints,
            points: vec![(0, row)],
        }
    }

    /// A mix per profile point: `(time, [(endpoint, share)])`, times as the
    /// profile's (the first at zero, never decreasing), each point's shares
    /// adding up to one. Points that all hold the same mix make a constant
    /// one, which draws exactly as [`Mix::constant`] does.
    pub fn per_point(points: Vec<(u64, Vec<(usize, f64)>)>) -> Mix {
        assert!(points.first().is_some_and(|p| p.0 == 0), "a mix starts at time zero");
        if points.windows(2).all(|w| w[0].1 == w[1].1) {
            return Mix::constant(points.into_iter().next().expect("a point").1);
        }
        let mut endpoints: Vec<usize> = Vec::new();
        for (_, shares) in &points {
            for &(e, s) in shares {
                if s > 0.0 && !endpoints.contains(&e) {
                    endpoints.push(e);
                }
            }
        }
        let points = points
            .into_iter()
            .map(|(t, shares)| {
                let row = endpoints
                    .iter()
                    .map(|e| shares.iter().find(|s| s.0 == *e).map_or(0.0, |s| s.1))
                    .collect();
                (t, row)
            })
            .collect();
        Mix { endpoints, points }
    }

    pub fn is_constant(&self) -> bool {
        self.points.len() == 1
    }

    /// The endpoints in draw order.
    pub fn endpoints(&self) -> &[usize] {
        &self.endpoints
    }

    /// `(time ns, shares in the order of [`Mix::endpoints`])`.
    pub fn points(&self) -> &[(u64, Vec<f64>)] {
        &self.points
    }

    /// The points around `t` and how far `t` is from the first to the
    /// second (0 to 1): the mix at `t` is `a + (b - a) · f`. At a step
    /// (two points at one time) the mix after the step applies, and the
    /// last point's mix holds until the end, as for the rate.
    #[inline]
    pub fn segment(&self, t: u64) -> (&[f64], &[f64], f64) {
        let i = self.points.partition_point(|(pt, _)| *pt <= t);
        let (t0, a) = &self.points[i - 1];
        match self.points.get(i) {
            Some((t1, b)) if t1 > t0 => (a, b, (t - t0) as f64 / (t1 - t0) as f64),
            _ => (a, a, 0.0),
        }
    }

    /// The shares at time `t`: `(endpoint, share)` in draw order, endpoints
    /// idle at `t` included with a share of 0.
    pub fn at(&self, t: u64) -> Vec<(usize, f64)> {
        let (a, b, f) = self.segment(t);
        self.endpoints
            .iter()
            .zip(a.iter().zip(b))
            .map(|(&e, (&a, &b))| (e, lerp(a, b, f)))
            .collect()
    }

    /// The share of endpoint `e` at time `t` (0 if it is never requested).
    pub fn share(&self, e: usize, t: u64) -> f64 {
        self.at(t).into_iter().find(|s| s.0 == e).map_or(0.0, |s| s.1)
    }
}

/// The one interpolation every draw and every estimate uses. With `a == b`
/// it is exactly `a`, so a mix that holds between two points draws as a
/// constant one.
#[inline(always)]
pub fn lerp(a: f64, b: f64, f: f64) -> f64 {
    a + (b - a) * f
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn rush() -> Mix {
        Mix::per_point(vec![
            (0, vec![(0, 0.9), (1, 0.1)]),
            (10 * S, vec![(0, 0.9), (1, 0.1)]),
            (20 * S, vec![(0, 0.3), (1, 0.7)]),
            (30 * S, vec![(0, 0.3), (1, 0.7)]),
            (30 * S, vec![(0, 1.0), (2, 0.0)]),
        ])
    }

    #[test]
    fn shares_are_interpolated_between_points_with_steps() {
        let m = rush();
        assert!(!m.is_constant());
        assert_eq!(m.endpoints(), [0, 1]);
        assert_eq!(m.at(5 * S), [(0, 0.9), (1, 0.1)]);
        let mid = m.at(15 * S);
        assert!(
            (mid[0].1 - 0.6).abs() < 1e-12 && (mid[1].1 - 0.4).abs() < 1e-12,
            "{mid:?}"
        );
        assert_eq!(m.at(29 * S)[1].1, 0.7);
        // After the step: the last point's mix holds until the end.
        assert_eq!(m.at(30 * S), [(0, 1.0), (1, 0.0)]);
        assert_eq!(m.share(1, 1000 * S), 0.0);
        assert_eq!(m.share(2, 0), 0.0);
    }

    #[test]
    fn points_that_agree_make_a_constant_mix() {
        let same = vec![(3, 0.25), (1, 0.75)];
        let m = Mix::per_point(vec![(0, same.clone()), (5 * S, same.clone())]);
        assert_eq!(m, Mix::constant(same));
        assert!(m.is_constant());
        assert_eq!(m.endpoints(), [3, 1], "the order the file gave");
    }
}
