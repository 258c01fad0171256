"""RX above ``threshold_sample`` pixels: one pass over the data, the threshold from a seeded sample drawn in that
pass; the mean and whitening still those of every pixel; below the limit nothing changes."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

import had
import had.tiling
from had.rx import RX
from had.tiling import PixelSample, sample_indices, sample_pixels


@pytest.fixture
def scene(correlated_scene):
    """conftest's correlated 61x37x12 scene (bands on very different scales, two planted anomalies)."""
    return correlated_scene


@pytest.fixture
def bil(tmp_path, scene):
    """The scene as a BIL file (line, band, sample), memory-mapped and viewed as (H, W, B): band-major tiles."""
    path = tmp_path / "scene.bil"
    np.ascontiguousarray(scene.transpose(0, 2, 1)).tofile(path)
    return np.memmap(path, dtype=np.float32, mode="r", shape=(61, 12, 37)).transpose(0, 2, 1)


@pytest.fixture
def rows_read(monkeypatch):
    """Tiles of about 4 KiB (a few image rows each); counts the rows read out of memory maps, tile by tile."""
    monkeypatch.setattr(had.tiling, "TILE_BYTES", 4096)
    read = []
    original = had.tiling._read_rows

    def counting(X, start, stop):
        read.append(stop - start)
        return original(X, start, stop)

    monkeypatch.setattr(had.tiling, "_read_rows", counting)
    return read


def test_a_sampled_fit_reads_the_memory_map_once_and_thresholds_on_the_sample(bil, scene, rows_read, monkeypatch):
    whole = had.get_detector("rx", contamination=0.01, threshold_sample=None).fit(bil)
    assert sum(rows_read) == 2 * 61  # moments pass, then the training-scores pass
    rows_read.clear()
    monkeypatch.setattr(RX, "_score", lambda self, X: pytest.fail("a sampled fit scored the whole scene"))
    rx = had.get_detector("rx", contamination=0.01, threshold_sample=500, seed=3).fit(bil)
    assert sum(rows_read) == 61 and len(rows_read) >= 10  # each tile read once

    picks = sample_indices(61 * 37, 500, seed=3)
    assert rx.threshold_sample_ == {"pixels": 500, "of": 2257, "seed": 3,
                                    "sha256": hashlib.sha256(picks.astype("<i8").tobytes()).hexdigest()}
    exact = whole.decision_scores_[picks]  # the sampled pixels' exact RX scores
    assert rx.decision_scores_.shape == (500,) and rx.labels_.shape == (500,)
    np.testing.assert_allclose(rx.decision_scores_, exact, rtol=1e-9)
    assert rx.threshold_ == pytest.approx(np.percentile(exact, 99.0), rel=1e-9)
    assert rx.threshold_ != pytest.approx(whole.threshold_, rel=1e-6)  # a sample's quantile, not the scene's
    np.testing.assert_allclose(rx.mean_, whole.mean_, rtol=1e-9)
    np.testing.assert_allclose(rx.whitening_, whole.whitening_, rtol=1e-9, atol=1e-9 * np.abs(whole.whitening_).max())
    monkeypatch.undo()
    np.testing.assert_allclose(rx.decision_function(scene), whole.decision_scores_.reshape(61, 37), rtol=1e-9)
    assert rx.training_sha256_ == whole.training_sha256_ and rx.input_spec_ == whole.input_spec_


def test_the_sample_is_seeded_and_gathered_like_sample_pixels(bil, scene, rows_read):
    rx = had.get_detector("rx", threshold_sample=300, seed=5).fit(bil)
    rows, picks = sample_pixels(scene, 300, seed=5)
    np.testing.assert_allclose(rx.decision_scores_, rx.decision_function(rows), rtol=1e-12)
    again = had.get_detector("rx", threshold_sample=300, seed=5).fit(scene)  # in memory: the same sample
    assert again.threshold_sample_ == rx.threshold_sample_
    np.testing.assert_allclose(again.decision_scores_, rx.decision_scores_, rtol=1e-12)
    other = had.get_detector("rx", threshold_sample=300, seed=6).fit(scene)
    assert other.threshold_sample_["sha256"] != rx.threshold_sample_["sha256"]
    gathered = PixelSample(scene.shape, 300, seed=5)
    for start in range(0, 61, 7):
        gathered.add(start, bil[start:start + 7])
    np.testing.assert_array_equal(gathered.rows, rows)
    np.testing.assert_array_equal(gathered.picks, picks)


def test_at_or_below_the_limit_every_pixel_is_scored_as_before(scene):
    whole = had.get_detector("rx", threshold_sample=None).fit(scene)
    for limit in (61 * 37, 10**6):
        rx = had.get_detector("rx", threshold_sample=limit).fit(scene)
        assert rx.threshold_sample_ is None
        np.testing.assert_array_equal(rx.decision_scores_, whole.decision_scores_)
        assert rx.threshold_ == whole.threshold_
    assert had.get_detector("rx").config.threshold_sample == 2**18
    assert had.get_detector("rx").fit(scene).threshold_sample_ is None  # 2257 pixels: the default scores all


