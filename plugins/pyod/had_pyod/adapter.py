"""The adapter from a row-wise shallow model (PyOD's ``fit`` / ``decision_function``) to :class:`had.Detector`.

* Data: rows ``(N, D)``, or a cube ``(H, W, B)`` as pixel rows, scored back into an ``(H, W)`` map. A cube of
  more than ``max_fit_pixels`` pixels (:class:`had.pixel_sample.MaxFitPixelsConfig`, default 200000) is fitted
  on a seeded sample of that many (``fit_sample_``, in the manifest) and every pixel is then scored, tile by
  tile, for the threshold: a flight line is never copied whole to float64 rows, and a model that keeps its
  training rows (kNN, KDE; ECOD its sorted values) keeps the sample's. A cube at or below the limit is fitted whole, as before.
* Scores: the model's ``decision_function`` (PyOD's convention: higher = more anomalous), float64.
* Seeding: ``config.seed`` seeds numpy's global RNG (and torch's, for PyOD's deep models) for every fit, one fit
  at a time, the caller's generators given back afterwards (:mod:`had.global_rng`), and is passed as
  ``random_state`` where the model takes one.
* Artifacts: scikit-learn/PyOD models can only be serialised by pickle, which `had` never loads.
  :class:`FittedStateDetector` models (IForest, OC-SVM, GMM, PCA) keep their fitted arrays instead
  (:mod:`had_pyod.fitted`), score from them and save them, never the training rows, and export to ONNX.
  The others need their training data to score at all (kNN and KDE measure distances or densities to the
  training rows; ECOD ranks against each feature's values, and keeps those sorted, ``had_pyod.ecod``): their
  state is the training rows (and known labels), and loading
  refits the model on them with the same config and seed, which reproduces the scores of these deterministic
  fits. ``artifact_holds`` says which, per model (``had describe`` shows it).
"""

from __future__ import annotations

import sys
from abc import abstractmethod
from typing import Any, Callable, ClassVar

import numpy as np

from had import global_rng, nodata, validation
from had.detector import Detector, as_pixels, like_input
from had.errors import ExportNotSupported, InvalidInputError, PluginError
from had.pixel_sample import fit_sample
from had.tiling import map_tiles

#: the pixel pairs (scored pixels x reference rows, :meth:`SampledFit._references`) from which a sampled fit says
#: what scoring the scene costs: ~5 s of pyod-knn (2e8 pairs/s: 1 M pixels against 20,000 training pixels, 100 s)
NOTE_PAIRS = 1e9

#: the most rows one call into PyOD/scikit-learn scores (:func:`score_by_tiles`), as the torch detectors'
#: ``CPU_ROWS_PER_PASS``: Ctrl-C and SIGTERM's handlers (:mod:`had.signals`) run only between calls, and a 64 MiB
#: tile (~83,000 pixels of 100 bands) was one call, ~100 s of pyod-kde against 5,000 training pixels
ROWS_PER_CALL = 4096
#: the pixel pairs (scored rows x reference rows) one call scores at most, for a model whose cost per row grows
#: with its references (:meth:`SampledFit._references`): ~1 s of pyod-knn (brute-force distances, ~1e8 pairs/s)
PAIRS_PER_CALL = 8e7
#: the fewest rows one call scores however many references there are (a call's own cost is paid per call)
FEWEST_ROWS_PER_CALL = 16

NO_ONNX = ("this model has no verified ONNX export in had (most PyOD models have one: `had describe NAME` says "
           "which); score it with the Python detector")


