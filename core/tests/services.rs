//! Validation of services, their operations and the steps that call them.

mod support;

use std::path::Path;

use lab_core::scenario;
use support::*;

const SERVICES: &str = "[app.services.catalog.ops.list]\nsteps = [{ cpu = \"2ms\" }, { call = \"reviews.top\" }]\n[app.services.reviews.ops.top]\nsteps = [{ query = \"top\", db_cpu = \"1ms\" }]\n";

#[test]
fn calls_name_declared_operations_in_any_order() {
    let ok = ok_doc().replace("{ cpu = \"5ms\" }", "{ call = \"catalog.list\" }") + SERVICES;
    let s = scenario::parse(&ok, Path::new(FILE)).unwrap();
    assert_eq!(s.app.services.len(), 2);
    // cpu, query, query, and the two calls, which count as steps.
    assert_eq!(s.app.program_len(0), 5);
    let unknown = ok_doc().replace("{ cpu = \"5ms\" }", "{ call = \"catalog.lst\" }") + SERVICES;
    rejects(
        &unknown,
        "app.endpoints.home.steps[0].call",
        "\"catalog.lst\"",
        "unknown operation \"catalog.lst\": a call names \"service.operation\", declared as [app.services.catalog.ops.lst]",
    );
}

#[test]
fn call_cycles_are_named() {
    let text = ok_doc().replace("{ cpu = \"5ms\" }", "{ call = \"a.x\" }")
        + "[app.services.a.ops.x]\nsteps = [{ call = \"b.y\" }]\n[app.services.b.ops.y]\nsteps = [{ cpu = \"1ms\" }, { call = \"a.x\" }]\n";
    rejects(
        &text,
        "app.services.b.ops.y.steps[1].call",
        "\"a.x\" }]\n",
        "calls go round in a circle: a.x → b.y → a.x",
    );
}

#[test]
fn programs_that_multiply_or_nest_too_deep_are_refused() {
    // Each level calls the one below twice: 2^20 steps for one request.
    let mut text = ok_doc().replace("{ cpu = \"5ms\" }", "{ call = \"s.l0\" }");
    for i in 0..20 {
        text += &format!(
            "[app.services.s.ops.l{i}]\nsteps = [{{ call = \"s.l{0}\" }}, {{ call = \"s.l{0}\" }}]\n",
            i + 1
        );
    }
    text += "[app.services.s.ops.l20]\nsteps = [{ cpu = \"1us\" }]\n";
    rejects(
        &text,
        "app.endpoints.home.steps",
        "[{ call",
        "runs 3145728 steps once its calls are counted out",
    );
    // A chain of operations: shallow to write, deep to run.
    let mut chain = ok_doc().replace("{ cpu = \"5ms\" }", "{ call = \"s.c0\" }");
    for i in 0..100 {
        chain += &format!("[app.services.s.ops.c{i}]\nsteps = [{{ call = \"s.c{}\" }}]\n", i + 1);
    }
    chain += "[app.services.s.ops.c100]\nsteps = [{ cpu = \"1us\" }]\n";
    rejects(
        &chain,
        "app.endpoints.home.steps",
        "[{ call",
        "nest 101 deep; at most 32",
    );
}

#[test]
fn parallel_takes_branches_of_steps() {
    let one = ok_doc().replace("{ cpu = \"5ms\" }", "{ parallel = [[{ cpu = \"1ms\" }]] }");
    rejects(
        &one,
        "app.endpoints.home.steps[0].parallel",
        "[[{ cpu",
        "parallel takes 2 to 100 branches",
    );
    let flat = ok_doc().replace(
        "{ cpu = \"5ms\" }",
        "{ parallel = [{ cpu = \"1ms\" }, { cpu = \"1ms\" }] }",
    );
    rejects(
        &flat,
        "app.endpoints.home.steps[0].parallel[0]",
        "{ cpu = \"1ms\" }, {",
        "expected an array of steps, found a table",
    );
    let lock = ok_doc().replace("{ cpu = \"5ms\" }", "{ call = \"catalog.list\", lock = \"x\" }") + SERVICES;
    rejects(
        &lock,
        "app.endpoints.home.steps[0].lock",
        "lock = \"x\"",
        "belongs to a query step",
    );
    let empty = ok_doc() + "[app.services.catalog]\n";
    rejects(
        &empty,
        "app.services.catalog",
        "[app.services.catalog]",
        "a service needs operations",
    );
}
