"""`had fit` says how the detector's fit read a scene file: "(read tile by tile)" was printed for every detector,
so `had fit bs3lnet line.hdr` said it of a scene BS3LNet reads whole (into float32: ``TorchDetector._viewed``).
RX reads tile by tile through its own one-pass fit (it does not declare ``reads_views``); a detector that reads
views reads tile by tile when its fit samples the pixels (``fit_sample_``), whole otherwise. `had score` reads
every scene tile by tile, and says so."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

import had
from had.cli import cli
from had.tiling import LazyScene

save_envi = pytest.importorskip("had_hsi.envi").save_envi


@pytest.fixture
def line(tmp_path):
    """A 30 x 20 x 6 int16 BIL line (what most sensors write) and its path."""
    rng = np.random.default_rng(19)
    cube = (rng.normal(size=(30, 20, 6)) * 100 + 1000).astype(np.int16)
    save_envi(tmp_path / "line.hdr", cube, "bil")
    return tmp_path / "line.hdr"


def fitted_line(args: list[str], out) -> str:
    result = CliRunner().invoke(cli, ["fit", *args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    return next(text for text in result.output.splitlines() if text.startswith("fitted "))


def test_had_fit_bs3lnet_says_the_line_is_read_whole(line, tmp_path):
    pytest.importorskip("had_bs3lnet")
    said = fitted_line(["bs3lnet", str(line), "--set", "epochs=0.2", "--set", "channels=4", "--set", "patch=5",
                        "--set", "window=3", "--set", "device=cpu"], tmp_path / "m")
    assert "line: 30x20x6 int16 (read whole) in " in said, said
    assert "tile by tile" not in said


def test_had_fit_rx_says_the_line_is_read_tile_by_tile(line, tmp_path):
    said = fitted_line(["rx", str(line)], tmp_path / "m")
    assert "line: 30x20x6 int16 (read tile by tile) in " in said, said


def test_a_pixel_trained_fit_reads_tile_by_tile_only_when_it_samples(line):
    """A detector that reads views (pyod's) gathers a sample of the pixels tile by tile; below its
    ``max_fit_pixels`` it has every pixel in one array."""
    pytest.importorskip("had_pyod")
    from had.scenefiles import open_scene

    scene = open_scene(str(line))
    assert isinstance(scene, LazyScene)
    sampled = had.get_detector("pyod-ecod", max_fit_pixels=100).fit(scene.X)
    whole = had.get_detector("pyod-ecod").fit(scene.X)
    assert sampled.fit_sample_ and not whole.fit_sample_
    assert scene.describe(sampled).endswith("int16 (read tile by tile)")
    assert scene.describe(whole).endswith("int16 (read whole)")
    assert scene.describe().endswith("int16 (read tile by tile)")  # had score: every detector, tile by tile



def test_rx_reads_tile_by_tile_and_a_subclass_with_its_own_fit_reads_whole():
    from had.tiling import fit_read

    rx = had.get_detector("rx")
    assert fit_read(rx) == "read tile by tile"

    class WholeRX(type(rx)):  # a subclass with an in-memory fit goes through Detector.fit, which reads whole
        def _fit(self, X, y):
            return super()._fit(X, y)

    assert fit_read(WholeRX()) == "read whole"
