//! A request's CPU work on a host: starting a job, moving the host's
//! completion event when its jobs change, and what finished jobs resume.

use lab_core::record::{GaugeKind, GaugeSpec, RecordBuilder};
use lab_core::scenario::ProcessManager;
use lab_core::topology::Topology;

use super::program::CompiledStep;
use super::{Ev, Host, Key, Path, Phase, Shop};
use crate::cpu::{HostCpu, JobTag};
use crate::engine::Scheduler;

impl Host {
    /// Every host of the topology, each with its busy-cores gauge. Behind a
    /// balancer the web nodes' gauges form a group, which keeps a long run
    /// with a thousand of them within bounded memory and lets the report
    /// draw the busiest apart from the others.
    pub(super) fn all(
        topology: &Topology,
        path: &Path,
        programs: &[Vec<CompiledStep>],
        rec: &mut RecordBuilder,
        sched: &mut Scheduler<Ev>,
    ) -> Vec<Host> {
        let mut is_web = vec![false; topology.hosts.len()];
        for w in &path.webs {
            is_web[w.host] = true;
        }
        let dedicated = dedicated_hosts(topology, path, programs);
        let web_group = path.front.is_some().then(|| {
            rec.add_group(
                "web.cpu",
                if path.services.is_empty() {
                    "web nodes' CPU"
                } else {
                    "web and service nodes' CPU"
                },
            )
        });
        topology
            .hosts
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let spec = GaugeSpec {
                    key: format!("{}.cpu", h.name),
                    label: format!("{} CPU", h.name),
                    kind: GaugeKind::Cpu,
                    capacity: Some(f64::from(h.cores)),
                };
                Host {
                    cpu: HostCpu::new(h.cores, h.speed, dedicated[i]),
                    dedicated: dedicated[i],
                    slot: sched.add_slot(),
                    id: u32::try_from(i).expect("fewer than 2^32 hosts"),
                    cores: h.cores,
                    gauge: match web_group {
                        Some(g) if is_web[i] => rec.add_gauge_in(g, spec),
                        _ => rec.add_gauge(spec),
                    },
                    busy: 0,
                }
            })
            .collect()
    }
}

/// Which hosts' jobs can never share a core (see `cpu/dedicated.rs` for
/// what that saves and why the record stays the same), besides the speed
/// of 1 that [`HostCpu::new`] checks. Every CPU job is a PHP child's on
/// its web node's host (its code, or a call's encoding and decoding) or a
/// query's on its MySQL's host (`Shop::cpu_start`'s callers). So a host
/// qualifies when:
///
/// - no MySQL on it runs queries with CPU (no program has `db_cpu`, or no
///   MySQL is on the host): MySQL's threads are many;
/// - no program forks: a `parallel` step's branches compute side by side
///   in one child;
/// - its pools are all static, with `max_children` in all at most its
///   cores: a child computes one job at a time, and a static pool never
///   runs more children than that (dynamic and on-demand pools are left
///   out, though bounded by `max_children` too, to keep the proof short).
///
/// Then at most `cores - 1` jobs are live when one starts.
fn dedicated_hosts(topology: &Topology, path: &Path, programs: &[Vec<CompiledStep>]) -> Vec<bool> {
    let steps = || programs.iter().flatten();
    let forks = steps().any(|s| matches!(s, CompiledStep::Fork { .. }));
    let db_cpu = steps().any(|s| matches!(s, CompiledStep::Query { db_cpu: Some(_), .. }));
    let mut ok = vec![!forks; topology.hosts.len()];
    let mut children = vec![0u64; topology.hosts.len()];
    if db_cpu {
        for d in &path.dbs {
            ok[d.host] = false;
        }
    }
    for w in &path.webs {
        ok[w.host] &= w.fpm.pm == ProcessManager::Static;
        children[w.host] += u64::from(w.fpm.max_children);
    }
    for (i, h) in topology.hosts.iter().enumerate() {
        ok[i] &= children[i] <= u64::from(h.cores);
    }
    ok
}

