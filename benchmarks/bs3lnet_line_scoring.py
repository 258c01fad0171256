"""BS3LNet scoring a flight line tile by tile (`had score`) against the same array scored in memory, side by side.

A probe measured `had score` of a BS3LNet model 1.48x slower per pixel on a generated int16 ENVI line than on a
scene in memory. This script scores one seeded 1000 x 600 x 100 int16 BIL line (120 MB; the page cache holds it
after the first pass) three ways, interleaved, each case's best of ``--repeats`` by process CPU time (the wall
time is printed too; on a shared 2-core machine it varied 1.3-2x between runs, so compare CPU):

* ``line``: what `had score` does (its eager scorer, :func:`had.score_file.scorer_of`):
  :func:`had.tiling.score_tiles` over the memory-mapped file with ``context_rows`` (7) rows around each tile,
  each block handed to ``decision_function``, which scores a scene above ``score_batch_size`` pixels (65,536: 109
  rows here) in passes of that many rows, each with its context rows;
* ``memory float32`` / ``memory int16``: ``decision_function`` of the array (passes of 109 rows with context).

For each it prints the CPU seconds, the seconds inside the network's forward passes, the rows those passes saw
(context rows included) and how many passes, and the ratio to ``memory float32``; every map is checked equal to
the in-memory one bit for bit. Measured here (7 December 2026): with tiles of ``had.tiling.TILE_BYTES`` (139 rows,
153 with their context, each scored in two passes) the line took 1.06-1.15x the CPU of ``memory float32``, 1196
rows convolved in 15 passes against 1126 in 10; with tiles cut to the pass (not done; measured with a patch of core, the SDK and the runtime)
the line makes the in-memory passes. ``memory int16`` took 1.17-1.26x: the array is converted to float64 whole,
then to float32. Usage (about 3 minutes here)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bs3lnet_line_scoring.py [--repeats 3] [--bands 100]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def generate(folder: Path, lines: int, samples: int, bands: int) -> tuple[Path, np.ndarray]:
    """line.hdr/.img, int16 BIL: eight endmembers mixed at random, Gaussian noise; and the same cube in memory."""
    from had_hsi.envi import save_envi

    rng = np.random.default_rng(0)
    base = rng.normal(size=(8, bands)) * 300 + 2000
    cube = np.empty((lines, samples, bands), dtype=np.int16)
    for start in range(0, lines, 100):
        abundances = rng.dirichlet(np.ones(8) * 0.5, size=(min(100, lines - start), samples))
        cube[start:start + 100] = abundances @ base + rng.normal(size=abundances.shape[:2] + (bands,)) * 20
    save_envi(folder / "line.hdr", cube, "bil")
    return folder / "line.hdr", cube


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=600)
    parser.add_argument("--bands", type=int, default=100)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    import had
    from had import tiling
    from had.scenefiles import open_scene
    from had.score_file import scorer_of
    from had_sdk.torch_detector import TorchDetector

    with tempfile.TemporaryDirectory() as tmp:
        header, cube = generate(Path(tmp), args.lines, args.samples, args.bands)
        # the weights do not change the cost of a pass: a short fit on a window, saved and loaded as had score does
        fitted = had.get_detector("bs3lnet", epochs=1, device="cpu", progress=False, scale="standard")
        fitted.fit(cube[:60, :60].astype(np.float32))
        model = had.save(fitted, Path(tmp) / "m")
        forward, seen = TorchDetector._forward, {"rows": 0, "passes": 0, "seconds": 0.0}

        def counted(self, chunk):  # every forward pass of the network, its rows and time
            t0 = time.process_time()
            scores = forward(self, chunk)
            seen["seconds"] += time.process_time() - t0
            seen["rows"] += chunk.shape[0]
            seen["passes"] += 1
            return scores

        TorchDetector._forward = counted
        scorer, blocks = scorer_of(str(model), "eager")[0], []  # had score's eager scorer

        def score(block):  # the rows of each block it is given (a tile and its context rows)
            blocks.append(block.shape[0])
            return scorer(block)

        score.__dict__.update(scorer.__dict__)  # context_rows and what else had.tiling reads of it
        det = had.load(model)
        scene = open_scene(str(header))
        width, context = scene.X.shape[1], det.context_rows
        in_float32 = cube.astype(np.float32)
        cases = {
            "line (had score's tiles)": lambda: blocks.clear() or tiling.score_tiles(score, scene.X),
            "memory float32": lambda: det.decision_function(in_float32),
            "memory int16": lambda: det.decision_function(cube),
        }
        best, maps = {}, {}
        for _ in range(args.repeats):
            for name, run in cases.items():
                seen.update(rows=0, passes=0, seconds=0.0)
                cpu, wall = time.process_time(), time.perf_counter()
                maps[name] = run()
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                if name not in best or cpu < best[name][0]:
                    best[name] = (cpu, wall, seen["seconds"], seen["rows"], seen["passes"])
        reference = best["memory float32"][0]
        print(f"bs3lnet scoring {args.lines} x {width} x {args.bands} int16 BIL, context {context} rows, "
              f"had score's blocks of {blocks[1]} rows (a tile and its context), passes of "
              f"{det.config.score_batch_size // width} rows; best of {args.repeats}, process CPU time")
        for name, (cpu, wall, inside, rows, passes) in best.items():
            same = np.array_equal(maps[name], maps["memory float32"])
            print(f"  {name:26s} {cpu:6.2f} s CPU ({cpu / reference:.3f}x)  forward {inside:6.2f} s  "
                  f"{rows} rows in {passes} passes  other {cpu - inside:5.2f} s  wall {wall:6.2f} s  "
                  f"map {'identical' if same else 'DIFFERS'}")


if __name__ == "__main__":
    main()
