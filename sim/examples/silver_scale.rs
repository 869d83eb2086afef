//! Events per second of a whole silver simulation as its web tier grows:
//! the same traffic (2,000 requests/s of 1 ms PHP + a 0.1 ms query, 10
//! minutes) behind leastconn on N web nodes, each checked by both
//! balancers. The issue's target: 1,000 nodes within 2x the events per
//! second of 4; and memory flat in run length (run with `--long` for 10x
//! the duration and compare the peak RSS, e.g. under `/usr/bin/time -v`).
//!
//!     cargo run --release -p lab-sim --example silver_scale [-- --long] [N...]

use std::path::Path;
use std::time::Instant;

use lab_core::scenario;

fn main() {
    let mut long = false;
    let mut sizes = Vec::new();
    for a in std::env::args().skip(1) {
        match a.as_str() {
            "--long" => long = true,
            n => sizes.push(n.parse::<u32>().expect("node counts")),
        }
    }
    if sizes.is_empty() {
        sizes = vec![4, 1000];
    }
    let duration =
        std::env::var("SILVER_SCALE_DURATION").unwrap_or_else(|_| if long { "6000s" } else { "600s" }.into());
    for n in sizes {
        let text = format!(
            r#"
            duration = "{duration}"
            [stats]
            window = "10s"
            [traffic]
            rate = "2000/s"
            timeout = "off"
            [app.endpoints.job]
            steps = [{{ cpu = "exp(mean = 1ms)" }}, {{ query = "q", db_cpu = "exp(mean = 0.1ms)" }}]
            [eras.silver]
            nodes = {n}
            web = {{ cores = 4 }}
            db = {{ cores = 64 }}
            haproxy = {{ balance = "leastconn" }}
            fpm = {{ pm = "static", max_children = 8 }}
            mysql = {{ max_connections = 10000 }}
            "#
        );
        let s = scenario::parse(&text, Path::new("silver_scale.toml")).expect("a valid scenario");
        let start = Instant::now();
        let run = lab_sim::run(&s, &s.eras[0], &mut |_| {}).expect("within its estimate");
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{n:>5} nodes: {:>10} events in {secs:.2} s = {:.2} M events/s, {} requests ok",
            run.events,
            run.events as f64 / secs / 1e6,
            run.record.totals.outcomes[lab_core::OutcomeId::OK]
        );
    }
}
