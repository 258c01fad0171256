"""The training fingerprint's hash, side by side in one run: the plain sha256 of a buffer (the fingerprint's
form before 5 December 2026, 11:40 UTC, one serial stream) against :class:`had.fingerprint.BlockDigest` (sha256 of 16 MiB
blocks' digests) on 1, 2, ... threads up to the cores this process may use (at most
:data:`had.fingerprint.MAX_WORKERS`). The buffer (default 1 GiB of seeded random bytes) is in memory, so this
times the hash alone; ``benchmarks/bench_large.py`` times it inside RX's fit of a file. Best of `--repeats`.

Usage::

    nice -n 5 .venv/bin/python benchmarks/bench_fingerprint.py [--mib 1024] [--repeats 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time

import numpy as np

from had.fingerprint import BlockDigest, hash_workers


def best(repeats: int, work) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        work()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = np.random.default_rng(0).integers(0, 256, args.mib * 2**20, dtype=np.uint8)
    plain = best(args.repeats, lambda: hashlib.sha256(data).hexdigest())
    print(f"{args.mib} MiB in memory, {os.cpu_count()} CPUs, best of {args.repeats}")
    print(f"plain sha256 (one stream): {plain:.3f} s, {args.mib / plain:.0f} MiB/s")
    for workers in range(1, hash_workers() + 1):
        wall = best(args.repeats, lambda: BlockDigest(workers).update(data).hexdigest())
        print(f"blocks on {workers} thread{'s' if workers > 1 else ''}: {wall:.3f} s, {args.mib / wall:.0f} MiB/s, "
              f"{plain / wall:.2f}x the plain sha256's speed")


if __name__ == "__main__":
    main()
