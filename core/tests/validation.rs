//! One test per validation rule: each bad scenario must be rejected with the
//! file, the line and column of the offending value, its key, and a message
//! that says what is expected.

use std::path::Path;

use lab_core::scenario;

mod support;

use support::*;

#[test]
fn the_base_document_is_valid() {
    scenario::parse(&ok_doc(), Path::new(FILE)).unwrap();
}

// --- TOML and shape -------------------------------------------------------

#[test]
fn toml_syntax_errors_point_at_the_line() {
    let text = ok_doc().replace("rate = \"10/s\"", "rate = \"10/s");
    let p = &problems(&text)[0];
    assert_eq!(p.line, position_of(&text, "rate").0);
}

#[test]
fn unknown_keys_are_rejected_with_the_expected_ones() {
    let text = doc("", "rate = \"10/s\"", "", "[eras.stone]\nfpm = { max_child = 3 }");
    rejects(
        &text,
        "eras.stone.fpm.max_child",
        "max_child",
        "unknown key \"max_child\": [eras.stone.fpm] takes pm, max_children,",
    );
    let top = doc("durration = \"1m\"", "rate = \"10/s\"", "", "[eras.stone]");
    rejects(
        &top,
        "durration",
        "durration",
        "unknown key \"durration\": the top level takes name,",
    );
}

#[test]
fn wrong_types_say_what_was_expected() {
    let text = doc(
        "",
        "rate = \"10/s\"",
        "",
        "[eras.stone]\nfpm = { max_children = \"many\" }",
    );
    rejects(
        &text,
        "eras.stone.fpm.max_children",
        "\"many\"",
        "expected a whole number, found the string \"many\"",
    );
}

// --- top level --------------------------------------------------------------

#[test]
fn name_must_be_usable_as_a_folder() {
    rejects(
        &doc("name = \"a/b\"", "rate = 1", "", "[eras.stone]"),
        "name",
        "\"a/b\"",
        "names the output folder",
    );
}

#[test]
fn seed_cannot_be_negative() {
    rejects(
        &doc("seed = -3", "rate = 1", "", "[eras.stone]"),
        "seed",
        "-3",
        "non-negative",
    );
}

#[test]
fn duration_is_required() {
    let text = ok_doc().replace("duration = \"1m\"\n", "");
    let p = problems(&text);
    assert!(
        p.iter()
            .any(|p| p.key.is_empty() && p.message.contains("missing key \"duration\"")),
        "{p:?}"
    );
}

#[test]
fn bad_durations_are_named() {
    rejects(
        &ok_doc().replace("\"1m\"", "\"1 fortnight\""),
        "duration",
        "\"1 fortnight\"",
        "unknown unit",
    );
    rejects(
        &ok_doc().replace("\"1m\"", "\"-5s\""),
        "duration",
        "\"-5s\"",
        "cannot be negative",
    );
    rejects(
        &ok_doc().replace("\"1m\"", "\"30\""),
        "duration",
        "\"30\"",
        "has no unit",
    );
    rejects(
        &ok_doc().replace("\"1m\"", "\"0s\""),
        "duration",
        "\"0s\"",
        "longer than 0s",
    );
}

#[test]
fn stats_window_must_fit_the_run() {
    rejects(
        &doc("[stats]\nwindow = \"2m\"", "rate = 1", "", "[eras.stone]"),
        "stats.window",
        "\"2m\"",
        "longer than the run",
    );
    rejects(
        &doc("[stats]\nwindow = \"0s\"", "rate = 1", "", "[eras.stone]"),
        "stats.window",
        "\"0s\"",
        "longer than 0s",
    );
    rejects(
        &doc("[stats]\nwarmup = \"60s\"", "rate = 1", "", "[eras.stone]"),
        "stats.warmup",
        "\"60s\"",
        "must end before",
    );
}

#[test]
fn slo_percentiles_must_not_decrease() {
    let text = doc(
        "[slo]\np50 = \"200ms\"\np99 = \"100ms\"",
        "rate = 1",
        "",
        "[eras.stone]",
    );
    rejects(&text, "slo.p99", "\"100ms\"", "a higher percentile cannot be faster");
}

