//! Hostile input, fuzz-style, in a way that cannot pass by luck.
//!
//! A seeded loop mutates the shipped scenarios (`scenarios/flash-sale.toml`
//! and `scenarios/theory/*.toml`) with operators aimed at the hostile
//! classes — extreme numbers, durations and rates, deeply nested and
//! overflowing mixtures, broken structure, wrong TOML types, unknown keys,
//! huge strings, bytes that are not UTF-8, hostile names, huge counts, tens
//! of thousands of steps or endpoints, a slow host with a huge CPU step —
//! and runs the real binary on every mutant:
//!
//! - `lab check FILE`: it must exit normally (no signal: an abort from an
//!   allocation failure or a stack overflow fails the test) with 0 or 1
//!   within 10 s and 1 GiB, explain a rejection on stderr in lines of
//!   reasonable length, name the file, and never show Rust internals;
//! - `lab run FILE --duration D -q --out DIR` on a deterministic,
//!   operator-stratified subset of the accepted mutants: no signal, done
//!   within 60 s and 1 GiB, exit 0 with `index.html` and `summary.json` in
//!   DIR and nothing written anywhere else, or 1/2 with a one-line reason
//!   (2 only for the `--duration` override).
//!
//! Time limits are CPU time (every thread), so that a machine busy with
//! other work does not fail the test; three times as long on the clock
//! kills a child that hangs without using the CPU.
//!
//! The seed and the number of mutants are fixed, so every run of this test
//! tries exactly the same inputs. The test then checks its own coverage —
//! how many mutants were accepted and simulated, how often each operator was
//! applied, accepted and run — so that it cannot pass by trying nothing.
//!
//! A failing mutant is saved under `target/mutation-failures/` with a `.txt`
//! beside it naming its operators, the command and what went wrong.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::ops::Range;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The seed of every mutant: mutant `i` is drawn from `(SEED, i)` alone.
const SEED: u64 = 0x1AB5_EED0_2026_1126;
/// Mutants given to `lab check`.
const MUTANTS: usize = 2_000;
/// Accepted mutants given to `lab run` (a stratified subset when more are
/// accepted); the test fails below `MIN_RUNS`.
const MAX_RUNS: usize = 300;
const MIN_RUNS: usize = 100;
/// How long one `lab check` and one `lab run` may take, in CPU time (all
/// threads): the same on an idle machine as on one where others compile.
/// A child is also killed after `WALL_FACTOR` times as long on the clock,
/// which catches a hang that burns no CPU.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);
const RUN_TIMEOUT: Duration = Duration::from_secs(60);
const WALL_FACTOR: u32 = 3;
/// Longest acceptable stderr line, in characters.
const MAX_LINE_CHARS: usize = 2_000;
/// The most memory one `lab check` or one short `lab run` may hold (peak
/// resident set, sampled while it runs): the short runs here simulate
/// seconds to minutes, and memory that grows with the traffic instead of
/// staying bounded is what turns a longer run into an abort or an OOM kill.
const MAX_RSS_KIB: u64 = 1 << 20;
/// A child past this much is killed at once, to keep the machine usable.
const KILL_RSS_KIB: u64 = 4 << 20;
/// Output kept from a child; more is counted but not stored.
const MAX_CAPTURE: usize = 8 << 20;

// ---------------------------------------------------------------------------
// A small deterministic generator (SplitMix64): the inputs do not depend on
// any crate's sampling algorithm.

struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next();
        r
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        assert!(n > 0);
        ((self.next() as u128 * n as u128) >> 64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

// ---------------------------------------------------------------------------
// A rough TOML lexer: enough to find strings, numbers, keys and values in the
// shipped files and in their mutants. Every range it returns starts and ends
// next to an ASCII byte, so it is always on a character boundary.

struct Lex {
    /// Contents (without the quotes) of basic strings `"…"`.
    strings: Vec<Range<usize>>,
    /// Stretches outside strings and comments.
    code: Vec<Range<usize>>,
}

fn lex(t: &str) -> Lex {
    let b = t.as_bytes();
    let (mut strings, mut code) = (Vec::new(), Vec::new());
    let (mut i, mut code_start) = (0, 0);
    while i < b.len() {
        match b[i] {
            b'#' => {
                code.push(code_start..i);
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                code_start = i;
            }
            q @ (b'"' | b'\'') => {
                code.push(code_start..i);
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j] != q && b[j] != b'\n' {
                    if q == b'"' && b[j] == b'\\' && j + 1 < b.len() && b[j + 1].is_ascii() {
                        j += 1;
                    }
                    j += 1;
                }
                let end = j.min(b.len());
                if q == b'"' {
                    strings.push(start..end);
                }
                i = if end < b.len() && b[end] == q { end + 1 } else { end };
                code_start = i;
            }
            _ => i += 1,
        }
    }
    code.push(code_start..b.len());
    code.retain(|r| !r.is_empty());
    Lex { strings, code }
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Numbers (digits and dots) not glued to a word before them, inside
/// `within`.
fn numbers_in(t: &str, within: &Range<usize>, out: &mut Vec<Range<usize>>) {
    let b = t.as_bytes();
    let mut i = within.start;
    while i < within.end {
        if b[i].is_ascii_digit() && (i == 0 || !(is_word(b[i - 1]) || b[i - 1] == b'.')) {
            let start = i;
            while i < within.end && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            out.push(start..i);
        } else {
            i += 1;
        }
    }
}

fn all_numbers(t: &str, lx: &Lex) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    for r in lx.code.iter().chain(&lx.strings) {
        numbers_in(t, r, &mut out);
    }
    out
}

