"""Geo-Hgan on the tiles of a survey GeoTIFF with a declared nodata (-9999), as a user audit found it:

* a tile holding no-data pixels, given raw to the exported model (``had.runtime.OnnxScorer``, what ``had serve``
  runs) or to the eager model, was scored with -9999 read as a measurement (1.46 against a threshold of 0.0057,
  label 1) where ``had score`` leaves it out: now NaN (``had serve``: null), the rule recorded at fit;
* tiles stored channels-last ``(N, 64, 64, 10)`` for a model of ``(10, 64, 64)`` got "expects 10 channels, got
  64": now the ``numpy.moveaxis(x, -1, 1)`` hint, eager and ONNX alike.
"""

from __future__ import annotations

import json
import threading
import urllib.request

import had
import numpy as np
import pytest

rasterio = pytest.importorskip("rasterio")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from had.errors import InvalidInputError  # noqa: E402
from had.image_checks import TileFill, channels_last_error  # noqa: E402
from had.runtime import OnnxScorer  # noqa: E402

TINY = ("--set", "epochs=1", "--set", "encoder_epochs=1", "--set", "first_width=32", "--set", "hidden_widths=[16]",
        "--set", "latent_dim=8", "--set", "n_critic=1", "--set", "batch_size=64", "--set", "device=cpu",
        "--set", "threads=1")


def _survey_tif(path):
    """40x48, 3 bands, -9999 (declared) in every band outside an ellipse."""
    rows, cols = np.mgrid[:40, :48]
    outside = ((cols - 24) / 23) ** 2 + ((rows - 20) / 19) ** 2 > 1
    stack = np.random.default_rng(3).lognormal(size=(3, 40, 48)).astype(np.float32)
    stack[:, outside] = -9999.0
    with rasterio.open(path, "w", driver="GTiff", height=40, width=48, count=3, dtype="float32", nodata=-9999.0,
                       crs="EPSG:32633", transform=rasterio.Affine(10, 0, 3e5, 0, -10, 5e6)) as dst:
        dst.write(stack)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gh_nodata")
    _survey_tif(folder / "survey.tif")
    from had.cli import main  # ``had fit`` in this process (a subprocess cost an interpreter and torch's import)

    try:
        main(["fit", "geohgan", "raster-file", "--data", f"path={folder / 'survey.tif'}", "--data", "tile_size=8",
              "--data", "stride=4", *TINY, "--export", "-o", str(folder / "m")])
        code = 0
    except SystemExit as exc:
        code = exc.code
    assert code in (0, None)
    tiles = had.load_dataset("raster-file", path=str(folder / "survey.tif"), tile_size=8, stride=4)
    return folder / "m", tiles.X


def test_the_model_records_the_rasters_no_data_rule(model):
    path, _ = model
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["input_spec"]["data_view"]["tiling"] == {"tile_size": 8, "stride": 4, "nodata": -9999.0}
    scorer = OnnxScorer(path)
    assert scorer.metadata["nodata"] == "-9999.0" and scorer.metadata["max_no_data"] == "0.0"
    assert (scorer.fill_value, scorer.tile_fill.max_share, scorer.tile_fill.any_band) == (-9999.0, 0.0, False)


def test_tiles_holding_no_data_score_nan_onnx_and_eager(model):
    path, X = model
    clean = X[:4].copy()
    batch = clean.copy()
    batch[0, :, :2, :2] = -9999.0  # a 2x2 corner of no-data (every band): had score leaves such a tile out
    batch[1, 1, 3, 3] = np.nan  # NaN in one band: no-data to raster-file too
    batch[2, 0, :, :] = -9999.0  # one band only: a pixel is no-data when every band holds it, so this is data
    scorer, det = OnnxScorer(path), had.load(path)
    reference = scorer.score(clean)
    onnx, eager = scorer.score(batch), det.decision_function(batch)
    assert np.isnan(onnx[:2]).all() and np.isnan(eager[:2]).all()
    assert np.isfinite(onnx[2:]).all() and onnx[2] != pytest.approx(reference[2])  # scored as data, as had score
    np.testing.assert_allclose(onnx[3], reference[3], rtol=1e-6)
    np.testing.assert_allclose(eager[2:], onnx[2:], rtol=1e-3)
    assert scorer.predict(batch)[:2].tolist() == [0, 0]  # NaN is never above the threshold
    every = np.full_like(clean, -9999.0)
    assert np.isnan(scorer.score(every)).all() and np.isnan(det.decision_function(every)).all()


