"""PyOD models as `had` detectors, each with a validated config (registered as ``pyod-<model>``).

Defaults of ``pyod-ocsvm``, ``pyod-iforest`` and ``pyod-kde`` follow Deep SAD's baselines (OC-SVM ``nu=0.1``
RBF; IsolationForest 100 trees, ``max_samples=256``; Gaussian KDE with the bandwidth grid-searched on the
training rows), except that gamma is chosen without labels (:mod:`had_pyod.heuristics`). The others keep
PyOD's defaults.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, PositiveInt, field_validator

from had import global_rng
from had.artifact import CONFIG_DISAGREES, check_saved_shapes
from had.capabilities import Capabilities
from had.errors import ArtifactError, InvalidInputError
from had.memory import check_training_fits
from had.pixel_sample import PixelSampleConfig
from had.validation import FLOAT32_MAX, refuse_float32_zero

from . import ecod, fitted, graphs
from .adapter import FittedStateDetector, PyODDetector, refitted_from_rows, require
from .export import centred_float64, convert
from .heuristics import REFERENCE_BANDWIDTHS, kde_bandwidth, rbf_gamma

PositiveFloat = Annotated[float, Field(gt=0.0)]
GammaRule = PositiveFloat | Literal["median", "scale", "auto"]


class OCSVMConfig(PixelSampleConfig):
    kernel: Literal["rbf", "linear"] = Field("rbf", description="kernel (the reference's hybrid also tries linear)")
    nu: float = Field(0.1, gt=0.0, le=1.0, description="upper bound on the training outlier share (reference 0.1)")
    gamma: GammaRule = Field("median", description="RBF gamma: 'median' (1/median squared pair distance), "
                                                   "'scale' (1/(d Var X)), 'auto' (1/d, PyOD's default), or a "
                                                   "positive number")


class PyODOCSVM(FittedStateDetector):
    """One-class SVM (Schölkopf et al. 2001) through PyOD; score = -decision_function of scikit-learn's model."""

    name = "pyod-ocsvm"
    Config = OCSVMConfig
    artifact_holds = "the support vectors (a subset of the training rows), dual coefficients, intercept, gamma"
    #: float32 kernel sums cancel near the decision boundary, where scores cross 0
    onnx_rtol = 1e-2

    def fitted_state(self, model):
        return fitted.svm_state(model.detector_)

    def onnx_core(self, model):
        if model.detector_.kernel != "rbf":  # linear: export_onnx builds its own graph (the fitted kernel, not a
            return None  # set_params since: the graph is built on first need, after the fit)
        return convert(model.detector_, model.detector_.support_vectors_.shape[1], "scores")

    def score_state(self, rows):
        return fitted.svm_scores(self.state_, rows, self.fitted_value("kernel"))

    def _references(self):
        return int(self.state_["support"].shape[0]), "support vectors"

    def export_onnx(self) -> bytes:
        """RBF: skl2onnx's SVM graph; linear: :func:`had_pyod.graphs.linear_svm_graph`."""
        if self.fitted_value("kernel") == "rbf":
            return super().export_onnx()
        self._require_fitted()
        return graphs.linear_svm_graph(self, self.state_)

    def make_model(self, rows):
        from pyod.models.ocsvm import OCSVM

        self.gamma_ = rbf_gamma(rows, self.config.gamma, self.config.seed) if self.config.kernel == "rbf" else 0.0
        return OCSVM(kernel=self.config.kernel, nu=self.config.nu, gamma=self.gamma_ or "scale",
                     contamination=self.config.contamination)


#: the contamination pyod-iforest builds PyOD's IForest with, whatever its own (PyOD's default): it sets only the
#: offset added to every score (scikit-learn's ``offset_``), so the scores are PyOD's ``IForest()``'s and do not
#: depend on `contamination`, which sets had's threshold alone, as for every other detector
PYOD_IFOREST_CONTAMINATION = 0.1


#: the most trees pyod-iforest and hybrid-iforest build: a thousand times the default (100, the paper's and PyOD's),
#: beyond the few thousand PyOD and scikit-learn users give; was unbounded: 10**9 trees on an 80-row table grew to
#: 8.5 GB in 90 s, and 2**63 or more was scikit-learn's OverflowError traceback
MAX_TREES = 100_000
#: the smallest share `max_samples` may be as a float: below it ``int(share * rows)`` is 0 for every table numpy
#: can hold (fewer than 2**63 rows), so no tree has a row to draw (scikit-learn: "Sample weights must contain at
#: least one non-zero number", a traceback); a share too small for the table at hand is refused at the fit
MIN_SHARE = 2.0 ** -63
#: what a fitted forest holds per tree, at least: a fixed part (each tree's scikit-learn objects) and a part per row
#: the tree draws (its nodes, the state's arrays); measured at the fit's peak, 14 KiB a tree for 80 rows, 24 KiB for
#: 256 rows of 1,000, 132 KiB for 4,096 of 5,000 (10 features), which these give as 11, 16 and 136 KiB
FOREST_TREE_BYTES, FOREST_ROW_BYTES = 8 * 1024, 32


class IForestConfig(PixelSampleConfig):
    n_estimators: int = Field(100, ge=1, le=MAX_TREES, description=f"trees (at most {MAX_TREES:,}; the forest's "
                              "memory is checked against the memory available before the fit)")
    max_samples: int | float = Field(256, gt=0, description="rows per tree: an int >= 1 is a count (lowered, with a "
                                     "note, to the training rows), a float in (0, 1] a share of the training rows "
                                     "(1.0: every row); a share must select at least one row")
    max_features: float = Field(1.0, gt=0.0, le=1.0, description="share of features per tree")

    @field_validator("max_samples", mode="before")
    @classmethod
    def _numpy_count_is_a_count(cls, value: Any) -> Any:
        """``np.int64(300)`` is a count as 300 is (pydantic's int | float made it the share 300.0, refused, and
        ``np.int64(1)`` the share 1.0: every row)."""
        return int(value) if isinstance(value, np.integer) else value

    @field_validator("max_samples")
    @classmethod
    def _count_or_share(cls, value: int | float) -> int | float:
        """A float is a share (scikit-learn's rule): refused above 1 (was scikit-learn's InvalidParameterError
        traceback at the fit for 2.0 or 1e308, where an int 2 is a count) or below :data:`MIN_SHARE`."""
        if isinstance(value, float):
            if not value <= 1.0:
                count = int(value) if value.is_integer() and value < 2.0 ** 63 else 256
                raise ValueError(f"{value!r} is a float, a share of the training rows, and a share is at most 1.0 "
                                 f"(every row); give a share in (0, 1], or a count of rows as an int (e.g. "
                                 f"max_samples={count})")
            if value < MIN_SHARE:
                raise ValueError(f"{value!r} is a share of the training rows that selects no row of any table "
                                 f"(below 2**-63); give a share in (0, 1] of at least 1/rows, or a count of rows as "
                                 "an int (e.g. 256)")
        return value


