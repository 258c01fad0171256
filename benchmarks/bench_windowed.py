"""Peak memory of two ways a flight line reaches a detector, side by side in one run, each step its own process:

* a compressed, tiled GeoTIFF through RX: read whole (``had_raster.geotiff.read_geotiff``, float64, what
  ``geotiff-scene`` did before it read by row windows) against read by row windows (``geotiff-scene``'s
  ``open()``, :class:`had_raster.geotiff.WindowedGeoTiff`); RX fitted, then every pixel scored into a map;
* an ENVI file (memory-mapped) through ``pyod-iforest``: every pixel fitted (``max_fit_pixels=None``, what the
  PyOD adapters did before they sampled) against the default seeded sample of 200,000 pixels, every pixel scored.

Prints wall seconds, process CPU seconds and peak RSS (``ru_maxrss``) of each step and the ratios of each pair;
the GeoTIFF pair's maps are compared (max relative difference). Usage (about 6 minutes here, most of it
IForest scoring 3 million pixels twice)::

    nice -n 10 .venv/bin/python benchmarks/bench_windowed.py [--lines 3000 --samples 1000 --bands 32]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def generate(folder: Path, lines: int, samples: int, bands: int) -> tuple[Path, Path]:
    """line.tif (float32, deflate, 256x256 tiles) and line.hdr/.img (ENVI BIL) holding the same seeded cube."""
    import rasterio
    from had_hsi.envi import write_header

    rng = np.random.default_rng(0)
    tif, header = folder / "line.tif", folder / "line.hdr"
    profile = dict(driver="GTiff", height=lines, width=samples, count=bands, dtype="float32", compress="deflate",
                   tiled=True, blockxsize=256, blockysize=256, crs="EPSG:32633",
                   transform=rasterio.Affine(2.0, 0.0, 500000.0, 0.0, -2.0, 4000000.0))
    write_header(header, (lines, samples, bands), np.float32, "bil")
    step = 256
    with rasterio.open(tif, "w", **profile) as dst, open(header.with_suffix(".img"), "wb") as img:
        for start in range(0, lines, step):
            rows = min(step, lines - start)
            block = rng.normal(size=(rows, samples, bands)).astype(np.float32).round(2)  # rounded: compressible
            dst.write(block.transpose(2, 0, 1), window=rasterio.windows.Window(0, start, samples, rows))
            img.write(np.ascontiguousarray(block.transpose(0, 2, 1)).tobytes())  # BIL: (line, band, sample)
    return tif, header


def step_geotiff(path: Path, out: Path, windowed: bool) -> dict:
    import had
    from had.tiling import score_tiles
    from had_raster.geotiff import read_geotiff

    X = (had.get_datasource("geotiff-scene", path=str(path)).open().X if windowed else read_geotiff(path)[0])
    det = had.get_detector("rx").fit(X)
    amap = np.lib.format.open_memmap(out, mode="w+", dtype=np.float64, shape=X.shape[:2])

    class Writer:
        def write(self, start, block):
            amap[start:start + block.shape[0]] = block

    score_tiles(det.decision_function, X, Writer())
    amap.flush()
    return {"threshold": float(det.threshold_)}


def step_iforest(header: Path, sample: bool) -> dict:
    import had

    X = had.get_datasource("envi-file", path=str(header)).open().X
    config = {} if sample else {"max_fit_pixels": None}
    det = had.get_detector("pyod-iforest", config).fit(X)
    return {"fit_sample": det.fit_sample_, "threshold": float(det.threshold_)}


STEPS = {"geotiff, read whole": lambda a: step_geotiff(a.path, a.out, False),
         "geotiff, by row windows": lambda a: step_geotiff(a.path, a.out, True),
         "pyod-iforest, every pixel": lambda a: step_iforest(a.path, False),
         "pyod-iforest, 200,000-pixel sample": lambda a: step_iforest(a.path, True)}


def child(args) -> None:
    t0 = time.perf_counter()
    result = STEPS[args.step](args)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result.update(wall_s=time.perf_counter() - t0, cpu_s=usage.ru_utime + usage.ru_stime,
                  peak_rss_mb=usage.ru_maxrss / 1024.0)
    print(json.dumps(result))


def run(step: str, path: Path, out: Path) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, __file__, "--step", step, "--path", str(path), "--out", str(out)],
                          capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"step {step!r} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=3000)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--bands", type=int, default=32)
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        return child(args)
    folder = Path(tempfile.mkdtemp(prefix="had-bench-windowed-"))
    try:
        tif, header = generate(folder, args.lines, args.samples, args.bands)
        pixels = args.lines * args.samples
        print(f"{args.lines} x {args.samples} x {args.bands} float32 ({pixels:,} pixels, "
              f"{pixels * args.bands * 4 / 2**20:.0f} MiB of pixels): line.tif {tif.stat().st_size / 2**20:.0f} MiB "
              f"(deflate, 256x256 tiles), line.img {header.with_suffix('.img').stat().st_size / 2**20:.0f} MiB (BIL); "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)
        results = {}
        for step in STEPS:
            path = tif if step.startswith("geotiff") else header
            results[step] = run(step, path, folder / f"{len(results)}.npy")
            print(f"  {step}: {json.dumps(results[step])}", flush=True)
        print()
        print("| step | wall s | process CPU s | peak RSS MB |")
        print("|---|---:|---:|---:|")
        for step, r in results.items():
            print(f"| {step} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['peak_rss_mb']:.0f} |")
        names = list(STEPS)
        for old, new in ((names[0], names[1]), (names[2], names[3])):
            a, b = results[old], results[new]
            print(f"{new} against {old}: peak RSS {b['peak_rss_mb'] / a['peak_rss_mb']:.2f}x, "
                  f"wall {b['wall_s'] / a['wall_s']:.2f}x")
        whole, windows = np.load(folder / "0.npy"), np.load(folder / "1.npy")
        print(f"GeoTIFF maps, windows against whole: max relative difference "
              f"{float(np.max(np.abs(windows - whole) / np.abs(whole))):.1e}; load average {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
