//! The knobs a plan may turn in each era model, the values it tries for
//! each (the scenario's `[plan]` ranges, or a range around the era's own
//! value), how a configuration is written into an era, and what it costs.

use lab_core::scenario::limits::{MAX_CORES, MAX_DB_CONNECTIONS, MAX_FPM_CHILDREN, MAX_WEB_NODES};
use lab_core::scenario::{Architecture, Era, FpmPool, Host, KnobRange, KnobRanges, PmChoice, ProcessManager};
use serde::Serialize;

/// One setting a configuration search moves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Knob {
    /// Silver's and gold's web nodes.
    Nodes,
    /// Stone's server.
    HostCores,
    /// Bronze's web VPS, or each web node.
    WebCores,
    DbCores,
    /// The front pool's `pm.max_children` (each node's).
    MaxChildren,
    /// The front pool's `pm`, as an index in [`PM_ORDER`].
    Pm,
    MaxConnections,
    /// A gold service's nodes.
    ServiceNodes(String),
    /// A gold service node's cores.
    ServiceCores(String),
}

/// `pm` values as [`Knob::Pm`] numbers them.
pub const PM_ORDER: [PmChoice; 3] = [PmChoice::Static, PmChoice::Dynamic, PmChoice::OnDemand];

impl Knob {
    /// The key as a scenario's `[eras.<label>]` writes it.
    pub fn key(&self) -> String {
        match self {
            Knob::Nodes => "nodes".into(),
            Knob::HostCores => "host.cores".into(),
            Knob::WebCores => "web.cores".into(),
            Knob::DbCores => "db.cores".into(),
            Knob::MaxChildren => "fpm.max_children".into(),
            Knob::Pm => "fpm.pm".into(),
            Knob::MaxConnections => "mysql.max_connections".into(),
            Knob::ServiceNodes(s) => format!("services.{s}.nodes"),
            Knob::ServiceCores(s) => format!("services.{s}.host.cores"),
        }
    }

    /// Changes no price: software settings.
    pub fn free(&self) -> bool {
        matches!(self, Knob::MaxChildren | Knob::Pm | Knob::MaxConnections)
    }

    /// A value as people read it (`pm` by name).
    pub fn show(&self, v: u32) -> String {
        match self {
            Knob::Pm => PM_ORDER[v as usize].name().into(),
            _ => v.to_string(),
        }
    }

    /// The largest value the era's keys accept.
    pub fn most(&self) -> u32 {
        match self {
            Knob::Nodes | Knob::ServiceNodes(_) => MAX_WEB_NODES,
            Knob::HostCores | Knob::WebCores | Knob::DbCores | Knob::ServiceCores(_) => MAX_CORES,
            Knob::MaxChildren => MAX_FPM_CHILDREN,
            Knob::MaxConnections => MAX_DB_CONNECTIONS,
            Knob::Pm => PM_ORDER.len() as u32 - 1,
        }
    }

    /// The era's own value.
    pub fn current(&self, era: &Era) -> u32 {
        let stack = era.arch.stack();
        match (self, &era.arch) {
            (Knob::Nodes, Architecture::Silver(s)) => s.nodes,
            (Knob::Nodes, Architecture::Gold(g)) => g.front.nodes,
            (Knob::HostCores, Architecture::Stone { host, .. }) => host.cores,
            (Knob::WebCores, _) => web(era).map_or(0, |h| h.cores),
            (Knob::DbCores, _) => db(era).map_or(0, |h| h.cores),
            (Knob::MaxChildren, _) => stack.fpm.max_children,
            (Knob::Pm, _) => pm_index(&stack.fpm.pm),
            (Knob::MaxConnections, _) => stack.mysql.max_connections,
            (Knob::ServiceNodes(n), Architecture::Gold(g)) => {
                g.services.iter().find(|p| &p.service == n).map_or(0, |p| p.nodes)
            }
            (Knob::ServiceCores(n), Architecture::Gold(g)) => {
                g.services.iter().find(|p| &p.service == n).map_or(0, |p| p.host.cores)
            }
            _ => 0,
        }
    }

