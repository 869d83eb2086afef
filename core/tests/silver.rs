//! Validation of the silver era's keys (HAProxy, keepalived, web nodes) and
//! of scheduled faults.

mod support;

use std::path::Path;

use lab_core::scenario::{self, Architecture, Balance, FaultKind};
use lab_core::topology::NodeKind;
use support::*;

fn silver(keys: &str) -> String {
    doc("", "rate = \"10/s\"", "", &format!("[eras.silver]\n{keys}"))
}

#[test]
fn silver_lowers_to_two_balancers_under_a_vip_and_n_web_nodes() {
    let s = scenario::parse(
        &silver("nodes = 3\nhaproxy = { balance = \"random\", draws = 3 }\nkeepalived = { priority = [150, 100] }"),
        Path::new(FILE),
    )
    .unwrap();
    let Architecture::Silver(arch) = &s.eras[0].arch else {
        panic!()
    };
    assert_eq!(arch.haproxy.balance, Balance::Random { draws: 3 });
    assert_eq!(arch.keepalived.map(|k| k.priority), [150, 100]);
    let t = s.eras[0].topology();
    let names: Vec<_> = t.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["lb[0]", "lb[1]", "db", "web[0]", "web[1]", "web[2]"]);
    let NodeKind::Vip { members, .. } = &t.node(t.entry).kind else {
        panic!()
    };
    let NodeKind::Haproxy { servers, .. } = &t.node(members[1]).kind else {
        panic!()
    };
    assert_eq!(servers.len(), 3);
}

#[test]
fn haproxy_keys_are_checked() {
    let text = silver("haproxy = { balance = \"weighted\" }");
    rejects(
        &text,
        "eras.silver.haproxy.balance",
        "\"weighted\"",
        "unknown balance \"weighted\"",
    );
    let text = silver("haproxy = { balance = \"first\" }");
    rejects(&text, "eras.silver.haproxy.balance", "\"first\"", "set server_maxconn");
    let text = silver("haproxy = { draws = 2 }");
    rejects(
        &text,
        "eras.silver.haproxy.draws",
        "draws",
        "only applies to balance = \"random\"",
    );
    let text = silver("haproxy = { timeout_queue = \"0s\" }");
    rejects(&text, "eras.silver.haproxy.timeout_queue", "\"0s\"", "longer than 0s");
    let text = silver("haproxy = { check = false, fall = 2 }");
    rejects(&text, "eras.silver.haproxy.fall", "fall", "check = false");
    let text = silver("haproxy = { retries = \"3\" }");
    rejects(&text, "eras.silver.haproxy.retries", "\"3\"", "expected a whole number");
    let text = silver("haproxy = { rise = 0 }");
    rejects(&text, "eras.silver.haproxy.rise", "0 }", "at least 1");
}

#[test]
fn keepalived_refuses_what_keepalived_would() {
    let text = silver("keepalived = { version = 2, advert_int = \"500ms\" }");
    rejects(
        &text,
        "eras.silver.keepalived.advert_int",
        "\"500ms\"",
        "advert_int is whole seconds from 1s to 255s with version = 2, found 500ms",
    );
    let text = silver("keepalived = { priority = [300, 100] }");
    rejects(&text, "eras.silver.keepalived.priority", "[300", "1 to 255");
    let text = silver("keepalived = { priority = [101, 0] }");
    rejects(&text, "eras.silver.keepalived.priority", "[101", "found [101, 0]");
    let text = silver("keepalived = { priority = [101] }");
    rejects(&text, "eras.silver.keepalived.priority", "[101", "found 1 value");
    let text = silver("keepalived = { version = 4 }");
    rejects(&text, "eras.silver.keepalived.version", "4 }", "version is 2 or 3");
    // VRRPv3 takes centiseconds.
    let ok = silver("keepalived = { version = 3, advert_int = \"100ms\" }");
    scenario::parse(&ok, Path::new(FILE)).unwrap();
}

#[test]
fn another_models_machines_are_named_as_such() {
    let text = doc("", "rate = \"10/s\"", "", "[eras.stone]\nlb = { cores = 2 }");
    rejects(&text, "eras.stone.lb", "lb", "that is a machine of silver");
    let text = silver("host = { cores = 2 }");
    rejects(&text, "eras.silver.host", "host", "that is a machine of stone");
    let text = silver("nodes = 0");
    rejects(&text, "eras.silver.nodes", "0\n", "at least 1");
    let text = silver("nodes = 10001");
    rejects(&text, "eras.silver.nodes", "10001\n", "at most 10,000");
}

fn faulted(fault: &str) -> String {
    silver("nodes = 2") + "[eras.bronze]\n[[faults]]\n" + fault
}