class PyODIForest(FittedStateDetector):
    """Isolation Forest (Liu et al. 2008) through PyOD, seeded by ``seed``."""

    name = "pyod-iforest"
    Config = IForestConfig
    artifact_holds = "the trees' nodes (split features and values, samples per node), not the training rows"
    value_exponent = 120  # float32's normal numbers reach 2**+-126
    value_use = "splits the values in float32 (scikit-learn's trees)"
    #: the offset puts the scores' zero at the training scores' 10 % quantile (PyOD's default contamination, see
    #: :data:`PYOD_IFOREST_CONTAMINATION`), where float32 rounding is relative to ~0
    onnx_rtol = 1e-3
    #: scores 2**(-E/c) in (0, 1] less the offset, in float32 in the graph: 16 float32 steps of 1 are rounding
    #: (cardio: 1.6e-7 at most, against scores spread 0.045)
    onnx_atol = 16 * float(np.finfo(np.float32).eps)

    def fitted_state(self, model):
        return fitted.forest_state(model.detector_)

    def onnx_core(self, model):
        """The forest's score graph built from its fitted arrays (:func:`had_pyod.graphs.iforest_core`), linear in
        its nodes; was skl2onnx's converter, quadratic in the trees (77 s for 400, minutes for thousands). An
        artifact saved before holds skl2onnx's graph (``onnx_core``) and exports it as stored. Forests of feature
        subsets (``max_features < 1``), which skl2onnx refused, export too."""
        return self.state_core(int(model.detector_.n_features_in_))

    def state_core(self, n_features):
        """:func:`had_pyod.graphs.iforest_core` of ``state_`` for rows of `n_features` columns: also what a model
        saved before 6 December 2026 with ``max_features < 1`` exports, its artifact holding the arrays and no graph
        (skl2onnx's converter refused such forests). `n_features` is checked against the arrays: each tree draws
        scikit-learn's ``max(1, int(max_features * n_features))`` columns (a width that does not fit, from a broken
        artifact or a wrong code width, would make a graph of the wrong input), and its columns lie below it."""
        fitted.check_forest(self.state_, n_features)  # tree_features is (trees, drawn), its columns below n_features
        share = float(self.fitted_value("max_features"))  # the fitted forest's, not a set_params since
        drawn, expected = int(self.state_["tree_features"].shape[1]), max(1, int(share * n_features))
        if drawn != expected:
            raise ArtifactError(f"{self.name}: its trees draw {drawn} features each, not the {expected} that "
                                f"max_features={share!r} draws of {n_features} input columns; a broken or tampered "
                                "artifact: fit it again")
        return graphs.iforest_core(self.state_, n_features)

    def score_state(self, rows):
        return fitted.forest_scores(self.state_, rows)

    def _tree_rows(self, n_rows: int) -> int:
        """The rows each tree draws of `n_rows` (scikit-learn's ``max_samples_``); a share that selects none is an
        InvalidInputError naming max_samples (was: scikit-learn's "Sample weights must contain at least one
        non-zero number" traceback, for max_samples=0.001 on 80 rows)."""
        share = self.config.max_samples
        if not isinstance(share, float):
            return min(share, n_rows)
        drawn = int(share * n_rows)  # scikit-learn's rule for a float
        if drawn < 1:
            raise InvalidInputError(f"{self.name}: max_samples={share!r} is a share of the {n_rows:,} training rows "
                                    f"that selects {share * n_rows:.3g} of them, so a tree has no row to draw; give a "
                                    f"share of at least 1/{n_rows:,} ({1.0 / n_rows:.3g}) or a count of rows as an "
                                    "int (e.g. max_samples=256)")
        return drawn

    def check_fit_memory(self, n_rows: int) -> None:
        """The forest's memory (:data:`FOREST_TREE_BYTES`, :data:`FOREST_ROW_BYTES` per tree, at least) against
        the memory available now, before scikit-learn grows it tree by tree (was: no check; a process the kernel's
        out-of-memory killer ends)."""
        from had.memory import check_fits

        trees, drawn = self.config.n_estimators, self._tree_rows(n_rows)
        check_fits(f"{self.name}: a forest of {trees:,} trees of {drawn:,} rows each",
                   trees * (FOREST_TREE_BYTES + FOREST_ROW_BYTES * drawn),
                   f"lower n_estimators (now {trees:,}) or max_samples (--set)")

    def make_model(self, rows):
        from pyod.models.iforest import IForest

        cfg = self.config
        max_samples = cfg.max_samples
        if isinstance(max_samples, int) and max_samples > rows.shape[0]:
            max_samples = self.lower_param("max_samples", rows.shape[0], f"a tree draws at most the {rows.shape[0]} "
                                           "training rows (scikit-learn lowers it so, with a warning)")
        # PyOD passes contamination to scikit-learn's IsolationForest, whose offset_ (the training scores'
        # contamination quantile) is added to every score: had thresholds the scores itself, and set_params
        # (contamination=...) on a fitted detector only moves that threshold, so the offset is PyOD's default's,
        # whatever `contamination` is (was: the same parameters scored differently before and after a refit,
        # cardio by 0.0624, and a numeric threshold flagged 183 rows or 37)
        return IForest(n_estimators=cfg.n_estimators, max_samples=max_samples, max_features=cfg.max_features,
                       contamination=PYOD_IFOREST_CONTAMINATION, random_state=cfg.seed, n_jobs=1)


#: the smallest Gaussian bandwidth pyod-kde and hybrid-kde take, 2**-511 (1.5e-154): scikit-learn divides squared
#: distances by its square, which below it is no longer a normal float64 and, below about 2e-162, is 0 (every
#: score NaN; was "80 of 80 training scores are infinite ... (lower lr)", blaming the data and lr)
MIN_BANDWIDTH = 2.0 ** -511


