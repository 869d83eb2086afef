//! Positions in the scenario file: from a key path to a line and column, and
//! from a byte offset (serde's errors) back to the key path.
//!
//! The raw serde structs stay free of span wrappers; this second, lossless
//! parse by toml_edit is only consulted when something has to be reported.

use std::fmt;
use std::ops::Range;

use toml_edit::{Document, Item, Table, Value};

/// One step into the document: a table key or an array index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Where a value lives in the scenario, e.g. `eras.bronze.fpm.max_children`
/// or `traffic.profile[2].rate`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPath(Vec<Seg>);

impl KeyPath {
    pub fn root() -> KeyPath {
        KeyPath(Vec::new())
    }

    pub fn key(&self, k: &str) -> KeyPath {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_string()));
        p
    }

    pub fn index(&self, i: usize) -> KeyPath {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }

    pub fn segments(&self) -> &[Seg] {
        &self.0
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) => {
                    if i > 0 {
                        write!(f, ".")?;
                    }
                    if k.len() <= super::limits::MAX_ECHO_CHARS
                        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                        && !k.is_empty()
                    {
                        write!(f, "{k}")?;
                    } else {
                        // Quoted as TOML would, and cut when long, so that
                        // a hostile key cannot fill the terminal.
                        write!(f, "\"{}\"", super::limits::echo(&k.escape_debug().to_string()))?;
                    }
                }
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Answers position questions about one scenario text, each in time that
/// does not grow with the file: thousands of problems in a large file are
/// located in one pass over it.
pub struct Locator<'a> {
    text: &'a str,
    /// The lossless parse, made on the first question about a key: a file
    /// without problems never needs it, and it is several times the size
    /// of the text.
    doc: std::cell::OnceCell<Option<Document<&'a str>>>,
    /// Byte offset of each line's start.
    lines: Vec<usize>,
    /// Characters before each [`CHUNK`]-byte boundary, so that a column is
    /// counted over at most one chunk plus the line's first chunk.
    chars_before: Vec<usize>,
}

const CHUNK: usize = 4096;

/// A 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl<'a> Locator<'a> {
    pub fn new(text: &'a str) -> Locator<'a> {
        let bytes = text.as_bytes();
        let lines = std::iter::once(0)
            .chain(
                bytes
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| **b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        let mut chars_before = Vec::with_capacity(bytes.len() / CHUNK + 1);
        let mut n = 0;
        for chunk in bytes.chunks(CHUNK) {
            chars_before.push(n);
            n += chunk.iter().filter(|b| !is_continuation(**b)).count();
        }
        chars_before.push(n);
        Locator {
            text,
            doc: std::cell::OnceCell::new(),
            lines,
            chars_before,
        }
    }

    fn doc(&self) -> Option<&Document<&'a str>> {
        self.doc.get_or_init(|| Document::parse(self.text).ok()).as_ref()
    }

    /// Characters in `text[..offset]`.
    fn chars_to(&self, offset: usize) -> usize {
        let chunk = offset / CHUNK;
        let start = chunk * CHUNK;
        self.chars_before[chunk]
            + self.text.as_bytes()[start..offset]
                .iter()
                .filter(|b| !is_continuation(**b))
                .count()
    }

    /// The position of `offset` in the text.
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.lines.partition_point(|&s| s <= offset);
        let line_start = self.lines[line - 1];
        Position {
            line,
            column: self.chars_to(offset) - self.chars_to(line_start) + 1,
        }
    }

    /// Where the value at `path` is written; for a missing key, where its
    /// nearest written ancestor is.
    pub fn find(&self, path: &KeyPath) -> Position {
        let span = self.doc().and_then(|d| span_of(d.as_table(), path.segments()));
        self.position(span.map_or(0, |s| s.start))
    }

    /// Where the key at the end of `path` is written (for a problem with
    /// the key itself, such as an unknown one); else like [`Locator::find`].
    pub fn find_key(&self, path: &KeyPath) -> Position {
        let span = self.doc().and_then(|d| key_span(d.as_table(), path.segments()));
        match span {
            Some(s) => self.position(s.start),
            None => self.find(path),
        }
    }

    /// The key path of the innermost value that covers `offset`.
    pub fn path_at(&self, offset: usize) -> KeyPath {
        let mut path = KeyPath::root();
        if let Some(doc) = self.doc() {
            descend_table(doc.as_table(), offset, &mut path);
        }
        path
    }
}

