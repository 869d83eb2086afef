//! VRRP as keepalived runs it: one router's state machine ([`Vrrp`]) and a
//! two-router harness ([`VrrpPair`]) that answers when the virtual address
//! moves.
//!
//! Sources, and where this model follows which:
//! - RFC 3768 (VRRPv2) §5.3.7, §6.1, §6.4 and RFC 5798 (VRRPv3) §6.1, §6.4:
//!   the timers, the Initialize/Backup/Master states, priority 0 on shutdown,
//!   the tie rule on the primary address.
//! - keepalived 2.x, `keepalived/include/vrrp.h`: `VRRP_TIMER_SKEW_CALC`,
//!   `VRRP_MS_DOWN_TIMER` (skew and master-down interval, in microseconds).
//! - keepalived 2.x, `keepalived/vrrp/vrrp.c`: `vrrp_state_backup` (which
//!   adverts reset the master-down timer, preempt_delay), `vrrp_state_master_rx`
//!   (stepping down; answering a lower-priority advert), `vrrp_state_leave_master`.
//! - keepalived 2.x, `keepalived/vrrp/vrrp_scheduler.c`: `vrrp_init_state`
//!   (only the owner skips the wait at start), `try_up_instance`,
//!   `vrrp_init_instance_sands`.
//! - keepalived 2.2.7 (Debian 12) measured on this machine, two network
//!   namespaces, tcpdump timestamps: the figures quoted below
//!   (`control/measure/keepalived_vrrp.py` repeats them).
//!
//! Where keepalived and the RFCs differ, keepalived wins, because it is what
//! `deploy` runs; each such place says so.
//!
//! # Why FACTS.md's `kill -9` measured 3.0 s, not 3.61 s
//!
//! The backup's master-down timer runs from the last advert it received, not
//! from the crash. A master killed φ after its last advert is replaced
//! 3.609375 s − φ after the kill, anywhere in (2.609375 s, 3.609375 s]: 3.0 s
//! is φ ≈ 0.61 s. keepalived 2.2.7 here, `kill -9` at φ = 0.05, 0.30, 0.61,
//! 0.80, 0.95 s: the backup's first advert came 3.560, 3.311, 3.001, 2.810,
//! 2.660 s after the kill, and every time 3.610–3.611 s after the master's
//! last advert (the model's 3.609375 s plus about 1 ms of scheduling). There
//! is no timer granularity or other skew formula at work. A graceful stop
//! (SIGTERM) was followed 0.612–0.614 s later by the backup's advert (the
//! priority-0 advert left 1–2 ms after the signal, then the 0.609375 s skew).

use std::fmt;

mod pair;

pub use pair::{Holders, Side, VipChange, VrrpPair};

/// One second in the nanoseconds every time here is counted in.
pub const SECOND: u64 = 1_000_000_000;
/// One millisecond in nanoseconds.
pub const MILLISECOND: u64 = 1_000_000;

/// The priority a router advertises while it shuts down (RFC 3768 §5.3.4):
/// backups then wait only the skew time.
pub const PRIORITY_STOP: u8 = 0;
/// The priority of the router that owns the virtual address: it starts as
/// master and always preempts (RFC 3768 §5.3.4, §6.4.1).
pub const PRIORITY_OWNER: u8 = 255;
/// keepalived's default priority (`VRRP_PRIO_DFL`).
pub const PRIORITY_DEFAULT: u8 = 100;
/// keepalived accepts `preempt_delay` from 0 to 1000 s (keepalived.conf(5)).
pub const PREEMPT_DELAY_MAX: u64 = 1000 * SECOND;

/// The protocol version: it decides how the skew time is computed and what
/// advertisement intervals can be expressed on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum VrrpVersion {
    /// RFC 3768, keepalived's default (`vrrp_version 2`). The advert interval
    /// travels as whole seconds (1–255).
    #[default]
    V2,
    /// RFC 5798. The advert interval travels as centiseconds (1–4095), and a
    /// backup adopts the interval its master advertises.
    V3,
}

/// The `state` keyword of a keepalived instance.
///
/// In keepalived 2.x it does not change when a router becomes master: every
/// router but the address owner starts as backup and waits a master-down
/// interval (RFC 3768 §6.4.1; `vrrp_init_state` fast-tracks only priority
/// 255 or a reload). Measured here: a lone `state MASTER` instance at
/// priority 200 sent its first advert 3.24–3.28 s after start (3 s + 56/256 s
/// = 3.21875 s, plus start-up). What `Master` does change: `nopreempt` and
/// `preempt_delay` work only from `BACKUP` (keepalived.conf(5)), so this
/// model refuses them with `Master`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum InitialState {
    /// `state MASTER`.
    Master,
    /// `state BACKUP`, keepalived's default.
    #[default]
    Backup,
}

