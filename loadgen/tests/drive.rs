//! Drives local servers with known behaviour and checks what the record
//! says: the arrival rate, the latency, the outcomes by cause, drops, and
//! the closed model's throughput. Bounds are loose enough for a busy
//! 2-core machine and tight enough to catch a scheduler that loses or
//! delays arrivals; none is about lab's own speed.

mod support;

use std::sync::Mutex;
use std::time::Duration;

use lab_core::record::{OutcomeId, Record};
use lab_loadgen::{LoadgenError, Plan, Target, drive};
use support::{Behaviour, Server, refused_url, scenario};

/// Timing tests share two cores: one drive at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn run(s: &lab_core::Scenario, url: &str, users: Option<usize>) -> Record {
    let _one = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let mut plan = Plan::new(Target::new(url).unwrap());
    plan.users = users;
    drive(s, plan, &mut ()).unwrap()
}

fn count(r: &Record, key: &str) -> u64 {
    r.totals.outcomes[r.outcome_id(key).unwrap_or_else(|| panic!("no outcome {key}"))]
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// Every arrival is accounted for: ended by an outcome in the run, or
/// still unanswered at its end.
fn accounted(r: &Record) {
    assert_eq!(
        r.totals.arrivals,
        r.totals.outcomes.total() + r.totals.unfinished,
        "arrivals {} vs outcomes {:?} + unfinished {}",
        r.totals.arrivals,
        r.totals.outcomes,
        r.totals.unfinished
    );
}

#[test]
fn open_model_holds_its_rate_and_measures_a_10ms_server() {
    let server = Server::start(Behaviour::Delay(Duration::from_millis(10)));
    let rate = 300.0;
    let s = scenario("4s", "rate = \"300/s\"\ntimeout = \"2s\"");
    let r = run(&s, &server.url(), Some(64));
    accounted(&r);
    let secs = 4.0;
    // The schedule is a Poisson draw: its count is within 3.5 standard
    // deviations of rate × duration.
    let expected = rate * secs;
    let arrivals = r.totals.arrivals as f64;
    assert!(
        (arrivals - expected).abs() < 3.5 * expected.sqrt(),
        "{arrivals} arrivals for {expected} expected"
    );
    // What the load generator controls: every scheduled arrival was sent
    // (none dropped), so the achieved rate is the schedule's.
    let dropped = count(&r, "dropped");
    assert_eq!(dropped, 0, "64 users are plenty for 300/s of 10 ms");
    let achieved = (arrivals - dropped as f64) / secs;
    assert!(
        (achieved / rate - 1.0).abs() < 0.06,
        "achieved {achieved}/s for {rate}/s"
    );
    assert_eq!(r.totals.outcomes.errors(), 0, "{:?}", r.totals.outcomes);
    // Sent on time: the send lag's 99th percentile is a few ms at most.
    let lag = &r.totals.waits[r.wait_index("send_lag").unwrap()];
    // One lag per request sent (one sent just after the end is not kept).
    assert!(
        lag.count() <= r.totals.arrivals && lag.count() + 5 >= r.totals.arrivals,
        "{} lags for {} arrivals",
        lag.count(),
        r.totals.arrivals
    );
    let lag_p99 = ms(lag.quantile(0.99).unwrap());
    assert!(lag_p99 < 5.0, "send lag p99 {lag_p99} ms");
    // The latency from the intended time: the server's 10 ms plus the
    // client's and the kernel's part, which is small.
    let p50 = ms(r.totals.latency.quantile(0.5).unwrap());
    assert!((10.0..12.0).contains(&p50), "p50 {p50} ms");
    // Windows carry the intended rate and about a quarter of the arrivals.
    for w in &r.windows {
        assert_eq!(w.offered, rate);
        assert!(
            (w.arrivals as f64 - rate).abs() < 3.5 * rate.sqrt() + 5.0,
            "window {}: {}",
            w.start,
            w.arrivals
        );
    }
    assert_eq!(r.meta.source, lab_core::record::Source::Measured);
}

#[test]
fn a_pool_too_small_drops_arrivals_instead_of_sending_them_late() {
    // 4 users, 100 ms per request: at most 40 requests a second get out
    // of 200 a second offered; the rest are dropped at their time.
    let server = Server::start(Behaviour::Delay(Duration::from_millis(100)));
    let s = scenario("3s", "rate = \"200/s\"\ntimeout = \"2s\"");
    let r = run(&s, &server.url(), Some(4));
    accounted(&r);
    let ok = r.totals.outcomes[OutcomeId::OK];
    let dropped = count(&r, "dropped");
    assert!(
        ok <= 4 * 30 + 4,
        "{ok} answered: 4 users of 100 ms cannot do more than 120 in 3 s"
    );
    assert!(ok >= 80, "{ok} answered: the users should have kept busy");
    assert!(
        dropped as f64 > 0.7 * r.totals.arrivals as f64,
        "{dropped} of {} dropped",
        r.totals.arrivals
    );
    // A request that was sent was sent on time: the latency is the
    // server's, not a queue's in the load generator.
    let p99 = ms(r.totals.latency.quantile(0.99).unwrap());
    assert!(p99 < 115.0, "p99 {p99} ms");
}

#[test]
fn outcomes_are_counted_by_cause() {
    let s = scenario("1s", "rate = \"40/s\"\ntimeout = \"500ms\"");
    let cases = [
        (Behaviour::Status(502), "http_502"),
        (Behaviour::Status(503), "http_503"),
        (Behaviour::Status(404), "http_4xx"),
        (Behaviour::Hang, "client_timeout"),
        (Behaviour::Reset, "connection_reset"),
    ];
    for (b, key) in cases {
        let server = Server::start(b);
        let r = run(&s, &server.url(), Some(64));
        let n = count(&r, key);
        // Requests sent in the last half second time out after the run.
        let ended = r.totals.outcomes.total();
        assert!(ended > 5, "{b:?}: only {ended} ended");
        assert_eq!(n, ended, "{b:?}: every ended request is {key}: {:?}", r.totals.outcomes);
        accounted(&r);
    }
    let r = run(&s, &refused_url(), Some(64));
    let refused = count(&r, "connection_refused");
    assert!(
        refused > 10 && refused == r.totals.outcomes.total(),
        "{:?}",
        r.totals.outcomes
    );
    // Failures have no latency: only successes make the distribution.
    assert_eq!(r.totals.latency.count(), 0);
}

#[test]
fn a_timed_out_request_ends_at_the_client_timeout() {
    let server = Server::start(Behaviour::Hang);
    let s = scenario("2s", "rate = \"20/s\"\ntimeout = \"300ms\"");
    let r = run(&s, &server.url(), Some(64));
    let timeouts = count(&r, "client_timeout");
    assert!(timeouts > 15, "{:?}", r.totals.outcomes);
    // Requests sent in the last 300 ms were still waiting at the end.
    assert!(
        r.totals.unfinished > 0 && r.totals.unfinished < 20,
        "{}",
        r.totals.unfinished
    );
}

#[test]
fn closed_users_send_at_users_over_think_plus_service() {
    let server = Server::start(Behaviour::Delay(Duration::from_millis(10)));
    let s = scenario(
        "4s",
        "model = \"closed\"\nusers = 10\nthink = \"40ms\"\ntimeout = \"1s\"",
    );
    let r = run(&s, &server.url(), None);
    accounted(&r);
    // Each user cycles through 40 ms of thought and about 10 ms of
    // service: 10 / 50 ms = 200 requests a second (a little less: the
    // client's own part and the timer's rounding lengthen each cycle).
    let throughput = r.totals.throughput();
    assert!((175.0..=202.0).contains(&throughput), "{throughput}/s");
    assert_eq!(count(&r, "dropped"), 0, "a closed model drops nothing");
    assert!(
        r.wait_index("send_lag").is_none(),
        "closed users send when they are ready"
    );
    // Offered load is what the users sent.
    let w = &r.windows[1];
    assert_eq!(w.offered, w.arrivals as f64);
}

#[test]
fn traffic_goes_only_to_loopback_or_declared_addresses() {
    let e = Target::new("http://192.168.1.10:80").unwrap_err();
    assert!(matches!(e, LoadgenError::Forbidden { .. }));
    assert!(
        e.to_string().contains("refusing to send traffic to 192.168.1.10"),
        "{e}"
    );
    let s = scenario("1s", "model = \"closed\"\nusers = 20000\nthink = \"1s\"");
    let plan = Plan::new(Target::new("http://127.0.0.1:9").unwrap());
    let e = drive(&s, plan, &mut ()).unwrap_err();
    assert!(e.to_string().contains("between 1 and 10000"), "{e}");
}

/// A scraper that reports a fixed queue length and counts its scrapes.
struct Fixed {
    gauge: Option<lab_core::record::GaugeId>,
    counter: Option<lab_core::record::CounterId>,
    /// A fractional level, 2.25 busy cores.
    busy: Option<lab_core::record::GaugeId>,
}

impl lab_loadgen::Scrape for Fixed {
    fn declare(&mut self, b: &mut lab_core::RecordBuilder) {
        use lab_core::record::{CounterSpec, GaugeKind, GaugeSpec};
        self.gauge = Some(b.add_gauge(GaugeSpec {
            key: "fpm.listen_queue".into(),
            label: "FPM listen queue".into(),
            kind: GaugeKind::Queue,
            capacity: None,
        }));
        self.counter = Some(b.add_counter(CounterSpec {
            key: "scrapes".into(),
            label: "scrapes".into(),
        }));
        self.busy = Some(b.add_gauge(GaugeSpec {
            key: "web.cpu".into(),
            label: "web CPU".into(),
            kind: GaugeKind::Cpu,
            capacity: Some(4.0),
        }));
    }

    fn scrape(&mut self, out: &mut Vec<lab_loadgen::Reading>) {
        out.push(lab_loadgen::Reading::Gauge(self.gauge.unwrap(), 7));
        out.push(lab_loadgen::Reading::Count(self.counter.unwrap(), 1));
        out.push(lab_loadgen::Reading::Level(self.busy.unwrap(), 2.25));
    }
}

#[test]
fn a_caller_s_stop_ends_the_drive_early_with_what_was_measured() {
    let server = Server::start(Behaviour::Delay(Duration::from_millis(5)));
    let s = scenario("20s", "rate = \"50/s\"\ntimeout = \"1s\"");
    let _one = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let mut plan = Plan::new(Target::new(&server.url()).unwrap());
    let started = std::time::Instant::now();
    plan.stop = Some(Box::new(move || started.elapsed() > Duration::from_secs(2)));
    let r = drive(&s, plan, &mut ()).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stopped after {:?}",
        started.elapsed()
    );
    let ok = r.totals.outcomes[OutcomeId::OK];
    assert!((40..=200).contains(&ok), "{ok} answered in about 2 s at 50/s");
}