/// A UTF-8 byte that continues a character rather than starting one.
fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

/// The span of the last key of `segs`, when every step is written.
fn key_span(table: &Table, segs: &[Seg]) -> Option<Range<usize>> {
    let (Seg::Key(k), rest) = segs.split_first()? else {
        return None;
    };
    let (key, item) = table.get_key_value(k)?;
    if rest.is_empty() {
        return key.span();
    }
    match (item, rest.first()?) {
        (Item::Table(t), _) => key_span(t, rest),
        (Item::ArrayOfTables(a), Seg::Index(i)) => key_span(a.get(*i)?, &rest[1..]),
        (Item::Value(v), _) => value_key_span(v, rest),
        _ => None,
    }
}

fn value_key_span(v: &Value, segs: &[Seg]) -> Option<Range<usize>> {
    match (v, segs.split_first()?) {
        (Value::InlineTable(t), (Seg::Key(k), rest)) => {
            let (key, inner) = t.get_key_value(k)?;
            if rest.is_empty() {
                return key.span();
            }
            match inner {
                Item::Value(v) => value_key_span(v, rest),
                _ => None,
            }
        }
        (Value::Array(a), (Seg::Index(i), rest)) => value_key_span(a.get(*i)?, rest),
        _ => None,
    }
}

fn contains(span: &Option<Range<usize>>, offset: usize) -> bool {
    span.as_ref()
        .is_some_and(|s| s.start <= offset && offset < s.end.max(s.start + 1))
}

/// Span of the deepest written element along `segs`.
fn span_of(table: &Table, segs: &[Seg]) -> Option<Range<usize>> {
    let Some((Seg::Key(k), rest)) = segs.split_first() else {
        return table.span();
    };
    match table.get_key_value(k) {
        Some((key, item)) => span_of_item(item, rest).or_else(|| key.span()),
        None => table.span(),
    }
}

fn span_of_item(item: &Item, segs: &[Seg]) -> Option<Range<usize>> {
    match (item, segs.first()) {
        (Item::Table(t), Some(_)) => span_of(t, segs).or_else(|| t.span()),
        (Item::Value(v), Some(_)) => span_of_value(v, segs),
        (Item::ArrayOfTables(a), Some(Seg::Index(i))) => match a.get(*i) {
            Some(t) => span_of(t, &segs[1..]).or_else(|| t.span()),
            None => a.span(),
        },
        _ => item.span(),
    }
}

fn span_of_value(v: &Value, segs: &[Seg]) -> Option<Range<usize>> {
    match (v, segs.split_first()) {
        (_, None) => v.span(),
        (Value::InlineTable(t), Some((Seg::Key(k), rest))) => match t.get_key_value(k) {
            Some((key, item)) => span_of_item(item, rest).or_else(|| key.span()),
            None => t.span(),
        },
        (Value::Array(a), Some((Seg::Index(i), rest))) => match a.get(*i) {
            Some(inner) => span_of_value(inner, rest),
            None => a.span(),
        },
        _ => v.span(),
    }
}

fn descend_table(table: &Table, offset: usize, path: &mut KeyPath) {
    for (k, item) in table.iter() {
        let key_span = table.get_key_value(k).and_then(|(key, _)| key.span());
        if contains(&key_span, offset) {
            *path = path.key(k);
            return;
        }
        let mut inner = path.key(k);
        if descend_item(item, offset, &mut inner) {
            *path = inner;
            return;
        }
    }
}

