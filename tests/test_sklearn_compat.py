"""scikit-learn and PyOD habits on had detectors: clone, Pipeline, GridSearchCV, fit_predict, predict_proba,
predict_confidence, DataFrame column names, sparse input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import had
from had.metrics import auroc
from had.sklearn_compat import auroc_scorer

sklearn = pytest.importorskip("sklearn")


def _blobs(seed=0, n=400, m=20, d=4):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(0.0, 1.0, size=(n, d)), rng.normal(4.0, 1.0, size=(m, d))])
    return X, np.r_[np.zeros(n), np.ones(m)].astype(np.int8)


class _Frame:
    """The two things had reads of a DataFrame (column names and the array), without pandas."""

    def __init__(self, X, columns):
        self.X, self.columns = np.asarray(X), list(columns)

    def __array__(self, dtype=None, copy=None):
        return self.X if dtype is None else self.X.astype(dtype)


def test_params_come_from_the_config_and_clone_rebuilds_it():
    from sklearn.base import clone

    det = had.get_detector("rx", contamination=0.05, threshold="otsu")
    assert det.get_params() == {"contamination": 0.05, "threshold": "otsu", "seed": 0, "eig_floor": 1e-10, "threads": 1,
                                "threshold_sample": 2**18, "nodata": None}
    twin = clone(det)
    assert type(twin) is type(det) and twin is not det and twin.config == det.config and not twin.is_fitted
    assert det.set_params(eig_floor=1e-6) is det and det.config.eig_floor == 1e-6
    with pytest.raises(had.ConfigError, match="unknown parameter"):
        det.set_params(n_neighbours=3)
    with pytest.raises(had.ConfigError, match="contamination"):
        det.set_params(contamination=0.0)
    assert det.contamination == 0.05  # a rejected set_params changes nothing


def test_pipeline_with_a_scaler_scores_as_the_detector_on_scaled_rows():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _blobs()
    pipe = make_pipeline(StandardScaler(), had.get_detector("rx")).fit(X)
    Z = StandardScaler().fit(X).transform(X)
    direct = had.get_detector("rx").fit(Z)
    np.testing.assert_allclose(pipe.decision_function(X), direct.decision_function(Z), rtol=1e-9)
    np.testing.assert_array_equal(pipe.predict(X), direct.predict(Z))
    assert auroc(y, pipe.decision_function(X)) > 0.99


def test_grid_search_picks_by_auroc_on_labels():
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    pytest.importorskip("had_pyod")
    X, y = _blobs(1)
    grid = GridSearchCV(had.get_detector("pyod-knn"), {"n_neighbors": [1, 20]}, scoring=auroc_scorer,
                        cv=StratifiedKFold(3, shuffle=True, random_state=0)).fit(X, y)
    assert set(grid.cv_results_["param_n_neighbors"]) == {1, 20}
    assert grid.best_score_ == pytest.approx(max(grid.cv_results_["mean_test_score"]))
    assert 0.9 < grid.best_score_ <= 1.0
    assert grid.best_estimator_.config.n_neighbors == grid.best_params_["n_neighbors"]
    assert auroc_scorer(grid.best_estimator_, X, y) == pytest.approx(auroc(y, grid.decision_function(X)))


def test_fit_predict_is_the_training_labels():
    X, _ = _blobs(2)
    det = had.get_detector("rx", contamination=0.05)
    labels = det.fit_predict(X)
    np.testing.assert_array_equal(labels, det.labels_)
    np.testing.assert_array_equal(labels, det.predict(X))
    assert labels.sum() == 21  # the scores above the 95th percentile of 420
    cube = X[:400].reshape(20, 20, 4)
    det = had.get_detector("rx")
    np.testing.assert_array_equal(det.fit_predict(cube), det.predict(cube))


@pytest.mark.parametrize("method", ["linear", "unify"])
def test_predict_proba_and_confidence_equal_pyods(method):
    pytest.importorskip("had_pyod")
    X, _ = _blobs(3)
    rng = np.random.default_rng(4)
    test = np.vstack([rng.normal(0.0, 1.0, size=(50, 4)), rng.normal(3.0, 1.0, size=(10, 4))])
    det = had.get_detector("pyod-iforest", n_estimators=30).fit(X)
    np.testing.assert_allclose(det.decision_scores_, det.model_.decision_scores_, rtol=1e-12)
    assert det.threshold_ == pytest.approx(det.model_.threshold_)
    ours = det.predict_proba(test, method=method)
    assert ours.shape == (60, 2)
    np.testing.assert_allclose(ours, det.model_.predict_proba(test, method=method), rtol=1e-10, atol=1e-12)
    probs, conf = det.predict_proba(test, method=method, return_confidence=True)
    np.testing.assert_allclose(conf, det.model_.predict_confidence(test), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(det.predict_confidence(test), conf)
    with pytest.raises(had.ConfigError, match="linear"):
        det.predict_proba(test, method="softmax")


def test_dataframe_columns_are_recorded_and_checked(tmp_path):
    X, _ = _blobs(5)
    cols = ["a", "b", "c", "d"]
    det = had.get_detector("rx").fit(_Frame(X, cols))
    assert list(det.feature_names_in_) == cols and det.n_features_in_ == 4
    np.testing.assert_allclose(det.decision_function(_Frame(X, cols)), det.decision_scores_)
    with pytest.raises(had.InvalidInputError, match="another order"):
        det.decision_function(_Frame(X[:, ::-1], cols[::-1]))
    with pytest.raises(had.InvalidInputError, match=r"unseen at fit: \['e'\]"):
        det.decision_function(_Frame(X, ["a", "b", "c", "e"]))
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        det.decision_function(X)
    with warnings.catch_warnings():  # loading probes the state with plain arrays: had's probe, no user warning
        warnings.simplefilter("error")
        back = had.load(had.save(det, tmp_path / "m"))
    assert list(back.feature_names_in_) == cols
    with pytest.raises(AttributeError):
        had.get_detector("rx").fit(X).feature_names_in_


def test_pandas_dataframe_reordered_columns_is_an_error():
    pd = pytest.importorskip("pandas")
    X, _ = _blobs(6)
    df = pd.DataFrame(X, columns=["w", "x", "y", "z"])
    det = had.get_detector("rx").fit(df)
    np.testing.assert_allclose(det.decision_function(df), det.decision_scores_)
    with pytest.raises(had.InvalidInputError, match="feature names should match"):
        det.decision_function(df[["z", "y", "x", "w"]])


def test_sparse_input_says_sparse_is_not_supported():
    from scipy import sparse

    X, _ = _blobs(7)
    with pytest.raises(had.InvalidInputError, match="sparse input .* is not supported"):
        had.get_detector("rx").fit(sparse.csr_matrix(X))
    det = had.get_detector("rx").fit(X)
    with pytest.raises(had.InvalidInputError, match="toarray"):
        det.decision_function(sparse.csr_array(X))


def test_core_imports_no_sklearn():
    import subprocess
    import sys

    code = ("import sys, had; d = had.get_detector('rx'); d.get_params(); d.fit([[0.0, 1], [1, 0], [2, 2]]);"
            "d.predict_proba([[0.0, 1]]); assert 'sklearn' not in sys.modules, 'sklearn imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_grid_search_over_a_pipeline_reaches_the_detector_params():
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _blobs(8)
    pipe = make_pipeline(StandardScaler(), had.get_detector("rx"))
    grid = GridSearchCV(pipe, {"rx__threshold": [None, "otsu"], "rx__eig_floor": [1e-10, 1e-3]},
                        scoring=auroc_scorer, cv=StratifiedKFold(2, shuffle=True, random_state=0)).fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert grid.best_estimator_[-1].config.eig_floor == grid.best_params_["rx__eig_floor"]
    assert grid.best_score_ > 0.99
