//! The load a plan moves: the scenario's traffic times a multiplier. An
//! open model's whole rate profile is scaled (the sale keeps its shape), a
//! closed model's users are; `--steady` first flattens the profile to its
//! peak, so that capacity means a rate that can be held.

use lab_core::scenario::{Phase, RateProfile, Scenario, Workload, derive_phases};

use crate::PlanError;

/// The scenario's traffic, ready to be scaled.
#[derive(Clone, Debug)]
pub struct Load {
    base: Scenario,
    /// The phase whose windows a point's utilisation and bottleneck are
    /// read from: the SLO's `during`, else the one with the most arrivals
    /// per second.
    pub busiest: Phase,
}

impl Load {
    /// `steady`: a constant rate at the profile's peak instead of the
    /// profile. Derived phases follow the new profile; a `during` that
    /// named one of the old ones is refused.
    pub fn new(scenario: &Scenario, steady: bool) -> Result<Load, PlanError> {
        let mut base = scenario.clone();
        if steady {
            let Workload::Open(p) = &base.traffic.workload else {
                return Err(PlanError::Usage(
                    "--steady flattens a rate profile: a closed model has none (its users are scaled)".into(),
                ));
            };
            let peak = p.peak();
            base.traffic.workload = Workload::Open(RateProfile::constant(peak));
            if base.phases.iter().all(|p| p.derived) {
                base.phases = derive_phases(&base.traffic.workload, base.duration, base.stats.window);
                if let Some(d) = &base.slo.during {
                    match base.phases.iter().find(|p| p.name == d.name) {
                        Some(p) => base.slo.during = Some(p.clone()),
                        None => {
                            return Err(PlanError::Usage(format!(
                                "--steady: the SLO is judged during \"{}\", a phase of the rate profile that a steady rate does not have; \
                                 drop --steady or `[slo] during`",
                                d.name
                            )));
                        }
                    }
                }
            }
        }
        let busiest = busiest(&base);
        Ok(Load { base, busiest })
    }

    /// The scenario as given (flattened with `--steady`).
    pub fn base(&self) -> &Scenario {
        &self.base
    }

    /// What multiplier 1 offers: the peak arrival rate (open) or the users
    /// (closed).
    pub fn unit(&self) -> f64 {
        match &self.base.traffic.workload {
            Workload::Open(p) => p.peak(),
            Workload::Closed { users, .. } => f64::from(*users),
        }
    }

    /// `rate/s` or `users`.
    pub fn unit_name(&self) -> &'static str {
        match &self.base.traffic.workload {
            Workload::Open(_) => "/s",
            Workload::Closed { .. } => " users",
        }
    }

    /// The scenario at `multiplier` times its traffic. A closed model's
    /// users are rounded, at least one.
    pub fn at(&self, multiplier: f64) -> Scenario {
        let mut s = self.base.clone();
        s.traffic.workload = match &self.base.traffic.workload {
            Workload::Open(p) => Workload::Open(
                RateProfile::new(p.points().iter().map(|&(t, r)| (t, r * multiplier)).collect())
                    .expect("a profile scaled by a positive factor keeps its invariants"),
            ),
            Workload::Closed { users, think } => Workload::Closed {
                users: users_at(*users, multiplier),
                think: think.clone(),
            },
        };
        s
    }

    /// The offered load at `multiplier`, in [`Load::unit_name`] units.
    pub fn offered(&self, multiplier: f64) -> f64 {
        match &self.base.traffic.workload {
            Workload::Open(p) => p.peak() * multiplier,
            Workload::Closed { users, .. } => f64::from(users_at(*users, multiplier)),
        }
    }

    /// Requests a run at `multiplier` is expected to simulate.
    pub fn requests(&self, multiplier: f64) -> f64 {
        self.base.traffic.expected_requests(self.base.duration) * multiplier
    }
}

fn users_at(users: u32, multiplier: f64) -> u32 {
    (f64::from(users) * multiplier).round().clamp(1.0, f64::from(u32::MAX)) as u32
}

/// The SLO's phase, or the one with the highest mean arrival rate (the
/// sale, not the quiet hours around it).
fn busiest(s: &Scenario) -> Phase {
    if let Some(p) = &s.slo.during {
        return p.clone();
    }
    let whole = Phase {
        name: "run".into(),
        from: 0,
        to: s.duration,
        derived: true,
    };
    let Workload::Open(profile) = &s.traffic.workload else {
        return whole;
    };
    let measured = |p: &Phase| p.unmeasured(&s.stats, s.duration).is_none();
    s.phases
        .iter()
        .filter(|p| measured(p) && p.to > p.from)
        .max_by(|a, b| {
            profile
                .mean_rate(a.from, a.to)
                .total_cmp(&profile.mean_rate(b.from, b.to))
        })
        .cloned()
        .unwrap_or(whole)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const SALE: &str = r#"
duration = "60s"
[traffic]
profile = [{ at = "0s", rate = "100/s" }, { at = "20s", rate = "100/s" }, { at = "25s", rate = "400/s" }, { at = "45s", rate = "400/s" }, { at = "50s", rate = "100/s" }]
[app.endpoints.page]
steps = [{ cpu = "exp(mean = 1ms)" }]
[eras.stone]
"#;

    fn sale() -> Scenario {
        lab_core::scenario::parse(SALE, Path::new("sale.toml")).unwrap()
    }

    #[test]
    fn the_whole_profile_is_scaled() {
        let l = Load::new(&sale(), false).unwrap();
        assert_eq!(l.unit(), 400.0);
        let s = l.at(2.5);
        let Workload::Open(p) = &s.traffic.workload else {
            panic!()
        };
        assert_eq!(p.peak(), 1000.0);
        assert_eq!(p.rate_at(0), 250.0);
        assert_eq!(l.offered(2.5), 1000.0);
    }

    #[test]
    fn the_busiest_phase_is_the_sale() {
        let l = Load::new(&sale(), false).unwrap();
        assert_eq!(l.busiest.name, "peak", "{:?}", l.base().phases);
    }

    #[test]
    fn steady_holds_the_peak_for_the_whole_run() {
        let l = Load::new(&sale(), true).unwrap();
        let Workload::Open(p) = &l.base().traffic.workload else {
            panic!()
        };
        assert_eq!((p.rate_at(0), p.rate_at(59_000_000_000)), (400.0, 400.0));
        assert_eq!(l.base().phases.len(), 1);
    }

    #[test]
    fn a_closed_model_scales_its_users() {
        let text = SALE.replace(
            "profile = [{ at = \"0s\", rate = \"100/s\" }, { at = \"20s\", rate = \"100/s\" }, { at = \"25s\", rate = \"400/s\" }, { at = \"45s\", rate = \"400/s\" }, { at = \"50s\", rate = \"100/s\" }]",
            "model = \"closed\"\nusers = 10\nthink = \"exp(mean = 1s)\"",
        );
        let s = lab_core::scenario::parse(&text, Path::new("c.toml")).unwrap();
        let l = Load::new(&s, false).unwrap();
        assert_eq!(l.offered(2.26), 23.0);
        assert!(Load::new(&s, true).is_err());
    }
}
