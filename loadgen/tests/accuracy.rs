//! How far this machine's load generator holds its schedule: a sweep of
//! rates against a local server with a fixed 10 ms delay. Ignored by
//! default (it takes about a minute and its figures depend on the
//! machine); run it with
//!
//!     cargo test -p lab-loadgen --test accuracy -- --ignored --nocapture
//!
//! and read the table: `docs/loadgen.md` quotes one.

mod support;

use std::time::Duration;

use lab_core::record::OutcomeId;
use lab_loadgen::{Plan, Target, drive};
use support::{Behaviour, Server, scenario};

#[test]
#[ignore = "a minute-long measurement; run it by hand"]
fn rate_accuracy_sweep() {
    let server = Server::start(Behaviour::Delay(Duration::from_millis(10)));
    let secs: u32 = std::env::var("SWEEP_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    println!("| rate/s | scheduled | sent/s | sent vs scheduled | dropped | send lag p50 / p99 | latency p50 / p99 |");
    println!("|---|---|---|---|---|---|---|");
    for rate in [100u32, 500, 1000, 2000, 3000, 4000, 6000] {
        let s = scenario(&format!("{secs}s"), &format!("rate = \"{rate}/s\"\ntimeout = \"2s\""));
        let mut plan = Plan::new(Target::new(&server.url()).unwrap());
        plan.users = Some(64 + rate as usize / 10);
        let r = drive(&s, plan, &mut ()).unwrap();
        let dropped = r.totals.outcomes[r.outcome_id("dropped").unwrap()];
        let sent = r.totals.arrivals - dropped;
        let lag = &r.totals.waits[r.wait_index("send_lag").unwrap()];
        let q = |l: &lab_core::record::Latencies, p: f64| l.quantile(p).map_or(f64::NAN, |v| v as f64 / 1e6);
        println!(
            "| {rate} | {} | {:.1} | {:+.2} % | {dropped} | {:.2} / {:.2} ms | {:.2} / {:.2} ms |",
            r.totals.arrivals,
            sent as f64 / f64::from(secs),
            (sent as f64 / r.totals.arrivals as f64 - 1.0) * 100.0,
            q(lag, 0.5),
            q(lag, 0.99),
            q(&r.totals.latency, 0.5),
            q(&r.totals.latency, 0.99),
        );
        assert!(r.totals.outcomes[OutcomeId::OK] > 0);
    }
}
