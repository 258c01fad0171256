"""BS3LNet scoring a flight line (`had score`, tile by tile with ``context_rows`` around each tile) against the same
array in memory. A probe measured the line 1.48x slower per pixel; measured again (benchmarks/
bs3lnet_line_scoring.py, process CPU time on a 1000 x 600 x 100 int16 BIL line) it is 1.06-1.15x: `had score`'s
tiles (139 rows, TILE_BYTES) were not the network's passes (109 rows, score_batch_size), so each tile and its 14
context rows went through the network in two passes, the second with 7 rows of context again (1196 rows convolved
against 1126 in memory), and each int16 tile is converted to float32 (an array in float32 needs no conversion).
Nothing is read or converted twice.

The map is the in-memory map bit for bit. (Cutting `had score`'s tiles to the network's passes would save the ~6 %
of extra rows: a change to core, the SDK and the runtime, left; docs/reliability.md, nineteenth round.)"""

from __future__ import annotations

import numpy as np
import pytest

import had
from had import tiling
from had.cli import main

save_envi = pytest.importorskip("had_hsi.envi").save_envi

TINY = {"epochs": 1, "channels": 8, "patch": 7, "batch_size": 64, "progress": False, "device": "cpu",
        "score_batch_size": 120}  # passes of 10 rows of a 12-pixel-wide scene, with 7 rows of context each


@pytest.fixture
def line(tmp_path):
    """A 40 x 12 x 6 int16 BIL line with a target, as a file and in memory, and BS3LNet fitted on it, saved."""
    rng = np.random.default_rng(19)
    cube = (rng.normal(size=(40, 12, 6)) @ rng.normal(size=(6, 6)) * 100 + 500).astype(np.int16)
    cube[17, 5] += 600
    save_envi(tmp_path / "line.hdr", cube, "bil")
    det = had.get_detector("bs3lnet", TINY).fit(cube)
    return tmp_path / "line.hdr", cube, had.save(det, tmp_path / "m")


def had_score(model, header, out, *extra) -> np.ndarray:
    with pytest.raises(SystemExit) as done:
        main(["score", str(model), str(header), "-o", str(out), *extra])
        raise SystemExit(0)
    assert done.value.code == 0
    return np.load(out)


def test_a_line_scores_as_the_array_in_memory_bit_for_bit(line, tmp_path, monkeypatch):
    """Tiles of 16 rows (three, with their 7 context rows), each split by the network into passes of 10 rows: the
    map equals the in-memory array's bit for bit (each output row of a convolution is computed alone, whatever
    block it is in; CPU)."""
    header, cube, model = line
    whole = had.load(model).decision_function(cube)
    monkeypatch.setattr(tiling, "TILE_BYTES", tiling.bytes_for_rows(cube.shape, 16))
    # bit for bit here; float32 rounding allowed, as another CPU's convolution kernels may depend on the tile's
    # shape (benchmarks/torch_cpu_pins.py: kernels are chosen by CPU)
    np.testing.assert_allclose(had_score(model, header, tmp_path / "map.npy", "--engine", "eager"), whole,
                               rtol=1e-5, atol=0)


def test_each_tile_is_read_and_converted_to_float32_once(line, monkeypatch):
    """The suspicion that a tile's context rows are read twice or the scene converted more than once: each block
    `had score` hands the detector (a tile and its context rows) is read from the file once and converted to
    float32 once, its values and no more (the context rows between two tiles belong to both blocks)."""
    from had.cubeview import CubeView
    from had.scenefiles import open_scene

    header, cube, model = line
    monkeypatch.setattr(tiling, "TILE_BYTES", tiling.bytes_for_rows(cube.shape, 16))
    converted, to_array = [], CubeView.__array__
    monkeypatch.setattr(CubeView, "__array__",
                        lambda self, dtype=None, copy=None: converted.append((self.shape, dtype)) or
                        to_array(self, dtype, copy))
    det = had.load(model)
    blocks = []

    def score(block):
        blocks.append(block.shape)
        return det.decision_function(block)

    score.context_rows = det.context_rows
    tiling.score_tiles(score, open_scene(str(header)).X)
    assert converted == [(shape, np.float32) for shape in blocks]
    assert [shape[0] for shape in blocks] == [23, 30, 15]  # rows 0-23, 9-39, 25-40: tiles of 16, 7 around each

