//! The cheapest-configuration search against an exhaustive one, and a plan
//! that is the same for the same seed.

use std::path::Path;

use lab_core::Scenario;
use lab_plan::{Load, Options, Space, cheapest, evaluate};

/// A shop whose pages need web CPU, database CPU and workers: the grid
/// is 3 × 3 × 3 configurations.
fn shop() -> Scenario {
    lab_core::scenario::parse(
        r#"
seed = 11
duration = "30s"
[stats]
window = "1s"
warmup = "5s"
[slo]
p99 = "250ms"
error_rate = "0.5%"
[traffic]
rate = "240/s"
timeout = "10s"
[app.endpoints.page]
steps = [{ cpu = "exp(mean = 8ms)" }, { query = "q", db_cpu = "exp(mean = 6ms)", db_wait = "const(5ms)" }]
[eras.bronze]
web = { cores = 2, price_per_hour = 0.04 }
db = { cores = 2, price_per_hour = 0.06 }
fpm = { pm = "static", max_children = 8, listen_backlog = 511 }
[plan]
replications = 3
web.cores = [1, 4]
db.cores = [1, 4]
fpm.max_children = [4, 16]
fpm.pm = ["static"]
mysql.max_connections = [151, 151]
"#,
        Path::new("shop.toml"),
    )
    .unwrap()
}

#[test]
fn the_search_finds_what_an_exhaustive_one_does() {
    let s = shop();
    let era = &s.eras[0];
    let load = Load::new(&s, false).unwrap();
    let space = Space::of(era, &s.plan.ranges);
    assert_eq!(space.size(), 27);
    let found = cheapest::search(&load, era, &space, 1.0, 3, &mut |_, _| {}).unwrap();
    let winner = found
        .winner
        .as_ref()
        .expect("the grid holds a configuration that meets the target");

    // Every configuration, run; the cheapest that meets the target, the
    // leanest first among equals (the search's own order).
    let mut all: Vec<(f64, Vec<usize>, Vec<u32>, bool)> = space
        .all()
        .into_iter()
        .map(|c| {
            let e = space.apply(era, &c);
            let p = evaluate(&load, &e, 1.0, 3).unwrap();
            let places = c
                .iter()
                .zip(&space.values)
                .map(|(v, vals)| vals.iter().position(|x| x == v).unwrap())
                .collect();
            (lab_plan::cost(&e).0, places, c, p.all_passed())
        })
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let best = all.iter().find(|x| x.3).expect("one meets the target");
    assert_eq!(
        winner.config, best.2,
        "search: {:?}, exhaustive: {:?}",
        winner.settings, best.2
    );
    assert!((winner.cost - best.0).abs() < 1e-9);
    // The pruning did its work, and skipped nothing the grid says passes
    // below the winner.
    assert!(found.evaluated < 27, "{} of 27 run", found.evaluated);
    assert!(found.skipped_by_bound + found.skipped_by_saturation > 0);
    assert!(all.iter().take_while(|x| x.2 != best.2).all(|x| !x.3));
}

#[test]
fn the_same_seed_gives_the_same_plan() {
    let s = shop();
    let o = Options {
        replications: 3,
        tolerance: 0.1,
        target: 1.0,
        target_source: "the scenario's traffic".into(),
        ranges: s.plan.ranges.clone(),
        cheapest: true,
        steady: false,
    };
    let eras: Vec<_> = s.eras.iter().collect();
    let json = |mut p: lab_plan::Plan| {
        // Wall time is the one thing that may differ.
        p.eras.iter_mut().for_each(|e| e.seconds = 0.0);
        serde_json::to_string(&p).unwrap()
    };
    let a = json(lab_plan::plan(&s, &eras, &o, &mut |_, _| {}).unwrap());
    let b = json(lab_plan::plan(&s, &eras, &o, &mut |_, _| {}).unwrap());
    assert_eq!(a, b);
    let mut other = s.clone();
    other.seed += 1;
    let c = json(lab_plan::plan(&other, &eras, &o, &mut |_, _| {}).unwrap());
    assert_ne!(a, c, "another seed, another plan");
}