def require(module: str, extra: str, detector: str) -> None:
    """A PluginError naming the extra of had-plugin-pyod that provides `module`, if it is not installed."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise PluginError(f"{detector} needs {module}, which is not installed; pip install 'had-plugin-pyod[{extra}]' "
                          "(install the CPU build of torch first: see docs/user-guide.md)")


def sampled_for_fit(detector: Detector, X: Any, known: np.ndarray | None
                    ) -> tuple[Any, np.ndarray | None, dict[str, Any] | None]:
    """``(X, known, None)``, or for a cube above the detector's ``max_fit_pixels`` its seeded pixel sample, the
    sample's known labels and the sample's record (:func:`had.pixel_sample.fit_sample`). With the config's
    ``nodata``, a cube's fill pixels, or the rows ``(N, B)`` holding it in every column, are left out (the record
    says how many), as the torch detectors do (was: rows with fill were fitted, and scored as data); sets
    ``fill_pixels_`` and ``partial_fill_`` for ``had fit``'s note, and ``_scene_pass_pending``
    (:meth:`SampledFit._scene_progress`)."""
    cube = np.ndim(X) == 3
    fill = nodata.fill_value_of(detector) if cube or np.ndim(X) == 2 else None
    partial = nodata.PartialFill()
    X, known, record = fit_sample(X, known, getattr(detector.config, "max_fit_pixels", None), detector.config.seed,
                                  fill, partial, keep_labelled=detector.uses_labels)
    detector.fill_pixels_ = (record or {}).get("fill_pixels", 0)
    detector._scene_pass_pending = cube and record is not None  # a cube's sample: every pixel of it is scored next
    detector.partial_fill_ = partial.record()
    return X, known, record


def score_by_tiles(score_rows: Callable[[np.ndarray], np.ndarray], X: Any, fill: float | None = None,
                   progress: str | None = None, rows_per_call: int | None = ROWS_PER_CALL) -> np.ndarray:
    """``score_rows`` of `X`'s rows, or of a cube's pixels row tile by row tile (a memory-mapped or lazily read
    file is never read whole; a scene under one tile is one call, as before), as float64 like `X`; a cube's
    pixels holding `fill` in every band (the config's ``nodata``), or rows holding it in every column, score
    NaN: the model sees them as zeros (:func:`had.nodata.unfilled`; a NaN fill reached scikit-learn as "Input
    contains NaN").

    Each call of ``score_rows`` gets at most `rows_per_call` rows (None: a tile, or the rows, at once: a model
    whose scores depend on the rows scored together), so that a Ctrl-C or SIGTERM is acted on between calls
    (:func:`scored_in_chunks`); the scores are the same.

    `progress` (a cube): a tqdm bar on stderr with that label counts the pixels scored, shown only on a terminal
    as the torch detectors' training bar is (:mod:`had_sdk.training`); the scores are the same."""
    if np.ndim(X) == 3:
        bar = None
        if progress is not None:
            from tqdm.auto import tqdm

            bar = tqdm(total=int(X.shape[0]) * int(X.shape[1]), desc=progress, unit="px", unit_scale=True,
                       leave=False, file=sys.stderr, disable=None)

        def score_block(block: np.ndarray) -> np.ndarray:
            seen, is_fill = nodata.unfilled(block, fill)
            scores = scored_in_chunks(score_rows, as_pixels(seen), rows_per_call,
                                      None if bar is None else bar.update)
            return nodata.masked(scores.reshape(block.shape[:2]), block, fill, fill=is_fill)

        try:
            return map_tiles(score_block, X)
        finally:
            if bar is not None:
                bar.close()
    if fill is not None and np.ndim(X) == 2:  # rows holding `fill` in every column: NaN, as a cube's pixels
        # (images are left as they are: their fit leaves none out, nor does their ONNX graph; review)
        rows = np.asarray(X)
        seen, is_fill = nodata.unfilled(rows, fill)
        return like_input(nodata.masked(scored_in_chunks(score_rows, seen, rows_per_call), rows, fill,
                                        fill=is_fill), X)
    return like_input(scored_in_chunks(score_rows, X, rows_per_call), X)


def scored_in_chunks(score_rows: Callable[[np.ndarray], np.ndarray], rows: Any, rows_per_call: int | None,
                     done: Callable[[int], Any] | None = None) -> np.ndarray:
    """``score_rows`` of `rows` ``(N, D)`` as float64 ``(N,)``, at most `rows_per_call` rows a call (None: one
    call), `done` told each call's row count (a progress bar's ``update``).

    Why: Python runs a signal's handler only between its own steps, and a call into PyOD/scikit-learn is one:
    ``had fit pyod-kde`` on a flight line scored a 64 MiB tile (~83,000 pixels) in one C call, ~100 s against
    5,000 training pixels, and Ctrl-C or SIGTERM (:mod:`had.signals`, whose second signal ends it at once) waited
    for minutes (probe of 7 December 2026). Was: a tile, or all the rows, a call."""
    n = int(np.shape(rows)[0])
    step = n if rows_per_call is None or n <= rows_per_call else rows_per_call
    parts = []
    for start in range(0, max(n, 1), max(step, 1)):  # no rows: one call, as the model scores them
        parts.append(np.asarray(score_rows(rows[start:start + step]), dtype=np.float64).reshape(-1))
        if done is not None:
            done(min(step, n - start))
    return np.concatenate(parts)  # (a wrong count from the plugin stays wrong: the caller says it)


class SampledFit(Detector):
    """What a detector that fits a cube's pixel sample shares (:func:`sampled_for_fit`): it reads a lazily read
    cube tile by tile, keeps what was sampled (``fit_sample_``) in the manifest's ``state_meta``, and says what
    scoring the whole scene for the threshold after a sampled fit costs (:meth:`_scene_progress`)."""

    #: True from a sampled fit's draw (:func:`sampled_for_fit`) to the end of its pass over every pixel of the
    #: scene for the threshold (:meth:`_scene_progress`), so that scoring later shows nothing. A flag rather than
    #: an override of ``fit``: a frame more there moves the warnings that ``fit`` aims at its caller
    _scene_pass_pending: bool = False

    def _references(self) -> tuple[int, str] | None:
        """``(n, what)``: the rows each scored pixel is compared with, where that count grows with the training
        sample (kNN's and KDE's training rows, a kernel model's support vectors); None where scoring a pixel
        costs the same whatever the sample (trees, a mixture, PCA)."""
        return None

    def _scene_progress(self, X: Any) -> str | None:
        """The progress label for :func:`score_by_tiles` while :meth:`fit` scores every pixel of a cube it fitted
        on a sample (``fit_sample_``), else None (quiet). For a model whose cost per pixel grows with the sample
        (:meth:`_references`) it first writes one ``note:`` line on stderr, on a terminal or not, saying how many
        pixel pairs that is (from :data:`NOTE_PAIRS` on) and how to make it fewer.

        Why: ``had fit pyod-iforest`` on a 2048x2048x64 line printed nothing for ~190 s (every pixel scored for
        the threshold), ``pyod-kde``/``hybrid-kde`` with 20,000 training pixels on 1024x1024 for 150 s and more,
        and ``pyod-knn`` on 1 M pixels took 100 s at fit with 20,000, ~40x that with the default 200,000 on a
        4 M-pixel line (an hour), with nothing said. Was: silence until the fit's line."""
        if not (self._scene_pass_pending and np.ndim(X) == 3):
            return None
        self._scene_pass_pending = False  # said once: a pass that fails is not shown again at a later scoring
        # the pixels it scores: the no-data ones (the config's nodata) score NaN unscored (was: "scores each of
        # the 720,000 pixels" of a flight line whose 61,950 fill pixels it never compared; probe of 7 December 2026)
        fill = int(getattr(self, "fill_pixels_", 0) or 0)
        pixels = int(X.shape[0]) * int(X.shape[1]) - fill
        if (references := self._references()) is not None and float(pixels) * references[0] >= NOTE_PAIRS:
            n, what = references
            limit = getattr(self.config, "max_fit_pixels", None)
            print(f"note: {self.name} scores each of the {pixels:,} pixels{' with data' if fill else ''} against its "
                  f"{n:,} {what}: about {float(pixels) * n:.2g} pixel pairs; lower --set max_fit_pixels=N (now "
                  f"{limit:,}) to go faster", file=sys.stderr, flush=True)
        return f"{self.name}: scoring every pixel for the threshold"

    def lower_param(self, name: str, used: Any, why: str) -> Any:
        """`used`, the value of config field `name` lowered to fit the data: said in ``fit_notes_`` (``had fit``
        prints them) and filled into the fitted config (:meth:`had.Detector._fill_params`), so that the config,
        ``fitted_params_`` and an artifact say what was trained, while ``get_params()`` keeps the given value
        (scikit-learn's rule) and the next fit decides again. Was: lowered silently (pyod-knn ``n_neighbors=20``
        on 12 rows used 11, and said 20 everywhere)."""
        given = getattr(self.config, name)
        if used != given:
            self.add_fit_note(f"{name}={given!r} was lowered to {used!r} for this fit: {why}")
            self._fill_params(**{name: used})
        return used

    def reads_views(self) -> bool:
        """A cube (a file's kept bands, lazily read) is sampled for the fit and scored tile by tile."""
        return True

    def _get_meta(self) -> dict[str, Any]:
        sample = getattr(self, "fit_sample_", None)
        meta = {"fit_sample": sample} if sample else {}  # with fill pixels, the sample's record counts them
        if getattr(self, "partial_fill_", None):
            meta["partial_fill"] = self.partial_fill_
        return meta

    def _set_meta(self, meta: dict[str, Any]) -> None:
        self.fit_sample_ = meta.get("fit_sample")
        self.fill_pixels_ = (self.fit_sample_ or {}).get("fill_pixels", 0)
        self.partial_fill_ = meta.get("partial_fill")


HOLDS_ROWS = "the training rows: the method scores against them, so loading refits on them"


def refitted_from_rows(detector: "RowModelDetector", state: dict[str, np.ndarray]) -> bool:
    """Whether `state` is a model saved before it held its fitted arrays (before 1 December 2026, c59298f: the
    training rows alone, ``train_rows``, refitted on at each load): then it is refitted on them, seeded, as it was
    (was: "KeyError: 'mean'", and the like, the model unloadable: pyod-pca, -ocsvm, -iforest, ssad, the hybrids)."""
    if "train_rows" not in state or len(state.keys() - {"train_rows", "train_known"}):
        return False
    RowModelDetector._set_state(detector, state)
    return True


class RowModelDetector(SampledFit):
    """Base of the row-wise adapters: subclasses write :meth:`_fit_rows` and :meth:`_score_rows`."""

    kinds = ("tabular", "cube")
    onnx_unsupported = NO_ONNX
    #: the fewest training rows the model accepts
    min_rows: int = 2
    #: what a saved artifact holds besides the config and training scores (for `had describe` and the README)
    artifact_holds: ClassVar[str] = HOLDS_ROWS
    #: modules whose global generators the model draws from, imported before the fit seeds them, so that their
    #: state is given back even on the fit that first imports them (:func:`had.global_rng.seeded`)
    global_modules: ClassVar[tuple[str, ...]] = ()
    #: what the model does to the values as they are, and the scale (a power of two) beyond which it cannot:
    #: data outside ``2**+-value_exponent`` is refused before the fit (:func:`had.validation.check_value_range`)
    value_exponent: ClassVar[int] = validation.SQUARABLE_EXPONENT
    value_use: ClassVar[str] = "computes squares of the values (distances, moments)"
    #: the pixel pairs one scoring call compares at most (:meth:`_rows_per_call`), by the model's speed per pair
    pairs_per_call: ClassVar[float] = PAIRS_PER_CALL

    @abstractmethod
    def _fit_rows(self, rows: np.ndarray, known: np.ndarray | None) -> None:
        """Fit on float64 rows (and known labels for semi-supervised models)."""

    def check_fit_memory(self, n_rows: int) -> None:
        """Refuse, before any work, a fit on `n_rows` training rows that the config makes too large for the memory
        available now (a MemoryError from :mod:`had.memory` naming the field to lower), or a config that cannot
        fit that many rows (an InvalidInputError naming the field); nothing by default. :meth:`_fit` calls it,
        and a hybrid (:mod:`had_pyod.hybrid`) before it pretrains its autoencoder for the inner model."""

    @abstractmethod
    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        """Scores (n,) of float64 rows, higher = more anomalous."""

    def _fit(self, X: np.ndarray, known: np.ndarray | None) -> None:
        self._restore_given()  # the values as given: what the last fit lowered is decided again
        X, known, self.fit_sample_ = sampled_for_fit(self, X, known)
        rows = np.ascontiguousarray(as_pixels(X), dtype=np.float64)
        if np.may_share_memory(rows, X):  # the caller's float64 rows: kept by the model (its training rows, kNN's
            rows = rows.copy()  # neighbours), an edit of the array after the fit changed the scores and the artifact
        self._check_rows(rows)
        known = None if known is None else np.array(known, dtype=np.int8).reshape(-1)
        if self.artifact_holds == HOLDS_ROWS:
            self.train_rows_, self.train_known_ = rows, known
        with global_rng.seeded(self.config.seed, modules=self.global_modules):  # PyOD's deep models draw from numpy's and torch's global RNGs
            self._fit_rows(rows, known)
        return None

    def _check_rows(self, rows: np.ndarray) -> None:
        """What a fit on `rows` checks before any work (enough rows, values within range, the memory the config
        needs for them): at a fit, and at a load that refits on the saved rows (was, at a load: none, so a crafted
        artifact of an older form's rows refitted ssad on 100,000 rows, a dense QP of ~480 GB: killed, not refused;
        a review)."""
        if rows.shape[0] < self.min_rows:
            raise InvalidInputError(f"{self.name} needs at least {self.min_rows} training rows, got {rows.shape[0]} sample"
                                    f"{'' if rows.shape[0] == 1 else 's'}")
        validation.check_value_range(rows, self.name, self.value_exponent, self.value_use)
        self.check_fit_memory(rows.shape[0])

    def _score(self, X: np.ndarray) -> np.ndarray:
        return score_by_tiles(self._checked_scores, X, nodata.fill_value_of(self), self._scene_progress(X),
                              self._rows_per_call())

    def _rows_per_call(self) -> int | None:
        """The most rows one call of :meth:`_score_rows` scores (:func:`scored_in_chunks`): :data:`ROWS_PER_CALL`,
        fewer for a model that compares each row with many references (:meth:`_references`: :attr:`pairs_per_call`
        pairs a call, at least :data:`FEWEST_ROWS_PER_CALL` rows); None where a row's score depends on the rows
        scored with it (one call a tile, as before)."""
        references = self._references()
        if references is None:
            return ROWS_PER_CALL
        return int(min(ROWS_PER_CALL, max(FEWEST_ROWS_PER_CALL, self.pairs_per_call // max(references[0], 1))))

    def _checked_scores(self, rows: np.ndarray) -> np.ndarray:
        """:meth:`_score_rows` of float64 rows within the model's range (data beyond it scored NaN or failed
        inside PyOD: one typed line instead)."""
        rows = np.ascontiguousarray(rows, dtype=np.float64)
        validation.check_value_range(rows, self.name, self.value_exponent, self.value_use)
        return self._score_rows(rows)

    def _get_state(self) -> dict[str, np.ndarray]:
        state = {"train_rows": self.train_rows_}
        if self.train_known_ is not None:
            state["train_known"] = self.train_known_
        return state

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.train_rows_ = np.asarray(state["train_rows"], dtype=np.float64)
        known = state.get("train_known")
        self.train_known_ = None if known is None else np.asarray(known, dtype=np.int8)
        self._check_rows(self.train_rows_)  # the fit's checks: a load refits on the rows
        with global_rng.seeded(self.config.seed, modules=self.global_modules):
            self._fit_rows(self.train_rows_, self.train_known_)


class PyODDetector(RowModelDetector):
    """A PyOD model: subclasses write :meth:`make_model` from the validated config and the training rows."""

    @abstractmethod
    def make_model(self, rows: np.ndarray) -> Any:
        """An unfitted PyOD model configured from ``self.config`` (rows given for data-driven defaults)."""

    def _fit_rows(self, rows: np.ndarray, known: np.ndarray | None) -> None:
        self.model_ = self.make_model(rows)
        self.model_.fit(rows)

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        return self.model_.decision_function(rows)


class FittedStateDetector(PyODDetector):
    """A PyOD model scored from its fitted arrays (:mod:`had_pyod.fitted`), which are all an artifact holds.

    Subclasses write :meth:`fitted_state` (the arrays of the fitted PyOD model) and :meth:`score_state`, and
    :meth:`onnx_core` where :meth:`export_onnx` uses skl2onnx's graph of the scikit-learn model. That graph is
    built on first need (an export, a save: the artifact holds it as ``onnx_core``), not by the fit: converting
    a 100-tree forest takes about 2 s, 99 % of pyod-iforest's fit on 700 rows, which every ``had bench`` cell
    paid and counted as fit time. A graph built from the fitted arrays alone (:meth:`state_core`) is built at
    export for a loaded model whose artifact holds none (:meth:`export_core`).
    """

    onnx_unsupported = None
    artifact_holds = "the fitted model's arrays, not the training rows"
    #: the configurations that have no graph (said by ExportNotSupported); empty where every fitted model has one
    onnx_limit: ClassVar[str] = ""

    @abstractmethod
    def fitted_state(self, model: Any) -> dict[str, np.ndarray]:
        """The arrays the scores depend on, from the fitted PyOD `model`."""

    @abstractmethod
    def score_state(self, rows: np.ndarray) -> np.ndarray:
        """Scores of float64 rows from ``self.state_``."""

    def onnx_core(self, model: Any) -> np.ndarray | None:
        """skl2onnx's graph of the fitted PyOD `model` (its bytes as uint8), or None where this configuration has
        none (:attr:`onnx_limit`)."""
        return None

    def state_core(self, n_features: int) -> np.ndarray | None:
        """The core graph (as :meth:`onnx_core`'s) built from ``state_``'s arrays alone, for rows of `n_features`
        columns, or None where the arrays cannot give one (skl2onnx converts the scikit-learn object, which a
        loaded model no longer has). :meth:`export_core` builds it for a loaded model whose artifact holds no
        graph."""
        return None

    def export_core(self, n_features: int | None = None) -> np.ndarray | None:
        """The core graph an export wraps: the state's ``onnx_core`` (built from the fitted model on first need,
        or as the artifact holds it), else :meth:`state_core` of the arrays for `n_features` columns (by default
        the input spec's; a hybrid passes its codes' width, as its inner model's spec is not saved), kept in
        ``state_`` so that a later save holds it; None where neither gives one.

        Why: pyod-iforest's graph was skl2onnx's, which refused forests of feature subsets (``max_features < 1``),
        and a model saved with one before 6 December 2026 holds no graph: its export was refused ("refit it to
        export") although its arrays, which the graph is now built from, were saved."""
        state = self._state_with_core()
        if "onnx_core" not in state:
            width = int(self.input_spec_["n_features"] if n_features is None else n_features)
            core = self.state_core(width)
            if core is not None:
                state["onnx_core"] = core
        return state.get("onnx_core")

    def _fit_rows(self, rows: np.ndarray, known: np.ndarray | None) -> None:
        super()._fit_rows(rows, known)
        self.state_ = self.fitted_state(self.model_)

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        return self.score_state(rows)

    def _state_with_core(self) -> dict[str, np.ndarray]:
        """``state_`` with ``onnx_core`` converted from the fitted model if this fit has not yet (a loaded
        artifact holds it already; a model without one stays without)."""
        if "onnx_core" not in self.state_ and getattr(self, "model_", None) is not None:
            core = self.onnx_core(self.model_)
            if core is not None:
                self.state_["onnx_core"] = core
        return self.state_

    def _get_state(self) -> dict[str, np.ndarray]:
        return dict(self._state_with_core())

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        if refitted_from_rows(self, state):
            return
        self.state_ = {k: np.asarray(v) for k, v in state.items()}

    def export_onnx(self) -> bytes:
        """skl2onnx's graph of the fitted model in had's contract (:mod:`had_pyod.export`), scores negated."""
        from .export import contract_model

        self._require_fitted()
        core = self.export_core()
        if core is None:
            why = f" ({self.onnx_limit})" if self.onnx_limit else (
                ": its artifact holds none (onnx_core) and its arrays cannot give one")
            raise ExportNotSupported(f"{self.name}: this model has no ONNX graph{why}; refit it to export")
        return contract_model(self, core, sign=-1.0)
