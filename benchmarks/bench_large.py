"""A real-size flight line out of core: RX fit + score, ONNX and torch eager scoring, memory and time.

Generates an ENVI BIL float32 file (default 2048 lines x 2048 samples x 64 bands = 1 GiB, correlated bands and
planted anomalies, written in chunks) in a temporary folder deleted afterwards, then runs each step in its own
process and prints its wall time, its CPU time (user + system, every thread of the process: on a shared machine
wall time over CPU time says how long the step waited for a core), its peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of that process: Python, numpy, onnxruntime and the memory-mapped
pages it holds) and rows (pixels) per second:

* ``read``: one sequential read of the file (8 MiB ``readinto``), the yardstick;
* ``rx fit``: ``RX.fit`` on the memory-mapped scene: one pass of merged moments, which also draws the seeded
  sample of ``threshold_sample`` pixels (default 2**18) whose scores fix the threshold (``threshold_sample_``);
* ``rx fit, masked`` (with ``--fill F``): the file then holds fill (``data ignore value = -9999`` in every band)
  in two triangles outside a slanted footprint, a share F of its pixels, as a flight line's does; ``rx fit``
  fits every pixel (fill included) and this step leaves the fill out (``nodata=-9999``, :mod:`had.nodata`): the
  cost of masking, side by side;
* ``rx fit, bands``: ``RX.fit`` on 56 of the 64 bands through a :class:`had.cubeview.CubeView` of the map (what
  ``--data bands=...`` gives a detector): the cost of selecting bands tile by tile, beside ``rx fit``;
* ``rx fit, unhashed``: ``rx fit`` with its training fingerprint not computed (``BlockDigest.update`` a no-op;
  the model saved holds the digest of nothing): what the fingerprint costs the fit, beside ``rx fit``;
* ``rx score``: the saved model scores the scene tile by tile into a ``.npy`` map (eager, numpy);
* ``rx score, GIL held`` / ``rx fit, GIL held``: ``rx score`` / ``rx fit`` with the reader thread's page
  requests through Python's ``mmap.madvise`` (``had.tiling._MADVISE = None``), which holds the GIL while the
  kernel reads a cold tile, as ``had`` did before 5 December 2026; ``had.tiling.advise`` calls libc's ``madvise``
  through ctypes, which releases it (the two side by side, one run);
* ``rx onnx``: the same through ``had.runtime.OnnxScorer`` (onnxruntime, CPU);
* ``rx parts``: one pass over the tiles timing each thing RX does to a tile (waiting for the reader thread's tile
  out of the memory map, the training fingerprint's hash, the moments, the scores), wall and CPU time of each, to
  say where RX's time goes (not part of fit + score); the report adds two floors: overlapped on enough cores,
  fit + score >= max(read, hash, moments) + max(read, scores); on this machine's cores, at least the parts' CPU
  time over the cores (the fingerprint's blocks hash on ``--threads`` threads, :mod:`had.fingerprint`);
* ``ae fit``: a dense autoencoder (had-plugin-autoencoder) fitted on a seeded sample of 20000 pixels drawn in
  one pass of tiles (``had.tiling.sample_pixels``), 3 epochs; its wall time is the training alone;
* ``ae eager`` / ``ae onnx``: that autoencoder scoring every pixel tile by tile with torch eager, then with its ONNX export;
* ``lren fit``: LREN with its defaults (``had fit lren line.hdr``: fitted on its seeded sample of pixels, the
  sample size in ``fit_pixels``), then ``lren eager``: scoring every pixel tile by tile as ``had score`` does, and
  the same before 5 December 2026 beside it: ``lren eager, before`` (65,536 rows a forward pass on the CPU and
  glibc's malloc as it comes) and ``lren eager, rows cap only`` (4096 rows a pass,
  ``had_sdk.torch_detector.CPU_ROWS_PER_PASS``, glibc as it comes); ``system_s`` is the kernel's share of the CPU
  time, where the page faults of memory handed back and taken again go.

Detector settings: ``--set DETECTOR.FIELD=VALUE`` (repeatable, as ``had bench --set``; values are JSON where
they parse) is laid over the settings of the detectors the steps build (``rx``, ``autoencoder``, ``lren``: e.g.
``--set lren.raw_weight=0``), the scoring steps using the model fitted with it; it goes with every step's process
and is said in the report's ``machine:`` line. A setting for a detector no chosen step builds, or one its config
refuses (an unknown field, a bad value), stops the run with one line (exit 2) before the file is generated.

Every step's process sets glibc's malloc as ``had``'s command line does (``had.memory.tune_malloc``), except
``lren eager, before`` and ``lren eager, rows cap only``.

Before every step the file's pages are evicted from the page cache (``posix_fadvise(DONTNEED)``, this file
only), so each step reads from disk as the yardstick did; ``--warm`` skips the eviction. Ratios are step wall
time over the read's. With ``rx-score``, two more runs show what a user who types ``had fit`` then ``had score``
gets: ``rx fit`` from a cold cache, then ``rx score`` at once, the file's pages left in the page cache between the
two (``back to back``); and the read is run again after them (``read, again``), since this shared disk's speed
swings between runs. Nothing is asserted; the targets (issue 15) are peak memory under 1.5 GB and RX fit + score
within 2x one read, claimed only on the strict figure (cold before each step) against both reads.

Usage::

    nice -n 10 .venv/bin/python benchmarks/bench_large.py [--lines 2048 --samples 2048 --bands 64] [--threads 2] [--steps rx-score,rx-parts]
    .venv/bin/python benchmarks/bench_large.py --steps lren-fit,lren-eager --set lren.raw_weight=0
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NoReturn

import numpy as np

CHUNK = 8 * 2**20
SAMPLE_PIXELS = 20000


FILL = -9999.0


def generate(header: Path, lines: int, samples: int, bands: int, seed: int = 0, fill: float = 0.0) -> Path:
    """Write the ENVI BIL float32 scene in chunks of lines; returns the data file. `fill`: the share of pixels,
    in two triangles outside a slanted footprint, that hold :data:`FILL` in every band (declared in the header)."""
    from had_hsi.envi import write_header

    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(bands, bands)) / np.sqrt(bands) * np.linspace(1.0, 0.05, bands)
    offset = np.linspace(800.0, 200.0, bands)
    write_header(header, (lines, samples, bands), np.float32, "bil",
                 wavelength=[round(w, 1) for w in np.linspace(400.0, 2500.0, bands)], wavelength_units="Nanometers",
                 map_info=["UTM", 1.0, 1.0, 500000.0, 4100000.0, 15.0, 15.0, 11, "North", "WGS-84", "units=Meters"],
                 **({"data_ignore_value": FILL} if fill else {}))
    data = header.with_suffix(".img")
    step = max(1, 16 * 2**20 // (samples * bands * 4))
    with open(data, "wb") as fh:
        for start in range(0, lines, step):
            rows = min(step, lines - start)
            block = rng.standard_normal((rows, samples, bands), dtype=np.float32) @ mixing.astype(np.float32)
            block += offset.astype(np.float32)
            hits = rng.random((rows, samples)) < 1e-5
            block[hits] += 8.0 * mixing[0].astype(np.float32)
            if fill:  # left of fill * samples * (1 - row / lines), right of samples * (1 - fill * row / lines)
                row = np.arange(start, start + rows)[:, None] / lines
                col = np.arange(samples)[None, :] / samples
                block[(col < fill * (1 - row)) | (col >= 1 - fill * row)] = FILL
            fh.write(np.ascontiguousarray(block.transpose(0, 2, 1)).tobytes())  # BIL: line, band, sample
    return data


def evict(path: Path) -> None:
    """Drop `path`'s pages from the page cache (this file only; other processes' caches are untouched)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


