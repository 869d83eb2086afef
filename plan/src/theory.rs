//! Queueing theory beside the simulation: where an era is exactly an M/M/c
//! FCFS queue in the simulator, the capacity the formulas give, so that `lab
//! plan` can print it next to the simulated one.
//!
//! - [`mmc`] says whether an era of a scenario is such a queue, and which;
//! - [`erlang_c`], [`response_exceeds`], [`response_quantile`], [`capacity`]
//!   and [`slo_capacity`] answer for an open model (Poisson arrivals): the
//!   probability of waiting (Erlang C, through the Erlang B recursion), the
//!   law of the response time W + S, and the largest arrival rate whose
//!   response-time quantiles stay within the SLO;
//! - [`mva`] answers for a closed model (users who think): exact mean-value
//!   analysis with a load-dependent station.
//!
//! Sources: A. K. Erlang (1917) for the formulas B and C; L. Kleinrock,
//! *Queueing Systems, Vol. 1* (1975), §3.5 for M/M/c and its waiting-time
//! law; M. Reiser and S. S. Lavenberg, "Mean-Value Analysis of Closed
//! Multichain Queuing Networks", J. ACM 27(2), 1980, for MVA with
//! marginal probabilities at load-dependent stations.

mod mva;

pub use mva::mva;

use lab_core::scenario::{Architecture, DistKind, Era, Nginx, Overhead, ProcessManager, Scenario, Slo, Step, Workload};

/// An M/M/c queue: `servers` FCFS servers, each completing `service_rate`
/// jobs a second; the queue is unbounded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mmc {
    pub servers: u32,
    pub service_rate: f64,
}

/// Waiting places the listen backlog (and nginx's connections) must offer
/// for an open model to count as an unbounded queue: a fixed gate, for the
/// rate is not known yet. Near an SLO capacity the queue is short, so a
/// thousand places are plenty for the shops lab models: at mm4.toml's
/// capacity for p99 ≤ 100 ms the backlog overflows with a probability
/// around 1e-58 ([`queue_exceeds`] at 1001, tested). A caller with a rate
/// in hand can ask [`queue_exceeds`] of the actual backlog; and a run that
/// refuses anything shows it in its error rate.
pub const MIN_ROOM: u32 = 1000;

/// Timeouts shorter than this many mean service times would cut the
/// response-time law's tail: the client's and nginx's
/// `fastcgi_read_timeout`, which both count from the arrival.
pub const MIN_TIMEOUT_SERVICES: f64 = 100.0;

