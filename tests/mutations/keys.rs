//! Operators aimed at named keys: the silver era's (`nodes`, `network`,
//! `haproxy.*`, `keepalived.*`), every machine's (`cores`, `speed`,
//! `price_per_hour`, the kernel's) and whole `[[faults]]` entries. Each sets
//! a key to a value it takes or to one just past what it takes, and starts
//! its detail with the key, `eras.silver.haproxy.balance = …`, so that the
//! test can check that a rejection names it.

use super::*;

/// The key a keyed operator's detail names, as a message shows it: its
/// last segment (`eras.silver.haproxy.balance = 1` → `balance`,
/// `faults[2] = { … }` → `faults[2]`).
pub(crate) fn key_set_by(detail: &str) -> &str {
    let key = detail.split(" = ").next().unwrap_or(detail);
    key.rsplit('.').next().unwrap_or(key)
}

/// Durations that make a timeout fire at once, never, or not at all.
const TIMEOUTS: &[&str] = &["\"1ns\"", "\"1ms\"", "\"100ms\"", "\"5s\"", "\"100000h\"", "\"off\""];
const BAD_TIMEOUTS: &[&str] = &["\"0s\"", "\"-1s\"", "5", "\"soon\""];
const INTERVALS: &[&str] = &["\"1ms\"", "\"100ms\"", "\"2s\"", "\"1h\"", "\"100000h\""];
const BAD_INTERVALS: &[&str] = &["\"0s\"", "\"1ns\"", "\"-2s\"", "2", "\"off\""];
const COUNTS_1: &[&str] = &["1", "2", "3", "1000"];
const BAD_COUNTS_1: &[&str] = &["0", "-1", "1001", "4294967296", "\"2\"", "1.5"];
const BOOLS: &[&str] = &["true", "false"];
const BAD_BOOLS: &[&str] = &["\"yes\"", "1", "[]"];