/// One keepalived `vrrp_instance`, in the units of this crate (nanoseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VrrpConfig {
    /// `vrrp_version`.
    pub version: VrrpVersion,
    /// `advert_int`: how often a master advertises. Default 1 s.
    pub advert_int: u64,
    /// `priority`, 1..=255; 255 is the address owner. Default 100.
    pub priority: u8,
    /// `preempt` (default) or `nopreempt` (false): whether a backup with a
    /// higher priority than the master takes over from it.
    pub preempt: bool,
    /// `preempt_delay`: how long a backup accepts a lower-priority master
    /// before preempting it. Default 0.
    pub preempt_delay: u64,
    /// `state`. Default [`InitialState::Backup`].
    pub initial: InitialState,
    /// The router's primary IPv4 address as a number: it breaks ties between
    /// equal priorities (the higher address wins, RFC 3768 §6.4.3, keepalived's
    /// `vrrp_saddr_cmp`).
    pub address: u32,
}

impl Default for VrrpConfig {
    fn default() -> Self {
        Self {
            version: VrrpVersion::V2,
            advert_int: SECOND,
            priority: PRIORITY_DEFAULT,
            preempt: true,
            preempt_delay: 0,
            initial: InitialState::Backup,
            address: 0,
        }
    }
}

/// Why a [`VrrpConfig`] cannot run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VrrpConfigError {
    /// Priority 0 is reserved for the shutdown advert.
    PriorityZero,
    /// A VRRPv2 advert interval must be whole seconds, 1 to 255.
    AdvertIntV2(u64),
    /// A VRRPv3 advert interval must be whole centiseconds, 10 ms to 40.95 s.
    AdvertIntV3(u64),
    /// `nopreempt` works only from `state BACKUP` (keepalived.conf(5)).
    NopreemptNeedsBackup,
    /// `preempt_delay` works only from `state BACKUP` (keepalived.conf(5)).
    PreemptDelayNeedsBackup,
    /// `preempt_delay` above keepalived's 1000 s.
    PreemptDelayTooLong(u64),
    /// The address owner always preempts (RFC 3768 §6.1, `Preempt_Mode`).
    OwnerCannotNopreempt,
}

impl fmt::Display for VrrpConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::PriorityZero => write!(f, "priority must be 1..=255 (0 is the shutdown advert)"),
            Self::AdvertIntV2(ns) => write!(f, "VRRPv2 advert_int must be whole seconds in 1..=255, not {ns} ns"),
            Self::AdvertIntV3(ns) => {
                write!(
                    f,
                    "VRRPv3 advert_int must be whole centiseconds in 10 ms..=40.95 s, not {ns} ns"
                )
            }
            Self::NopreemptNeedsBackup => write!(f, "nopreempt needs initial state BACKUP"),
            Self::PreemptDelayNeedsBackup => write!(f, "preempt_delay needs initial state BACKUP"),
            Self::PreemptDelayTooLong(ns) => write!(f, "preempt_delay must be at most 1000 s, not {ns} ns"),
            Self::OwnerCannotNopreempt => write!(f, "the address owner (priority 255) always preempts"),
        }
    }
}

impl std::error::Error for VrrpConfigError {}

impl VrrpConfig {
    /// Checks the combinations keepalived refuses or silently ignores.
    pub fn validate(&self) -> Result<(), VrrpConfigError> {
        if self.priority == PRIORITY_STOP {
            return Err(VrrpConfigError::PriorityZero);
        }
        let centi = 10 * MILLISECOND;
        match self.version {
            VrrpVersion::V2 if self.advert_int % SECOND != 0 || !(1..=255).contains(&(self.advert_int / SECOND)) => {
                return Err(VrrpConfigError::AdvertIntV2(self.advert_int));
            }
            VrrpVersion::V3 if self.advert_int % centi != 0 || !(1..=4095).contains(&(self.advert_int / centi)) => {
                return Err(VrrpConfigError::AdvertIntV3(self.advert_int));
            }
            _ => {}
        }
        if self.priority == PRIORITY_OWNER && !self.preempt {
            return Err(VrrpConfigError::OwnerCannotNopreempt);
        }
        if self.initial == InitialState::Master && !self.preempt {
            return Err(VrrpConfigError::NopreemptNeedsBackup);
        }
        if self.preempt_delay > PREEMPT_DELAY_MAX {
            return Err(VrrpConfigError::PreemptDelayTooLong(self.preempt_delay));
        }
        if self.initial == InitialState::Master && self.preempt_delay > 0 {
            return Err(VrrpConfigError::PreemptDelayNeedsBackup);
        }
        Ok(())
    }

