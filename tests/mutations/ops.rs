//! The mutation operators.

use super::*;

// ---------------------------------------------------------------------------
// The mutation operators. Each changes `t` and says what it did, or returns
// `None` when the text offers it nothing to work on.

pub(crate) type OpFn = fn(&mut String, &mut Rng) -> Option<String>;

pub(crate) struct Op {
    pub(crate) name: &'static str,
    pub(crate) weight: u32,
    pub(crate) apply: OpFn,
    /// Applied at least this often over the whole loop.
    pub(crate) min_applied: usize,
    /// It sets one key and says so, its detail starting with `KEY = `
    /// ([`key_set_by`]): when it alone made a mutant that is turned down,
    /// the reasons must name that key.
    pub(crate) sets_key: bool,
}

pub(crate) const fn op(name: &'static str, weight: u32, apply: OpFn, min_applied: usize) -> Op {
    Op {
        name,
        weight,
        apply,
        min_applied,
        sets_key: false,
    }
}

pub(crate) const fn keyed(name: &'static str, weight: u32, apply: OpFn, min_applied: usize) -> Op {
    Op {
        sets_key: true,
        ..op(name, weight, apply, min_applied)
    }
}

/// Name, weight (how often it is drawn), function, and how often it must
/// have been applied by the end.
pub(crate) const OPS: &[Op] = &[
    op("number_extreme", 13, number_extreme, 150),
    op("duration_extreme", 12, duration_extreme, 150),
    op("rate_extreme", 7, rate_extreme, 60),
    op("nested_mix", 9, nested_mix, 100),
    op("huge_mix_weights", 4, huge_mix_weights, 40),
    op("duplicate_line", 4, duplicate_line, 40),
    op("delete_line", 7, delete_line, 60),
    op("swap_lines", 4, swap_lines, 40),
    op("rename_key", 3, rename_key, 30),
    op("change_type", 4, change_type, 40),
    op("unknown_key", 3, unknown_key, 30),
    op("huge_string", 3, huge_string, 30),
    op("latin1_byte", 2, latin1_marker, 20),
    op("hostile_name", 3, hostile_name, 30),
    op("empty_endpoint", 2, empty_endpoint, 20),
    op("many_steps", 2, many_steps, 15),
    op("many_endpoints", 1, many_endpoints, 8),
    op("huge_count", 11, huge_count, 100),
    op("slow_host", 8, slow_host, 70),
    op("hostile_era_label", 3, hostile_era_label, 30),
    keyed("silver_key", 10, silver_key, 100),
    keyed("machine_key", 5, machine_key, 50),
    keyed("traffic_key", 3, traffic_key, 30),
    keyed("fault_entry", 8, fault_entry, 80),
];

/// The byte 0xE9 ('é' in Latin-1) is inserted into the bytes at the very
/// end (a `String` cannot hold it); this marker says where.
pub(crate) const LATIN1_MARKER: char = '\u{E000}';

