//! Validation of the gold era's keys: the front (silver's), `rpc` and the
//! services' placements, and faults on a service's hosts.

mod support;

use std::path::Path;

use lab_core::scenario::{self, Architecture};
use lab_core::topology::NodeKind;
use support::*;

const SERVICES: &str = "[app.services.cart.ops.add]\nsteps = [{ cpu = \"1ms\" }]\n[app.services.catalog.ops.list]\nsteps = [{ cpu = \"1ms\" }]\n";

fn gold(keys: &str) -> String {
    doc("", "rate = \"10/s\"", SERVICES, &format!("[eras.gold]\n{keys}"))
}

#[test]
fn every_service_of_the_app_is_placed_with_the_era_s_defaults_unless_written() {
    let s = scenario::parse(
        &gold("web = { cores = 3 }\nrpc = { timeout = \"2s\" }\n[eras.gold.services.cart]\nnodes = 5\ntimeout = \"500ms\"\nfpm = { max_children = 9 }"),
        Path::new(FILE),
    )
    .unwrap();
    let Architecture::Gold(g) = &s.eras[0].arch else {
        panic!()
    };
    assert_eq!(g.services.len(), 2);
    let (cart, catalog) = (&g.services[0], &g.services[1]);
    assert_eq!(
        (cart.service.as_str(), cart.nodes, cart.timeout),
        ("cart", 5, Some(500_000_000))
    );
    assert_eq!(cart.stack.fpm.max_children, 9);
    // A written fpm table is read on its own: Debian's defaults elsewhere.
    assert_eq!(cart.stack.fpm.pm.name(), "dynamic");
    assert_eq!(
        (catalog.nodes, catalog.timeout, catalog.host.cores),
        (2, Some(2_000_000_000), 3)
    );
    assert!(cart.own_db.is_none());
    let t = s.eras[0].topology();
    assert_eq!(t.services.len(), 2);
    assert_eq!(t.services[0].timeout, Some(500_000_000));
    let NodeKind::Haproxy { servers, .. } = &t.node(t.services[0].balancer).kind else {
        panic!()
    };
    assert_eq!(servers.len(), 5);
    assert_eq!(t.node(t.services[0].balancer).name, "haproxy.cart");
}

#[test]
fn gold_keys_are_checked_where_they_are_written() {
    let text = gold("rpc = { timeout = \"soon\" }");
    rejects(&text, "eras.gold.rpc.timeout", "\"soon\"", "expected a duration");
    let text = gold("rpc = { cpu = \"fast\" }");
    rejects(&text, "eras.gold.rpc.cpu", "\"fast\"", "fast");
    let text = gold("rpc = { retries = 3 }");
    rejects(&text, "eras.gold.rpc.retries", "retries", "unknown key");
    let text = gold("[eras.gold.services.cart]\ndb = \"mine\"");
    rejects(
        &text,
        "eras.gold.services.cart.db",
        "\"mine\"",
        "expected \"shared\" or \"own\"",
    );
    let text = gold("[eras.gold.services.cart]\nnodes = 20000");
    rejects(&text, "eras.gold.services.cart.nodes", "20000", "at most");
    let text = gold("[eras.gold.services.cart]\ntimeout = \"-1s\"");
    rejects(&text, "eras.gold.services.cart.timeout", "\"-1s\"", "");
    let text = gold("[eras.gold.services.cart]\nmysql = { max_connections = 10 }");
    rejects(&text, "eras.gold.services.cart.mysql", "mysql", "db = \"own\"");
    let text = gold("[eras.gold.services.cart]\nhaproxy = { balance = \"fastest\" }");
    rejects(
        &text,
        "eras.gold.services.cart.haproxy.balance",
        "\"fastest\"",
        "unknown balance",
    );
    let text = gold("[eras.gold.services.cart]\nreplicas = 3");
    rejects(&text, "eras.gold.services.cart.replicas", "replicas", "unknown key");
    let text = gold("services = 3");
    rejects(&text, "eras.gold.services", "3", "table");
}

#[test]
fn a_placement_must_name_a_service_of_the_app() {
    let text = gold("[eras.gold.services.payments]\nnodes = 2");
    rejects(
        &text,
        "eras.gold.services.payments",
        "payments]",
        "no service \"payments\" in [app.services] (services: \"cart\", \"catalog\")",
    );
    // An app without services says how to declare one.
    let text = doc(
        "",
        "rate = \"10/s\"",
        "",
        "[eras.gold]\n[eras.gold.services.cart]\nnodes = 2",
    );
    rejects(
        &text,
        "eras.gold.services.cart",
        "cart]",
        "the application declares none",
    );
}

#[test]
fn faults_reach_a_service_s_nodes_balancer_and_own_database() {
    for target in ["svc.cart[1]", "lb.cart", "db.cart"] {
        let kind = if target == "db.cart" {
            "kind = \"slow\"\nfactor = 0.5"
        } else {
            "kind = \"crash\"\nfor = \"5s\""
        };
        let text = format!(
            "{}\n[eras.gold.services.cart]\nnodes = 2\ndb = \"own\"\n[[faults]]\nat = \"10s\"\n{kind}\ntarget = \"{target}\"\n",
            gold("")
        );
        scenario::parse(&text, Path::new(FILE)).unwrap_or_else(|e| panic!("{target}: {e}"));
    }
    let text = format!(
        "{}\n[[faults]]\nat = \"10s\"\nkind = \"crash\"\ntarget = \"svc.cart[7]\"\n",
        gold("")
    );
    rejects(&text, "faults[0].target", "\"svc.cart[7]\"", "no host is named");
}