/// A number followed by one of `units` (and then no letter) inside a
/// string: the range covers number and unit.
fn unit_tokens(t: &str, lx: &Lex, units: &[&str]) -> Vec<Range<usize>> {
    let b = t.as_bytes();
    let mut out = Vec::new();
    for s in &lx.strings {
        let mut nums = Vec::new();
        numbers_in(t, s, &mut nums);
        for n in nums {
            let rest = &t[n.end..s.end];
            if let Some(u) = units.iter().find(|u| {
                rest.starts_with(**u)
                    && rest[u.len()..]
                        .chars()
                        .next()
                        .is_none_or(|c| !c.is_alphabetic() && c != '/')
            }) {
                let end = n.end + u.len();
                debug_assert!(end <= b.len());
                out.push(n.start..end);
            }
        }
    }
    out
}

const DURATION_UNITS: &[&str] = &["min", "ns", "us", "µs", "ms", "s", "m", "h"];
const RATE_UNITS: &[&str] = &["/min", "/s", "/h"];

/// `key = value` pairs outside strings and comments: the key's range
/// (inside the quotes if quoted) and the value's (quotes and brackets
/// included).
struct Pair {
    key: Range<usize>,
    value: Range<usize>,
}

fn pairs(t: &str, lx: &Lex) -> Vec<Pair> {
    let b = t.as_bytes();
    // Strings come in file order: search them by halves.
    let string_ending_at = |end: usize| {
        let i = lx.strings.partition_point(|s| s.end < end);
        lx.strings.get(i).filter(|s| s.end == end).cloned()
    };
    let string_starting_at = |start: usize| {
        let i = lx.strings.partition_point(|s| s.start < start);
        lx.strings.get(i).filter(|s| s.start == start).cloned()
    };
    let mut out = Vec::new();
    for c in &lx.code {
        for i in c.clone() {
            if b[i] != b'=' {
                continue;
            }
            // The key.
            let mut k = i;
            while k > 0 && (b[k - 1] == b' ' || b[k - 1] == b'\t') {
                k -= 1;
            }
            let key = if k > 0 && b[k - 1] == b'"' {
                match string_ending_at(k - 1) {
                    Some(s) => s,
                    None => continue,
                }
            } else {
                let end = k;
                while k > 0 && (is_word(b[k - 1]) || b[k - 1] == b'-') {
                    k -= 1;
                }
                if k == end {
                    continue;
                }
                k..end
            };
            // The value.
            let mut v = i + 1;
            while v < b.len() && (b[v] == b' ' || b[v] == b'\t') {
                v += 1;
            }
            if v >= b.len() {
                continue;
            }
            let end = match b[v] {
                b'"' => match string_starting_at(v + 1) {
                    Some(s) => (s.end + 1).min(b.len()),
                    None => continue,
                },
                b'[' | b'{' => {
                    let mut depth = 0usize;
                    let mut j = v;
                    loop {
                        if j >= b.len() {
                            break b.len();
                        }
                        match b[j] {
                            b'[' | b'{' => depth += 1,
                            b']' | b'}' => {
                                depth -= 1;
                                if depth == 0 {
                                    break j + 1;
                                }
                            }
                            b'"' => {
                                if let Some(s) = string_starting_at(j + 1) {
                                    j = s.end;
                                }
                            }
                            b'#' => {
                                while j < b.len() && b[j] != b'\n' {
                                    j += 1;
                                }
                                continue;
                            }
                            _ => {}
                        }
                        j += 1;
                    }
                }
                _ => {
                    let mut j = v;
                    while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b'\n' | b'#') {
                        j += 1;
                    }
                    while j > v && b[j - 1].is_ascii_whitespace() {
                        j -= 1;
                    }
                    j
                }
            };
            if end > v {
                out.push(Pair { key, value: v..end });
            }
        }
    }
    out
}

/// String values of the keys that take a distribution.
fn dist_strings(t: &str, lx: &Lex) -> Vec<Range<usize>> {
    pairs(t, lx)
        .into_iter()
        .filter(|p| {
            matches!(&t[p.key.clone()], "cpu" | "db_cpu" | "db_wait" | "rtt" | "think")
                && t.as_bytes()[p.value.start] == b'"'
                && p.value.len() >= 2
        })
        .map(|p| p.value.start + 1..p.value.end - 1)
        .collect()
}

/// Byte offsets where each line starts (always a character boundary).
fn line_starts(t: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(t.match_indices('\n').map(|(i, _)| i + 1))
        .filter(|&i| i < t.len())
        .collect()
}

fn line_of(t: &str, at: usize) -> usize {
    t.as_bytes()[..at.min(t.len())].iter().filter(|&&c| c == b'\n').count() + 1
}