def _check_bandwidth(value: float, key: str) -> float:
    if value < MIN_BANDWIDTH:
        raise ValueError(f"{value!r} is below the smallest {key} taken, 2**-511 ({MIN_BANDWIDTH:.3g}): the Gaussian "
                         "kernel divides by the bandwidth squared, which underflows in float64 below it (to 0 from "
                         "about 2e-162, where every score is NaN); give a bandwidth near the spacing of the rows (e.g. "
                         "1.0 for data scaled to unit spread)" + (" or 'gridsearch'" if key == "bandwidth" else ""))
    return value


def _finite_positive(value: Any, key: str) -> Any:
    """A number given as a bandwidth that is not finite or not above 0 refused in one line that says which and what
    to give (was pydantic's line for each member of ``PositiveFloat | 'gridsearch'``: "bandwidth.constrained-float:
    Input should be a finite number; bandwidth.literal['gridsearch']: Input should be 'gridsearch'"); anything else
    is left to the field's own validation. A string is read as pydantic reads it, as a number where it is one: the
    command line gives ``--set bandwidth=inf`` as the string "inf"."""
    number = value.item() if isinstance(value, np.generic) else value
    if isinstance(number, str):
        try:
            number = float(number)
        except ValueError:  # 'gridsearch', or not a number: the field says
            return value
    if isinstance(number, bool) or not isinstance(number, (int, float)) or 0 < number < float("inf"):
        return value
    wrong = "not a number" if number != number else "not finite" if number > 0 else "not above 0"
    shown = value.strip() if isinstance(value, str) else repr(number)
    raise ValueError(f"{shown} is {wrong}: a {key} must be a finite number of at least 2**-511 "
                     f"({MIN_BANDWIDTH:.3g}); give a bandwidth near the spacing of the rows (e.g. 1.0 for data scaled "
                     "to unit spread)" + (" or 'gridsearch'" if key == "bandwidth" else ""))


class KDEConfig(PixelSampleConfig):
    bandwidth: PositiveFloat | Literal["gridsearch"] = Field(
        "gridsearch", description="Gaussian bandwidth (at least 2**-511, 1.5e-154: its square must be a normal "
                                  "float64), or 'gridsearch': 5-fold held-out log-likelihood on the training rows "
                                  "over `bandwidth_grid` (the reference's procedure)")
    bandwidth_grid: list[PositiveFloat] = Field(list(REFERENCE_BANDWIDTHS), min_length=1,
                                        description="candidates (default 2**linspace(0.5, 5, 10), the reference's; "
                                                    "each at least 2**-511, as bandwidth)")
    search_max_rows: int = Field(5000, ge=10, description="rows (seeded subsample) used by the grid search")

    @field_validator("bandwidth", mode="before")
    @classmethod
    def _bandwidth_finite_positive(cls, value: Any) -> Any:
        return _finite_positive(value, "bandwidth")

    @field_validator("bandwidth_grid", mode="before")
    @classmethod
    def _grid_finite_positive(cls, values: Any) -> Any:
        if isinstance(values, (list, tuple)):
            for value in values:
                _finite_positive(value, "bandwidth_grid value")
        return values

    @field_validator("bandwidth")
    @classmethod
    def _bandwidth_squares(cls, value: float | str) -> float | str:
        return value if isinstance(value, str) else _check_bandwidth(value, "bandwidth")

    @field_validator("bandwidth_grid")
    @classmethod
    def _grid_squares(cls, values: list[float]) -> list[float]:
        for value in values:
            _check_bandwidth(value, "bandwidth_grid value")
        return values


class PyODKDE(PyODDetector):
    """Gaussian kernel density (negative log-density as the score) through PyOD."""

    name = "pyod-kde"
    Config = KDEConfig
    onnx_unsupported = None
    #: float32 log-sum-exp of squared distances: absolute error ~1e-6 of |x|^2 / h^2, relative to scores near 0
    onnx_rtol = 1e-3
    #: scikit-learn's tree-walked kernel sums cost ~4e-7 s a pair in 100 bands (40x kNN's): ~1 s a scoring call
    #: (was: a 64 MiB tile a call, ~100 s against 5,000 training pixels, Ctrl-C unheard meanwhile)
    pairs_per_call = 2e6

    def make_model(self, rows):
        from pyod.models.kde import KDE

        cfg = self.config
        if self._saved_bandwidth is not None:  # a loaded model: the bandwidth its fit chose, not searched again
            self.bandwidth_ = self._saved_bandwidth
        elif cfg.bandwidth == "gridsearch":
            self.bandwidth_ = kde_bandwidth(rows, cfg.bandwidth_grid, max_rows=cfg.search_max_rows, seed=cfg.seed)
            low, high = min(cfg.bandwidth_grid), max(cfg.bandwidth_grid)
            if low < high and self.bandwidth_ in (low, high):  # the grid did not bracket the best bandwidth
                spread = float(np.mean(np.std(rows, axis=0)))
                largest = self.bandwidth_ == high
                beyond = ("above it, and far below the rows' spacing every training row scores alike; scale the "
                          "data (the reference min-max scales it to [0, 1]) or pass a bandwidth_grid of larger values"
                          if largest else "below it (far above the rows' spread the density is flat); pass a "
                          "bandwidth_grid of smaller values")
                self.add_fit_note(
                    f"the bandwidth grid search chose {self.bandwidth_:g}, the {'largest' if largest else 'smallest'} "
                    f"of bandwidth_grid ({low:g} to {high:g}): the best bandwidth for these rows (features spread "
                    f"{spread:.3g} on average) may lie {beyond}")
        else:
            self.bandwidth_ = float(cfg.bandwidth)
        return KDE(bandwidth=self.bandwidth_, contamination=cfg.contamination)

    #: the bandwidth a loaded artifact holds, while :meth:`_set_state` fits PyOD's KDE on its rows
    _saved_bandwidth: float | None = None

    def _get_state(self) -> dict[str, np.ndarray]:
        """The training rows and the bandwidth the fit chose: loading refitted on the rows with
        ``bandwidth='gridsearch'`` and searched again, 3.4 s of a 4.2 s load on cardio (each ``had score``
        slower than the fit), longer on a scene's sample."""
        return {**super()._get_state(), "bandwidth": np.array([self.bandwidth_], dtype=np.float64)}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        saved = state.get("bandwidth")  # None: saved before 7 December 2026, 11:30 UTC, searched again as then
        if saved is not None:
            value = float(np.asarray(saved, dtype=np.float64).reshape(-1)[0])
            if not np.isfinite(value):
                raise ArtifactError(f"{self.name}: the saved bandwidth is {value}, not a number; a broken or tampered "
                                    "artifact: fit it again")
            self._saved_bandwidth = _check_bandwidth(value, "saved bandwidth")
        try:
            super()._set_state(state)
        finally:
            self._saved_bandwidth = None

    def _references(self):
        return int(self.train_rows_.shape[0]), "training pixels"

    def _fit_rows(self, rows: np.ndarray, known: np.ndarray | None) -> None:
        """The density alone: PyOD's ``KDE.fit`` is its scikit-learn ``KernelDensity``'s fit (``kde_``), then every
        training row scored against all of them (O(n^2)) for PyOD's own threshold, which had does not use (had
        scores the training rows itself, and a load, which refits, needs only the density: 3.4 s of a 5.6 s ``had
        score`` of a model of satellite's 6,435 rows, growing with the square of the rows)."""
        self.model_ = self.make_model(rows)
        self.model_.kde_.fit(rows)

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        return -self.model_.kde_.score_samples(rows)  # PyOD's KDE.decision_function: invert_order(score_samples)

    def export_onnx(self) -> bytes:
        """:func:`had_pyod.graphs.kde_graph`: the Gaussian kernels over the training rows (held in the graph)."""
        self._require_fitted()
        return graphs.kde_graph(self, self.train_rows_, self.bandwidth_)


