//! A mix per profile point: how it is read, and each way of writing it
//! wrong, rejected with the file, the position and the key.

use std::path::Path;

use lab_core::scenario::{self, Mix, Scenario};

mod support;

use support::*;

const S: u64 = 1_000_000_000;
const CART: &str = "[app.endpoints.cart]\nsteps = [{ cpu = \"1ms\" }]";

fn parse(text: &str) -> Scenario {
    scenario::parse(text, Path::new(FILE)).unwrap_or_else(|e| panic!("{e}"))
}

/// An open model with two endpoints, `points` as its profile.
fn with_points(points: &str, mix: &str) -> String {
    doc("", &format!("profile = [\n{points}\n]\n{mix}"), CART, "[eras.stone]")
}

#[test]
fn points_carry_mixes_interpolated_like_the_rate() {
    let s = parse(&with_points(
        "{ at = \"0s\", rate = \"100/s\" },\n\
         { at = \"10s\", rate = \"100/s\" },\n\
         { at = \"20s\", rate = \"500/s\", mix = { home = 2, cart = 8 } },\n\
         { at = \"30s\", rate = \"100/s\" },",
        "[traffic.mix]\nhome = 90\ncart = 10",
    ));
    let m = &s.traffic.mix;
    assert!(!m.is_constant());
    // Points without a mix take [traffic.mix]; shares, not weights, are
    // interpolated.
    assert_eq!(m.at(0), [(0, 0.9), (1, 0.1)]);
    assert_eq!(m.at(10 * S), [(0, 0.9), (1, 0.1)]);
    let mid = m.at(15 * S);
    assert!((mid[1].1 - 0.45).abs() < 1e-12, "{mid:?}");
    assert_eq!(m.at(20 * S), [(0, 0.2), (1, 0.8)]);
    assert!((m.share(1, 25 * S) - 0.45).abs() < 1e-12);
    assert_eq!(m.at(40 * S), [(0, 0.9), (1, 0.1)]);
}

#[test]
fn every_point_with_a_mix_needs_no_traffic_mix() {
    let s = parse(&with_points(
        "{ at = \"0s\", rate = 10, mix = { home = 1, cart = 0 } },\n\
         { at = \"60s\", rate = 10, mix = { home = 0, cart = 1 } },",
        "",
    ));
    assert_eq!(s.traffic.mix.at(30 * S), [(0, 0.5), (1, 0.5)]);
    // A point without one then has nothing to take.
    let text = with_points(
        "{ at = \"0s\", rate = 10, mix = { home = 1, cart = 0 } },\n\
         { at = \"60s\", rate = 10 },",
        "",
    );
    rejects(
        &text,
        "traffic",
        "[traffic]",
        "with several endpoints, say how often each is requested",
    );
}

#[test]
fn points_that_repeat_the_mix_are_a_constant_mix() {
    let s = parse(&with_points(
        "{ at = \"0s\", rate = 10, mix = { cart = 1, home = 3 } },\n\
         { at = \"60s\", rate = 20 },",
        "[traffic.mix]\ncart = 10\nhome = 30",
    ));
    assert_eq!(s.traffic.mix, Mix::constant(vec![(1, 0.25), (0, 0.75)]));
    // And a constant rate with [traffic.mix] is what it always was.
    let s = parse(&doc(
        "",
        "rate = 5\n[traffic.mix]\nhome = 1\ncart = 3",
        CART,
        "[eras.stone]",
    ));
    assert_eq!(s.traffic.mix, Mix::constant(vec![(0, 0.25), (1, 0.75)]));
}

#[test]
fn a_point_s_mix_names_declared_endpoints_only() {
    let text = with_points(
        "{ at = \"0s\", rate = 10 },\n{ at = \"9s\", rate = 10, mix = { home = 1, cart = 1, kart = 7 } },",
        "[traffic.mix]\nhome = 1\ncart = 1",
    );
    rejects(
        &text,
        "traffic.profile[1].mix.kart",
        "kart = 7",
        "unknown endpoint \"kart\": declare it as [app.endpoints.kart]",
    );
}

#[test]
fn a_point_s_mix_lists_every_endpoint() {
    let text = with_points(
        "{ at = \"0s\", rate = 10 },\n{ at = \"9s\", rate = 10, mix = { home = 1 } },",
        "[traffic.mix]\nhome = 1\ncart = 1",
    );
    rejects(
        &text,
        "traffic.profile[1].mix",
        "{ home = 1 }",
        "endpoint \"cart\" is never requested: give it a weight in this point's mix (0 to keep it idle)",
    );
}

#[test]
fn a_point_s_weights_are_non_negative_and_not_all_zero() {
    let neg = with_points(
        "{ at = \"0s\", rate = 10, mix = { home = -1, cart = 2 } },",
        "[traffic.mix]\nhome = 1\ncart = 1",
    );
    rejects(
        &neg,
        "traffic.profile[0].mix.home",
        "-1",
        "a weight must be a non-negative number, found -1",
    );
    let zero = with_points(
        "{ at = \"0s\", rate = 10, mix = { home = 0, cart = 0 } },",
        "[traffic.mix]\nhome = 1\ncart = 1",
    );
    rejects(
        &zero,
        "traffic.profile[0].mix",
        "{ home = 0, cart = 0 }",
        "the weights add up to 0: give at least one endpoint a positive weight",
    );
    let huge = with_points(
        "{ at = \"0s\", rate = 10, mix = { home = 1e308, cart = 1e308 } },",
        "[traffic.mix]\nhome = 1\ncart = 1",
    );
    rejects(
        &huge,
        "traffic.profile[0].mix",
        "{ home = 1e308",
        "the weights add up to inf",
    );
}

