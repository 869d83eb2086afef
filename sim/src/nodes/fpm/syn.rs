//! A dropped SYN's retransmissions, as the client's Linux kernel times
//! them.

use lab_core::scenario::Kernel;

use crate::engine::Time;

/// When a client's kernel retransmits a dropped SYN, as offsets from the
/// first one, and when `connect()` gives up ([`Kernel::syn_schedule`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynSchedule {
    pub retransmits: Vec<Time>,
    pub gives_up: Time,
}

impl SynSchedule {
    pub fn new(kernel: &Kernel) -> SynSchedule {
        let (retransmits, gives_up) = kernel.syn_schedule();
        SynSchedule { retransmits, gives_up }
    }

    /// What happens next to a connection whose SYN has been sent again
    /// `sent` times, when nginx gives up `connect_timeout` after the first:
    /// its offset from the first SYN, and what it is.
    pub fn next(&self, sent: usize, connect_timeout: Time) -> (Time, SynStep) {
        match self.retransmits.get(sent) {
            Some(&t) if t < connect_timeout => (t, SynStep::Retransmit),
            _ if self.gives_up < connect_timeout => (self.gives_up, SynStep::KernelGivesUp),
            _ => (connect_timeout, SynStep::NginxTimesOut),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SynStep {
    /// The SYN is sent again: it gets in if the backlog has room then.
    Retransmit,
    /// `connect()` fails with ETIMEDOUT: nginx answers 502.
    KernelGivesUp,
    /// `fastcgi_connect_timeout` passes first: nginx answers 504.
    NginxTimesOut,
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Time = 1_000_000_000;

    #[test]
    fn syn_retransmissions_follow_the_kernels_schedule() {
        let s = SynSchedule::new(&Kernel::default());
        assert_eq!(s.retransmits, [1, 3, 7, 15, 31, 63].map(|t| t * S));
        assert_eq!(s.gives_up, 127 * S);
        let linear = SynSchedule::new(&Kernel {
            tcp_syn_linear_timeouts: 4,
            ..Kernel::default()
        });
        assert_eq!(linear.retransmits, [1, 2, 3, 4, 5, 7, 11, 19, 35, 67].map(|t| t * S));
        assert_eq!(linear.gives_up, 131 * S);
        // nginx's 60 s connect timeout comes before the 63 s retransmission.
        assert_eq!(s.next(4, 60 * S), (31 * S, SynStep::Retransmit));
        assert_eq!(s.next(5, 60 * S), (60 * S, SynStep::NginxTimesOut));
        assert_eq!(s.next(5, 75 * S), (63 * S, SynStep::Retransmit));
        assert_eq!(s.next(6, 75 * S), (75 * S, SynStep::NginxTimesOut));
        // Two retries give up after 1 + 2 + 4 s.
        let short = SynSchedule::new(&Kernel {
            tcp_syn_retries: 2,
            ..Kernel::default()
        });
        assert_eq!(short.next(2, 60 * S), (7 * S, SynStep::KernelGivesUp));
        // The backoff stops doubling at TCP_RTO_MAX.
        let long = SynSchedule::new(&Kernel {
            tcp_syn_retries: 10,
            ..Kernel::default()
        });
        assert_eq!(long.retransmits[9] - long.retransmits[8], 120 * S);
    }
}