#[test]
fn slo_error_rate_is_a_percentage() {
    let text = doc("[slo]\nerror_rate = \"0.01\"", "rate = 1", "", "[eras.stone]");
    rejects(&text, "slo.error_rate", "\"0.01\"", "percentage");
}

#[test]
fn endpoint_objectives_name_a_declared_endpoint_and_do_not_nest() {
    let ok = doc("[slo.endpoints.home]\np99 = \"800ms\"", "rate = 1", "", "[eras.stone]");
    let s = scenario::parse(&ok, Path::new(FILE)).unwrap();
    assert_eq!(s.slo.endpoints.len(), 1);
    assert_eq!(s.slo.endpoints[0].0, "home");
    assert_eq!(s.slo.endpoints[0].1.latency[0].max, 800_000_000);
    let unknown = doc(
        "[slo.endpoints.chekout]\np99 = \"800ms\"",
        "rate = 1",
        "",
        "[eras.stone]",
    );
    rejects(
        &unknown,
        "slo.endpoints.chekout",
        "chekout",
        "unknown endpoint \"chekout\": [slo.endpoints] takes home",
    );
    let nested = doc(
        "[slo.endpoints.home]\np99 = \"1s\"\n[slo.endpoints.home.endpoints.home]\np50 = \"1s\"",
        "rate = 1",
        "",
        "[eras.stone]",
    );
    rejects(
        &nested,
        "slo.endpoints.home.endpoints",
        "endpoints.home]\np50",
        "[slo.endpoints.home] takes p50, p90, p95, p99, p999, error_rate",
    );
    // An endpoint's objectives are judged during [slo]'s phase: the key is
    // not one an endpoint takes, and the message does not offer it.
    let during = doc(
        "[slo.endpoints.home]\nduring = \"sale\"",
        "rate = 1",
        "",
        "[eras.stone]",
    );
    rejects(
        &during,
        "slo.endpoints.home.during",
        "during",
        "takes p50, p90, p95, p99, p999, error_rate",
    );
    // Past 64 endpoints the record keeps only totals: no objective per
    // endpoint could be judged.
    let many: String = (0..65)
        .map(|i| format!("[app.endpoints.e{i}]\nsteps = [{{ cpu = \"1ms\" }}]\n"))
        .collect();
    let weights: String = (0..65).map(|i| format!("e{i} = 1, ")).collect();
    let crowded = doc(
        "[slo.endpoints.e1]\np99 = \"1s\"",
        &format!("rate = 1\nmix = {{ home = 1, {} }}", weights.trim_end_matches(", ")),
        &many,
        "[eras.stone]",
    );
    rejects(
        &crowded,
        "slo.endpoints",
        "endpoints.e1]",
        "at most 64 endpoints; this app has 66",
    );
    let bad = doc("[slo.endpoints.home]\np99 = \"fast\"", "rate = 1", "", "[eras.stone]");
    rejects(&bad, "slo.endpoints.home.p99", "\"fast\"", "");
    let order = doc(
        "[slo.endpoints.home]\np50 = \"1s\"\np99 = \"10ms\"",
        "rate = 1",
        "",
        "[eras.stone]",
    );
    rejects(&order, "slo.endpoints.home.p99", "\"10ms\"", "cannot be faster");
}

// --- traffic ------------------------------------------------------------------

#[test]
fn traffic_is_required() {
    let text = "duration = \"1m\"\n[app.endpoints.home]\nsteps = [{ cpu = \"5ms\" }]\n[eras.stone]\n";
    assert!(
        problems(text)
            .iter()
            .any(|p| p.message.contains("missing table [traffic]"))
    );
}

#[test]
fn unknown_traffic_models_are_named() {
    rejects(
        &doc("", "model = \"bursty\"\nrate = 1", "", "[eras.stone]"),
        "traffic.model",
        "\"bursty\"",
        "expected \"open\"",
    );
}

