"""The pixel-trained plugins (LREN, the autoencoder, Deep SVDD) on a scene above ``max_fit_pixels``: fitted on
the seeded sample, every pixel scored; on a 100 x 100 scene below the limit, LREN is bit for bit unchanged."""

from __future__ import annotations

import json

import numpy as np
import pytest

import had

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def scene():
    return had.load_dataset("synthetic-scene", height=100, width=100, seed=1)


FAST = {"lren": {"epochs": 2, "batch_size": 1024, "lrr_max_iter": 30, "restarts": 1},  # one run: its sample
        "autoencoder": {"epochs": 2, "restarts": 1},
        "deepsvdd": {"epochs": 2, "ae_epochs": 1, "recipe": "reference"}}  # rows and pixels: the same recipe


def fast(name: str, **extra):
    return had.get_detector(name, {**FAST[name], "device": "cpu", **extra})


@pytest.mark.parametrize("name", sorted(FAST))
def test_a_scene_above_the_limit_fits_on_the_sample_and_scores_every_pixel(scene, name):
    pytest.importorskip({"lren": "had_lren", "autoencoder": "had_autoencoder", "deepsvdd": "had_deepsad"}[name])
    det = fast(name, max_fit_pixels=2000).fit(scene.X)
    assert det.fit_sample_["pixels"] == 2000 and det.fit_sample_["of"] == 10000
    assert det.decision_scores_.shape == (10000,) and np.isfinite(det.decision_scores_).all()
    np.testing.assert_allclose(det.decision_function(scene.X).reshape(-1), det.decision_scores_, rtol=1e-6)
    rows, _ = had.tiling.sample_pixels(scene.X, 2000, seed=0)  # the same as fitting on the sampled rows
    on_rows = fast(name).fit(rows)
    np.testing.assert_array_equal(on_rows.decision_function(scene.X).reshape(-1), det.decision_scores_)
    if name == "lren":  # the dictionary and the low-rank representation come from the sample
        assert det.lrr_scores_.shape == (2000,)
    assert fast(name, max_fit_pixels=2000).fit(scene.X).fit_sample_ == det.fit_sample_  # seeded


def test_the_sample_is_in_the_artifact(scene, tmp_path):
    pytest.importorskip("had_autoencoder")
    det = fast("autoencoder", max_fit_pixels=3000).fit(scene.X)
    had.save(det, tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["state_meta"]["fit_sample"] == det.fit_sample_ and det.fit_sample_["pixels"] == 3000
    assert manifest["config"]["max_fit_pixels"] == 3000
    assert had.load(tmp_path / "m").fit_sample_ == det.fit_sample_


def test_lren_below_the_limit_is_bit_identical(scene):
    pytest.importorskip("had_lren")
    default = fast("lren").fit(scene.X)  # 10000 pixels, default limit 200000
    whole = fast("lren", max_fit_pixels=None).fit(scene.X)
    assert default.fit_sample_ is None and whole.fit_sample_ is None
    np.testing.assert_array_equal(default.decision_scores_, whole.decision_scores_)
    np.testing.assert_array_equal(default.lrr_scores_, whole.lrr_scores_)


def test_had_fit_reports_the_sample(tmp_path):
    """`had fit` says how many pixels a sampled fit trained on; --json and the saved manifest carry the record."""
    pytest.importorskip("had_autoencoder")
    from click.testing import CliRunner

    from had.cli import cli

    args = ["fit", "autoencoder", "synthetic-scene", "--data", "height=60", "--data", "width=50",
            "--set", "epochs=1", "--set", "restarts=1", "--set", "device=cpu", "--set", "max_fit_pixels=1000"]
    text = CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "m")])
    assert text.exit_code == 0, text.output
    assert "trained on a seeded sample of 1,000 of 3,000 pixels (max_fit_pixels, seed 0)" in text.output
    as_json = CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "m2"), "--json"])
    summary = json.loads(as_json.stdout)  # the notes go to stderr under --json
    assert summary["fit_sample"]["pixels"] == 1000 and summary["fit_sample"]["of"] == 3000
    manifest = json.loads((tmp_path / "m2" / "manifest.json").read_text())
    assert manifest["state_meta"]["fit_sample"] == summary["fit_sample"]
    whole = CliRunner().invoke(cli, [*args[:-2], "-o", str(tmp_path / "m3"), "--json"])
    assert json.loads(whole.stdout)["fit_sample"] is None  # 3,000 pixels under the default limit: all of them


