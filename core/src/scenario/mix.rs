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
    /// The distinct mixes, each a share per endpoint of `endpoints`. Points
    /// that take `[traffic.mix]` or repeat the point before share a row, so
    /// that memory follows what the file wrote, not points × endpoints.
    rows: Vec<Vec<f64>>,
    /// `(time ns, row)`: one point for a constant mix; otherwise the rate
    /// profile's points, with their times.
    points: Vec<(u64, usize)>,
}

/// A mix as `(endpoint index, share)`, shares adding up to one.
pub type Shares = Vec<(usize, f64)>;

impl Mix {
    /// One mix for the whole run.
    pub fn constant(shares: Shares) -> Mix {
        let (endpoints, row) = shares.into_iter().unzip();
        Mix {
            endpoints,
            rows: vec![row],
            points: vec![(0, 0)],
        }
    }

    /// A mix per profile point: `(time, its own mix or None to take
    /// `base`)`, times as the profile's (the first at zero, never
    /// decreasing). Points that all hold the same mix make a constant one,
    /// which draws exactly as [`Mix::constant`] does.
    ///
    /// # Panics
    ///
    /// Without a first point at zero, or with a point that takes no mix
    /// of its own and no `base`.
    pub fn per_point(base: Option<&[(usize, f64)]>, points: Vec<(u64, Option<Shares>)>) -> Mix {
        assert!(points.first().is_some_and(|p| p.0 == 0), "a mix starts at time zero");
        let mut sparse: Vec<Shares> = Vec::new();
        let mut base_row = None;
        let mut at = Vec::with_capacity(points.len());
        for (t, own) in points {
            let row = match own {
                None => *base_row.get_or_insert_with(|| {
                    sparse.push(base.expect("a point without a mix takes the base mix").to_vec());
                    sparse.len() - 1
                }),
                Some(own) => match at.last() {
                    Some(&(_, prev)) if sparse[prev] == own => prev,
                    _ => {
                        sparse.push(own);
                        sparse.len() - 1
                    }
                },
            };
            at.push((t, row));
        }
        if sparse.iter().all(|r| *r == sparse[0]) {
            return Mix::constant(sparse.swap_remove(0));
        }
        let top = sparse.iter().flatten().map(|s| s.0 + 1).max().unwrap_or(0);
        let mut slot = vec![usize::MAX; top];
        let mut endpoints = Vec::new();
        for &(e, s) in sparse.iter().flatten() {
            if s > 0.0 && slot[e] == usize::MAX {
                slot[e] = endpoints.len();
                endpoints.push(e);
            }
        }
        let rows = sparse
            .iter()
            .map(|shares| {
                let mut row = vec![0.0; endpoints.len()];
                for &(e, s) in shares {
                    if slot[e] != usize::MAX {
                        row[slot[e]] = s;
                    }
                }
                row
            })
            .collect();
        Mix {
            endpoints,
            rows,
            points: at,
        }
    }

    pub fn is_constant(&self) -> bool {
        self.points.len() == 1
    }

    /// The endpoints in draw order.
    pub fn endpoints(&self) -> &[usize] {
        &self.endpoints
    }

    /// The distinct mixes, shares in the order of [`Mix::endpoints`].
    pub fn rows(&self) -> &[Vec<f64>] {
        &self.rows
    }

    /// `(time ns, index into [`Mix::rows`])`.
    pub fn points(&self) -> &[(u64, usize)] {
        &self.points
    }

    /// The rows of the points around `t` and how far `t` is from the first
    /// to the second (0 to 1): the mix at `t` is `a + (b - a) · f` (see
    /// [`lerp`]). At a step (two points at one time) the mix after the step
    /// applies, and the last point's mix holds until the end, as for the
    /// rate.
    #[inline]
    pub fn segment(&self, t: u64) -> (usize, usize, f64) {
        let i = self.points.partition_point(|(pt, _)| *pt <= t);
        let (t0, a) = self.points[i - 1];
        match self.points.get(i) {
            Some(&(t1, b)) if t1 > t0 => (a, b, (t - t0) as f64 / (t1 - t0) as f64),
            _ => (a, a, 0.0),
        }
    }

    /// The shares at time `t`: `(endpoint, share)` in draw order, endpoints
    /// idle at `t` included with a share of 0.
    pub fn at(&self, t: u64) -> Shares {
        let (a, b, f) = self.segment(t);
        let (a, b) = (&self.rows[a], &self.rows[b]);
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
        let sale = vec![(0, 0.3), (1, 0.7)];
        Mix::per_point(
            Some(&[(0, 0.9), (1, 0.1)]),
            vec![
                (0, None),
                (10 * S, None),
                (20 * S, Some(sale.clone())),
                (30 * S, Some(sale)),
                (30 * S, Some(vec![(0, 1.0), (2, 0.0)])),
            ],
        )
    }

    #[test]
    fn shares_are_interpolated_between_points_with_steps() {
        let m = rush();
        assert!(!m.is_constant());
        assert_eq!(m.endpoints(), [0, 1]);
        // The base and the repeated sale share their rows.
        assert_eq!(m.rows().len(), 3);
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
        let m = Mix::per_point(Some(&same), vec![(0, Some(same.clone())), (5 * S, None)]);
        assert_eq!(m, Mix::constant(same));
        assert!(m.is_constant());
        assert_eq!(m.endpoints(), [3, 1], "the order the file gave");
    }

    #[test]
    fn many_points_taking_the_base_share_one_row() {
        let base: Shares = (0..1000).map(|e| (e, 0.001)).collect();
        let mut points: Vec<(u64, Option<Shares>)> = (0..10_000).map(|i| (i * S, None)).collect();
        points[1].1 = Some(vec![(0, 1.0)]);
        let m = Mix::per_point(Some(&base), points);
        assert_eq!(m.rows().len(), 2);
        assert_eq!(m.share(0, S), 1.0);
        assert!((m.share(0, 2 * S) - 0.001).abs() < 1e-15);
    }
}
