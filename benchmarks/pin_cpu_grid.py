"""``had bench --pin-cpu`` on two simulated machines: does a grid's results.csv repeat across CPUs with the pins, and
not without them? Prints each run's figures and the pinned / plain fit-time ratio, measured side by side.

The machines are simulated on the CPU this runs on (as in ``torch_cpu_pins.py``): ``native`` sets nothing (what
this CPU picks: AVX-512 where it has it), ``avx2`` caps torch's ATen and oneDNN, oneMKL, OpenBLAS and numpy's
loops at AVX2, what an AVX2-only CPU would pick. Each of the four grids (machine x pinned or not) runs the same
cells with ``--executor processes --workers 1``, so the one difference is the workers' environment. The grid
(Deep SVDD and Geo-Hgan with 5 + 5 epochs, on arrhythmia and on synthetic-geochem's 512x512x10 raster in 64x64 tiles
every 32 pixels, bench_geohgan.py's synthetic-geochem-64; seed 0) is one no
default was chosen on for this question. Threads: one per worker (the pins say so; the plain runs get
``OMP_NUM_THREADS=1`` and the like too, so that only the kernels differ).

What agreement shows: the plumbing (the pinned workers of both machines pick the same kernels; the simulated AVX2
machine sets the pins' own variables, so pinned, the two environments differ only in ``MKL_ENABLE_INSTRUCTIONS``),
not a second real CPU. The fit times are wall times of runs made one after the other (plain first): indicative
only; ``torch_cpu_pins.py`` alternates its repeats for the CPU cost.

Usage::

    HAD_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/pin_cpu_grid.py
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from had.cpu_pins import PINS

#: the libraries' kernel choices of an AVX2-only CPU (torch_cpu_pins.py's "avx2" machine)
AVX2_MACHINE = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
                "OPENBLAS_CORETYPE": "Haswell", "NPY_DISABLE_CPU_FEATURES": PINS["NPY_DISABLE_CPU_FEATURES"]}
THREADS = {name: PINS[name] for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                         "MKL_DYNAMIC", "OMP_DYNAMIC")}
#: two grids (a detector x dataset grid runs every pair): Deep SVDD on a table, Geo-Hgan on raster tiles
GRIDS = {
    "deepsvdd": ["--detectors", "deepsvdd", "--datasets", "arrhythmia"],
    "geohgan": ["--detectors", "geohgan", "--datasets", "synthetic-geochem", "--data", "synthetic-geochem.tile_size=64",
                "--data", "synthetic-geochem.stride=32", "--set", "geohgan.epochs=5",
                "--set", "geohgan.encoder_epochs=5"],
}
KNOBS = set(PINS) | set(AVX2_MACHINE)


def grid(out: Path, machine: dict[str, str], pinned: bool) -> list[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if k not in KNOBS}
    env.update(THREADS)
    env.update(machine)
    rows = []
    for name, cells in GRIDS.items():
        had = [sys.executable, "-m", "had", "bench", *cells, "--seeds", "0-0", "--no-plots", "--executor",
               "processes", "--workers", "1", "--out", str(out / name), *(["--pin-cpu"] if pinned else [])]
        done = subprocess.run(had, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"had bench failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
        with open(out / name / "results.csv", newline="") as fh:
            rows += list(csv.DictReader(fh))
    return rows


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for pinned in (False, True):
            for name, machine in (("native", {}), ("avx2", AVX2_MACHINE)):
                label = f"{name}, {'pinned' if pinned else 'plain'}"
                runs[label] = grid(Path(tmp) / label.replace(", ", "-"), machine, pinned)
                print(f"{label}: " + "; ".join(
                    f"{r['detector']} on {r['dataset']} auroc {r['auroc']} fit {float(r['fit_s']):.1f}s"
                    for r in runs[label]), flush=True)

    def figures(rows):
        return [{k: v for k, v in r.items() if k not in ("fit_s", "score_s")} for r in rows]

    for pinned in ("plain", "pinned"):
        same = figures(runs[f"native, {pinned}"]) == figures(runs[f"avx2, {pinned}"])
        print(f"{pinned}: the two machines' results.csv (less the times) {'agree' if same else 'DIFFER'}")
    for name in ("native", "avx2"):
        plain, pinned = runs[f"{name}, plain"], runs[f"{name}, pinned"]
        ratios = ", ".join(f"{a['detector']} {float(b['fit_s']) / float(a['fit_s']):.2f}x"
                           for a, b in zip(plain, pinned))
        print(f"{name}: fit time pinned / plain: {ratios}")


if __name__ == "__main__":
    main()
