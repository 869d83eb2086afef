#!/usr/bin/env python3
"""Peak memory of `lab run` as the run gets longer.

Runs scenarios/flash-sale.toml (both eras, full report) at its own length
(4 minutes of virtual time) and at 10x that, and prints each run's peak
resident set size and the ratio. The target is a ratio under 1.5: the
record keeps fixed-size histograms per window and nothing per request.

    cargo build --release
    python3 benches/memory.py [--factor 10]
"""
import argparse
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB = os.path.join(ROOT, "target", "release", "lab")


def peak_rss_kib(args):
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        sys.exit(f"{' '.join(args)} failed with status {status}")
    return usage.ru_maxrss  # KiB on Linux


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default=os.path.join(ROOT, "scenarios", "flash-sale.toml"))
    p.add_argument("--minutes", type=float, default=4.0, help="the scenario's own duration")
    p.add_argument("--factor", type=float, default=10.0)
    a = p.parse_args()
    if not os.path.exists(LAB):
        sys.exit(f"{LAB} is missing: run `cargo build --release` first")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, minutes in enumerate([a.minutes, a.minutes * a.factor]):
            rss = peak_rss_kib([LAB, "run", a.scenario, "--duration", f"{minutes * 60:.0f}s",
                                "--out", os.path.join(tmp, str(i)), "--quiet"])
            results.append(rss)
            print(f"{minutes:6.1f} min of virtual time: peak RSS {rss / 1024:7.1f} MiB")
    print(f"ratio: {results[1] / results[0]:.2f}x memory for {a.factor:.0f}x the run (target < 1.5x)")


if __name__ == "__main__":
    main()
