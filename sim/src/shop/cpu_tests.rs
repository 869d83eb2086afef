//! Which hosts take the integer path (`cpu/dedicated.rs`): only those
//! whose jobs can never share a core.

use std::path::Path;

use lab_core::scenario;

use crate::budget::estimate;
use crate::shop::Shop;

/// Whether each host of `era` is on the integer path, for a program that
/// computes, then queries with `query`'s work (`db_cpu` or `db_wait`).
fn dedicated(query: &str, era: &str) -> Vec<bool> {
    let text = format!(
        r#"
        duration = "1s"
        [traffic]
        rate = "10/s"
        [app.endpoints.a]
        steps = [{{ cpu = "exp(mean = 10ms)" }}, {{ query = "q", {query} }}]
        {era}
        "#
    );
    let s = scenario::parse(&text, Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"));
    let shop = Shop::new(&s, &s.eras[0], &estimate(&s, &s.eras[0]));
    shop.hosts.iter().map(|h| h.cpu.is_dedicated()).collect()
}

#[test]
fn a_static_pool_within_the_cores_and_no_mysql_cpu_beside_it_is_dedicated() {
    // M/M/4's shape: four static children on four cores, MySQL beside
    // them without CPU of its own.
    let era = r#"
        [eras.stone]
        host = { cores = 4 }
        fpm = { pm = "static", max_children = 4 }
    "#;
    assert_eq!(dedicated("db_wait = \"1ms\"", era), [true]);
    // bronze: the web node and the database apart.
    let era = r#"
        [eras.bronze]
        web = { cores = 4 }
        fpm = { pm = "static", max_children = 4 }
    "#;
    assert_eq!(dedicated("db_cpu = \"1ms\"", era), [true, false]);
}

#[test]
fn hosts_whose_jobs_can_share_a_core_are_not() {
    let cases = [
        // MySQL's threads compute beside PHP's children (stone).
        (
            "db_cpu = \"1ms\"",
            "[eras.stone]\nhost = { cores = 4 }\nfpm = { pm = \"static\", max_children = 4 }",
            [false],
        ),
        // More children than cores.
        (
            "db_wait = \"1ms\"",
            "[eras.stone]\nhost = { cores = 4 }\nfpm = { pm = \"static\", max_children = 5 }",
            [false],
        ),
        // Dynamic and on-demand pools are left out.
        (
            "db_wait = \"1ms\"",
            "[eras.stone]\nhost = { cores = 4 }\nfpm = { pm = \"dynamic\", max_children = 4, start_servers = 2, min_spare_servers = 1, max_spare_servers = 3 }",
            [false],
        ),
        (
            "db_wait = \"1ms\"",
            "[eras.stone]\nhost = { cores = 4 }\nfpm = { pm = \"ondemand\", max_children = 2 }",
            [false],
        ),
        // Not at speed 1: the general arithmetic is not exact in integers.
        (
            "db_wait = \"1ms\"",
            "[eras.stone]\nhost = { cores = 4, speed = 2.0 }\nfpm = { pm = \"static\", max_children = 4 }",
            [false],
        ),
    ];
    for (query, era, expect) in cases {
        assert_eq!(dedicated(query, era), expect, "{era}");
    }
}

#[test]
fn branches_that_compute_side_by_side_rule_every_host_out() {
    let text = r#"
        duration = "1s"
        [traffic]
        rate = "10/s"
        [app.endpoints.home]
        steps = [{ parallel = [[{ cpu = "exp(mean = 1s)" }], [{ cpu = "exp(mean = 1s)" }]] }]
        [eras.gold]
        web = { cores = 64 }
        fpm = { pm = "static", max_children = 2 }
    "#;
    let s = scenario::parse(text, Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"));
    let shop = Shop::new(&s, &s.eras[0], &estimate(&s, &s.eras[0]));
    assert!(shop.hosts.iter().all(|h| !h.cpu.is_dedicated()));
}