/// Each value-replacing operator draws 70 % of the time from extremes that
/// are legal in many places (so that they reach the simulator), else from
/// all of them (most are for validation to turn down).
pub(crate) fn extreme<'a>(r: &mut Rng, legal: &[&'a str], all: &[&'a str]) -> &'a str {
    let from = if r.chance(0.7) { legal } else { all };
    from[r.below(from.len())]
}

pub(crate) const NUMBER_LEGAL: &[&str] = &["1", "0.5", "1e-14", "4294967296", "9223372036854775807"];
pub(crate) const NUMBER_EXTREMES: &[&str] = &[
    "0",
    "-1",
    "1",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
    "1e308",
    "-1e308",
    "nan",
    "inf",
    "-inf",
    "1e-14",
    "0.5",
];

pub(crate) const DURATION_LEGAL: &[&str] = &["1ns", "1us", "1m 30s", "100000h", "0s", "0", "0.4ns"];
pub(crate) const DURATION_EXTREMES: &[&str] = &[
    "1ns",
    "1us",
    "0s",
    "100000h",
    "1e30s",
    "5 parsecs",
    "1m 30s",
    "-5s",
    "",
    "0",
    "off",
    "18446744073709551615ns",
    "9999999999999999999h",
    "1.5e-300s",
    "nan s",
    "0.4ns",
];

pub(crate) const RATE_LEGAL: &[&str] = &["0/s", "1e9/min", "1e-300/s", "0.0001/h", "1e9/s"];
pub(crate) const RATE_EXTREMES: &[&str] = &[
    "1e9/s",
    "1e12/s",
    "0/s",
    "-1/s",
    "inf/s",
    "nan/s",
    "1e9/min",
    "5/fortnight",
    "1e-300/s",
];

pub(crate) fn number_extreme(t: &mut String, r: &mut Rng) -> Option<String> {
    let nums = all_numbers(t, &lex(t));
    if nums.is_empty() {
        return None;
    }
    let n = r.pick(&nums).clone();
    let v = extreme(r, NUMBER_LEGAL, NUMBER_EXTREMES);
    let what = format!("line {}: {} -> {v}", line_of(t, n.start), &t[n.clone()]);
    t.replace_range(n, v);
    Some(what)
}

pub(crate) fn unit_extreme(
    t: &mut String,
    r: &mut Rng,
    units: &[&str],
    legal: &[&str],
    all: &[&str],
) -> Option<String> {
    let toks = unit_tokens(t, &lex(t), units);
    if toks.is_empty() {
        return None;
    }
    let n = r.pick(&toks).clone();
    let v = extreme(r, legal, all);
    let what = format!("line {}: {:?} -> {v:?}", line_of(t, n.start), &t[n.clone()]);
    t.replace_range(n, v);
    Some(what)
}

pub(crate) fn duration_extreme(t: &mut String, r: &mut Rng) -> Option<String> {
    unit_extreme(t, r, DURATION_UNITS, DURATION_LEGAL, DURATION_EXTREMES)
}

pub(crate) fn rate_extreme(t: &mut String, r: &mut Rng) -> Option<String> {
    unit_extreme(t, r, RATE_UNITS, RATE_LEGAL, RATE_EXTREMES)
}

pub(crate) fn nested_mix(t: &mut String, r: &mut Rng) -> Option<String> {
    let ds = dist_strings(t, &lex(t));
    if ds.is_empty() {
        return None;
    }
    let d = r.pick(&ds).clone();
    let depth = if r.chance(0.05) { 30_000 } else { r.range(1, 40) };
    let inner = t[d.clone()].to_string();
    let nested = if r.chance(0.5) {
        format!("{}{inner}{}", "mix(50% ".repeat(depth), ", 50% 1ms)".repeat(depth))
    } else {
        format!("{}{inner}{}", "mix(50% 1ms, 50% ".repeat(depth), ")".repeat(depth))
    };
    let what = format!("line {}: depth {depth}", line_of(t, d.start));
    t.replace_range(d, &nested);
    Some(what)
}

pub(crate) fn huge_mix_weights(t: &mut String, r: &mut Rng) -> Option<String> {
    let ds = dist_strings(t, &lex(t));
    if ds.is_empty() {
        return None;
    }
    let d = r.pick(&ds).clone();
    let x = t[d.clone()].to_string();
    let forms = [
        format!("mix(1e308% {x}, 1e308% 1ms)"),
        format!("mix(1e308% {x}, 1e308% 1ms)"),
        // Legal: a one-in-a-trillion 100,000-hour tail.
        format!("mix(99.9999999999% {x}, 0.0000000001% 100000h)"),
        format!("mix(0.0000000001% 100000h, 99.9999999999% {x})"),
        format!("mix(50% {x}, 50% {x})"),
        format!("mix(1e308% {x}, -1e308% 1ms)"),
        format!("mix(1e308% 1ms, 1e308% 2ms, 1e308% {x})"),
        format!("mix(inf% {x}, 100% 1ms)"),
        format!("mix(nan% {x}, 100% 1ms)"),
        format!("mix(100% {x}, 0% 1ms)"),
        format!("mix(4.9e-324% {x}, 100% 1ms)"),
    ];
    let v = r.pick(&forms).clone();
    let what = format!("line {}: {}", line_of(t, d.start), cut(&v, 60));
    t.replace_range(d, &v);
    Some(what)
}

pub(crate) fn duplicate_line(t: &mut String, r: &mut Rng) -> Option<String> {
    let mut ls = lines(t);
    if ls.is_empty() {
        return None;
    }
    let i = r.below(ls.len());
    let what = format!("line {}: {}", i + 1, cut(ls[i].trim_end(), 50));
    ls.insert(i + 1, ls[i].clone());
    *t = ls.concat();
    Some(what)
}

pub(crate) fn delete_line(t: &mut String, r: &mut Rng) -> Option<String> {
    let mut ls = lines(t);
    if ls.len() < 2 {
        return None;
    }
    let i = r.below(ls.len());
    let what = format!("line {}: {}", i + 1, cut(ls[i].trim_end(), 50));
    ls.remove(i);
    *t = ls.concat();
    Some(what)
}

pub(crate) fn swap_lines(t: &mut String, r: &mut Rng) -> Option<String> {
    let mut ls = lines(t);
    if ls.len() < 2 {
        return None;
    }
    let i = r.below(ls.len());
    let mut j = r.below(ls.len() - 1);
    if j >= i {
        j += 1;
    }
    ls.swap(i, j);
    *t = ls.concat();
    Some(format!("lines {} and {}", i + 1, j + 1))
}

/// Keys of `key = value` pairs and bare segments of table headers.
pub(crate) fn key_ranges(t: &str) -> Vec<Range<usize>> {
    let mut keys: Vec<_> = pairs(t, &lex(t)).into_iter().map(|p| p.key).collect();
    for h in headers(t) {
        let line_end = t[h..].find('\n').map_or(t.len(), |i| h + i);
        let Some(close) = t[h..line_end].find(']') else {
            continue;
        };
        let inner = h + 1..h + close;
        if t[inner.clone()].contains('"') {
            continue;
        }
        let mut start = inner.start;
        for (i, c) in t[inner.clone()].char_indices() {
            if c == '.' {
                keys.push(start..inner.start + i);
                start = inner.start + i + 1;
            }
        }
        keys.push(start..inner.end);
    }
    keys.retain(|k| !k.is_empty());
    keys
}

pub(crate) fn rename_key(t: &mut String, r: &mut Rng) -> Option<String> {
    let keys = key_ranges(t);
    if keys.is_empty() {
        return None;
    }
    let k = r.pick(&keys).clone();
    let old: Vec<char> = t[k.clone()].chars().collect();
    let mut new = old.clone();
    match r.below(6) {
        0 if new.len() > 1 => {
            new.remove(r.below(new.len()));
        }
        1 => {
            let i = r.below(new.len());
            new.insert(i, new[i]);
        }
        2 if new.len() > 1 => {
            let i = r.below(new.len() - 1);
            new.swap(i, i + 1);
        }
        3 => new = new.iter().flat_map(|c| c.to_uppercase()).collect(),
        4 if new.contains(&'_') => new = new.iter().map(|&c| if c == '_' { '-' } else { c }).collect(),
        _ => new.push('s'),
    }
    let new: String = new.into_iter().collect();
    let old: String = old.into_iter().collect();
    let what = format!("line {}: {} -> {}", line_of(t, k.start), cut(&old, 40), cut(&new, 40));
    t.replace_range(k, &new);
    Some(what)
}

pub(crate) const TYPED_VALUES: &[(&str, &str)] = &[
    ("string", "\"text\""),
    ("string", "\"5ms\""),
    ("int", "42"),
    ("int", "-7"),
    ("float", "1.5"),
    ("array", "[1, \"a\"]"),
    ("array", "[]"),
    ("table", "{ a = 1 }"),
    ("table", "{}"),
    ("datetime", "1979-05-27T07:32:00Z"),
    ("datetime", "1979-05-27"),
    ("datetime", "07:32:00"),
    ("bool", "true"),
    ("bool", "false"),
];

pub(crate) fn kind_of(v: &str) -> &'static str {
    match v.as_bytes().first() {
        Some(b'"') => "string",
        Some(b'[') => "array",
        Some(b'{') => "table",
        Some(b't' | b'f') => "bool",
        _ if v.contains(':') || (v.len() >= 10 && v.as_bytes()[4] == b'-') => "datetime",
        _ if v.contains('.') || v.contains('e') || v.contains("inf") || v.contains("nan") => "float",
        _ => "int",
    }
}

