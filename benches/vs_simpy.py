#!/usr/bin/env python3
"""lab against SimPy on the same M/M/4 model, side by side in one run.

lab runs scenarios/theory/mm4.toml (M/M/4 at rho = 0.9, ~2,000,000
customers) as a whole process: start-up, scenario loading, simulation and
the full report (HTML, charts, CSV, summary.json). SimPy runs the same model
(benches/simpy_mmc.py). Runs alternate so both see the same machine state,
after one lab run that is not counted (the binary's first load from disk).
lab's run is a third of a second, so a moment of the machine's noise moves
it by a third: each round takes the median of --lab-runs runs of it (5).
The ratio is taken round by round and the median of those is quoted: the
machine's speed drifts over the minutes SimPy takes (by 20 % in one run),
and a round's pair sees the same machine. The medians of each side are
printed too.

    pip install simpy==4.1.1   # or 4.1.2, the FACTS.md anchor
    cargo build --release
    python3 benches/vs_simpy.py            # 2,000,000 customers each (SimPy takes ~25-40 s)
    python3 benches/vs_simpy.py --quick    # SimPy on 200,000: a lower bound, SimPy is faster on short runs
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB = os.path.join(ROOT, "target", "release", "lab")
SCENARIO = os.path.join(ROOT, "scenarios", "theory", "mm4.toml")


def run_lab(out):
    started = time.perf_counter()
    subprocess.run([LAB, "run", SCENARIO, "--out", out, "--quiet"], check=True)
    wall = time.perf_counter() - started
    with open(os.path.join(out, "summary.json")) as f:
        era = json.load(f)["eras"][0]
    customers = era["requests"]["arrived"]
    return wall, customers, era["queue_wait_ms"]["mean"]


def run_simpy(customers):
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benches", "simpy_mmc.py"), "--customers", str(customers)],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)


def main():
    p = argparse.ArgumentParser(description="lab vs SimPy on M/M/4, rho = 0.9")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--lab-runs", type=int, default=5, help="lab runs per round, their median counted")
    p.add_argument("--quick", action="store_true",
                   help="SimPy on 200,000 customers instead of 2,000,000 (a lower bound: SimPy is faster on short runs)")
    a = p.parse_args()
    if not os.path.exists(LAB):
        sys.exit(f"{LAB} is missing: run `cargo build --release` first")
    simpy_customers = 200_000 if a.quick else 2_000_000
    lab_rates, simpy_rates = [], []
    with tempfile.TemporaryDirectory() as tmp:
        run_lab(os.path.join(tmp, "warm-up"))
        for r in range(a.rounds):
            walls = []
            for k in range(a.lab_runs):
                wall, customers, wait = run_lab(os.path.join(tmp, f"lab{r}-{k}"))
                walls.append(wall)
            wall = statistics.median(walls)
            lab_rates.append(customers / wall)
            print(f"round {r + 1}: lab   {customers:>9,} customers in {wall:6.3f} s  "
                  f"= {customers / wall:>12,.0f}/s  (mean wait {wait:.2f} ms; median of "
                  f"{a.lab_runs}, {min(walls):.3f}-{max(walls):.3f} s)", flush=True)
            s = run_simpy(simpy_customers)
            simpy_rates.append(s["customers_per_s"])
            print(f"round {r + 1}: {s['tool']:<12} {s['customers']:>9,} customers in {s['wall_s']:6.3f} s  "
                  f"= {s['customers_per_s']:>12,.0f}/s  (mean wait {s['mean_wait_ms']:.2f} ms)", flush=True)
    lab_rate = statistics.median(lab_rates)
    simpy_rate = statistics.median(simpy_rates)
    ratios = [l / s for l, s in zip(lab_rates, simpy_rates)]
    print(f"median: lab {lab_rate:,.0f} customers/s (whole process, report included), "
          f"SimPy {simpy_rate:,.0f} customers/s (simulation only): {lab_rate / simpy_rate:.0f}x")
    print(f"ratio round by round: {', '.join(f'{x:.0f}' for x in ratios)}")
    print(f"ratio: lab is {statistics.median(ratios):.0f}x SimPy (median of the rounds' ratios)")


if __name__ == "__main__":
    main()