def test_an_ensemble_says_each_members_sample(scene, tmp_path):
    """With restarts, each member draws its own seeded sample (its member seed): the ensemble's fit_sample_ is the
    first member's record with every member's under "members", kept through save and load, and `had fit` says
    it (before, an LREN ensemble, the default, recorded none and said nothing)."""
    pytest.importorskip("had_lren")
    from click.testing import CliRunner

    from had.cli import cli

    det = fast("lren", max_fit_pixels=2000, restarts=2).fit(scene.X)
    first, second = det.fit_sample_["members"]
    assert first == {k: v for k, v in det.fit_sample_.items() if k != "members"} == det.restart_members_[0].fit_sample_
    assert (first["pixels"], first["of"], first["seed"]) == (2000, 10000, 0)
    assert second["pixels"] == 2000 and second["seed"] != 0 and second["sha256"] != first["sha256"]
    had.save(det, tmp_path / "m")
    assert had.load(tmp_path / "m").fit_sample_ == det.fit_sample_
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())  # where the guide says, as one model's
    assert manifest["state_meta"]["fit_sample"] == first  # (was: under each member alone; a docs probe)
    args = ["fit", "lren", "synthetic-scene", "--data", "height=100", "--data", "width=100", "--data", "seed=1",
            *[f"--set={k}={v}" for k, v in {**FAST["lren"], "restarts": 2, "device": "cpu",
                                              "max_fit_pixels": 2000}.items()]]
    text = CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "m2")])
    assert text.exit_code == 0, text.output
    assert ("trained on 2 seeded samples (one per member) of 2,000 of 10,000 pixels (max_fit_pixels, seed 0 for "
            "the first)") in text.output


@pytest.mark.parametrize("name,restarts", [("lren", 1), ("lren", 2), ("autoencoder", 1), ("deepsvdd", 1)])
def test_fill_pixels_are_left_out_of_the_fit_and_scored_nan(scene, name, restarts, tmp_path):
    """A flight line's fill (the file's no-data value in every band; ``nodata``, :mod:`had.nodata`): the fit is the
    fit on the other pixels' rows (the same seed, bit for bit), fill pixels score NaN in eager and ONNX scoring,
    the threshold is of the other pixels; with a sample (``max_fit_pixels``) the sample is drawn among them."""
    pytest.importorskip({"lren": "had_lren", "autoencoder": "had_autoencoder", "deepsvdd": "had_deepsad"}[name])
    from had.onnx_export import export_and_verify
    from had.runtime import OnnxScorer

    rows, cols = np.mgrid[:100, :100]
    inside = (cols + 0.5 * rows > 12) & (cols + 0.5 * rows < 120)
    X = np.asarray(scene.X, dtype=np.float32).copy()
    X[~inside] = -9999.0
    extra = {"restarts": restarts} if name == "lren" else {}
    det = fast(name, nodata=-9999.0, **extra).fit(X)
    assert det.fill_pixels_ == int((~inside).sum()) > 1000
    assert det.partial_fill_ is None  # no pixel holds the value in some bands only (counted: see below)
    scores = det.decision_function(X)
    assert np.isnan(scores[~inside]).all() and np.isfinite(scores[inside]).all()
    alone = fast(name, **extra).fit(X[inside])  # the footprint's pixels as rows, in the same order
    np.testing.assert_array_equal(alone.decision_function(X[inside]), scores[inside])
    assert det.threshold_ == pytest.approx(alone.threshold_, rel=1e-6)
    model, report = export_and_verify(det, X)
    assert report["passed"] and report["n_fill"] > 1900
    got = OnnxScorer(model).score(X)
    assert np.isnan(got[~inside]).all()
    np.testing.assert_allclose(got[inside], scores[inside], rtol=1e-3)
    had.save(det, tmp_path / "m")
    back = had.load(tmp_path / "m")
    assert back.fill_pixels_ == det.fill_pixels_
    np.testing.assert_array_equal(back.decision_function(X), scores)
    if restarts == 1:
        sampled = fast(name, nodata=-9999.0, max_fit_pixels=3000).fit(X)
        assert sampled.fit_sample_["pixels"] == 3000 and sampled.fit_sample_["fill_pixels"] == det.fill_pixels_
        assert np.isnan(sampled.decision_scores_.reshape(100, 100)[~inside]).all()
        partly = X.copy()
        partly[inside & (cols < 20), 0] = -9999.0  # band 1's layer ends earlier: said by had fit
        counted = fast(name, nodata=-9999.0, max_fit_pixels=3000).fit(partly).partial_fill_
        assert counted == {"pixels": int((inside & (cols < 20)).sum()), "bands": [0]}


def test_a_read_only_memory_map_is_fitted_and_scored_without_torch_warnings(scene, tmp_path):
    """A flight line is a read-only memory map and its tiles are views of it: LREN's embedding, Deep SVDD's
    encoder pass and the SDK's scoring each handed such a chunk to ``torch.from_numpy``, which printed torch's
    "The given NumPy array is not writable" UserWarning to the user of ``had fit lren line.hdr``. Now the chunk
    is copied first (``had_sdk.torch_runtime.float32_tensor``); the warning, turned into an error here, never
    comes. Run in a fresh process: torch prints it once per process."""
    import subprocess
    import sys

    pytest.importorskip("had_lren")
    pytest.importorskip("had_deepsad")
    np.save(tmp_path / "line.npy", np.asarray(scene.X, dtype=np.float32)[:40])
    code = f"""
import warnings, numpy as np, had
warnings.filterwarnings("error", message=".*not writable.*")
X = np.load({str(tmp_path / 'line.npy')!r}, mmap_mode="r")
assert not X.flags.writeable
for name, config in {dict(FAST)!r}.items():
    det = had.get_detector(name, {{**config, "device": "cpu"}}).fit(X)
    assert np.isfinite(det.decision_function(X)).all(), name
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
    assert "not writable" not in done.stderr
