//! The seed corpus and the mutants drawn from it.

use super::*;

pub(crate) struct Base {
    /// Path relative to the repository, e.g. `scenarios/theory/mm1.toml`.
    pub(crate) name: String,
    pub(crate) text: String,
    /// `--duration` for `lab run`: short, but at least one stats window.
    pub(crate) run_duration: &'static str,
    /// How often a mutant starts from this base, relative to the others.
    weight: u32,
}

pub(crate) struct Mutant {
    pub(crate) index: usize,
    pub(crate) base: usize,
    pub(crate) ops: Vec<&'static str>,
    pub(crate) details: Vec<String>,
    pub(crate) bytes: Vec<u8>,
}

impl Mutant {
    pub(crate) fn describe(&self, bases: &[Base]) -> String {
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

    /// The keys its operators set, when every one of them sets a key
    /// ([`Op::sets_key`]): a rejection must name one of them.
    pub(crate) fn keys_set(&self) -> Option<Vec<String>> {
        let keyed = self
            .ops
            .iter()
            .all(|name| OPS.iter().any(|o| o.name == *name && o.sets_key));
        if !keyed || self.ops.is_empty() {
            return None;
        }
        Some(self.details.iter().map(|d| key_set_by(d).to_string()).collect())
    }
}

fn pick<T>(r: &mut Rng, items: &[T], weight: impl Fn(&T) -> u32) -> usize {
    let total: u32 = items.iter().map(&weight).sum();
    let mut x = r.below(total as usize) as u32;
    for (i, item) in items.iter().enumerate() {
        if x < weight(item) {
            return i;
        }
        x -= weight(item);
    }
    unreachable!()
}

/// Mutant `index`: a function of `SEED` and `index` only.
pub(crate) fn mutant(bases: &[Base], index: usize) -> Mutant {
    let mut r = Rng::new(SEED, index as u64);
    let base = pick(&mut r, bases, |b| b.weight);
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
        let i = pick(&mut r, OPS, |o| o.weight);
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

/// flash-sale (every era model), the silver scenarios with their
/// `[[faults]]`, checkout-rush (a mix per profile point), and the
/// queueing-theory ones.
pub(crate) fn bases() -> Vec<Base> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut names = vec![
        ("scenarios/flash-sale.toml".to_string(), 8),
        ("scenarios/lb-failover.toml".to_string(), 3),
        ("scenarios/web-node-crash.toml".to_string(), 3),
        ("scenarios/checkout-rush.toml".to_string(), 3),
    ];
    let mut theory: Vec<String> = std::fs::read_dir(root.join("scenarios/theory"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .map(|n| format!("scenarios/theory/{n}"))
        .collect();
    theory.sort();
    assert!(theory.len() >= 3, "the theory scenarios: {theory:?}");
    names.extend(theory.into_iter().map(|n| (n, 2)));
    names
        .into_iter()
        .map(|(name, weight)| Base {
            text: std::fs::read_to_string(root.join(&name)).unwrap(),
            // The theory scenarios' windows are 1 min, the others' 1 s; the
            // silver runs last long enough for a fault the operators put
            // early in the run to strike and end.
            run_duration: if name.contains("theory/") {
                "3m"
            } else if name.contains("flash-sale") {
                "1s"
            } else {
                "2s"
            },
            name,
            weight,
        })
        .collect()
}