# ---- steps, each run in its own process -------------------------------------------------------------------
def step_read(args) -> dict:
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    total = 0
    t0 = time.perf_counter()
    with open(args.data, "rb", buffering=0) as fh:
        while True:
            got = fh.readinto(view)
            if not got:
                break
            total += got
    return {"wall_s": time.perf_counter() - t0, "bytes": total}


#: the detector each fitting step builds (the scoring steps load what a fitting step saved)
BUILDS = {"rx-fit": "rx", "rx-fit-masked": "rx", "rx-fit-bands": "rx", "rx-fit-unhashed": "rx", "rx-fit-gil": "rx",
          "ae-fit": "autoencoder", "lren-fit": "lren"}


def _settings(args, name: str, **defaults) -> dict:
    """The settings the bench gives detector `name` (`defaults`), with ``--set name.field=value`` laid over them."""
    return {**defaults, **args.settings.get(name, {})}


def _rx_settings(args, step: str) -> dict:
    return _settings(args, "rx", contamination=0.001, threads=args.threads,
                     **({"nodata": FILL} if step == "rx-fit-masked" else {}))


def _ae_settings(args) -> dict:
    return _settings(args, "autoencoder", epochs=3, batch_size=256, restarts=1, device="cpu")


def _lren_settings(args) -> dict:
    return _settings(args, "lren", seed=0, device="cpu", progress=False)


