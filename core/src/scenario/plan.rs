//! `[plan]`: what `lab plan` asks of a scenario. The load to plan for, how
//! many replications each point gets, how narrow the capacity's interval
//! must be, and the ranges the cheapest-configuration search may move each
//! knob within. Every key is optional; an era's knobs that a range does not
//! name keep the defaults `lab plan` derives from the era's own values.

/// The `[plan]` section, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanSpec {
    /// `target = "3000/s"`: the peak arrival rate the configuration search
    /// must carry (the profile scaled so that its peak is this rate);
    /// `None`: the scenario's own profile.
    pub target: Option<f64>,
    /// `replications`: seeds run at each load and configuration (the same
    /// seeds everywhere: common random numbers).
    pub replications: u32,
    /// `tolerance = "5%"`: the capacity search stops once the capacity's
    /// interval is narrower than this share of it.
    pub tolerance: f64,
    /// The knobs' ranges.
    pub ranges: KnobRanges,
}

impl PlanSpec {
    pub const DEFAULT_REPLICATIONS: u32 = 5;
    pub const DEFAULT_TOLERANCE: f64 = 0.05;
    /// The most replications a point may take (as `lab run --replications`).
    pub const MAX_REPLICATIONS: u32 = 100;
    /// `tolerance` lies within these shares: below a thousandth the
    /// replications' noise is wider than the interval asked for, and past
    /// a half the interval says little about where the capacity is.
    pub const MIN_TOLERANCE: f64 = 0.001;
    pub const MAX_TOLERANCE: f64 = 0.5;
}

impl Default for PlanSpec {
    fn default() -> PlanSpec {
        PlanSpec {
            target: None,
            replications: PlanSpec::DEFAULT_REPLICATIONS,
            tolerance: PlanSpec::DEFAULT_TOLERANCE,
            ranges: KnobRanges::default(),
        }
    }
}

/// An inclusive range of whole values, `[min, max]` in the file, with
/// `1 <= min <= max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnobRange {
    pub min: u32,
    pub max: u32,
}

/// `pm` values the search may try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PmChoice {
    Static,
    Dynamic,
    OnDemand,
}

impl PmChoice {
    pub fn name(self) -> &'static str {
        match self {
            PmChoice::Static => "static",
            PmChoice::Dynamic => "dynamic",
            PmChoice::OnDemand => "ondemand",
        }
    }
}

/// The ranges written under `[plan]`; `None` where the file is silent.
/// A key that does not apply to an era's model (`host.cores` for bronze)
/// is ignored for that era.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KnobRanges {
    /// `nodes`: silver's and gold's web nodes.
    pub nodes: Option<KnobRange>,
    /// `host.cores`: stone's one server.
    pub host_cores: Option<KnobRange>,
    /// `web.cores`: bronze's web VPS, each silver or gold web node.
    pub web_cores: Option<KnobRange>,
    /// `db.cores`: the database host (bronze, silver, gold).
    pub db_cores: Option<KnobRange>,
    /// `fpm.max_children`: each pool's workers.
    pub max_children: Option<KnobRange>,
    /// `fpm.pm`: the process managers to try.
    pub pm: Option<Vec<PmChoice>>,
    /// `mysql.max_connections`.
    pub max_connections: Option<KnobRange>,
    /// `services.nodes`: each gold service's nodes.
    pub service_nodes: Option<KnobRange>,
    /// `services.cores`: each gold service node's cores.
    pub service_cores: Option<KnobRange>,
}

impl KnobRanges {
    /// The ranges the file wrote, as `[plan]` keys and `min–max` (or the
    /// `pm` list), in the order of the keys above.
    pub fn written(&self) -> Vec<(&'static str, String)> {
        let range = |r: &Option<KnobRange>| r.map(|r| format!("{}–{}", r.min, r.max));
        [
            ("nodes", range(&self.nodes)),
            ("host.cores", range(&self.host_cores)),
            ("web.cores", range(&self.web_cores)),
            ("db.cores", range(&self.db_cores)),
            ("fpm.max_children", range(&self.max_children)),
            (
                "fpm.pm",
                self.pm
                    .as_ref()
                    .map(|l| l.iter().map(|p| p.name()).collect::<Vec<_>>().join(", ")),
            ),
            ("mysql.max_connections", range(&self.max_connections)),
            ("services.nodes", range(&self.service_nodes)),
            ("services.cores", range(&self.service_cores)),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
    }
}
