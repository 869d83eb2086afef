#!/usr/bin/env python3
"""Times real keepalived failovers, to check lab-control's VRRP model against.

Two network namespaces joined by a veth pair, one keepalived in each
(A: priority 200, `state MASTER`; B: priority 100, `state BACKUP`; VRRPv2,
advert_int 1 s, one VIP). tcpdump in B's namespace timestamps every advert
in the kernel, so each figure is advert to advert, free of polling error.

  kill9   kill -9 A's keepalived φ s after one of its adverts: how long
          until B's first advert as master, from the kill and from A's last
          advert (the model: 3.609375 s after the last advert).
  stop    SIGTERM instead (the model: the 0.609375 s skew after A's
          priority-0 advert).
  start   A alone: how long `state MASTER` waits before its first advert
          (the model: a master-down interval, 3.21875 s, as for BACKUP).
  preempt B master alone, then A started with the given extra config line
          (e.g. "preempt_delay 5"): every advert for 12 s after A's start.

Needs root, keepalived, tcpdump and iproute2 (apt-get install keepalived
tcpdump). Run: control/measure/keepalived_vrrp.py kill9 0.05 0.3 0.61 0.8 0.95

Results with keepalived 2.2.7 (Debian 12), Linux 6.18, 2 cores:
  kill9 φ=0.05/0.30/0.61/0.80/0.95 s: B after 3.560/3.311/3.001/2.810/2.660 s,
        always 3.610-3.611 s after A's last advert; the VIP stays on A.
  stop  φ=0.1/0.5/0.9 s: A's priority-0 advert 1-2 ms after SIGTERM, B's
        first advert 0.612-0.614 s after SIGTERM.
  start 3.24-3.28 s; the log says "Entering BACKUP STATE (init)" first.
  preempt (nothing): A's first advert 3.239-3.249 s after its start.
  preempt "preempt_delay 5": B's adverts reached A 0.619 + k s (0.628 + k s)
        after its start; A's first advert at 7.842 s (7.852 s), that is
        4.619 + 3.21875 s (4.628 + 3.21875 s) plus 4-5 ms.
"""

import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

VIP = "10.9.0.100/24"
NODES = {"A": ("kaA", "vA", "10.9.0.1", 200, "MASTER"), "B": ("kaB", "vB", "10.9.0.2", 100, "BACKUP")}
DIR = tempfile.mkdtemp(prefix="keepalived-vrrp-")


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout


def setup():
    teardown()
    for cmd in [
        "ip netns add kaA",
        "ip netns add kaB",
        "ip link add vA type veth peer name vB",
        "ip link set vA netns kaA",
        "ip link set vB netns kaB",
    ]:
        subprocess.run(cmd, shell=True, check=True)
    for name, (ns, dev, addr, _, _) in NODES.items():
        subprocess.run(f"ip -n {ns} addr add {addr}/24 dev {dev}", shell=True, check=True)
        subprocess.run(f"ip -n {ns} link set {dev} up && ip -n {ns} link set lo up", shell=True, check=True)


def teardown():
    for name in NODES:
        kill9(name)
    sh("ip netns del kaA 2>/dev/null; ip netns del kaB 2>/dev/null")


def config(name, extra=""):
    ns, dev, _, prio, state = NODES[name]
    path = f"{DIR}/{name}.conf"
    with open(path, "w") as f:
        f.write(
            f"global_defs {{\n  router_id R{name}\n}}\n"
            f"vrrp_instance VI {{\n  state {state}\n  interface {dev}\n  virtual_router_id 51\n"
            f"  priority {prio}\n  advert_int 1\n  {extra}\n  virtual_ipaddress {{\n    {VIP}\n  }}\n}}\n"
        )
    return path


