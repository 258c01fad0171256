"""Our autoencoder beside PyOD's AutoEncoder on ODDS tables, then onnxruntime against torch eager scoring.

Part 1: for each dataset, ADBench's stratified 70/30 split (``had.protocols.adbench_split``, min-max scaling
fitted on train) for each seed; both detectors with their shipped defaults (ours mirror PyOD's: hidden 64,
code 32, dropout 0.2, 10 epochs, batch 32, Adam 1e-3, weight decay 1e-5; PyOD adds batch norm), fitted on
the training part and scored on the test part. AUROC on the test part; wall and CPU seconds of fit + score.

Part 2: one fitted autoencoder (cardio's shape, D = 21) scored by the same module in torch eager
(``torch.no_grad``) and by its verified ONNX export in onnxruntime (CPU provider), at batch sizes 1, 256 and
65536 rows; rows per second of each and the ratio. Then the public paths end to end at 65536 rows:
``detector.decision_function`` against ``had.runtime.OnnxScorer.score`` (both validate the input).

Both libraries run in this one process with the same thread count (``--threads``, default 1: the machine
this ran on is shared, and one thread per process avoids spin-waiting under load). Nothing is asserted.

Usage::

    HAD_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/bench_autoencoder.py [--seeds 0 1 2] [--threads 1] \
        [--out DIR]

The printed report is also written to ``DIR/results.md``; without ``--out`` that is the committed
benchmarks/results/autoencoder/results.md, which a run then replaces (give a folder of your own, e.g.
``--out /tmp/autoencoder``, to reproduce the figures without touching it).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np

DATASETS = {"cardio": "odds/cardio.mat", "thyroid": "odds/thyroid.npz", "satimage-2": "odds/satimage-2.mat"}
OUT = Path(__file__).resolve().parent / "results" / "autoencoder"


def load(name: str):
    from had.data import Dataset
    from had.datadir import data_dir
    from had.matfile import read_arrays

    arrays = read_arrays(data_dir() / DATASETS[name], ["X", "y"])
    return Dataset(name, arrays["X"].astype(np.float64), arrays["y"].reshape(-1).astype(np.int8))


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


#: ours as one fit, as PyOD fits once and as the committed figures were measured; the default (5 fits averaged)
#: against PyOD is benchmarks/autoencoder_restarts.py's report (docs/results.md, "Five fits averaged")
ONE_FIT = {"restarts": 1}


def compare(names, seeds) -> None:
    import had
    from had.metrics import auroc
    from had.protocols import adbench_split
    from pyod.models.auto_encoder import AutoEncoder as PyODAutoEncoder

    print("## AUROC on the test part (ADBench 70/30 split), fit + score time\n")
    print("| dataset | seed | ours AUROC | PyOD AUROC | ours wall s | PyOD wall s | ours CPU s | PyOD CPU s |")
    print("|---|---|---|---|---|---|---|---|")
    totals = {"ours": [], "pyod": []}
    warm = np.random.default_rng(0).random((64, 4))  # first-use imports (torch._dynamo, optimisers) untimed
    had.get_detector("autoencoder", epochs=1, device="cpu", progress=False).fit(warm)
    PyODAutoEncoder(epoch_num=1, verbose=0, device="cpu").fit(warm)
    for name in names:
        data = load(name)
        for seed in seeds:
            split = adbench_split(data, seed=seed)
            train, test = split.train.X, split.test.X

            def ours():
                det = had.get_detector("autoencoder", seed=seed, device="cpu", progress=False, **ONE_FIT).fit(train)
                return det.decision_function(test)

            def pyod():
                det = PyODAutoEncoder(random_state=seed, verbose=0, device="cpu").fit(train)
                return det.decision_function(test)

            s_ours, w_ours, c_ours = timed(ours)
            s_pyod, w_pyod, c_pyod = timed(pyod)
            a_ours, a_pyod = auroc(split.test.y, s_ours), auroc(split.test.y, s_pyod)
            totals["ours"].append(a_ours)
            totals["pyod"].append(a_pyod)
            print(f"| {name} {data.X.shape[0]}x{data.X.shape[1]} | {seed} | {a_ours:.4f} | {a_pyod:.4f} | "
                  f"{w_ours:.2f} | {w_pyod:.2f} | {c_ours:.2f} | {c_pyod:.2f} |", flush=True)
    print(f"\nmean AUROC: ours {np.mean(totals['ours']):.4f}, PyOD {np.mean(totals['pyod']):.4f}\n")


def rate(fn, rows: int, min_seconds: float = 1.0, max_reps: int = 20000) -> float:
    fn()  # warm-up
    reps, start = 0, time.perf_counter()
    while reps < max_reps and (time.perf_counter() - start) < min_seconds:
        fn()
        reps += 1
    return rows * reps / (time.perf_counter() - start)


def throughput(threads: int) -> None:
    import onnxruntime as ort
    import torch

    import had
    from had.onnx_export import export_verified
    from had.runtime import OnnxScorer

    data = load("cardio")
    det = had.get_detector("autoencoder", device="cpu", progress=False, **ONE_FIT).fit(data.X)
    model = export_verified(det, data.X)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    module = det.model_.eval()
    rng = np.random.default_rng(0)
    print("## Scoring throughput on CPU, autoencoder D=21 (rows/s)\n")
    print("| batch | torch eager | onnxruntime | ORT / torch |")
    print("|---|---|---|---|")
    for batch in (1, 256, 65536):
        x = rng.random((batch, data.X.shape[1]), dtype=np.float32)
        xt = torch.from_numpy(x)

        def eager():
            with torch.no_grad():
                return module(xt).numpy()

        def onnx():
            return session.run(["score"], {"x": x})[0]

        np.testing.assert_allclose(onnx(), eager(), rtol=1e-4, atol=1e-6)
        r_torch, r_ort = rate(eager, batch), rate(onnx, batch)
        print(f"| {batch} | {r_torch:,.0f} | {r_ort:,.0f} | {r_ort / r_torch:.2f} |", flush=True)
    big = rng.random((65536, data.X.shape[1]))
    scorer = OnnxScorer(model, session_options=options)
    r_api_torch = rate(lambda: det.decision_function(big), big.shape[0])
    r_api_ort = rate(lambda: scorer.score(big), big.shape[0])
    print(f"\nend to end at 65536 rows (input checks included): detector.decision_function "
          f"{r_api_torch:,.0f} rows/s, OnnxScorer.score {r_api_ort:,.0f} rows/s "
          f"(ratio {r_api_ort / r_api_torch:.2f}); providers {scorer.providers}\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--threads", type=int, default=1, help="torch and onnxruntime intra-op threads")
    parser.add_argument("--skip-compare", action="store_true", help="throughput only")
    parser.add_argument("--out", type=Path, default=OUT, metavar="DIR",
                        help="folder the report results.md is written to (default: the committed "
                             "benchmarks/results/autoencoder, replaced by the run; give your own to reproduce)")
    args = parser.parse_args(argv)

    import onnxruntime
    import pyod
    import torch

    torch.set_num_threads(args.threads)
    buffer = io.StringIO()

    class Tee(io.TextIOBase):
        def write(self, s):
            sys.__stdout__.write(s)
            buffer.write(s)
            return len(s)

        def flush(self):
            sys.__stdout__.flush()

    with redirect_stdout(Tee()):
        print("# bench_autoencoder\n")
        print(f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, pyod {pyod.__version__}, "
              f"python {platform.python_version()}, {os.cpu_count()} CPUs, {args.threads} thread(s), "
              f"load average at start {os.getloadavg()[0]:.1f}, seeds {args.seeds}\n")
        if not args.skip_compare:
            compare(args.datasets, args.seeds)
        throughput(args.threads)
        print(f"load average at end {os.getloadavg()[0]:.1f}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text(buffer.getvalue())


if __name__ == "__main__":
    main()
