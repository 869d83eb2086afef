//! One drive: goose users sending the scenario's traffic to a target, a
//! scheduler handing them arrival tickets (open model) or users thinking
//! between requests (closed model), and the recorder building the record.
//!
//! The open model follows k6's constant-arrival-rate executor, since goose
//! has no arrival-rate mode: a thread of its own walks the Poisson schedule
//! in wall time and, at each arrival's time, hands a ticket to a user that
//! is idle; with none idle the arrival is dropped and counted as such.
//! Latency is measured from the arrival's intended time, so a late send
//! (a busy machine, a slow pool) shows in the latency instead of being
//! hidden (no coordinated omission).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use goose::config::GooseConfiguration;
use goose::goose::{GooseMethod, GooseRequest, GooseUser, Transaction, TransactionResult};
use goose::prelude::{GooseAttack, Scenario as GooseScenario};
use lab_core::draw::Picker;
use lab_core::record::{HistogramId, HistogramSpec, Record, RecordBuilder, RecordMeta, Source};
use lab_core::scenario::{Kernel, Scenario, Workload};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::observe::{Observer, Reading, Scrape, Snapshot};
use crate::outcome::{Cause, Outcomes};
use crate::recorder::{Fact, Facts, Recorder};
use crate::schedule::{open, sample};
use crate::{LoadgenError, Target};

/// The most goose users a drive starts (open-model pool or closed users).
pub const MAX_USERS: usize = 10_000;
/// How long the pool may take to start before the traffic starts anyway.
const READY_WAIT: Duration = Duration::from_secs(5);
/// How long a drive waits for answers after the traffic when the scenario's
/// client never times out (`timeout = "off"`).
pub const DRAIN_WITHOUT_TIMEOUT: Duration = Duration::from_secs(60);
/// An idle user with nothing left to do sleeps this long before goose asks
/// it again (goose calls a user's transaction until the run stops).
const IDLE_POLL: Duration = Duration::from_millis(20);

/// The wait a measured open-model record declares: how late each request
/// left the load generator after its intended time (the scheduler's and the
/// users' own delay, which the latency includes).
pub const SEND_LAG: HistogramSpec = HistogramSpec::new("send_lag", "send lag (load generator)");

/// goose's stop switch is one per process: drives take turns.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// How to drive a scenario's traffic at a running system.
pub struct Plan {
    pub target: Target,
    /// Open model: the goose users taking arrival tickets, so the most
    /// requests in flight at once; arrivals beyond are dropped. `None`:
    /// the peak rate times one second, between 16 and 2,000.
    pub users: Option<usize>,
    /// `None`: when the client's kernel gives up on a SYN with Linux's
    /// defaults (127 s, as the simulator's clients), capped by the client
    /// timeout.
    pub connect_timeout: Option<Duration>,
    /// The record's era label and model (`bronze`, ...).
    pub era: String,
    pub model: String,
    /// Read the system's gauges once a second while the traffic runs.
    pub scrapers: Vec<Box<dyn Scrape>>,
    /// Told the wall-clock instant of run time 0 once the users are ready,
    /// so that a caller can play the scenario's faults at its times.
    pub on_start: Option<Box<dyn FnOnce(Instant) + Send>>,
    /// Polled every 50 ms: `true` stops the drive as goose's own Ctrl-C
    /// would, with what was measured so far (for a caller that catches
    /// the signals itself, such as a real deployment that must tear down).
    pub stop: Option<Box<dyn Fn() -> bool + Send>>,
}

impl Plan {
    pub fn new(target: Target) -> Plan {
        Plan {
            target,
            users: None,
            connect_timeout: None,
            era: "target".into(),
            model: "real".into(),
            scrapers: Vec::new(),
            on_start: None,
            stop: None,
        }
    }
}

/// Where the run is: users wait for `Running`; `Stopping` ends thinks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Waiting,
    Running,
    Stopping,
}

#[derive(Clone, Copy, Debug)]
struct Ticket {
    at: u64,
    endpoint: usize,
}

