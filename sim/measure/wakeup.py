#!/usr/bin/env python3
"""Measures how long a short CPU burst takes beside CPU-bound processes on
one core, for the wake-up credit in sim/src/cpu.rs (docs/model.md, "Hosts").

Compiles wakeup.c with `cc`, then for each round, each sleep and each number
of hogs runs `taskset -c CORE wakeup HOGS SLEEP REPS BURSTS...` and keeps
every burst's wall time. Rounds are interleaved so that a busy spell on the
shared machine spreads over all cases. A burst counts only if it was quiet:
other processes (or the hypervisor) took at most --quiet of the core around
it (wakeup.c measures that from the hogs' schedstat). Prints, per case, the
median wall time of the quiet bursts, their quartiles and mean, how many
were quiet out of how many, and what processor sharing predicts:
(hogs + 1) x burst.

Usage: wakeup.py [--rounds 3] [--reps 10] [--core 0] [--sleep 20 ...] [--raw FILE]
       wakeup.py --from-raw FILE...
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HOGS = [0, 2, 4, 8, 16]
BURSTS = [0.5, 1, 2, 5, 10, 20]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--core", default="0")
    ap.add_argument("--sleep", type=float, nargs="+", default=[20.0])
    ap.add_argument("--hogs", type=int, nargs="+", default=HOGS)
    ap.add_argument("--quiet", type=float, default=0.05, help="largest share of the core others may take")
    ap.add_argument("--raw", help="also write every sample to this file")
    ap.add_argument("--from-raw", nargs="+", help="summarise these --raw files instead of measuring")
    a = ap.parse_args()

    if a.from_raw:
        samples = {}
        for f in a.from_raw:
            for line in Path(f).read_text().splitlines()[1:]:
                _, h, s, b, *rest = (int(x) for x in line.split())
                samples.setdefault((s, h, b), []).append(tuple(rest))
        return summarise(samples, a.quiet)

    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / "wakeup"
        src = Path(__file__).with_name("wakeup.c")
        subprocess.run(["cc", "-O2", "-Wall", "-o", str(exe), str(src)], check=True)
        samples = measure(a, exe)
    summarise(samples, a.quiet)


def measure(a, exe):
    samples = {}
    lines = []
    for rnd in range(a.rounds):
        for sleep in a.sleep:
            for hogs in a.hogs:
                cmd = ["taskset", "-c", a.core, str(exe), str(hogs), str(sleep), str(a.reps)]
                cmd += [str(b) for b in BURSTS]
                out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                for line in out.splitlines():
                    h, s, b, *rest = (int(x) for x in line.split())
                    samples.setdefault((s, h, b), []).append(tuple(rest))
                    lines.append(f"{rnd} {line}")
                print(f"round {rnd} sleep {sleep} ms hogs {hogs} done", file=sys.stderr)
    if a.raw:
        header = "round hogs sleep_us burst_us wall_us cpu_us window_us other_us\n"
        Path(a.raw).write_text(header + "\n".join(lines) + "\n")
    return samples


def summarise(samples, quiet):
    print("| sleep ms | hogs | burst ms | PS ms | median wall ms | p25–p75 ms | mean ms | quiet/all |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (s, h, b), v in sorted(samples.items()):
        # Files from before wakeup.c measured others' share have no
        # window: their bursts are all kept.
        walls = sorted(x[0] for x in v if len(x) < 4 or x[3] <= quiet * x[2])
        if not walls:
            print(f"| {s / 1000:g} | {h} | {b / 1000:g} | {(h + 1) * b / 1000:g} | – | – | – | 0/{len(v)} |")
            continue
        q = statistics.quantiles(walls, n=4) if len(walls) > 1 else [walls[0]] * 3
        print(
            f"| {s / 1000:g} | {h} | {b / 1000:g} | {(h + 1) * b / 1000:g} | {statistics.median(walls) / 1000:.2f} "
            f"| {q[0] / 1000:.2f}–{q[2] / 1000:.2f} | {statistics.mean(walls) / 1000:.2f} | {len(walls)}/{len(v)} |"
        )


if __name__ == "__main__":
    main()
