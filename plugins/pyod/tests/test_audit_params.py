"""Two findings of a user audit of the PyOD adapters.

1. ``pyod-iforest``'s scores depended on ``contamination``: PyOD passes it to scikit-learn's IsolationForest,
   whose ``offset_`` (the training scores' contamination quantile) is added to every score, while had thresholds
   the scores itself and ``set_params(contamination=...)`` on a fitted detector only moves the threshold. Two
   detectors with equal ``get_params()`` scored cardio 0.0624 apart and, at a numeric threshold of 0, flagged 183
   rows or 37. PyOD's IForest is now built at PyOD's default contamination (0.1) whatever had's is: the scores
   are PyOD ``IForest()``'s, and had's contamination sets its threshold alone. No other adapter's scores depend on
   it (checked below for each).
2. Parameters too large for the data were lowered silently (12 rows x 3 features: ``pyod-knn n_neighbors=20``
   used 11, ``pyod-gmm n_components=30`` 12, ``pyod-pca n_components=10`` 3, ``pyod-iforest max_samples=256`` 12):
   now a fit note says so, and the fitted config (``fitted_params_``, the artifact) holds the value used, while
   ``get_params()`` keeps the given one.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone

import had
from had.errors import HadError
from had_pyod.fitted import scalar

torch.set_num_threads(1)
TINY_AE = {"ae_epochs": 2, "ae_batch_size": 32, "ae_lr": 1e-3, "device": "cpu"}


def _rows(n=200, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[:10] += 4.0
    return X


def _cardio():
    try:
        return had.load_dataset("cardio").X
    except HadError as exc:
        pytest.skip(f"cardio is not available: {exc}")


# ---- 1. contamination and the scores ----------------------------------------------------------------------------
def test_iforest_scores_do_not_depend_on_contamination_and_equal_pyods_default():
    from pyod.models.iforest import IForest

    X = _cardio()
    moved = had.get_detector("pyod-iforest", threshold=0.0).fit(X)
    moved.set_params(contamination=0.02)  # moves only the threshold rule of a fitted detector
    fresh = clone(moved).fit(X)
    assert moved.get_params() == fresh.get_params()
    # was: fresh - moved = -0.06236879 on every row, and 183 flagged against 37
    np.testing.assert_array_equal(fresh.decision_function(X), moved.decision_function(X))
    assert int(moved.predict(X).sum()) == int(fresh.predict(X).sum()) == 183
    # the scores are PyOD's IForest at its default contamination (0.1), the README's parity statement
    ref = IForest(n_estimators=100, max_samples=256, random_state=0, n_jobs=1).fit(X)
    assert ref.contamination == 0.1
    np.testing.assert_allclose(fresh.decision_function(X), ref.decision_function(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fresh.decision_scores_, ref.decision_scores_, rtol=1e-9, atol=1e-12)
    assert fresh.model_.contamination == 0.1 and scalar(fresh.state_["offset"]) == ref.detector_.offset_
    # had's threshold at its own contamination: the 2 % quantile of those scores, 37 of 1,831 rows flagged (the
    # ranks and these labels are what they were before the fix; the threshold sits at the offsets' difference)
    at2 = had.get_detector("pyod-iforest", contamination=0.02).fit(X)
    assert int(at2.labels_.sum()) == 37 and int(at2.predict(X).sum()) == 37
    assert at2.threshold_ == pytest.approx(0.06236878614215137, abs=1e-12)


def test_a_saved_iforest_holds_the_offset_its_scores_use(tmp_path):
    X = _rows()
    det = had.get_detector("pyod-iforest", n_estimators=10, contamination=0.02).fit(X)
    ten = had.get_detector("pyod-iforest", n_estimators=10, contamination=0.1).fit(X)
    back = had.load(had.save(det, tmp_path / "m"))
    assert back.config.contamination == 0.02
    assert scalar(back.state_["offset"]) == scalar(ten.state_["offset"])  # the 10 % quantile's offset
    np.testing.assert_array_equal(back.decision_function(X), ten.decision_function(X))
    assert int(back.predict(X).sum()) == 4 and int(ten.predict(X).sum()) == 20  # 2 % and 10 % of 200


@pytest.mark.parametrize("name,config", [
    ("pyod-ocsvm", {}), ("pyod-iforest", {"n_estimators": 10}), ("pyod-kde", {"bandwidth": 1.0}),
    ("pyod-knn", {}), ("pyod-ecod", {}), ("pyod-ecod", {"batch_scores": True}), ("pyod-pca", {}),
    ("pyod-gmm", {"n_components": 2}), ("pyod-autoencoder", {"epochs": 1, "hidden": [8, 4]}),
    ("pyod-deepsvdd", {"epochs": 1, "hidden": [8, 4]}), ("ssad", {}),
    ("hybrid-iforest", {**TINY_AE, "n_estimators": 10}),
])
def test_no_adapters_scores_depend_on_contamination(name, config):
    """Before the fix pyod-iforest (and hybrid-iforest, the same model on codes) differed here, by up to 0.135
    and 0.150; every other adapter already gave equal scores."""
    X = _rows()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = had.get_detector(name, {**config, "contamination": 0.1}).fit(X)
        b = had.get_detector(name, {**config, "contamination": 0.02}).fit(X)
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X))
    np.testing.assert_array_equal(a.decision_scores_, b.decision_scores_)


# ---- 2. values lowered to fit the data ---------------------------------------------------------------------------
def _small():
    return np.random.default_rng(0).normal(size=(12, 3)) + 6.0


LOWERED = [  # name, given, field, used, the note's reason
    ("pyod-knn", {"n_neighbors": 20}, "n_neighbors", 11,
     "each of the 12 training rows has 11 others to be measured against"),
    ("pyod-gmm", {"n_components": 30}, "n_components", 12,
     "a mixture has at most one component per training row (12); with one each, every row fits its own and "
     "scores alike"),
    ("pyod-pca", {"n_components": 10}, "n_components", 3,
     "the numerical rank of the 12 training rows of 3 features (standardised) is 3: a component beyond it has no "
     "variance to weigh its distance by"),
    ("pyod-iforest", {"n_estimators": 10}, "max_samples", 12,
     "a tree draws at most the 12 training rows (scikit-learn lowers it so, with a warning)"),
]


def _model_value(det, field):
    model = det.model_
    return model.detector_.max_samples_ if field == "max_samples" else getattr(model, field)


@pytest.mark.parametrize("name,config,field,used,why", LOWERED, ids=[c[0] for c in LOWERED])
def test_a_value_lowered_to_fit_the_data_is_said_and_recorded(name, config, field, used, why, tmp_path):
    X = _small()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyod-gmm's 12 components on 12 rows: the constant-scores warning
        det = had.get_detector(name, config).fit(X)
        given = det.get_params()[field]
        assert given == config.get(field, 256)  # get_params keeps the given value (scikit-learn's rule)
        # was: fit_notes_ [] and the config, fitted_params_ and artifact all saying the given value
        assert det.fit_notes_ == [f"{field}={given!r} was lowered to {used!r} for this fit: {why}"]
        assert _model_value(det, field) == used
        assert getattr(det.config, field) == used and det.fitted_params_[field] == used
        assert det.params_changed_since_fit() == []
        # the same scores as the value given as it is used
        exact = had.get_detector(name, {**config, field: used}).fit(X)
        assert exact.fit_notes_ == []
        np.testing.assert_array_equal(det.decision_function(X), exact.decision_function(X))
        # the artifact says what was trained, and scores as before
        back = had.load(had.save(det, tmp_path / "m"))
        assert getattr(back.config, field) == used
        np.testing.assert_array_equal(back.decision_function(X), det.decision_function(X))
        # a refit, or a clone, on enough rows uses the given value again, and says nothing
        more = np.random.default_rng(1).normal(size=(400, 12))
        assert _model_value(det.fit(more), field) == given and det.fit_notes_ == []
        assert getattr(det.config, field) == given and det.fitted_params_[field] == given
    assert det.get_params()[field] == given


def test_knn_clone_of_a_lowered_fit_decides_again():
    X = _small()
    det = had.get_detector("pyod-knn", n_neighbors=20).fit(X)
    twin = clone(det)
    assert twin.get_params()["n_neighbors"] == 20
    assert twin.fit(np.random.default_rng(1).normal(size=(40, 3))).model_.n_neighbors == 20
    assert twin.fit(X).model_.n_neighbors == 11 and twin.fit_notes_ == det.fit_notes_


def test_pca_default_all_components_is_not_a_lowering():
    X = _small()
    det = had.get_detector("pyod-pca").fit(X)
    assert det.fit_notes_ == [] and det.get_params()["n_components"] is None and det.config.n_components is None
    assert det.model_.n_components == 3


def test_hybrid_records_what_its_inner_model_lowered():
    X = _rows(n=100)
    det = had.get_detector("hybrid-iforest", {**TINY_AE, "n_estimators": 10}).fit(X)
    assert det.get_params()["max_samples"] == 256
    assert det.config.max_samples == 100 and det.fitted_params_["max_samples"] == 100
    assert det.inner_.model_.detector_.max_samples_ == 100
    assert det.fit_notes_ == ["pyod-iforest on the autoencoder's codes: max_samples=256 was lowered to 100 for this "
                              "fit: a tree draws at most the 100 training rows (scikit-learn lowers it so, with a "
                              "warning)"]


def test_lowering_keeps_the_config_object_scikit_learns_rule():
    """scikit-learn's check_dont_overwrite_parameters: a fit changes no public attribute (``config`` is one);
    the value used is written into the detector's own config, not a new object."""
    X = _small()
    det = had.get_detector("pyod-knn", n_neighbors=20)
    config = det.config
    det.fit(X)
    assert det.config is config and config.n_neighbors == 11 and det.get_params()["n_neighbors"] == 20
    det.fit(np.random.default_rng(1).normal(size=(40, 3)))
    assert det.config is config and config.n_neighbors == 20 and "n_neighbors" in config.model_fields_set
    unset = had.get_detector("pyod-iforest", n_estimators=5)
    unset.fit(X)
    assert unset.config.max_samples == 12 and unset.get_params()["max_samples"] == 256
    unset.fit(np.random.default_rng(1).normal(size=(300, 3)))
    assert unset.config.max_samples == 256 and "max_samples" not in unset.config.model_fields_set