/// The M/M/c queue that `era` of `scenario` is in the simulator, or `None`
/// when it is not exactly one.
///
/// What the simulator does on the way (read in `sim/src/shop/`): nginx
/// costs no CPU and adds no delay, only holds two connections per request
/// (so its connection count must not refuse either); the network hop of
/// bronze is paid by queries alone, and the client talks to nginx directly
/// in both models; a static pool's children are ready at time zero. A job
/// that starts with a free core runs at the host's full speed and gets no
/// wake-up credit, so with `max_children ≤ cores` and nothing else on the
/// host's CPU (no queries, hence no MySQL jobs on stone's shared cores) each
/// job has a core to itself: the pool is c FCFS servers, the backlog their
/// queue. Everything that would add time is excluded, not accounted for:
/// overhead (a CPU step of its own), child replacement at `max_requests`
/// (a fork of `spawn_time` with one server fewer), kills, timeouts and faults.
pub fn mmc(scenario: &Scenario, era: &Era) -> Option<Mmc> {
    let (host, stack) = match &era.arch {
        Architecture::Stone { host, stack } => (host, stack),
        Architecture::Bronze { web, stack, .. } => (web, stack),
        Architecture::Silver(_) | Architecture::Gold(_) => return None,
    };
    if !era.faults.is_empty() {
        return None;
    }
    let fpm = &stack.fpm;
    let c = fpm.max_children;
    if fpm.pm != ProcessManager::Static || c > host.cores {
        return None;
    }
    if fpm.request_terminate_timeout.is_some() || (fpm.max_requests > 0 && fpm.spawn_time > 0) {
        return None;
    }
    // Every endpoint one exponential CPU step of the same mean: a mixture
    // of means would be hyperexponential, not M/M/c.
    let mut mean: Option<f64> = None;
    for e in &scenario.app.endpoints {
        let [Step::Cpu(d)] = e.steps.as_slice() else {
            return None;
        };
        let DistKind::Exp { mean: m } = d.kind() else {
            return None;
        };
        if e.overhead != Overhead::default() || mean.is_some_and(|x| x != *m) {
            return None;
        }
        mean = Some(*m);
    }
    let service_s = mean? / host.speed / 1e9;
    if !(service_s.is_finite() && service_s > 0.0) {
        return None;
    }
    let long_enough = |t: Option<u64>| t.is_none_or(|t| t as f64 / 1e9 >= MIN_TIMEOUT_SERVICES * service_s);
    if !long_enough(scenario.traffic.timeout) || !long_enough(stack.nginx.fastcgi_read_timeout) {
        return None;
    }
    // Linux counts a listener full when more than `backlog` wait, so it
    // holds one more. A closed model never has more waiting than its users
    // leave beyond the servers.
    let waiting = match &scenario.traffic.workload {
        Workload::Open(_) => MIN_ROOM,
        Workload::Closed { users, .. } => users.saturating_sub(c).min(MIN_ROOM),
    };
    let backlog = u64::from(fpm.backlog(host.kernel.somaxconn)) + 1;
    let nginx = &stack.nginx;
    let nginx_room = u64::from(nginx.workers(host.cores))
        * u64::from(nginx.worker_connections.saturating_sub(Nginx::RESERVED_PER_WORKER) / 2);
    if backlog < u64::from(waiting) || nginx_room < u64::from(waiting) + u64::from(c) {
        return None;
    }
    Some(Mmc {
        servers: c,
        service_rate: 1.0 / service_s,
    })
}

/// Erlang C: the probability that an arrival waits in an M/M/c queue with
/// offered load `a` = λ/μ (1 at or past saturation, a ≥ c). Erlang B comes
/// from its recursion B(k) = aB(k−1) / (k + aB(k−1)), whose terms stay in
/// [0, 1] for any c, unlike the textbook sum of a^k/k!.
pub fn erlang_c(c: u32, a: f64) -> f64 {
    if a <= 0.0 {
        return 0.0;
    }
    if a >= f64::from(c) {
        return 1.0;
    }
    let mut b = 1.0;
    for k in 1..=c {
        let ab = a * b;
        b = ab / (f64::from(k) + ab);
    }
    let rho = a / f64::from(c);
    b / (1.0 - rho * (1.0 - b))
}

/// P(Nq ≥ k), the probability that at least `k` wait in the queue of an
/// M/M/c at arrival rate `lambda`: C ρ^k with ρ = λ/cμ, for the queue is
/// geometric once all servers are busy.
pub fn queue_exceeds(m: &Mmc, lambda: f64, k: u32) -> f64 {
    let c_mu = f64::from(m.servers) * m.service_rate;
    if lambda >= c_mu {
        return 1.0;
    }
    erlang_c(m.servers, lambda.max(0.0) / m.service_rate) * (lambda.max(0.0) / c_mu).powf(f64::from(k))
}

/// P(E_x + E_y > t) for independent exponentials of rates x and y: the
/// hypoexponential tail, written as e^{−mt}(1 + mt·g((M−m)t)) with m the
/// smaller rate, M the larger and g(u) = (1 − e^{−u})/u. Equal or close
/// rates need no special case (g(0) = 1 gives the Erlang-2 tail), and no
/// term grows past 1.
fn hypo_exceeds(x: f64, y: f64, t: f64) -> f64 {
    let (m, big) = if x <= y { (x, y) } else { (y, x) };
    let u = (big - m) * t;
    let g = if u == 0.0 { 1.0 } else { -(-u).exp_m1() / u };
    (-m * t).exp() * (1.0 + m * t * g)
}

