//! The application, described once: services and their operations, and
//! the endpoints clients request, each a program of steps.
//!
//! A step is PHP work (`cpu`), a SQL statement (`query`), a call to a
//! service's operation (`call = "catalog.list"`) or branches that run side
//! by side (`parallel`). Where a call runs depends on the era: in the
//! monolith eras (stone, bronze) it is a function call inside the same PHP
//! process, so [`App::monolith_program`] inlines it, and PHP, which has one
//! thread, runs parallel branches one after the other.
//!
//! A `transaction` groups steps between BEGIN and COMMIT on the request's
//! one MySQL connection: the row locks its queries take are held until the
//! COMMIT, which waits for a flush of InnoDB's redo log (group commit).

use super::dist::Dist;

#[derive(Clone, Debug, PartialEq)]
pub struct App {
    pub endpoints: Vec<Endpoint>,
    /// Row locks that queries take, by index from [`Query::lock`].
    pub locks: Vec<Lock>,
    /// Services whose operations steps call, by index from [`OpRef`].
    pub services: Vec<Service>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    pub name: String,
    pub steps: Vec<Step>,
    /// What the real stack costs per request beyond the steps' own work.
    pub overhead: Overhead,
}

/// CPU a request of an endpoint costs the real stack beyond its steps, at
/// speed 1 (`overhead = { web = "0.5ms", cold = "1ms", db = "0.25ms" }`,
/// written by `lab calibrate`): nginx and PHP-FPM handling the request,
/// the PHP interpreter, the database connection and statement parsing. The
/// simulator adds it (web: at the start of the request, plus `cold` when
/// the request finds a core of its web host idle; db: spread evenly over
/// its queries); a real deployment pays it by itself and burns the steps
/// only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Overhead {
    /// ns of PHP-FPM's host CPU, paid by every request.
    pub web: u64,
    /// ns of PHP-FPM's host CPU paid on top of `web` by a request that
    /// finds a core of its host idle: a CPU waking from idle, and nginx,
    /// the PHP child and their caches gone cold since they last ran. A
    /// busy host runs them back to back, warm (measured: a request cost
    /// the 1-core web host of `validate-bronze` 5.5 ms of CPU at 20 %
    /// load, 5.2 ms at 50 % and 4.8 ms at 85 %).
    pub cold: u64,
    /// ns of the database host's CPU.
    pub db: u64,
}

/// A service of the application (catalog, cart, order…) and what it offers.
#[derive(Clone, Debug, PartialEq)]
pub struct Service {
    pub name: String,
    pub ops: Vec<Op>,
}

/// One operation of a service, a program of steps like an endpoint's.
#[derive(Clone, Debug, PartialEq)]
pub struct Op {
    pub name: String,
    pub steps: Vec<Step>,
}

/// An operation by its service's and its own index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OpRef {
    pub service: usize,
    pub op: usize,
}

/// One piece of work a request does while it holds a PHP worker.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// PHP burns this much CPU on the host its pool runs on.
    Cpu(Dist),
    /// A SQL statement on the database's own connection.
    Query(Query),
    /// The operation's steps, run for this request.
    Call(OpRef),
    /// Branches that start together; the step ends when the last does.
    Parallel(Vec<Vec<Step>>),
    /// BEGIN, the steps, COMMIT. Validation keeps `parallel` and other
    /// transactions out of it, calls included: statements on one connection
    /// go one at a time, and InnoDB has no nested transactions.
    Transaction(Transaction),
}

/// Steps run between BEGIN and COMMIT on the request's connection.
#[derive(Clone, Debug, PartialEq)]
pub struct Transaction {
    pub steps: Vec<Step>,
    /// How long one redo-log flush (fsync) takes; drawn for every COMMIT,
    /// and a flush lasts what its first commit drew.
    pub commit_flush: Dist,
}

/// A query: optional row lock, then CPU on the database host, then waiting
/// (I/O, sleeps). The lock is held until the query ends (autocommit), or
/// inside a transaction until its COMMIT.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub name: String,
    pub db_cpu: Option<Dist>,
    pub db_wait: Option<Dist>,
    pub lock: Option<usize>,
}

/// A set of rows that queries lock exclusively; each query locks one row,
/// chosen uniformly (one row is a single hot row, such as a sale item's stock).
#[derive(Clone, Debug, PartialEq)]
pub struct Lock {
    pub name: String,
    pub rows: u32,
}

/// A step as the monolith runs it: calls inlined, branches in sequence.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Work<'a> {
    Cpu(&'a Dist),
    Query(&'a Query),
    /// START TRANSACTION: a statement with no work of its own.
    Begin,
    /// COMMIT: releases the transaction's row locks and waits for a redo-log
    /// flush that lasts `commit_flush`.
    Commit(&'a Dist),
}

impl App {
    pub fn endpoint_index(&self, name: &str) -> Option<usize> {
        self.endpoints.iter().position(|e| e.name == name)
    }

    pub fn op(&self, r: OpRef) -> &Op {
        &self.services[r.service].ops[r.op]
    }

    /// What one request of endpoint `i` does in a monolith era: every call
    /// inlined (a function call in the same PHP process) and parallel
    /// branches one after the other (PHP has one thread). Validation has
    /// ruled out call cycles and bounded the length.
    pub fn monolith_program(&self, i: usize) -> Vec<Work<'_>> {
        let mut out = Vec::new();
        self.inline(&self.endpoints[i].steps, &mut out);
        out
    }

    fn inline<'a>(&'a self, steps: &'a [Step], out: &mut Vec<Work<'a>>) {
        for s in steps {
            match s {
                Step::Cpu(d) => out.push(Work::Cpu(d)),
                Step::Query(q) => out.push(Work::Query(q)),
                Step::Call(r) => self.inline(&self.op(*r).steps, out),
                Step::Parallel(branches) => {
                    for b in branches {
                        self.inline(b, out);
                    }
                }
                Step::Transaction(t) => {
                    out.push(Work::Begin);
                    self.inline(&t.steps, out);
                    out.push(Work::Commit(&t.commit_flush));
                }
            }
        }
    }

    /// Calls and parallel branches a request of endpoint `i` makes, nested
    /// ones included: where calls are RPCs, each is a request of its own.
    pub fn subrequests(&self, i: usize) -> usize {
        fn count(app: &App, steps: &[Step]) -> usize {
            steps
                .iter()
                .map(|s| match s {
                    Step::Cpu(_) | Step::Query(_) => 0,
                    Step::Call(r) => 1 + count(app, &app.op(*r).steps),
                    Step::Parallel(b) => b.iter().map(|b| 1 + count(app, b)).sum(),
                    Step::Transaction(t) => count(app, &t.steps),
                })
                .sum()
        }
        count(self, &self.endpoints[i].steps)
    }

    /// Steps a request of endpoint `i` runs, calls and branches counted
    /// out, each call and branch counting as one more (the validation
    /// bounds this): the length of its monolith program and more.
    pub fn program_len(&self, i: usize) -> usize {
        fn len(app: &App, steps: &[Step]) -> usize {
            steps
                .iter()
                .map(|s| match s {
                    Step::Cpu(_) | Step::Query(_) => 1,
                    // A call and a branch count as steps (see the validation).
                    Step::Call(r) => 1 + len(app, &app.op(*r).steps),
                    Step::Parallel(b) => b.iter().map(|b| 1 + len(app, b)).sum(),
                    // BEGIN and COMMIT are steps of their own.
                    Step::Transaction(t) => len(app, &t.steps) + 2,
                })
                .sum()
        }
        len(self, &self.endpoints[i].steps)
    }
}
