//! Hostile input, class by class: each test is built on a scenario that
//! crashed, hung, misled or silently changed the answer before the limits
//! of `core::scenario::limits` and the problem-collecting validation.

use std::path::Path;
use std::time::{Duration, Instant};

use lab_core::scenario::{self, Problem, limits};

const FILE: &str = "shop.toml";

/// A valid scenario; `{}` parts are replaced by each test.
fn base() -> String {
    r#"duration = "1m"
[traffic]
rate = "10/s"
[app.endpoints.home]
steps = [{ cpu = "5ms" }, { query = "load", db_cpu = "1ms" }]
[eras.stone]
"#
    .to_string()
}

fn problems(text: &str) -> Vec<Problem> {
    match scenario::parse(text, Path::new(FILE)) {
        Ok(_) => panic!("accepted a hostile scenario:\n{}", &text[..text.len().min(2000)]),
        Err(e) => e.problems().to_vec(),
    }
}

#[track_caller]
fn has(found: &[Problem], key: &str, says: &str) {
    assert!(
        found.iter().any(|p| p.key == key && p.message.contains(says)),
        "no problem at {key:?} saying {says:?}; got {found:#?}"
    );
}

// --- 1. values that aborted `run` on allocation -----------------------------

#[test]
fn counts_that_would_exhaust_memory_are_bounded_with_the_reason() {
    let users = base().replace(
        "rate = \"10/s\"",
        "model = \"closed\"\nusers = 4294967295\nthink = \"1s\"",
    );
    has(
        &problems(&users),
        "traffic.users",
        "users must be at most 100,000, found 4294967295",
    );
    let children = base().replace(
        "[eras.stone]",
        "[eras.stone]\nfpm = { pm = \"static\", max_children = 4294967295 }",
    );
    has(
        &problems(&children),
        "eras.stone.fpm.max_children",
        "must be at most 100,000",
    );
    let conns = base().replace("[eras.stone]", "[eras.stone]\nmysql = { max_connections = 100001 }");
    has(&problems(&conns), "eras.stone.mysql.max_connections", "at most 100,000");
    let backlog = base().replace("[eras.stone]", "[eras.stone]\nfpm = { listen_backlog = 4294967295 }");
    has(
        &problems(&backlog),
        "eras.stone.fpm.listen_backlog",
        "from 1 to 1,000,000",
    );
    let cores = base().replace("[eras.stone]", "[eras.stone]\nhost = { cores = 1000000 }");
    has(&problems(&cores), "eras.stone.host.cores", "at most 1,024");
}

#[test]
fn a_run_too_long_to_finish_is_refused_before_it_starts() {
    let fast = base().replace("\"10/s\"", "\"1e8/s\"");
    has(
        &problems(&fast),
        "traffic",
        "this run would simulate about 6.00e9 requests",
    );
    has(&problems(&fast), "traffic", "use a lower rate or a shorter duration");
    // A closed model whose think time averages the 1 µs minimum: every
    // user loops a million times a second.
    let busy = base().replace(
        "rate = \"10/s\"",
        "model = \"closed\"\nusers = 1000\nthink = \"mix(99.9999% 0s, 0.0001% 1s)\"",
    );
    has(
        &problems(&busy),
        "traffic",
        "fewer users, a longer think time or a shorter duration",
    );
    let too_fast = base().replace("\"10/s\"", "\"1e12/s\"");
    has(&problems(&too_fast), "traffic.rate", "one arrival per nanosecond");
}

#[test]
fn windows_and_durations_are_bounded() {
    let ns = base().replace("duration = \"1m\"", "duration = \"1m\"\n[stats]\nwindow = \"1ns\"");
    has(&problems(&ns), "stats.window", "60000000000 windows of 1ns");
    has(&problems(&ns), "stats.window", "make the window at least 600us");
    let long = base().replace("\"1m\"", "\"100000h\"");
    has(&problems(&long), "duration", "at most 8784h (a year)");
}

// --- 2. integers that wrapped ------------------------------------------------