    /// Writes `v` into `era`. A host's price follows its cores (the price
    /// per core the scenario gives it); a dynamic pool's spares stay within
    /// its new `max_children`.
    pub fn apply(&self, era: &mut Era, v: u32) {
        match (self, &mut era.arch) {
            (Knob::Nodes, Architecture::Silver(s)) => s.nodes = v,
            (Knob::Nodes, Architecture::Gold(g)) => g.front.nodes = v,
            (Knob::HostCores, Architecture::Stone { host, .. }) => set_cores(host, v),
            (Knob::WebCores, Architecture::Bronze { web, .. }) => set_cores(web, v),
            (Knob::WebCores, Architecture::Silver(s)) => set_cores(&mut s.web, v),
            (Knob::WebCores, Architecture::Gold(g)) => set_cores(&mut g.front.web, v),
            (Knob::DbCores, Architecture::Bronze { db, .. }) => set_cores(db, v),
            (Knob::DbCores, Architecture::Silver(s)) => set_cores(&mut s.db, v),
            (Knob::DbCores, Architecture::Gold(g)) => set_cores(&mut g.front.db, v),
            (Knob::MaxChildren, _) => set_max_children(&mut stack_mut(era).fpm, v),
            (Knob::Pm, _) => set_pm(&mut stack_mut(era).fpm, PM_ORDER[v as usize]),
            (Knob::MaxConnections, _) => stack_mut(era).mysql.max_connections = v,
            (Knob::ServiceNodes(n), Architecture::Gold(g)) => {
                if let Some(p) = g.services.iter_mut().find(|p| &p.service == n) {
                    p.nodes = v;
                }
            }
            (Knob::ServiceCores(n), Architecture::Gold(g)) => {
                if let Some(p) = g.services.iter_mut().find(|p| &p.service == n) {
                    set_cores(&mut p.host, v);
                }
            }
            _ => {}
        }
    }
}

fn web(era: &Era) -> Option<&Host> {
    match &era.arch {
        Architecture::Stone { .. } => None,
        Architecture::Bronze { web, .. } => Some(web),
        Architecture::Silver(s) => Some(&s.web),
        Architecture::Gold(g) => Some(&g.front.web),
    }
}

fn db(era: &Era) -> Option<&Host> {
    match &era.arch {
        Architecture::Stone { .. } => None,
        Architecture::Bronze { db, .. } => Some(db),
        Architecture::Silver(s) => Some(&s.db),
        Architecture::Gold(g) => Some(&g.front.db),
    }
}

fn stack_mut(era: &mut Era) -> &mut lab_core::scenario::Stack {
    match &mut era.arch {
        Architecture::Stone { stack, .. } | Architecture::Bronze { stack, .. } => stack,
        Architecture::Silver(s) => &mut s.stack,
        Architecture::Gold(g) => &mut g.front.stack,
    }
}

fn set_cores(h: &mut Host, cores: u32) {
    h.price_per_hour = h.price_per_hour / f64::from(h.cores.max(1)) * f64::from(cores);
    h.cores = cores;
}

fn pm_index(pm: &ProcessManager) -> u32 {
    match pm {
        ProcessManager::Static => 0,
        ProcessManager::Dynamic { .. } => 1,
        ProcessManager::OnDemand { .. } => 2,
    }
}

fn set_max_children(fpm: &mut FpmPool, n: u32) {
    fpm.max_children = n;
    if let ProcessManager::Dynamic {
        start_servers,
        min_spare_servers,
        max_spare_servers,
    } = &mut fpm.pm
    {
        *min_spare_servers = (*min_spare_servers).min(n);
        *max_spare_servers = (*max_spare_servers).clamp(*min_spare_servers, n);
        *start_servers = (*start_servers).clamp(*min_spare_servers, *max_spare_servers);
    }
}

/// A pool switched to `dynamic` gets spares in php-fpm's proportions for
/// its size: a quarter of `max_children` kept idle at least, half at most,
/// and `start_servers` between them as php-fpm computes its default.
fn set_pm(fpm: &mut FpmPool, pm: PmChoice) {
    let n = fpm.max_children;
    fpm.pm = match (pm, &fpm.pm) {
        (PmChoice::Static, _) => ProcessManager::Static,
        (PmChoice::Dynamic, ProcessManager::Dynamic { .. }) => return,
        (PmChoice::Dynamic, _) => {
            let min = (n / 4).max(1);
            let max = (n / 2).max(min);
            ProcessManager::Dynamic {
                start_servers: min + (max - min) / 2,
                min_spare_servers: min,
                max_spare_servers: max,
            }
        }
        (PmChoice::OnDemand, ProcessManager::OnDemand { .. }) => return,
        (PmChoice::OnDemand, _) => ProcessManager::OnDemand {
            process_idle_timeout: FpmPool::DEFAULT_IDLE_TIMEOUT_NS,
        },
    };
}

