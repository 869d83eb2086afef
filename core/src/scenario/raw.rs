//! Stage one: the TOML shape, read by serde. Unknown keys are rejected here;
//! meaning (units, ranges, cross-references) is checked in `validate`.
//!
//! Every value is read as a [`Field`]: a value of the wrong type, or a
//! table with unknown keys, is kept with what was wrong instead of failing
//! the whole file, so validation can list every problem at once.

mod field;

use indexmap::IndexMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

pub use field::{Field, Shape, TABLE, Wrong, describe};

/// A key that may be absent; present, it may still be badly written.
pub type Opt<T> = Option<Field<T>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: Opt<String>,
    pub description: Opt<String>,
    pub seed: Opt<i64>,
    pub duration: Opt<String>,
    pub stats: Opt<RawStats>,
    pub slo: Opt<RawSlo>,
    pub traffic: Opt<RawTraffic>,
    pub app: Opt<RawApp>,
    /// Each era's table is read by its model (`scenario/era/<model>.rs`).
    pub eras: Opt<IndexMap<String, Field<toml::Table>>>,
    pub faults: Opt<Vec<Field<RawFault>>>,
    pub phases: Opt<Vec<Field<RawPhase>>>,
    pub plan: Opt<RawPlan>,
}

/// `[plan]`: what `lab plan` asks of the scenario. Its sub-tables name the
/// same machines and software as an era's, so that `fpm.max_children`
/// reads as the key it ranges over.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlan {
    pub target: Opt<RawRate>,
    pub replications: Opt<i64>,
    pub tolerance: Opt<String>,
    pub nodes: Opt<RawRange>,
    pub host: Opt<RawPlanHost>,
    pub web: Opt<RawPlanHost>,
    pub db: Opt<RawPlanHost>,
    pub fpm: Opt<RawPlanFpm>,
    pub mysql: Opt<RawPlanMySql>,
    pub services: Opt<RawPlanServices>,
}