#[test]
fn endpoints_and_steps_beyond_the_limits_are_refused_not_wrapped() {
    let steps = vec!["{ cpu = \"1us\" }"; limits::MAX_STEPS + 1].join(", ");
    let many_steps = base().replace("{ cpu = \"5ms\" }, { query = \"load\", db_cpu = \"1ms\" }", &steps);
    has(
        &problems(&many_steps),
        "app.endpoints.home.steps",
        "at most 1000 steps, found 1001",
    );
    let mut many = base();
    for i in 0..=limits::MAX_ENDPOINTS {
        many += &format!("[app.endpoints.e{i}]\nsteps = [{{ cpu = \"1ms\" }}]\n");
    }
    has(
        &problems(&many),
        "app.endpoints",
        "at most 10000 endpoints, found 10002",
    );
}

// --- 3. floating point --------------------------------------------------------

#[test]
fn mix_weights_that_sum_to_infinity_are_refused() {
    let text = base().replace(
        "[eras.stone]",
        "[app.endpoints.cart]\nsteps = [{ cpu = \"1ms\" }]\n[traffic.mix]\nhome = 1e308\ncart = 1e308\n[eras.stone]",
    );
    has(&problems(&text), "traffic.mix", "the weights add up to inf");
}

// --- 4. parser limits -----------------------------------------------------------

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    // Run on a thread with a small stack: a recursive parser would overflow it.
    let text = base().replace(
        "cpu = \"5ms\"",
        &format!(
            "cpu = \"{}1ms{}\"",
            "mix(50% ".repeat(30_000),
            ", 50% 2ms)".repeat(30_000)
        ),
    );
    let found = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || problems(&text))
        .unwrap()
        .join()
        .unwrap();
    has(&found, "app.endpoints.home.steps[0].cpu", "nest at most 16 deep");
    let arrays = format!("x = {}1{}\n", "[".repeat(30_000), "]".repeat(30_000));
    let found = problems(&arrays);
    assert!(found[0].message.contains("nested deeper"), "{found:?}");
}

#[test]
fn files_are_read_up_to_a_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.toml");
    let padding = "# padding\n".repeat((limits::MAX_FILE_BYTES / 10 + 1) as usize);
    std::fs::write(&big, base() + &padding).unwrap();
    let e = scenario::load(&big).unwrap_err().to_string();
    assert!(e.contains("is larger than 1 MiB"), "{e}");
    // A device that never ends is refused the same way, without reading it all.
    if Path::new("/dev/zero").exists() {
        let e = scenario::load(Path::new("/dev/zero")).unwrap_err().to_string();
        assert!(e.contains("is larger than 1 MiB"), "{e}");
    }
}

#[test]
fn thousands_of_problems_are_located_in_one_pass() {
    // 30,000 bad mix weights in a 0.9 MB file: locating each by rescanning
    // the file took a minute; a generous bound catches that, not speed.
    let n = 30_000;
    let mut text = base().replace("[eras.stone]", "[eras.stone]\n[traffic.mix]\nhome = 1\n");
    for i in 0..n {
        text += &format!("e{i:05} = -{i}.5 # {}\n", "x".repeat(8));
    }
    let started = Instant::now();
    let found = problems(&text);
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    assert_eq!(
        found.iter().filter(|p| p.message.contains("unknown endpoint")).count(),
        n
    );
    let last = found.last().unwrap();
    assert_eq!(last.line, text.lines().count());
}

// --- 5. every problem at once ----------------------------------------------------

#[test]
fn every_problem_of_a_section_is_listed() {
    let fpm = base().replace(
        "[eras.stone]",
        "[eras.stone]\nfpm = { max_children = 0, listen_backlog = -5, spawn_time = \"soon\" }",
    );
    let found = problems(&fpm);
    has(&found, "eras.stone.fpm.max_children", "at least 1");
    has(&found, "eras.stone.fpm.listen_backlog", "found -5");
    has(&found, "eras.stone.fpm.spawn_time", "expected a duration");

    let profile = base().replace(
        "rate = \"10/s\"",
        "profile = [{ at = \"soon\", rate = 1 }, { at = \"1s\", rate = \"-1/s\" }, { at = \"2s\", rate = \"x\" }]",
    );
    let found = problems(&profile);
    has(&found, "traffic.profile[0].at", "expected a duration");
    has(&found, "traffic.profile[1].rate", "cannot be negative");
    has(&found, "traffic.profile[2].rate", "no unit");

    let stats = base().replace(
        "duration = \"1m\"",
        "duration = \"1m\"\n[stats]\nwindow = \"x\"\nwarmup = \"y\"",
    );
    let found = problems(&stats);
    has(&found, "stats.window", "expected a duration");
    has(&found, "stats.warmup", "expected a duration");

    let query = base().replace(
        "{ query = \"load\", db_cpu = \"1ms\" }",
        "{ query = \"load\", db_cpu = \"x\", db_wait = \"y\", lock = \"nowhere\" }",
    );
    let found = problems(&query);
    has(&found, "app.endpoints.home.steps[1].db_cpu", "\"x\"");
    has(&found, "app.endpoints.home.steps[1].db_wait", "\"y\"");
}

