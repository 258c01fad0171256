"""`pyod-ecod`'s per-row scores (had_pyod.ecod) against PyOD's batch call, side by side in one run: CPU seconds to
score one tile of a flight line (65,536 pixels x 64 bands) against 200,000 training rows (the default
``max_fit_pixels`` sample), and the largest difference of the per-row scores from PyOD scoring each row alone.

    nice -n 10 .venv/bin/python benchmarks/bench_ecod_rows.py [--train 200000] [--rows 65536] [--bands 64]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=200000)
    parser.add_argument("--rows", type=int, default=65536)
    parser.add_argument("--bands", type=int, default=64)
    args = parser.parse_args()
    from pyod.models.ecod import ECOD

    from had_pyod.ecod import TrainingColumns, row_scores

    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(args.bands, args.bands)) / np.sqrt(args.bands)
    T = rng.standard_normal((args.train, args.bands)) @ mixing + 100.0
    R = rng.standard_normal((args.rows, args.bands)) @ mixing + 100.0
    model = ECOD().fit(T)
    c0 = time.process_time()
    model.decision_function(R)
    batch_s = time.process_time() - c0
    c0 = time.process_time()
    columns = TrainingColumns.of(T)
    prepare_s = time.process_time() - c0
    c0 = time.process_time()
    ours = row_scores(columns, R)
    rows_s = time.process_time() - c0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        alone = np.array([model.decision_function(row[None])[0] for row in R[:20]])
    print(f"{args.train:,} training rows, {args.rows:,} scored, {args.bands} columns, one thread of numpy")
    print(f"PyOD ECOD.decision_function (the batch ranked with the training rows): {batch_s:.2f} CPU s")
    print(f"had_pyod.ecod.row_scores (each row as PyOD scores it alone): {rows_s:.2f} CPU s "
          f"(+ {prepare_s:.2f} s once at fit to sort the training columns)")
    print(f"ratio per-row / batch: {rows_s / batch_s:.2f}")
    print(f"largest relative difference from PyOD's one-row call (20 rows): "
          f"{np.max(np.abs(ours[:20] - alone) / np.abs(alone)):.1e}")


if __name__ == "__main__":
    main()
