//! nginx's connection slots: `worker_processes` workers, each with
//! `worker_connections` connections for everything it holds.
//!
//! Each worker keeps [`Nginx::RESERVED_PER_WORKER`] for itself (its
//! listening sockets and its channel to the master); a proxied request
//! takes two of the rest, the client's connection when it is accepted and
//! FPM's when nginx connects upstream, and gives them back when nginx has
//! answered or the client has gone.
//!
//! When a worker has no free connection, `ngx_event_accept` has already
//! accepted the client's socket; `ngx_get_connection` fails ("worker_connections
//! are not enough") and nginx closes it at once: the client sees its
//! connection closed without a response. With one connection left, the
//! client's is accepted and FPM's cannot be had: nginx answers 500.
//! (`accept_mutex`, off by default since 1.11.3, would instead leave
//! clients in the listen queue while a worker is nearly full.)
//!
//! The workers are pooled as if the kernel spread connections evenly over
//! them: `workers × ⌊free per worker / 2⌋` requests fit, and the next one
//! meets a worker with one connection left (500) if the free count per
//! worker is odd, none (closed) if it is even.

use lab_core::scenario::Nginx;

/// Whether nginx can take a new client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    Yes,
    /// No connection left: the client's is closed without a response.
    Closed,
    /// The client's connection, but none for FPM: 500.
    NoUpstream,
}

pub struct Conns {
    capacity: u64,
    /// What the next client meets once `capacity` requests are held.
    beyond: Admit,
    held: u64,
}

impl Conns {
    /// nginx on a host of `cores` cores.
    pub fn new(cfg: &Nginx, cores: u32) -> Conns {
        let free = cfg.worker_connections - Nginx::RESERVED_PER_WORKER;
        Conns {
            capacity: Conns::capacity(cfg, cores),
            beyond: if free % 2 == 1 {
                Admit::NoUpstream
            } else {
                Admit::Closed
            },
            held: 0,
        }
    }

    /// The requests nginx can hold at once.
    pub fn capacity(cfg: &Nginx, cores: u32) -> u64 {
        let free = cfg.worker_connections - Nginx::RESERVED_PER_WORKER;
        u64::from(cfg.workers(cores)) * u64::from(free / 2)
    }

    /// A client connects; on `Admit::Yes` it holds its two connections
    /// until [`Conns::release`].
    #[inline]
    pub fn admit(&mut self) -> Admit {
        if self.held < self.capacity {
            self.held += 1;
            Admit::Yes
        } else {
            self.beyond
        }
    }

    #[inline]
    pub fn release(&mut self) {
        debug_assert!(self.held > 0);
        self.held -= 1;
    }

    #[cfg(test)]
    pub fn held(&self) -> u64 {
        self.held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nginx(workers: Option<u32>, connections: u32) -> Nginx {
        Nginx {
            fastcgi_read_timeout: None,
            fastcgi_connect_timeout: 60_000_000_000,
            worker_processes: workers,
            worker_connections: connections,
        }
    }

    #[test]
    fn debians_nginx_on_four_cores_holds_1528_requests() {
        // 768 − 3 = 765 free per worker: 382 requests and one connection left.
        let mut c = Conns::new(&nginx(None, 768), 4);
        assert_eq!(Conns::capacity(&nginx(None, 768), 4), 4 * 382);
        for _ in 0..1528 {
            assert_eq!(c.admit(), Admit::Yes);
        }
        assert_eq!(c.admit(), Admit::NoUpstream);
        c.release();
        assert_eq!(c.admit(), Admit::Yes);
    }

    #[test]
    fn an_even_count_per_worker_leaves_nothing_to_accept_with() {
        // 7 − 3 = 4 free: two requests per worker, then the client's
        // connection itself cannot be had.
        let mut c = Conns::new(&nginx(Some(2), 7), 64);
        for _ in 0..4 {
            assert_eq!(c.admit(), Admit::Yes);
        }
        assert_eq!(c.admit(), Admit::Closed);
        assert_eq!(c.held(), 4);
    }
}