#[test]
fn unknown_keys_and_wrong_types_hide_nothing_else() {
    let text = r#"duration = "-1m"
colour = "blue"
[traffic]
rate = "10/s"
timeout = 5
[app.endpoints.home]
steps = [{ cpu = "5ms", colour = "red" }]
[eras.stone]
host = { cores = "four", sped = 2 }
fpm = { max_children = 0 }
"#;
    let found = problems(text);
    has(&found, "duration", "cannot be negative");
    has(&found, "colour", "unknown key \"colour\": the top level takes");
    has(
        &found,
        "traffic.timeout",
        "expected a duration such as \"30s\", or \"off\", found the number 5",
    );
    has(&found, "app.endpoints.home.steps[0].colour", "unknown key");
    has(
        &found,
        "eras.stone.host.cores",
        "expected a whole number, found the string \"four\"",
    );
    has(&found, "eras.stone.host.sped", "[eras.stone.host] takes cores, speed");
    has(&found, "eras.stone.fpm.max_children", "at least 1");
    assert_eq!(found.len(), 7, "{found:#?}");
    let lines: Vec<_> = found.iter().map(|p| (p.line, p.column)).collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted, "problems come in file order");
}

#[test]
fn every_bad_key_of_a_silver_era_is_listed() {
    // A key of the wrong type used to end its table's checks: one problem
    // shown, the others found one run at a time.
    let text = base().replace(
        "[eras.stone]",
        r#"[eras.silver]
nodes = "two"
lb = { cores = "x", price_per_hour = "free" }
web = 5
db = { speed = "fast" }
network = { rtt = 3 }
[eras.silver.haproxy]
balance = 1
hash_type = "ring"
check = "yes"
rise = 0
maxconn = "many"
[eras.silver.keepalived]
version = 4
advert_int = "500ms"
priority = ["high", 100]
preempt = 1
preempt_delay = "2000s"
"#,
    );
    let found = problems(&text);
    let expected = [
        ("eras.silver.nodes", "expected a whole number, found the string \"two\""),
        ("eras.silver.lb.cores", "expected a whole number"),
        (
            "eras.silver.lb.price_per_hour",
            "expected a number, found the string \"free\"",
        ),
        ("eras.silver.web", "expected a table, found the number 5"),
        ("eras.silver.db.speed", "expected a number"),
        ("eras.silver.network.rtt", "expected a distribution"),
        (
            "eras.silver.haproxy.balance",
            "expected \"roundrobin\", \"static-rr\", \"leastconn\", \"first\", \"source\" or \"random\", found the number 1",
        ),
        (
            "eras.silver.haproxy.hash_type",
            "unknown hash_type \"ring\": expected \"map-based\" or \"consistent\"",
        ),
        ("eras.silver.haproxy.check", "expected true or false"),
        ("eras.silver.haproxy.rise", "at least 1"),
        ("eras.silver.haproxy.maxconn", "expected a whole number"),
        ("eras.silver.keepalived.version", "version is 2 or 3"),
        (
            "eras.silver.keepalived.priority[0]",
            "expected a priority from 1 to 255, found the string \"high\"",
        ),
        (
            "eras.silver.keepalived.preempt",
            "expected true or false, found the number 1",
        ),
    ];
    for (key, says) in expected {
        has(&found, key, says);
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");

    // With version and both durations readable, a bad priority hides
    // neither advert_int nor preempt_delay, nor they each other.
    let text = base().replace(
        "[eras.stone]",
        "[eras.silver]\nkeepalived = { advert_int = \"500ms\", preempt_delay = \"2000s\", priority = [0] }",
    );
    let found = problems(&text);
    has(
        &found,
        "eras.silver.keepalived.advert_int",
        "whole seconds from 1s to 255s",
    );
    has(&found, "eras.silver.keepalived.preempt_delay", "at most 1000s");
    has(&found, "eras.silver.keepalived.priority", "found 1 value");
    assert_eq!(found.len(), 3, "{found:#?}");
}

#[test]
fn every_bad_key_of_a_fault_is_listed() {
    let text = base()
        + r#"[[faults]]
at = 5
for = "0s"
kind = 3
target = 4
factor = "half"
eras = [1, "stone"]
[[faults]]
at = "1s"
kind = "slow"
factor = 0
target = "nowhere"
eras = ["stone", "gold"]
[[faults]]
at = "2m"
kind = "crash"
target = "web[0]"
"#;
    let found = problems(&text);
    let expected = [
        (
            "faults[0].at",
            "expected a duration such as \"250ms\" or \"1m30s\", found the number 5",
        ),
        ("faults[0].for", "longer than 0s"),
        (
            "faults[0].kind",
            "expected \"crash\", \"isolate\", \"slow\" or \"restart\", found the number 3",
        ),
        ("faults[0].target", "expected a string, found the number 4"),
        ("faults[0].factor", "expected a number, found the string \"half\""),
        ("faults[0].eras[0]", "expected an era label, found the number 1"),
        ("faults[1].factor", "above 0 and at most 1, found 0"),
        ("faults[1].eras[1]", "no era is labelled \"gold\""),
        ("faults[2].at", "the fault strikes at 2m but the run lasts 1m"),
        (
            "faults[2].target",
            "in era \"stone\": no host is named \"web[0]\" (hosts: server)",
        ),
    ];
    for (key, says) in expected {
        has(&found, key, says);
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
}

#[test]
fn a_fault_on_a_web_node_past_the_last_names_nodes() {
    // Found by the mutation test: lowering `nodes` left a fault on a node
    // that no longer exists, and the message listed hosts without saying
    // which key made them.
    let text = base().replace("[eras.stone]", "[eras.silver]\nnodes = 2\n")
        + "[[faults]]\nat = \"1s\"\nkind = \"crash\"\ntarget = \"web[2]\"\n";
    has(
        &problems(&text),
        "faults[0].target",
        "in era \"silver\": no host is named \"web[2]\": the era's 2 web nodes (nodes = 2) are web[0] to web[1]",
    );
    let one = text.replace("nodes = 2", "nodes = 1");
    has(
        &problems(&one),
        "faults[0].target",
        "the era's 1 web node (nodes = 1) is web[0]",
    );
}

// --- 6. messages that misled -------------------------------------------------------

#[test]
fn durations_in_distributions_read_as_documented() {
    let ok = base()
        .replace("cpu = \"5ms\"", "cpu = \"exp(mean = 5 ms)\"")
        .replace("db_cpu = \"1ms\"", "db_cpu = \"mix(50% 1m 30s, 50% 2 ms)\"");
    scenario::parse(&ok, Path::new(FILE)).unwrap();
    let bad = base().replace("cpu = \"5ms\"", "cpu = \"5 parsecs\"");
    has(
        &problems(&bad),
        "app.endpoints.home.steps[0].cpu",
        "unknown unit in \"5 parsecs\"",
    );
}

#[test]
fn messages_name_the_key_and_hide_the_implementation() {
    let dup = base().replace("[eras.stone]", "[eras.stone]\nhost = { cores = 2 }\n[eras.stone]");
    let found = problems(&dup);
    assert!(found[0].message.contains("duplicate key \"stone\""), "{found:?}");
    for text in [
        base().replace("[app.endpoints.home]\n", "app = 5\n[app.endpoints.home]\n"),
        base().replace("steps = [{ cpu = \"5ms\" }, ", "steps = [5, "),
        base().replace("\"10/s\"", "1979-05-27T07:32:00Z"),
        base().replace("duration = \"1m\"", "duration = 07:32:00"),
        base().replace("[eras.stone]", "eras = 3"),
    ] {
        for p in problems(&text) {
            for leak in ["Raw", "struct", "invalid type", "map"] {
                assert!(!p.message.contains(leak), "{leak} in {p:?}");
            }
        }
    }
    // serde reads a struct from an array by position; a scenario's tables
    // have named keys.
    let arrays = base().replace(
        "[eras.stone]",
        "[stats]\nwindow = 5\n[eras.stone]\nhost = [2, 1.0]\nfpm = []",
    );
    let found = problems(&arrays);
    has(&found, "eras.stone.host", "expected a table, found an array");
    has(&found, "eras.stone.fpm", "expected a table, found an array");
    for big in ["18446744073709551616", "9223372036854775808"] {
        let found = problems(&base().replace("\"10/s\"", big));
        assert!(found[0].message.contains("a number too large"), "{found:?}");
    }
    let time = base().replace("\"10/s\"", "1979-05-27T07:32:00Z");
    has(&problems(&time), "traffic.rate", "\"1979-05-27T07:32:00Z\" has no unit");
    let time = base().replace("[eras.stone]", "[eras.stone]\nhost = { cores = 1979-05-27 }");
    has(
        &problems(&time),
        "eras.stone.host.cores",
        "expected a whole number, found the date-time 1979-05-27",
    );
    let empty = base().replace("rate = \"10/s\"", "profile = []");
    has(&problems(&empty), "traffic.profile", "at least one point");
    let long = base().replace("\"5ms\"", &format!("\"{}\"", "9".repeat(300_000)));
    for p in problems(&long) {
        assert!(p.message.len() < 500, "{} characters", p.message.len());
    }
}

#[test]
fn numbers_past_a_bound_are_shown_as_written() {
    // Found by the mutation test: `{}` wrote 1e308 as 309 digits and 1e-14
    // as a row of zeros.
    let text = base().replace(
        "[eras.stone]",
        "[eras.stone]\nhost = { speed = 1e-14, price_per_hour = 1e308 }",
    ) + "[[faults]]\nat = \"1s\"\nkind = \"slow\"\nfactor = 1e300\ntarget = \"server\"\n";
    let found = problems(&text);
    has(&found, "eras.stone.host.speed", "found 1e-14");
    has(&found, "eras.stone.host.price_per_hour", "found 1e308");
    has(&found, "faults[0].factor", "found 1e300");
    for p in &found {
        assert!(p.message.len() < 200, "{p:?}");
    }
}

#[test]
fn haproxy_timeouts_say_they_cannot_be_off() {
    // Found by the mutation test: "off", which other timeouts take, was
    // refused as "expected a duration".
    let text = base().replace(
        "[eras.stone]",
        "[eras.silver]\nhaproxy = { timeout_server = \"off\", inter = \" off\" }",
    );
    let found = problems(&text);
    has(
        &found,
        "eras.silver.haproxy.timeout_server",
        "timeout_server must be longer than 0s: HAProxy has no \"off\" for it",
    );
    has(&found, "eras.silver.haproxy.inter", "HAProxy has no \"off\"");
    assert_eq!(found.len(), 2, "{found:#?}");
}

#[test]
fn a_byte_that_is_not_utf8_has_a_position() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("latin1.toml");
    let mut bytes = base().into_bytes();
    bytes.extend_from_slice(b"description = \"caf\xe9\"\n");
    std::fs::write(&f, bytes).unwrap();
    let e = scenario::load(&f).unwrap_err();
    let p = &e.problems()[0];
    assert_eq!((p.line, p.column), (7, 19));
    assert!(p.message.contains("not UTF-8"), "{p:?}");
}

// --- 7. where the report goes --------------------------------------------------------

#[test]
fn names_cannot_leave_the_output_folder() {
    for name in ["..", "a/b", "", ".hidden", "a\\b"] {
        let text = format!("name = {name:?}\n{}", base());
        has(&problems(&text), "name", "names the output folder");
    }
    // Without a name, the file's stem names the folder: it must be safe too.
    let e = scenario::parse(&base(), Path::new("/tmp/...toml")).unwrap_err();
    assert!(e.problems()[0].message.contains("add name ="), "{e}");
    let e = scenario::parse(&base(), Path::new("/tmp/.toml")).unwrap_err();
    assert!(e.problems()[0].message.contains("add name ="), "{e}");
    let empty = base().replace(
        "[eras.stone]",
        "[app.endpoints.\"\"]\nsteps = [{ cpu = \"1ms\" }]\n[eras.stone]",
    );
    has(&problems(&empty), "app.endpoints.\"\"", "an endpoint name may hold");
}