def detector_sets(pairs) -> dict:
    """``--set DETECTOR.FIELD=VALUE`` pairs grouped by detector, by ``had bench``'s parser; a bad pair stops with
    one line (exit 2)."""
    import click

    from had.cli_args import per_name

    try:
        return per_name(tuple(pairs or ()), "--set DETECTOR")
    except click.BadParameter as exc:
        _refuse(f"--set: {exc.message}")


def check_sets(args, wanted) -> None:
    """Refuse, before the file is generated, a setting for a detector no chosen step builds, or one its config
    refuses (each detector built once with the settings its steps would give it, checked, not fitted)."""
    import had
    from had.errors import HadError

    built = {BUILDS[step]: step for step in STEPS if step in wanted and step in BUILDS}
    for name, settings in args.settings.items():
        if name not in built:
            key = next(iter(settings), "key")
            _refuse(f"--set {name}.{key}=...: {name} is not a detector these steps build "
                    f"({', '.join(sorted(built))}); name it as one of those")
        given = (_rx_settings(args, built[name]) if name == "rx" else _ae_settings(args) if name == "autoencoder"
                 else _lren_settings(args))
        try:
            had.get_detector(name, **given)
        except HadError as exc:
            _refuse(f"--set: {exc}")


def _refuse(line: str) -> NoReturn:
    """Stop with `line` as the run's one line of error, exit status 2 (a usage error, as argparse's)."""
    print(f"bench_large: {line}", file=sys.stderr)
    raise SystemExit(2)


def _scene(args):
    from had_hsi.envi import open_envi

    return open_envi(args.header)[0]


def _hold_gil(args) -> None:
    """The ``... GIL held`` steps: page requests through Python's ``mmap.madvise`` (the fallback of advise)."""
    if args.step.endswith("-gil"):
        import had.tiling

        had.tiling._MADVISE = None