def test_had_serve_replies_null_for_a_tile_holding_no_data(model):
    from had.serve import ScoringServer

    path, X = model
    batch = X[:2].copy()
    batch[0, :, :2, :2] = -9999.0
    srv = ScoringServer(OnnxScorer(path), "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        body = json.dumps({"data": batch.tolist()}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{srv.server_port}/score", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as reply:
            got = json.loads(reply.read())
        with urllib.request.urlopen(f"http://127.0.0.1:{srv.server_port}/health", timeout=30) as reply:
            health = json.loads(reply.read())
    finally:
        srv.shutdown()
        srv.server_close()
    assert got["scores"][0] is None and got["labels"][0] is None
    assert got["scores"][1] == pytest.approx(float(OnnxScorer(path).score(X[1:2])[0]), rel=1e-6)
    assert health["nodata"] == -9999.0


def test_a_model_without_the_record_scores_as_before(model, tmp_path):
    """An artifact saved before the rule was recorded: its tiles are scored as they are (today's behaviour)."""
    import shutil

    path, X = model
    shutil.copytree(path, tmp_path / "old")
    manifest = json.loads((tmp_path / "old" / "manifest.json").read_text())
    manifest["input_spec"]["data_view"]["tiling"].pop("nodata")
    (tmp_path / "old" / "manifest.json").write_text(json.dumps(manifest))
    batch = X[:1].copy()
    batch[0, :, :2, :2] = -9999.0
    assert np.isfinite(had.load(tmp_path / "old").decision_function(batch)).all()


def test_tile_fill_shares_and_the_tiles_within_the_share():
    rule = TileFill(-9999.0, max_share=0.25)
    X = np.ones((3, 2, 4, 4))
    X[0, :, :2, :] = -9999.0  # 8 of 16 pixels: above 0.25
    X[1, :, 0, :2] = -9999.0  # 2 of 16: within
    X[2, 0] = -9999.0  # one band: data
    np.testing.assert_allclose(rule.shares(X), [0.5, 0.125, 0.0])
    assert TileFill(-9999.0, 0.25, any_band=True).shares(X)[2] == 1.0  # nodata_any_band: every pixel
    with pytest.raises(InvalidInputError, match=r"^1 tile\(s\) \(the first: tile 1\) hold no-data pixels .*\(max_no_data=0\.25\): "
                                                  r"had score fills"):
        rule.left_out(X)
    assert rule.left_out(X[[0, 2]]).tolist() == [True, False]
    nan_rule = TileFill.of_spec({"kind": "image", "data_view": {"tiling": {"tile_size": 4, "nodata": "nan"}}})
    assert np.isnan(nan_rule.value) and nan_rule.max_share == 0.0
    assert TileFill.of_spec({"kind": "image", "data_view": {"tiling": {"tile_size": 4}}}) is None


def test_channels_last_tiles_get_the_moveaxis_hint(model):
    path, X = model
    last = np.ascontiguousarray(np.moveaxis(X[:2], 1, -1))  # (2, 8, 8, 3) for a model of (3, 8, 8)
    hint = str(channels_last_error(last.shape, (3, 8, 8)))  # 10 channels: tests/test_geo_audit_fixes.py
    assert hint.startswith("fitted on images (3, 8, 8); images of shape (2, 8, 8, 3) ") and hint.endswith(
        "move the channel axis second, e.g. numpy.moveaxis(x, -1, 1), to get (2, 3, 8, 8) (N, C, H, W)")
    for score in (OnnxScorer(path).score, had.load(path).decision_function):
        with pytest.raises(InvalidInputError) as caught:
            score(last)
        assert str(caught.value) == hint
    np.testing.assert_allclose(OnnxScorer(path).score(np.moveaxis(last, -1, 1)), OnnxScorer(path).score(X[:2]))
