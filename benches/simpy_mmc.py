#!/usr/bin/env python3
"""M/M/c in SimPy, the reference for lab's speed target.

The same model as scenarios/theory/mm4.toml: Poisson arrivals at rate λ, c
servers, exponential service with mean 1/μ, FCFS, no timeouts. Prints one
JSON line with the customers simulated, the wall time and the mean wait, so
benches/vs_simpy.py can set it beside `lab run`.

    python3 benches/simpy_mmc.py --customers 2000000 --servers 4 --rho 0.9
"""
import argparse
import json
import random
import time

import simpy


def run(customers, servers, rho, mean_service, seed):
    random.seed(seed)
    mu = 1.0 / mean_service
    lam = rho * servers * mu
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=servers)
    stats = {"served": 0, "wait": 0.0}

    def customer(env):
        arrived = env.now
        with server.request() as req:
            yield req
            stats["wait"] += env.now - arrived
            yield env.timeout(random.expovariate(mu))
        stats["served"] += 1

    def source(env):
        for _ in range(customers):
            env.process(customer(env))
            yield env.timeout(random.expovariate(lam))

    env.process(source(env))
    started = time.perf_counter()
    env.run()
    wall = time.perf_counter() - started
    return {
        "tool": "simpy " + simpy.__version__,
        "customers": stats["served"],
        "wall_s": wall,
        "customers_per_s": stats["served"] / wall,
        "mean_wait_ms": 1000.0 * stats["wait"] / stats["served"],
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=200_000)
    p.add_argument("--servers", type=int, default=4)
    p.add_argument("--rho", type=float, default=0.9)
    p.add_argument("--mean-service", type=float, default=0.010, help="seconds")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    print(json.dumps(run(a.customers, a.servers, a.rho, a.mean_service, a.seed)))


if __name__ == "__main__":
    main()