/// A key of a silver era (`table.key` inside its own table), the values
/// it takes and values past them.
type Key = (&'static str, &'static [&'static str], &'static [&'static str]);

const SILVER_KEYS: &[Key] = &[
    (
        "nodes",
        &["1", "2", "3", "8", "100", "10000"],
        &["0", "-1", "10001", "\"2\"", "1.5", "{}"],
    ),
    (
        "network.rtt",
        &[
            "\"0s\"",
            "\"1ns\"",
            "\"5ms\"",
            "\"exp(mean = 1ms)\"",
            "\"uniform(0s, 1h)\"",
            "\"100000h\"",
        ],
        &["\"-1ms\"", "3", "\"fast\"", "\"\""],
    ),
    (
        "haproxy.balance",
        &[
            "\"roundrobin\"",
            "\"static-rr\"",
            "\"leastconn\"",
            "\"first\"",
            "\"source\"",
            "\"random\"",
        ],
        &["\"RoundRobin\"", "\"\"", "1", "\" leastconn\"", "[\"random\"]"],
    ),
    ("haproxy.draws", &["1", "2", "100"], &["0", "101", "-1", "\"2\""]),
    (
        "haproxy.maxconn",
        &["1", "10", "100", "1000000"],
        &["0", "1000001", "-5", "\"many\""],
    ),
    (
        "haproxy.server_maxconn",
        &["0", "1", "5", "1000000"],
        &["-1", "1000001", "1e3"],
    ),
    (
        "haproxy.maxqueue",
        &["0", "1", "10", "1000000"],
        &["-1", "1000001", "true"],
    ),
    ("haproxy.timeout_connect", TIMEOUTS, BAD_TIMEOUTS),
    ("haproxy.timeout_queue", TIMEOUTS, BAD_TIMEOUTS),
    ("haproxy.timeout_server", TIMEOUTS, BAD_TIMEOUTS),
    ("haproxy.timeout_check", TIMEOUTS, BAD_TIMEOUTS),
    (
        "haproxy.hash_type",
        &["\"map-based\"", "\"consistent\""],
        &["\"ring\"", "2", "\"\""],
    ),
    ("haproxy.check", BOOLS, BAD_BOOLS),
    ("haproxy.inter", INTERVALS, BAD_INTERVALS),
    ("haproxy.fastinter", INTERVALS, BAD_INTERVALS),
    ("haproxy.downinter", INTERVALS, BAD_INTERVALS),
    ("haproxy.rise", COUNTS_1, BAD_COUNTS_1),
    ("haproxy.fall", COUNTS_1, BAD_COUNTS_1),
    ("haproxy.retries", &["0", "1", "3", "100"], &["-1", "101", "\"3\""]),
    ("haproxy.redispatch", BOOLS, BAD_BOOLS),
    ("keepalived.version", &["2", "3"], &["4", "0", "\"3\"", "2.0"]),
    (
        "keepalived.advert_int",
        &["\"1s\"", "\"3s\"", "\"255s\""],
        &[
            "\"10ms\"",
            "\"40.95s\"",
            "\"256s\"",
            "\"500ms\"",
            "\"0s\"",
            "\"1ns\"",
            "1",
        ],
    ),
    (
        "keepalived.priority",
        &[
            "[101, 100]",
            "[100, 100]",
            "[100, 101]",
            "[255, 1]",
            "[1, 255]",
            "[255, 255]",
        ],
        &[
            "[0, 100]",
            "[256, 1]",
            "[101]",
            "[\"a\", 1]",
            "[]",
            "[1, 2, 3]",
            "101",
            "[1.5, 2]",
        ],
    ),
    ("keepalived.preempt", BOOLS, BAD_BOOLS),
    (
        "keepalived.preempt_delay",
        &["\"0s\"", "\"1ns\"", "\"1s\"", "\"1000s\""],
        &["\"1001s\"", "\"-1s\"", "5", "\"100000h\""],
    ),
];

/// The keys of every machine (`host`, `web`, `db`, `lb`).
const MACHINE_KEYS: &[Key] = &[
    ("cores", &["1", "2", "64", "1024"], &["0", "1025", "-1", "\"4\""]),
    (
        "speed",
        &["0.001", "0.5", "1", "1000"],
        &["0", "-1", "nan", "inf", "1e-14", "1001"],
    ),
    (
        "price_per_hour",
        &["0", "0.02", "5", "1e6", "1000000", "-0.0", "1e-300"],
        &["-1", "nan", "inf", "1e308", "1000001", "\"free\"", "[0.02]"],
    ),
    ("somaxconn", &["1", "128", "1000000"], &["0", "1000001", "4294967295"]),
    ("tcp_syn_retries", &["1", "6", "127"], &["0", "128", "-1"]),
    ("tcp_syn_linear_timeouts", &["0", "4", "127"], &["-1", "128", "\"4\""]),
];

/// One `[eras.LABEL]` table of the text (labels that need no quotes).
pub(crate) struct EraTable {
    pub(crate) label: String,
    /// `model = "…"` as written, else the label.
    pub(crate) model: String,
    /// Its own keys: from the line after the header to the next table.
    body: Range<usize>,
}

/// The start of the next line at or after `from` that opens a table or an
/// array of tables.
fn next_table(t: &str, from: usize) -> usize {
    line_starts(t)
        .into_iter()
        .find(|&i| i >= from && t[i..].starts_with('['))
        .unwrap_or(t.len())
}

pub(crate) fn era_tables(t: &str) -> Vec<EraTable> {
    let mut out = Vec::new();
    for h in headers(t) {
        let line = t[h..end_of_line(t, h)].trim_end();
        let Some(label) = line.strip_prefix("[eras.").and_then(|l| l.strip_suffix(']')) else {
            continue;
        };
        if label.is_empty()
            || !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            continue;
        }
        let start = end_of_line(t, h);
        let body = start..next_table(t, start);
        let model = t[body.clone()]
            .lines()
            .find_map(|l| {
                let v = l.trim_start().strip_prefix("model")?.trim_start().strip_prefix('=')?;
                Some(v.trim().trim_matches('"').to_string())
            })
            .unwrap_or_else(|| label.to_string());
        out.push(EraTable {
            label: label.to_string(),
            model,
            body,
        });
    }
    out
}

/// The line in `within` that sets `key` (`key = …` at its start).
fn line_setting(t: &str, within: &Range<usize>, key: &str) -> Option<Range<usize>> {
    line_starts(t)
        .into_iter()
        .filter(|i| within.contains(i))
        .find(|&i| {
            let rest = t[i..].trim_start_matches([' ', '\t']);
            rest.strip_prefix(key)
                .is_some_and(|r| r.trim_start_matches([' ', '\t']).starts_with('='))
        })
        .map(|i| i..end_of_line(t, i))
}

/// Writes `key = value` in `within`: over the line that sets it, else as a
/// new first line.
fn set_line(t: &mut String, within: Range<usize>, key: &str, value: &str) {
    match line_setting(t, &within, key) {
        Some(l) => t.replace_range(l, &format!("{key} = {value}\n")),
        None => t.insert_str(within.start, &format!("{key} = {value}\n")),
    }
}

/// Sets `key = value` in era `e`: among its own keys (`table` None), or in
/// its `table`, written as `[eras.L.table]` or inline (`table = { … }` on
/// one line); a table that is not written is added inline.
fn set_in_era(t: &mut String, e: &EraTable, table: Option<&str>, key: &str, value: &str) {
    let Some(table) = table else {
        return set_line(t, e.body.clone(), key, value);
    };
    let header = format!("[eras.{}.{table}]", e.label);
    if let Some(h) = headers(t)
        .into_iter()
        .find(|&h| t[h..end_of_line(t, h)].trim_end() == header)
    {
        let start = end_of_line(t, h);
        let end = next_table(t, start);
        return set_line(t, start..end, key, value);
    }
    let Some(line) = line_setting(t, &e.body, table) else {
        return t.insert_str(e.body.start, &format!("{table} = {{ {key} = {value} }}\n"));
    };
    let text = &t[line.clone()];
    let (Some(open), Some(close)) = (text.find('{'), text.rfind('}')) else {
        // Not an inline table on one line: write the whole table anew.
        return t.replace_range(line, &format!("{table} = {{ {key} = {value} }}\n"));
    };
    let inner = line.start + open + 1..line.start + close;
    let existing = pairs(t, &lex(t))
        .into_iter()
        .find(|p| inner.contains(&p.key.start) && t[p.key.clone()] == *key);
    match existing {
        Some(p) => t.replace_range(p.value, value),
        None if t[inner.clone()].trim().is_empty() => t.replace_range(inner, &format!(" {key} = {value} ")),
        None => t.insert_str(inner.start, &format!(" {key} = {value},")),
    }
}

/// A key's value: mostly one it takes, so that mutants reach the simulator.
fn value_of(r: &mut Rng, legal: &[&'static str], illegal: &[&'static str]) -> &'static str {
    let from = if r.chance(0.65) { legal } else { illegal };
    from[r.below(from.len())]
}

pub(crate) fn silver_key(t: &mut String, r: &mut Rng) -> Option<String> {
    let mut eras: Vec<EraTable> = era_tables(t).into_iter().filter(|e| e.model == "silver").collect();
    if eras.is_empty() {
        // The theory scenarios have none: give them one to work on.
        if era_tables(t).iter().any(|e| e.label == "silver") {
            return None;
        }
        if !t.ends_with('\n') {
            t.push('\n');
        }
        t.push_str("\n[eras.silver]\nnodes = 2\n");
        eras = era_tables(t).into_iter().filter(|e| e.model == "silver").collect();
    }
    let e = r.pick(&eras);
    let (path, legal, illegal) = *r.pick(SILVER_KEYS);
    let value = value_of(r, legal, illegal);
    let (table, key) = match path.split_once('.') {
        Some((table, key)) => (Some(table), key),
        None => (None, path),
    };
    let what = format!("eras.{}.{path} = {value}", e.label);
    set_in_era(t, e, table, key, value);
    Some(what)
}

pub(crate) fn machine_key(t: &mut String, r: &mut Rng) -> Option<String> {
    let eras = era_tables(t);
    if eras.is_empty() {
        return None;
    }
    let e = r.pick(&eras);
    let machines: &[&str] = match e.model.as_str() {
        "stone" => &["host"],
        "bronze" => &["web", "db"],
        "silver" => &["lb", "web", "db"],
        _ => return None,
    };
    let machine = *r.pick(machines);
    // price_per_hour is new and drawn as often as all the others together.
    let (key, legal, illegal) = if r.chance(0.5) {
        MACHINE_KEYS[2]
    } else {
        *r.pick(MACHINE_KEYS)
    };
    let value = value_of(r, legal, illegal);
    let what = format!("eras.{}.{machine}.{key} = {value}", e.label);
    set_in_era(t, e, Some(machine), key, value);
    Some(what)
}

/// The clients' kernel keys of `[traffic]`, the values they take and
/// values past them.
const TRAFFIC_KEYS: &[Key] = &[
    (
        "tcp_syn_retries",
        &["1", "6", "127"],
        &["0", "128", "-1", "\"6\"", "1.5"],
    ),
    (
        "tcp_syn_linear_timeouts",
        &["0", "4", "127"],
        &["-1", "128", "\"4\"", "0.5", "[]"],
    ),
];

/// Sets one of `[traffic]`'s clients' kernel keys.
pub(crate) fn traffic_key(t: &mut String, r: &mut Rng) -> Option<String> {
    let h = headers(t)
        .into_iter()
        .find(|&h| t[h..end_of_line(t, h)].trim_end() == "[traffic]")?;
    let (key, legal, illegal) = *r.pick(TRAFFIC_KEYS);
    let value = value_of(r, legal, illegal);
    let start = end_of_line(t, h);
    let end = next_table(t, start);
    set_line(t, start..end, key, value);
    Some(format!("traffic.{key} = {value}"))
}

/// Targets no era has, or that no era could have.
const HOSTILE_TARGETS: &[&str] = &[
    "\"web[9999]\"",
    "\"lb[2]\"",
    "\"web[-1]\"",
    "\"\"",
    "\"LB.MASTER\"",
    "\"mysql\"",
    "\"web[0] \"",
    "\"web[18446744073709551616]\"",
    "3",
    "[\"web[0]\"]",
];

/// The hosts of era `e` a fault may name, quoted.
fn fault_targets(t: &str, e: &EraTable) -> Vec<String> {
    let q = |s: &str| format!("\"{s}\"");
    match e.model.as_str() {
        "stone" => vec![q("server")],
        "bronze" => vec![q("web"), q("db")],
        "silver" => {
            let nodes = line_setting(t, &e.body, "nodes")
                .and_then(|l| t[l].split('=').nth(1)?.trim().parse::<usize>().ok())
                .unwrap_or(2);
            let mut v = vec![q("lb.master"), q("lb.master"), q("lb[0]"), q("lb[1]"), q("db")];
            v.extend((0..nodes.min(4)).map(|i| q(&format!("web[{i}]"))));
            v
        }
        _ => HOSTILE_TARGETS.iter().map(|s| s.to_string()).collect(),
    }
}

/// Appends a `[[faults]]` entry that names a host of an era and strikes
/// early enough for a short run to see it; two times in five, one of its
/// keys takes a value past what it takes.
pub(crate) fn fault_entry(t: &mut String, r: &mut Rng) -> Option<String> {
    let eras = era_tables(t);
    let n = t.lines().filter(|l| l.trim_end() == "[[faults]]").count();
    // at, for, kind, target, factor, eras: the one spoiled, if any.
    let spoil = if r.chance(0.4) { Some(r.below(6)) } else { None };
    let value = |r: &mut Rng, i: usize, legal: &[&'static str], illegal: &[&'static str]| -> &'static str {
        let from = if spoil == Some(i) { illegal } else { legal };
        from[r.below(from.len())]
    };
    let era = (!eras.is_empty() && spoil != Some(3)).then(|| r.pick(&eras));
    let target = match era {
        Some(e) => r.pick(&fault_targets(t, e)).clone(),
        None => r.pick(HOSTILE_TARGETS).to_string(),
    };
    let kinds = ["\"crash\"", "\"isolate\"", "\"slow\"", "\"restart\""];
    // Only a slow fault is modelled on a host that runs MySQL.
    let kind = if (target == "\"db\"" || target == "\"server\"") && spoil != Some(2) {
        "\"slow\""
    } else {
        value(r, 2, &kinds, &["\"melt\"", "\"\"", "3", "\"Crash\""])
    };
    let slow = kind == "\"slow\"";
    let at = value(
        r,
        0,
        &["\"0s\"", "\"1ns\"", "\"100ms\"", "\"500ms\"", "\"1s\"", "\"90s\""],
        &["\"-1s\"", "5", "\"\"", "\"100000h\"", "\"soon\""],
    );
    let for_ = (r.chance(0.6) || spoil == Some(1)).then(|| {
        value(
            r,
            1,
            &["\"1ns\"", "\"200ms\"", "\"1s\"", "\"1h\""],
            &["\"0s\"", "\"-1s\"", "\"x\"", "1"],
        )
    });
    // A factor beside another kind is misplaced: the spoiled value.
    let factor = match (slow, spoil == Some(4)) {
        (true, _) => Some(value(
            r,
            4,
            &["0.5", "1", "0.001", "1e-14", "1e-300", "4.9e-324"],
            &["0", "-1", "nan", "inf", "2", "\"half\""],
        )),
        (false, true) => Some("0.5"),
        (false, false) => None,
    };
    let eras_v = match (era, spoil == Some(5)) {
        (_, true) => Some(r.pick(&["[\"gold\"]", "[1]", "\"silver\"", "[\"\"]", "{}"]).to_string()),
        (Some(e), false) if r.chance(0.9) => Some(format!("[\"{}\"]", e.label)),
        _ => None,
    };
    let mut keys = vec![format!("at = {at}")];
    keys.extend(for_.map(|f| format!("for = {f}")));
    keys.push(format!("kind = {kind}"));
    keys.push(format!("target = {target}"));
    keys.extend(factor.map(|f| format!("factor = {f}")));
    keys.extend(eras_v.map(|e| format!("eras = {e}")));
    if !t.ends_with('\n') {
        t.push('\n');
    }
    t.push_str(&format!("\n[[faults]]\n{}\n", keys.join("\n")));
    Some(format!("faults[{n}] = {{ {} }}", keys.join(", ")))
}
