"""Torch CPU numerics across x86 CPUs: one short torch fit in subprocesses, the default kernels vs pinned ones,
each under the instruction sets an AVX-512 and an AVX2-only machine would pick.

Why: the torch-trained figures (Geo-Hgan, Deep SVDD, ...) do not reproduce from one machine to another with the
same sources and seed, because torch's CPU libraries pick their kernels by the CPU they run on, the kernels round
differently, and training amplifies the differences. Three libraries choose:

* ATen's own vectorised kernels (elementwise, reductions, batch norm): ``ATEN_CPU_CAPABILITY`` (default / avx2 /
  avx512);
* oneDNN (``torch.backends.mkldnn``: the float32 convolutions): ``ONEDNN_MAX_CPU_ISA`` caps its ISA;
* oneMKL (sgemm behind ``nn.Linear``, and the convolutions when oneDNN is off): ``MKL_ENABLE_INSTRUCTIONS`` caps
  the ISA on Intel CPUs, ``MKL_CBWR`` fixes a code branch (conditional numerical reproducibility, CNR). On
  non-Intel CPUs oneMKL supports only the AUTO and COMPATIBLE branches (oneMKL developer guide, "Getting started
  with CNR"); COMPATIBLE (SSE2 without the approximation instructions rcpps/rsqrtps, which differ between Intel
  and AMD) is the branch documented to give the same results on Intel and Intel-compatible CPUs, with a fixed
  number of threads.

numpy picks too, and the detectors use it before and after torch (Deep SVDD's whitening is a numpy
eigendecomposition): its OpenBLAS chooses kernels by CPU (``OPENBLAS_CORETYPE``: SkylakeX on an AVX-512 CPU,
Haswell on an AVX2 one) and its own loops dispatch on AVX-512 (``NPY_DISABLE_CPU_FEATURES``, numpy 2.4's group
names). Both pin sets below fix them at the AVX2 level: ``OPENBLAS_CORETYPE=Haswell``,
``NPY_DISABLE_CPU_FEATURES=X86_V4,AVX512_ICL``.

The "machines" are simulated on the one CPU this runs on: ``native`` sets nothing (what this CPU picks: AVX-512
where it has it), ``avx2`` caps all five at AVX2 (what an AVX2-only CPU would pick). A real AVX2-only
CPU cannot run AVX-512 kernels, so the pins cap at AVX2 or lower. The pin sets (``--pins``):

* ``no-onednn`` (default): ``MKL_CBWR=COMPATIBLE``, ``ATEN_CPU_CAPABILITY=avx2`` and oneDNN switched off in the
  process (``torch.backends.mkldnn.enabled = False``, which has no environment variable): every GEMM and
  convolution then runs in oneMKL's COMPATIBLE branch, the only one documented to agree across CPU vendors;
* ``env``: ``MKL_CBWR=COMPATIBLE``, ``ATEN_CPU_CAPABILITY=avx2``, ``ONEDNN_MAX_CPU_ISA=AVX2``: environment only,
  faster, but oneDNN promises bitwise results only "on a given platform" (its deterministic-attribute docs), so
  its AVX2 kernels on another CPU are not covered by any guarantee.

Each run prints the workload's figures (AUROC, full precision), a hash of its raw scores (bit-for-bit check), the
fit's CPU seconds (``time.process_time``) and wall seconds; then the speed ratio pinned / default per simulated
machine. Threads: 1 everywhere (``OMP_NUM_THREADS=MKL_NUM_THREADS=OPENBLAS_NUM_THREADS=1``, ``MKL_DYNAMIC=FALSE``,
``torch.set_num_threads(1)``); CNR holds for a fixed thread count only. Repeats alternate default and pinned so
that the machine's load hits both.

Workloads (``--workload``): ``geohgan``: bench_geohgan.py's one-class synthetic-geochem-64 seed-0 fit
(``--epochs`` 5 + 5; about 40 s a run on a 2-core AMD EPYC); ``deepsvdd``: the deepsvdd default tabular recipe
on arrhythmia, Deep SAD split seed 0 (about 10 s a run).

Usage::

    HAD_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/torch_cpu_pins.py --workload geohgan
    HAD_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/torch_cpu_pins.py --workload deepsvdd --repeats 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from had.cpu_pins import PINS as HAD_PINS  # noqa: E402 - the pins `had bench --pin-cpu` sets (one statement of them)

THREADS = {name: HAD_PINS[name] for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                             "MKL_DYNAMIC", "OMP_DYNAMIC")}
#: numpy's choices on an AVX2-only CPU (OpenBLAS picks Haswell kernels on Intel AVX2 and on AMD Zen)
NUMPY_AVX2 = {name: HAD_PINS[name] for name in ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES")}
#: simulated machines: the kernel-selection settings each would end up with
MACHINES = {
    "native": {},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
             **NUMPY_AVX2},
}
#: pin sets: (environment, oneDNN on in the process); "env" is had's (had.cpu_pins.PINS less the threads)
PINS = {
    "no-onednn": ({name: HAD_PINS[name] for name in ("MKL_CBWR", "ATEN_CPU_CAPABILITY")} | NUMPY_AVX2, False),
    "env": ({name: value for name, value in HAD_PINS.items() if name not in THREADS}, True),
}
KNOBS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS", "MKL_CBWR", "OPENBLAS_CORETYPE",
         "NPY_DISABLE_CPU_FEATURES", "PINS_MKLDNN")


def _digest(arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(a.tobytes())
    return h.hexdigest()[:12]


def child(workload: str, epochs: int) -> None:
    """One fit in this process; prints one JSON line."""
    import numpy as np
    import torch

    import had
    from had.metrics import auroc

    if os.environ.get("PINS_MKLDNN") == "0":
        torch.backends.mkldnn.enabled = False
    torch.set_num_threads(1)
    out = {"aten": torch.backends.cpu.get_cpu_capability(), "mkldnn": torch.backends.mkldnn.enabled}
    if workload == "geohgan":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import bench_geohgan as bench
        from had_raster import TileGrid

        ds = bench.load("synthetic-geochem-64", 0)
        X, y = ds.X, np.asarray(ds.y)
        fit_idx, test_idx = bench.protocol_parts(y, TileGrid.from_meta(ds.meta), "one-class")
        det = had.get_detector("geohgan", epochs=epochs, encoder_epochs=epochs, seed=0, device="cpu",
                               progress=False)
        c0, w0 = time.process_time(), time.perf_counter()
        det.fit(X[fit_idx])
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        scores = {k: np.asarray(v) for k, v in det.score_all(X[test_idx]).items()}
        yt = y[test_idx]
    else:
        from had.protocols import deepsad_split, feasible_pollution

        data = had.load_dataset("arrhythmia")
        split = deepsad_split(data, seed=0, ratio_pollution=feasible_pollution(data.y, 0.1))
        det = had.get_detector("deepsvdd", seed=0, device="cpu", progress=False)
        c0, w0 = time.process_time(), time.perf_counter()
        det.fit(split.train.X)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        scores = {"auroc": np.asarray(det.decision_function(split.test.X))}
        yt = split.test.y
    out["figures"] = {k: round(float(auroc(yt, s)), 6) for k, s in scores.items()}
    out["sha"] = _digest(scores.values())
    out["cpu_s"], out["wall_s"] = round(cpu, 2), round(wall, 2)
    print("RESULT " + json.dumps(out), flush=True)


def run(workload: str, epochs: int, env_extra: dict, mkldnn: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in KNOBS}
    env.update(THREADS)
    env.update(env_extra)
    if not mkldnn:
        env["PINS_MKLDNN"] = "0"
    cmd = [sys.executable, __file__, "--child", workload, "--epochs", str(epochs)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
    if p.returncode or not lines:
        raise RuntimeError(f"child failed ({p.returncode}): {p.stderr[-2000:]}")
    return json.loads(lines[-1][7:])


def cpu_name() -> str:
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    fields: dict[str, str] = {}
    for ln in info.splitlines():
        if ":" in ln:
            key, value = ln.split(":", 1)
            fields.setdefault(key.strip(), value.strip())  # the first processor's
    flags = fields.get("flags", "").split()
    return (f"{fields.get('vendor_id', '?').strip()} {fields.get('model name', '?').strip()}, "
            f"avx2={'avx2' in flags} avx512f={'avx512f' in flags}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=("geohgan", "deepsvdd"), default="geohgan")
    parser.add_argument("--epochs", type=int, default=5, help="geohgan: step-1 and step-2 epochs each")
    parser.add_argument("--pins", choices=tuple(PINS), default="no-onednn")
    parser.add_argument("--repeats", type=int, default=1, help="runs per (setting, machine), alternating")
    parser.add_argument("--child", choices=("geohgan", "deepsvdd"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.epochs)
        return
    import torch

    pin_env, pin_mkldnn = PINS[args.pins]
    print(f"# torch {torch.__version__}; CPU: {cpu_name()}; workload {args.workload}"
          + (f" ({args.epochs}+{args.epochs} epochs)" if args.workload == "geohgan" else "")
          + f"; threads 1 (OMP/MKL/torch); repeats {args.repeats}")
    print(f"# pins '{args.pins}': " + " ".join(f"{k}={v}" for k, v in pin_env.items())
          + ("" if pin_mkldnn else " + torch.backends.mkldnn.enabled=False"))
    settings = {"default": ({}, True), "pinned": (pin_env, pin_mkldnn)}
    results: dict[tuple[str, str], list[dict]] = {}
    for _ in range(args.repeats):
        for machine, menv in MACHINES.items():
            for name, (penv, mkldnn) in settings.items():  # pins override what the machine would pick
                results.setdefault((name, machine), []).append(run(args.workload, args.epochs,
                                                                    {**menv, **penv}, mkldnn))
    print(f"{'setting':8s} {'machine':7s} {'aten':7s} {'onednn':6s} figures (AUROC)"
          f"{'':40s} {'scores sha':12s} {'fit cpu s':>9s} {'wall s':>7s}")
    for (name, machine), rs in results.items():
        r = rs[0]
        shas = {x["sha"] for x in rs}
        figs = " ".join(f"{k}={v:.6f}" for k, v in r["figures"].items())
        print(f"{name:8s} {machine:7s} {r['aten']:7s} {str(r['mkldnn']):6s} {figs:55s} "
              f"{r['sha'] if len(shas) == 1 else 'RUN-TO-RUN!':12s} "
              f"{statistics.median(x['cpu_s'] for x in rs):9.2f} {statistics.median(x['wall_s'] for x in rs):7.2f}")
    for name in settings:
        shas = {results[(name, m)][0]["sha"] for m in MACHINES}
        print(f"{name}: scores {'identical (bit for bit)' if len(shas) == 1 else 'DIFFER'} across the simulated "
              f"machines {', '.join(MACHINES)}")
    for machine in MACHINES:
        d = statistics.median(x["cpu_s"] for x in results[("default", machine)])
        p = statistics.median(x["cpu_s"] for x in results[("pinned", machine)])
        print(f"speed {machine}: fit CPU s pinned / default = {p:.2f} / {d:.2f} = {p / d:.2f}x (1 thread)")
    print("the pins override the simulated machine's settings (oneDNN off or capped, MKL_CBWR fixing oneMKL's "
          "branch), so the pinned rows agreeing here shows that the pins take "
          "effect and cover every choice that moved a figure; that they agree on another CPU rests on the "
          "libraries (docstring)")
    if "GenuineIntel" not in cpu_name():
        print("note: not an Intel CPU: oneMKL supports only its AUTO and COMPATIBLE CNR branches here, and "
              "MKL_ENABLE_INSTRUCTIONS changed no result on an AMD EPYC (measured), so the simulated machines may "
              "differ in ATen, oneDNN and numpy (OpenBLAS, its loops) only, not in oneMKL's kernels")


if __name__ == "__main__":
    main()
