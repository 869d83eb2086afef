//! Inputs at and past the edges of what validation accepts: the simulator
//! must neither crash nor hang nor quietly compute something else.

use std::path::Path;

use lab_core::record::outcomes::{BACKLOG_FULL, CLIENT_TIMEOUT};
use lab_core::scenario::{self, Scenario};
use lab_core::{OutcomeId, Record};

fn parse(text: &str) -> Scenario {
    scenario::parse(text, Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"))
}

fn run(s: &Scenario) -> Record {
    lab_sim::run(s, &s.eras[0], &mut |_| {})
        .unwrap_or_else(|e| panic!("{e}"))
        .record
}

fn ms(v: Option<u64>) -> f64 {
    v.unwrap() as f64 / 1e6
}

#[test]
fn endpoint_65536_runs_as_itself() {
    // Endpoint numbers were u16: the 65,537th endpoint ran as the first.
    let mut s = parse(
        r#"
        duration = "10s"
        [traffic]
        rate = "1/s"
        [traffic.mix]
        first = 1
        last = 1
        [app.endpoints.first]
        steps = [{ cpu = "1ms" }]
        [app.endpoints.last]
        steps = [{ cpu = "5ms" }]
        [eras.stone]
    "#,
    );
    let last = s.app.endpoints.pop().unwrap();
    let first = s.app.endpoints[0].clone();
    s.app.endpoints.resize(65_536, first);
    s.app.endpoints.push(last);
    s.traffic.mix = lab_core::scenario::Mix::constant(vec![(65_536, 1.0)]);
    let r = run(&s);
    assert!(r.totals.outcomes[OutcomeId::OK] > 3);
    assert_eq!(ms(r.totals.latency.min()), 5.0);
    assert_eq!(ms(r.totals.latency.max()), 5.0);
}

#[test]
fn an_endpoint_of_70000_steps_ends() {
    // Step numbers were u16: the 65,536th step wrapped to the first (an
    // overflow panic in debug builds, an endless loop in release ones).
    let mut s = parse(
        r#"
        duration = "10s"
        [traffic]
        rate = "0.5/s"
        timeout = "off"
        [app.endpoints.long]
        steps = [{ cpu = "1us" }]
        [eras.stone]
        nginx = { fastcgi_read_timeout = "off" }
    "#,
    );
    let step = s.app.endpoints[0].steps[0].clone();
    s.app.endpoints[0].steps = vec![step; 70_000];
    let r = run(&s);
    assert!(r.totals.outcomes[OutcomeId::OK] >= 1);
    assert_eq!(ms(r.totals.latency.max()), 70.0);
}

#[test]
fn delays_past_the_end_of_time_never_come() {
    // 100,000 hours of CPU on a host a thousand times slower is past
    // u64::MAX ns; so are a huge think time and a huge database wait. Each
    // `now + delay` once overflowed (a panic in debug, time running
    // backwards in release).
    for steps in [
        r#"[{ cpu = "100000h" }]"#,
        r#"[{ cpu = "exp(mean = 100000h)" }]"#,
        r#"[{ query = "q", db_cpu = "100000h" }]"#,
        r#"[{ query = "q", db_wait = "exp(mean = 100000h)" }]"#,
    ] {
        for era in [
            "[eras.stone]\nhost = { cores = 1, speed = 0.001 }",
            "[eras.bronze]\nweb = { speed = 0.001 }\ndb = { speed = 0.001 }\nnetwork = { rtt = \"lognormal(median = 1ms, p99 = 100000h)\" }",
        ] {
            let s = parse(&format!(
                "duration = \"20s\"\n[traffic]\nmodel = \"closed\"\nusers = 3\nthink = \"exp(mean = 100000h)\"\n\
                 timeout = \"1s\"\n[app.endpoints.home]\nsteps = {steps}\n{era}\n"
            ));
            let r = run(&s);
            let o = &r.totals.outcomes;
            assert_eq!(o[OutcomeId::OK], 0, "{steps} on {era}");
            assert_eq!(
                o.total(),
                o[r.outcome_id(&CLIENT_TIMEOUT.key).unwrap()],
                "{steps} on {era}"
            );
        }
    }
    // An open model whose requests never end: each stays in its worker.
    let s = parse(
        r#"
        duration = "100s"
        [traffic]
        rate = "10/s"
        [app.endpoints.home]
        steps = [{ cpu = "exp(mean = 100000h)" }]
        [eras.stone]
        host = { cores = 1, speed = 0.001 }
        fpm = { pm = "static", max_children = 3, listen_backlog = 5 }
    "#,
    );
    let r = run(&s);
    assert!(r.totals.outcomes[r.outcome_id(&BACKLOG_FULL.key).unwrap()] > 900);
    assert_eq!(r.totals.outcomes[OutcomeId::OK], 0);
}