/// The knobs of one era and the values each may take, in the order the
/// search tries them (ascending; `pm` in the order `[plan]` lists it).
#[derive(Clone, Debug, Serialize)]
pub struct Space {
    pub knobs: Vec<Knob>,
    pub values: Vec<Vec<u32>>,
}

/// One configuration: a value for each of [`Space::knobs`].
pub type Config = Vec<u32>;

impl Space {
    /// The knobs `era`'s model allows, with `ranges` where the scenario
    /// gives them and defaults around the era's own values elsewhere.
    pub fn of(era: &Era, ranges: &KnobRanges) -> Space {
        let mut knobs = Vec::new();
        match &era.arch {
            Architecture::Stone { .. } => knobs.push(Knob::HostCores),
            Architecture::Bronze { .. } => knobs.extend([Knob::WebCores, Knob::DbCores]),
            Architecture::Silver(_) => knobs.extend([Knob::Nodes, Knob::WebCores, Knob::DbCores]),
            Architecture::Gold(g) => {
                knobs.extend([Knob::Nodes, Knob::WebCores, Knob::DbCores]);
                for p in &g.services {
                    knobs.push(Knob::ServiceNodes(p.service.clone()));
                    if ranges.service_cores.is_some() {
                        knobs.push(Knob::ServiceCores(p.service.clone()));
                    }
                }
            }
        }
        knobs.extend([Knob::MaxChildren, Knob::MaxConnections, Knob::Pm]);
        let values = knobs.iter().map(|k| candidates(k, k.current(era), ranges)).collect();
        Space { knobs, values }
    }

    /// The space without `knob` (the era keeps its own value).
    pub fn without(mut self, knob: &Knob) -> Space {
        if let Some(i) = self.knobs.iter().position(|k| k == knob) {
            self.knobs.remove(i);
            self.values.remove(i);
        }
        self
    }

    /// Every configuration: the product of the knobs' values.
    pub fn size(&self) -> u64 {
        self.values.iter().map(|v| v.len() as u64).product()
    }

    /// Every configuration, in no particular order.
    pub fn all(&self) -> Vec<Config> {
        let mut out: Vec<Config> = vec![Vec::new()];
        for vals in &self.values {
            out = out
                .into_iter()
                .flat_map(|c| {
                    vals.iter().map(move |&v| {
                        let mut c = c.clone();
                        c.push(v);
                        c
                    })
                })
                .collect();
        }
        out
    }

    /// The knobs that change the price, and those that do not, by index.
    pub fn split(&self) -> (Vec<usize>, Vec<usize>) {
        (0..self.knobs.len()).partition(|&i| !self.knobs[i].free())
    }

    /// Every combination of the values of the knobs at `indices`, in the
    /// order the search tries them (the first knob slowest).
    pub fn product(&self, indices: &[usize]) -> Vec<Vec<u32>> {
        let mut out: Vec<Vec<u32>> = vec![Vec::new()];
        for &i in indices {
            out = out
                .into_iter()
                .flat_map(|c| {
                    self.values[i].iter().map(move |&v| {
                        let mut c = c.clone();
                        c.push(v);
                        c
                    })
                })
                .collect();
        }
        out
    }

    /// `era` with `config` written in.
    pub fn apply(&self, era: &Era, config: &Config) -> Era {
        let mut e = era.clone();
        for (k, &v) in self.knobs.iter().zip(config) {
            k.apply(&mut e, v);
        }
        e
    }

    /// The value of `knob` in `config`, if the space has it.
    pub fn get(&self, config: &Config, knob: &Knob) -> Option<u32> {
        self.knobs.iter().position(|k| k == knob).map(|i| config[i])
    }

