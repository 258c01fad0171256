"""`deepsvdd`'s quantile scaling (its tabular default): scoring time of each way of computing it, side by side.

One process, one torch thread (and one onnxruntime thread): a Deep SVDD with ``scaling="quantile"`` fitted on
5,000 rows (21 features, one of them discrete, so tied quantiles are handled), then 200,000 new rows scored
six ways with the same weights: eagerly with the binary search (what ``decision_function`` does), eagerly
with the plain ramp sum (``QuantileScale.segments``, the computation before 3 December 2026), through
onnxruntime with the exported graph (a binary search of fixed steps) and with the graphs exported before
(counts of the quantiles below each value; the ramp sum), and the network alone (``scaling="none"``, for scale). Prints seconds and ratios, and whether the eager scores are equal.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_quantile_scaling.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import had
from had.onnx_export import export_and_verify
from had.runtime import OnnxScorer


def timed(fn) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 21))
    X[:, 3] = rng.integers(0, 3, size=5000)  # a discrete feature: tied quantiles
    rows = rng.normal(size=(args.rows, 21))
    common = {"device": "cpu", "epochs": 1, "ae_epochs": 1, "restarts": 1, "threads": 1}
    det = had.get_detector("deepsvdd", scaling="quantile", **common).fit(X)
    plain = had.get_detector("deepsvdd", scaling="none", **common).fit(X)
    model, report = export_and_verify(det, X)
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    scorer = OnnxScorer(model, session_options=options)

    t_search, searched = timed(lambda: det.decision_function(rows))
    scale = det.preprocessing_
    search = scale.forward
    scale.forward = scale.segments  # the ramp sum, same weights
    t_ramps, summed = timed(lambda: det.decision_function(rows))
    scale.forward = search
    t_onnx, exported = timed(lambda: scorer.score(rows))
    from had_deepsad.scaling import QuantileScale

    bisected = QuantileScale.bisected

    def exported_with(method):  # the graph as exported before, same weights
        QuantileScale.bisected = method
        try:
            return OnnxScorer(export_and_verify(det, X)[0], session_options=options)
        finally:
            QuantileScale.bisected = bisected

    counts_scorer, ramps_scorer = exported_with(QuantileScale.counted), exported_with(QuantileScale.segments)
    t_counts, _ = timed(lambda: counts_scorer.score(rows))  # scoring only, as for the exported graph above
    t_old, _ = timed(lambda: ramps_scorer.score(rows))
    t_net, _ = timed(lambda: plain.decision_function(rows))
    print(f"{args.rows:,} x 21 rows, one thread; export parity {report['passed']} "
          f"(max relative error {report['max_rel_err']:.2g})")
    print(f"eager, binary search (the default)  {t_search:7.2f} s")
    print(f"eager, ramp sum (before)            {t_ramps:7.2f} s   {t_ramps / t_search:5.1f}x the search; "
          f"scores equal: {np.array_equal(searched, summed)}")
    print(f"onnxruntime, bisection (exported)   {t_onnx:7.2f} s   max relative difference to eager "
          f"{float(np.max(np.abs(exported - searched) / np.maximum(np.abs(searched), 1e-12))):.2g}")
    print(f"onnxruntime, counts (before)        {t_counts:7.2f} s   {t_counts / t_onnx:5.1f}x the bisection")
    print(f"onnxruntime, ramp sum (before)      {t_old:7.2f} s   {t_old / t_onnx:5.1f}x the bisection")
    print(f"eager, no scaling (network alone)   {t_net:7.2f} s")


if __name__ == "__main__":
    main()