/// The lines of `t`, each ending in a newline.
fn lines(t: &str) -> Vec<String> {
    t.split_inclusive('\n')
        .map(|l| {
            if l.ends_with('\n') {
                l.to_string()
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

/// Table header lines (`[a.b]`, not `[[…]]`): the byte offset of the line.
fn headers(t: &str) -> Vec<usize> {
    line_starts(t)
        .into_iter()
        .filter(|&i| {
            let rest = &t[i..];
            rest.starts_with('[') && !rest.starts_with("[[")
        })
        .collect()
}

/// The end of the line starting at or containing `at` (after its newline).
fn end_of_line(t: &str, at: usize) -> usize {
    t[at..].find('\n').map_or(t.len(), |i| at + i + 1)
}

fn cut(s: &str, n: usize) -> String {
    let s = s.replace('\n', "\\n");
    if s.chars().count() <= n {
        s
    } else {
        format!(
            "{}… ({} chars)",
            s.chars().take(n).collect::<String>(),
            s.chars().count()
        )
    }
}

/// Endpoint names declared by `[app.endpoints.NAME]` headers.
fn endpoint_names(t: &str) -> Vec<String> {
    t.lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("[app.endpoints.")?
                .strip_suffix(']')
                .map(String::from)
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The mutation operators. Each changes `t` and says what it did, or returns
// `None` when the text offers it nothing to work on.

type OpFn = fn(&mut String, &mut Rng) -> Option<String>;

struct Op {
    name: &'static str,
    weight: u32,
    apply: OpFn,
    /// Applied at least this often over the whole loop.
    min_applied: usize,
}

const fn op(name: &'static str, weight: u32, apply: OpFn, min_applied: usize) -> Op {
    Op {
        name,
        weight,
        apply,
        min_applied,
    }
}

/// Name, weight (how often it is drawn), function, and how often it must
/// have been applied by the end.
const OPS: &[Op] = &[
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
];

/// The byte 0xE9 ('é' in Latin-1) is inserted into the bytes at the very
/// end (a `String` cannot hold it); this marker says where.
const LATIN1_MARKER: char = '\u{E000}';

/// Each value-replacing operator draws 70 % of the time from extremes that
/// are legal in many places (so that they reach the simulator), else from
/// all of them (most are for validation to turn down).
fn extreme<'a>(r: &mut Rng, legal: &[&'a str], all: &[&'a str]) -> &'a str {
    let from = if r.chance(0.7) { legal } else { all };
    from[r.below(from.len())]
}

const NUMBER_LEGAL: &[&str] = &["1", "0.5", "1e-14", "4294967296", "9223372036854775807"];
const NUMBER_EXTREMES: &[&str] = &[
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

const DURATION_LEGAL: &[&str] = &["1ns", "1us", "1m 30s", "100000h", "0s", "0", "0.4ns"];
const DURATION_EXTREMES: &[&str] = &[
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

const RATE_LEGAL: &[&str] = &["0/s", "1e9/min", "1e-300/s", "0.0001/h", "1e9/s"];
const RATE_EXTREMES: &[&str] = &[
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

fn number_extreme(t: &mut String, r: &mut Rng) -> Option<String> {
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

fn unit_extreme(t: &mut String, r: &mut Rng, units: &[&str], legal: &[&str], all: &[&str]) -> Option<String> {
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

fn duration_extreme(t: &mut String, r: &mut Rng) -> Option<String> {
    unit_extreme(t, r, DURATION_UNITS, DURATION_LEGAL, DURATION_EXTREMES)
}

fn rate_extreme(t: &mut String, r: &mut Rng) -> Option<String> {
    unit_extreme(t, r, RATE_UNITS, RATE_LEGAL, RATE_EXTREMES)
}

fn nested_mix(t: &mut String, r: &mut Rng) -> Option<String> {
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

fn huge_mix_weights(t: &mut String, r: &mut Rng) -> Option<String> {
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

fn duplicate_line(t: &mut String, r: &mut Rng) -> Option<String> {
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

fn delete_line(t: &mut String, r: &mut Rng) -> Option<String> {
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

fn swap_lines(t: &mut String, r: &mut Rng) -> Option<String> {
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
fn key_ranges(t: &str) -> Vec<Range<usize>> {
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

fn rename_key(t: &mut String, r: &mut Rng) -> Option<String> {
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

const TYPED_VALUES: &[(&str, &str)] = &[
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

fn kind_of(v: &str) -> &'static str {
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

fn change_type(t: &mut String, r: &mut Rng) -> Option<String> {
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

const UNKNOWN_KEYS: &[&str] = &[
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
const UNKNOWN_VALUES: &[&str] = &[
    "1",
    "\"x\"",
    "true",
    "[1]",
    "{ a = 1 }",
    "1979-05-27T07:32:00Z",
    "\"5ms\"",
];

fn unknown_key(t: &mut String, r: &mut Rng) -> Option<String> {
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

fn huge_string(t: &mut String, r: &mut Rng) -> Option<String> {
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

fn latin1_marker(t: &mut String, r: &mut Rng) -> Option<String> {
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

fn hostile_name(t: &mut String, r: &mut Rng) -> Option<String> {
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

fn empty_endpoint(t: &mut String, r: &mut Rng) -> Option<String> {
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

fn many_steps(t: &mut String, r: &mut Rng) -> Option<String> {
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

fn many_endpoints(t: &mut String, r: &mut Rng) -> Option<String> {
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
const COUNTS: &[(&str, u64)] = &[
    ("users", 1_000_000),
    ("max_children", 100_000),
    ("rows", 4_294_967_295),
    ("listen_backlog", 1_000_000),
    ("max_connections", 100_000),
    ("cores", 1_024),
];

fn huge_count(t: &mut String, r: &mut Rng) -> Option<String> {
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

fn slow_host(t: &mut String, r: &mut Rng) -> Option<String> {
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

fn hostile_era_label(t: &mut String, r: &mut Rng) -> Option<String> {
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

// ---------------------------------------------------------------------------
// Mutants.

struct Base {
    /// Path relative to the repository, e.g. `scenarios/theory/mm1.toml`.
    name: String,
    text: String,
    /// `--duration` for `lab run`: short, but at least one stats window.
    run_duration: &'static str,
}

struct Mutant {
    index: usize,
    base: usize,
    ops: Vec<&'static str>,
    details: Vec<String>,
    bytes: Vec<u8>,
}

impl Mutant {
    fn describe(&self, bases: &[Base]) -> String {
        let ops: Vec<String> = self
            .ops
            .iter()
            .zip(&self.details)
            .map(|(o, d)| format!("{o} ({d})"))
            .collect();
        format!(
            "mutant #{} of {}: {}",
            self.index,
            bases[self.base].name,
            ops.join("; ")
        )
    }
}

fn pick_op(r: &mut Rng) -> usize {
    let total: u32 = OPS.iter().map(|o| o.weight).sum();
    let mut x = r.below(total as usize) as u32;
    for (i, o) in OPS.iter().enumerate() {
        if x < o.weight {
            return i;
        }
        x -= o.weight;
    }
    unreachable!()
}

/// Mutant `index`: a function of `SEED` and `index` only.
fn mutant(bases: &[Base], index: usize) -> Mutant {
    let mut r = Rng::new(SEED, index as u64);
    let base = if r.chance(0.5) { 0 } else { 1 + r.below(bases.len() - 1) };
    let mut text = bases[base].text.clone();
    let n = match r.below(40) {
        0..=29 => 1,
        30..=36 => 2,
        _ => 3,
    };
    let (mut ops, mut details) = (Vec::new(), Vec::new());
    let mut tries = 0;
    while ops.len() < n && tries < 50 {
        tries += 1;
        let i = pick_op(&mut r);
        if let Some(d) = (OPS[i].apply)(&mut text, &mut r) {
            ops.push(OPS[i].name);
            details.push(d);
        }
    }
    // The Latin-1 byte goes in last, as bytes.
    let mut bytes = Vec::with_capacity(text.len());
    let mut buf = [0u8; 4];
    for c in text.chars() {
        if c == LATIN1_MARKER {
            bytes.push(0xE9);
        } else {
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    Mutant {
        index,
        base,
        ops,
        details,
        bytes,
    }
}

fn bases() -> Vec<Base> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut names = vec!["scenarios/flash-sale.toml".to_string()];
    let mut theory: Vec<String> = std::fs::read_dir(root.join("scenarios/theory"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .map(|n| format!("scenarios/theory/{n}"))
        .collect();
    theory.sort();
    assert!(theory.len() >= 3, "the theory scenarios: {theory:?}");
    names.extend(theory);
    names
        .into_iter()
        .map(|name| Base {
            text: std::fs::read_to_string(root.join(&name)).unwrap(),
            // flash-sale's windows are 1 s; the theory scenarios' 1 min.
            run_duration: if name.contains("theory/") { "3m" } else { "1s" },
            name,
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Running the binary.

struct Outcome {
    code: Option<i32>,
    signal: Option<i32>,
    timed_out: bool,
    elapsed: Duration,
    /// CPU time (user and system, every thread), sampled while it runs.
    cpu: Duration,
    stdout: String,
    stderr: String,
    stderr_bytes: usize,
    /// The highest resident set seen while polling (best effort), in KiB.
    peak_kib: u64,
}

/// `VmHWM` (the peak resident set so far) of a running process, in KiB.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time so far (user and system) of a running process.
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name in parentheses: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

fn capture(mut from: impl Read + Send + 'static) -> std::thread::JoinHandle<(Vec<u8>, usize)> {
    std::thread::spawn(move || {
        let (mut kept, mut total, mut buf) = (Vec::new(), 0usize, vec![0u8; 64 << 10]);
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    total += n;
                    if kept.len() < MAX_CAPTURE {
                        kept.extend_from_slice(&buf[..n.min(MAX_CAPTURE - kept.len())]);
                    }
                }
            }
        }
        (kept, total)
    })
}

/// Runs `lab ARGS` in `cwd`, killing it once it has used `timeout` of CPU
/// time or `WALL_FACTOR` times as long on the clock.
fn lab(args: &[&std::ffi::OsStr], cwd: &Path, timeout: Duration) -> Outcome {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start lab");
    let out = capture(child.stdout.take().unwrap());
    let err = capture(child.stderr.take().unwrap());
    let mut timed_out = false;
    let mut pause = Duration::from_millis(1);
    let mut peak = 0;
    let mut cpu = Duration::ZERO;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for lab") {
            break s;
        }
        peak = peak.max(peak_kib(child.id()).unwrap_or(0));
        cpu = cpu.max(cpu_time(child.id()).unwrap_or_default());
        if peak > KILL_RSS_KIB {
            let _ = child.kill();
            break child.wait().expect("wait for killed lab");
        }
        if cpu > timeout || started.elapsed() > timeout * WALL_FACTOR {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("wait for killed lab");
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    let (stdout, _) = out.join().unwrap();
    let (stderr, stderr_bytes) = err.join().unwrap();
    Outcome {
        code: status.code(),
        signal: status.signal(),
        timed_out,
        elapsed,
        cpu,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        stderr_bytes,
        peak_kib: peak,
    }
}

const SIGNALS: &[(i32, &str)] = &[
    (6, "SIGABRT (an abort: allocation failure or a Rust abort)"),
    (9, "SIGKILL (out of memory?)"),
    (11, "SIGSEGV (a stack overflow?)"),
    (7, "SIGBUS"),
    (8, "SIGFPE"),
    (4, "SIGILL"),
];

/// What is wrong with the way the process ended and what it printed on
/// stderr, whatever its exit code.
fn process_problems(o: &Outcome, timeout: Duration) -> Vec<String> {
    let mut out = Vec::new();
    if o.peak_kib > KILL_RSS_KIB {
        out.push(format!(
            "held more than {} MiB of memory and was killed by the test",
            KILL_RSS_KIB >> 10
        ));
    } else if o.peak_kib > MAX_RSS_KIB {
        out.push(format!(
            "held {} MiB of memory (peak resident set), more than {} MiB",
            o.peak_kib >> 10,
            MAX_RSS_KIB >> 10
        ));
    }
    if o.timed_out {
        out.push(format!(
            "did not finish within {} s of CPU time ({} s on the clock); killed after {:.1} s of CPU, {:.1} s on the clock",
            timeout.as_secs(),
            (timeout * WALL_FACTOR).as_secs(),
            o.cpu.as_secs_f64(),
            o.elapsed.as_secs_f64()
        ));
    } else if let Some(sig) = o.signal.filter(|_| o.peak_kib <= KILL_RSS_KIB) {
        let name = SIGNALS.iter().find(|(s, _)| *s == sig).map_or("", |(_, n)| n);
        out.push(format!("killed by signal {sig} {name}"));
    }
    for (n, line) in o.stderr.lines().enumerate() {
        let chars = line.chars().count();
        if chars >= MAX_LINE_CHARS {
            out.push(format!(
                "stderr line {} has {chars} characters: {}",
                n + 1,
                cut(line, 120)
            ));
            break;
        }
    }
    let b = o.stderr.as_bytes();
    if let Some(i) = (0..b.len().saturating_sub(3)).find(|&i| &b[i..i + 3] == b"Raw" && b[i + 3].is_ascii_uppercase()) {
        out.push(format!("stderr shows a Rust type name: {}", cut(&o.stderr[i..], 60)));
    }
    for bad in [
        "struct ",
        "panicked",
        "RUST_BACKTRACE",
        "Field<",
        "Option<",
        "Vec<",
        "Some(",
        "thread '",
        "stack overflow",
        "memory allocation of",
    ] {
        if let Some(i) = o.stderr.find(bad) {
            let from = o.stderr[..i].char_indices().rev().nth(40).map_or(0, |(j, _)| j);
            out.push(format!("stderr contains {bad:?}: {}", cut(&o.stderr[from..], 160)));
        }
    }
    out
}

/// Every entry under `dir`, as paths relative to it.
fn tree(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            out.insert(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            if p.is_dir() && !p.is_symlink() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

// ---------------------------------------------------------------------------
// Bookkeeping.

#[derive(Default, Clone)]
struct Counts {
    applied: usize,
    check_ok: usize,
    check_rejected: usize,
    check_failed: usize,
    runs: usize,
    run_ok: usize,
    run_1: usize,
    run_2: usize,
    run_failed: usize,
}

struct Failure {
    index: usize,
    phase: &'static str,
    description: String,
    problems: Vec<String>,
    command: String,
    stderr: String,
    saved: PathBuf,
}

fn failures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/mutation-failures")
}

fn record_failure(
    m: &Mutant,
    bases: &[Base],
    phase: &'static str,
    command: String,
    problems: Vec<String>,
    o: &Outcome,
) -> Failure {
    let dir = failures_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let saved = dir.join(format!("{phase}-{:05}.toml", m.index));
    std::fs::write(&saved, &m.bytes).unwrap();
    let description = m.describe(bases);
    let report = format!(
        "{description}\ncommand: {command}\nexit code: {:?}, signal: {:?}, timed out: {}, {:.2} s ({:.2} s of CPU), peak {} MiB\nproblems:\n  {}\nstderr ({} bytes):\n{}\n",
        o.code,
        o.signal,
        o.timed_out,
        o.elapsed.as_secs_f64(),
        o.cpu.as_secs_f64(),
        o.peak_kib >> 10,
        problems.join("\n  "),
        o.stderr_bytes,
        cut(&o.stderr, 4_000).replace("\\n", "\n"),
    );
    std::fs::write(saved.with_extension("txt"), report).unwrap();
    Failure {
        index: m.index,
        phase,
        description,
        problems,
        command,
        stderr: o.stderr.clone(),
        saved,
    }
}

/// Runs `work(i)` for every `i` in `items` on `threads` threads.
fn parallel<T: Send>(items: &[usize], threads: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= items.len() {
                        break;
                    }
                    let r = work(items[k]);
                    results.lock().unwrap()[k] = Some(r);
                }
            });
        }
    });
    results.into_inner().unwrap().into_iter().map(Option::unwrap).collect()
}

/// The message of a rejection with the file, line and column taken off and
/// numbers blurred: how many different ways mutants were turned down.
fn message_kind(line: &str) -> String {
    let line = line.strip_prefix("error: ").unwrap_or(line);
    let msg = match line.find(".toml:") {
        Some(i) => {
            let rest = &line[i + ".toml:".len()..];
            // line:col: key: message
            rest.splitn(3, ':').nth(2).unwrap_or(rest).trim_start()
        }
        None => line,
    };
    let mut out = String::new();
    let mut last_digit = false;
    for c in msg.chars().take(48) {
        if c.is_ascii_digit() {
            if !last_digit {
                out.push('#');
            }
            last_digit = true;
        } else {
            out.push(c);
            last_digit = false;
        }
    }
    out
}

// ---------------------------------------------------------------------------

#[test]
fn hostile_mutants_of_the_shipped_scenarios() {
    let started = Instant::now();
    let bases = bases();
    let _ = std::fs::remove_dir_all(failures_dir());
    let root = tempfile::Builder::new().prefix("lab-mutations-").tempdir().unwrap();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(4);

    // -- Phase 1: `lab check` on every mutant.
    struct Checked {
        log: String,
        ops: Vec<&'static str>,
        code: Option<i32>,
        elapsed: Duration,
        cpu: Duration,
        peak_kib: u64,
        kinds: Vec<String>,
        stderr_bytes: usize,
        size: usize,
        failure: Option<Failure>,
    }
    let indices: Vec<usize> = (0..MUTANTS).collect();
    let checked = parallel(&indices, threads, |i| {
        let m = mutant(&bases, i);
        let dir = root.path().join(format!("check-{i:05}"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("mutant.toml"), &m.bytes).unwrap();
        let o = lab(&["check".as_ref(), "mutant.toml".as_ref()], &dir, CHECK_TIMEOUT);
        let mut problems = process_problems(&o, CHECK_TIMEOUT);
        if !o.timed_out && o.signal.is_none() {
            match o.code {
                Some(0) => {
                    if !o.stdout.contains("mutant.toml: ok") {
                        problems.push(format!(
                            "exit 0 without \"mutant.toml: ok\" on stdout: {}",
                            cut(&o.stdout, 200)
                        ));
                    }
                }
                Some(1) => {
                    if o.stderr.trim().is_empty() {
                        problems.push("exit 1 with nothing on stderr".into());
                    } else if !o.stderr.contains("mutant.toml") {
                        problems.push("the error does not name the file".into());
                    }
                }
                c => problems.push(format!("exit code {c:?}, expected 0 or 1")),
            }
        }
        let after = tree(&dir);
        if after != BTreeSet::from(["mutant.toml".to_string()]) {
            problems.push(format!("lab check wrote files: {after:?}"));
        }
        let failure = (!problems.is_empty())
            .then(|| record_failure(&m, &bases, "check", "lab check mutant.toml".into(), problems, &o));
        let _ = std::fs::remove_dir_all(&dir);
        let log = format!(
            "check\t{i}\t{}\t{:?}\t{:.3}\t{:.2}\t{}\t{}\t{}\t{}",
            bases[m.base].name,
            o.code,
            o.elapsed.as_secs_f64(),
            o.cpu.as_secs_f64(),
            o.peak_kib,
            m.bytes.len(),
            m.describe(&bases),
            cut(o.stderr.lines().next().unwrap_or(""), 160)
        );
        Checked {
            log,
            ops: m.ops.clone(),
            code: if failure.is_some() { None } else { o.code },
            elapsed: o.elapsed,
            cpu: o.cpu,
            peak_kib: o.peak_kib,
            kinds: if o.code == Some(1) {
                o.stderr
                    .lines()
                    .filter(|l| l.contains(".toml:"))
                    .map(message_kind)
                    .collect()
            } else {
                Vec::new()
            },
            stderr_bytes: o.stderr_bytes,
            size: m.bytes.len(),
            failure,
        }
    });
    let check_time = started.elapsed();

    let mut counts: BTreeMap<&'static str, Counts> = OPS.iter().map(|o| (o.name, Counts::default())).collect();
    let mut failures: Vec<Failure> = Vec::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let (mut accepted, mut rejected) = (Vec::new(), 0usize);
    let mut slowest_check = (Duration::ZERO, 0usize, Duration::ZERO);
    let mut hungriest_check = (0u64, 0usize);
    let (mut biggest_stderr, mut biggest_file) = ((0usize, 0usize), 0usize);
    let mut ops_per_mutant = [0usize; 4];
    let mut log = String::new();
    for (i, c) in checked.into_iter().enumerate() {
        log.push_str(&c.log);
        log.push('\n');
        ops_per_mutant[c.ops.len().min(3)] += 1;
        let distinct: BTreeSet<_> = c.ops.iter().copied().collect();
        for op in &c.ops {
            counts.get_mut(op).unwrap().applied += 1;
        }
        for op in &distinct {
            let k = counts.get_mut(op).unwrap();
            match (&c.failure, c.code) {
                (Some(_), _) => k.check_failed += 1,
                (None, Some(0)) => k.check_ok += 1,
                _ => k.check_rejected += 1,
            }
        }
        if c.cpu > slowest_check.0 {
            slowest_check = (c.cpu, i, c.elapsed);
        }
        if c.peak_kib > hungriest_check.0 {
            hungriest_check = (c.peak_kib, i);
        }
        if c.stderr_bytes > biggest_stderr.0 {
            biggest_stderr = (c.stderr_bytes, i);
        }
        biggest_file = biggest_file.max(c.size);
        for k in c.kinds {
            *kinds.entry(k).or_default() += 1;
        }
        match (c.failure, c.code) {
            (Some(f), _) => failures.push(f),
            (None, Some(0)) => accepted.push((i, distinct)),
            _ => rejected += 1,
        }
    }

    // -- Phase 2: `lab run` on a stratified subset of the accepted mutants:
    // round robin over the operators, each taking its next accepted mutant
    // not yet chosen, so every operator that yields accepted mutants is run.
    let mut chosen = BTreeSet::new();
    let mut queues: Vec<Vec<usize>> = OPS
        .iter()
        .map(|o| {
            accepted
                .iter()
                .filter(|(_, ops)| ops.contains(o.name))
                .map(|(i, _)| *i)
                .rev()
                .collect()
        })
        .collect();
    while chosen.len() < MAX_RUNS.min(accepted.len()) {
        let mut progressed = false;
        for q in queues.iter_mut() {
            while let Some(i) = q.pop() {
                if chosen.insert(i) {
                    progressed = true;
                    break;
                }
            }
            if chosen.len() >= MAX_RUNS {
                break;
            }
        }
        if !progressed {
            break;
        }
    }
    let chosen: Vec<usize> = chosen.into_iter().collect();
    struct Ran {
        log: String,
        ops: Vec<&'static str>,
        code: Option<i32>,
        elapsed: Duration,
        cpu: Duration,
        peak_kib: u64,
        reason: Option<String>,
        failure: Option<Failure>,
    }
    let run_started = Instant::now();
    let ran = parallel(&chosen, threads, |i| {
        let m = mutant(&bases, i);
        // The parent this run may touch only through the files we make.
        let parent = root.path().join(format!("run-{i:05}"));
        let cwd = parent.join("cwd");
        std::fs::create_dir_all(&cwd).unwrap();
        let file = parent.join("mutant.toml");
        std::fs::write(&file, &m.bytes).unwrap();
        let out = parent.join("out");
        let duration = bases[m.base].run_duration;
        let args: Vec<&std::ffi::OsStr> = vec![
            "run".as_ref(),
            file.as_os_str(),
            "--duration".as_ref(),
            duration.as_ref(),
            "-q".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ];
        let command = format!("lab run mutant.toml --duration {duration} -q --out DIR");
        let o = lab(&args, &cwd, RUN_TIMEOUT);
        let mut problems = process_problems(&o, RUN_TIMEOUT);
        let mut reason = None;
        let expected: BTreeSet<String> = ["mutant.toml", "cwd", "out"].iter().map(|s| s.to_string()).collect();
        let top: BTreeSet<String> = tree(&parent).into_iter().filter(|p| !p.contains('/')).collect();
        if !top.is_subset(&expected) {
            problems.push(format!(
                "lab run wrote outside --out: {:?}",
                top.difference(&expected).collect::<Vec<_>>()
            ));
        }
        let in_cwd = tree(&cwd);
        if !in_cwd.is_empty() {
            problems.push(format!("lab run wrote into its working directory: {in_cwd:?}"));
        }
        if !o.timed_out && o.signal.is_none() {
            match o.code {
                Some(0) => {
                    for f in ["index.html", "summary.json"] {
                        if !std::fs::metadata(out.join(f)).is_ok_and(|m| m.len() > 0) {
                            problems.push(format!("exit 0 but {f} is missing or empty"));
                        }
                    }
                    if let Ok(s) = std::fs::read_to_string(out.join("summary.json"))
                        && serde_json::from_str::<serde_json::Value>(&s).is_err()
                    {
                        problems.push("summary.json is not JSON".into());
                    }
                    if !o.stdout.is_empty() {
                        problems.push(format!("-q printed on stdout: {}", cut(&o.stdout, 200)));
                    }
                }
                Some(code @ (1 | 2)) => {
                    let first = o.stderr.lines().next().unwrap_or("");
                    if !first.starts_with("error: ") || first.len() < 20 {
                        problems.push(format!(
                            "exit {code} without a clear reason on stderr: {}",
                            cut(&o.stderr, 200)
                        ));
                    }
                    if code == 2 && !o.stderr.contains("--duration") {
                        problems.push("exit 2 for a scenario `lab check` accepted, not about --duration".into());
                    }
                    if o.stderr.lines().count() > 1 && code == 2 {
                        problems.push("the --duration refusal takes more than one line".into());
                    }
                    reason = Some(cut(first, 200));
                }
                c => problems.push(format!("exit code {c:?}, expected 0, 1 or 2")),
            }
        }
        let failure = (!problems.is_empty()).then(|| record_failure(&m, &bases, "run", command, problems, &o));
        let _ = std::fs::remove_dir_all(&parent);
        let log = format!(
            "run\t{i}\t{}\t{:?}\t{:.3}\t{:.2}\t{}\t{}\t{}\t{}",
            bases[m.base].name,
            o.code,
            o.elapsed.as_secs_f64(),
            o.cpu.as_secs_f64(),
            o.peak_kib,
            m.bytes.len(),
            m.describe(&bases),
            cut(o.stderr.lines().next().unwrap_or(""), 160)
        );
        Ran {
            log,
            ops: m.ops.clone(),
            code: o.code,
            elapsed: o.elapsed,
            cpu: o.cpu,
            peak_kib: o.peak_kib,
            reason,
            failure,
        }
    });
    let run_time = run_started.elapsed();

    let mut simulated = 0usize;
    let mut slowest_run = (Duration::ZERO, 0usize, Duration::ZERO);
    let mut hungriest_run = (0u64, 0usize);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for (k, r) in ran.into_iter().enumerate() {
        log.push_str(&r.log);
        log.push('\n');
        let distinct: BTreeSet<_> = r.ops.iter().copied().collect();
        for op in &distinct {
            let c = counts.get_mut(op).unwrap();
            c.runs += 1;
            match (&r.failure, r.code) {
                (Some(_), _) => c.run_failed += 1,
                (None, Some(0)) => c.run_ok += 1,
                (None, Some(1)) => c.run_1 += 1,
                _ => c.run_2 += 1,
            }
        }
        if r.code == Some(0) || r.failure.is_some() {
            simulated += 1;
        }
        if r.cpu > slowest_run.0 {
            slowest_run = (r.cpu, chosen[k], r.elapsed);
        }
        if r.peak_kib > hungriest_run.0 {
            hungriest_run = (r.peak_kib, chosen[k]);
        }
        if let Some(reason) = r.reason {
            *reasons.entry(message_kind(&reason)).or_default() += 1;
        }
        if let Some(f) = r.failure {
            failures.push(f);
        }
    }

    // LAB_MUTATIONS_LOG=FILE keeps one line per check and run, for a closer look.
    if let Some(path) = std::env::var_os("LAB_MUTATIONS_LOG") {
        std::fs::write(path, &log).unwrap();
    }

    // -- The summary.
    let mut table = String::from(
        "operator              applied  check:ok  rejected  FAILED   run:runs  ok  exit1  exit2  FAILED\n",
    );
    for o in OPS {
        let c = &counts[o.name];
        table.push_str(&format!(
            "{:<20} {:>8} {:>9} {:>9} {:>7} {:>10} {:>3} {:>6} {:>6} {:>7}\n",
            o.name,
            c.applied,
            c.check_ok,
            c.check_rejected,
            c.check_failed,
            c.runs,
            c.run_ok,
            c.run_1,
            c.run_2,
            c.run_failed
        ));
    }
    let check_failures = failures.iter().filter(|f| f.phase == "check").count();
    eprintln!(
        "\n== hostile mutants (seed {SEED:#x}): outcomes per operator (a mutant counts once per operator it used)\n{table}"
    );
    eprintln!(
        "mutants: {MUTANTS} ({} with 1 operator, {} with 2, {} with 3); check: {} accepted ({:.1} %), {rejected} rejected, {check_failures} failed; in {:.1} s, slowest #{} {:.2} s of CPU ({:.2} s on the clock); biggest file {} bytes; most stderr #{} {} bytes",
        ops_per_mutant[1],
        ops_per_mutant[2],
        ops_per_mutant[3],
        accepted.len(),
        100.0 * accepted.len() as f64 / MUTANTS as f64,
        check_time.as_secs_f64(),
        slowest_check.1,
        slowest_check.0.as_secs_f64(),
        slowest_check.2.as_secs_f64(),
        biggest_file,
        biggest_stderr.1,
        biggest_stderr.0,
    );
    eprintln!(
        "runs: {} of the accepted, {simulated} simulated (exit 0 or failed), in {:.1} s, slowest #{} {:.2} s of CPU ({:.2} s on the clock)",
        chosen.len(),
        run_time.as_secs_f64(),
        slowest_run.1,
        slowest_run.0.as_secs_f64(),
        slowest_run.2.as_secs_f64()
    );
    eprintln!(
        "peak memory seen: check #{} {} MiB, run #{} {} MiB",
        hungriest_check.1,
        hungriest_check.0 >> 10,
        hungriest_run.1,
        hungriest_run.0 >> 10
    );
    eprintln!("{} distinct rejection messages; the most frequent:", kinds.len());
    let mut by_count: Vec<_> = kinds.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (k, n) in by_count.iter().take(12) {
        eprintln!("  {n:>5}  {k}");
    }
    if !reasons.is_empty() {
        eprintln!("run refusals:");
        for (k, n) in &reasons {
            eprintln!("  {n:>5}  {k}");
        }
    }
    eprintln!("total {:.1} s", started.elapsed().as_secs_f64());

    // -- Nothing outside the per-mutant folders, which are all gone.
    let left = tree(root.path());
    let mut problems: Vec<String> = Vec::new();
    if !left.is_empty() {
        problems.push(format!("files left in the test's parent folder: {left:?}"));
    }

    // -- Failures: each with its operators and where the mutant is saved.
    if !failures.is_empty() {
        failures.sort_by_key(|f| (f.phase, f.index));
        let mut text = format!(
            "{} mutants failed ({} in check, {} in run); saved in {}\n",
            failures.len(),
            check_failures,
            failures.len() - check_failures,
            failures_dir().display()
        );
        for f in &failures {
            text.push_str(&format!(
                "\n- {} [{}] {}\n    {}\n    saved: {}\n    stderr: {}\n",
                f.description,
                f.phase,
                f.command,
                f.problems.join("\n    "),
                f.saved.display(),
                cut(f.stderr.lines().next().unwrap_or(""), 200)
            ));
        }
        problems.push(text);
    }

    // -- Coverage: the loop must have tried what it claims to try.
    let share = accepted.len() as f64 / MUTANTS as f64;
    if share < 0.25 {
        problems.push(format!(
            "only {:.1} % of mutants were accepted by check; at least 25 % must be",
            share * 100.0
        ));
    }
    if simulated < MIN_RUNS {
        problems.push(format!(
            "only {simulated} mutants were simulated; at least {MIN_RUNS} must be"
        ));
    }
    if kinds.len() < 200 {
        problems.push(format!(
            "only {} distinct rejection messages; the operators reach too little",
            kinds.len()
        ));
    }
    for o in OPS {
        let c = &counts[o.name];
        if c.applied < o.min_applied {
            problems.push(format!(
                "{} was applied {} times, at least {} expected",
                o.name, c.applied, o.min_applied
            ));
        }
        if c.check_rejected + c.check_failed == 0 {
            problems.push(format!("{} never produced a mutant that check turns down", o.name));
        }
    }
    // These operators must also reach the simulator, not only validation.
    for name in [
        "number_extreme",
        "duration_extreme",
        "rate_extreme",
        "nested_mix",
        "huge_mix_weights",
        "delete_line",
        "swap_lines",
        "huge_count",
        "slow_host",
        "many_steps",
        "many_endpoints",
        "hostile_era_label",
    ] {
        let c = &counts[name];
        if c.check_ok == 0 || c.run_ok + c.run_failed == 0 {
            problems.push(format!(
                "{name}: {} mutants accepted, {} simulated; it must reach the simulator",
                c.check_ok,
                c.run_ok + c.run_failed
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
