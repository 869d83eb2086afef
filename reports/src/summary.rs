//! `summary.json`: the whole-run figures of every era, in a documented,
//! versioned shape (docs/summary-json.md). The terminal table and the HTML
//! page are drawn from the same structure, so they never disagree.

use std::collections::BTreeMap;

use lab_core::record::{Latencies, SpanKind, Verdict, waits};
use lab_core::scenario::{Percentile, Scenario, Slo};
use lab_core::{OutcomeId, Record};
use serde::Serialize;

/// Bumped whenever a field changes meaning or disappears. 2: outcomes and
/// waits are what each era declares (docs/summary-json.md).
pub const SCHEMA: &str = "lab-summary/2";

#[derive(Debug, Serialize)]
pub struct Summary {
    pub schema: &'static str,
    pub lab_version: &'static str,
    pub scenario: ScenarioInfo,
    pub slo: Vec<Objective>,
    pub eras: Vec<EraSummary>,
    /// With `--replications N` (N > 1): each era's figures over the
    /// replications; absent otherwise, so that one replication writes the
    /// file it always did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replications: Option<Vec<crate::replications::EraReplications>>,
}

#[derive(Debug, Serialize)]
pub struct ScenarioInfo {
    pub name: String,
    pub description: String,
    pub file: String,
    pub seed: u64,
    pub duration_s: f64,
    pub window_s: f64,
    pub warmup_s: f64,
}