    /// `knob = value, …` for people.
    pub fn describe(&self, config: &Config) -> String {
        self.knobs
            .iter()
            .zip(config)
            .filter(|(k, _)| self.values[self.knobs.iter().position(|x| x == *k).unwrap()].len() > 1)
            .map(|(k, &v)| format!("{} = {}", k.key(), k.show(v)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Whether any request of `app` talks to the database: without a query,
/// MySQL's connections are no knob worth turning.
pub fn queries(app: &lab_core::scenario::App) -> bool {
    use lab_core::scenario::Step;
    fn any(steps: &[Step]) -> bool {
        steps.iter().any(|s| match s {
            Step::Query(_) | Step::Transaction(_) => true,
            Step::Parallel(b) => b.iter().any(|b| any(b)),
            Step::Cpu(_) | Step::Call(_) => false,
        })
    }
    app.endpoints.iter().any(|e| any(&e.steps)) || app.services.iter().any(|s| s.ops.iter().any(|o| any(&o.steps)))
}

/// What `era` costs an hour: its hosts' prices, or, when the scenario
/// prices none of them, its cores (then the unit is "cores").
pub fn cost(era: &Era) -> (f64, &'static str) {
    let t = era.topology();
    let price = t.price_per_hour();
    if price > 0.0 {
        (price, "/h")
    } else {
        (t.hosts.iter().map(|h| f64::from(h.cores)).sum(), " cores")
    }
}

/// What a configuration costs, from its values alone: a host's price is
/// linear in its cores, so an era's cost is a constant (the balancers) and,
/// for each priced tier, the price of a core times cores times hosts.
pub struct Pricing {
    fixed: f64,
    tiers: Vec<Tier>,
}

/// Price of a core, the knob (or value) giving each host's cores and the
/// knob (or value) giving the hosts.
struct Tier {
    per_core: f64,
    cores: (Option<usize>, u32),
    hosts: (Option<usize>, u32),
}

impl Pricing {
    pub fn of(era: &Era, space: &Space) -> Pricing {
        let priced = cost(era).1 == "/h";
        let per_core = |h: &Host| {
            if priced {
                h.price_per_hour / f64::from(h.cores.max(1))
            } else {
                1.0
            }
        };
        let at = |k: &Knob| (space.knobs.iter().position(|x| x == k), k.current(era));
        let one = (None, 1);
        let mut tiers = Vec::new();
        match &era.arch {
            Architecture::Stone { host, .. } => tiers.push(Tier {
                per_core: per_core(host),
                cores: at(&Knob::HostCores),
                hosts: one,
            }),
            Architecture::Bronze { web, db, .. } => {
                tiers.push(Tier {
                    per_core: per_core(web),
                    cores: at(&Knob::WebCores),
                    hosts: one,
                });
                tiers.push(Tier {
                    per_core: per_core(db),
                    cores: at(&Knob::DbCores),
                    hosts: one,
                });
            }
            Architecture::Silver(_) | Architecture::Gold(_) => {
                let (web, db) = match &era.arch {
                    Architecture::Silver(x) => (&x.web, &x.db),
                    Architecture::Gold(g) => (&g.front.web, &g.front.db),
                    _ => unreachable!(),
                };
                tiers.push(Tier {
                    per_core: per_core(web),
                    cores: at(&Knob::WebCores),
                    hosts: at(&Knob::Nodes),
                });
                tiers.push(Tier {
                    per_core: per_core(db),
                    cores: at(&Knob::DbCores),
                    hosts: one,
                });
                if let Architecture::Gold(g) = &era.arch {
                    for p in &g.services {
                        tiers.push(Tier {
                            per_core: per_core(&p.host),
                            cores: at(&Knob::ServiceCores(p.service.clone())),
                            hosts: at(&Knob::ServiceNodes(p.service.clone())),
                        });
                    }
                }
            }
        }
        let mut pricing = Pricing { fixed: 0.0, tiers };
        let current: Config = space.knobs.iter().map(|k| k.current(era)).collect();
        pricing.fixed = cost(era).0 - pricing.cost(&current);
        pricing
    }

    /// The configuration's cost an hour (or its cores), in [`cost`]'s unit.
    pub fn cost(&self, config: &[u32]) -> f64 {
        let value = |(knob, own): (Option<usize>, u32)| f64::from(knob.map_or(own, |i| config[i]));
        self.fixed
            + self
                .tiers
                .iter()
                .map(|t| t.per_core * value(t.cores) * value(t.hosts))
                .sum::<f64>()
    }
}

fn candidates(knob: &Knob, current: u32, r: &KnobRanges) -> Vec<u32> {
    let cur = current.max(1);
    let given = match knob {
        Knob::Nodes => r.nodes,
        Knob::HostCores => r.host_cores,
        Knob::WebCores => r.web_cores,
        Knob::DbCores => r.db_cores,
        Knob::MaxChildren => r.max_children,
        Knob::MaxConnections => r.max_connections,
        Knob::ServiceNodes(_) => r.service_nodes,
        Knob::ServiceCores(_) => r.service_cores,
        Knob::Pm => {
            return match &r.pm {
                Some(list) => list
                    .iter()
                    .map(|p| PM_ORDER.iter().position(|x| x == p).unwrap() as u32)
                    .collect(),
                None => vec![current],
            };
        }
    };
    match (knob, given) {
        (Knob::Nodes | Knob::ServiceNodes(_), Some(g)) => linear(g),
        (_, Some(g)) => geometric(g),
        // At least two: the least that survives losing one.
        (Knob::Nodes, None) => linear(KnobRange {
            min: 2.min(cur),
            max: (2 * cur).clamp(4, MAX_WEB_NODES),
        }),
        (Knob::ServiceNodes(_), None) => linear(KnobRange {
            min: 1,
            max: (2 * cur).clamp(2, MAX_WEB_NODES),
        }),
        (Knob::ServiceCores(_), None) => vec![cur],
        (Knob::HostCores | Knob::WebCores | Knob::DbCores, None) => geometric(KnobRange {
            min: 1,
            max: (4 * cur).min(MAX_CORES),
        }),
        (Knob::MaxChildren, None) => (0..5)
            .map(|k| ((cur * 4) >> (4 - k)).clamp(1, MAX_FPM_CHILDREN))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
        (Knob::MaxConnections, None) => [cur, 2 * cur, 4 * cur].map(|v| v.min(MAX_DB_CONNECTIONS)).to_vec(),
        (Knob::Pm, _) => unreachable!("returned above"),
    }
}

/// Every whole value of a short range; a long one stepped geometrically.
fn linear(r: KnobRange) -> Vec<u32> {
    if r.max - r.min <= 16 {
        (r.min..=r.max).collect()
    } else {
        geometric(r)
    }
}

/// The range's ends and the powers of two between them, as machines and
/// pools are sized.
fn geometric(r: KnobRange) -> Vec<u32> {
    let mut v: Vec<u32> = (0..32)
        .map(|k| 1u64 << k)
        .filter(|&p| p > u64::from(r.min) && p < u64::from(r.max))
        .map(|p| p as u32)
        .collect();
    v.push(r.min);
    v.push(r.max);
    v.sort_unstable();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometric_steps_are_powers_of_two_between_the_ends() {
        assert_eq!(geometric(KnobRange { min: 8, max: 128 }), [8, 16, 32, 64, 128]);
        assert_eq!(geometric(KnobRange { min: 151, max: 600 }), [151, 256, 512, 600]);
        assert_eq!(geometric(KnobRange { min: 3, max: 3 }), [3]);
        assert_eq!(linear(KnobRange { min: 1, max: 4 }), [1, 2, 3, 4]);
    }

    #[test]
    fn default_max_children_spans_a_quarter_to_four_times() {
        let r = KnobRanges::default();
        assert_eq!(candidates(&Knob::MaxChildren, 40, &r), [10, 20, 40, 80, 160]);
        assert_eq!(candidates(&Knob::MaxChildren, 1, &r), [1, 2, 4]);
        assert_eq!(candidates(&Knob::DbCores, 4, &r), [1, 2, 4, 8, 16]);
        assert_eq!(candidates(&Knob::Nodes, 2, &r), [2, 3, 4]);
    }

    #[test]
    fn a_dynamic_pool_keeps_its_spares_within_a_smaller_pool() {
        let mut fpm = FpmPool {
            pm: ProcessManager::Dynamic {
                start_servers: 10,
                min_spare_servers: 5,
                max_spare_servers: 15,
            },
            max_children: 40,
            listen: lab_core::scenario::Listen::Unix,
            listen_backlog: None,
            max_requests: 0,
            request_terminate_timeout: None,
            spawn_time: 0,
        };
        set_max_children(&mut fpm, 8);
        assert_eq!(
            fpm.pm,
            ProcessManager::Dynamic {
                start_servers: 8,
                min_spare_servers: 5,
                max_spare_servers: 8
            }
        );
        set_pm(&mut fpm, PmChoice::Static);
        set_pm(&mut fpm, PmChoice::Dynamic);
        assert_eq!(
            fpm.pm,
            ProcessManager::Dynamic {
                start_servers: 3,
                min_spare_servers: 2,
                max_spare_servers: 4
            }
        );
    }
}
