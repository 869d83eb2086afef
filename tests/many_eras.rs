//! A scenario with many variants of one era: the comparison chart draws
//! the best few, named in its title, and the summary table keeps them all.

use std::path::Path;

use lab_reports::charts::{MAX_LINES, shown};

#[test]
fn the_comparison_draws_the_best_few_of_many_eras() {
    // Eight stone variants with 1 to 8 workers at a rate 4 workers serve:
    // the fewest workers fail most.
    let mut text = String::from(
        "duration = \"20s\"\n[traffic]\nrate = \"300/s\"\n[app.endpoints.home]\nsteps = [{ query = \"q\", db_wait = \"const(10ms)\" }]\n",
    );
    for w in 1..=8 {
        text.push_str(&format!(
            "[eras.w{w}]\nmodel = \"stone\"\nhost = {{ cores = 8 }}\nfpm = {{ pm = \"static\", max_children = {w}, listen_backlog = 8 }}\n"
        ));
    }
    let s = lab_core::scenario::parse(&text, Path::new("many.toml")).unwrap();
    let records: Vec<_> = s
        .eras
        .iter()
        .map(|e| lab_sim::run(&s, e, &mut |_| {}).unwrap().record)
        .collect();
    let picked: Vec<&str> = shown(&records).iter().map(|&i| records[i].meta.era.as_str()).collect();
    assert_eq!(picked.len(), MAX_LINES);
    assert!(!picked.contains(&"w1") && !picked.contains(&"w2"), "{picked:?}");
    let dir = tempfile::tempdir().unwrap();
    let report = lab_reports::write(&s, &records, dir.path()).unwrap();
    let svg = std::fs::read_to_string(dir.path().join("eras.svg")).unwrap();
    assert!(svg.contains("the 6 best of 8"));
    assert!(svg.contains("\nw8\n") && svg.contains("\nw3\n") && !svg.contains("\nw1\n"));
    assert_eq!(report.summary.eras.len(), 8);
}