    /// `Skew_Time` for this router's own advert interval.
    pub fn skew_time(&self) -> u64 {
        skew_time(self.version, self.priority, self.advert_int)
    }

    /// `Master_Down_Interval` for this router's own advert interval: how long
    /// a backup waits after the last advert before it takes over.
    pub fn master_down_interval(&self) -> u64 {
        master_down_interval(self.version, self.priority, self.advert_int)
    }
}

/// `Skew_Time`: lets the highest-priority backup time out first, so that two
/// backups do not both claim the address.
///
/// VRRPv2 (RFC 3768 §6.1): (256 − priority) / 256 s, whatever the advert
/// interval. VRRPv3 (RFC 5798 §6.1): (256 − priority) × Master_Adver_Interval
/// / 256. Both are exact in nanoseconds for the intervals VRRPv2 allows and
/// for whole seconds or half seconds in VRRPv3; other v3 intervals are
/// rounded down to the nanosecond. keepalived computes in microseconds and
/// rounds down there (`VRRP_TIMER_SKEW_CALC`: v3 0.5 s at priority 100 gives
/// 304687 µs, this gives 304687.5 µs).
pub fn skew_time(version: VrrpVersion, priority: u8, master_adver_int: u64) -> u64 {
    let weight = 256 - u64::from(priority);
    match version {
        VrrpVersion::V2 => weight * SECOND / 256,
        VrrpVersion::V3 => weight * master_adver_int / 256,
    }
}

/// `Master_Down_Interval` = 3 × Master_Adver_Interval + Skew_Time
/// (RFC 3768 §6.1, RFC 5798 §6.1, keepalived's `VRRP_MS_DOWN_TIMER` with its
/// default `down_timer_adverts` 3).
pub fn master_down_interval(version: VrrpVersion, priority: u8, master_adver_int: u64) -> u64 {
    3 * master_adver_int + skew_time(version, priority, master_adver_int)
}

/// Where a router stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VrrpState {
    /// Not running: never started, stopped, or crashed (RFC "Initialize").
    Init,
    /// Watching the master; takes over when its master-down timer expires.
    Backup,
    /// Holds the virtual address and advertises every advert interval.
    Master,
    /// keepalived's FAULT: its interface is down, it holds nothing and waits.
    Fault,
}

/// One VRRP advertisement as this model needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Advert {
    /// The sender's priority; [`PRIORITY_STOP`] when it is shutting down.
    pub priority: u8,
    /// The sender's primary address (tie-break).
    pub address: u32,
    /// The sender's advert interval (read by VRRPv3 backups only).
    pub advert_int: u64,
}

/// What to do with the virtual address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum VipAction {
    /// Leave it as it is.
    #[default]
    Keep,
    /// Add the virtual address and send gratuitous ARPs (keepalived: 5 at
    /// once, 5 more 5 s later) so that neighbours send it to this router.
    Take,
    /// Remove the virtual address if present (idempotent).
    Release,
}

/// What a router does in answer to one call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reaction {
    /// The change to the virtual address, if any.
    pub vip: VipAction,
    /// An advertisement to multicast now, if any.
    pub advert: Option<Advert>,
}

impl Reaction {
    /// Nothing to do.
    pub const NONE: Reaction = Reaction {
        vip: VipAction::Keep,
        advert: None,
    };

    fn send(advert: Advert) -> Self {
        Self {
            vip: VipAction::Keep,
            advert: Some(advert),
        }
    }
}

/// One router's VRRP state machine, driven by its caller.
///
/// The caller owns time and the network: it calls [`start`](Self::start),
/// hands in each advert it delivers ([`advert_received`](Self::advert_received)),
/// calls [`timer_fired`](Self::timer_fired) once [`next_timer`](Self::next_timer)
/// is due, and applies each [`Reaction`]. Every call is O(1) and allocates
/// nothing. Time must not run backwards (checked in debug builds).
///
/// Not modelled: tracked scripts and interfaces that change the effective
/// priority, sync groups, authentication, unicast peers, more than one
/// virtual router per call, keepalived's `vrrp_lower_prio_no_advert` and
/// `down_timer_adverts` options (their defaults are).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vrrp {
    config: VrrpConfig,
    state: VrrpState,
    /// Master: when to advertise next. Backup: when the master is deemed down.
    timer: Option<u64>,
    /// VRRPv3 backups time out on the interval their master advertises.
    master_adver_int: u64,
    /// keepalived's `preempt_time`: lower-priority adverts still reset the
    /// master-down timer until then. `None` while no lower master was heard.
    preempt_until: Option<u64>,
    now: u64,
}

