"""Rows per session run of ``had.runtime.OnnxScorer`` on the CPU provider: rows/s of ``score`` when each run takes
at most 65,536, 16,384 or 4,096 rows, side by side in one process (the cap the scorer uses is
``had.runtime.CPU_ROWS_PER_RUN``). Models: ``rx``, ``lren`` (one member, one epoch) and the ``autoencoder``, each
fitted on 20,000 rows of 64 standard normal features and exported; scored on 262,144 such rows, twice each.
One intra-op thread (``OMP_NUM_THREADS=1``). Nothing is asserted.

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_onnx_rows.py
"""

from __future__ import annotations

import tempfile
import time

import numpy as np

import had
from had import runtime
from had.runtime import OnnxScorer

MODELS = {"rx": {}, "autoencoder": {"epochs": 1, "restarts": 1, "device": "cpu", "progress": False, "threads": 1},
          "lren": {"restarts": 1, "epochs": 1, "device": "cpu", "progress": False}}
RUNS = (65536, 16384, 4096)


def main() -> None:
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 64)).astype(np.float32)
    big = rng.normal(size=(262144, 64)).astype(np.float32)
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    print("| model | " + " | ".join(f"{n:,} rows a run" for n in RUNS) + " | best / 65,536 |")
    print("|---|" + "---:|" * (len(RUNS) + 1))
    for name, settings in MODELS.items():
        det = had.get_detector(name, **settings).fit(X)
        with tempfile.TemporaryDirectory() as folder:
            had.save(det, f"{folder}/m", onnx_model=det.export_onnx())
            scorer = OnnxScorer(f"{folder}/m", session_options=options)
            rates = []
            for rows in RUNS:
                runtime.CPU_ROWS_PER_RUN = rows
                scorer.score(big[:4096])  # warm
                t0 = time.perf_counter()
                scorer.score(big)
                scorer.score(big)
                rates.append(2 * big.shape[0] / (time.perf_counter() - t0))
        print(f"| {name} | " + " | ".join(f"{r:,.0f}" for r in rates) + f" | {max(rates) / rates[0]:.2f}x |",
              flush=True)


if __name__ == "__main__":
    main()