impl Shop {
    #[inline(always)]
    pub(super) fn cpu_start(&mut self, host: usize, demand: u64, key: Key, woke: bool) {
        self.next_job += 1;
        self.reqs[key.slot as usize].cpu_job = self.next_job;
        let h = &mut self.hosts[host];
        let tag = JobTag {
            slot: key.slot,
            job: self.next_job,
        };
        match h.cpu.start(self.now, demand, tag, woke) {
            // A free core took the job: only an earlier finish moves the event.
            Some(t) => {
                if self.sched.slot_time(&h.slot).is_none_or(|s| t < s) {
                    self.sched.set_slot(&h.slot, t, Ev::CpuDone(h.id));
                }
                let busy = h.cpu.busy_cores();
                if busy != h.busy {
                    h.busy = busy;
                    self.rec.gauge(self.now, h.gauge, busy);
                }
            }
            None => self.cpu_changed(host),
        }
    }

    /// Moves the host's completion event after its set of jobs changed.
    pub(super) fn cpu_changed(&mut self, host: usize) {
        self.cpu_moved(host);
    }

    /// [`Shop::cpu_changed`] in line, for a completion (once an event).
    #[inline(always)]
    fn cpu_moved(&mut self, host: usize) {
        let h = &mut self.hosts[host];
        let busy = h.cpu.busy_cores();
        if busy != h.busy {
            h.busy = busy;
            self.rec.gauge(self.now, h.gauge, busy);
        }
        match h.cpu.next_completion(self.now) {
            Some(t) => {
                if self.sched.slot_time(&h.slot) != Some(t) {
                    self.sched.set_slot(&h.slot, t, Ev::CpuDone(h.id));
                }
            }
            None => self.sched.clear_slot(&h.slot),
        }
    }

    pub(super) fn cpu_done(&mut self, host: usize) {
        // `done` is this function's scratch list; nothing it calls uses it.
        self.done.clear();
        let popped = self.hosts[host].cpu.complete(self.now, &mut self.done);
        if popped == 1 {
            // The usual case, without the lists: one job finished.
            let tag = self.done[0];
            let live = self.reqs.get(tag.slot as usize).is_some_and(|r| r.cpu_job == tag.job);
            if live {
                self.hosts[host].cpu.finished();
            }
            self.cpu_moved(host);
            if live {
                self.job_done(tag);
            }
            return;
        }
        // Account for every finished job before any request moves on and
        // starts new work on this host.
        let cpu = &mut self.hosts[host].cpu;
        let mut live = 0;
        for i in 0..self.done.len() {
            let tag = self.done[i];
            if self.reqs.get(tag.slot as usize).is_some_and(|r| r.cpu_job == tag.job) {
                cpu.finished();
                self.done[live] = tag;
                live += 1;
            }
        }
        self.done.truncate(live);
        self.cpu_moved(host);
        for i in 0..live {
            self.jobs_done(self.done[i]);
        }
    }

    /// [`Shop::job_done`] out of line, for a completion of several jobs.
    #[inline(never)]
    fn jobs_done(&mut self, tag: JobTag) {
        self.job_done(tag);
    }

    /// The live job `tag` has finished: its request moves on.
    #[inline(always)]
    fn job_done(&mut self, tag: JobTag) {
        let r = &mut self.reqs[tag.slot as usize];
        r.cpu_job = 0;
        let key = Key {
            slot: tag.slot,
            id: r.id,
        };
        let freed = match r.phase {
            Phase::AppCpu => {
                r.step += 1;
                self.run_steps(key)
            }
            Phase::DbCpu => self.after_db_cpu(key),
            Phase::RpcSend => self.send_call(key),
            Phase::RpcRecv => {
                r.step += 1;
                self.run_steps(key)
            }
            other => unreachable!("CPU finished in phase {other:?}"),
        };
        if let Some((web, child)) = freed {
            self.next_connection(web, child);
        }
    }
}

#[cfg(test)]
#[path = "cpu_tests.rs"]
mod tests;