def start(name, extra=""):
    ns = NODES[name][0]
    for suffix in ("pid", "vrrp.pid"):
        if os.path.exists(f"{DIR}/{name}.{suffix}"):
            os.remove(f"{DIR}/{name}.{suffix}")
    log = open(f"{DIR}/{name}.log", "a")
    cmd = ["ip", "netns", "exec", ns, "keepalived", "-n", "-l", "-D", "-P", "-f", config(name, extra)]
    cmd += ["-p", f"{DIR}/{name}.pid", "-r", f"{DIR}/{name}.vrrp.pid"]
    subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def pids(name):
    out = []
    for suffix in ("pid", "vrrp.pid"):
        try:
            out.append(int(open(f"{DIR}/{name}.{suffix}").read().strip()))
        except (OSError, ValueError):
            pass
    return out


def kill9(name):
    for pid in pids(name):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Adverts:
    """Every VRRP advert seen on B's interface, as (kernel time, sender, priority)."""

    def __init__(self):
        self.q = queue.Queue()
        cmd = ["ip", "netns", "exec", "kaB", "tcpdump", "-l", "-n", "-tt", "-i", "vB", "vrrp"]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True
        )
        threading.Thread(target=self._read, daemon=True).start()
        time.sleep(0.5)

    def _read(self):
        for line in self.proc.stdout:
            m = re.match(r"(\d+\.\d+) IP (\S+) > \S+: VRRPv\d.*prio (\d+)", line)
            if m:
                self.q.put((float(m.group(1)), m.group(2), int(m.group(3))))

    def next(self, timeout=10):
        return self.q.get(timeout=timeout)

    def until(self, deadline):
        out = []
        while time.time() < deadline:
            try:
                out.append(self.q.get(timeout=0.2))
            except queue.Empty:
                pass
        return out

    def close(self):
        os.killpg(self.proc.pid, signal.SIGTERM)


def fresh():
    for name in NODES:
        kill9(name)
    time.sleep(0.3)
    for ns, dev, *_ in NODES.values():
        sh(f"ip -n {ns} addr del {VIP} dev {dev} 2>/dev/null")
    return Adverts()


def vip_on(name):
    ns, dev, *_ = NODES[name]
    return VIP.split("/")[0] in sh(f"ip -n {ns} addr show dev {dev}")


def fault_at_phase(mode, phase):
    adverts = fresh()
    start("B")
    time.sleep(0.2)
    start("A")
    seen = 0
    while seen < 6:
        _, src, prio = adverts.next()
        seen += src == NODES["A"][2] and prio == 200
    while True:
        last, src, _ = adverts.next()
        if src == NODES["A"][2]:
            break
    while time.time() < last + phase:
        time.sleep(0.0005)
    fault = time.time()
    if mode == "kill9":
        kill9("A")
    else:
        os.kill(pids("A")[0], signal.SIGTERM)
    from_a, takeover = [], None
    for t, src, prio in adverts.until(time.time() + 6):
        if src == NODES["A"][2]:
            from_a.append((round(t - fault, 4), prio))
        elif takeover is None:
            takeover = t
    adverts.close()
    print(
        f"{mode} phase={phase:.3f}: B after {takeover - fault:.4f} s from the fault, "
        f"{takeover - last:.4f} s from A's last advert; A's adverts after the fault {from_a}; "
        f"VIP on A {vip_on('A')}, on B {vip_on('B')}",
        flush=True,
    )


def cold_start():
    adverts = fresh()
    t0 = time.time()
    start("A")
    first = adverts.next()[0]
    adverts.close()
    print(f"start: A (state MASTER, alone) first advert {first - t0:.3f} s after start", flush=True)


def preempt(extra):
    adverts = fresh()
    start("B")
    while adverts.next()[1] != NODES["B"][2]:
        pass
    time.sleep(2.3)
    t0 = time.time()
    start("A", extra)
    seen = [(round(t - t0, 3), src, prio) for t, src, prio in adverts.until(t0 + 12)]
    adverts.close()
    print(f"preempt {extra!r}: {seen}", flush=True)


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    setup()
    try:
        if mode in ("kill9", "stop"):
            for phase in args:
                fault_at_phase(mode, float(phase))
        elif mode == "start":
            cold_start()
        elif mode == "preempt":
            if args and "preempt_delay" in args[0]:
                NODES["A"] = NODES["A"][:4] + ("BACKUP",)
            preempt(" ".join(args))
    finally:
        teardown()


if __name__ == "__main__":
    main()