pub(crate) fn change_type(t: &mut String, r: &mut Rng) -> Option<String> {
    let ps = pairs(t, &lex(t));
    if ps.is_empty() {
        return None;
    }
    let p = r.pick(&ps);
    let (key, value) = (p.key.clone(), p.value.clone());
    let old = t[value.clone()].to_string();
    let kind = kind_of(&old);
    let new = if r.chance(0.3) {
        // The same text as another type: 4 → "4", "5ms" → 5ms (bare), [..] → "[..]".
        match kind {
            "string" => old.trim_matches('"').to_string(),
            _ => format!(
                "\"{}\"",
                old.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', " ")
            ),
        }
    } else {
        let others: Vec<_> = TYPED_VALUES.iter().filter(|(k, _)| *k != kind).collect();
        r.pick(&others).1.to_string()
    };
    let what = format!(
        "line {}: {} = {} -> {}",
        line_of(t, value.start),
        cut(&t[key], 30),
        cut(&old, 30),
        cut(&new, 30)
    );
    t.replace_range(value, &new);
    Some(what)
}

pub(crate) const UNKNOWN_KEYS: &[&str] = &[
    "colour",
    "max_childs",
    "Timeout",
    "cpu_time",
    "x",
    "version",
    "speeds",
    "rate_limit",
    "\"quoted key\"",
    "\"\"",
    "\"é\"",
    "steps2",
];
pub(crate) const UNKNOWN_VALUES: &[&str] = &[
    "1",
    "\"x\"",
    "true",
    "[1]",
    "{ a = 1 }",
    "1979-05-27T07:32:00Z",
    "\"5ms\"",
];