#[derive(Debug, Serialize)]
pub struct Objective {
    /// `p50` … `p999` or `error_rate`; an endpoint's are prefixed with its
    /// name (`checkout p99`).
    pub name: String,
    /// The endpoint the objective is about; `null` for the whole run.
    pub endpoint: Option<String>,
    /// Milliseconds for latency objectives, a fraction for the error rate.
    pub max: f64,
    /// The phase it is judged on (`[slo] during`); `null` for the whole
    /// run after the warm-up.
    pub during: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct EraSummary {
    pub label: String,
    pub model: String,
    pub source: &'static str,
    pub requests: Requests,
    /// Successful responses per second over the measured span.
    pub throughput_rps: f64,
    /// Successful responses only; `null` when there were none.
    pub latency_ms: Option<LatencySummary>,
    /// Time in FPM's listen backlog of every request a worker took; `null`
    /// when there was none or the era has no FPM backlog. The same as the
    /// `queue_wait` entry of `waits`, kept under its first name.
    pub queue_wait_ms: Option<LatencySummary>,
    /// Every wait the era declares, in declaration order.
    pub waits: Vec<WaitSummary>,
    /// Requests by how they ended, keyed by outcome key: one entry per
    /// outcome the era declares.
    pub outcomes: BTreeMap<String, u64>,
    /// The outcomes the era declares, in declaration order (`ok` first).
    pub outcome_specs: Vec<OutcomeSummary>,
    /// Failed over finished requests; `null` when none finished.
    pub error_rate: Option<f64>,
    /// The same figures per endpoint, in the scenario's order.
    pub endpoints: Vec<EndpointSummary>,
    /// The figures of each phase (the scenario's, or derived from its
    /// rate profile), in time order.
    pub phases: Vec<PhaseSummary>,
    /// Per phase, the resources that saturated in the order they did, and
    /// a sentence naming the bottleneck.
    pub bottlenecks: Vec<crate::bottleneck::PhaseBottleneck>,
    pub gauges: Vec<GaugeSummary>,
    pub counters: BTreeMap<String, u64>,
    pub slo: SloSummary,
    /// What the era's hosts cost; `null` when the scenario gives no prices.
    pub cost: Option<Cost>,
    /// Groups of like gauges (the web nodes' CPUs), by gauge key.
    pub gauge_groups: Vec<GroupSummary>,
    /// The stretches the charts shade: faults, and the VIP's gaps.
    pub spans: Vec<SpanSummary>,
    /// States over the run: who held the VIP.
    pub timelines: Vec<TimelineSummary>,
    /// The era's time series, relative to the report folder.
    pub csv: String,
}

/// One phase's figures, from the windows whose middle it holds.
#[derive(Debug, Serialize)]
pub struct PhaseSummary {
    pub name: String,
    /// Derived from the rate profile rather than named by the scenario.
    pub derived: bool,
    pub from_s: f64,
    pub to_s: f64,
    /// Windows of the phase the warm-up left out.
    pub warmup_windows: usize,
    /// The rate the traffic intended, averaged over the phase.
    pub offered_rps: f64,
    pub throughput_rps: f64,
    pub finished: u64,
    pub latency_ms: Option<LatencySummary>,
    pub error_rate: Option<f64>,
    /// The highest p99 of one window in the phase, and where it starts.
    pub worst_window_p99_ms: Option<f64>,
    pub worst_window_start_s: Option<f64>,
}

/// One endpoint's requests over the measured span.
#[derive(Debug, Serialize)]
pub struct EndpointSummary {
    pub name: String,
    pub finished: u64,
    pub ok: u64,
    /// Its successful responses per second.
    pub throughput_rps: f64,
    /// Its successful responses only; `null` when there were none.
    pub latency_ms: Option<LatencySummary>,
    /// Its failed over its finished requests; `null` when none finished.
    pub error_rate: Option<f64>,
    /// Its requests by how they ended: `ok` and every outcome it had.
    pub outcomes: BTreeMap<String, u64>,
}

/// What an era costs, from its hosts' `price_per_hour`.
#[derive(Debug, Serialize)]
pub struct Cost {
    pub per_hour: f64,
    /// The hosts' cost over the measured span per million successful
    /// responses; `null` when none succeeded.
    pub per_million_ok: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Requests {
    pub arrived: u64,
    pub finished: u64,
    pub ok: u64,
    /// Still in the system when the run ended.
    pub unfinished: u64,
}

#[derive(Debug, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

#[derive(Debug, Serialize)]
pub struct WaitSummary {
    pub key: String,
    pub label: String,
    /// `null` when no wait ended after the warm-up.
    pub ms: Option<LatencySummary>,
}

#[derive(Debug, Serialize)]
pub struct OutcomeSummary {
    pub key: String,
    pub label: String,
    /// `null` when the client received no response.
    pub http_status: Option<u16>,
}

#[derive(Debug, Serialize)]
pub struct GaugeSummary {
    pub key: String,
    pub label: String,
    pub mean: f64,
    pub max: f64,
    pub capacity: Option<f64>,
    /// Mean over capacity, when there is a capacity.
    pub utilisation: Option<f64>,
    /// How long a figure of the gauge's time series covers: the window, or
    /// for a coarse gauge a power of two of them (the CSV repeats it).
    pub resolution_s: f64,
}

#[derive(Debug, Serialize)]
pub struct GroupSummary {
    pub key: String,
    pub label: String,
    /// The members' gauge keys.
    pub members: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct SpanSummary {
    /// `fault` or `no_entry` (nobody held the VIP).
    pub kind: &'static str,
    pub label: String,
    pub start_s: f64,
    pub end_s: f64,
}

#[derive(Debug, Serialize)]
pub struct TimelineSummary {
    pub key: String,
    pub label: String,
    pub states: Vec<String>,
    /// In time order, the first at 0.
    pub changes: Vec<ChangeSummary>,
}

#[derive(Debug, Serialize)]
pub struct ChangeSummary {
    pub at_s: f64,
    /// The state from then on, `null` for none (nobody holds the VIP).
    pub state: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SloSummary {
    pub pass: bool,
    pub checks: Vec<CheckSummary>,
}

#[derive(Debug, Serialize)]
pub struct CheckSummary {
    pub name: String,
    pub target: String,
    pub actual: String,
    pub pass: bool,
}

const MS: f64 = 1e6;

fn latency(l: &Latencies) -> Option<LatencySummary> {
    let p = |x| l.percentile(x).map_or(0.0, |v| v as f64 / MS);
    Some(LatencySummary {
        count: l.count(),
        mean: l.mean()? / MS,
        p50: p(Percentile::P50),
        p90: p(Percentile::P90),
        p95: p(Percentile::P95),
        p99: p(Percentile::P99),
        p999: p(Percentile::P999),
        max: l.max()? as f64 / MS,
    })
}

/// The CSV file of an era, relative to the report folder.
pub fn csv_name(era: &str) -> String {
    format!("{era}.csv")
}

pub fn build(scenario: &Scenario, records: &[Record]) -> Summary {
    let during = scenario.slo.during.as_ref().map(|p| p.name.clone());
    let mut slo = objectives(&scenario.slo, None, &during);
    for (name, o) in &scenario.slo.endpoints {
        slo.extend(objectives(o, Some(name), &during));
    }
    Summary {
        schema: SCHEMA,
        lab_version: env!("CARGO_PKG_VERSION"),
        scenario: ScenarioInfo {
            name: scenario.name.clone(),
            description: scenario.description.clone(),
            file: scenario.file.display().to_string(),
            seed: scenario.seed,
            duration_s: secs(scenario.duration),
            window_s: secs(scenario.stats.window),
            warmup_s: secs(scenario.stats.warmup),
        },
        slo,
        eras: records.iter().map(|r| era(scenario, r)).collect(),
        replications: None,
    }
}

fn objectives(slo: &Slo, endpoint: Option<&String>, during: &Option<String>) -> Vec<Objective> {
    let prefix = endpoint.map_or(String::new(), |e| format!("{e} "));
    let mut out: Vec<Objective> = slo
        .latency
        .iter()
        .map(|o| Objective {
            name: format!("{prefix}{}", o.percentile.key()),
            endpoint: endpoint.cloned(),
            max: o.max as f64 / MS,
            during: during.clone(),
        })
        .collect();
    if let Some(e) = slo.error_rate {
        out.push(Objective {
            name: format!("{prefix}error_rate"),
            endpoint: endpoint.cloned(),
            max: e,
            during: during.clone(),
        });
    }
    out
}

/// Each endpoint's figures, in the scenario's order; one endpoint's are
/// the era's.
fn endpoints(r: &Record) -> Vec<EndpointSummary> {
    let span = r.totals.span;
    (0..r.endpoints.len())
        .filter_map(|i| {
            let v = r.endpoint_totals(i)?;
            Some(EndpointSummary {
                name: r.endpoints[i].clone(),
                finished: v.outcomes.total(),
                ok: v.outcomes[OutcomeId::OK],
                throughput_rps: v.outcomes[OutcomeId::OK] as f64 / (secs(span)).max(f64::MIN_POSITIVE),
                latency_ms: latency(v.latency),
                error_rate: v.outcomes.error_rate(),
                outcomes: v
                    .outcomes
                    .iter()
                    .filter(|&(o, n)| n > 0 || o == OutcomeId::OK)
                    .map(|(o, n)| (r.outcome(o).key.to_string(), n))
                    .collect(),
            })
        })
        .collect()
}

fn cost(r: &Record) -> Option<Cost> {
    let per_hour = r.meta.price_per_hour;
    (per_hour > 0.0).then(|| {
        let hours = r.totals.span as f64 / 3.6e12;
        let ok = r.totals.outcomes[OutcomeId::OK];
        Cost {
            per_hour,
            per_million_ok: (ok > 0).then(|| per_hour * hours / ok as f64 * 1e6),
        }
    })
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

fn era(scenario: &Scenario, r: &Record) -> EraSummary {
    let t = &r.totals;
    let verdict = Verdict::judge(&scenario.slo, r);
    let waits: Vec<WaitSummary> = r
        .waits
        .iter()
        .zip(&t.waits)
        .map(|(spec, l)| WaitSummary {
            key: spec.key.to_string(),
            label: spec.label.to_string(),
            ms: latency(l),
        })
        .collect();
    EraSummary {
        label: r.meta.era.clone(),
        model: r.meta.model.clone(),
        source: r.meta.source.key(),
        requests: Requests {
            arrived: t.arrivals,
            finished: t.outcomes.total(),
            ok: t.outcomes[OutcomeId::OK],
            unfinished: t.unfinished,
        },
        throughput_rps: t.throughput(),
        latency_ms: latency(&t.latency),
        queue_wait_ms: r.wait_index(&waits::FPM_BACKLOG.key).and_then(|i| latency(&t.waits[i])),
        waits,
        outcomes: t
            .outcomes
            .iter()
            .map(|(o, n)| (r.outcome(o).key.to_string(), n))
            .collect(),
        outcome_specs: r
            .outcomes
            .iter()
            .map(|o| OutcomeSummary {
                key: o.key.to_string(),
                label: o.label.to_string(),
                http_status: o.http_status,
            })
            .collect(),
        error_rate: t.outcomes.error_rate(),
        endpoints: endpoints(r),
        bottlenecks: crate::bottleneck::find(r, &scenario.app, &scenario.phases),
        phases: scenario
            .phases
            .iter()
            .map(|p| {
                let s = r.stretch(p);
                PhaseSummary {
                    name: p.name.clone(),
                    derived: p.derived,
                    from_s: secs(p.from),
                    to_s: secs(p.to),
                    warmup_windows: s.warmup_windows,
                    offered_rps: s.offered,
                    throughput_rps: s.throughput(),
                    finished: s.outcomes.total(),
                    latency_ms: latency(&s.latency),
                    error_rate: s.outcomes.error_rate(),
                    worst_window_p99_ms: s.worst_p99.map(|w| w.1 as f64 / MS),
                    worst_window_start_s: s.worst_p99.map(|w| secs(w.0)),
                }
            })
            .collect(),
        gauges: r
            .gauges
            .iter()
            .zip(&t.gauges)
            .enumerate()
            .map(|(i, (spec, g))| GaugeSummary {
                key: spec.key.clone(),
                label: spec.label.clone(),
                mean: g.mean,
                max: g.max,
                capacity: spec.capacity,
                utilisation: spec.capacity.filter(|c| *c > 0.0).map(|c| g.mean / c),
                resolution_s: r.windows_per_point(i) as f64 * secs(r.meta.window),
            })
            .collect(),
        counters: r
            .counters
            .iter()
            .zip(&t.counters)
            .map(|(c, n)| (c.key.clone(), *n))
            .collect(),
        cost: cost(r),
        gauge_groups: r
            .groups
            .iter()
            .map(|g| GroupSummary {
                key: g.key.clone(),
                label: g.label.clone(),
                members: g.members.iter().map(|&i| r.gauges[i].key.clone()).collect(),
            })
            .collect(),
        spans: r
            .spans
            .iter()
            .map(|s| SpanSummary {
                kind: match s.kind {
                    SpanKind::Fault => "fault",
                    SpanKind::NoEntry => "no_entry",
                },
                label: s.label.clone(),
                start_s: secs(s.start),
                end_s: secs(s.end),
            })
            .collect(),
        timelines: r
            .timelines
            .iter()
            .map(|t| TimelineSummary {
                key: t.key.clone(),
                label: t.label.clone(),
                states: t.states.clone(),
                changes: t
                    .changes
                    .iter()
                    .map(|&(at, state)| ChangeSummary {
                        at_s: secs(at),
                        state: state.map(|s| t.states[s].clone()),
                    })
                    .collect(),
            })
            .collect(),
        slo: SloSummary {
            pass: verdict.pass(),
            checks: verdict
                .checks
                .into_iter()
                .map(|c| CheckSummary {
                    name: c.name,
                    target: c.target,
                    actual: c.actual,
                    pass: c.pass,
                })
                .collect(),
        },
        csv: csv_name(&r.meta.era),
    }
}
