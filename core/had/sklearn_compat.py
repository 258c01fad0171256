"""The scikit-learn estimator protocol and PyOD's probability conversions for :class:`had.Detector`.

scikit-learn stays optional for the core: nothing here imports it at module level. What it provides:

* ``get_params`` / ``set_params`` derived from the detector's pydantic config (every config field is a
  parameter; ``set_params`` validates, so a bad value is a :class:`ConfigError`), ``__sklearn_clone__`` so
  ``sklearn.base.clone`` rebuilds a detector from its parameters, and ``__sklearn_tags__`` (an outlier
  detector; scikit-learn is imported only when scikit-learn asks for the tags). Together these make
  ``clone``, ``make_pipeline(StandardScaler(), det)`` and ``GridSearchCV`` work; :func:`auroc_scorer` is the
  anomaly-detection scorer for the latter.
* PyOD's ``predict_proba`` (``method="linear"``: min-max scaling by the training scores; ``"unify"``: the
  Gaussian erf of Kriegel et al. 2011) and ``predict_confidence`` (Perini et al. 2020, ExCeeD), computed as
  PyOD's ``BaseDetector`` computes them (vectorised).
* A pandas DataFrame's string column names become ``feature_names_in_`` at fit (kept in ``input_spec_``, so
  artifacts keep them) and are checked at scoring; scipy sparse input is refused with a typed error.

Conventions that differ from scikit-learn's outlier detectors, on purpose (PyOD's vocabulary, see
docs/user-guide.md): ``predict`` gives 0/1 (1 = anomaly) rather than +1/-1, and ``decision_function`` is
higher for more anomalous samples.
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from typing import Any, Iterator

import numpy as np

from .config import build_config
from .errors import ConfigError, InvalidInputError, UnusedSettingWarning


def check_not_sparse(X) -> None:
    """Refuse a scipy sparse matrix or array with an InvalidInputError (a ValueError) saying how to fix it."""
    if type(X).__module__.startswith("scipy.sparse"):
        from scipy import sparse

        if sparse.issparse(X):
            raise InvalidInputError(
                f"sparse input ({type(X).__name__} of shape {X.shape}) is not supported; pass a dense array "
                "(X.toarray()) if it fits in memory"
            )


class FeatureNamesWarning(UserWarning):
    """Data without column names scored by a model fitted with them, or the other way round (scikit-learn's
    warning). Its own class, so that a caller that checked the names itself (``had score``: a CSV's header against
    the model's, :func:`had.score_file.check_columns`) or scores data of its own making (an export's check data)
    leaves it out (:func:`names_checked_elsewhere`) and leaves other warnings be."""


#: what :func:`names_difference` says of the fitted names in another order (a fix of its own: reorder the columns)
REORDERED = "the same names in another order"


def names_difference(fitted: list[str], names: list[str]) -> str | None:
    """How column names `names` differ from those a model was `fitted` on ("unseen at fit: [...]; missing: [...]",
    or :data:`REORDERED`), None where they are the same."""
    if names == fitted:
        return None
    unseen = [n for n in names if n not in fitted]
    missing = [n for n in fitted if n not in names]
    if unseen or missing:  # the side that has none left unsaid (was "missing: []" beside an added column)
        return "; ".join(f"{what}: {which[:5]}" for what, which in (("unseen at fit", unseen), ("missing", missing))
                         if which)
    if sorted(names) != sorted(fitted):  # a name given twice (was: "the same names in another order")
        return f"{len(names)} columns for the {len(fitted)} fitted on, a name given twice"
    return REORDERED


def check_feature_names(fitted: list[str] | None, names: list[str] | None, who: str, stacklevel: int = 3) -> None:
    """Column names `names` of the data given against those a model was `fitted` on (None: none): a
    :class:`FeatureNamesWarning` where one side has none, an InvalidInputError where they differ (eager scoring,
    and the ONNX runtime's, which called the mixin's method on a stand-in object)."""
    if fitted is None:
        if names is not None:
            warnings.warn(f"X has feature names, but {who} was fitted without feature names", FeatureNamesWarning,
                          stacklevel=stacklevel)
        return
    if names is None:
        warnings.warn(f"X does not have valid feature names, but {who} was fitted with feature names",
                      FeatureNamesWarning, stacklevel=stacklevel)
        return
    what = names_difference(fitted, names)
    if what is not None:
        # a selection the user can paste: the list itself, or the fitted names (was X[['f0', ..., 'f4']...])
        select = (f"X[{fitted!r}]" if len(fitted) <= 5 else
                  f"X[list(detector.feature_names_in_)] ({', '.join(fitted[:5])}, ...)")
        raise InvalidInputError(
            f"The feature names should match those that were passed during fit ({what}); "
            f"select the columns as at fit: {select}")


@contextlib.contextmanager
def names_checked_elsewhere() -> Iterator[None]:
    """No :class:`FeatureNamesWarning` inside: for scoring arrays whose columns the caller checked itself (a file's
    header, by ``had score``) or made itself (an export's check data). Was: ``had score`` of a
    model fitted on named columns said "note: X does not have valid feature names, but RX was fitted with feature
    names" for every file, a table being read as an array."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FeatureNamesWarning)
        yield