class KNNConfig(PixelSampleConfig):
    n_neighbors: int = Field(5, ge=1, description="neighbours")
    method: Literal["largest", "mean", "median"] = Field("largest", description="distance aggregation")


class PyODKNN(PyODDetector):
    """k-nearest-neighbour distance (Ramaswamy et al. 2000) through PyOD."""

    name = "pyod-knn"
    Config = KNNConfig
    onnx_unsupported = None
    capabilities = Capabilities(held_out_training_scores=True)  # PyOD's: each training row against the others

    def make_model(self, rows):
        from pyod.models.knn import KNN

        k = self.config.n_neighbors
        if k > rows.shape[0] - 1:  # PyOD measures each training row against the others
            k = self.lower_param("n_neighbors", rows.shape[0] - 1, f"each of the {rows.shape[0]} training rows has "
                                 f"{rows.shape[0] - 1} others to be measured against")
        return KNN(n_neighbors=k, method=self.config.method, contamination=self.config.contamination)

    def _references(self):
        return int(self.train_rows_.shape[0]), "training pixels"

    def _fit(self, X, known):
        # PyOD's training scores: each training row against the others. Scored again as a new row, each would
        # count itself as its own nearest neighbour (distance 0): with n_neighbors=1 every training row scored 0,
        # and the threshold flagged nearly every new row. A sampled fit (a cube above max_fit_pixels) scores
        # every pixel as new, its sampled pixels included.
        super()._fit(X, known)
        record = self.fit_sample_
        if record is None:  # every row (pixel) of X trained, in order
            return self.model_.decision_scores_
        if record["pixels"] + record.get("fill_pixels", 0) != record["of"]:
            return None
        scores = np.asarray(self._score(X), dtype=np.float64).reshape(-1)  # NaN at the fill pixels left out
        trained = ~np.isnan(scores)
        if int(trained.sum()) == self.model_.decision_scores_.size:
            scores[trained] = self.model_.decision_scores_
        return scores

    def _fit_rows(self, rows, known):
        super()._fit_rows(rows, known)
        self.onnx_core_ = None  # the fit's neighbours, converted at the first export

    def export_onnx(self) -> bytes:
        """skl2onnx's k-neighbour distances (the graph holds the training rows, as the method needs them), then
        the k-th (``largest``), the mean, or the median (the middle one or two of the sorted k). Converted at the
        first export, then kept (skl2onnx numbers its Scan nodes process-wide, so a second conversion is other
        bytes); was: at every fit and every load, which refits: 0.9 s and 40 MB of each ``had score``."""
        import copy

        from .export import contract_model

        self._require_fitted()
        if getattr(self, "onnx_core_", None) is None:
            neighbours = copy.copy(self.model_.neigh_)
            neighbours.radius = None  # PyOD sets a radius it never uses; skl2onnx converts k-neighbour queries only
            self.onnx_core_ = convert(neighbours, self.train_rows_.shape[1], "distance")
        core = self.onnx_core_
        k = self.model_.n_neighbors
        columns = {"largest": (k - 1, k), "mean": (0, k), "median": ((k - 1) // 2, k // 2 + 1)}[self.fitted_value("method")]
        return contract_model(self, core, sign=1.0, columns=columns)


class ECODConfig(PixelSampleConfig):
    batch_scores: bool = Field(False, description="PyOD's own decision_function: each scored batch ranked together "
                               "with the training rows, so a row's score depends on the rows scored with it (a "
                               "flight line's tile, a request); False: each row scored as PyOD scores it alone "
                               "(had_pyod.ecod)")


class PyODECOD(PyODDetector):
    """ECOD, empirical-CDF outlier detection (Li et al. 2022), through PyOD; parameter-free.

    Each row is scored as ``ECOD.decision_function`` scores it alone (:mod:`had_pyod.ecod`, equal to float
    rounding), not ranked with the rest of its batch; ``batch_scores=True`` is PyOD's batch behaviour."""

    name = "pyod-ecod"
    Config = ECODConfig
    #: models saved before ``batch_scores`` (3 December 2026, 19:07 UTC) scored as PyOD does, a batch at a time
    saved_before = {"batch_scores": True}
    artifact_holds = ("each feature's training values, sorted (ECOD scores feature by feature, so the rows' pairing "
                      "is not kept); loading scores from them")
    onnx_unsupported = ("ECOD's ranks against the training values have no verified ONNX export in had; score it with "
                        "the Python detector (the artifact holds the sorted training values)")

    def make_model(self, rows):
        from pyod.models.ecod import ECOD

        return ECOD(contamination=self.config.contamination)

    def _fit_rows(self, rows: np.ndarray, known: np.ndarray | None) -> None:
        self.columns_ = ecod.TrainingColumns.of(rows)  # all a row's score needs, and the artifact's state
        if self.config.batch_scores:
            super()._fit_rows(rows, known)

    def _get_state(self) -> dict[str, np.ndarray]:
        return {"sorted_columns": self.columns_.sorted}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        if refitted_from_rows(self, state):  # saved before 3 December 2026, 19:36 UTC: the training rows (was:
            # "KeyError: 'sorted_columns'", the model unloadable)
            return
        self.columns_ = ecod.TrainingColumns.of_sorted(state["sorted_columns"])
        if self.config.batch_scores:  # PyOD ranks feature by feature too: the sorted columns stand for the rows
            super()._fit_rows(np.ascontiguousarray(self.columns_.sorted.T), None)

    def _rows_per_call(self) -> int | None:
        """None (a tile a call, as before) for PyOD's batch scores, which rank each call's rows together: scored
        in fewer rows a call they would change; each row alone (had_pyod.ecod) is scored in chunks as any model."""
        return None if self.fitted_value("batch_scores") else super()._rows_per_call()

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        if self.fitted_value("batch_scores"):  # as fitted: a set_params since takes effect at the next fit
            return super()._score_rows(rows)
        return ecod.row_scores(self.columns_, rows)


class PCAConfig(PixelSampleConfig):
    n_components: int | None = Field(None, ge=1, description="components kept (None: all; never more than the "
                                                                 "numerical rank of the training rows)")
    standardization: bool = Field(True, description="standardise features before PCA (PyOD's default)")


class PyODPCA(FittedStateDetector):
    """PCA reconstruction outlier score (Shyu et al. 2003) through PyOD."""

    name = "pyod-pca"
    Config = PCAConfig
    artifact_holds = "the standardisation, the selected components and their weights, not the training rows"
    #: float32 distances to the components (sqrt of a difference of squares)
    onnx_rtol = 1e-3

    def fitted_state(self, model):
        return fitted.pca_state(model)

    def score_state(self, rows):
        return fitted.pca_scores(self.state_, rows)

    def export_onnx(self) -> bytes:
        """:func:`had_pyod.graphs.pca_graph` of the fitted arrays."""
        self._require_fitted()
        return graphs.pca_graph(self, self.state_)

    #: float64 copies of the training rows a fit holds at its peak besides them (the standardised rows for the
    #: rank, PyOD's and scikit-learn's copies, the SVD's factors): 4.1 measured on 200,000 x 100 rows
    FIT_COPIES = 5

    def _fit_rows(self, rows: np.ndarray, known: np.ndarray | None) -> None:
        """Checked against the memory available first (a flight-line probe of 7 December 2026: ~5 float64 copies
        of a 200,000-pixel sample, unchecked; a process the out-of-memory killer ends where they do not fit)."""
        from had.memory import check_fits

        check_fits(f"{self.name}: a fit on {rows.shape[0]:,} rows of {rows.shape[1]:,} features",
                   self.FIT_COPIES * rows.nbytes, "lower --set max_fit_pixels=N (a scene), or fit fewer rows")
        super()._fit_rows(rows, known)

    def make_model(self, rows):
        from pyod.models.pca import PCA

        # components with no variance (linearly dependent features) would divide by zero in PyOD's weighting:
        # never keep more components than the numerical rank of the rows as PyOD sees them (scikit-learn's
        # StandardScaler, which leaves a constant feature unscaled: a plain std test divided a dead band's
        # rounding residue, 4e-14 on every row, by its equal 4e-14 spread, a column of ones and a direction of
        # its own, and PyOD's weights divided by that component's zero variance: every score NaN)
        from had.validation import all_equal_note, all_rows_equal
        from sklearn.preprocessing import StandardScaler

        if all_rows_equal(rows):  # no direction to project on (was: scikit-learn's divide warning, NaN scores)
            raise InvalidInputError(all_equal_note(rows.shape[0], self.name))
        seen = StandardScaler().fit_transform(rows) if self.config.standardization else rows - rows.mean(axis=0)
        rank = max(1, int(np.linalg.matrix_rank(seen)))
        n = self.config.n_components or rank
        if n > rank:
            n = self.lower_param("n_components", rank, f"the numerical rank of the {rows.shape[0]} training rows of "
                                 f"{rows.shape[1]} features{' (standardised)' if self.config.standardization else ''}"
                                 f" is {rank}: a component beyond it has no variance to weigh its distance by")
        return PCA(n_components=n, standardization=self.config.standardization, random_state=self.config.seed,
                   contamination=self.config.contamination)


class GMMConfig(PixelSampleConfig):
    n_components: int = Field(1, ge=1, description="mixture components")
    covariance_type: Literal["full", "tied", "diag", "spherical"] = Field("full", description="covariance form")
    reg_covar: float = Field(1e-6, ge=0.0, description="added to the covariance diagonals")
    max_iter: int = Field(100, ge=1, description="EM iterations")


class PyODGMM(FittedStateDetector):
    """Gaussian mixture (negative log-likelihood as the score) through PyOD, seeded by ``seed``."""

    name = "pyod-gmm"
    Config = GMMConfig
    artifact_holds = "the mixture's weights, means and covariances, not the training rows"

    def make_model(self, rows):
        from pyod.models.gmm import GMM

        cfg = self.config
        n = cfg.n_components
        if n > rows.shape[0]:
            n = self.lower_param("n_components", rows.shape[0], f"a mixture has at most one component per training "
                                 f"row ({rows.shape[0]}); with one each, every row fits its own and scores alike")
        return GMM(n_components=n, covariance_type=cfg.covariance_type,
                   reg_covar=cfg.reg_covar, max_iter=cfg.max_iter, random_state=cfg.seed,
                   contamination=cfg.contamination)

    def fitted_state(self, model):
        self.mixture_ = None  # rebuilt from the new state on first use
        state = fitted.mixture_state(model.detector_)
        # the graph centres the rows on the mixture's mean and computes in float64, the converted mixture's means
        # shifted by that centre (:func:`had_pyod.export.centred_float64`: float32 quadratic forms of rows at a
        # large common offset cancelled to noise; was: skl2onnx's float32 graph of the fitted mixture as it is)
        centre = state["weights"] @ state["means"]
        shifted = fitted.mixture_model({**state, "means": state["means"] - centre}, self.config.covariance_type)
        core = convert(shifted, state["means"].shape[1], "score_samples", {"score_samples": True}, float64=True)
        state["onnx_core"] = centred_float64(core, centre)
        return state

    def score_state(self, rows):
        if getattr(self, "mixture_", None) is None:
            self.mixture_ = fitted.mixture_model(self.state_, self.fitted_value("covariance_type"))
        return -self.mixture_.score_samples(rows)

    def _set_state(self, state):
        super()._set_state(state)
        self.mixture_ = None


class AutoEncoderConfig(PixelSampleConfig):
    epochs: int = Field(10, ge=1, description="training epochs (PyOD's epoch_num)")
    batch_size: int = Field(32, ge=1, description="mini-batch size")
    lr: float = Field(1e-3, gt=0.0, description="learning rate")
    hidden: list[PositiveInt] = Field([64, 32], min_length=1, description="hidden layer sizes")
    dropout: float = Field(0.2, ge=0.0, lt=1.0, description="dropout rate")

    _lr_not_zero_in_float32 = field_validator("lr")(lambda cls, value: refuse_float32_zero(value))


#: the prefix of a PyOD network's tensors among its artifact's arrays (the others: the standardisation, a centre)
NETWORK = "network."


class PyODDeepModel(PyODDetector):
    """PyOD's own torch models: a training that diverged (NaN weights) reached scikit-learn's input check inside
    PyOD as "ValueError: Input contains NaN", a traceback; said as the diverged training it is.

    Artifacts hold the trained network's tensors (:data:`NETWORK`) and the arrays its scores depend on besides
    (:meth:`_fitted_arrays`: the standardisation, Deep SVDD's centre), not the training rows; loading rebuilds
    PyOD's model around them (:meth:`_unfitted`) and trains nothing. Was: the training rows, and every load (each
    ``had score``, each service start) trained the network again: a training run's time and memory per load
    (26-56 CPU s and ~1 GB on a flight line's sample), its ``epochs`` read from the manifest (an edited
    ``epochs=10**9`` trained that long), and scores that were not the saved model's wherever torch's kernels
    round differently (another CPU). An artifact saved before 7 December 2026, 11:30 UTC holds the rows and is
    still refitted on load (:meth:`RowModelDetector._set_state`)."""

    global_modules = ("torch",)
    onnx_unsupported = None
    artifact_holds = ("the trained network's weights and the standardisation, not the training rows (an artifact "
                      "saved before 7 December 2026, 11:30 UTC holds the rows: refitted on load)")

    @abstractmethod
    def _network(self, model: Any) -> Any:
        """The torch module of the PyOD `model` whose tensors are saved."""

    @abstractmethod
    def _fitted_arrays(self, model: Any) -> dict[str, np.ndarray]:
        """The arrays of the fitted PyOD `model` its scores depend on besides its network."""

    @abstractmethod
    def _unfitted(self, state: dict[str, np.ndarray]) -> Any:
        """PyOD's model configured from ``self.config``, its network built (weights not yet loaded) and the
        arrays of :meth:`_fitted_arrays` set from `state`: what :meth:`_set_state` loads the tensors into."""

    def _get_state(self) -> dict[str, np.ndarray]:
        network = self._network(self.model_).state_dict()
        return {**{NETWORK + key: value.detach().cpu().numpy() for key, value in network.items()},
                **self._fitted_arrays(self.model_)}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        if "train_rows" in state:  # saved before 7 December 2026, 11:30 UTC: the rows, refitted as then
            super()._set_state(state)
            del self.train_rows_, self.train_known_  # the network is what it keeps now (a sample's rows: ~358 MB)
            return
        require("torch", "deep", self.name)
        import torch

        tensors = {key[len(NETWORK):]: torch.from_numpy(np.array(value)) for key, value in state.items()
                   if key.startswith(NETWORK)}
        self._check_shapes(tensors, torch)
        with global_rng.seeded(self.config.seed, modules=self.global_modules):  # PyOD seeds and draws at build
            model = self._unfitted(state)
        self._network(model).load_state_dict(tensors)  # strict: a missing or unexpected tensor is refused
        self.model_ = model

    def _check_shapes(self, tensors: dict[str, Any], torch: Any) -> None:
        """ArtifactError where a saved tensor's shape is not the one the config's network has, found on torch's
        ``meta`` device (shapes only) before the network is built (:func:`had.artifact.check_saved_shapes`, as
        :mod:`had_sdk.torch_detector` checks its own)."""
        with torch.device("meta"), global_rng.seeded(self.config.seed, modules=self.global_modules):
            shapes = {key: tuple(value.shape) for key, value in self._network(self._unfitted({})).state_dict().items()}
        # the same tensors first: a layer added by the edit (hidden=[4, 10**8]) is a key the weights lack, built
        # whole before load_state_dict refused it (a review: 1 GB in 3.8 s for [4, 2*10**7]); BatchNorm's
        # num_batches_tracked, which torch fills in when missing, may be absent
        built = {key for key in shapes if not key.endswith("num_batches_tracked")}
        given = {key for key in tensors if not key.endswith("num_batches_tracked")}
        if built != given:
            odd = sorted(built ^ given)
            raise ArtifactError(
                f"{self.name}: the network its config builds and the saved one differ in their tensors "
                f"({', '.join(NETWORK + key for key in odd[:4])}{' ...' if len(odd) > 4 else ''}): {CONFIG_DISAGREES}")
        check_saved_shapes(self.name, shapes, {key: tuple(value.shape) for key, value in tensors.items()},
                           prefix=NETWORK)

    def _fit_rows(self, rows: np.ndarray, known: np.ndarray | None) -> None:
        from had.validation import all_equal_note, all_rows_equal

        if all_rows_equal(rows):  # was, for pyod-deepsvdd: PyOD's "the hypersphere center is all zeros ... Pass
            # c=None" (a setting had does not offer), called the plugin's fault
            raise InvalidInputError(all_equal_note(rows.shape[0], self.name))
        try:
            super()._fit_rows(rows, known)
        except ValueError as exc:
            if "NaN" not in str(exc) and "infinity" not in str(exc):
                raise
            raise InvalidInputError(f"{self.name}: PyOD's training diverged ({exc}); lower lr (now "
                                    f"{self.config.lr:g}) or scale the data") from None
        # PyOD's Deep SVDD keeps NaN weights without a word: its training scores say so (was: "80 of 80 scores are
        # NaN ... pyod-deepsvdd failed on them", naming neither the training nor lr, for lr=1e308)
        bad = ~np.isfinite(np.asarray(self.model_.decision_scores_, dtype=np.float64))
        if bad.any():
            raise InvalidInputError(f"{self.name}: PyOD's training diverged ({int(bad.sum()):,} of {bad.size:,} "
                                    f"training scores are not finite); lower lr (now {self.config.lr:g}) or scale "
                                    "the data")

    @abstractmethod
    def _scores_module(self, torch: Any) -> Any:
        """A torch module computing the fitted model's scores of float32 rows ``(N, D)`` as ``(N, 1)``, as
        PyOD's ``decision_function`` does (the standardisation in float64, as PyOD's numpy does it), for
        :meth:`export_onnx`."""

    def export_onnx(self) -> bytes:
        """The standardisation, the network and the score, exported by torch.onnx (dynamo; TorchScript where the
        dynamo exporter or its onnxscript is missing) and wrapped in had's contract (:func:`contract_model`), so
        a deployment scores rows or pixels with onnxruntime alone. Possible since the artifact holds the network
        (was: "no verified ONNX export": the network was trained again at each load)."""
        from had.onnx_export import OPSET
        from had.torch_onnx import export_module

        from .export import INPUT, contract_model

        self._require_fitted()
        require("torch", "deep", self.name)
        import torch

        module = self._scores_module(torch).eval()
        example = torch.zeros((8, int(self.input_spec_["n_features"])), dtype=torch.float32)
        names = {"input_names": [INPUT], "output_names": ["scores"], "opset_version": OPSET}
        model, exporter = export_module(module, example, who=self.name, names=names,
                                        dynamic_shapes=({0: torch.export.Dim("n")},),
                                        dynamic_axes={INPUT: {0: "n"}, "scores": {0: "n"}})
        core = np.frombuffer(model.SerializeToString(), dtype=np.uint8).copy()
        return contract_model(self, core, sign=1.0, exporter=exporter)

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        # PyOD's DataLoader draws a seed from torch's global generator at every scoring: the caller's generators
        # are kept as the fit keeps them (was: a user's seeded torch draws changed after decision_function)
        with global_rng.seeded(self.config.seed, modules=self.global_modules):
            return super()._score_rows(rows)


class PyODAutoEncoder(PyODDeepModel):
    """PyOD's fully connected autoencoder; score = reconstruction error (runs on the CPU)."""

    name = "pyod-autoencoder"
    Config = AutoEncoderConfig

    def make_model(self, rows):
        require("torch", "deep", self.name)
        cfg = self.config
        # PyOD's loop drops the short batch: fewer rows than batch_size trained on none, then failed (was refused
        # here, so a cross-validation fold of a small table failed): one batch of every row, said as a fit note
        batch_size = self.lower_param("batch_size", min(cfg.batch_size, rows.shape[0]),
                                      f"{rows.shape[0]} training rows, and PyOD trains on full batches only")
        check_mlp_fits(self.name, [rows.shape[1], *cfg.hidden])
        return self._pyod_model(batch_size)

    def _pyod_model(self, batch_size: int) -> Any:
        from pyod.models.auto_encoder import AutoEncoder

        cfg = self.config
        return AutoEncoder(contamination=cfg.contamination, lr=cfg.lr, epoch_num=cfg.epochs,
                           batch_size=batch_size, hidden_neuron_list=list(cfg.hidden), dropout_rate=cfg.dropout,
                           random_state=cfg.seed, device="cpu", verbose=0)

    def _network(self, model):
        return model.model

    def _fitted_arrays(self, model):
        return {"X_mean": np.asarray(model.X_mean, dtype=np.float64),
                "X_std": np.asarray(model.X_std, dtype=np.float64)}

    def _scores_module(self, torch):
        model = self.model_
        network = model.model

        class Scores(torch.nn.Module):  # PyOD: (x - mean) / (std + 1e-8) in float64, then ||x - AE(x)|| in float32
            def __init__(self):
                super().__init__()
                self.network = network
                mean, std = np.asarray(model.X_mean, dtype=np.float64), np.asarray(model.X_std, dtype=np.float64)
                # a feature constant to float32's resolution (its spread below one float32 step of its mean, which
                # the float32 input cannot show): its mean as float32 holds it, so that it standardises to about 0
                # as in PyOD (was: the input's float32 rounding divided by std + 1e-8: a parity error of 0.19 for a
                # column of 0.1, 4.6e3 for one of 1000.1; a review)
                flat = std <= np.abs(mean) * 2.0**-23
                mean = np.where(flat, mean.astype(np.float32).astype(np.float64), mean)
                self.register_buffer("mean", torch.as_tensor(mean))
                self.register_buffer("std", torch.as_tensor(std + 1e-8))

            def forward(self, rows):
                x = ((rows.double() - self.mean) / self.std).float()
                return torch.sqrt(torch.sum((x - self.network(x)) ** 2, dim=1, keepdim=True))

        return Scores()

    def _unfitted(self, state):
        model = self._pyod_model(self.config.batch_size)  # the fitted config's: the batch size it was trained with
        model.feature_size = int(self.input_spec_["n_features"])
        model.build_model()
        if state:
            model.X_mean = _feature_array(state, "X_mean", model.feature_size)
            model.X_std = _feature_array(state, "X_std", model.feature_size)
        return model


def _feature_array(state: dict[str, np.ndarray], key: str, width: int) -> np.ndarray:
    """``state[key]`` as float64 of shape ``(width,)``, or an ArtifactError: a mean of shape (1,) broadcast over
    every feature and scored silently otherwise (a review)."""
    array = np.asarray(state[key], dtype=np.float64)
    if array.shape != (width,):
        raise ArtifactError(f"the saved array {key} has shape {list(array.shape)} where the model needs [{width}]: "
                            "the weights do not fit the model (edited, or written by another tool); load an "
                            "untouched copy of the model, or fit and save it again")
    return array


def check_mlp_fits(who: str, widths: list[int]) -> None:
    """PyOD's deep models build their own networks: their size bounded from the widths (an encoder and its
    mirror, weights and biases) before PyOD allocates them (:func:`had.memory.check_training_fits`)."""
    check_training_fits(who, 2 * sum((a + 1) * b for a, b in zip(widths, widths[1:])))


#: PyOD DeepSVDD's hidden_neurons when none are given
PYOD_DEEPSVDD_HIDDEN = (64, 32)


class DeepSVDDConfig(PixelSampleConfig):
    epochs: int = Field(100, ge=1, description="training epochs (PyOD default 100)")
    batch_size: int = Field(32, ge=1, description="mini-batch size (above the training rows: one batch of all of "
                                                  "them)")
    lr: float = Field(1e-4, gt=0.0, description="learning rate")
    hidden: list[PositiveInt] | None = Field(None, description=f"layer sizes, two or more: the hidden layers, then "
                                             f"the output (None: PyOD's default {list(PYOD_DEEPSVDD_HIDDEN)}); with "
                                             "use_ae, one at most the number of features")
    use_ae: bool = Field(False, description="PyOD's autoencoder-shaped variant")
    dropout: float = Field(0.2, ge=0.0, lt=1.0, description="dropout rate")
    l2: float = Field(5e-7, ge=0.0, description="L2 regulariser (weight decay; at most float32's largest, 3.4e38, "
                                                "as torch applies it to float32 weights)")

    @field_validator("hidden", mode="before")
    @classmethod
    def _empty_is_the_default(cls, value: Any) -> Any:
        """``[]`` is PyOD's default (its ``hidden_neurons or [64, 32]``), as it always trained: read as None, so a
        model saved with ``hidden=[]`` still loads (a review: refusing it made such artifacts unloadable)."""
        return None if isinstance(value, list) and not value else value

    @field_validator("hidden")
    @classmethod
    def _two_layers(cls, value: list[int] | None) -> list[int] | None:
        """PyOD builds the network from the last two sizes (the output layer maps hidden[-2] to hidden[-1]): one
        size was its IndexError traceback."""
        if value is not None and len(value) < 2:
            raise ValueError(f"{value} has {len(value)} size; PyOD's Deep SVDD needs two or more, the hidden layers "
                             f"then the output (e.g. {list(PYOD_DEEPSVDD_HIDDEN)}), or none for its default")
        return value

    _deepsvdd_lr_not_zero_in_float32 = field_validator("lr")(lambda cls, value: refuse_float32_zero(value))

    @field_validator("l2")
    @classmethod
    def _float32_decay(cls, value: float) -> float:
        """Was torch's "value cannot be converted to type float without overflow" traceback at the first step."""
        if not value <= FLOAT32_MAX:
            raise ValueError(f"{value!r} is beyond float32's largest value ({FLOAT32_MAX:.4g}), and torch applies the "
                             "weight decay to float32 weights; give a small non-negative value (PyOD's default 5e-07)")
        return value


class PyODDeepSVDD(PyODDeepModel):
    """PyOD's Deep SVDD (one-class; no pretraining, biased layers, dropout): the peer of `had`'s ``deepsvdd``."""

    name = "pyod-deepsvdd"
    Config = DeepSVDDConfig

    def make_model(self, rows):
        require("torch", "deep", self.name)
        cfg = self.config
        hidden = list(cfg.hidden or PYOD_DEEPSVDD_HIDDEN)
        if cfg.use_ae and min(hidden) > rows.shape[1]:  # PyOD's rule (was its ValueError traceback, by default)
            raise InvalidInputError(f"{self.name}: use_ae=True needs a layer no wider than the {rows.shape[1]} "
                                    f"features (PyOD's rule), and hidden={hidden} has none; give --set hidden=[...] "
                                    f"with one size at most {rows.shape[1]} (e.g. [{2 * rows.shape[1]}, "
                                    f"{max(1, rows.shape[1] // 2)}]) or use_ae=false")
        check_mlp_fits(self.name, [rows.shape[1], *hidden])
        # a batch above the training rows is one batch of all of them, as PyOD's DataLoader makes it (the same
        # shuffle, the same steps): passed as the rows' count, since torch's sampler took no batch_size beyond
        # sys.maxsize (was: a ValueError traceback from islice for batch_size=10**21)
        return self._pyod_model(rows.shape[1], min(cfg.batch_size, rows.shape[0]))

    def _pyod_model(self, n_features: int, batch_size: int) -> Any:
        from pyod.models.deep_svdd import DeepSVDD

        cfg = self.config
        return DeepSVDD(n_features=n_features, hidden_neurons=cfg.hidden, use_ae=cfg.use_ae, epochs=cfg.epochs,
                        batch_size=batch_size, learning_rate=cfg.lr, dropout_rate=cfg.dropout, l2_regularizer=cfg.l2,
                        random_state=cfg.seed, contamination=cfg.contamination, verbose=0)

    def _network(self, model):
        return model.model_

    def _fitted_arrays(self, model):
        return {"scaler_mean": np.asarray(model.scaler_.mean_, dtype=np.float64),
                "scaler_scale": np.asarray(model.scaler_.scale_, dtype=np.float64),
                "center": model.c_.detach().cpu().numpy()}

    def _scores_module(self, torch):
        model = self.model_
        network = model.model_

        class Scores(torch.nn.Module):  # PyOD: StandardScaler in float64, then ||f(x) - c||^2 in float32
            def __init__(self):
                super().__init__()
                self.network = network
                self.register_buffer("mean", torch.as_tensor(np.asarray(model.scaler_.mean_, dtype=np.float64)))
                self.register_buffer("scale", torch.as_tensor(np.asarray(model.scaler_.scale_, dtype=np.float64)))
                self.register_buffer("center", model.c_.detach().clone().float())

            def forward(self, rows):
                x = ((rows.double() - self.mean) / self.scale).float()
                return torch.sum((self.network(x) - self.center) ** 2, dim=-1, keepdim=True)

        return Scores()

    def _unfitted(self, state):
        """PyOD's DeepSVDD as its ``fit`` leaves it: the inner network as ``fit`` builds it, ``c_``, and the
        ``StandardScaler`` (PyOD standardises by default) rebuilt from its mean and scale, which are all its
        ``transform`` reads."""
        import torch
        from pyod.models.deep_svdd import InnerDeepSVDD
        from sklearn.preprocessing import StandardScaler

        n_features = int(self.input_spec_["n_features"])
        model = self._pyod_model(n_features, self.config.batch_size)
        model.n_features_ = n_features
        model.model_ = InnerDeepSVDD(n_features, use_ae=model.use_ae, hidden_neurons=model.hidden_neurons,
                                     hidden_activation=model.hidden_activation,
                                     output_activation=model.output_activation, dropout_rate=model.dropout_rate,
                                     l2_regularizer=model.l2_regularizer)
        if state:
            mean = _feature_array(state, "scaler_mean", n_features)
            scale = _feature_array(state, "scaler_scale", n_features)
            model.scaler_ = StandardScaler()
            model.scaler_.mean_, model.scaler_.scale_, model.scaler_.var_ = mean, scale, scale ** 2
            model.scaler_.n_features_in_ = mean.shape[0]
            width = n_features if model.use_ae else model.hidden_neurons[-1]
            model.c_ = torch.as_tensor(_feature_array(state, "center", width), dtype=torch.float32)
        return model