/// A knob's range as written, `[min, max]`: its length is checked in
/// validation, where the message can say what a range is.
pub type RawRange = Vec<Field<i64>>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlanHost {
    pub cores: Opt<RawRange>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlanFpm {
    pub max_children: Opt<RawRange>,
    pub pm: Opt<Vec<Field<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlanMySql {
    pub max_connections: Opt<RawRange>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlanServices {
    pub nodes: Opt<RawRange>,
    pub cores: Opt<RawRange>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPhase {
    pub name: Opt<String>,
    pub from: Opt<String>,
    pub to: Opt<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    pub at: Opt<String>,
    #[serde(rename = "for")]
    pub for_: Opt<String>,
    pub kind: Opt<String>,
    pub target: Opt<String>,
    pub factor: Opt<f64>,
    pub eras: Opt<Vec<Field<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStats {
    pub window: Opt<String>,
    pub warmup: Opt<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlo {
    pub p50: Opt<String>,
    pub p90: Opt<String>,
    pub p95: Opt<String>,
    pub p99: Opt<String>,
    pub p999: Opt<String>,
    pub error_rate: Opt<String>,
    /// Judge the objectives on one phase's windows only.
    pub during: Opt<String>,
    /// `[slo.endpoints.<name>]`: the same objectives for one endpoint.
    pub endpoints: Opt<IndexMap<String, Field<RawEndpointSlo>>>,
}

/// `[slo.endpoints.<name>]`: `[slo]`'s objectives without its `during` and
/// `endpoints`, so that an unknown key lists only what an endpoint takes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEndpointSlo {
    pub p50: Opt<String>,
    pub p90: Opt<String>,
    pub p95: Opt<String>,
    pub p99: Opt<String>,
    pub p999: Opt<String>,
    pub error_rate: Opt<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTraffic {
    pub model: Opt<String>,
    pub rate: Opt<RawRate>,
    pub profile: Opt<Vec<Field<RawPoint>>>,
    pub users: Opt<i64>,
    pub think: Opt<String>,
    pub timeout: Opt<String>,
    pub mix: Opt<IndexMap<String, Field<f64>>>,
    pub tcp_syn_retries: Opt<i64>,
    pub tcp_syn_linear_timeouts: Opt<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPoint {
    pub at: Opt<String>,
    pub rate: Opt<RawRate>,
    pub mix: Opt<IndexMap<String, Field<f64>>>,
}

/// A rate written as `"120/s"` or as a bare number of requests per second.
#[derive(Debug, Clone)]
pub enum RawRate {
    PerSecond(f64),
    Text(String),
}

impl<'de> Deserialize<'de> for RawRate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawRate;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a rate such as \"120/s\" or a number of requests per second")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawRate, E> {
                Ok(RawRate::PerSecond(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawRate, E> {
                Ok(RawRate::PerSecond(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawRate, E> {
                Ok(RawRate::PerSecond(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawRate, E> {
                Ok(RawRate::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApp {
    pub endpoints: Opt<IndexMap<String, Field<RawEndpoint>>>,
    pub locks: Opt<IndexMap<String, Field<RawLock>>>,
    pub services: Opt<IndexMap<String, Field<RawService>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub ops: Opt<IndexMap<String, Field<RawEndpoint>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEndpoint {
    pub steps: Opt<Vec<Field<RawStep>>>,
    pub overhead: Opt<RawOverhead>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOverhead {
    pub web: Opt<String>,
    pub cold: Opt<String>,
    pub db: Opt<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub cpu: Opt<String>,
    pub query: Opt<String>,
    pub db_cpu: Opt<String>,
    pub db_wait: Opt<String>,
    pub lock: Opt<String>,
    pub call: Opt<String>,
    pub parallel: Opt<Vec<Field<Vec<Field<RawStep>>>>>,
    pub transaction: Opt<Vec<Field<RawStep>>>,
    pub commit_flush: Opt<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLock {
    pub rows: Opt<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHost {
    pub cores: Opt<i64>,
    pub speed: Opt<f64>,
    pub somaxconn: Opt<i64>,
    pub tcp_syn_retries: Opt<i64>,
    pub tcp_syn_linear_timeouts: Opt<i64>,
    pub price_per_hour: Opt<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    pub rtt: Opt<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFpm {
    pub pm: Opt<String>,
    pub max_children: Opt<i64>,
    pub listen: Opt<String>,
    pub start_servers: Opt<i64>,
    pub min_spare_servers: Opt<i64>,
    pub max_spare_servers: Opt<i64>,
    pub process_idle_timeout: Opt<String>,
    pub max_requests: Opt<i64>,
    pub request_terminate_timeout: Opt<String>,
    pub listen_backlog: Opt<i64>,
    pub spawn_time: Opt<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMySql {
    pub max_connections: Opt<i64>,
    pub long_query_time: Opt<String>,
    pub innodb_lock_wait_timeout: Opt<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNginx {
    pub fastcgi_read_timeout: Opt<String>,
    pub fastcgi_connect_timeout: Opt<String>,
    pub worker_processes: Opt<RawWorkers>,
    pub worker_connections: Opt<i64>,
}

/// `worker_processes`: a number, or `"auto"`.
#[derive(Debug, Clone)]
pub enum RawWorkers {
    Number(i64),
    Text(String),
}

impl<'de> Deserialize<'de> for RawWorkers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawWorkers;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(RawWorkers::WHAT)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawWorkers, E> {
                Ok(RawWorkers::Number(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawWorkers, E> {
                Ok(RawWorkers::Number(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawWorkers, E> {
                Ok(RawWorkers::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl Shape for toml::Table {
    const WHAT: &'static str = TABLE;
}

impl Shape for RawWorkers {
    const WHAT: &'static str = "a number of worker processes, or \"auto\" (one per core)";
}

impl Shape for RawRate {
    const WHAT: &'static str = "a rate such as \"120/s\" or a number of requests per second";
}

macro_rules! tables {
    ($($t:ty),*) => { $(impl Shape for $t { const WHAT: &'static str = TABLE; })* };
}
tables!(
    RawScenario,
    RawStats,
    RawSlo,
    RawEndpointSlo,
    RawTraffic,
    RawPoint,
    RawApp,
    RawService,
    RawEndpoint,
    RawOverhead,
    RawStep,
    RawLock,
    RawHost,
    RawNetwork,
    RawFpm,
    RawMySql,
    RawNginx,
    RawFault,
    RawPhase,
    RawPlan,
    RawPlanHost,
    RawPlanFpm,
    RawPlanMySql,
    RawPlanServices
);
