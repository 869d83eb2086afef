//! What hits the shop: an open model (Poisson arrivals following a rate
//! profile) or a closed model (users who think between requests), a client
//! timeout and a weighted mix of endpoints, constant or following the
//! profile's points.

use super::dist::Dist;
use super::era::Kernel;
use super::mix::Mix;

/// The traffic section of a scenario, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Traffic {
    pub workload: Workload,
    /// The client gives up after this long; `None` waits forever.
    pub timeout: Option<u64>,
    /// Which endpoint each request asks for; it changes over time only
    /// with an open model's profile.
    pub mix: Mix,
    /// The clients' kernel: how their SYNs towards an entry that does not
    /// answer are sent again (its `somaxconn` plays no part).
    pub clients: Kernel,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Workload {
    /// Poisson arrivals whose rate follows the profile.
    Open(RateProfile),
    /// A fixed population of users, each waiting for its response (or its
    /// timeout) and then thinking before the next request.
    Closed { users: u32, think: Dist },
}

impl Traffic {
    /// The load generator's users in a real run (`lab real`, `lab
    /// validate`), and so its clients' connections kept alive at most:
    /// the closed model's users; for an open model, enough that an arrival
    /// is dropped only when the system keeps that many requests waiting,
    /// the peak rate times the client's patience (its timeout, at most
    /// 10 s), so that a failover gap, when every request hangs on a SYN,
    /// does not run the pool dry; 16 to 2,000.
    pub fn real_users(&self) -> usize {
        match &self.workload {
            Workload::Open(p) => {
                let patience = self.timeout.map_or(10.0, |t| (t as f64 / 1e9).min(10.0));
                ((p.peak() * patience).ceil() as usize).clamp(16, 2000)
            }
            Workload::Closed { users, .. } => *users as usize,
        }
    }

    /// Requests expected in a run of `duration` ns: the integral of the
    /// rate for an open model. For a closed one, an upper bound: a user's
    /// requests are at least a think time apart, so they are no more than
    /// the renewals of its think times, which Lorden's inequality bounds by
    /// `duration / m + E[think²] / m²` (m the mean think time). Unlike
    /// `duration / m + 1` it still bounds skewed think times: with
    /// `mix(99% 1ms, 1% 1000h)` a user sends about a hundred requests
    /// before its first long pause, where the mean of 10 hours suggests one.
    pub fn expected_requests(&self, duration: u64) -> f64 {
        match &self.workload {
            Workload::Open(p) => p.cumulative(duration),
            Workload::Closed { users, think } => {
                let m = think.mean();
                f64::from(*users) * (duration as f64 / m + think.second_moment() / (m * m))
            }
        }
    }

    /// The share of each endpoint among the requests of a run of `duration`
    /// ns, `(endpoint, share)`: the mix itself when it is constant, else
    /// each point's mix weighted by the arrivals around it (the integral of
    /// rate × share over the run, over the integral of the rate).
    pub fn mean_mix(&self, duration: u64) -> Vec<(usize, f64)> {
        let (Workload::Open(profile), false) = (&self.workload, self.mix.is_constant()) else {
            return self.mix.at(0);
        };
        let mut cuts: Vec<u64> = (profile.points().iter().map(|p| p.0))
            .chain(self.mix.points().iter().map(|p| p.0))
            .chain([duration])
            .filter(|t| *t <= duration)
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        // Each row's weight: the arrivals while it is the mix, or part of
        // the interpolated one.
        let mut weight = vec![0.0; self.mix.rows().len()];
        let mut total = 0.0;
        for w in cuts.windows(2) {
            // Rate and shares are linear on (a, b), so their product is a
            // quadratic, which Simpson's rule integrates exactly; `b - 1`
            // stands for the limit at `b` from the left (a step at `b`
            // belongs to the next stretch), a nanosecond off at most.
            let (a, b) = (w[0], w[1] - 1);
            let h = (w[1] - w[0]) as f64;
            let m = a + (b - a) / 2;
            for (t, k) in [(a, 1.0), (m, 4.0), (b, 1.0)] {
                let r = profile.rate_at(t) * k * h / 6.0;
                let (r0, r1, f) = self.mix.segment(t);
                weight[r0] += r * (1.0 - f);
                weight[r1] += r * f;
                total += r;
            }
        }
        if total <= 0.0 || !total.is_finite() {
            return self.mix.at(0);
        }
        let mut shares: Vec<(usize, f64)> = self.mix.endpoints().iter().map(|&e| (e, 0.0)).collect();
        for (row, w) in self.mix.rows().iter().zip(weight) {
            for (s, x) in shares.iter_mut().zip(row) {
                s.1 += w * x / total;
            }
        }
        shares
    }
}