#[test]
fn the_rate_follows_the_profile_and_scrapers_fill_gauges() {
    let server = Server::start(Behaviour::Delay(Duration::from_millis(5)));
    let s = scenario(
        "4s",
        "profile = [{ at = \"0s\", rate = \"100/s\" }, { at = \"2s\", rate = \"100/s\" }, { at = \"2s\", rate = \"400/s\" }]\ntimeout = \"1s\"",
    );
    let _one = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let mut plan = Plan::new(Target::new(&server.url()).unwrap());
    plan.scrapers.push(Box::new(Fixed {
        gauge: None,
        counter: None,
        busy: None,
    }));
    let (tx, rx) = std::sync::mpsc::channel();
    plan.on_start = Some(Box::new(move |at| tx.send(at).unwrap()));
    let before = std::time::Instant::now();
    let r = drive(&s, plan, &mut ()).unwrap();
    let origin = rx.try_recv().expect("on_start was told run time 0");
    assert!(origin >= before && origin.elapsed() >= Duration::from_secs(4));
    let low: u64 = r.windows[..2].iter().map(|w| w.arrivals).sum();
    let high: u64 = r.windows[2..].iter().map(|w| w.arrivals).sum();
    assert!((130..=270).contains(&low), "{low} arrivals in the 100/s half");
    assert!((680..=920).contains(&high), "{high} arrivals in the 400/s half");
    assert_eq!((r.windows[0].offered, r.windows[3].offered), (100.0, 400.0));
    // Scraped once a second from the first second on: the queue's level
    // is 7 from then, and each window after the first counts a scrape.
    let g = r.gauge_index("fpm.listen_queue").unwrap();
    assert_eq!(r.windows[2].gauges[g].mean, 7.0);
    assert_eq!(r.totals.gauges[g].max, 7.0);
    // A fractional level: 3 for a quarter of each second, 2 for the rest.
    let busy = r.gauge_index("web.cpu").unwrap();
    let mean = r.windows[2].gauges[busy].mean;
    assert!((mean - 2.25).abs() < 0.03, "busy cores {mean}");
    assert_eq!(r.totals.gauges[busy].max, 3.0);
    let c = r.counter_index("scrapes").unwrap();
    assert!(
        (2..=4).contains(&r.totals.counters[c]),
        "{} scrapes",
        r.totals.counters[c]
    );
}

