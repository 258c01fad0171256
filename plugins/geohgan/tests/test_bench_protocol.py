"""The one-class protocol of benchmarks/bench_geohgan.py (the reference's: fit on background tiles, score held-out
tiles): which tiles are fitted and which are scored."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import had
import numpy as np
import pytest
from had_raster.tiles import tile_grid

BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_geohgan.py"


@pytest.fixture(scope="module")
def bench():
    if not BENCH.exists():
        pytest.skip(f"{BENCH} is not in this checkout (installed plugin without the repository)")
    spec = importlib.util.spec_from_file_location("bench_geohgan", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_class_fits_background_tiles_of_the_top_half_and_scores_the_bottom_half(bench):
    grid = tile_grid((512, 512), 64, 32)  # the reference's tiles on the synthetic source's default raster
    y = np.zeros(len(grid), dtype=np.int8)
    rows = grid.coords[:, 0]
    y[rows == 0] = 1               # anomalous tiles in the top half: never fitted
    y[rows == 224] = 1             # straddling tiles: neither fitted nor scored
    y[(rows == 448) & (grid.coords[:, 1] < 96)] = 1
    fitted, scored = bench.protocol_parts(y, grid, "one-class")
    assert (y[fitted] == 0).all() and fitted.size == 15 * 6  # 7 top rows of 15 tiles, the first row anomalous
    assert (rows[fitted] + 64 <= 256).all() and (rows[scored] >= 256).all()
    assert scored.size == 15 * 7 and int(y[scored].sum()) == 3
    assert bench.covered(grid, fitted)[256:].sum() == 0  # no scored pixel was fitted
    every = np.arange(len(grid))
    assert all(np.array_equal(p, every) for p in bench.protocol_parts(y, grid, "transductive"))


def test_one_class_refuses_a_split_without_anomalies_to_score(bench):
    grid = tile_grid((512, 512), 64, 32)
    y = np.zeros(len(grid), dtype=np.int8)
    with pytest.raises(had.InvalidInputError, match="another seed"):
        bench.protocol_parts(y, grid, "one-class")