/// A piecewise-linear arrival rate: points `(time, requests per second)`.
///
/// The first point is at time zero, times never decrease (two points at one
/// time make a step) and the last rate holds until the end of the run.
#[derive(Clone, Debug, PartialEq)]
pub struct RateProfile {
    points: Vec<(u64, f64)>,
}

impl RateProfile {
    /// Checks the invariants; the error says which point breaks them.
    pub fn new(points: Vec<(u64, f64)>) -> Result<RateProfile, (usize, String)> {
        if points.is_empty() {
            return Err((0, "a profile needs at least one point".into()));
        }
        if points[0].0 != 0 {
            return Err((0, "the first point of a profile must be at \"0s\"".into()));
        }
        for (i, w) in points.windows(2).enumerate() {
            if w[1].0 < w[0].0 {
                return Err((i + 1, "points must be in time order (equal times make a step)".into()));
            }
        }
        for (i, (_, r)) in points.iter().enumerate() {
            if !(r.is_finite() && *r >= 0.0) {
                return Err((i, "a rate cannot be negative".into()));
            }
        }
        Ok(RateProfile { points })
    }

    pub fn constant(per_second: f64) -> RateProfile {
        RateProfile {
            points: vec![(0, per_second.max(0.0))],
        }
    }

    pub fn points(&self) -> &[(u64, f64)] {
        &self.points
    }

    /// The rate in requests per second at time `t` (ns). At a step the rate
    /// after the step applies.
    pub fn rate_at(&self, t: u64) -> f64 {
        let i = self.points.partition_point(|(pt, _)| *pt <= t);
        let (t0, r0) = self.points[i - 1];
        match self.points.get(i) {
            Some(&(t1, r1)) if t1 > t0 => r0 + (r1 - r0) * (t - t0) as f64 / (t1 - t0) as f64,
            _ => r0,
        }
    }

    /// Expected arrivals in `[0, t)`.
    pub fn cumulative(&self, t: u64) -> f64 {
        let mut total = 0.0;
        for (i, &(t0, r0)) in self.points.iter().enumerate() {
            if t0 >= t {
                break;
            }
            let (t1, r1) = match self.points.get(i + 1) {
                Some(&(t1, r1)) => (t1.min(t), if t1 <= t { r1 } else { self.rate_at(t) }),
                None => (t, r0),
            };
            total += (r0 + r1) / 2.0 * (t1 - t0) as f64 / 1e9;
        }
        total
    }

    /// The mean rate over `[from, to)` in requests per second.
    pub fn mean_rate(&self, from: u64, to: u64) -> f64 {
        if to <= from {
            return self.rate_at(from);
        }
        (self.cumulative(to) - self.cumulative(from)) / ((to - from) as f64 / 1e9)
    }