impl Vrrp {
    /// A router that has not started yet ([`VrrpState::Init`]).
    pub fn new(config: VrrpConfig) -> Result<Self, VrrpConfigError> {
        config.validate()?;
        Ok(Self {
            config,
            state: VrrpState::Init,
            timer: None,
            master_adver_int: config.advert_int,
            preempt_until: None,
            now: 0,
        })
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &VrrpConfig {
        &self.config
    }

    /// Its current state.
    pub fn state(&self) -> VrrpState {
        self.state
    }

    /// Whether it is master (and so believes it holds the virtual address).
    pub fn is_master(&self) -> bool {
        self.state == VrrpState::Master
    }

    /// When [`timer_fired`](Self::timer_fired) is next due, if ever. It
    /// changes after most calls; a caller that scheduled an older deadline
    /// may still fire it: a call before the deadline does nothing.
    pub fn next_timer(&self) -> Option<u64> {
        self.timer
    }

    /// The advert interval this router times its master by (its own, or in
    /// VRRPv3 the one its master advertised).
    pub fn master_adver_int(&self) -> u64 {
        self.master_adver_int
    }

    /// The skew time it would wait after a shutdown advert now.
    pub fn skew_time(&self) -> u64 {
        skew_time(self.config.version, self.config.priority, self.master_adver_int)
    }

    /// The master-down interval it would wait after an advert now.
    pub fn master_down_interval(&self) -> u64 {
        master_down_interval(self.config.version, self.config.priority, self.master_adver_int)
    }

    /// The advert it sends as master.
    pub fn advert(&self) -> Advert {
        Advert {
            priority: self.config.priority,
            address: self.config.address,
            advert_int: self.config.advert_int,
        }
    }

    /// Starts the router (also after [`stop`](Self::stop) or [`crash`](Self::crash)).
    ///
    /// The owner becomes master at once; everyone else, `state MASTER`
    /// included (see [`InitialState`]), becomes backup for a master-down
    /// interval and releases any address a killed predecessor left behind
    /// (keepalived logs "removing VIPs" at start). Does nothing if it is
    /// already running.
    pub fn start(&mut self, now: u64) -> Reaction {
        self.advance(now);
        if self.state != VrrpState::Init {
            return Reaction::NONE;
        }
        if self.config.priority == PRIORITY_OWNER {
            return self.become_master(now);
        }
        self.become_backup(now, self.config.advert_int);
        Reaction {
            vip: VipAction::Release,
            advert: None,
        }
    }

    /// The same as [`start`](Self::start); named for the caller that brings
    /// a crashed router back.
    pub fn restart(&mut self, now: u64) -> Reaction {
        self.start(now)
    }

    /// An advert from the other router arrived.
    pub fn advert_received(&mut self, now: u64, advert: Advert) -> Reaction {
        self.advance(now);
        match self.state {
            VrrpState::Backup => self.backup_received(now, advert),
            VrrpState::Master => self.master_received(now, advert),
            VrrpState::Init | VrrpState::Fault => Reaction::NONE,
        }
    }

    /// The deadline of [`next_timer`](Self::next_timer) is reached: a master
    /// advertises, a backup takes over. Early or stale calls do nothing.
    pub fn timer_fired(&mut self, now: u64) -> Reaction {
        self.advance(now);
        if self.timer.is_none_or(|t| now < t) {
            return Reaction::NONE;
        }
        match self.state {
            VrrpState::Master => {
                self.timer = Some(now + self.config.advert_int);
                Reaction::send(self.advert())
            }
            VrrpState::Backup => self.become_master(now),
            VrrpState::Init | VrrpState::Fault => Reaction::NONE,
        }
    }

    /// Graceful shutdown (`systemctl stop keepalived`): a master releases the
    /// address and advertises priority 0 so its backup waits only the skew
    /// time (RFC 3768 §6.4.3 "Shutdown"; keepalived `shutdown_vrrp_instances`).
    pub fn stop(&mut self, now: u64) -> Reaction {
        self.advance(now);
        let was_master = self.is_master();
        self.halt(VrrpState::Init);
        if was_master { self.resign() } else { Reaction::NONE }
    }

    /// The process dies (`kill -9`, a host crash): it sends nothing and
    /// removes nothing, so an address it held stays on its interface.
    pub fn crash(&mut self) -> Reaction {
        self.halt(VrrpState::Init);
        Reaction::NONE
    }

    /// keepalived sees its interface go down and enters FAULT: a master
    /// releases the address and advertises priority 0 (`vrrp_state_leave_master`
    /// with FAULT), which reaches the backup only if the fault is local.
    pub fn fault(&mut self, now: u64) -> Reaction {
        self.advance(now);
        let was_master = self.is_master();
        if self.state == VrrpState::Init {
            return Reaction::NONE;
        }
        self.halt(VrrpState::Fault);
        if was_master { self.resign() } else { Reaction::NONE }
    }

    /// The interface is back: the owner leaves FAULT as master, everyone else
    /// as backup for a master-down interval (keepalived's `try_up_instance`).
    pub fn recover(&mut self, now: u64) -> Reaction {
        self.advance(now);
        if self.state != VrrpState::Fault {
            return Reaction::NONE;
        }
        if self.config.priority == PRIORITY_OWNER {
            return self.become_master(now);
        }
        self.become_backup(now, self.config.advert_int);
        Reaction::NONE
    }

    // RFC 3768 §6.4.2 as keepalived's `vrrp_state_backup` has it.
    fn backup_received(&mut self, now: u64, advert: Advert) -> Reaction {
        let mine = self.config.priority;
        if advert.priority == PRIORITY_STOP {
            self.timer = Some(now + self.skew_time());
            return Reaction::NONE;
        }
        let delaying = self.config.preempt_delay > 0 && self.preempt_until.is_none_or(|t| t > now);
        if !self.config.preempt || advert.priority >= mine || delaying {
            if self.config.version == VrrpVersion::V3 {
                self.master_adver_int = advert.advert_int;
            }
            self.timer = Some(now + self.master_down_interval());
            if self.config.preempt_delay > 0 {
                if advert.priority >= mine {
                    self.preempt_until = None;
                } else if self.preempt_until.is_none() {
                    // keepalived 2.x starts the delay at the first lower
                    // master it hears, not at process start.
                    self.preempt_until = Some(now + self.config.preempt_delay);
                }
            }
        }
        // Otherwise the advert is discarded and the timer runs on: a
        // higher-priority backup takes over when the master-down interval
        // since the last accepted advert is out, not at once (keepalived ≥ 2.0;
        // 1.x forced an election on the spot).
        Reaction::NONE
    }

    // RFC 3768 §6.4.3 as keepalived's `vrrp_state_master_rx` has it.
    fn master_received(&mut self, now: u64, advert: Advert) -> Reaction {
        let mine = self.config.priority;
        if advert.priority == PRIORITY_STOP {
            // Another master is leaving; assert ourselves so backups that
            // just armed a skew-time timer hear a master.
            return Reaction::send(self.advert());
        }
        let theirs_wins = advert.priority > mine || (advert.priority == mine && advert.address > self.config.address);
        if theirs_wins {
            let interval = if self.config.version == VrrpVersion::V3 {
                advert.advert_int
            } else {
                self.config.advert_int
            };
            self.become_backup(now, interval);
            return Reaction {
                vip: VipAction::Release,
                advert: None,
            };
        }
        if advert.priority == mine && advert.address == self.config.address {
            return Reaction::NONE; // our own address: keepalived only warns
        }
        // A lower-priority master (the end of a split brain): keepalived
        // answers at once so it steps down now rather than at our next advert
        // (`vrrp_lower_prio_no_advert` off, the default). The RFC discards it.
        Reaction::send(self.advert())
    }

    fn become_master(&mut self, now: u64) -> Reaction {
        self.state = VrrpState::Master;
        self.master_adver_int = self.config.advert_int;
        self.timer = Some(now + self.config.advert_int);
        self.preempt_until = None;
        Reaction {
            vip: VipAction::Take,
            advert: Some(self.advert()),
        }
    }

    fn become_backup(&mut self, now: u64, master_adver_int: u64) {
        self.state = VrrpState::Backup;
        self.master_adver_int = master_adver_int;
        self.timer = Some(now + self.master_down_interval());
        self.preempt_until = None;
    }

    fn halt(&mut self, state: VrrpState) {
        self.state = state;
        self.timer = None;
        self.preempt_until = None;
        self.master_adver_int = self.config.advert_int;
    }

    fn resign(&self) -> Reaction {
        Reaction {
            vip: VipAction::Release,
            advert: Some(Advert {
                priority: PRIORITY_STOP,
                ..self.advert()
            }),
        }
    }

    fn advance(&mut self, now: u64) {
        debug_assert!(now >= self.now, "time ran backwards: {now} < {}", self.now);
        self.now = now;
    }
}

#[cfg(test)]
mod tests;