#[test]
fn faults_apply_to_the_eras_that_have_their_target() {
    let s = scenario::parse(
        &faulted("at = \"10s\"\nfor = \"5s\"\nkind = \"crash\"\ntarget = \"web[1]\"\neras = [\"silver\"]\n"),
        Path::new(FILE),
    )
    .unwrap();
    let f = &s.eras[0].faults[0];
    assert_eq!(
        (f.at, f.until, f.kind),
        (10_000_000_000, Some(15_000_000_000), FaultKind::Crash)
    );
    assert!(s.eras[1].faults.is_empty(), "bronze is not listed");
    assert_eq!(s.eras[0].topology().faults.len(), 1);
}

#[test]
fn a_fault_target_must_exist_in_every_era_it_applies_to() {
    let text = faulted("at = \"10s\"\nkind = \"crash\"\ntarget = \"web[1]\"\n");
    rejects(
        &text,
        "faults[0].target",
        "\"web[1]\"\n",
        "in era \"bronze\": no host is named \"web[1]\" (hosts: web, db)",
    );
    let text = faulted("at = \"10s\"\nkind = \"crash\"\ntarget = \"lb.master\"\neras = [\"bronze\"]\n");
    rejects(&text, "faults[0].target", "\"lb.master\"", "needs a balancer pair");
    let text = faulted("at = \"10s\"\nkind = \"crash\"\ntarget = \"db\"\neras = [\"silver\"]\n");
    rejects(&text, "faults[0].target", "\"db\"", "only kind = \"slow\"");
    let text = faulted("at = \"10s\"\nkind = \"crash\"\ntarget = \"web\"\neras = [\"gold\"]\n");
    rejects(&text, "faults[0].eras[0]", "\"gold\"", "no era is labelled \"gold\"");
}

#[test]
fn fault_times_kinds_and_overlaps_are_checked() {
    let text = faulted("at = \"2m\"\nkind = \"crash\"\ntarget = \"web\"\neras = [\"bronze\"]\n");
    rejects(&text, "faults[0].at", "\"2m\"", "it would never happen");
    let text = faulted("at = \"1s\"\nkind = \"melt\"\ntarget = \"web\"\neras = [\"bronze\"]\n");
    rejects(&text, "faults[0].kind", "\"melt\"", "unknown fault kind \"melt\"");
    let text = faulted("at = \"1s\"\nkind = \"slow\"\nfactor = 2.0\ntarget = \"web\"\neras = [\"bronze\"]\n");
    rejects(&text, "faults[0].factor", "2.0", "at most 1");
    let text = faulted("at = \"1s\"\nkind = \"crash\"\nfactor = 0.5\ntarget = \"web\"\neras = [\"bronze\"]\n");
    rejects(&text, "faults[0].factor", "factor", "only applies to kind = \"slow\"");
    let text = faulted("at = \"1s\"\nkind = \"restart\"\ntarget = \"web[0]\"\neras = [\"silver\"]\n");
    rejects(&text, "faults[0]", "[[faults]]", "a restart needs \"for\"");
    let text = faulted("at = \"1s\"\nkind = \"restart\"\ntarget = \"lb.master\"\neras = [\"silver\"]\n");
    rejects(&text, "faults[0]", "[[faults]]", "how long the software is down");
    let text = faulted("kind = \"crash\"\ntarget = \"web\"\n");
    rejects(&text, "faults[0]", "[[faults]]", "missing key \"at\"");
    let two = "at = \"10s\"\nfor = \"10s\"\nkind = \"crash\"\ntarget = \"web\"\neras = [\"bronze\"]\n[[faults]]\nat = \"15s\"\nkind = \"slow\"\nfactor = 0.5\ntarget = \"web\"\neras = [\"bronze\"]\n";
    rejects(
        &faulted(two),
        "faults[1]",
        "[[faults]]\nat = \"15s\"",
        "overlaps an earlier one",
    );
    let apart = two.replace("\"15s\"", "\"20s\"");
    scenario::parse(&faulted(&apart), Path::new(FILE)).unwrap();
}

#[test]
fn health_checks_count_against_the_work_limit() {
    let text = silver("nodes = 1000\nhaproxy = { inter = \"1ms\" }").replace("duration = \"1m\"", "duration = \"1h\"");
    rejects(
        &text,
        "eras.silver.haproxy.inter",
        "\"1ms\" }\n",
        "health checks alone would take 1.44e10 events",
    );
    let mut s = scenario::parse(&silver("nodes = 1000\nhaproxy = { inter = \"2s\" }"), Path::new(FILE)).unwrap();
    let err = s.set_duration(365 * 24 * 3_600_000_000_000).unwrap_err();
    assert!(err.contains("era \"silver\": health checks alone"), "{err}");
}