#[test]
fn each_endpoint_is_recorded_apart_and_they_add_up() {
    let text = "duration = \"3s\"\n[stats]\nwindow = \"1s\"\n[traffic]\nrate = \"200/s\"\n\
                [traffic.mix]\nhome = 3\ncheckout = 1\n\
                [app.endpoints.home]\nsteps = [{ cpu = \"1ms\" }]\n\
                [app.endpoints.checkout]\nsteps = [{ cpu = \"1ms\" }]\n[eras.stone]\n";
    let s = lab_core::scenario::parse(text, std::path::Path::new("drive-test.toml")).unwrap();
    let server = Server::start(Behaviour::Delay(Duration::from_millis(2)));
    let r = run(&s, &server.url(), Some(64));
    assert_eq!(r.endpoints, ["home", "checkout"]);
    for o in r.outcome_ids() {
        let sum: u64 = r.totals.endpoints.iter().map(|e| e.outcomes[o]).sum();
        assert_eq!(sum, r.totals.outcomes[o], "{}", r.outcome(o).key);
    }
    let (home, checkout) = (&r.totals.endpoints[0], &r.totals.endpoints[1]);
    // The endpoints are drawn from the scenario's streams, 3 : 1.
    let share = home.outcomes.total() as f64 / r.totals.outcomes.total() as f64;
    assert!((0.65..0.85).contains(&share), "home's share {share}");
    assert!(checkout.latency.count() > 50 && home.latency.count() > 200);
    assert!(ms(checkout.latency.min().unwrap()) >= 2.0);
}
