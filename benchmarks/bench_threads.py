"""Torch intra-op threads on a busy machine: one small fit at 1 and at 2 threads, a CPU hog running beside it.

The fit is the `autoencoder` detector (its defaults but 3 epochs) on 4000 x 64 seeded rows; each thread count is
timed `--repeats` times (wall seconds, median), alternating 1 and 2 so that a change in the machine's load hits
both. The hog is one busy Python process started here and stopped at the end (``--hogs N`` for more, 0 for
none). Prints one JSON line with the medians and the ratio ``t(2 threads) / t(1 thread)``; the figure behind the
default ``threads = 1`` of every torch detector (docs/plugin-guide.md).

Usage: ``nice -n 10 .venv/bin/python benchmarks/bench_threads.py [--repeats 3] [--hogs 1]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import had


def fit_seconds(X: np.ndarray, threads: int) -> float:
    det = had.get_detector("autoencoder", epochs=3, restarts=1, threads=threads, device="cpu", progress=False)
    start = time.perf_counter()
    det.fit(X)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hogs", type=int, default=1, help="busy processes beside the fit (0: none)")
    args = parser.parse_args()
    X = np.random.default_rng(0).normal(size=(4000, 64))
    fit_seconds(X[:256], 1)  # warm-up: imports, first-call allocations
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.hogs)]
    times: dict[int, list[float]] = {1: [], 2: []}
    try:
        time.sleep(0.5)
        for _ in range(args.repeats):
            for threads in (1, 2):
                times[threads].append(fit_seconds(X, threads))
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    one, two = statistics.median(times[1]), statistics.median(times[2])
    print(json.dumps({"cpus": os.cpu_count(), "hogs": args.hogs, "repeats": args.repeats,
                      "fit_s_1_thread": round(one, 3), "fit_s_2_threads": round(two, 3),
                      "ratio_2_over_1": round(two / one, 2), "all_s": {k: [round(t, 3) for t in v]
                                                                       for k, v in times.items()}}))


if __name__ == "__main__":
    main()
