use std::path::Path;

use lab_core::scenario::{self, LatencyObjective, Percentile, Slo};

use super::*;

const MM4: &str = include_str!("../../../scenarios/theory/mm4.toml");

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

fn mm(servers: u32, service_rate: f64) -> Mmc {
    Mmc { servers, service_rate }
}

/// Erlang C from its textbook sum, fine for a small c.
fn erlang_c_by_sum(c: u32, a: f64) -> f64 {
    let mut term = 1.0;
    let mut below = 0.0;
    for k in 0..c {
        below += term;
        term *= a / f64::from(k + 1);
    }
    let top = term * f64::from(c) / (f64::from(c) - a);
    top / (below + top)
}

#[test]
fn erlang_c_of_mm4() {
    let c = erlang_c(4, 3.6);
    assert!((c - 0.7878).abs() < 5e-5, "{c}");
    assert!(rel(c, erlang_c_by_sum(4, 3.6)) < 1e-12);
    let wq_ms = c / (400.0 - 360.0) * 1e3;
    assert!((wq_ms - 19.69).abs() < 5e-3, "{wq_ms}");
    for (c, a) in [(1, 0.5), (2, 1.9), (10, 7.0), (30, 29.0)] {
        assert!(rel(erlang_c(c, a), erlang_c_by_sum(c, a)) < 1e-10, "c={c} a={a}");
    }
}

#[test]
fn erlang_c_stays_a_probability_for_thousands_of_servers() {
    for (c, a) in [(2000, 1990.0), (5000, 4900.0), (5000, 4999.99), (10_000, 100.0)] {
        let p = erlang_c(c, a);
        assert!(p.is_finite() && (0.0..=1.0).contains(&p), "c={c} a={a}: {p}");
    }
    // Far below saturation almost no one waits; at it everyone does.
    assert!(erlang_c(10_000, 100.0) < 1e-100);
    assert_eq!(erlang_c(4, 4.0), 1.0);
}

#[test]
fn one_server_has_an_exponential_response() {
    let m = mm(1, 100.0);
    for (lambda, t) in [(10.0f64, 0.01f64), (50.0, 0.05), (99.0, 1.0), (0.0, 0.02)] {
        let want = (-(100.0 - lambda) * t).exp();
        assert!(rel(response_exceeds(&m, lambda, t), want) < 1e-12, "λ={lambda} t={t}");
    }
    for t in [0.05, 0.1, 0.5] {
        let cap = capacity(&m, 0.99, t).unwrap();
        assert!(rel(cap, 100.0 - 100f64.ln() / t) < 1e-6, "T={t}: {cap}");
    }
    // p99 of the service time alone is 46 ms.
    assert_eq!(capacity(&m, 0.99, 0.04), None);
}

#[test]
fn two_servers_match_a_numerical_integration() {
    // M/M/2: C = 2ρ²/(1 + ρ), ρ = λ/2μ, and
    // P(R > t) = (1 − C)e^{−μt} + C(e^{−θt} + ∫₀ᵗ θe^{−θw} e^{−μ(t−w)} dw), θ = 2μ − λ,
    // the integral by Simpson's rule.
    let (mu, lambda) = (100.0, 150.0);
    let rho: f64 = lambda / (2.0 * mu);
    let c = 2.0 * rho * rho / (1.0 + rho);
    let theta = 2.0 * mu - lambda;
    let m = mm(2, mu);
    assert!(rel(erlang_c(2, lambda / mu), c) < 1e-12);
    for t in [0.001, 0.01, 0.03, 0.1] {
        let n = 10_000;
        let h = t / n as f64;
        let f = |w: f64| theta * (-theta * w).exp() * (-mu * (t - w)).exp();
        let simpson: f64 = (0..=n)
            .map(|i| {
                let k = if i == 0 || i == n {
                    1.0
                } else if i % 2 == 1 {
                    4.0
                } else {
                    2.0
                };
                k * f(i as f64 * h)
            })
            .sum::<f64>()
            * h
            / 3.0;
        let want = (1.0 - c) * (-mu * t).exp() + c * ((-theta * t).exp() + simpson);
        assert!(rel(response_exceeds(&m, lambda, t), want) < 1e-9, "t={t}");
    }
}

#[test]
fn equal_rates_need_no_special_case() {
    // θ = cμ − λ = μ: the sum of two Exp(μ) is Erlang-2.
    let (mu, t) = (100.0, 0.02);
    let m = mm(2, mu);
    let erlang2 = (1.0 + mu * t) * (-mu * t).exp();
    let c = erlang_c(2, 1.0);
    let want = (1.0 - c) * (-mu * t).exp() + c * erlang2;
    for d in [0.0, 1e-12, -1e-12, 1e-7, -1e-7] {
        assert!(rel(response_exceeds(&m, mu * (1.0 + d), t), want) < 1e-6, "d={d}");
    }
}

#[test]
fn the_quantile_inverts_the_tail() {
    let m = mm(4, 100.0);
    for lambda in [0.0, 100.0, 360.0, 399.0] {
        for q in [0.5, 0.9, 0.99, 0.999] {
            let t = response_quantile(&m, lambda, q);
            assert!(rel(response_exceeds(&m, lambda, t), 1.0 - q) < 1e-9, "λ={lambda} q={q}");
        }
    }
    assert_eq!(response_quantile(&m, 400.0, 0.5), f64::INFINITY);
    // The capacity's quantile is the bound.
    let cap = capacity(&m, 0.99, 0.1).unwrap();
    assert!(rel(response_quantile(&m, cap, 0.99), 0.1) < 1e-6);
}