#[test]
fn other_models_have_no_services_or_rpc() {
    let text = doc(
        "",
        "rate = \"10/s\"",
        SERVICES,
        "[eras.silver]\nrpc = { cpu = \"1ms\" }",
    );
    rejects(&text, "eras.silver.rpc", "rpc", "that is a machine of gold");
    let text = doc(
        "",
        "rate = \"10/s\"",
        SERVICES,
        "[eras.bronze]\n[eras.bronze.services.cart]\nnodes = 2",
    );
    rejects(&text, "eras.bronze.services", "services.cart]", "gold");
}

#[test]
fn timeouts_may_be_off() {
    let s = scenario::parse(
        &gold("rpc = { timeout = \"off\" }\n[eras.gold.services.cart]\ntimeout = \"3s\""),
        Path::new(FILE),
    )
    .unwrap();
    let Architecture::Gold(g) = &s.eras[0].arch else {
        panic!()
    };
    assert_eq!(g.rpc.timeout, None);
    assert_eq!(
        (g.services[0].timeout, g.services[1].timeout),
        (Some(3_000_000_000), None)
    );
}

#[test]
fn every_problem_of_a_gold_era_is_reported_at_once() {
    let text = gold(
        "rpc = { cpu = \"fast\" }\nnodes = 0\n[eras.gold.services.cart]\ndb = \"mine\"\ntimeout = \"soon\"\n[eras.gold.services.catalog]\nnodes = 20000",
    );
    let keys: Vec<String> = problems(&text).into_iter().map(|p| p.key).collect();
    for key in [
        "eras.gold.rpc.cpu",
        "eras.gold.nodes",
        "eras.gold.services.cart.db",
        "eras.gold.services.cart.timeout",
        "eras.gold.services.catalog.nodes",
    ] {
        assert!(keys.iter().any(|k| k == key), "{key} not in {keys:?}");
    }
}

#[test]
fn a_gold_era_places_at_most_250_services_and_none_named_master() {
    let mut many = String::new();
    for i in 0..251 {
        many.push_str(&format!("[app.services.s{i}.ops.x]\nsteps = [{{ cpu = \"1ms\" }}]\n"));
    }
    let text = doc("", "rate = \"10/s\"", &many, "[eras.gold]");
    rejects(
        &text,
        "eras.gold",
        "[eras.gold]",
        "at most 250 services, and [app.services] declares 251",
    );
    let text = doc(
        "",
        "rate = \"10/s\"",
        "[app.services.master.ops.x]\nsteps = [{ cpu = \"1ms\" }]",
        "[eras.gold]",
    );
    rejects(&text, "eras.gold", "[eras.gold]", "lb.master");
}

#[test]
fn calls_and_branches_count_as_steps_of_a_request() {
    // A tree of empty calls is no free loop: 8 levels of two calls each
    // is 510 calls; at 20 levels it is over the 10,000-step limit.
    let chain = |levels: usize| {
        let mut app = String::new();
        for l in 0..levels {
            let steps = if l + 1 == levels {
                "[{ cpu = \"1ms\" }]".to_string()
            } else {
                format!("[{{ call = \"s{n}.x\" }}, {{ call = \"s{n}.x\" }}]", n = l + 1)
            };
            app.push_str(&format!("[app.services.s{l}.ops.x]\nsteps = {steps}\n"));
        }
        format!(
            "duration = \"1m\"\n[traffic]\nrate = \"1/s\"\n{app}[app.endpoints.home]\nsteps = [{{ call = \"s0.x\" }}]\n[eras.gold]\n"
        )
    };
    let s = scenario::parse(&chain(8), Path::new(FILE)).unwrap();
    assert_eq!(s.app.subrequests(0), 255);
    assert_eq!(s.app.program_len(0), 255 + 128);
    rejects(
        &chain(20),
        "app.endpoints.home.steps",
        "[{ call = \"s0.x\" }]\n[eras",
        "each call and each parallel branch counting as one",
    );
}

#[test]
fn a_gold_era_runs_at_most_10000_web_nodes_in_all() {
    let text =
        gold("nodes = 4000\n[eras.gold.services.cart]\nnodes = 4000\n[eras.gold.services.catalog]\nnodes = 4000");
    rejects(&text, "eras.gold", "[eras.gold]", "at most 10000 web nodes");
}

#[test]
fn service_and_operation_names_hold_no_dot() {
    let text = doc(
        "",
        "rate = \"10/s\"",
        "[app.services.\"a.b\".ops.x]\nsteps = [{ cpu = \"1ms\" }]",
        "[eras.gold]",
    );
    rejects(&text, "app.services.\"a.b\"", "\"a.b\"", "cannot hold a '.'");
    let text = doc(
        "",
        "rate = \"10/s\"",
        "[app.services.a.ops.\"b.x\"]\nsteps = [{ cpu = \"1ms\" }]",
        "[eras.gold]",
    );
    rejects(&text, "app.services.a.ops.\"b.x\"", "\"b.x\"", "cannot hold a '.'");
}
