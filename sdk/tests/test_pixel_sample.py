"""A cube above ``max_fit_pixels`` is fitted on a seeded sample of exactly that many pixels; every pixel is scored."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.pixel_sample import DEFAULT_MAX_FIT_PIXELS, PixelSampleConfig, fit_sample

from sdk_toys import TinyAE, TinyConfig


class SampledConfig(TinyConfig, PixelSampleConfig):
    pass


class RecordingAE(TinyAE):
    """TinyAE with the max_fit_pixels field, recording what it trained on and what on_fit_end got."""

    Config = SampledConfig

    def on_train_start(self, train):
        self.trained_rows = train.shape[0]

    def on_fit_end(self, X):
        self.end_shape = X.shape
        return None


@pytest.fixture
def cube():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 30, 4)) @ rng.normal(size=(4, 4))
    X[7, 9] += 6.0
    return X


def fitted(X, **config):
    return RecordingAE(device="cpu", epochs=2, **config).fit(X)


def test_a_cube_above_the_limit_fits_on_exactly_the_sample_and_scores_every_pixel(cube):
    det = fitted(cube, max_fit_pixels=500)
    assert det.trained_rows == 500 and det.end_shape == (500, 4)
    assert det.fit_sample_["pixels"] == 500 and det.fit_sample_["of"] == 1200 and det.fit_sample_["seed"] == 0
    assert det.decision_scores_.shape == (1200,)
    np.testing.assert_array_equal(det.decision_scores_.reshape(40, 30), det.decision_function(cube))
    again = fitted(cube, max_fit_pixels=500)
    assert again.fit_sample_ == det.fit_sample_  # seeded: the same pixels
    np.testing.assert_array_equal(again.decision_scores_, det.decision_scores_)
    assert fitted(cube, max_fit_pixels=500, seed=1).fit_sample_["sha256"] != det.fit_sample_["sha256"]
    rows, _, info = fit_sample(cube, None, 500, 0)  # the digest names the sampled pixels
    picks = np.flatnonzero(np.isin(cube.reshape(-1, 4)[:, 0], rows[:, 0]))
    assert picks.size == 500 and info == det.fit_sample_


def test_at_or_below_the_limit_nothing_changes(cube):
    whole = fitted(cube, max_fit_pixels=None)
    for limit in (1200, DEFAULT_MAX_FIT_PIXELS):
        det = fitted(cube, max_fit_pixels=limit)
        assert det.fit_sample_ is None and det.trained_rows == 1200 and det.end_shape == cube.shape
        np.testing.assert_array_equal(det.decision_scores_, whole.decision_scores_)  # bit for bit


def test_rows_and_known_labels(cube):
    rows = cube.reshape(-1, 4)
    assert fitted(rows, max_fit_pixels=100).trained_rows == 1200  # tables are used whole
    y = np.zeros(1200, dtype=int)
    y[[5, 50, 500]] = 1
    sample, labels, info = fit_sample(cube, y, 600, 2)
    _, picks = had.tiling.sample_pixels(cube, 600, seed=2)
    np.testing.assert_array_equal(labels, y[picks])
    np.testing.assert_array_equal(sample, rows[picks])
    assert info["pixels"] == 600


def test_a_semi_supervised_sample_keeps_every_labelled_pixel(cube):
    rows = cube.reshape(-1, 4)
    y = np.zeros(1200, dtype=np.int8)
    y[[0, 7, 300, 301, 1199]] = 1
    y[[2, 640]] = -1
    sample, labels, info = fit_sample(cube, y, 100, 3, keep_labelled=True)
    picks = np.flatnonzero(np.isin(rows[:, 0], sample[:, 0]))
    assert picks.size == 100 == info["pixels"] and info["labelled"] == 7
    assert set(np.flatnonzero(y)) <= set(picks)  # all seven kept; a uniform draw of 100 keeps ~0.6 of them
    np.testing.assert_array_equal(labels, y[picks])
    np.testing.assert_array_equal(sample, rows[picks])
    assert info["sha256"] == had.tiling.sample_record(picks, 1200, 3)["sha256"]
    assert fit_sample(cube, y, 100, 3, keep_labelled=True)[2] == info  # seeded
    uniform_kept = [np.count_nonzero(y[had.tiling.sample_pixels(cube, 100, seed=s)[1]]) for s in range(20)]
    assert np.mean(uniform_kept) < 2  # the uniform draw (a detector that does not learn from labels) thins them out
    # no labels, or only zeros: the uniform draw, bit for bit
    uniform = fit_sample(cube, None, 100, 3)
    for none in (None, np.zeros(1200)):
        same = fit_sample(cube, none, 100, 3, keep_labelled=True)
        np.testing.assert_array_equal(same[0], uniform[0])
        assert same[2] == uniform[2]


def test_the_unlabelled_part_is_a_uniform_draw_among_the_unlabelled_pixels(cube):
    y = np.zeros(1200, dtype=np.int8)
    y[::3] = 1  # 400 labelled: more than half of a 300-pixel sample, so a seeded 150 of them
    counts = np.zeros(1200)
    for seed in range(200):
        sample, labels, info = fit_sample(cube, y, 300, seed, keep_labelled=True)
        assert info["labelled"] == 150 and np.count_nonzero(labels) == 150 and labels.size == 300
        picks = np.flatnonzero(np.isin(cube.reshape(-1, 4)[:, 0], sample[:, 0]))
        counts[picks] += 1
    # each of the 800 unlabelled pixels is drawn with probability 150/800, each labelled one 150/400
    assert abs(counts[y == 0].mean() / 200 - 150 / 800) < 1e-12 and abs(counts[y == 1].mean() / 200 - 150 / 400) < 1e-12
    assert counts[y == 0].min() > 0.05 * 200 and counts[y == 0].max() < 0.35 * 200  # spread over all of them


def test_labelled_fill_pixels_stay_out(cube):
    filled = cube.copy()
    filled[:5] = -9999.0  # rows 0-4: 150 fill pixels
    y = np.zeros(1200, dtype=np.int8)
    y[[10, 400, 401]] = 1  # pixel 10 is fill
    sample, labels, info = fit_sample(filled, y, 100, 0, fill=-9999.0, keep_labelled=True)
    assert info["fill_pixels"] == 150 and info["labelled"] == 2 and info["pixels"] == 100
    assert np.count_nonzero(labels) == 2 and not np.any(sample == -9999.0)


def test_fill_rows_of_pixel_rows_stay_out_of_the_fit_and_score_nan(cube):
    """Pixel rows ``(N, B)`` with the config's ``nodata``: the fill rows were trained on (LREN's min-max took
    -9999 as its minimum) while the scoring module gave them NaN; now they stay out of the fit, as a cube's do."""
    rows = cube.reshape(-1, 4).copy()
    rows[:40] = -9999.0
    det = fitted(rows, nodata=-9999.0)
    assert det.trained_rows == 1160 and det.end_shape == (1160, 4) and det.fill_pixels_ == 40
    assert det.fit_sample_["fill_pixels"] == 40 and det.fit_sample_["pixels"] == 1160
    assert np.isnan(det.decision_scores_[:40]).all() and np.isfinite(det.decision_scores_[40:]).all()
    clean = fitted(rows[40:])
    np.testing.assert_array_equal(det.decision_scores_[40:], clean.decision_scores_)  # as if the fill were not there
    assert fitted(cube.reshape(-1, 4), nodata=-9999.0).fit_sample_ is None  # no fill row: nothing changes
    sample, labels, info = fit_sample(rows, np.arange(1200) % 2, None, 0, fill=-9999.0)
    assert sample.shape == (1160, 4) and np.array_equal(labels, np.arange(40, 1200) % 2) and info["of"] == 1200
    proba = det.predict_proba(rows[40:])[:, 1]  # the training scores' NaN made every probability NaN
    assert np.isfinite(proba).all() and np.isfinite(det.predict_confidence(rows[40:])).all()