def test_rows_above_the_limit_threshold_near_the_contamination():
    """A table of 60000 rows thresholded on 6000 of them: the share of all rows above it is 1 % within what a
    sample of 6000 allows (measured 0.81 %)."""
    rng = np.random.default_rng(0)
    rows = rng.standard_t(5, size=(60000, 4)) @ rng.normal(size=(4, 4))
    rx = had.get_detector("rx", contamination=0.01, threshold_sample=6000).fit(rows)
    assert rx.decision_scores_.shape == (6000,) and rx.threshold_sample_["of"] == 60000
    picks = sample_indices(60000, 6000, seed=0)
    every = rx.decision_function(rows)
    np.testing.assert_allclose(rx.decision_scores_, every[picks], rtol=1e-12)
    assert np.mean(rx.decision_scores_ > rx.threshold_) == pytest.approx(0.01, abs=1 / 6000)  # the sample's quantile
    assert abs(np.mean(every > rx.threshold_) - 0.01) < 3 * np.sqrt(0.01 * 0.99 / 6000)  # binomial: 3 sd of 6000
    labels = rx.fit_predict(rows)  # every row's label, not the sample's
    np.testing.assert_array_equal(labels, (every > rx.threshold_).astype(np.int8))


def test_the_sample_record_is_in_the_artifact(tmp_path, scene):
    rx = had.get_detector("rx", threshold_sample=400).fit(scene)
    had.save(rx, tmp_path / "sampled")
    manifest = json.loads((tmp_path / "sampled" / "manifest.json").read_text())
    assert manifest["state_meta"] == {"threshold_sample": rx.threshold_sample_}
    assert manifest["config"]["threshold_sample"] == 400
    loaded = had.load(tmp_path / "sampled")
    assert loaded.threshold_sample_ == rx.threshold_sample_
    np.testing.assert_array_equal(loaded.decision_scores_, rx.decision_scores_)
    had.save(had.get_detector("rx").fit(scene), tmp_path / "whole")
    assert json.loads((tmp_path / "whole" / "manifest.json").read_text())["state_meta"] == {}
    assert had.load(tmp_path / "whole").threshold_sample_ is None


def test_had_fit_says_the_threshold_came_from_a_sample(tmp_path):
    """The summary line, --json's record, and the metrics on the fit data from every pixel's score."""
    from click.testing import CliRunner

    from had.cli import cli

    args = ["fit", "rx", "synthetic-scene", "--data", "height=60", "--data", "width=50"]
    text = CliRunner().invoke(cli, [*args, "--set", "threshold_sample=1000", "-o", str(tmp_path / "m")])
    assert text.exit_code == 0, text.output
    assert "threshold from a seeded sample of 1,000 of 3,000 pixels (threshold_sample, seed 0)" in text.output
    sampled = json.loads(CliRunner().invoke(cli, [*args, "--set", "threshold_sample=1000", "-o",
                                                  str(tmp_path / "m2"), "--json"]).stdout)
    whole = json.loads(CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "m3"), "--json"]).stdout)
    assert sampled["threshold_sample"]["pixels"] == 1000 and whole["threshold_sample"] is None
    assert sampled["metrics"]["auroc_on_fit_data"] == pytest.approx(whole["metrics"]["auroc_on_fit_data"], abs=1e-12)
    assert json.loads((tmp_path / "m2" / "manifest.json").read_text())["state_meta"]["threshold_sample"] == \
        sampled["threshold_sample"]


def test_had_fit_says_how_many_of_the_sample_were_fill(tmp_path, scene):
    """A line with fill: the sample's fill pixels score NaN and stay out of the threshold, and the note says so
    (it said the sample's size and 'mean and covariance from every pixel', fill included)."""
    from click.testing import CliRunner

    from had.cli import cli

    cube = np.array(scene, dtype=np.float32)
    cube[:, :12] = -50.0  # a footprint's edge: 12 columns of fill
    np.save(tmp_path / "line.npy", cube)
    out = CliRunner().invoke(cli, ["fit", "rx", str(tmp_path / "line.npy"), "--set", "threshold_sample=1000",
                                   "--set", "nodata=-50", "-o", str(tmp_path / "m")])
    assert out.exit_code == 0, out.output
    det = had.load(tmp_path / "m")
    fill = int(np.isnan(det.decision_scores_).sum())
    assert 0 < fill < 1000
    assert (f"threshold from a seeded sample of 1,000 of {cube.shape[0] * cube.shape[1]:,} pixels (threshold_sample, "
            f"seed 0; its {fill:,} fill pixels left out); mean and covariance from every pixel but the fill") in out.output


def test_an_integer_lines_sample_is_kept_in_its_own_type(tmp_path, scene, rows_read, monkeypatch):
    """An int16 flight line (AVIRIS, most sensors) is sampled for the threshold as int16, not as the float64 its
    tiles are converted to (a quarter of the memory: 117 MB instead of 470 MB for 2**18 pixels of 224 bands);
    the sample's scores and the threshold are those of the float64 scene's, exactly."""
    ints = np.round(scene * 50.0).astype(np.int16)
    path = tmp_path / "scene16.bil"
    np.ascontiguousarray(ints.transpose(0, 2, 1)).tofile(path)
    bil16 = np.memmap(path, dtype=np.int16, mode="r", shape=(61, 12, 37)).transpose(0, 2, 1)
    kept = []
    original = PixelSample.add

    def recording(self, start, block):
        kept.append(np.asarray(block).dtype)
        return original(self, start, block)

    monkeypatch.setattr(PixelSample, "add", recording)
    rx = had.get_detector("rx", threshold_sample=500, seed=2).fit(bil16)
    assert kept and set(kept) == {np.dtype(np.int16)}
    monkeypatch.undo()
    as_float = had.get_detector("rx", threshold_sample=500, seed=2).fit(ints.astype(np.float64))
    np.testing.assert_allclose(rx.decision_scores_, as_float.decision_scores_, rtol=1e-12)
    assert rx.threshold_ == pytest.approx(as_float.threshold_, rel=1e-12)