def column_names(X) -> list[str] | None:
    """A DataFrame's column names when they are all strings (scikit-learn's rule), else None."""
    columns = getattr(X, "columns", None)
    if columns is None or not hasattr(X, "__array__"):
        return None
    names = list(columns)
    return [str(n) for n in names] if names and all(isinstance(n, str) for n in names) else None


def auroc_scorer(estimator, X, y) -> float:
    """AUROC of ``estimator.decision_function(X)`` against 0/1 labels `y`: ``GridSearchCV(det, grid,
    scoring=auroc_scorer)`` (a scikit-learn callable scorer; works on a Pipeline ending in a detector)."""
    from .metrics import auroc

    return float(auroc(np.asarray(y).reshape(-1), np.asarray(estimator.decision_function(X)).reshape(-1)))


def _same(a: Any, b: Any) -> bool:
    """Config values equal, NaN equal to NaN (``nodata=nan``: a float GeoTIFF's fill value)."""
    return a == b or (isinstance(a, float) and isinstance(b, float) and a != a and b != b)


#: config fields that move only the threshold: set on a fitted detector, it is thresholded again on its scores
THRESHOLD_PARAMS = frozenset({"contamination", "threshold"})


class EstimatorMixin:
    """scikit-learn's estimator protocol and PyOD's conversions; mixed into :class:`had.Detector`."""

    # ---- parameters ------------------------------------------------------------------------------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Every config field and its value (the stored objects, as scikit-learn's ``clone`` expects); a field the
        last fit filled in (:meth:`_fill_params`) has the value it was given."""
        given = getattr(self, "given_params_", {})
        return {name: given[name][0] if name in given else getattr(self.config, name)
                for name in type(self.config).model_fields}

    def set_params(self, **params: Any):
        """Set config fields (validated together; an unknown name or a bad value is a ConfigError).

        On a fitted detector, ``contamination`` and ``threshold`` move the threshold at once, on the stored
        training scores (as :meth:`set_contamination` and :meth:`set_threshold` do); other fields take effect at
        the next fit, and :func:`had.save` refuses the detector until then (its model is the old fields')."""
        fields = type(self.config).model_fields
        unknown = sorted(set(params) - set(fields))
        if unknown:
            raise ConfigError(
                f"detector {self.name}: unknown parameter(s) {unknown}; valid: {sorted(fields)} (see `had describe {self.name}`)"
            )
        if params:
            config = build_config(type(self.config), f"detector {self.name}", self.config, **params)
            for name, value in params.items():  # keep the objects passed (a list stays that list), as sklearn does
                if type(getattr(config, name)) is type(value) and getattr(config, name) == value:
                    config.__dict__[name] = value
            self.config = config
            given = getattr(self, "given_params_", None)
            if given:  # a field set now is the user's, no longer one the fit filled in
                self.given_params_ = {k: v for k, v in given.items() if k not in params}
            if self.is_fitted and THRESHOLD_PARAMS & set(params):
                self._set_threshold()
            if "contamination" in params and config.threshold is not None:  # was: nothing moved, nothing said
                warnings.warn(f"{self.name or type(self).__name__}: contamination={params['contamination']!r} is not "
                              f"used while threshold={config.threshold!r} sets the threshold; set_contamination("
                              f"{params['contamination']!r}) thresholds by it (the rule returns to None)",
                              UnusedSettingWarning, stacklevel=2)
        return self

    def _fill_params(self, **values: Any) -> None:
        """Set config fields a fit decides (a recipe's value for this input, a fallback it had to take), so that the
        fitted config, and its artifact, say what was trained. :meth:`get_params` still gives what the user set
        (scikit-learn's rule: fit does not change parameters), and :meth:`_restore_given` gives it back to the
        next fit, which decides again. The values are written into the config object itself: replacing
        ``self.config``, a public attribute, is what scikit-learn's ``check_dont_overwrite_parameters`` refuses of
        a fit. The config is this detector's own (:func:`had.config.build_config` validates a copy)."""
        given = self.__dict__.setdefault("given_params_", {})
        for name, value in values.items():
            given.setdefault(name, (getattr(self.config, name), name in self.config.model_fields_set))
            self.config.__dict__[name] = value
            self.config.__pydantic_fields_set__.add(name)

    def _restore_given(self) -> None:
        """The config's fields as given before the last fit filled them in (:meth:`_fill_params`), in place, and
        counted as set or not as they were; forgets what was filled. A fit that fills fields calls it first."""
        for name, (value, was_set) in (self.__dict__.pop("given_params_", None) or {}).items():
            self.config.__dict__[name] = value
            if not was_set:
                self.config.__pydantic_fields_set__.discard(name)

    def params_changed_since_fit(self) -> list[str]:
        """``name: fitted -> now`` for each config field set since the fit that changes the model (not
        ``contamination``/``threshold``, which re-threshold at once); empty when unfitted or unchanged."""
        fitted = getattr(self, "fitted_params_", None)
        if fitted is None or not self.is_fitted:
            return []
        now = self.config.model_dump()
        return [f"{name}: {fitted[name]!r} -> {now[name]!r}" for name in now
                if name not in THRESHOLD_PARAMS and name in fitted and not _same(now[name], fitted[name])]

    def fitted_value(self, name: str) -> Any:
        """Config field `name` as the model was fitted with it (``fitted_params_``), the config's own when unfitted:
        what scoring and export read of a field that shaped the model, so that a ``set_params`` since the fit (which
        takes effect at the next fit) does not change how the fitted model is scored (was: pyod-ocsvm fitted with
        the linear kernel and set to rbf scored its linear support vectors with an RBF kernel)."""
        fitted = getattr(self, "fitted_params_", None)
        return fitted[name] if fitted and name in fitted else getattr(self.config, name)

    def __sklearn_clone__(self):
        """A new detector from :meth:`get_params`, the fields the user set still the only ones counted as set:
        ``get_params`` gives every field, so a clone counted all of them as given, and LREN's float64 fallback
        after a float32 collapse (taken only for a ``gmm_float64`` nobody set) never ran in GridSearchCV or
        cross_val_score."""
        twin = type(self)(**copy.deepcopy(self.get_params(deep=False)))
        given = getattr(self, "given_params_", None) or {}
        filled = {name for name, (_, was_set) in given.items() if not was_set}  # by the last fit, not the user
        object.__setattr__(twin.config, "__pydantic_fields_set__", set(self.config.model_fields_set) - filled)
        return twin

    def __sklearn_is_fitted__(self) -> bool:
        return self.is_fitted

    def __sklearn_tags__(self):
        from sklearn.utils import InputTags, Tags, TargetTags

        return Tags(
            estimator_type="outlier_detector",
            target_tags=TargetTags(required=False),
            transformer_tags=None,
            classifier_tags=None,
            regressor_tags=None,
            input_tags=InputTags(two_d_array=True, three_d_array="cube" in self.kinds or "image" in self.kinds,
                                 sparse=False, allow_nan=False),
            non_deterministic=False,
            requires_fit=True,
        )

    # ---- feature names ---------------------------------------------------------------------------------
    @property
    def n_features_in_(self) -> int:
        self._require_fitted()
        return int(self.input_spec_["n_features"])

    @property
    def feature_names_in_(self) -> np.ndarray:
        """The DataFrame column names seen at fit (absent, an AttributeError, when fitted on an array)."""
        names = getattr(self, "input_spec_", {}).get("feature_names")
        if names is None:
            raise AttributeError(f"{type(self).__name__} was not fitted on a DataFrame with string column names")
        return np.asarray(names, dtype=object)

    def _check_feature_names(self, names: list[str] | None) -> None:
        check_feature_names(self.input_spec_.get("feature_names"), names, type(self).__name__, stacklevel=4)

    # ---- PyOD's conversions ----------------------------------------------------------------------------
    def predict_proba(self, X, method: str = "linear", return_confidence: bool = False):
        """Outlier probability as PyOD computes it: ``(..., 2)`` with ``[..., 1]`` the anomaly probability.

        ``"linear"``: the scores min-max scaled by the training scores' range, clipped to [0, 1];
        ``"unify"``: ``erf((s - mean) / (std * sqrt 2))`` of the training scores, clipped to [0, 1].
        With `return_confidence`, also :meth:`predict_confidence`.
        """
        from scipy.special import erf

        scores = self.decision_function(X)
        train = self._training_scores()
        if method == "linear":
            lo, span = float(train.min()), float(np.ptp(train))
            p = (scores - lo) / (span if span > 0 else 1.0)
        elif method == "unify":  # on the scores over their largest magnitude: the same erf, whose std at 1e-170 or
            # 1e170 underflowed or overflowed, every probability 0 (erf's argument is scale-free; the numbers probe)
            scale = float(np.max(np.abs(train))) or 1.0
            unit = train / scale
            sigma = float(np.std(unit))
            p = erf((scores / scale - float(np.mean(unit))) / ((sigma if sigma > 0 else 1.0) * np.sqrt(2.0)))
        else:
            raise ConfigError(f"predict_proba: unknown method {method!r}; use 'linear' or 'unify'")
        p = np.clip(p, 0.0, 1.0)
        probs = np.stack([1.0 - p, p], axis=-1)
        return (probs, self._confidence(scores)) if return_confidence else probs

    def predict_confidence(self, X) -> np.ndarray:
        """PyOD's confidence in each predicted label (ExCeeD, Perini et al. 2020), in [0, 1]."""
        return self._confidence(self.decision_function(X))

    def _training_scores(self) -> np.ndarray:
        """The training scores without the NaN of no-data pixels (one NaN made every probability NaN)."""
        train = np.asarray(self.decision_scores_, dtype=np.float64).reshape(-1)
        return train[~np.isnan(train)]

    def _confidence(self, scores: np.ndarray) -> np.ndarray:
        from scipy.stats import binom

        train = np.sort(self._training_scores())
        n = train.size
        # PyOD's share of expected anomalies is `contamination`; under another threshold rule, the share of
        # training scores above the threshold plays that part
        # (of the scored training samples: was the mean of labels_, whose no-data pixels count 0, so a fill of half
        # the scene halved the share, and a clear anomaly got confidence 0.45; the numbers probe, 7 December 2026)
        share = self.contamination if self.config.threshold is None else (
            float(np.mean(train > self.threshold_)) if n else 0.0)
        below = np.searchsorted(train, scores, side="right")  # training scores <= each score
        posterior = (1.0 + below) / (2.0 + n)
        confidence = 1.0 - binom.cdf(n - int(n * share), n, posterior)
        confidence = np.where(scores > self.threshold_, confidence, 1.0 - confidence)
        return np.where(np.isnan(scores), np.nan, confidence)  # no data: no label to be sure of (was 0.0)


class WithoutLabels:
    """`detector`, fitted without the labels scikit-learn passes to ``fit``:
    ``cross_val_score(WithoutLabels(had.get_detector("deepsad")), X, y, cv=folds, scoring=auroc_scorer)``.

    scikit-learn's searches and cross-validation pass the ground truth `y` to ``fit`` as well as to the scorer,
    and offer no way to give it to the scorer alone; a semi-supervised detector (``ssad``, ``deepsad``,
    ``semidgm``, ``hybrid-ssad``) reads it as known labels, so every training anomaly counts as known and the
    score measures a detector that was shown the answers (an audit, ODDS cardio: deepsad 0.982 with `y` passed
    on, 0.619 without; ssad 0.993 and 0.878). This wrapper drops `y` at ``fit``; everything else is the
    detector's (its parameters as ``detector__NAME`` for a search grid, its fitted attributes, ``had.save`` of
    ``.detector``). Unsupervised detectors ignore `y` anyway and need no wrapper."""

    def __init__(self, detector: Any):
        self.detector = detector

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        params: dict[str, Any] = {"detector": self.detector}
        if deep:
            params.update({f"detector__{k}": v for k, v in self.detector.get_params().items()})
        return params

    def set_params(self, **params: Any) -> "WithoutLabels":
        if "detector" in params:
            self.detector = params.pop("detector")
        wrong = sorted(k for k in params if not k.startswith("detector__"))
        if wrong:
            raise ConfigError(f"WithoutLabels: unknown parameter(s) {wrong}; its parameters are 'detector' and the "
                              "detector's as detector__NAME")
        if params:
            self.detector.set_params(**{k[len("detector__"):]: v for k, v in params.items()})
        return self

    def fit(self, X, y=None) -> "WithoutLabels":
        self.detector.fit(X)  # `y` is the scorer's, not the detector's (the class docstring)
        return self

    def fit_predict(self, X, y=None) -> np.ndarray:
        return self.detector.fit_predict(X)

    def decision_function(self, X) -> np.ndarray:
        return self.detector.decision_function(X)

    def predict(self, X) -> np.ndarray:
        return self.detector.predict(X)

    def __getattr__(self, name: str) -> Any:  # the detector's fitted attributes (decision_scores_, threshold_, ...)
        if name == "detector" or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.detector, name)

    def __sklearn_is_fitted__(self) -> bool:
        return bool(self.detector.is_fitted)

    def __sklearn_tags__(self):
        return self.detector.__sklearn_tags__()

    def __repr__(self) -> str:
        return f"WithoutLabels({self.detector!r})"