def test_a_detector_without_the_field_trains_on_every_pixel(cube):
    class Whole(TinyAE):
        on_train_start = RecordingAE.on_train_start

    det = Whole(device="cpu", epochs=1).fit(cube)
    assert det.trained_rows == 1200 and det.fit_sample_ is None


def test_the_field_is_described_where_it_acts():
    assert RecordingAE().config.max_fit_pixels == DEFAULT_MAX_FIT_PIXELS == 200_000
    with pytest.raises(had.errors.ConfigError):
        RecordingAE(max_fit_pixels=1)
    for name, shown in {"lren": True, "lren-reference": True, "autoencoder": True, "deepsvdd": True,
                        "deepsad": True, "semidgm": True, "bs3lnet": False, "geohgan": False, "memdae": False}.items():
        try:
            fields = type(had.get_detector(name).config).model_fields
        except had.errors.UnknownNameError:
            continue
        assert ("max_fit_pixels" in fields) == shown, name


def test_a_memory_mapped_bil_scene_is_scored_tile_by_tile_without_a_whole_copy(tmp_path, monkeypatch):
    import tracemalloc

    import had.tiling

    monkeypatch.setattr(had.tiling, "TILE_BYTES", 2**20)
    rng = np.random.default_rng(4)
    cube = (rng.normal(size=(256, 128, 32)) @ rng.normal(size=(32, 32))).astype(np.float32)  # 4 MiB
    path = tmp_path / "scene.bil"
    np.ascontiguousarray(cube.transpose(0, 2, 1)).tofile(path)
    X = np.memmap(path, dtype=np.float32, mode="r", shape=(256, 32, 128)).transpose(0, 2, 1)  # (H, W, B) view
    detector = TinyAE(TinyConfig(epochs=1, seed=0)).fit(cube[:64])
    tracemalloc.start()
    try:
        scores = detector.decision_function(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(scores, detector.decision_function(cube), rtol=1e-6)
    assert scores.shape == (256, 128) and np.std(scores) > 0
    assert peak < 0.5 * cube.nbytes, peak  # was a C-order copy of the whole scene (as_pixels of the strided view)
