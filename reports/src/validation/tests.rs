use super::*;
use lab_core::record::{RecordBuilder, RecordMeta, Source, outcomes};

const S: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;

/// 30 one-second windows: 100/s for 15 s then 200/s; in each second `rate`
/// successes of `latency(t)` and `errors(t)` failures (502).
fn record(source: Source, latency: impl Fn(u64) -> u64, errors: impl Fn(u64) -> u64) -> Record {
    let mut b = RecordBuilder::new(RecordMeta {
        scenario: "v".into(),
        era: "bronze".into(),
        model: "bronze".into(),
        source,
        seed: 1,
        window: S,
        warmup: 0,
        duration: 30 * S,
        price_per_hour: 0.0,
    });
    let refused = b.add_outcome(outcomes::BACKLOG_FULL);
    let rate = |t: u64| if t < 15 { 100 } else { 200 };
    for t in 0..30 {
        for k in 0..rate(t) {
            let at = t * S + k * (S / rate(t));
            b.arrival(at);
            b.outcome(at + 1, OutcomeId::OK, latency(t));
        }
        for k in 0..errors(t) {
            let at = t * S + k;
            b.arrival(at);
            b.outcome(at + 1, refused, MS);
        }
    }
    b.finish(30 * S, 0, |a, _| if a < 15 * S { 100.0 } else { 200.0 })
}

#[test]
fn levels_are_the_constant_rate_stretches_after_settling() {
    let r = record(Source::Simulated, |_| 10 * MS, |_| 0);
    let l = levels(&r.windows, 0);
    assert_eq!(
        l,
        [
            Level {
                from: 2,
                to: 15,
                rate: 100.0
            },
            Level {
                from: 17,
                to: 30,
                rate: 200.0
            }
        ]
    );
    // The warm-up comes off the first level only.
    assert_eq!(levels(&r.windows, 5 * S)[0].from, 5);
}

#[test]
fn identical_records_pass_and_their_errors_are_zero() {
    let a = record(Source::Simulated, |_| 10 * MS, |_| 0);
    let b = record(Source::Measured, |_| 10 * MS, |_| 0);
    let v = compare(&a, &b, Bands::default());
    assert!(v.pass, "{}", render_table(&v));
    // Two levels × (throughput, p50, p95, p99, error rate); no disruption.
    assert_eq!(v.rows.len(), 10);
    assert!(v.rows.iter().all(|r| r.error.is_some_and(|e| e.abs() < 1e-9)));
}

#[test]
fn a_latency_off_by_more_than_its_band_fails_that_row_only() {
    let a = record(Source::Simulated, |_| 10 * MS, |_| 0);
    // 22 % slower in the second level: inside p99's 25 %, outside p50's 15 % and p95's 20 %.
    let b = record(Source::Measured, |t| if t < 15 { 10 * MS } else { 12_200_000 }, |_| 0);
    let v = compare(&a, &b, Bands::default());
    assert!(!v.pass);
    let failed: Vec<_> = v
        .rows
        .iter()
        .filter(|r| !r.pass)
        .map(|r| (r.level.as_str(), r.metric))
        .collect();
    assert_eq!(failed, [("200/s", "p50"), ("200/s", "p95")]);
    let p50 = v.rows.iter().find(|r| r.level == "200/s" && r.metric == "p50").unwrap();
    assert!((p50.error.unwrap() - 0.22).abs() < 0.01, "{p50:?}");
}

#[test]
fn a_longer_disruption_fails_by_its_seconds() {
    // Three seconds of 502s in the simulation, five for real.
    let a = record(
        Source::Simulated,
        |_| 10 * MS,
        |t| if (20..23).contains(&t) { 50 } else { 0 },
    );
    let b = record(
        Source::Measured,
        |_| 10 * MS,
        |t| if (20..25).contains(&t) { 50 } else { 0 },
    );
    assert_eq!(disruption(&a), 3.0);
    assert_eq!(disruption(&b), 5.0);
    let v = compare(&a, &b, Bands::default());
    let d = v.rows.iter().find(|r| r.metric == "disruption").unwrap();
    assert_eq!((d.error, d.pass), (Some(2.0), false));
    // 150 against 250 failures beside the level's 2,600 successes: 5.5 %
    // against 8.8 %, 3.3 points apart, outside the 1-point band.
    let e = v
        .rows
        .iter()
        .find(|r| r.level == "200/s" && r.metric == "error rate")
        .unwrap();
    assert!(!e.pass && (e.error.unwrap() - 3.32).abs() < 0.01, "{e:?}");
    // Slow answers alone are not a disruption.
    let slow = record(Source::Measured, |t| if t == 7 { 2 * S } else { 10 * MS }, |_| 0);
    assert_eq!(disruption(&slow), 0.0);
}

#[test]
fn each_fault_is_judged_by_the_disruption_that_follows_it() {
    use lab_core::scenario::{Fault, FaultKind};
    // Simulated: 3 s of errors after the strike at 20 s, nothing at the heal.
    // Measured: 2 s after the strike, 4 s after the heal at 25 s.
    let a = record(
        Source::Simulated,
        |_| 10 * MS,
        |t| if (20..23).contains(&t) { 500 } else { 0 },
    );
    let b = record(
        Source::Measured,
        |_| 10 * MS,
        |t| {
            if (20..22).contains(&t) || (26..30).contains(&t) {
                500
            } else {
                0
            }
        },
    );
    assert_eq!((disruption_after(&a, 20 * S), disruption_after(&b, 20 * S)), (3.0, 2.0));
    assert_eq!((disruption_after(&a, 25 * S), disruption_after(&b, 25 * S)), (0.0, 4.0));
    // Nothing begins within reach of a moment far from both.
    assert_eq!(disruption_after(&b, 5 * S), 0.0);
    let isolate = Fault {
        at: 20 * S,
        until: Some(25 * S),
        kind: FaultKind::Isolate,
        target: "lb.master".into(),
    };
    let rows = fault_rows(&a, &b, Bands::default(), &[isolate]);
    let got: Vec<_> = rows.iter().map(|r| (r.level.as_str(), r.error, r.pass)).collect();
    assert_eq!(
        got,
        [
            ("isolate lb.master at 20s", Some(-1.0), true),
            ("isolate lb.master healed at 25s", Some(4.0), false),
        ]
    );
}

#[test]
fn a_gap_with_nothing_answered_is_a_disruption() {
    let mut r = record(Source::Measured, |_| 10 * MS, |_| 0);
    // Seconds 10 and 11: requests offered, none answered, none failed yet.
    for t in [10, 11] {
        let w = &mut r.windows[t];
        w.outcomes = lab_core::record::OutcomeCounts::zeroed(w.outcomes.len());
    }
    assert_eq!(disruption(&r), 2.0);
}

#[test]
fn the_table_and_the_page_say_each_verdict() {
    let a = record(Source::Simulated, |_| 10 * MS, |_| 0);
    let b = record(Source::Measured, |_| 20 * MS, |_| 0);
    let v = compare(&a, &b, Bands::default());
    let t = render_table(&v);
    assert!(t.contains("FAIL") && t.contains("+100.0 % (±15 %)"), "{t}");
    let h = html(&v);
    assert!(
        h.contains("<span class=\"fail\">fail</span>") && h.contains("100/s"),
        "{h}"
    );
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["pass"], false);
    assert_eq!(json["rows"][0]["metric"], "throughput");
}
