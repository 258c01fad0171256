"""Speed-up of `had bench --executor processes` over serial on this machine, for a small grid.

The grid: ``rx`` and ``pyod-iforest`` (100 trees) x ``synthetic-table`` (4000 rows) and ``synthetic-scene``
(64 x 64 x 50) x seeds 0..N-1 (default 4: 16 cells), no plots; ``--rows`` and ``--trees`` make cells heavier. Each executor runs it once into its own
folder; the wall time includes starting the worker processes (spawn: each imports had and its plugins), which
is what a user waits for. The two CSVs are checked equal apart from the timing columns. The machine's CPU count
and its load average before the runs are printed: on a shared machine the figure moves with the load.

Usage::

    .venv/bin/python benchmarks/bench_executors.py [--seeds 4] [--workers 2] [--rows 4000] [--trees 100]
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from pathlib import Path

from had import bench

DETECTORS = ["rx", "pyod-iforest"]
DATASETS = ["synthetic-table", "synthetic-scene"]


def timed(executor: str, seeds: list[int], out: Path, workers: int, rows: int, trees: int) -> tuple[float, list]:
    t0 = time.perf_counter()
    bench.run(DETECTORS, DATASETS, seeds, out=out, plots=False, echo=lambda _: None, executor=executor,
              workers=workers, dataset_config={"synthetic-table": {"n_samples": rows}},
              detector_config={"pyod-iforest": {"n_estimators": trees}}, progress=False)
    wall = time.perf_counter() - t0
    with open(out / bench.CSV_NAME, newline="") as fh:
        rows = [{k: v for k, v in r.items() if k not in ("fit_s", "score_s")} for r in csv.DictReader(fh)]
    return wall, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rows", type=int, default=4000, help="rows of synthetic-table")
    parser.add_argument("--trees", type=int, default=100, help="pyod-iforest's n_estimators")
    args = parser.parse_args()
    seeds = list(range(args.seeds))
    cells = len(DETECTORS) * len(DATASETS) * len(seeds)
    print(f"CPUs: {os.cpu_count()}, load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"grid: {len(DETECTORS)} detectors x {len(DATASETS)} datasets x {len(seeds)} seeds = {cells} cells "
          f"(synthetic-table {args.rows} rows, pyod-iforest {args.trees} trees)")
    with tempfile.TemporaryDirectory() as tmp:
        serial_s, serial_rows = timed("serial", seeds, Path(tmp) / "serial", args.workers, args.rows, args.trees)
        proc_s, proc_rows = timed("processes", seeds, Path(tmp) / "processes", args.workers, args.rows,
                                   args.trees)
    assert proc_rows == serial_rows, "processes gave another CSV than serial"
    assert not any(r["error"] for r in serial_rows), [r["error"] for r in serial_rows if r["error"]]
    print(f"serial:                 {serial_s:7.2f} s")
    print(f"processes ({args.workers} workers): {proc_s:7.2f} s")
    print(f"speed-up: {serial_s / proc_s:.2f}x (same results.csv apart from timing columns)")


if __name__ == "__main__":
    main()