    pub fn peak(&self) -> f64 {
        self.points.iter().map(|p| p.1).fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn a_real_run_has_the_peak_times_the_clients_patience_in_users() {
        let open = |rate: f64, timeout: Option<u64>| Traffic {
            workload: Workload::Open(RateProfile::constant(rate)),
            timeout,
            mix: Mix::constant(vec![(0, 1.0)]),
            clients: Kernel::default(),
        };
        assert_eq!(open(80.0, Some(10 * S)).real_users(), 800);
        assert_eq!(open(80.0, Some(2 * S)).real_users(), 160);
        assert_eq!(open(80.0, None).real_users(), 800, "at most 10 s of patience");
        assert_eq!(open(0.5, Some(S)).real_users(), 16);
        assert_eq!(open(1e6, Some(S)).real_users(), 2000);
        let closed = Traffic {
            workload: Workload::Closed {
                users: 40,
                think: Dist::parse("1s").unwrap(),
            },
            ..open(1.0, None)
        };
        assert_eq!(closed.real_users(), 40);
    }

    fn spike() -> RateProfile {
        RateProfile::new(vec![
            (0, 100.0),
            (10 * S, 100.0),
            (20 * S, 800.0),
            (30 * S, 800.0),
            (30 * S, 50.0),
        ])
        .unwrap()
    }

    #[test]
    fn rate_is_piecewise_linear_with_steps() {
        let p = spike();
        assert_eq!(p.rate_at(0), 100.0);
        assert_eq!(p.rate_at(15 * S), 450.0);
        assert_eq!(p.rate_at(29 * S), 800.0);
        assert_eq!(p.rate_at(30 * S), 50.0);
        assert_eq!(p.rate_at(1000 * S), 50.0);
        assert_eq!(p.peak(), 800.0);
    }

    #[test]
    fn cumulative_integrates_the_rate() {
        let p = spike();
        assert!((p.cumulative(10 * S) - 1000.0).abs() < 1e-9);
        assert!((p.cumulative(20 * S) - (1000.0 + 4500.0)).abs() < 1e-9);
        assert!((p.cumulative(40 * S) - (5500.0 + 8000.0 + 500.0)).abs() < 1e-9);
        assert!((p.mean_rate(10 * S, 20 * S) - 450.0).abs() < 1e-9);
        assert!((p.mean_rate(12 * S, 14 * S) - p.rate_at(13 * S)).abs() < 1e-9);
    }

    #[test]
    fn the_mean_mix_weighs_each_point_by_its_arrivals() {
        // 100/s with only home for 10 s, then 900/s with only checkout.
        let t = Traffic {
            workload: Workload::Open(RateProfile::new(vec![(0, 100.0), (10 * S, 100.0), (10 * S, 900.0)]).unwrap()),
            timeout: None,
            mix: Mix::per_point(
                Some(&[(0, 1.0)]),
                vec![(0, None), (10 * S, None), (10 * S, Some(vec![(1, 1.0)]))],
            ),
            clients: Kernel::default(),
        };
        let m = t.mean_mix(20 * S);
        assert!((m[0].1 - 0.1).abs() < 1e-6 && (m[1].1 - 0.9).abs() < 1e-6, "{m:?}");
        // Cut before the step: home alone.
        assert!((t.mean_mix(5 * S)[0].1 - 1.0).abs() < 1e-6);
        // A ramp of both: the rate 0 → 1000 and checkout's share 0 → 1
        // over 10 s give checkout ∫t²/∫t = 2/3 of the requests.
        let t = Traffic {
            workload: Workload::Open(RateProfile::new(vec![(0, 0.0), (10 * S, 1000.0)]).unwrap()),
            timeout: None,
            mix: Mix::per_point(None, vec![(0, Some(vec![(0, 1.0)])), (10 * S, Some(vec![(1, 1.0)]))]),
            clients: Kernel::default(),
        };
        let m = t.mean_mix(10 * S);
        assert!((m[1].1 - 2.0 / 3.0).abs() < 1e-6, "{m:?}");
    }

    #[test]
    fn invariants_are_checked() {
        assert!(RateProfile::new(vec![]).is_err());
        assert_eq!(RateProfile::new(vec![(S, 1.0)]).unwrap_err().0, 0);
        assert_eq!(
            RateProfile::new(vec![(0, 1.0), (2 * S, 1.0), (S, 1.0)]).unwrap_err().0,
            2
        );
        assert_eq!(RateProfile::new(vec![(0, 1.0), (S, -1.0)]).unwrap_err().0, 1);
    }
}
