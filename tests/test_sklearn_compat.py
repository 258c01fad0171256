"""scikit-learn and PyOD habits on had detectors: clone, Pipeline, GridSearchCV, fit_predict, predict_proba,
predict_confidence, DataFrame column names, sparse input."""

from __future__ import annotations

import json
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


def test_pandas_nullable_dtypes_are_read_as_numbers_and_other_columns_are_named():
    """``df.convert_dtypes()`` (Float64, Int64 columns) was "dtype object; pass real numbers" though IsolationForest
    fits it; pd.NA is NaN (the usual NaN message); a bool or text column is named with its dtype."""
    pd = pytest.importorskip("pandas")
    X, _ = _blobs()
    plain = pd.DataFrame(X, columns=list("abcd"))
    nullable = plain.convert_dtypes()
    nullable["d"] = (plain["d"] * 0 + np.arange(len(plain)) % 7).astype("Int64")
    assert str(nullable.dtypes["a"]) == "Float64" and str(nullable.dtypes["d"]) == "Int64"
    det = had.get_detector("rx").fit(nullable)
    expected = plain.assign(d=np.arange(len(plain)) % 7)
    np.testing.assert_allclose(det.decision_scores_, had.get_detector("rx").fit(expected).decision_scores_, rtol=1e-12)
    np.testing.assert_allclose(det.decision_function(nullable), det.decision_scores_, rtol=1e-12)
    assert list(det.feature_names_in_) == list("abcd")
    holes = nullable.copy()
    holes.loc[3, "b"] = pd.NA
    with pytest.raises(had.InvalidInputError, match="NaN"):
        had.get_detector("rx").fit(holes)
    mixed = plain.assign(flag=plain["a"] > 0, name="x")
    with pytest.raises(had.InvalidInputError, match=r"columns that are not real numbers: 'flag' \(bool\), 'name' "):
        had.get_detector("rx").fit(mixed)


def test_fit_leaves_the_parameters_as_given_and_a_refit_decides_again():
    """scikit-learn's rule: fit does not change parameters. deepsvdd filled its recipe (restarts 8, scaling
    'whiten', snapshot_epochs [1]) into them, so `set_params(epochs=1).fit` failed on the snapshot it never set."""
    pytest.importorskip("had_deepsad")
    from sklearn.base import clone

    X, _ = _blobs(n=120, m=6)
    det = had.get_detector("deepsvdd", epochs=2, ae_epochs=1, progress=False)
    given = det.get_params()
    det.fit(X)
    assert det.get_params() == given and given["restarts"] is None and given["snapshot_epochs"] is None
    assert det.config.restarts == 8 and det.config.snapshot_epochs == [1]  # the fitted config says what was trained
    assert clone(det).get_params() == given
    det.set_params(epochs=1).fit(X)  # was ConfigError: snapshot_epochs=[1] must ... set epochs above the last snapshot
    assert det.config.snapshot_epochs == [] and det.get_params()["snapshot_epochs"] is None
    det.set_params(restarts=2).fit(X)  # set by the user: kept, not decided again
    assert det.config.restarts == 2 and det.get_params()["restarts"] == 2


def test_a_loaded_model_gives_the_parameters_it_was_given(tmp_path):
    """had.load rebuilt the detector from the fitted config: its get_params() gave the fit's choices (scaling
    'whiten', snapshot_epochs [1]) as the user's, so clone(loaded).set_params(epochs=1).fit failed and
    clone(loaded).fit on a cube trained with the rows recipe."""
    pytest.importorskip("had_deepsad")
    from sklearn.base import clone

    X, _ = _blobs(n=120, m=6)
    det = had.get_detector("deepsvdd", epochs=2, ae_epochs=1, restarts=1, progress=False).fit(X)
    back = had.load(had.save(det, tmp_path / "m"))
    assert back.get_params() == det.get_params() and back.get_params()["snapshot_epochs"] is None
    assert back.config.snapshot_epochs == [1] and back.config.scaling == "whiten"  # the fitted config, as saved
    np.testing.assert_array_equal(back.decision_function(X), det.decision_function(X))
    again = clone(back).set_params(epochs=1).fit(X)  # was ConfigError: snapshot_epochs=[1] must lie before ...
    assert again.config.snapshot_epochs == []
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["given_params"] == {"scaling": [None, False], "snapshot_epochs": [None, False]}


def test_set_params_on_a_fitted_detector_rethresholds_or_blocks_saving(tmp_path):
    X, _ = _blobs()
    det = had.get_detector("rx", contamination=0.1).fit(X)
    det.set_params(contamination=0.3)  # threshold_ had stayed the 0.1 quantile while the config said 0.3
    assert det.threshold_ == pytest.approx(np.quantile(det.decision_scores_, 0.7), rel=1e-9)
    assert det.predict(X).mean() == pytest.approx(0.3, abs=0.01)
    det.set_params(threshold="otsu")
    assert det.threshold_ == had.get_detector("rx", threshold="otsu").fit(X).threshold_
    back = had.load(had.save(det, tmp_path / "m"))
    assert back.threshold_ == det.threshold_ and back.config.threshold == "otsu"
    det.set_params(eig_floor=1e-3)  # the model is the old eig_floor's: saving it would say otherwise
    with pytest.raises(had.ArtifactError, match=r"parameters set since the fit \(eig_floor: 1e-10 -> 0.001\).*fit it "
                                                 r"again before saving"):
        had.save(det, tmp_path / "m2")
    assert not (tmp_path / "m2").exists()
    det.set_params(eig_floor=1e-10)  # set back: the model's own again
    had.save(det, tmp_path / "m2")
    det.set_params(eig_floor=1e-3).fit(X)
    assert had.load(had.save(det, tmp_path / "m3")).config.eig_floor == 1e-3
    nan_fill = had.get_detector("rx", nodata=float("nan")).fit(X)  # NaN == NaN here: nothing changed
    assert nan_fill.params_changed_since_fit() == [] and had.save(nan_fill, tmp_path / "m4")