def step_rx_fit(args) -> dict:
    import had

    _hold_gil(args)
    if args.step == "rx-fit-unhashed":  # the fit without its training fingerprint: what the hash costs
        import had.rx

        had.rx.BlockDigest.update = lambda self, block: self

    X = _scene(args)
    if args.step == "rx-fit-bands":  # --data bands=...: eight bands left out, read through had.cubeview's view
        from had.cubeview import CubeView

        X = CubeView(X, np.r_[0:X.shape[-1] // 2 - 4, X.shape[-1] // 2 + 4:X.shape[-1]])
    t0 = time.perf_counter()
    rx = had.get_detector("rx", **_rx_settings(args, args.step)).fit(X)
    wall = time.perf_counter() - t0
    had.save(rx, args.model, onnx_model=rx.export_onnx())
    return {"wall_s": wall, "rows": int(X.shape[0] * X.shape[1]), "fill_pixels": int(rx.fill_pixels_)}


def step_rx_parts(args) -> dict:
    """One pass over the tiles timing what RX does to each (wall seconds summed over tiles): waiting for the
    reader thread's tile out of the memory map (the disk, when the arithmetic is faster), the training
    fingerprint (its blocks hashed by `threads` threads, waited for), the moments (float64 cast and centring, syrk,
    merge) and the scores (centring, whitening, sum of squares), one after another (RX.fit hashes while it
    computes the moments)."""
    import had
    from had.fingerprint import BlockDigest
    from had.moments import Moments
    from had.tiling import tiles

    X = _scene(args)
    rx = had.load(args.model)
    parts = {f"{k}{unit}": 0.0 for k in ("wait", "hash", "moments", "scores") for unit in ("_s", "_cpu_s")}
    moments, digest = Moments(X.shape[-1]), BlockDigest(workers=rx.config.threads)

    def timed(part, work):  # wall and process CPU (every thread: the hash's, BLAS's, the reader's) of one part
        t, cpu = time.perf_counter(), _cpu_s()
        try:
            return work()
        finally:
            parts[f"{part}_s"] += time.perf_counter() - t
            parts[f"{part}_cpu_s"] += _cpu_s() - cpu

    t0 = time.perf_counter()
    pass_ = tiles(X)
    while (item := timed("wait", lambda: next(pass_, None))) is not None:  # read in the file's order, as RX does
        tile = item[2]
        timed("hash", lambda: digest.update(tile).wait())
        timed("moments", lambda: moments.add(tile, threads=rx.config.threads))
        timed("scores", lambda: rx._rows(tile))
    digest.hexdigest()
    return {"wall_s": time.perf_counter() - t0, "rows": int(X.shape[0] * X.shape[1]),
            **{k: round(v, 3) for k, v in parts.items()}}


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _score(args, scorer) -> dict:
    from had.maps import NpyMap
    from had.tiling import score_tiles

    X = _scene(args)
    t0 = time.perf_counter()
    with NpyMap(args.out, X.shape[:2]) as out:
        score_tiles(scorer, X, out)
    wall = time.perf_counter() - t0
    amap = np.load(args.out, mmap_mode="r")
    return {"wall_s": wall, "rows": int(X.shape[0] * X.shape[1]), "max_score": float(np.max(amap))}


def step_eager(args) -> dict:
    import had

    _hold_gil(args)

    return _score(args, had.load(args.model).decision_function)


def step_onnx(args) -> dict:
    from had.runtime import OnnxScorer

    return _score(args, OnnxScorer(args.model).score)


def step_ae_fit(args) -> dict:
    import had
    from had.onnx_export import export_verified

    from had.tiling import sample_pixels

    sample = sample_pixels(_scene(args), SAMPLE_PIXELS, seed=0)[0]
    t0 = time.perf_counter()
    det = had.get_detector("autoencoder", **_ae_settings(args)).fit(sample)
    wall = time.perf_counter() - t0
    had.save(det, args.model, onnx_model=export_verified(det, sample))
    return {"wall_s": wall, "rows": SAMPLE_PIXELS}


def step_lren_fit(args) -> dict:
    import had

    X = _scene(args)
    t0 = time.perf_counter()
    det = had.get_detector("lren", **_lren_settings(args)).fit(X)
    wall = time.perf_counter() - t0
    had.save(det, args.model)
    rows = int(X.shape[0] * X.shape[1])
    return {"wall_s": wall, "rows": rows, "fit_pixels": int((getattr(det, "fit_sample_", None) or {}).get("pixels", rows))}


def step_lren_eager(args) -> dict:
    import had

    if args.step != "lren-eager":  # the steps beside it: before the rows cap, or with it but glibc as it comes
        import had_sdk.torch_detector

        if args.step == "lren-eager-before":
            had_sdk.torch_detector.CPU_ROWS_PER_PASS = 2**62
    return _score(args, had.load(args.model).decision_function)


STEPS = {"read": step_read, "rx-fit": step_rx_fit, "rx-fit-masked": step_rx_fit, "rx-fit-bands": step_rx_fit,
         "rx-fit-unhashed": step_rx_fit, "rx-score": step_eager,
         "rx-fit-gil": step_rx_fit, "rx-score-gil": step_eager, "rx-onnx": step_onnx, "rx-parts": step_rx_parts,
         "ae-fit": step_ae_fit, "ae-eager": step_eager, "ae-onnx": step_onnx, "lren-fit": step_lren_fit,
         "lren-eager": step_lren_eager, "lren-eager-before": step_lren_eager, "lren-eager-cap": step_lren_eager}
#: steps whose process keeps glibc's malloc as it comes (the others set it as had's command line does)
UNTUNED = ("lren-eager-before", "lren-eager-cap")


def child(args) -> None:
    if args.step not in UNTUNED:
        from had.memory import tune_malloc

        tune_malloc()
    result = STEPS[args.step](args)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["peak_rss_mb"] = usage.ru_maxrss / 1024.0
    result["cpu_s"] = usage.ru_utime + usage.ru_stime  # the whole process, every thread (imports included)
    result["system_s"] = usage.ru_stime
    print(json.dumps(result))


#: what a user running `had fit` then `had score` gets: (label, step, evict the file first)
BACK_TO_BACK = (("rx-fit, back to back", "rx-fit", True), ("rx-score, back to back", "rx-score", False))


def run_step(args, step: str, model: Path, out: Path, cold: bool = True) -> dict:
    if cold and not args.warm:
        evict(args.data)
    # RX runs its own `threads` over each tile's rows (saved with the model, so scoring uses them too), each
    # thread's BLAS calls on one core: OpenBLAS's own threads on 64 x 16384 products spin more than they help
    blas = 1 if step.startswith("rx-") else args.threads
    env = {**os.environ, **{v: str(blas) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}}
    command = [sys.executable, __file__, "--step", step, "--header", str(args.header), "--data", str(args.data),
               "--model", str(model), "--out", str(out), *(a for pair in args.set for a in ("--set", pair))]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"step {step} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=2048)
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--bands", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2,
                        help="threads of each step: RX's `threads` (BLAS one thread each), BLAS/OpenMP for the others")
    parser.add_argument("--fill", type=float, default=0.0,
                        help="share of pixels outside a slanted footprint holding the no-data value (rx-fit-masked)")
    parser.add_argument("--dir", help="parent of the temporary folder (default: the system's)")
    parser.add_argument("--warm", action="store_true", help="do not evict the file from the page cache between steps")
    parser.add_argument("--steps", default=",".join(STEPS), help="comma-separated steps to run (default: all)")
    parser.add_argument("--set", action="append", default=[], metavar="DETECTOR.FIELD=VALUE",
                        help="a setting of a detector the steps build (rx, autoencoder, lren), as had bench --set; "
                             "repeatable (e.g. --set lren.raw_weight=0)")
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    for hidden in ("--header", "--data", "--model", "--out"):
        parser.add_argument(hidden, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.settings = detector_sets(args.set)
    if args.step:
        return child(args)
    wanted = {"read", "rx-fit", *args.steps.split(",")}  # the yardstick, and the model the other RX steps use
    check_sets(args, wanted)
    folder = Path(tempfile.mkdtemp(prefix="had-bench-large-", dir=args.dir))
    try:
        args.header = folder / "line.hdr"
        t0 = time.perf_counter()
        args.data = generate(args.header, args.lines, args.samples, args.bands, fill=args.fill)
        size = args.data.stat().st_size
        print(f"generated {args.data.name}: {args.lines} x {args.samples} x {args.bands} float32 BIL, "
              f"{size / 2**30:.2f} GiB in {time.perf_counter() - t0:.1f}s"
              + (f", a share {args.fill} of its pixels fill ({FILL:g})" if args.fill else ""))
        rx_model, ae_model, out = folder / "rx", folder / "ae", folder / "map.npy"
        results = {}
        runs = [(step, step, True) for step in STEPS if step in wanted]
        if "rx-score" in wanted and not args.warm:  # after rx-score: fit then score back to back, then read again
            at = [label for label, _, _ in runs].index("rx-score") + 1
            runs[at:at] = [*BACK_TO_BACK, ("read, again", "read", True)]
        for label, step, cold in runs:
            model = (ae_model if step.startswith("ae-") else folder / "lren" if step.startswith("lren-")
                     else folder / "rx-b2b" if "back" in label
                     else folder / "rx-masked" if step == "rx-fit-masked" else folder / "rx-gil" if step == "rx-fit-gil"
                     else folder / "rx-bands" if step == "rx-fit-bands"
                     else folder / "rx-unhashed" if step == "rx-fit-unhashed" else rx_model)
            results[label] = run_step(args, step, model, out, cold)
            print(f"  {label}: {json.dumps(results[label])}", flush=True)
        report(args, size, results)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def report(args, size: int, results: dict) -> None:
    read = results["read"]["wall_s"]
    print()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, threads {args.threads}, {'warm' if args.warm else 'cold'} page cache per step, "
          f"{' '.join(f'--set {pair}' for pair in args.set) or 'no --set (the detector settings the steps give)'}, "
          f"load average {os.getloadavg()[0]:.1f} at the end")
    print(f"file: {args.lines} x {args.samples} x {args.bands} float32 ENVI BIL, {size / 2**30:.2f} GiB; "
          f"one sequential read {read:.2f}s ({size / read / 2**20:.0f} MiB/s)"
          + (f", {results['read, again']['wall_s']:.2f}s when read again" if "read, again" in results else ""))
    print()
    print("| step | wall s | x one read | process CPU s | peak RSS MB | pixels/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for step, r in results.items():
        rate = f"{r['rows'] / r['wall_s']:,.0f}" if "rows" in r else ""
        print(f"| {step} | {r['wall_s']:.2f} | {r['wall_s'] / read:.2f} | {r['cpu_s']:.1f} | {r['peak_rss_mb']:.0f} "
              f"| {rate} |")
    reads = [results[r]["wall_s"] for r in ("read", "read, again") if r in results]
    pairs = (("rx fit + score (cold before each step: the target's figure)", "rx-fit", "rx-score"),
             ("rx fit + score back to back (page cache kept between them)", *(label for label, _, _ in BACK_TO_BACK)))
    for name, fit, score in pairs:
        if fit not in results or score not in results:
            continue
        wall = results[fit]["wall_s"] + results[score]["wall_s"]
        cpu = results[fit]["cpu_s"] + results[score]["cpu_s"]
        peak = max(results[fit]["peak_rss_mb"], results[score]["peak_rss_mb"])
        print(f"| **{name}** | **{wall:.2f}** | **{wall / read:.2f}** | {cpu:.1f} | {peak:.0f} | |")
    if "rx-score" in results:
        strict = (results["rx-fit"]["wall_s"] + results["rx-score"]["wall_s"]) / np.array(reads)
        print()
        print("target, rx fit + score <= 2x one read (strict figure, against each read: "
              + ", ".join(f"{r:.2f}x" for r in strict) + "): " + ("met" if np.all(strict <= 2.0) else "not met"))
    held = [(step, step.replace("-gil", "")) for step in ("rx-fit-gil", "rx-score-gil")
            if step in results and step.replace("-gil", "") in results]
    if held:
        print()
        print("page requests releasing the GIL (libc madvise) over holding it (mmap.madvise), wall: "
              + ", ".join(f"{now} {results[now]['wall_s'] / results[old]['wall_s']:.2f}x" for old, now in held))
    if "rx-fit-masked" in results:
        masked, plain = results["rx-fit-masked"], results["rx-fit"]
        print()
        print(f"rx fit leaving out {masked['fill_pixels']:,} fill pixels over fitting every pixel: "
              f"{masked['wall_s'] / plain['wall_s']:.2f}x wall, {masked['cpu_s'] / plain['cpu_s']:.2f}x process CPU")
    if "rx-fit-bands" in results:
        view, plain = results["rx-fit-bands"], results["rx-fit"]
        print()
        print(f"rx fit on {args.bands - 8} of the {args.bands} bands (a had.cubeview.CubeView of the map, as "
              f"--data bands=... reads it) over every band: {view['wall_s'] / plain['wall_s']:.2f}x wall, "
              f"{view['cpu_s'] / plain['cpu_s']:.2f}x process CPU, peak RSS {view['peak_rss_mb']:.0f} MB against "
              f"{plain['peak_rss_mb']:.0f} MB")
    if "rx-fit-unhashed" in results:
        bare, plain = results["rx-fit-unhashed"], results["rx-fit"]
        print()
        with_score = (f"; with rx score, {(bare['wall_s'] + results['rx-score']['wall_s']) / read:.2f}x one read"
                      if "rx-score" in results else "")
        print(f"rx fit without its training fingerprint over with it: {bare['wall_s'] / plain['wall_s']:.2f}x wall "
              f"({bare['wall_s']:.2f} s against {plain['wall_s']:.2f} s){with_score}")
    if "rx-parts" in results:
        parts = results["rx-parts"]
        print()
        print("rx per-tile parts, one pass, wall s on the fitting thread: "
              + ", ".join(f"{k} {parts[k + '_s']:.2f}" for k in ("wait", "hash", "moments", "scores"))
              + "; fit = wait + moments (RX.fit hashes meanwhile, on --threads threads; then the threshold sample's scores), "
              "score = wait + scores")
        # two floors of fit + score. Overlapped on enough cores, each pass takes at least as long as its slowest
        # part: the fit the read, the fingerprint's hash and the moments; the score the read and the scores.
        # On this machine's cores, at least its parts' CPU time (every thread's) shared over the cores
        overlapped = max(read, parts["hash_s"], parts["moments_s"]) + max(read, parts["scores_s"])
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        cpu = sum(parts[f"{k}_cpu_s"] for k in ("hash", "moments", "scores"))
        print(f"floor of fit + score with {args.threads} threads, overlapped on enough cores: max(read {read:.2f}, "
              f"hash {parts['hash_s']:.2f}, moments {parts['moments_s']:.2f}) + max(read, scores "
              f"{parts['scores_s']:.2f}) = {overlapped:.2f} s = {overlapped / read:.2f}x one read")
        print(f"floor on this machine's {cores} cores: the arithmetic's CPU time (hash "
              f"{parts['hash_cpu_s']:.2f} + moments {parts['moments_cpu_s']:.2f} + scores {parts['scores_cpu_s']:.2f}"
              f" = {cpu:.2f} s) over {cores} cores = {cpu / cores:.2f} s = {cpu / cores / read:.2f}x one read, before "
              "reading and checking; 2x one read leaves the arithmetic "
              f"{2 * read * cores:.2f} CPU seconds here")
    print()
    if "lren-eager" in results:
        now = results["lren-eager"]
        print("lren scoring every pixel, wall time of each before over now: "
              + ", ".join(f"{step} {results[step]['wall_s'] / now['wall_s']:.2f}x (kernel {results[step]['system_s']:.1f} s)"
                          for step in UNTUNED if step in results) + f"; now: kernel {now['system_s']:.1f} s")
        print()
    for name, eager, onnx in (("rx", "rx-score", "rx-onnx"), ("autoencoder", "ae-eager", "ae-onnx")):
        if eager in results and onnx in results:
            print(f"ONNX over eager, pixels/s, {name}: {results[eager]['wall_s'] / results[onnx]['wall_s']:.2f}x")


if __name__ == "__main__":
    main()