#[test]
fn rates_cannot_be_negative() {
    rejects(
        &doc("", "rate = \"-5/s\"", "", "[eras.stone]"),
        "traffic.rate",
        "\"-5/s\"",
        "cannot be negative",
    );
    rejects(
        &doc("", "rate = -5", "", "[eras.stone]"),
        "traffic.rate",
        "-5",
        "cannot be negative",
    );
    rejects(
        &doc("", "rate = \"5/fortnight\"", "", "[eras.stone]"),
        "traffic.rate",
        "\"5/fortnight\"",
        "unknown unit",
    );
}

#[test]
fn an_open_model_needs_exactly_one_of_rate_and_profile() {
    let none = doc("", "timeout = \"5s\"", "", "[eras.stone]");
    assert!(
        problems(&none)
            .iter()
            .any(|p| p.key == "traffic" && p.message.contains("needs rate"))
    );
    let both = doc(
        "",
        "rate = 1\nprofile = [{ at = \"0s\", rate = 1 }]",
        "",
        "[eras.stone]",
    );
    rejects(&both, "traffic.profile", "[{ at", "not both");
}

#[test]
fn profiles_start_at_zero_and_run_forward() {
    let late = doc("", "profile = [{ at = \"5s\", rate = 1 }]", "", "[eras.stone]");
    rejects(&late, "traffic.profile[0].at", "\"5s\"", "must be at \"0s\"");
    let back = doc(
        "",
        "profile = [{ at = \"0s\", rate = 1 }, { at = \"9s\", rate = 2 }, { at = \"3s\", rate = 2 }]",
        "",
        "[eras.stone]",
    );
    rejects(&back, "traffic.profile[2].at", "\"3s\"", "time order");
    let neg = doc("", "profile = [{ at = \"0s\", rate = \"-1/s\" }]", "", "[eras.stone]");
    rejects(&neg, "traffic.profile[0].rate", "\"-1/s\"", "cannot be negative");
}

#[test]
fn keys_of_the_other_model_are_rejected() {
    rejects(
        &doc("", "rate = 1\nusers = 5", "", "[eras.stone]"),
        "traffic.users",
        "users = 5",
        "belongs to model = \"closed\"",
    );
    let closed = doc(
        "",
        "model = \"closed\"\nusers = 5\nthink = \"1s\"\nrate = 7",
        "",
        "[eras.stone]",
    );
    rejects(&closed, "traffic.rate", "rate = 7", "belongs to model = \"open\"");
}

#[test]
fn a_closed_model_needs_users_and_think_time() {
    let no_users = doc("", "model = \"closed\"\nthink = \"1s\"", "", "[eras.stone]");
    assert!(
        problems(&no_users)
            .iter()
            .any(|p| p.key == "traffic" && p.message.contains("needs users"))
    );
    let zero = doc("", "model = \"closed\"\nusers = 0\nthink = \"1s\"", "", "[eras.stone]");
    rejects(&zero, "traffic.users", "0\n", "at least 1");
    let no_think = doc("", "model = \"closed\"\nusers = 3", "", "[eras.stone]");
    assert!(
        problems(&no_think)
            .iter()
            .any(|p| p.key == "traffic" && p.message.contains("needs think"))
    );
}

#[test]
fn users_must_pause_between_requests() {
    let text = doc("", "model = \"closed\"\nusers = 3\nthink = \"0s\"", "", "[eras.stone]");
    rejects(&text, "traffic.think", "\"0s\"", "must average at least 1us");
}

#[test]
fn client_timeouts_are_durations() {
    rejects(
        &doc("", "rate = 1\ntimeout = \"soon\"", "", "[eras.stone]"),
        "traffic.timeout",
        "\"soon\"",
        "expected a duration",
    );
}

#[test]
fn the_mix_names_declared_endpoints_only() {
    let two = "[app.endpoints.cart]\nsteps = [{ cpu = \"1ms\" }]";
    let missing = doc("", "rate = 1", two, "[eras.stone]");
    assert!(
        problems(&missing)
            .iter()
            .any(|p| p.key == "traffic" && p.message.contains("[traffic.mix] home = 1, cart = 1"))
    );
    let unknown = doc(
        "",
        "rate = 1\n[traffic.mix]\nhome = 1\ncart = 1\nkart = 7",
        two,
        "[eras.stone]",
    );
    rejects(&unknown, "traffic.mix.kart", "kart = 7", "unknown endpoint \"kart\"");
}