pub(crate) fn unknown_key(t: &mut String, r: &mut Rng) -> Option<String> {
    let key = *r.pick(UNKNOWN_KEYS);
    let value = *r.pick(UNKNOWN_VALUES);
    let hs = headers(t);
    let braces: Vec<usize> = lex(t)
        .code
        .iter()
        .flat_map(|c| t[c.clone()].match_indices('{').map(move |(i, _)| c.start + i))
        .collect();
    match r.below(4) {
        0 if !hs.is_empty() => {
            let at = end_of_line(t, *r.pick(&hs));
            t.insert_str(at, &format!("{key} = {value}\n"));
            Some(format!("line {}: {key} = {value}", line_of(t, at)))
        }
        1 if !braces.is_empty() => {
            let at = *r.pick(&braces) + 1;
            t.insert_str(at, &format!(" {key} = {value},"));
            Some(format!("line {}: {{ {key} = {value}, …", line_of(t, at)))
        }
        2 => {
            let table = r.pick(&[
                "[zone]",
                "[eras.stone.cache]",
                "[app.endpoints.job.extra]",
                "[traffic.extra]",
            ]);
            t.push_str(&format!("\n{table}\n{key} = {value}\n"));
            Some(format!("table {table}: {key} = {value}"))
        }
        _ => {
            t.insert_str(0, &format!("{key} = {value}\n"));
            Some(format!("top level: {key} = {value}"))
        }
    }
}

