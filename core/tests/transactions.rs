//! Validation of transactions: what they may hold and their commit settings.

mod support;

use std::path::Path;

use lab_core::scenario::{self, Dist, Step, Work};
use support::*;

/// The base document with its first step (`{ cpu = "5ms" }`) replaced.
fn with_step(step: &str) -> String {
    ok_doc().replace("{ cpu = \"5ms\" }", step)
}

const TXN: &str = "{ transaction = [{ query = \"reserve\", db_cpu = \"1ms\" }, { cpu = \"2ms\" }], commit_flush = \"exp(mean = 2ms)\" }";

#[test]
fn a_transaction_is_begin_its_steps_and_commit() {
    let s = scenario::parse(&with_step(TXN), Path::new(FILE)).unwrap();
    let Step::Transaction(t) = &s.app.endpoints[0].steps[0] else {
        panic!("{:?}", s.app.endpoints[0].steps[0])
    };
    assert_eq!(t.steps.len(), 2);
    assert_eq!(t.commit_flush, Dist::parse("exp(mean = 2ms)").unwrap());
    // BEGIN and COMMIT count as steps; the endpoint's own query follows.
    assert_eq!(s.app.program_len(0), 5);
    let program = s.app.monolith_program(0);
    assert!(matches!(program[0], Work::Begin));
    assert!(matches!(program[3], Work::Commit(_)));
    assert!(matches!(program[4], Work::Query(_)));
    // Without commit_flush, a flush takes 1 ms.
    let plain = with_step("{ transaction = [{ cpu = \"2ms\" }] }");
    let s = scenario::parse(&plain, Path::new(FILE)).unwrap();
    let Step::Transaction(t) = &s.app.endpoints[0].steps[0] else {
        panic!()
    };
    assert_eq!(t.commit_flush, Dist::constant(1_000_000));
}

#[test]
fn transactions_cannot_nest() {
    let text = with_step("{ transaction = [{ cpu = \"1ms\" }, { transaction = [{ cpu = \"2ms\" }] }] }");
    rejects(
        &text,
        "app.endpoints.home.steps[0].transaction[1].transaction",
        "transaction = [{ cpu = \"2ms\"",
        "a transaction cannot hold another: InnoDB has no nested transactions",
    );
}

#[test]
fn parallel_cannot_run_inside_a_transaction() {
    let text = with_step("{ transaction = [{ parallel = [[{ cpu = \"1ms\" }], [{ cpu = \"2ms\" }]] }] }");
    rejects(
        &text,
        "app.endpoints.home.steps[0].transaction[0].parallel",
        "parallel",
        "parallel cannot run inside a transaction",
    );
    // A transaction inside a parallel branch is allowed.
    let ok = with_step("{ parallel = [[{ transaction = [{ cpu = \"1ms\" }] }], [{ cpu = \"2ms\" }]] }");
    scenario::parse(&ok, Path::new(FILE)).unwrap();
}

#[test]
fn calls_inside_a_transaction_cannot_bring_one_or_parallel_in() {
    // Through a chain of calls: a.x calls b.y, which runs a transaction.
    let ops = "[app.services.a.ops.x]\nsteps = [{ cpu = \"1ms\" }, { call = \"b.y\" }]\n[app.services.b.ops.y]\nsteps = [{ transaction = [{ cpu = \"1ms\" }] }]\n[app.services.c.ops.z]\nsteps = [{ parallel = [[{ cpu = \"1ms\" }], [{ cpu = \"1ms\" }]] }]\n[app.services.d.ops.w]\nsteps = [{ query = \"q\", db_cpu = \"1ms\" }]\n";
    let nested = with_step("{ transaction = [{ call = \"a.x\" }] }") + ops;
    rejects(
        &nested,
        "app.endpoints.home.steps[0].transaction[0].call",
        "\"a.x\"",
        "this call inside a transaction runs a transaction of its own, and InnoDB has no nested transactions",
    );
    let parallel = with_step("{ transaction = [{ call = \"c.z\" }] }") + ops;
    rejects(
        &parallel,
        "app.endpoints.home.steps[0].transaction[0].call",
        "\"c.z\"",
        "runs a parallel step",
    );
    // An operation of plain steps joins the transaction, and the others
    // may be called outside one.
    let fine = with_step("{ transaction = [{ call = \"d.w\" }] }, { call = \"a.x\" }, { call = \"c.z\" }") + ops;
    let s = scenario::parse(&fine, Path::new(FILE)).unwrap();
    // BEGIN, d.w's query, COMMIT; a.x's CPU and b.y's transaction of one
    // step; c.z's two branches; the endpoint's query.
    assert_eq!(s.app.program_len(0), 3 + 4 + 2 + 1);
}