#[test]
fn every_endpoint_is_in_the_mix() {
    let two = "[app.endpoints.cart]\nsteps = [{ cpu = \"1ms\" }]";
    let text = doc("", "rate = 1\n[traffic.mix]\nhome = 1", two, "[eras.stone]");
    rejects(&text, "traffic.mix", "[traffic.mix]", "\"cart\" is never requested");
}

#[test]
fn mix_weights_are_non_negative_and_not_all_zero() {
    let neg = doc("", "rate = 1\n[traffic.mix]\nhome = -1", "", "[eras.stone]");
    rejects(&neg, "traffic.mix.home", "-1", "non-negative");
    let zero = doc("", "rate = 1\n[traffic.mix]\nhome = 0", "", "[eras.stone]");
    rejects(&zero, "traffic.mix", "[traffic.mix]", "add up to 0");
}

// --- application --------------------------------------------------------------

#[test]
fn the_app_needs_endpoints_with_steps() {
    let none = "duration = \"1m\"\n[traffic]\nrate = 1\n[eras.stone]\n";
    assert!(problems(none).iter().any(|p| p.message.contains("missing table [app]")));
    let empty = ok_doc().replace(
        "steps = [{ cpu = \"5ms\" }, { query = \"load\", db_cpu = \"1ms\" }]",
        "steps = []",
    );
    rejects(&empty, "app.endpoints.home.steps", "[]", "at least one step");
}

#[test]
fn a_step_is_cpu_or_query() {
    let both = ok_doc().replace("{ cpu = \"5ms\" }", "{ cpu = \"5ms\", query = \"q\" }");
    rejects(
        &both,
        "app.endpoints.home.steps[0]",
        "{ cpu = \"5ms\", query",
        "a step is one kind of work; this one says \"cpu\", \"query\"",
    );
    let neither = ok_doc().replace("{ cpu = \"5ms\" }", "{ lock = \"x\" }");
    rejects(&neither, "app.endpoints.home.steps[0]", "{ lock", "needs \"cpu\"");
}

#[test]
fn database_keys_belong_to_queries() {
    let text = ok_doc().replace("{ cpu = \"5ms\" }", "{ cpu = \"5ms\", db_wait = \"1ms\" }");
    rejects(
        &text,
        "app.endpoints.home.steps[0].db_wait",
        "db_wait = \"1ms\" }, { query",
        "belongs to a query step",
    );
}

#[test]
fn a_query_does_some_work() {
    let text = ok_doc().replace("{ query = \"load\", db_cpu = \"1ms\" }", "{ query = \"load\" }");
    rejects(
        &text,
        "app.endpoints.home.steps[1]",
        "{ query = \"load\" }",
        "does no work",
    );
}

#[test]
fn locks_must_be_declared_with_at_least_one_row() {
    let undeclared = ok_doc().replace("db_cpu = \"1ms\" }", "db_cpu = \"1ms\", lock = \"stock\" }");
    rejects(
        &undeclared,
        "app.endpoints.home.steps[1].lock",
        "\"stock\"",
        "declare it as [app.locks.stock]",
    );
    let zero = doc("", "rate = 1", "[app.locks.stock]\nrows = 0", "[eras.stone]");
    rejects(&zero, "app.locks.stock.rows", "0\n", "at least 1");
}

#[test]
fn distributions_are_checked() {
    let low_p99 = ok_doc().replace("\"5ms\"", "\"lognormal(median = 40ms, p99 = 4ms)\"");
    rejects(
        &low_p99,
        "app.endpoints.home.steps[0].cpu",
        "\"lognormal",
        "p99 (4ms) must be above the median (40ms)",
    );
    let unknown = ok_doc().replace("\"5ms\"", "\"gamma(2, 5ms)\"");
    rejects(
        &unknown,
        "app.endpoints.home.steps[0].cpu",
        "\"gamma",
        "unknown distribution \"gamma\"",
    );
    let weights = ok_doc().replace("\"5ms\"", "\"mix(90% 1ms, 5% 2s)\"");
    rejects(&weights, "app.endpoints.home.steps[0].cpu", "\"mix", "add up to 95%");
}

// --- eras -----------------------------------------------------------------------