/// What every user shares.
struct Shared {
    clock: Clock,
    facts: Facts,
    outcomes: Outcomes,
    /// Open model only: the send lag's histogram.
    send_lag: Option<HistogramId>,
    client: reqwest::Client,
    /// Per endpoint index.
    paths: Vec<String>,
    /// A closed model's mix (an open model's requests come drawn).
    mix: Picker,
    timeout: Option<u64>,
    duration: u64,
    hard_stop: u64,
    phase: watch::Receiver<Phase>,
    ready: AtomicUsize,
    idle: Arc<AtomicUsize>,
    tickets: flume::Receiver<Ticket>,
    think: Option<lab_core::scenario::Dist>,
    seed: u64,
}

/// A closed user's own random stream.
#[derive(Clone)]
struct UserRng(Pcg64Mcg);

impl Shared {
    /// Sends one request intended at run time `at` and records how it ended.
    async fn send(&self, user: &mut GooseUser, endpoint: usize, at: u64) {
        let live = &self.facts.live;
        live.in_flight.fetch_add(1, Ordering::Relaxed);
        self.facts.send(at, Fact::Arrival);
        let deadline_ns = self
            .timeout
            .map_or(self.hard_stop, |t| at.saturating_add(t).min(self.hard_stop));
        let deadline = tokio::time::Instant::from_std(self.clock.at(deadline_ns));
        let lag = self.send_lag;
        let (clock, facts) = (&self.clock, &self.facts);
        let request = async {
            if let (Some(id), Some(now)) = (lag, clock.now()) {
                facts.send(
                    now,
                    Fact::Wait {
                        id,
                        wait: now.saturating_sub(at),
                    },
                );
            }
            let builder = user
                .get_request_builder(&GooseMethod::Get, &self.paths[endpoint])
                .ok()?;
            let response = user
                .request(GooseRequest::builder().set_request_builder(builder).build())
                .await
                .ok()?;
            Some(match response.response {
                Ok(r) => {
                    let status = r.status().as_u16();
                    match r.bytes().await {
                        Ok(_) => Cause::Status(status),
                        Err(e) => Cause::of(&e),
                    }
                }
                Err(e) => Cause::of(&e),
            })
        };
        let cause = match tokio::time::timeout_at(deadline, request).await {
            Ok(Some(c)) => c,
            // goose could not build the request: the path is malformed.
            Ok(None) => Cause::Transport,
            Err(_) => Cause::Timeout,
        };
        let end = if cause == Cause::Timeout {
            deadline_ns
        } else {
            self.clock.now().unwrap_or(at).max(at)
        };
        let id = self.outcomes.id(cause);
        self.facts.send(
            end,
            Fact::Outcome {
                id,
                endpoint: endpoint as u32,
                latency: end - at,
            },
        );
        live.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    async fn running(&self) -> Phase {
        let mut phase = self.phase.clone();
        phase
            .wait_for(|p| *p != Phase::Waiting)
            .await
            .map_or(Phase::Stopping, |p| *p)
    }

    /// One ticket: wait for the scheduler to hand one over, send it.
    async fn open_turn(&self, user: &mut GooseUser) {
        if self.running().await == Phase::Stopping {
            return tokio::time::sleep(IDLE_POLL).await;
        }
        self.idle.fetch_add(1, Ordering::AcqRel);
        match self.tickets.recv_async().await {
            Ok(t) => self.send(user, t.endpoint, t.at).await,
            // The schedule is over; goose stops the users soon.
            Err(_) => tokio::time::sleep(IDLE_POLL).await,
        }
    }

    /// One closed-model cycle: think, then one request sent now.
    async fn closed_turn(&self, user: &mut GooseUser) {
        if self.running().await == Phase::Stopping {
            return tokio::time::sleep(IDLE_POLL).await;
        }
        let think = self.think.as_ref().expect("a closed model thinks");
        let Some(UserRng(rng)) = user.get_session_data_mut::<UserRng>() else {
            return tokio::time::sleep(IDLE_POLL).await;
        };
        let pause = sample(think, rng);
        let u: f64 = rng.random();
        let now = self.clock.now().unwrap_or(0);
        let at = now.saturating_add(pause);
        let endpoint = self.mix.pick(at, u) as usize;
        if at >= self.duration {
            // No request after the run; wait for the stop.
            let mut phase = self.phase.clone();
            let _ = tokio::time::timeout(IDLE_POLL, phase.wait_for(|p| *p == Phase::Stopping)).await;
            return;
        }
        let mut phase = self.phase.clone();
        tokio::select! {
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(self.clock.at(at))) => {}
            _ = phase.wait_for(|p| *p == Phase::Stopping) => return,
        }
        self.send(user, endpoint, self.clock.now().unwrap_or(at)).await;
    }
}

