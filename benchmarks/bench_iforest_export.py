"""pyod-iforest's ONNX graph: skl2onnx's converter (the old path) against the graph built from the forest's arrays
(:func:`had_pyod.graphs.iforest_core`, the new path), side by side in one run, on the same fitted forests.

For each forest of ``--side`` trees (default 100 and 400): CPU seconds of each path, their ratio, the graph's
size and node count, and the largest difference of each graph's onnxruntime scores from scikit-learn's
``decision_function``. Then the new path alone for ``--alone`` trees (default 3,000; skl2onnx did not finish
2,000 in 8 minutes), and a whole ``had.save`` of a pyod-iforest detector of that many trees (which builds the
graph on first need). Rows: ``--rows`` x ``--features`` standard normal with 5 % shifted, ``max_samples=256``.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/bench_iforest_export.py [--side 100 400] [--alone 3000]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np


def _scores(core: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, float]:
    """onnxruntime's scores of `rows` and the CPU seconds to open the session."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    c0 = time.process_time()
    session = ort.InferenceSession(core.tobytes(), options, providers=["CPUExecutionProvider"])
    opened = time.process_time() - c0
    (out,) = session.run(None, {"rows": rows.astype(np.float32)})
    return out[:, 0].astype(np.float64), opened


def _timed(build) -> tuple[np.ndarray, float, float]:
    c0, w0 = time.process_time(), time.perf_counter()
    core = build()
    return core, time.process_time() - c0, time.perf_counter() - w0


def _node_count(core: np.ndarray) -> int:
    import onnx

    return len(onnx.load_from_string(core.tobytes()).graph.node)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, nargs="*", default=[100, 400], help="trees, both paths")
    parser.add_argument("--alone", type=int, nargs="*", default=[3000], help="trees, the new path only")
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--features", type=int, default=10)
    args = parser.parse_args()
    from sklearn.ensemble import IsolationForest

    import had
    from had_pyod import fitted, graphs
    from had_pyod.export import convert

    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.rows, args.features))
    X[: args.rows // 20] += 3.0
    convert(IsolationForest(n_estimators=2, random_state=0).fit(X), args.features, "scores")  # imports, once

    print(f"rows {args.rows} x {args.features}, max_samples 256; CPU seconds (wall in brackets)")
    print(f"{'trees':>6} {'nodes':>8} {'skl2onnx s':>16} {'new s':>14} {'ratio':>7} {'old graph':>16} "
          f"{'new graph':>16} {'old max|d|':>10} {'new max|d|':>10}")
    for trees in args.side:
        forest = IsolationForest(n_estimators=trees, max_samples=256, random_state=0).fit(X)
        state = fitted.forest_state(forest)
        reference = forest.decision_function(X)
        old, old_cpu, old_wall = _timed(lambda: convert(forest, args.features, "scores"))
        new, new_cpu, new_wall = _timed(lambda: graphs.iforest_core(state, args.features))
        old_err = np.max(np.abs(_scores(old, X)[0] - reference))
        new_err = np.max(np.abs(_scores(new, X)[0] - reference))
        print(f"{trees:>6} {int(state['tree_start'][-1]):>8} {old_cpu:>8.2f} ({old_wall:5.1f}) "
              f"{new_cpu:>7.3f} ({new_wall:4.2f}) {old_cpu / new_cpu:>6.0f}x "
              f"{old.size / 1e6:>5.2f} MB {_node_count(old):>5} n {new.size / 1e6:>5.2f} MB {_node_count(new):>5} n "
              f"{old_err:>10.2e} {new_err:>10.2e}", flush=True)
    for trees in args.alone:
        forest = IsolationForest(n_estimators=trees, max_samples=256, random_state=0).fit(X)
        state = fitted.forest_state(forest)
        new, new_cpu, new_wall = _timed(lambda: graphs.iforest_core(state, args.features))
        got, opened = _scores(new, X)
        print(f"{trees:>6} {int(state['tree_start'][-1]):>8} {'(not run)':>16} {new_cpu:>7.3f} ({new_wall:4.2f}) "
              f"{'':>7} {'':>16} {new.size / 1e6:>5.2f} MB {_node_count(new):>5} n {'':>10} "
              f"{np.max(np.abs(got - forest.decision_function(X))):>10.2e}; onnxruntime session {opened:.2f} s",
              flush=True)
        det = had.get_detector("pyod-iforest", n_estimators=trees, seed=0).fit(X)
        with tempfile.TemporaryDirectory() as folder:
            _, save_cpu, save_wall = _timed(lambda: had.save(det, f"{folder}/m"))
        print(f"{'':>6} had.save of pyod-iforest with {trees} trees (graph built on first need): {save_cpu:.2f} s CPU "
              f"({save_wall:.2f} s wall)", flush=True)


if __name__ == "__main__":
    main()