#[test]
fn at_least_one_era() {
    let text = ok_doc().replace("[eras.stone]", "");
    assert!(
        problems(&text)
            .iter()
            .any(|p| p.message.contains("declare at least one era"))
    );
}

#[test]
fn era_labels_are_file_safe_and_models_known() {
    rejects(
        &doc("", "rate = 1", "", "[eras.\"my era\"]"),
        "eras.\"my era\"",
        "\"my era\"]",
        "letters, digits",
    );
    rejects(
        &doc("", "rate = 1", "", "[eras.big]"),
        "eras.big",
        "[eras.big]",
        "model = one of \"stone\", \"bronze\"",
    );
    rejects(
        &doc("", "rate = 1", "", "[eras.big]\nmodel = \"iron\""),
        "eras.big.model",
        "\"iron\"",
        "unknown era model \"iron\"",
    );
}

#[test]
fn machines_must_belong_to_the_model() {
    let text = doc("", "rate = 1", "", "[eras.stone]\nweb = { cores = 2 }");
    rejects(&text, "eras.stone.web", "web = {", "a stone era has no \"web\"");
    let bronze = doc("", "rate = 1", "", "[eras.bronze]\nhost = { cores = 2 }");
    rejects(
        &bronze,
        "eras.bronze.host",
        "host = {",
        "a bronze era has no \"host\" (that is a machine of stone); [eras.bronze] takes model, web, db, network, fpm, mysql, nginx",
    );
}

#[test]
fn hosts_have_cores_and_a_positive_speed() {
    rejects(
        &doc("", "rate = 1", "", "[eras.stone]\nhost = { cores = 0 }"),
        "eras.stone.host.cores",
        "0 }",
        "at least 1",
    );
    rejects(
        &doc("", "rate = 1", "", "[eras.stone]\nhost = { speed = -1.0 }"),
        "eras.stone.host.speed",
        "-1.0",
        "between 0.001 and 1000",
    );
}

#[test]
fn network_rtt_is_a_distribution() {
    let text = doc("", "rate = 1", "", "[eras.bronze]\nnetwork = { rtt = \"fast\" }");
    rejects(&text, "eras.bronze.network.rtt", "\"fast\"", "unknown distribution");
}

#[test]
fn fpm_needs_workers() {
    let text = doc("", "rate = 1", "", "[eras.stone]\nfpm = { max_children = 0 }");
    rejects(
        &text,
        "eras.stone.fpm.max_children",
        "0 }",
        "max_children (pm.max_children) must be at least 1",
    );
}

#[test]
fn unknown_process_managers_are_named() {
    let text = doc("", "rate = 1", "", "[eras.stone]\nfpm = { pm = \"lazy\" }");
    rejects(
        &text,
        "eras.stone.fpm.pm",
        "\"lazy\"",
        "expected \"static\", \"dynamic\" or \"ondemand\"",
    );
}

#[test]
fn dynamic_spares_follow_fpms_own_rules() {
    let over = doc("", "rate = 1", "", "[eras.stone]\nfpm = { max_children = 2 }");
    rejects(
        &over,
        "eras.stone.fpm.max_spare_servers",
        "{ max_children = 2 }",
        "max_spare_servers (3, the default) must not exceed max_children (2)",
    );
    let crossed = doc(
        "",
        "rate = 1",
        "",
        "[eras.stone]\nfpm = { min_spare_servers = 3, max_spare_servers = 2 }",
    );
    rejects(
        &crossed,
        "eras.stone.fpm.min_spare_servers",
        "3,",
        "must not exceed max_spare_servers (2)",
    );
    let start = doc(
        "",
        "rate = 1",
        "",
        "[eras.stone]\nfpm = { max_children = 9, start_servers = 7, min_spare_servers = 1, max_spare_servers = 3 }",
    );
    rejects(
        &start,
        "eras.stone.fpm.start_servers",
        "7,",
        "must lie between min_spare_servers (1) and max_spare_servers (3)",
    );
}