#[test]
fn a_point_s_mix_is_a_table_of_numbers() {
    let text = with_points(
        "{ at = \"0s\", rate = 10, mix = \"home\" },",
        "[traffic.mix]\nhome = 1\ncart = 1",
    );
    rejects(&text, "traffic.profile[0].mix", "\"home\"", "expected a mix such as");
    let text = with_points(
        "{ at = \"0s\", rate = 10, mix = { home = \"lots\", cart = 1 } },",
        "[traffic.mix]\nhome = 1\ncart = 1",
    );
    rejects(&text, "traffic.profile[0].mix.home", "\"lots\"", "expected a weight");
    let text = with_points(
        "{ at = \"0s\", rate = 10, mixx = { home = 1, cart = 1 } },",
        "[traffic.mix]\nhome = 1\ncart = 1",
    );
    rejects(
        &text,
        "traffic.profile[0].mixx",
        "mixx",
        "unknown key \"mixx\": [traffic.profile[0]] takes at, rate, mix",
    );
}

#[test]
fn a_closed_model_has_one_mix() {
    let text = doc(
        "",
        "model = \"closed\"\nusers = 5\nthink = \"1s\"\nprofile = [{ at = \"0s\", rate = 1, mix = { home = 1, cart = 1 } }]\n[traffic.mix]\nhome = 1\ncart = 1",
        CART,
        "[eras.stone]",
    );
    rejects(
        &text,
        "traffic.profile",
        "profile",
        "\"profile\" belongs to model = \"open\"; a closed model is driven by users and think; its mix is one [traffic.mix], which cannot change over time",
    );
}

#[test]
fn the_work_estimate_weighs_the_mix_by_the_arrivals() {
    // cart is 1,000 steps, home 2: at 10,000/s for an hour the run is
    // refused when cart takes the traffic, not while home has it all.
    let steps: String = (0..1000).map(|_| "{ cpu = \"1us\" }, ").collect();
    let cart = format!("[app.endpoints.cart]\nsteps = [{steps}]");
    let run = |mix_at_end: &str| {
        let text = doc(
            "",
            &format!(
                "profile = [{{ at = \"0s\", rate = \"10000/s\", mix = {{ home = 1, cart = 0 }} }}, {{ at = \"1s\", rate = \"10000/s\", mix = {mix_at_end} }}]"
            ),
            &cart,
            "[eras.stone]",
        )
        .replace("duration = \"1m\"", "duration = \"1h\"");
        scenario::parse(&text, Path::new(FILE))
    };
    assert!(run("{ home = 1, cart = 0 }").is_ok());
    let err = run("{ home = 0, cart = 1 }").unwrap_err().to_string();
    assert!(err.contains("this run would simulate about"), "{err}");
}

#[test]
fn a_bad_traffic_mix_is_reported_where_points_need_it() {
    let text = with_points(
        "{ at = \"0s\", rate = 10 },\n{ at = \"9s\", rate = 10, mix = { home = 1, cart = 1 } },",
        "[traffic.mix]\nhome = 1\ncart = -1",
    );
    rejects(
        &text,
        "traffic.mix.cart",
        "-1",
        "a weight must be a non-negative number",
    );
}

#[test]
fn points_taking_the_base_mix_share_it() {
    // 20,000 points over 2,000 endpoints: one row for the points that
    // take [traffic.mix], one for the point with its own, not 40 million
    // shares.
    let endpoints: String = (0..2000)
        .map(|i| format!("[app.endpoints.e{i}]\nsteps = [{{ cpu = \"1ms\" }}]\n"))
        .collect();
    let weights: String = (0..2000).map(|i| format!("e{i} = 1\n")).collect();
    let own: Vec<String> = (0..2000).map(|i| format!("e{i} = {}", i % 3)).collect();
    let mut points: Vec<String> = (0..20_000)
        .map(|i| format!("{{ at = \"{i}ms\", rate = 1 }},"))
        .collect();
    points[1] = format!("{{ at = \"1ms\", rate = 1, mix = {{ {} }} }},", own.join(", "));
    let text = format!(
        "duration = \"1m\"\n[traffic]\nprofile = [\n{}\n]\n[traffic.mix]\n{weights}\n[app.endpoints.home]\nsteps = [{{ cpu = \"1ms\" }}]\n{endpoints}[eras.stone]\n",
        points.join("\n")
    )
    .replace("[traffic.mix]\n", "[traffic.mix]\nhome = 1\n")
    .replace("mix = { e0 = 0", "mix = { home = 0, e0 = 0");
    let s = parse(&text);
    assert_eq!(s.traffic.mix.rows().len(), 2);
    assert_eq!(s.traffic.mix.share(0, 0), 1.0 / 2001.0);
    assert_eq!(s.traffic.mix.share(0, S), 1.0 / 2001.0);
    assert!((s.traffic.mix.share(3, 1_000_000) - 2.0 / 1999.0).abs() < 1e-12);
}
