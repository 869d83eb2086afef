//! What the validation tests share: a valid scenario with replaceable
//! parts, and assertions on the problems reported.

#![allow(dead_code)]

use std::path::Path;

use lab_core::scenario::{self, Problem};

pub const FILE: &str = "shop.toml";

/// A valid scenario with one replaceable part per section.
pub fn doc(top: &str, traffic: &str, app: &str, eras: &str) -> String {
    format!(
        "duration = \"1m\"\n{top}\n[traffic]\n{traffic}\n[app.endpoints.home]\nsteps = [{{ cpu = \"5ms\" }}, {{ query = \"load\", db_cpu = \"1ms\" }}]\n{app}\n{eras}\n"
    )
}

pub fn ok_doc() -> String {
    doc("", "rate = \"10/s\"", "", "[eras.stone]")
}

pub fn problems(text: &str) -> Vec<Problem> {
    match scenario::parse(text, Path::new(FILE)) {
        Ok(_) => panic!("accepted a bad scenario:\n{text}"),
        Err(e) => {
            let shown = e.to_string();
            assert!(shown.contains(FILE), "the message names the file: {shown}");
            e.problems().to_vec()
        }
    }
}

/// Where `marker` first appears in `text`, as a 1-based line and column.
pub fn position_of(text: &str, marker: &str) -> (usize, usize) {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("marker {marker:?} not in\n{text}"));
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

/// Asserts a problem at `key`, positioned where `marker` starts, whose
/// message contains `says`.
#[track_caller]
pub fn rejects(text: &str, key: &str, marker: &str, says: &str) {
    let found = problems(text);
    let p = found
        .iter()
        .find(|p| p.key == key && p.message.contains(says))
        .or_else(|| found.iter().find(|p| p.key == key))
        .unwrap_or_else(|| panic!("no problem at key {key:?}; got {found:#?}"));
    assert_eq!(
        (p.line, p.column),
        position_of(text, marker),
        "position of {key}: {p:?}"
    );
    assert!(
        p.message.contains(says),
        "message for {key} should say {says:?}: {:?}",
        p.message
    );
}