def test_detectors_have_no_score_method():
    """`score` was an alias of decision_function returning an array: scikit-learn's default scoring (GridSearchCV,
    cross_val_score without scoring=) failed with "scoring must return a number, got [2.608 ...". Like PyOD's and
    IsolationForest, a detector has none, and scikit-learn asks for a scorer."""
    from sklearn.model_selection import cross_val_score

    X, y = _blobs()
    det = had.get_detector("rx")
    assert not hasattr(det, "score")
    with pytest.raises(TypeError, match="should have a 'score' method|scoring"):
        cross_val_score(det, X, y)
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    assert cross_val_score(det, X, y, scoring=auroc_scorer, cv=folds).min() > 0.9


def test_a_1d_array_is_told_how_to_make_rows_of_it():
    X, _ = _blobs()
    det = had.get_detector("rx").fit(X)
    for call in (det.predict, det.decision_function, lambda x: had.get_detector("rx").fit(x)):
        with pytest.raises(had.InvalidInputError, match=r"got an array of shape \(4,\); one sample of D features "
                                                        r"is x\.reshape\(1, -1\), N samples of one feature are "
                                                        r"x\.reshape\(-1, 1\)"):
            call(X[0])


def test_without_labels_keeps_the_ground_truth_from_a_semi_supervised_fit_in_a_search():
    """scikit-learn's cross-validation passes the ground truth to fit as well as to the scorer; ssad read it as
    known labels (an audit, ODDS cardio: AUROC 0.993 with it, 0.878 without). WithoutLabels drops it at fit."""
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from had.sklearn_compat import WithoutLabels

    pytest.importorskip("had_pyod")
    X, y = _blobs(n=150, m=12)
    plain = had.get_detector("ssad").fit(X).decision_function(X)
    told = had.get_detector("ssad").fit(X, y).decision_function(X)
    held = WithoutLabels(had.get_detector("ssad")).fit(X, y)
    np.testing.assert_array_equal(held.decision_function(X), plain)
    assert not np.allclose(told, plain)  # the labels did reach the plain detector's fit
    assert held.threshold_ == held.detector.threshold_ and held.predict(X).sum() == held.labels_.sum()
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(WithoutLabels(had.get_detector("pyod-knn")), {"detector__n_neighbors": [1, 5]},
                          cv=folds, scoring=auroc_scorer).fit(X, y)
    assert search.best_params_["detector__n_neighbors"] in (1, 5)
    assert search.best_estimator_.detector.config.n_neighbors == search.best_params_["detector__n_neighbors"]
    copy = clone(held)
    assert copy.detector is not held.detector and not copy.detector.is_fitted
    with pytest.raises(had.ConfigError, match="its parameters are 'detector' and the detector's as detector__NAME"):
        held.set_params(n_neighbors=3)


def test_saving_a_pipeline_or_a_search_is_one_typed_error_naming_what_to_save(tmp_path):
    """Was: AttributeError: 'Pipeline' object has no attribute 'params_changed_since_fit'."""
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from had.sklearn_compat import WithoutLabels

    pytest.importorskip("had_pyod")
    X, y = _blobs()
    pipe = make_pipeline(StandardScaler(), had.get_detector("rx")).fit(X)
    with pytest.raises(had.ArtifactError, match=r"not a scikit-learn Pipeline: an artifact holds the detector alone "
                                                r".*save the pipeline's last step \(pipe\[-1\]\)"):
        had.save(pipe, tmp_path / "m")
    search = GridSearchCV(had.get_detector("pyod-knn"), {"n_neighbors": [1, 5]}, scoring=auroc_scorer,
                          cv=StratifiedKFold(2, shuffle=True, random_state=0)).fit(X, y)
    with pytest.raises(had.ArtifactError, match="not a scikit-learn GridSearchCV: save its best_estimator_"):
        had.save(search, tmp_path / "m")
    with pytest.raises(had.ArtifactError, match="not a WithoutLabels: save its .detector"):
        had.save(WithoutLabels(had.get_detector("rx")).fit(X), tmp_path / "m")
    wrapped = GridSearchCV(WithoutLabels(had.get_detector("pyod-knn")), {"detector__n_neighbors": [1, 5]},
                           scoring=auroc_scorer, cv=StratifiedKFold(2, shuffle=True, random_state=0)).fit(X, y)
    with pytest.raises(had.ArtifactError, match=r"save its best_estimator_\.detector \(nothing"):
        had.save(wrapped, tmp_path / "m")  # one step, not two refusals
    assert not (tmp_path / "m").exists()


def test_true_or_false_for_a_number_is_refused():
    """An audit: set_params(n_neighbors=True) fitted one neighbour without a word (pydantic reads True as 1);
    scikit-learn's own validation refuses bool for a number."""
    pytest.importorskip("had_pyod")
    with pytest.raises(had.ConfigError, match=r"n_neighbors: Value error, True is not a number; give a number"):
        had.get_detector("pyod-knn").set_params(n_neighbors=True)
    with pytest.raises(had.ConfigError, match=r"contamination: Value error, False is not a number"):
        had.get_detector("rx", contamination=False)
    assert had.get_detector("pyod-knn", n_neighbors=7).get_params()["n_neighbors"] == 7  # numbers as before