pub(crate) fn huge_string(t: &mut String, r: &mut Rng) -> Option<String> {
    const N: usize = 300_000;
    let (kind, big) = match r.below(4) {
        0 => ("x", "x".repeat(N)),
        1 => ("é", "é".repeat(N)),
        2 => ("digits", format!("1{}ms", "0".repeat(N - 3))),
        _ => ("mix", format!("mix(50% 1ms, 50% {}ms)", "9".repeat(N - 20))),
    };
    let lx = lex(t);
    match r.below(5) {
        0 | 1 if !lx.strings.is_empty() => {
            let s = r.pick(&lx.strings).clone();
            let what = format!(
                "line {}: string {} -> {kind} × 300,000",
                line_of(t, s.start),
                cut(&t[s.clone()], 30)
            );
            t.replace_range(s, &big);
            Some(what)
        }
        2 => {
            t.insert_str(0, &format!("\"{big}\" = 1\n"));
            Some(format!("a key of 300,000 chars ({kind})"))
        }
        3 => {
            let label = "e".repeat(N);
            t.push_str(&format!("\n[eras.{label}]\nmodel = \"stone\"\n"));
            Some("an era label of 300,000 chars".into())
        }
        _ => {
            let name = "p".repeat(N);
            t.push_str(&format!("\n[app.endpoints.{name}]\nsteps = [{{ cpu = \"1ms\" }}]\n"));
            Some("an endpoint name of 300,000 chars".into())
        }
    }
}

pub(crate) fn latin1_marker(t: &mut String, r: &mut Rng) -> Option<String> {
    let lx = lex(t);
    let (at, place) = match r.below(4) {
        0 if !lx.strings.is_empty() => (r.pick(&lx.strings).start, "in a string"),
        1 => (t.len(), "at the end"),
        2 => (0, "at the start"),
        _ => {
            let ls = line_starts(t);
            if ls.is_empty() {
                (0, "at the start")
            } else {
                (*r.pick(&ls), "at a line start")
            }
        }
    };
    let what = format!("line {}: {place}", line_of(t, at));
    t.insert(at, LATIN1_MARKER);
    Some(what)
}

pub(crate) fn hostile_name(t: &mut String, r: &mut Rng) -> Option<String> {
    let name = *r.pick(&[
        "\"..\"",
        "\"a/b\"",
        "\"\"",
        "\".\"",
        "\"../../escape\"",
        "\"/abs/path\"",
        "\"a\\u0000b\"",
        "\"CON\"",
        "\" spaced \"",
        "\"new\\nline\"",
        "\"a\\\\b\"",
    ]);
    let lx = lex(t);
    let existing = pairs(t, &lx)
        .into_iter()
        .find(|p| &t[p.key.clone()] == "name" && line_starts(t).contains(&p.key.start));
    match existing {
        Some(p) => t.replace_range(p.value, name),
        None => t.insert_str(0, &format!("name = {name}\n")),
    }
    Some(format!("name = {name}"))
}

pub(crate) fn empty_endpoint(t: &mut String, r: &mut Rng) -> Option<String> {
    let body = *r.pick(&["steps = [{ cpu = \"1ms\" }]\n", "steps = []\n", ""]);
    t.push_str(&format!("\n[app.endpoints.\"\"]\n{body}"));
    let mut what = format!("[app.endpoints.\"\"] {}", body.trim());
    if r.chance(0.6)
        && let Some(i) = t.find("\n[traffic.mix]\n")
    {
        t.insert_str(i + "\n[traffic.mix]\n".len(), "\"\" = 1\n");
        what.push_str(" and \"\" = 1 in the mix");
    }
    Some(what)
}

pub(crate) fn many_steps(t: &mut String, r: &mut Rng) -> Option<String> {
    let lx = lex(t);
    let at: Vec<usize> = pairs(t, &lx)
        .into_iter()
        .filter(|p| &t[p.key.clone()] == "steps" && t.as_bytes()[p.value.start] == b'[')
        .map(|p| p.value.start + 1)
        .collect();
    if at.is_empty() {
        return None;
    }
    let n = *r.pick(&[70_000, 70_000, 996, 996, 1_200]);
    let i = *r.pick(&at);
    t.insert_str(i, &"{cpu=\"1us\"},".repeat(n));
    Some(format!("line {}: {n} more steps", line_of(t, i)))
}