/// goose logs every failed request at warn level on the `log` crate, and
/// installs a logger to stdout for it: a drive of a failing server would
/// flood the terminal with what the record already counts. Unless the
/// program has a logger of its own, only errors are shown, on stderr.
fn quiet_goose() {
    struct Quiet;
    impl log::Log for Quiet {
        fn enabled(&self, m: &log::Metadata) -> bool {
            m.level() <= log::Level::Error
        }
        fn log(&self, r: &log::Record) {
            if self.enabled(r.metadata()) {
                eprintln!("{}: {}", r.target(), r.args());
            }
        }
        fn flush(&self) {}
    }
    static QUIET: Quiet = Quiet;
    if log::set_logger(&QUIET).is_ok() {
        log::set_max_level(log::LevelFilter::Error);
    }
}

/// The connect timeout of the scenario's clients: when their kernel
/// gives up on SYNs nobody answers (127 s with Debian 12's), capped by
/// the client's timeout.
fn connect_timeout(plan: &Plan, timeout: Option<u64>, clients: &Kernel) -> Duration {
    plan.connect_timeout.unwrap_or_else(|| {
        let syn = Duration::from_nanos(clients.syn_schedule().1);
        timeout.map_or(syn, |t| syn.min(Duration::from_nanos(t)))
    })
}

