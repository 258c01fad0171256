"""Peak memory of `had fit` / `had score` on an int16 ENVI flight line (the type most sensors write), each step its
own `had` process, its peak RSS from ``os.wait4``: RX, ``pyod-ecod``, the autoencoder and LREN on a seeded
1000 x 600 x 224 int16 BIL line (269 MB; the first 40 columns fill -9999, six bands marked bad in ``bbl``, a
map transform), fitted with ``--data bands=good``. Usage (about 6 minutes here, most of it LREN)::

    nice -n 10 .venv/bin/python benchmarks/bench_int_line.py [--steps rx,ecod,ae,lren] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HAD = str(Path(sys.executable).with_name("had"))
STEPS = {
    "rx": [("fit", "rx", []), ("score", "rx", ["-o", "rx.tif"])],
    "ecod": [("fit", "pyod-ecod", []), ("score", "pyod-ecod", ["-o", "ecod.tif"])],
    "ae": [("fit", "autoencoder", ["--set", "epochs=1", "--set", "restarts=1"])],
    "lren": [("fit", "lren", [])],
}


def generate(folder: Path) -> Path:
    """line.hdr/.img: 8 endmembers mixed by Dirichlet abundances, Gaussian noise, 30 planted 2x2 targets."""
    from had_hsi.envi import save_envi

    rng = np.random.default_rng(0)
    lines, samples, bands = 1000, 600, 224
    base = rng.normal(size=(8, bands)) * 300 + 2000
    cube = np.empty((lines, samples, bands), dtype=np.int16)
    for start in range(0, lines, 100):  # a block of lines at a time: the generator itself stays small
        abundances = rng.dirichlet(np.ones(8) * 0.5, size=(100, samples))
        cube[start:start + 100] = (abundances @ base + rng.normal(size=(100, samples, bands)) * 20).astype(np.int16)
    cube[:, :40] = -9999
    for _ in range(30):
        r, c = rng.integers(10, lines - 10), rng.integers(60, samples - 10)
        cube[r:r + 2, c:c + 2] += (rng.normal(size=bands) * 400).astype(np.int16)
    bbl = np.ones(bands, dtype=int)
    bbl[[105, 106, 107, 150, 151, 152]] = 0
    header = folder / "line.hdr"
    save_envi(header, cube, "bil", **{
        "data ignore value": -9999, "bbl": "{" + ",".join(map(str, bbl)) + "}",
        "map info": "{UTM, 1.0, 1.0, 500000.0, 4000000.0, 15.0, 15.0, 11, North, WGS-84, units=Meters}",
        "wavelength": "{" + ",".join(f"{w:.1f}" for w in np.linspace(400, 2500, bands)) + "}"})
    return header


def run(folder: Path, command: list[str]) -> tuple[float, float, int]:
    """(wall s, CPU s, peak RSS MB) of one `had` process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {proc.stderr.read().decode()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="rx,ecod,ae,lren")
    parser.add_argument("--keep", type=Path, help="generate the line here and keep it")
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(args.generate)
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="had-int-line-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        header = folder / "line.hdr"
        if not header.exists():  # in a child: a forked step's peak RSS would count this process's cube (execve
            # keeps the high-water mark of the process it replaces)
            subprocess.run([sys.executable, __file__, "--generate", str(folder)], check=True)
        size = (folder / "line.img").stat().st_size / 2**20
        print(f"int16 ENVI BIL line 1000 x 600 x 224 ({size:.0f} MiB), --data bands=good (218 bands), "
              f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
        print("| step | wall s | CPU s | peak RSS MB |\n|---|---:|---:|---:|")
        for key in args.steps.split(","):
            for verb, detector, extra in STEPS[key]:
                model = f"m-{detector}"
                if verb == "fit":
                    shutil.rmtree(folder / model, ignore_errors=True)
                    command = [HAD, "fit", detector, "line.hdr", "-o", model]
                else:
                    command = [HAD, "score", model, "line.hdr"]
                wall, cpu, peak = run(folder, command + ["--data", "bands=good"] + extra)
                print(f"| had {verb} {detector} {' '.join(extra)} | {wall:.1f} | {cpu:.1f} | {peak} |", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