pub(crate) fn many_endpoints(t: &mut String, r: &mut Rng) -> Option<String> {
    let existing = endpoint_names(t);
    let n = *r.pick(&[
        70_000,
        10_000 - existing.len().min(10_000),
        10_001 - existing.len().min(10_000),
    ]);
    let mut eps = String::with_capacity(n * 40);
    let mut mix = String::with_capacity(n * 10);
    for i in 0..n {
        eps.push_str(&format!("[app.endpoints.g{i}]\nsteps=[{{cpu=\"1us\"}}]\n"));
        mix.push_str(&format!("g{i}=1\n"));
    }
    if let Some(i) = t.find("\n[traffic.mix]\n") {
        t.insert_str(i + "\n[traffic.mix]\n".len(), &mix);
        t.push('\n');
        t.push_str(&eps);
    } else {
        t.push('\n');
        t.push_str(&eps);
        t.push_str("[traffic.mix]\n");
        for e in &existing {
            t.push_str(&format!("{e}=1\n"));
        }
        t.push_str(&mix);
    }
    Some(format!("{n} more endpoints"))
}

/// The limits of `core::scenario::limits` at the time of writing, and what
/// lies past them.
pub(crate) const COUNTS: &[(&str, u64)] = &[
    ("users", 1_000_000),
    ("max_children", 100_000),
    ("rows", 4_294_967_295),
    ("listen_backlog", 1_000_000),
    ("max_connections", 100_000),
    ("cores", 1_024),
];

pub(crate) fn huge_count(t: &mut String, r: &mut Rng) -> Option<String> {
    let (key, limit) = *r.pick(COUNTS);
    let value = match r.below(8) {
        0..=3 => limit.to_string(),
        4 => (limit + 1).to_string(),
        5 => "4294967296".to_string(),
        6 => "9223372036854775807".to_string(),
        _ => "1e300".to_string(),
    };
    let lx = lex(t);
    if key == "users" {
        // Turn the traffic into a closed model of that many users.
        let think = *r.pick(&["exp(mean = 60s)", "1s", "1us"]);
        let ls = lines(t);
        let start = ls.iter().position(|l| l.trim() == "[traffic]")?;
        let mut out: Vec<String> = ls[..=start].to_vec();
        out.push(format!("model = \"closed\"\nusers = {value}\nthink = \"{think}\"\n"));
        let mut i = start + 1;
        while i < ls.len() && !ls[i].starts_with('[') {
            let l = ls[i].trim_start();
            if l.starts_with("model") || l.starts_with("rate") {
                i += 1;
            } else if l.starts_with("profile") {
                let one_line = l.trim_end().ends_with(']');
                i += 1;
                if !one_line {
                    while i < ls.len() && !ls[i].trim_start().starts_with(']') && !ls[i].starts_with('[') {
                        i += 1;
                    }
                    if i < ls.len() && ls[i].trim_start().starts_with(']') {
                        i += 1;
                    }
                }
            } else {
                out.push(ls[i].clone());
                i += 1;
            }
        }
        out.extend_from_slice(&ls[i..]);
        *t = out.concat();
        return Some(format!("closed model: users = {value}, think = {think}"));
    }
    let found: Vec<Range<usize>> = pairs(t, &lx)
        .into_iter()
        .filter(|p| t[p.key.clone()] == *key)
        .map(|p| p.value)
        .collect();
    if !found.is_empty() {
        let v = r.pick(&found).clone();
        let what = format!("line {}: {key} = {value}", line_of(t, v.start));
        t.replace_range(v, &value);
        return Some(what);
    }
    // Absent: add it where it belongs.
    let first_era = headers(t).into_iter().find(|&h| t[h..].starts_with("[eras."));
    match key {
        "rows" => {
            t.push_str(&format!("\n[app.locks.hot]\nrows = {value}\n"));
            Some(format!("a lock set [app.locks.hot] with rows = {value}"))
        }
        "max_connections" => {
            let at = end_of_line(t, first_era?);
            t.insert_str(at, &format!("mysql = {{ max_connections = {value} }}\n"));
            Some(format!("line {}: mysql.max_connections = {value}", line_of(t, at)))
        }
        _ => None,
    }
}