/// Drives `scenario`'s traffic at `plan.target` for the scenario's
/// duration and returns what the clients measured.
///
/// Blocks until the traffic ends and every answer is in (at most the
/// duration plus the client timeout, or [`DRAIN_WITHOUT_TIMEOUT`]); a
/// Ctrl-C stops it early with what was measured so far. Drives in one
/// process take turns: goose's stop switch is one per process.
pub fn drive(scenario: &Scenario, mut plan: Plan, observer: &mut dyn Observer) -> Result<Record, LoadgenError> {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    quiet_goose();
    let traffic = &scenario.traffic;
    let duration = scenario.duration;
    let drain = traffic.timeout.unwrap_or(DRAIN_WITHOUT_TIMEOUT.as_nanos() as u64);
    let hard_stop = duration.saturating_add(drain);
    let (users, profile, think) = match &traffic.workload {
        Workload::Open(p) => {
            let default = (p.peak().ceil() as usize).clamp(16, 2000);
            (plan.users.unwrap_or(default), Some(p.clone()), None)
        }
        Workload::Closed { users, think } => (*users as usize, None, Some(think.clone())),
    };
    if users == 0 || users > MAX_USERS {
        return Err(LoadgenError::Plan(format!(
            "{users} goose users: a drive starts between 1 and {MAX_USERS}; lower the scenario's users or Plan::users"
        )));
    }
    let client = reqwest::Client::builder()
        .connect_timeout(connect_timeout(&plan, traffic.timeout, &traffic.clients))
        // The page asked for is the one measured: a redirect is an outcome.
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .pool_max_idle_per_host(users)
        .build()
        .map_err(LoadgenError::Client)?;

    let mut builder = RecordBuilder::new(RecordMeta {
        scenario: scenario.name.clone(),
        era: plan.era.clone(),
        model: plan.model.clone(),
        source: Source::Measured,
        seed: scenario.seed,
        window: scenario.stats.window,
        warmup: scenario.stats.warmup,
        duration,
        price_per_hour: 0.0,
    });
    builder.set_endpoints(scenario.app.endpoints.iter().map(|e| e.name.clone()));
    let outcomes = Outcomes::declare(&mut builder);
    let send_lag = profile.is_some().then(|| builder.add_wait(SEND_LAG));
    for s in &mut plan.scrapers {
        s.declare(&mut builder);
    }
    let clock = Clock::default();
    let (recorder, facts) = Recorder::start(builder, clock.clone(), duration, profile.clone())?;
    let (phase_tx, phase_rx) = watch::channel(Phase::Waiting);
    let (ticket_tx, ticket_rx) = flume::unbounded();
    let shared = Arc::new(Shared {
        clock: clock.clone(),
        facts: facts.clone(),
        outcomes: outcomes.clone(),
        send_lag,
        client,
        paths: scenario
            .app
            .endpoints
            .iter()
            .map(|e| plan.target.url(&e.name).to_string())
            .collect(),
        mix: Picker::new(&traffic.mix),
        timeout: traffic.timeout,
        duration,
        hard_stop,
        phase: phase_rx,
        ready: AtomicUsize::new(0),
        idle: Arc::new(AtomicUsize::new(0)),
        tickets: ticket_rx,
        think,
        seed: scenario.seed,
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("lab-loadgen")
        .build()
        .map_err(|source| LoadgenError::Start {
            what: "async runtime",
            source,
        })?;
    let attack = attack(&shared, &plan.target, users, hard_stop)?;
    let run = Run {
        shared: &shared,
        clock: &clock,
        facts: &facts,
        duration,
        hard_stop,
        users,
        profile,
        mix: traffic.mix.clone(),
        seed: scenario.seed,
    };
    let hooks = Hooks {
        on_start: plan.on_start.take(),
        stop: plan.stop.take(),
    };
    // Each scraper on a thread of its own, so that a slow one (a process
    // spawned on a busy machine, a page behind a saturated core) neither
    // stalls the drive's loop nor delays the others: a host's CPU reading
    // a second late leaves a second of its gauge at zero.
    let over = AtomicBool::new(false);
    let result = std::thread::scope(|s| {
        // However the drive ends, a panic included, the scrapers stop
        // (the scope waits for them).
        let _over = Over(&over);
        for scraper in &mut plan.scrapers {
            let (facts, clock, over) = (facts.clone(), clock.clone(), &over);
            s.spawn(move || scrape_every_second(scraper.as_mut(), &clock, over, &facts));
        }
        runtime.block_on(run.go(attack, phase_tx, ticket_tx, hooks, observer))
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    drop(shared);
    drop(facts);
    let record = recorder.finish();
    result.map(|()| record)
}

/// Sets the flag when dropped.
struct Over<'a>(&'a AtomicBool);

impl Drop for Over<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Runs `scraper` once a second from the drive's origin until `over`,
/// handing what it read to the recorder, stamped when it was read. After
/// a slow scrape the next one is a second from its end, not a burst to
/// catch up: a `Level` holds for the second that follows its reading.
fn scrape_every_second(scraper: &mut dyn Scrape, clock: &Clock, over: &AtomicBool, facts: &Facts) {
    let nap = |until: Instant| {
        while !over.load(Ordering::Relaxed) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(Duration::from_millis(20)));
        }
        false
    };
    let origin = loop {
        if let Some(o) = clock.origin() {
            break o;
        }
        if !nap(Instant::now() + Duration::from_millis(10)) {
            return;
        }
    };
    let mut next = origin + Duration::from_secs(1);
    let mut taken = Vec::new();
    while nap(next) {
        taken.clear();
        scraper.scrape(&mut taken);
        let at = clock.now().unwrap_or(0);
        for r in &taken {
            lay_down(facts, at, r);
        }
        next = (next + Duration::from_secs(1)).max(Instant::now() + Duration::from_millis(900));
    }
}

/// One reading as the recorder's facts.
fn lay_down(facts: &Facts, at: u64, r: &Reading) {
    match *r {
        Reading::Gauge(id, value) => facts.send(at, Fact::Gauge { id, value }),
        Reading::Count(id, n) => facts.send(at, Fact::Count { id, n }),
        Reading::Level(id, level) => {
            // The recorder holds facts until their time, so the second
            // half can be sent now.
            let level = level.max(0.0);
            let below = level.floor();
            let above_for = ((level - below) * 1e9) as u64;
            if above_for > 0 {
                let value = below as u64 + 1;
                facts.send(at, Fact::Gauge { id, value });
            }
            let value = below as u64;
            facts.send(at + above_for, Fact::Gauge { id, value });
        }
    }
}

/// goose's configuration and the lab's one scenario of two transactions.
fn attack(shared: &Arc<Shared>, target: &Target, users: usize, hard_stop: u64) -> Result<GooseAttack, LoadgenError> {
    let mut config = GooseConfiguration::default();
    config.host = Some(target.base().to_string());
    config.users = Some(users);
    // Every user at once: the pool must be ready before the first arrival.
    config.increase_rate = Some("1000000".into());
    // A backstop only: the drive stops goose itself when the traffic is
    // over. Whole seconds after every user started.
    config.run_time = Some(format!(
        "{}",
        hard_stop.div_ceil(1_000_000_000) + 2 + READY_WAIT.as_secs()
    ));
    config.quiet = 1;
    config.no_print_metrics = true;
    config.no_error_summary = true;
    config.no_metrics = true;
    config.no_telnet = true;
    config.no_gzip = true;
    let goose = |e: goose::GooseError| LoadgenError::Goose(e.to_string());

    let s = shared.clone();
    let on_start = Transaction::new(Arc::new(move |user: &mut GooseUser| {
        let s = s.clone();
        Box::pin(async move {
            // The scenario's client (its connect timeout, no redirects),
            // shared by every user: one connection pool.
            user.client = s.client.clone();
            let n = s.ready.fetch_add(1, Ordering::AcqRel) as u64;
            user.set_session_data(UserRng(Pcg64Mcg::seed_from_u64(
                s.seed ^ (n + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            )));
            TransactionResult::Ok(())
        })
    }))
    .set_name("start")
    .set_on_start();
    let s = shared.clone();
    let turn = Transaction::new(Arc::new(move |user: &mut GooseUser| {
        let s = s.clone();
        Box::pin(async move {
            if s.think.is_some() {
                s.closed_turn(user).await;
            } else {
                s.open_turn(user).await;
            }
            TransactionResult::Ok(())
        })
    }))
    .set_name("request");
    Ok(GooseAttack::initialize_with_config(config)
        .map_err(goose)?
        .register_scenario(
            GooseScenario::new("lab")
                .register_transaction(on_start)
                .register_transaction(turn),
        ))
}

/// The caller's hooks of [`Plan`].
struct Hooks {
    on_start: Option<Box<dyn FnOnce(Instant) + Send>>,
    stop: Option<Box<dyn Fn() -> bool + Send>>,
}

/// The driving thread's side of a drive.
struct Run<'a> {
    shared: &'a Arc<Shared>,
    clock: &'a Clock,
    facts: &'a Facts,
    duration: u64,
    hard_stop: u64,
    users: usize,
    profile: Option<lab_core::scenario::RateProfile>,
    mix: lab_core::scenario::Mix,
    seed: u64,
}

impl Run<'_> {
    async fn go(
        self,
        attack: GooseAttack,
        phase: watch::Sender<Phase>,
        tickets: flume::Sender<Ticket>,
        hooks: Hooks,
        observer: &mut dyn Observer,
    ) -> Result<(), LoadgenError> {
        // A stop left over from an earlier drive in this process would end
        // this one at once.
        goose::reset_killswitch();
        let mut goose_run = tokio::spawn(attack.execute());
        let asked = Instant::now();
        while self.shared.ready.load(Ordering::Acquire) < self.users && asked.elapsed() < READY_WAIT {
            if goose_run.is_finished() || hooks.stop.as_ref().is_some_and(|f| f()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // A little lead so that the first arrivals find their users waiting.
        let origin = self.clock.start(Instant::now() + Duration::from_millis(20));
        if let Some(f) = hooks.on_start {
            f(origin);
        }
        let _ = phase.send(Phase::Running);
        let cancel = Arc::new(AtomicBool::new(false));
        let scheduler = match &self.profile {
            Some(p) => Some(self.scheduler(p.clone(), tickets, cancel.clone())?),
            None => {
                drop(tickets);
                None
            }
        };

        let mut tick = tokio::time::interval(Duration::from_millis(50));
        let mut last = (Instant::now(), 0u64);
        let mut next_second = Instant::now() + Duration::from_secs(1);
        let mut stopping = false;
        let ended = loop {
            tokio::select! {
                r = &mut goose_run => break r,
                _ = tick.tick() => {}
            }
            let now = self.clock.now().unwrap_or(0);
            let live = &self.facts.live;
            let traffic_over = match &scheduler {
                Some(h) => h.is_finished(),
                None => now >= self.duration,
            };
            let done = (traffic_over && live.in_flight.load(Ordering::Relaxed) == 0) || now >= self.hard_stop;
            // goose's Ctrl-C handler sets the same switch: stop the
            // schedule too, or idle users would wait for tickets until its end.
            let asked_to_stop = hooks.stop.as_ref().is_some_and(|f| f());
            if !stopping && (done || asked_to_stop || goose::is_killswitch_triggered()) {
                stopping = true;
                let _ = phase.send(Phase::Stopping);
                cancel.store(true, Ordering::Relaxed);
                goose::trigger_killswitch("lab: the traffic is over");
            }
            if Instant::now() >= next_second {
                next_second = (next_second + Duration::from_secs(1)).max(Instant::now() + Duration::from_millis(900));
                let snap = self.snapshot(&mut last);
                observer.update(&snap);
            }
        };
        // Ctrl-C (goose's handler) or goose's own backstop ended the run.
        let _ = phase.send(Phase::Stopping);
        cancel.store(true, Ordering::Relaxed);
        if let Some(h) = scheduler {
            h.join().expect("the scheduler does not panic");
        }
        observer.finish(&self.snapshot(&mut last));
        match ended {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(LoadgenError::Goose(e.to_string())),
            Err(e) => Err(LoadgenError::Goose(format!("the attack's task failed: {e}"))),
        }
    }

    fn snapshot(&self, last: &mut (Instant, u64)) -> Snapshot {
        let live = &self.facts.live;
        let arrivals = live.arrivals.load(Ordering::Relaxed);
        let now = Instant::now();
        let secs = now.duration_since(last.0).as_secs_f64();
        let rate = if secs > 0.0 {
            (arrivals - last.1) as f64 / secs
        } else {
            0.0
        };
        *last = (now, arrivals);
        Snapshot {
            elapsed: Duration::from_nanos(self.clock.now().unwrap_or(0)),
            duration: Duration::from_nanos(self.duration),
            arrivals,
            ok: live.ok.load(Ordering::Relaxed),
            errors: live.errors.load(Ordering::Relaxed),
            dropped: live.dropped.load(Ordering::Relaxed),
            in_flight: live.in_flight.load(Ordering::Relaxed),
            rate,
        }
    }

    /// The open model's scheduler: a thread that sleeps to each arrival's
    /// time (an OS sleep, finer than the async runtime's millisecond
    /// timer) and hands its ticket to an idle user, or drops it.
    fn scheduler(
        &self,
        profile: lab_core::scenario::RateProfile,
        tickets: flume::Sender<Ticket>,
        cancel: Arc<AtomicBool>,
    ) -> Result<JoinHandle<()>, LoadgenError> {
        let (clock, facts, idle) = (self.clock.clone(), self.facts.clone(), self.shared.idle.clone());
        let dropped = self.shared.outcomes.id(Cause::Dropped);
        let duration = self.duration;
        // The simulator's draws: request n arrives when and for the
        // endpoint it does in a simulated run of the scenario.
        let requests = open(&profile, &self.mix, self.seed);
        // A bound on the count as well as the time: far beyond any Poisson
        // count of this profile's mean.
        let expected = profile.cumulative(duration);
        let max = (expected * 2.0 + 10.0 * expected.sqrt() + 1000.0) as u64;
        std::thread::Builder::new()
            .name("lab-arrivals".into())
            .spawn(move || {
                for (n, (at, endpoint)) in requests.enumerate() {
                    if at >= duration || n as u64 >= max {
                        break;
                    }
                    // Sleep in slices, so a stop is seen within 100 ms.
                    let when = clock.at(at);
                    loop {
                        if cancel.load(Ordering::Relaxed) {
                            return;
                        }
                        let left = when.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            break;
                        }
                        std::thread::sleep(left.min(Duration::from_millis(100)));
                    }
                    let taken = idle
                        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |i| i.checked_sub(1))
                        .is_ok();
                    if taken {
                        let _ = tickets.send(Ticket { at, endpoint });
                    } else {
                        facts.send(at, Fact::Arrival);
                        facts.live.dropped.fetch_add(1, Ordering::Relaxed);
                        facts.send(
                            at,
                            Fact::Outcome {
                                id: dropped,
                                endpoint: endpoint as u32,
                                latency: 0,
                            },
                        );
                    }
                }
            })
            .map_err(|source| LoadgenError::Start {
                what: "arrival scheduler",
                source,
            })
    }
}
