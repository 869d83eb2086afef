//! HAProxy's settings as a silver (and later) era's balancer runs them, with
//! HAProxy 2.6's defaults and the ones Debian's `haproxy.cfg` ships (see
//! `docs/scenario.md` for the sources).

/// `balance`: how HAProxy picks a server for a new connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Balance {
    /// Each server in turn, by weight; HAProxy 2.6's default.
    #[default]
    RoundRobin,
    /// Each server in turn, weights fixed at start.
    StaticRr,
    /// The server with the fewest connections (ties in turn).
    LeastConn,
    /// The first server (by id) with a free connection slot under its
    /// `maxconn`; the next ones only take the overflow.
    First,
    /// A hash of the client's address: one client, one server (how the
    /// hash maps to servers is [`Haproxy::hash_type`]).
    Source,
    /// `random(draws)`: the least loaded of `draws` servers drawn at random
    /// (`random(2)` is the power of two choices).
    Random { draws: u32 },
}

impl Balance {
    pub fn name(&self) -> &'static str {
        match self {
            Balance::RoundRobin => "roundrobin",
            Balance::StaticRr => "static-rr",
            Balance::LeastConn => "leastconn",
            Balance::First => "first",
            Balance::Source => "source",
            Balance::Random { .. } => "random",
        }
    }
}

/// `hash-type`: how `balance source` turns a hash into a server.
///
/// HAProxy 2.6 (configuration.txt, `hash-type`): `map-based` is the default
/// and is "not consistent": a server going down or up changes the whole map,
/// so most clients move; `consistent` places each server on a tree many times
/// (in proportion to its weight) and only the clients of the server that
/// changed move.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HashType {
    #[default]
    MapBased,
    Consistent,
}

/// A server's `check` with its timing (`inter`, `fastinter`, `downinter`,
/// `rise`, `fall`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthCheck {
    /// Between checks of a server that is up (and everywhere else by default).
    pub inter: u64,
    /// Between checks while a server is changing state (up but failing, or
    /// down but passing) and before its first check has passed; defaults to
    /// `inter` (`srv_getinter()` in HAProxy's server.c).
    pub fastinter: u64,
    /// Between checks of a server that is down; defaults to `inter`.
    pub downinter: u64,
    /// Consecutive passed checks that mark a down server up.
    pub rise: u32,
    /// Consecutive failed checks that mark an up server down.
    pub fall: u32,
}

impl HealthCheck {
    pub const DEFAULT_INTER_NS: u64 = 2_000_000_000;
    pub const DEFAULT_RISE: u32 = 2;
    pub const DEFAULT_FALL: u32 = 3;
}

impl Default for HealthCheck {
    fn default() -> Self {
        HealthCheck {
            inter: Self::DEFAULT_INTER_NS,
            fastinter: Self::DEFAULT_INTER_NS,
            downinter: Self::DEFAULT_INTER_NS,
            rise: Self::DEFAULT_RISE,
            fall: Self::DEFAULT_FALL,
        }
    }
}

/// One HAProxy frontend and its backend of web servers.
#[derive(Clone, Debug, PartialEq)]
pub struct Haproxy {
    pub balance: Balance,
    /// The frontend's `maxconn`: connections beyond it wait in the kernel's
    /// accept queue, not in HAProxy.
    pub maxconn: u32,
    /// Each server's `maxconn`; above it requests queue in HAProxy. 0 = no limit.
    pub server_maxconn: u32,
    /// Each server's `maxqueue`: beyond this many requests queued for it,
    /// leastconn sends the next ones to another server or the backend's
    /// queue, and `balance source` answers 503 (with cookie persistence,
    /// which is not modelled, `option redispatch` would move them). 0 = no
    /// limit.
    pub maxqueue: u32,
    /// `timeout connect`: a connection to a server that does not answer
    /// fails after this (then `retries`).
    pub timeout_connect: u64,
    /// `timeout queue`: a request queued this long gets 503. Defaults to
    /// `timeout connect`.
    pub timeout_queue: u64,
    /// `timeout server`: a server silent this long after the request was
    /// sent gets 504.
    pub timeout_server: u64,
    /// `timeout check`: when unset a health check that gets no answer fails
    /// after `inter` (connect and response together); when set the connect
    /// may take min(`inter`, `timeout connect`) (configuration.txt,
    /// `timeout check`).
    pub timeout_check: Option<u64>,
    /// `hash-type` for `balance source`.
    pub hash_type: HashType,
    /// `check` on every server; `None` = no health checks (a dead server
    /// keeps its share of traffic for ever).
    pub check: Option<HealthCheck>,
    /// `retries`: connection attempts after the first one fails.
    pub retries: u32,
    /// `option redispatch`: the last retry goes to another server (and, in
    /// HAProxy 2.4–2.6, every retry when the algorithm is roundrobin,
    /// static-rr or random and more than one server is up); a server marked
    /// DOWN hands its queue back to the balancer.
    pub redispatch: bool,
}

impl Haproxy {
    /// Debian's `haproxy.cfg` (`defaults`): `timeout connect 5000`.
    pub const DEFAULT_TIMEOUT_CONNECT_NS: u64 = 5_000_000_000;
    /// Debian's `haproxy.cfg` (`defaults`): `timeout server 50000`.
    pub const DEFAULT_TIMEOUT_SERVER_NS: u64 = 50_000_000_000;
    /// HAProxy's `DEFAULT_MAXCONN` when nothing sets `maxconn`.
    pub const DEFAULT_MAXCONN: u32 = 2000;
    /// `retries` defaults to 3 (`CONN_RETRIES`).
    pub const DEFAULT_RETRIES: u32 = 3;
    /// Debian's `haproxy.cfg` (`defaults`): `timeout client 50000`, which
    /// `lab` writes too (not a scenario key). With neither `timeout
    /// http-keep-alive` nor `timeout http-request` set, it is also how long
    /// HAProxy keeps a client's idle kept-alive connection open
    /// (configuration.txt, `timeout http-keep-alive`).
    pub const TIMEOUT_CLIENT_NS: u64 = 50_000_000_000;
}

impl Default for Haproxy {
    fn default() -> Self {
        Haproxy {
            balance: Balance::default(),
            maxconn: Self::DEFAULT_MAXCONN,
            server_maxconn: 0,
            maxqueue: 0,
            timeout_connect: Self::DEFAULT_TIMEOUT_CONNECT_NS,
            timeout_queue: Self::DEFAULT_TIMEOUT_CONNECT_NS,
            timeout_server: Self::DEFAULT_TIMEOUT_SERVER_NS,
            timeout_check: None,
            hash_type: HashType::default(),
            check: Some(HealthCheck::default()),
            retries: Self::DEFAULT_RETRIES,
            redispatch: false,
        }
    }
}