fn descend_item(item: &Item, offset: usize, path: &mut KeyPath) -> bool {
    match item {
        Item::Table(t) => {
            let before = path.clone();
            descend_table(t, offset, path);
            *path != before || contains(&t.span(), offset)
        }
        Item::ArrayOfTables(a) => {
            for (i, t) in a.iter().enumerate() {
                let mut inner = path.index(i);
                let before = inner.clone();
                descend_table(t, offset, &mut inner);
                if inner != before || contains(&t.span(), offset) {
                    *path = inner;
                    return true;
                }
            }
            false
        }
        Item::Value(v) => descend_value(v, offset, path),
        Item::None => false,
    }
}

fn descend_value(v: &Value, offset: usize, path: &mut KeyPath) -> bool {
    if !contains(&v.span(), offset) {
        return false;
    }
    match v {
        Value::InlineTable(t) => {
            for (k, inner) in t.iter() {
                let key_span = t.get_key_value(k).and_then(|(key, _)| key.span());
                let mut p = path.key(k);
                if contains(&key_span, offset) || descend_value(inner, offset, &mut p) {
                    *path = p;
                    return true;
                }
            }
        }
        Value::Array(a) => {
            for (i, inner) in a.iter().enumerate() {
                let mut p = path.index(i);
                if descend_value(inner, offset, &mut p) {
                    *path = p;
                    return true;
                }
            }
        }
        _ => {}
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "seed = 1\n[traffic]\nprofile = [\n  { at = \"0s\", rate = 5 },\n  { at = \"1s\", rate = -3 },\n]\n[eras.bronze.fpm]\nmax_children = 0\n";

    #[test]
    fn finds_values_by_path() {
        let loc = Locator::new(DOC);
        let p = KeyPath::root().key("eras").key("bronze").key("fpm").key("max_children");
        assert_eq!(loc.find(&p), Position { line: 8, column: 16 });
        let r = KeyPath::root().key("traffic").key("profile").index(1).key("rate");
        assert_eq!(loc.find(&r), Position { line: 5, column: 23 });
        assert_eq!(r.to_string(), "traffic.profile[1].rate");
    }

    #[test]
    fn missing_keys_point_at_their_table() {
        let loc = Locator::new(DOC);
        let p = KeyPath::root().key("eras").key("bronze").key("fpm").key("pm");
        assert_eq!(loc.find(&p).line, 7);
    }

    #[test]
    fn offsets_map_back_to_paths() {
        let loc = Locator::new(DOC);
        let off = DOC.find("-3").unwrap();
        assert_eq!(loc.path_at(off).to_string(), "traffic.profile[1].rate");
        let off = DOC.find("max_children").unwrap();
        assert_eq!(loc.path_at(off).to_string(), "eras.bronze.fpm.max_children");
    }

    #[test]
    fn odd_keys_are_quoted_and_long_ones_cut() {
        assert_eq!(KeyPath::root().key("a\"b\nc").to_string(), "\"a\\\"b\\nc\"");
        let long = KeyPath::root().key("app").key(&"k".repeat(300_000)).to_string();
        assert!(long.len() < 100, "{long}");
    }

    #[test]
    fn keys_are_found_where_they_are_written() {
        let loc = Locator::new(DOC);
        let p = KeyPath::root().key("eras").key("bronze").key("fpm").key("max_children");
        assert_eq!(loc.find_key(&p), Position { line: 8, column: 1 });
        let r = KeyPath::root().key("traffic").key("profile").index(1).key("rate");
        assert_eq!(loc.find_key(&r), Position { line: 5, column: 16 });
    }

    #[test]
    fn columns_count_characters_across_chunks() {
        // Multi-byte characters on a line that spans several chunks.
        let line = format!("x = \"{}\"\ny = 1\n", "é".repeat(5000));
        let loc = Locator::new(&line);
        let y = line.find("y =").unwrap();
        assert_eq!(loc.position(y), Position { line: 2, column: 1 });
        let end = line.find("\"\n").unwrap();
        assert_eq!(
            loc.position(end),
            Position {
                line: 1,
                column: 5 + 5000 + 1
            }
        );
        // An offset inside a character counts as that character.
        assert_eq!(loc.position(6), Position { line: 1, column: 6 });
    }
}
