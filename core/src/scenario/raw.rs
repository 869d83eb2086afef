//! Stage one: the TOML shape, read by serde. Unknown keys are rejected here;
//! meaning (units, ranges, cross-references) is checked in `validate`.

use indexmap::IndexMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: Option<String>,
    pub description: Option<String>,
    pub seed: Option<i64>,
    pub duration: Option<String>,
    #[serde(default)]
    pub stats: RawStats,
    #[serde(default)]
    pub slo: RawSlo,
    pub traffic: Option<RawTraffic>,
    pub app: Option<RawApp>,
    #[serde(default)]
    pub eras: IndexMap<String, RawEra>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStats {
    pub window: Option<String>,
    pub warmup: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlo {
    pub p50: Option<String>,
    pub p90: Option<String>,
    pub p95: Option<String>,
    pub p99: Option<String>,
    pub p999: Option<String>,
    pub error_rate: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTraffic {
    pub model: Option<String>,
    pub rate: Option<RawRate>,
    pub profile: Option<Vec<RawPoint>>,
    pub users: Option<i64>,
    pub think: Option<String>,
    pub timeout: Option<String>,
    pub mix: Option<IndexMap<String, f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPoint {
    pub at: String,
    pub rate: RawRate,
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
    #[serde(default)]
    pub endpoints: IndexMap<String, RawEndpoint>,
    #[serde(default)]
    pub locks: IndexMap<String, RawLock>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEndpoint {
    pub steps: Vec<RawStep>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub cpu: Option<String>,
    pub query: Option<String>,
    pub db_cpu: Option<String>,
    pub db_wait: Option<String>,
    pub lock: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLock {
    pub rows: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEra {
    pub model: Option<String>,
    pub host: Option<RawHost>,
    pub web: Option<RawHost>,
    pub db: Option<RawHost>,
    pub network: Option<RawNetwork>,
    pub fpm: Option<RawFpm>,
    pub mysql: Option<RawMySql>,
    pub nginx: Option<RawNginx>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHost {
    pub cores: Option<i64>,
    pub speed: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    pub rtt: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFpm {
    pub pm: Option<String>,
    pub max_children: Option<i64>,
    pub start_servers: Option<i64>,
    pub min_spare_servers: Option<i64>,
    pub max_spare_servers: Option<i64>,
    pub process_idle_timeout: Option<String>,
    pub max_requests: Option<i64>,
    pub request_terminate_timeout: Option<String>,
    pub listen_backlog: Option<i64>,
    pub spawn_time: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMySql {
    pub max_connections: Option<i64>,
    pub long_query_time: Option<String>,
    pub innodb_lock_wait_timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNginx {
    pub fastcgi_read_timeout: Option<String>,
}