/// P(R > t) for the response time R = W + S of an FCFS M/M/c queue at
/// arrival rate `lambda` (per second, t in seconds): W is 0 with
/// probability 1 − C, else exponential of rate cμ − λ; S is exponential of
/// rate μ. 1 at or past saturation.
pub fn response_exceeds(m: &Mmc, lambda: f64, t: f64) -> f64 {
    let mu = m.service_rate;
    let c_mu = f64::from(m.servers) * mu;
    if lambda >= c_mu {
        return 1.0;
    }
    if t <= 0.0 {
        return 1.0;
    }
    let wait = erlang_c(m.servers, lambda.max(0.0) / mu);
    let p = (1.0 - wait) * (-mu * t).exp() + wait * hypo_exceeds(c_mu - lambda, mu, t);
    p.clamp(0.0, 1.0)
}

/// The `q`-quantile (0 < q < 1) of the response time in seconds, where
/// [`response_exceeds`] falls to 1 − q; infinite at or past saturation.
pub fn response_quantile(m: &Mmc, lambda: f64, q: f64) -> f64 {
    assert!(q > 0.0 && q < 1.0, "a quantile strictly between 0 and 1");
    if lambda >= f64::from(m.servers) * m.service_rate {
        return f64::INFINITY;
    }
    let tail = 1.0 - q;
    // The tail is continuous and decreasing from 1 at t = 0: bracket by
    // doubling from the mean service time, then bisect.
    let mut hi = 1.0 / m.service_rate;
    while response_exceeds(m, lambda, hi) > tail {
        hi *= 2.0;
    }
    let mut lo = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if response_exceeds(m, lambda, mid) > tail {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

/// The largest arrival rate (per second, below cμ) at which the `q`-quantile
/// of the response time is at most `bound_s` seconds, to a relative 1e-9;
/// `None` when the service time alone misses it (its quantile
/// −ln(1 − q)/μ is above the bound).
///
/// Asks P(R > bound) ≤ 1 − q rather than inverting the quantile: the same
/// set of rates, as P(R > t) rises with λ for every t (C rises, cμ − λ
/// falls), without a root find inside the bisection.
pub fn capacity(m: &Mmc, q: f64, bound_s: f64) -> Option<f64> {
    let tail = 1.0 - q;
    if response_exceeds(m, 0.0, bound_s) > tail {
        return None;
    }
    let (mut lo, mut hi) = (0.0, f64::from(m.servers) * m.service_rate);
    while hi - lo > 1e-9 * hi {
        let mid = 0.5 * (lo + hi);
        if response_exceeds(m, mid, bound_s) <= tail {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(lo)
}

/// The capacity under the SLO's latency objectives: the smallest of
/// [`capacity`] over them (`None` if one cannot be met at any rate, or
/// there is none). Error-rate objectives hold at any rate below cμ: the
/// queue is unbounded and nothing times out ([`mmc`] sees to both).
///
/// `None` as well for an SLO judged `during` a phase: the capacity is a
/// stationary rate, and a phase is a stretch of a profile that may ramp or
/// spike, judged before the queue settles. And `None` with per-endpoint
/// objectives: each endpoint's requests do have the whole run's response
/// law here (one service law, FCFS, Poisson thinning), but the simulator
/// judges an endpoint on its own requests, few or none for a rarely asked
/// one, so the two figures would part for a reason that is not queueing.
pub fn slo_capacity(m: &Mmc, slo: &Slo) -> Option<f64> {
    if slo.during.is_some() || !slo.endpoints.is_empty() || slo.latency.is_empty() {
        return None;
    }
    slo.latency.iter().try_fold(f64::INFINITY, |best, o| {
        capacity(m, o.percentile.quantile(), o.max as f64 / 1e9).map(|c| best.min(c))
    })
}

#[cfg(test)]
mod tests;