#[test]
fn commit_flush_belongs_to_transactions_and_is_a_distribution() {
    rejects(
        &with_step("{ cpu = \"1ms\", commit_flush = \"2ms\" }"),
        "app.endpoints.home.steps[0].commit_flush",
        "commit_flush",
        "\"commit_flush\" belongs to a transaction step",
    );
    rejects(
        &with_step("{ transaction = [{ cpu = \"1ms\" }], commit_flush = \"fast\" }"),
        "app.endpoints.home.steps[0].commit_flush",
        "\"fast\"",
        "fast",
    );
    rejects(
        &with_step("{ transaction = [{ cpu = \"1ms\" }], commit_flush = 5 }"),
        "app.endpoints.home.steps[0].commit_flush",
        "5 }",
        "expected a distribution",
    );
    // The inner steps are checked too, and both problems are reported.
    let both = problems(&with_step(
        "{ transaction = [{ cpu = \"-1ms\" }], commit_flush = \"lognormal(median = 4ms, p99 = 1ms)\" }",
    ));
    let keys: Vec<&str> = both.iter().map(|p| p.key.as_str()).collect();
    assert!(
        keys.contains(&"app.endpoints.home.steps[0].transaction[0].cpu")
            && keys.contains(&"app.endpoints.home.steps[0].commit_flush"),
        "{both:#?}"
    );
}

#[test]
fn a_transaction_holds_steps() {
    rejects(
        &with_step("{ transaction = [] }"),
        "app.endpoints.home.steps[0].transaction",
        "[] }",
        "at least one step is needed",
    );
    rejects(
        &with_step("{ transaction = \"reserve\" }"),
        "app.endpoints.home.steps[0].transaction",
        "\"reserve\"",
        "expected an array of steps",
    );
    rejects(
        &with_step("{ transaction = [{ cpu = \"1ms\" }], db_cpu = \"1ms\" }"),
        "app.endpoints.home.steps[0].db_cpu",
        "db_cpu",
        "belongs to a query step",
    );
    rejects(
        &with_step("{ transaction = [{ cpu = \"1ms\" }], cpu = \"1ms\" }"),
        "app.endpoints.home.steps[0]",
        "{ transaction",
        "this one says \"cpu\", \"transaction\"",
    );
    let too_many = format!("{{ transaction = [{}] }}", vec!["{ cpu = \"1us\" }"; 1_001].join(", "));
    rejects(
        &with_step(&too_many),
        "app.endpoints.home.steps[0].transaction",
        "[{ cpu = \"1us\"",
        "at most 1000 steps",
    );
}

#[test]
fn begin_and_commit_count_against_a_requests_steps() {
    // 10,000 steps through calls, plus BEGIN and COMMIT, plus the
    // endpoint's own query: 10,003, past the limit of 10,000.
    let mut text = with_step("{ transaction = [{ call = \"s.big\" }] }");
    text += &format!(
        "[app.services.s.ops.big]\nsteps = [{}]\n",
        vec!["{ call = \"s.ten\" }"; 1_000].join(", ")
    );
    text += &format!(
        "[app.services.s.ops.ten]\nsteps = [{}]\n",
        ["{ cpu = \"1us\" }"; 10].join(", ")
    );
    let s = scenario::parse(&text, Path::new(FILE));
    let e = s.expect_err("10,003 steps are too many");
    assert!(e.to_string().contains("runs 10003 steps"), "{e}");
}