pub(crate) fn slow_host(t: &mut String, r: &mut Rng) -> Option<String> {
    let speed = *r.pick(&["1e-14", "1e-14", "0.001", "0.001", "1e3", "0"]);
    let cpu = *r.pick(&[
        "100000h",
        "const(100000h)",
        "exp(mean = 100000h)",
        "uniform(1ms, 100000h)",
        "1ns",
    ]);
    let lx = lex(t);
    let hosts: Vec<usize> = pairs(t, &lx)
        .into_iter()
        .filter(|p| matches!(&t[p.key.clone()], "host" | "web" | "db") && t.as_bytes()[p.value.start] == b'{')
        .map(|p| p.value.start + 1)
        .collect();
    let cpus: Vec<Range<usize>> = pairs(t, &lx)
        .into_iter()
        .filter(|p| &t[p.key.clone()] == "cpu" && t.as_bytes()[p.value.start] == b'"' && p.value.len() >= 2)
        .map(|p| p.value.start + 1..p.value.end - 1)
        .collect();
    let mut what = Vec::new();
    let which = r.below(3); // 0: speed only, 1: cpu only, 2: both
    // The CPU step first: it lies later in the file than nothing we insert before it.
    if which >= 1
        && let Some(c) = (!cpus.is_empty()).then(|| r.pick(&cpus).clone())
    {
        what.push(format!("line {}: cpu = \"{cpu}\"", line_of(t, c.start)));
        t.replace_range(c.clone(), cpu);
        // Host positions after the step moved.
        let shift = cpu.len() as isize - c.len() as isize;
        if which == 2
            && let Some(&h) = (!hosts.is_empty()).then(|| r.pick(&hosts))
        {
            let h = if h > c.start { (h as isize + shift) as usize } else { h };
            t.insert_str(h, &format!(" speed = {speed},"));
            what.push(format!("line {}: speed = {speed}", line_of(t, h)));
        }
    } else if let Some(&h) = (!hosts.is_empty()).then(|| r.pick(&hosts)) {
        t.insert_str(h, &format!(" speed = {speed},"));
        what.push(format!("line {}: speed = {speed}", line_of(t, h)));
    }
    (!what.is_empty()).then(|| what.join(", "))
}

pub(crate) fn hostile_era_label(t: &mut String, r: &mut Rng) -> Option<String> {
    let eras: Vec<usize> = headers(t)
        .into_iter()
        .filter(|&h| {
            let l = t[h..].lines().next().unwrap_or("");
            l.starts_with("[eras.") && l.trim_end().ends_with(']') && !l["[eras.".len()..].contains('.')
        })
        .collect();
    if eras.is_empty() {
        return None;
    }
    let h = *r.pick(&eras);
    let label = match r.below(10) {
        0 => "\"..\"".to_string(),
        1 => "\"../../escape\"".to_string(),
        2 => "\"a/b\"".to_string(),
        3 => "\"\"".to_string(),
        4 => "x".repeat(101),
        5 => "x".repeat(100),
        6 => "CON".to_string(),
        7 => "\"é\"".to_string(),
        8 => "\" \"".to_string(),
        _ => "\"a\\u0000b\"".to_string(),
    };
    let line_end = end_of_line(t, h);
    // The era's table, up to the next header: does it name its model?
    let table_end = headers(t).into_iter().find(|&x| x > h).unwrap_or(t.len());
    let has_model = t[line_end..table_end]
        .lines()
        .any(|l| l.trim_start().starts_with("model"));
    let old = t[h..line_end].trim_end().to_string();
    let model = if old.contains("bronze") { "bronze" } else { "stone" };
    let new = if has_model {
        format!("[eras.{label}]\n")
    } else {
        format!("[eras.{label}]\nmodel = \"{model}\"\n")
    };
    let what = format!("line {}: {old} -> [eras.{}]", line_of(t, h), cut(&label, 30));
    t.replace_range(h..line_end, &new);
    Some(what)
}
