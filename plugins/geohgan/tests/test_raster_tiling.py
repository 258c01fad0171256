"""A Geo-Hgan model fitted on ``raster-file`` tiles with ``--data tile_size=8 --data stride=4`` scores the raster
without being told them again (was: "fitted on images (3, 8, 8), got (3, 64, 64); resize them to 8 x 8 pixels",
advice that does not apply to tiles cut from a raster), and tiles of another size say how to cut them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import had
import numpy as np
import pytest

pytest.importorskip("had_raster")

TILING = ("--data", "tile_size=8", "--data", "stride=4")
TINY = ("--set", "epochs=1", "--set", "encoder_epochs=1", "--set", "first_width=32", "--set", "hidden_widths=[16]",
        "--set", "latent_dim=8", "--set", "n_critic=1", "--set", "batch_size=64", "--set", "device=cpu",
        "--set", "threads=1")


def _had(*args):
    return subprocess.run([sys.executable, "-m", "had.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A raster (72x72, 3 bands: the default 64-pixel tiles fit too) and a tiny model fitted on its 8x8 tiles."""
    folder = tmp_path_factory.mktemp("tiling")
    raster = np.random.default_rng(0).lognormal(size=(72, 72, 3)).astype(np.float32)
    np.save(folder / "area.npy", raster)
    out = _had("fit", "geohgan", "raster-file", "--data", f"path={folder / 'area.npy'}", *TILING, *TINY,
               "-o", folder / "m")
    assert out.returncode == 0, out.stderr
    return folder


def test_scoring_cuts_the_tiles_as_at_fit(fitted):
    manifest = json.loads((fitted / "m" / "manifest.json").read_text())
    assert manifest["input_spec"]["data_view"] == {"tiling": {"tile_size": 8, "stride": 4}}
    out = _had("score", fitted / "m", "raster-file", "--data", f"path={fitted / 'area.npy'}", "-o",
               fitted / "scores.npy")
    assert out.returncode == 0, out.stderr
    assert "area: read as the model's scene was at fit: tile_size=8, stride=4" in out.stdout
    tiles = had.load_dataset("raster-file", path=str(fitted / "area.npy"), tile_size=8, stride=4)
    np.testing.assert_allclose(np.load(fitted / "scores.npy"), had.load(fitted / "m").decision_function(tiles.X),
                               rtol=1e-6)


def test_tiles_of_another_size_say_how_to_cut_them(fitted):
    """A tile size given that differs from the model's wins, and is refused in one line before any scoring."""
    out = _had("score", fitted / "m", "raster-file", "--data", f"path={fitted / 'area.npy'}", "--data",
               "tile_size=16", "-o", fitted / "heat16.tif")
    assert out.returncode == 2
    assert out.stderr.strip() == ("error: fitted on images (3, 8, 8), got (3, 16, 16); cut the tiles as at fit: "
                                  "--data tile_size=8 --data stride=4")
    assert not (fitted / "heat16.tif").exists()


def test_a_model_saved_before_the_tiling_was_recorded(fitted, tmp_path):
    """Such a model still loads and scores with the tiling given, and without it hears the tile size to cut."""
    shutil.copytree(fitted / "m", tmp_path / "old")
    manifest = json.loads((tmp_path / "old" / "manifest.json").read_text())
    manifest["input_spec"].pop("data_view", None)
    (tmp_path / "old" / "manifest.json").write_text(json.dumps(manifest))
    out = _had("score", tmp_path / "old", "raster-file", "--data", f"path={fitted / 'area.npy'}", "-o",
               tmp_path / "heat.tif")
    assert out.returncode == 2
    assert out.stderr.strip() == ("error: fitted on images (3, 8, 8), got (3, 64, 64); cut the tiles as at fit: "
                                  "--data tile_size=8")
    out = _had("score", tmp_path / "old", "raster-file", "--data", f"path={fitted / 'area.npy'}", *TILING, "-o",
               tmp_path / "scores.npy")
    assert out.returncode == 0, out.stderr
    tiles = had.load_dataset("raster-file", path=str(fitted / "area.npy"), tile_size=8, stride=4)
    np.testing.assert_allclose(np.load(tmp_path / "scores.npy"), had.load(tmp_path / "old").decision_function(tiles.X),
                               rtol=1e-6)