#[test]
fn settings_of_other_process_managers_are_rejected() {
    let text = doc(
        "",
        "rate = 1",
        "",
        "[eras.stone]\nfpm = { pm = \"static\", start_servers = 2 }",
    );
    rejects(
        &text,
        "eras.stone.fpm.start_servers",
        "start_servers = 2",
        "only applies to pm = \"dynamic\"",
    );
    let idle = doc(
        "",
        "rate = 1",
        "",
        "[eras.stone]\nfpm = { process_idle_timeout = \"5s\" }",
    );
    rejects(
        &idle,
        "eras.stone.fpm.process_idle_timeout",
        "process_idle_timeout = ",
        "only applies to pm = \"ondemand\"",
    );
}

#[test]
fn ondemand_idle_timeout_is_positive() {
    let text = doc(
        "",
        "rate = 1",
        "",
        "[eras.stone]\nfpm = { pm = \"ondemand\", process_idle_timeout = \"0s\" }",
    );
    rejects(&text, "eras.stone.fpm.process_idle_timeout", "\"0s\"", "longer than 0s");
}

#[test]
fn listen_backlog_is_minus_one_or_positive() {
    let text = doc("", "rate = 1", "", "[eras.stone]\nfpm = { listen_backlog = 0 }");
    rejects(
        &text,
        "eras.stone.fpm.listen_backlog",
        "0 }",
        "must be -1 (the host's net.core.somaxconn",
    );
}

#[test]
fn max_requests_cannot_be_negative() {
    let text = doc("", "rate = 1", "", "[eras.stone]\nfpm = { max_requests = -1 }");
    rejects(&text, "eras.stone.fpm.max_requests", "-1 }", "at least 0");
}

#[test]
fn fpm_timeouts_are_durations() {
    let text = doc(
        "",
        "rate = 1",
        "",
        "[eras.stone]\nfpm = { request_terminate_timeout = \"30\" }",
    );
    rejects(
        &text,
        "eras.stone.fpm.request_terminate_timeout",
        "\"30\"",
        "has no unit",
    );
}

#[test]
fn mysql_limits_are_checked() {
    let conns = doc("", "rate = 1", "", "[eras.stone]\nmysql = { max_connections = 0 }");
    rejects(&conns, "eras.stone.mysql.max_connections", "0 }", "at least 1");
    let lock = doc(
        "",
        "rate = 1",
        "",
        "[eras.stone]\nmysql = { innodb_lock_wait_timeout = \"500ms\" }",
    );
    rejects(
        &lock,
        "eras.stone.mysql.innodb_lock_wait_timeout",
        "\"500ms\"",
        "at least 1s",
    );
    let slow = doc(
        "",
        "rate = 1",
        "",
        "[eras.stone]\nmysql = { long_query_time = \"-1s\" }",
    );
    rejects(
        &slow,
        "eras.stone.mysql.long_query_time",
        "\"-1s\"",
        "cannot be negative",
    );
}

#[test]
fn nginx_timeouts_are_durations() {
    let text = doc(
        "",
        "rate = 1",
        "",
        "[eras.stone]\nnginx = { fastcgi_read_timeout = \"a minute\" }",
    );
    rejects(
        &text,
        "eras.stone.nginx.fastcgi_read_timeout",
        "\"a minute\"",
        "expected a duration",
    );
}

// --- reporting ----------------------------------------------------------------------

#[test]
fn every_problem_is_reported_at_once() {
    let text = doc("seed = -1", "rate = -2", "", "[eras.stone]\nfpm = { max_children = 0 }");
    let keys: Vec<String> = problems(&text).into_iter().map(|p| p.key).collect();
    assert_eq!(keys, vec!["seed", "traffic.rate", "eras.stone.fpm.max_children"]);
    let shown = scenario::parse(&text, Path::new(FILE)).unwrap_err().to_string();
    assert!(shown.starts_with("shop.toml has 3 problems:\n"), "{shown}");
    assert!(
        shown.contains("shop.toml:2:8: seed: seed must be a non-negative integer, found -1"),
        "{shown}"
    );
}

#[test]
fn unreadable_files_are_named() {
    let e = scenario::load(Path::new("/nonexistent/shop.toml")).unwrap_err();
    assert!(
        e.to_string().starts_with("cannot read scenario /nonexistent/shop.toml"),
        "{e}"
    );
}