#[test]
fn more_servers_carry_more() {
    let mut last = 0.0;
    for c in 1..=64 {
        let cap = capacity(&mm(c, 100.0), 0.99, 0.1).unwrap();
        assert!(cap > last && cap < f64::from(c) * 100.0, "c={c}: {cap}");
        last = cap;
    }
}

#[test]
fn the_slo_takes_its_strictest_objective() {
    let m = mm(4, 100.0);
    let objective = |percentile, ms: u64| LatencyObjective {
        percentile,
        max: ms * 1_000_000,
    };
    let slo = Slo {
        latency: vec![objective(Percentile::P50, 20), objective(Percentile::P99, 100)],
        error_rate: Some(0.01),
        ..Slo::default()
    };
    let p50 = capacity(&m, 0.5, 0.02).unwrap();
    let p99 = capacity(&m, 0.99, 0.1).unwrap();
    assert_eq!(slo_capacity(&m, &slo), Some(p50.min(p99)));
    // A p99.9 under the service time's own (69 ms) cannot be met.
    let hopeless = Slo {
        latency: vec![objective(Percentile::P99, 100), objective(Percentile::P999, 60)],
        ..Slo::default()
    };
    assert_eq!(slo_capacity(&m, &hopeless), None);
    assert_eq!(slo_capacity(&m, &Slo::default()), None);
    let per_endpoint = Slo {
        endpoints: vec![("job".into(), slo.clone())],
        ..slo.clone()
    };
    assert_eq!(slo_capacity(&m, &per_endpoint), None);
}

fn mmc_of(text: &str) -> Option<Mmc> {
    let s = scenario::parse(text, Path::new("mm4.toml")).unwrap();
    mmc(&s, &s.eras[0])
}

#[test]
fn mm4_toml_is_an_mm4() {
    assert_eq!(mmc_of(MM4), Some(mm(4, 100.0)));
    // At its p99 ≤ 100 ms capacity (350/s) the backlog of MIN_ROOM
    // overflows about never.
    let m = mm(4, 100.0);
    let cap = capacity(&m, 0.99, 0.1).unwrap();
    assert!((cap - 350.09).abs() < 0.01, "{cap}");
    assert!(queue_exceeds(&m, cap, MIN_ROOM + 1) < 1e-50);
    assert!(rel(queue_exceeds(&m, 360.0, 0), erlang_c(4, 3.6)) < 1e-12);
    // A faster host serves faster; bronze's web host is the pool's.
    let fast = MM4.replace("cores = 4,", "cores = 4, speed = 2.0,");
    assert_eq!(mmc_of(&fast), Some(mm(4, 200.0)));
    let bronze = MM4.replace("model = \"stone\"\nhost", "model = \"bronze\"\nweb");
    assert_eq!(mmc_of(&bronze), Some(mm(4, 100.0)));
    // Fewer workers than cores: still one core each.
    let three = MM4.replace("max_children = 4", "max_children = 3");
    assert_eq!(mmc_of(&three), Some(mm(3, 100.0)));
    // Endpoints that share the mean; a closed model whose users fit a
    // small backlog.
    let twins = MM4.replace(
        "[eras.mm4]",
        "[app.endpoints.twin]\nsteps = [{ cpu = \"exp(mean = 10ms)\" }]\n[traffic.mix]\njob = 3\ntwin = 1\n[eras.mm4]",
    );
    assert_eq!(mmc_of(&twins), Some(mm(4, 100.0)));
    let closed = MM4
        .replace(
            "rate = \"360/s\"",
            "model = \"closed\"\nusers = 100\nthink = \"exp(mean = 100ms)\"",
        )
        .replace("listen_backlog = 1000000", "listen_backlog = 100");
    assert_eq!(mmc_of(&closed), Some(mm(4, 100.0)));
    assert_eq!(mmc_of(&closed.replace("users = 100", "users = 200")), None);
}

#[test]
fn one_change_and_mm4_toml_is_not_an_mmc() {
    let one_step = "steps = [{ cpu = \"exp(mean = 10ms)\" }]";
    let changes = [
        ("pm = \"static\"", "pm = \"dynamic\""),
        (
            one_step,
            "steps = [{ cpu = \"exp(mean = 10ms)\" }, { cpu = \"exp(mean = 10ms)\" }]",
        ),
        (one_step, "steps = [{ cpu = \"lognormal(median = 10ms, p99 = 40ms)\" }]"),
        ("max_children = 4", "max_children = 8"),
        (
            one_step,
            "steps = [{ cpu = \"exp(mean = 10ms)\" }]\n[app.endpoints.other]\nsteps = [{ cpu = \"exp(mean = 20ms)\" }]\n[traffic.mix]\njob = 1\nother = 1",
        ),
        (
            one_step,
            "steps = [{ cpu = \"exp(mean = 10ms)\" }, { query = \"q\", db_cpu = \"1ms\" }]",
        ),
        ("timeout = \"off\"", "timeout = \"500ms\""),
        ("fastcgi_read_timeout = \"off\"", "fastcgi_read_timeout = \"500ms\""),
        ("listen_backlog = 1000000", "listen_backlog = 511"),
        ("worker_connections = 1048576", "worker_connections = 400"),
        (
            "listen_backlog = 1000000",
            "listen_backlog = 1000000, request_terminate_timeout = \"30s\"",
        ),
        (
            "listen_backlog = 1000000",
            "listen_backlog = 1000000, max_requests = 500",
        ),
    ];
    for (from, to) in changes {
        assert!(MM4.contains(from), "{from}");
        let text = MM4.replacen(from, to, 1);
        let s = scenario::parse(&text, Path::new("mm4.toml")).unwrap_or_else(|e| panic!("{to}: {e}"));
        assert_eq!(mmc(&s, &s.eras[0]), None, "{to}");
    }
}
