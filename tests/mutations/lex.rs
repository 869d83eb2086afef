//! A deterministic generator and a rough TOML lexer for the mutation test.

use super::*;

// ---------------------------------------------------------------------------
// A small deterministic generator (SplitMix64): the inputs do not depend on
// any crate's sampling algorithm.

pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next();
        r
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        assert!(n > 0);
        ((self.next() as u128 * n as u128) >> 64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    pub(crate) fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

// ---------------------------------------------------------------------------
// A rough TOML lexer: enough to find strings, numbers, keys and values in the
// shipped files and in their mutants. Every range it returns starts and ends
// next to an ASCII byte, so it is always on a character boundary.

pub(crate) struct Lex {
    /// Contents (without the quotes) of basic strings `"…"`.
    pub(crate) strings: Vec<Range<usize>>,
    /// Stretches outside strings and comments.
    pub(crate) code: Vec<Range<usize>>,
}

pub(crate) fn lex(t: &str) -> Lex {
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

pub(crate) fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Numbers (digits and dots) not glued to a word before them, inside
/// `within`.
pub(crate) fn numbers_in(t: &str, within: &Range<usize>, out: &mut Vec<Range<usize>>) {
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

pub(crate) fn all_numbers(t: &str, lx: &Lex) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    for r in lx.code.iter().chain(&lx.strings) {
        numbers_in(t, r, &mut out);
    }
    out
}

/// A number followed by one of `units` (and then no letter) inside a
/// string: the range covers number and unit.
pub(crate) fn unit_tokens(t: &str, lx: &Lex, units: &[&str]) -> Vec<Range<usize>> {
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

pub(crate) const DURATION_UNITS: &[&str] = &["min", "ns", "us", "µs", "ms", "s", "m", "h"];
pub(crate) const RATE_UNITS: &[&str] = &["/min", "/s", "/h"];

/// `key = value` pairs outside strings and comments: the key's range
/// (inside the quotes if quoted) and the value's (quotes and brackets
/// included).
pub(crate) struct Pair {
    pub(crate) key: Range<usize>,
    pub(crate) value: Range<usize>,
}

pub(crate) fn pairs(t: &str, lx: &Lex) -> Vec<Pair> {
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
pub(crate) fn dist_strings(t: &str, lx: &Lex) -> Vec<Range<usize>> {
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
pub(crate) fn line_starts(t: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(t.match_indices('\n').map(|(i, _)| i + 1))
        .filter(|&i| i < t.len())
        .collect()
}

pub(crate) fn line_of(t: &str, at: usize) -> usize {
    t.as_bytes()[..at.min(t.len())].iter().filter(|&&c| c == b'\n').count() + 1
}

/// The lines of `t`, each ending in a newline.
pub(crate) fn lines(t: &str) -> Vec<String> {
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
pub(crate) fn headers(t: &str) -> Vec<usize> {
    line_starts(t)
        .into_iter()
        .filter(|&i| {
            let rest = &t[i..];
            rest.starts_with('[') && !rest.starts_with("[[")
        })
        .collect()
}

/// The end of the line starting at or containing `at` (after its newline).
pub(crate) fn end_of_line(t: &str, at: usize) -> usize {
    t[at..].find('\n').map_or(t.len(), |i| at + i + 1)
}

pub(crate) fn cut(s: &str, n: usize) -> String {
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
pub(crate) fn endpoint_names(t: &str) -> Vec<String> {
    t.lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("[app.endpoints.")?
                .strip_suffix(']')
                .map(String::from)
        })
        .collect()
}
