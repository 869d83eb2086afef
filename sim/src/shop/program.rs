//! The application's programs as the shop runs them.
//!
//! In the monolith eras (stone, bronze, silver) a call is a function call
//! inside the same PHP child, so its steps are inlined, and PHP, which has
//! one thread, runs parallel branches one after the other. In gold a call
//! is an RPC to the service's cluster: the operation is a program of its
//! own (framed by the callee's decoding and encoding of the messages), and
//! a `parallel` step forks branches that run side by side in the caller's
//! child (curl_multi for the calls, one MySQL connection per branch).

use lab_core::scenario::{App, Overhead, Query, Step, Work};

use crate::sample::Sampler;

pub(super) enum CompiledStep {
    Cpu(Sampler),
    /// What the real stack costs an endpoint's request beyond its steps on
    /// the web host (its `overhead`): `web` ns, and `cold` more when the
    /// request finds a core of the host idle.
    Overhead {
        web: u64,
        cold: u64,
    },
    Query {
        db_cpu: Option<Sampler>,
        db_wait: Option<Sampler>,
        lock: Option<(usize, u32)>,
    },
    Begin,
    /// The length of a redo-log flush, drawn by every commit.
    Commit(Sampler),
    /// A remote call to service `service`'s operation, program `program`.
    Call {
        program: u32,
        service: u32,
    },
    /// Branches (programs `first`…`first + count - 1`) that run side by side.
    Fork {
        first: u32,
        count: u32,
    },
    /// A callee decodes the call or encodes its answer (CPU drawn from the
    /// network stream: it exists in gold only, and must not shift the
    /// draws every era shares).
    RpcCpu,
}

fn query(app: &App, q: &Query) -> CompiledStep {
    CompiledStep::Query {
        db_cpu: q.db_cpu.as_ref().map(Sampler::new),
        db_wait: q.db_wait.as_ref().map(Sampler::new),
        lock: q.lock.map(|l| (l, app.locks[l].rows)),
    }
}

/// Every program: the endpoints' first, by endpoint index; with `remote`
/// calls (gold), then each service's operations in order, then the
/// parallel branches.
pub(super) fn compile(app: &App, remote: bool) -> Vec<Vec<CompiledStep>> {
    assert!(u32::try_from(app.endpoints.len()).is_ok(), "fewer than 2^32 endpoints");
    if !remote {
        return (0..app.endpoints.len())
            .map(|i| with_overhead(monolith(app, i), app.endpoints[i].overhead))
            .collect();
    }
    let mut op_base = Vec::with_capacity(app.services.len());
    let mut n = app.endpoints.len();
    for s in &app.services {
        op_base.push(n);
        n += s.ops.len();
    }
    let mut c = Compiler {
        app,
        op_base,
        programs: (0..n).map(|_| Vec::new()).collect(),
    };
    for (i, e) in app.endpoints.iter().enumerate() {
        let p = c.steps(&e.steps);
        c.programs[i] = with_overhead(p, e.overhead);
    }
    for (si, s) in app.services.iter().enumerate() {
        for (oi, op) in s.ops.iter().enumerate() {
            let mut p = vec![CompiledStep::RpcCpu];
            p.extend(c.steps(&op.steps));
            p.push(CompiledStep::RpcCpu);
            c.programs[c.op_base[si] + oi] = p;
        }
    }
    assert!(u32::try_from(c.programs.len()).is_ok(), "fewer than 2^32 programs");
    c.programs
}

/// An endpoint's program with what the real stack costs beyond its steps:
/// the web share as CPU at the start of the request (nginx and FPM take it
/// before the script runs; cold or warm as the host is idle or busy then),
/// the database share spread evenly over the program's own queries
/// (connecting, parsing), dropped when it has none.
fn with_overhead(mut program: Vec<CompiledStep>, o: Overhead) -> Vec<CompiledStep> {
    let queries = program
        .iter()
        .filter(|s| matches!(s, CompiledStep::Query { .. }))
        .count() as u64;
    if o.db > 0 && queries > 0 {
        let each = o.db / queries;
        for s in &mut program {
            if let CompiledStep::Query { db_cpu, .. } = s {
                *db_cpu = Some(match db_cpu.take() {
                    Some(d) => Sampler::Shifted(each, Box::new(d)),
                    None => Sampler::Const(each),
                });
            }
        }
    }
    if o.web > 0 || o.cold > 0 {
        program.insert(
            0,
            CompiledStep::Overhead {
                web: o.web,
                cold: o.cold,
            },
        );
    }
    program
}

/// Endpoint `i`'s program with its calls inlined.
fn monolith(app: &App, i: usize) -> Vec<CompiledStep> {
    let program = app.monolith_program(i);
    assert!(
        u32::try_from(program.len()).is_ok(),
        "fewer than 2^32 steps per endpoint"
    );
    program
        .into_iter()
        .map(|w| match w {
            Work::Cpu(d) => CompiledStep::Cpu(Sampler::new(d)),
            Work::Query(q) => query(app, q),
            Work::Begin => CompiledStep::Begin,
            Work::Commit(d) => CompiledStep::Commit(Sampler::new(d)),
        })
        .collect()
}

struct Compiler<'a> {
    app: &'a App,
    /// Each service's first operation's program.
    op_base: Vec<usize>,
    programs: Vec<Vec<CompiledStep>>,
}

impl Compiler<'_> {
    fn steps(&mut self, steps: &[Step]) -> Vec<CompiledStep> {
        let mut out = Vec::with_capacity(steps.len());
        for s in steps {
            match s {
                Step::Cpu(d) => out.push(CompiledStep::Cpu(Sampler::new(d))),
                Step::Query(q) => out.push(query(self.app, q)),
                Step::Transaction(t) => {
                    // Validation keeps branches and other transactions out
                    // of a transaction. A call inside one is made with the
                    // caller's rows held; the callee's statements run on
                    // its own connection, outside the caller's transaction.
                    out.push(CompiledStep::Begin);
                    out.extend(self.steps(&t.steps));
                    out.push(CompiledStep::Commit(Sampler::new(&t.commit_flush)));
                }
                Step::Call(r) => out.push(CompiledStep::Call {
                    program: (self.op_base[r.service] + r.op) as u32,
                    service: r.service as u32,
                }),
                Step::Parallel(branches) => {
                    let compiled: Vec<_> = branches.iter().map(|b| self.steps(b)).collect();
                    let first = self.programs.len() as u32;
                    let count = compiled.len() as u32;
                    self.programs.extend(compiled);
                    out.push(CompiledStep::Fork { first, count });
                }
            }
        }
        out
    }
}
