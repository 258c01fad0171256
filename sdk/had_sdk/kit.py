"""The conformance checks, as plain functions that raise AssertionError (or the error they expected not to see).

:mod:`had_sdk.kit_plan` yields them for one detector (the class suite and the fixture of :mod:`had_sdk.testing`
both run that one list); they can also be called from any test or script. Checks that fit take a detector
*factory* (``lambda: had.get_detector(name, config)``) so each starts from a fresh instance. A check that cannot
run here (onnxruntime missing, a planted kind the detector declares it cannot see) raises :class:`NotChecked`,
which the pytest plugin reports in its summary instead of passing it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import math
import random
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np

import had
from had import validation
from had.capabilities import capabilities_of
from had.detector import MAX_SEED, Detector, DetectorConfig
from had.errors import (BandMismatchError, ConfigError, ExportNotSupported, InvalidInputError, NotFittedError,
                        PluginError)

Factory = Callable[[], Detector]
KINDS = ("tabular", "cube", "image")
#: the AUROC planted anomalies must reach. A constant score gets 0.5, an inverted one 1 - AUROC, a random one
#: 0.5 with a standard deviation of 0.086 on 240 rows or pixels (12 anomalies) and 0.11 on 48 images (8):
#: 0.9 is 4.6 and 3.5 of those away
DETECTION_FLOOR = 0.9


class NotChecked(Exception):
    """A check that could not run here; the message says why. Reported, never counted as a pass."""


def onnx_runtime_missing() -> str | None:
    """Why the ONNX check cannot run here (onnx or onnxruntime not importable), or None."""
    missing = [m for m in ("onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
    return f"{' and '.join(missing)} not installed (pip install 'had[onnx]')" if missing else None


def make_data(kind: str, n_features: int = 6, seed: int = 0, image_shape: tuple[int, int] = (8, 8),
              unit_range: bool = False):
    """Small seeded data with obvious planted anomalies: ``(X, y)`` for rows (240 x D, the last 12 anomalous), a
    16 x 15 cube (12 anomalous pixels), or 48 images ``(C=n_features, *image_shape)`` (the last 8 brighter by 3);
    y is 0/1 per sample (an (H, W) map for the cube). Anomalous rows and pixels are moved 6 standard deviations
    per feature away from the normals, each in its own random direction: scattered, so that a detector fitted on
    them (a cube, a transductive method) cannot take them for a cluster of normals. `unit_range`: X shifted and
    scaled as a whole into [0, 1], for a detector whose inputs must lie there (images as pixels / 255)."""
    rng = np.random.default_rng(seed)

    def scatter(n: int) -> np.ndarray:
        directions = rng.normal(size=(n, n_features))
        return 6.0 * math.sqrt(n_features) * directions / np.linalg.norm(directions, axis=1, keepdims=True)

    if kind == "tabular":
        X = rng.normal(size=(240, n_features))
        y = np.zeros(240, dtype=np.int8)
        y[-12:] = 1
        X[-12:] += scatter(12)
    elif kind == "cube":
        X = rng.normal(size=(16, 15, n_features))
        y = np.zeros((16, 15), dtype=np.int8)
        y.flat[rng.choice(y.size, 12, replace=False)] = 1
        X[y == 1] += scatter(12)
    elif kind == "image":
        X = rng.normal(size=(48, n_features, *image_shape))
        y = np.zeros(48, dtype=np.int8)
        y[-8:] = 1
        X[-8:] += 3.0
    else:
        raise ValueError(f"unknown kind {kind!r}; use one of {KINDS}")
    if unit_range:
        X = (X - X.min()) / (X.max() - X.min())
    return X, y


def n_scores_shape(X: np.ndarray) -> tuple[int, ...]:
    return X.shape[:2] if X.ndim == 3 else (X.shape[0],)


# ---- checks ----------------------------------------------------------------------------------------------
def check_metadata(cls: type[Detector]) -> None:
    """Class metadata a registry and `had describe` rely on."""
    assert issubclass(cls, Detector), f"{cls} is not a had.Detector"
    assert issubclass(cls.Config, DetectorConfig), f"{cls.__name__}.Config must subclass had.DetectorConfig"
    assert cls.kinds and set(cls.kinds) <= set(KINDS), f"{cls.__name__}.kinds {cls.kinds} not within {KINDS}"
    assert cls.onnx_unsupported is None or (isinstance(cls.onnx_unsupported, str) and cls.onnx_unsupported)
    assert isinstance(cls.uses_labels, bool) and isinstance(cls.transductive, bool)
    blind = blind_kinds(cls)
    assert isinstance(blind, dict) and set(blind) <= set(cls.kinds), \
        f"{cls.__name__}.capabilities.blind_to_planted must map kinds it accepts to a reason, got {blind!r}"
    assert all(isinstance(r, str) and r.strip() for r in blind.values()), "blind_to_planted: give each kind a reason"


def blind_kinds(cls: type[Detector]) -> dict[str, str]:
    """``{kind: reason}``: planted kinds the method cannot see by design (its capability ``blind_to_planted``)."""
    return dict(capabilities_of(cls).blind_to_planted)


def check_config(name: str, config: dict[str, Any]) -> None:
    """Valid config accepted (the largest seed too); unknown fields and out-of-range values rejected with
    ConfigError (a seed beyond 32 bits: numpy's RandomState and scikit-learn cannot take it). A name whose
    registration by some plugin was refused (another plugin has it) fails here: the suite would test the other
    plugin's detector (a plugin registering "rx" had its kit run on the core's RX)."""
    from had import plugins

    refused = plugins.refused_registrations("detector", name)
    errors = plugins.load_errors()
    why = "; ".join(f"{plugin}: {errors.get(plugin, 'another plugin kept the name')}" for plugin in refused)
    assert not refused, f"the registration of {name!r} was refused ({why}); rename the detector"
    _check_defaults(name)
    had.get_detector(name, config)
    had.get_detector(name, {**config, "seed": MAX_SEED})
    for bad in ({"__no_such_field__": 1}, {"contamination": 2.0}, {"seed": -1}, {"seed": MAX_SEED + 1}):
        try:
            had.get_detector(name, {**config, **bad})
        except ConfigError:
            continue
        raise AssertionError(f"{name}: config {bad} was accepted; expected ConfigError")


def _check_defaults(name: str) -> None:
    """The detector is built with no config at all, as ``had.get_detector(name)``, ``had fit NAME`` and ``had
    bench`` build it: a config field without a default (that the registration does not preset) fails, even when
    the suite's own config supplies it (was: passed the kit, while every command line without ``--set`` failed)."""
    from had import plugins

    entry = plugins.entry("detector", name)
    fields = entry.load().Config.model_fields
    missing = [f for f, info in fields.items() if info.is_required() and f not in entry.defaults]
    assert not missing, (
        f"{name}: config field {missing[0]!r} has no default{f' (nor {missing[1:]})' if missing[1:] else ''}, so "
        f"had.get_detector({name!r}) and `had fit {name} ...` fail without it; give it a default "
        f"(`{missing[0]}: ... = Field(DEFAULT, ...)`) or preset it in the registration (register({name!r}, ..., "
        f"{missing[0]}=...))")
    try:
        had.get_detector(name)
    except ConfigError as exc:
        raise AssertionError(f"{name}: the default config is refused, so had.get_detector({name!r}) and `had fit "
                             f"{name} ...` fail without settings: {exc}; make the defaults valid together") from None


# ---- what fit and scoring must leave alone: the process's generators, the fitted state, the caller's data --
def _generator_states() -> dict[str, Any]:
    """Comparable snapshots of the process's global random generators: numpy's legacy one (``np.random.seed``,
    ``np.random.rand``), Python's ``random``, and torch's CPU generator where torch is imported."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    states: dict[str, Any] = {"numpy's (np.random)": (kind, keys.tobytes(), pos, has_gauss, cached),
                              "Python's random": random.getstate()}
    torch = sys.modules.get("torch")
    if torch is not None:
        states["torch's CPU generator (torch.manual_seed, torch.rand*)"] = torch.random.get_rng_state().numpy().tobytes()
    return states


#: the kit seeds the global generators with this before a call it watches (then gives the caller's state back), so
#: that a call reseeding them with a common seed (0, 42, the config's) is seen whatever state they were in
_SENTINEL_SEED = 2_718_281_828


@contextlib.contextmanager
def _generators_kept(name: str, call: str):
    """AssertionError naming `call` when it leaves a global random generator in another state: the user's own
    seeded draws after it then depend on whether (and how often) the detector ran (a scoring that reseeded
    torch and numpy with 0 passed every check). The generators are seeded with :data:`_SENTINEL_SEED` for the
    call and hold the caller's states again afterwards."""
    torch = sys.modules.get("torch")
    saved = (np.random.get_state(), random.getstate(), torch.random.get_rng_state() if torch is not None else None)
    np.random.seed(_SENTINEL_SEED)
    random.seed(_SENTINEL_SEED)
    if torch is not None:
        torch.default_generator.manual_seed(_SENTINEL_SEED)
    try:
        before = _generator_states()
        yield
        after = _generator_states()
    finally:
        np.random.set_state(saved[0])
        random.setstate(saved[1])
        if torch is not None:
            torch.random.set_rng_state(saved[2])
    changed = [which for which, state in before.items() if after.get(which) != state]
    assert not changed, (
        f"{name}'s {call} changed the process's global random generator{'s' if len(changed) > 1 else ''} "
        f"({', '.join(changed)}): a caller's own seeded draws then depend on whether {name} ran. Draw from a "
        "generator of your own (np.random.default_rng(seed), torch.Generator().manual_seed(seed)), never reseed "
        "the global ones; a fit that must use them runs inside had.global_rng.seeded(seed), which gives them back "
        "(TorchDetector's fit does)" + (", and scoring draws nothing" if call != "fit" else
                                          "; fit also scores the training data (score_batch, _score) after training"))


_OPAQUE = "object"


def _fingerprint(value: Any, depth: int = 0) -> Any:
    """A comparable summary of a fitted attribute's value: scalars as they are, arrays and tensors by dtype, shape
    and a digest of their bytes, a torch module by its ``state_dict``, a config by its values, containers item by
    item; any other object by its identity (replacing it is seen, a change inside it is not)."""
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes, np.generic)):
        return ("scalar", type(value).__name__, repr(value))
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value)
        digest = hashlib.blake2b(data.view(np.uint8).reshape(-1) if data.dtype != object else repr(data).encode(),
                                 digest_size=16).hexdigest()
        return ("array", data.dtype.str, data.shape, digest)
    torch = sys.modules.get("torch")
    if torch is not None:
        if isinstance(value, torch.Tensor):
            t = value.detach().cpu()
            return ("tensor", str(t.dtype), tuple(t.shape), _fingerprint(t.to(torch.float64).numpy())[3])
        if isinstance(value, torch.nn.Module):
            return ("module", id(value), {k: _fingerprint(v) for k, v in value.state_dict().items()})
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return ("config", repr(value.model_dump()))
    if depth < 3 and isinstance(value, (list, tuple)) and len(value) <= 1000:
        return (type(value).__name__, [_fingerprint(v, depth + 1) for v in value])
    if depth < 3 and isinstance(value, dict) and len(value) <= 1000:
        return ("dict", {repr(k): _fingerprint(v, depth + 1) for k, v in value.items()})
    return (_OPAQUE, type(value).__name__, id(value))


def fitted_state(det: Detector) -> dict[str, Any]:
    """:func:`_fingerprint` of each public instance attribute of `det` (``threshold_``, ``decision_scores_``,
    ``labels_``, ``config``, a network's ``model_``...; scikit-learn's ``check_dict_unchanged``). Attributes named
    with a leading underscore are a detector's private caches and are left out."""
    return {key: _fingerprint(value) for key, value in vars(det).items() if not key.startswith("_")}


def _what_changed(before: Any, after: Any) -> str:
    if before[0] == "module" and after[0] == "module" and before[1] == after[1]:
        keys = [k for k in before[2] if after[2].get(k) != before[2][k]] + sorted(set(after[2]) - set(before[2]))
        return f"its tensors {keys[:3]} changed"
    if before[0] == _OPAQUE:
        return "replaced by another object"
    if before[0] in ("array", "tensor") and after[0] == before[0] and after[1:3] != before[1:3]:
        return f"{before[0]} {before[1]} {before[2]} became {after[1]} {after[2]}"
    if before[0] == "scalar" and after[0] == "scalar":
        return f"{before[2]} became {after[2]}"
    return "its values changed"


def check_state_kept(det: Detector, before: dict[str, Any], call: str) -> None:
    """AssertionError naming the attribute when `call` (decision_function, predict) changed the fitted state
    recorded in `before` (:func:`fitted_state`): scores of a batch written over ``decision_scores_``, a threshold
    moved to the batch's quantile (predict on the same rows then gave other labels after scoring other data)."""
    name = det.name or type(det).__name__
    after = fitted_state(det)
    for key, value in before.items():
        if key not in after:
            raise AssertionError(f"{name}'s {call} deleted its fitted attribute {key!r}: scoring must leave the fitted "
                                 "detector as fit left it")
        if after[key] != value:
            hint = (" (the threshold is fixed at fit; set_threshold and set_contamination move it on the training "
                    "scores)" if key in ("threshold_", "labels_") else
                    " (the training scores are fit's; scores of a batch are returned, not stored)"
                    if key == "decision_scores_" else "")
            raise AssertionError(
                f"{name}'s {call} changed its fitted attribute {key!r} ({_what_changed(value, after[key])}): scoring "
                f"must leave the fitted detector as fit left it{hint}; keep what a call computes in local variables "
                "(a private cache may be named with a leading underscore)")


def _wrote_readonly(name: str, exc: BaseException | None) -> AssertionError | None:
    """The kit's explanation of numpy's "output array is read-only" / "assignment destination is read-only" raised
    inside a detector given the kit's read-only data (was: that bare ValueError), also where the core's PluginError
    carries it as its cause (the core wraps what a plugin's ``_fit`` and ``_score`` raise)."""
    while exc is not None and not (isinstance(exc, ValueError) and "read-only" in str(exc)):
        exc = exc.__cause__
    if exc is None:
        return None
    return AssertionError(
        f"{name}: fit or scoring wrote into the caller's data (numpy raised {type(exc).__name__}: {exc}, since the "
        "kit hands the data over read-only, as a memory-mapped file is): a detector never writes into the user's "
        "array; work on a copy (np.array(X, dtype=..., copy=True)) or write the result into a new array")


@contextlib.contextmanager
def _core_refusals(name: str = ""):
    """The core's own checks of a detector's scores (their number, NaN outside the data's fill:
    :meth:`had.Detector._scores_of`, :func:`had.nodata.check_nan_scores`), refusing the kit's valid data, as the
    kit's failures (AssertionError with the core's message; a write into the read-only data explained, as
    :func:`_wrote_readonly` says it)."""
    try:
        yield
    except (PluginError, InvalidInputError) as exc:
        raise (name and _wrote_readonly(name, exc)) or AssertionError(f"scores: {exc}") from None


def check_fit_score(make: Factory, X: np.ndarray) -> Detector:
    """fit returns self; training scores, threshold, scores and labels have the right shape, dtype, values.

    When ``_fit`` returns the training scores, scoring the training data must reproduce them (unless the detector
    declares ``held_out_training_scores``: kNN scores each training row against the others). When it returns
    none, the base computed ``decision_scores_`` with ``_score`` itself, so that comparison would test nothing:
    :func:`check_per_sample` is the check that scoring does not depend on the batch.

    The data is handed over read-only (as a memory-mapped file is) and must come back unchanged: a detector
    never writes into the user's array, through numpy (which raises on a read-only array) or through a tensor
    sharing its memory (which does not); a second fit, given a writeable copy, must leave that unchanged too
    (:func:`_check_input_kept`)."""
    original = np.asarray(X)
    given = np.array(X, copy=True)
    given.setflags(write=False)
    X = given
    det = make()
    returned: list[np.ndarray | None] = []
    fit_impl = det._fit

    def recording_fit(X_, y_):
        out = fit_impl(X_, y_)
        returned.append(None if out is None else np.array(out, dtype=np.float64, copy=True).reshape(-1))
        return out

    det._fit = recording_fit  # an instance attribute shadows the method for this one fit
    name = det.name or type(det).__name__
    try:
        try:
            with _core_refusals(name), _generators_kept(name, "fit"):
                assert det.fit(X) is det, "fit must return self"
        finally:
            del det._fit
        n = validation.n_samples(X)
        assert det.decision_scores_.shape == (n,), f"decision_scores_ {det.decision_scores_.shape}, expected ({n},)"
        assert np.isfinite(det.decision_scores_).all(), "training scores hold NaN/Inf"
        assert isinstance(det.threshold_, float) and math.isfinite(det.threshold_), "threshold_ must be a finite float"
        state = fitted_state(det)
        with _core_refusals(name), _generators_kept(name, "decision_function"):
            scores = det.decision_function(X)
        check_state_kept(det, state, "decision_function")
        assert scores.shape == n_scores_shape(X), f"scores {scores.shape}, expected {n_scores_shape(X)}"
        assert scores.dtype == np.float64, f"scores dtype {scores.dtype}, expected float64"
        assert np.isfinite(scores).all(), "scores hold NaN/Inf"
        with _generators_kept(name, "predict"):
            labels = det.predict(X)
        check_state_kept(det, state, "predict")
    except (ValueError, PluginError) as exc:
        raise _wrote_readonly(name, exc) or exc
    assert labels.shape == scores.shape and set(np.unique(labels)) <= {0, 1}, "predict must give 0/1 per sample"
    if returned and returned[0] is not None and not capabilities_of(det).held_out_training_scores:
        np.testing.assert_allclose(scores.reshape(-1), returned[0], rtol=1e-5, atol=1e-8,
                                   err_msg="scoring the training data must reproduce the scores _fit returned")
    np.testing.assert_array_equal(given, original, err_msg=(
        f"{name}: fit or scoring wrote into the caller's data (through a tensor or view sharing its memory: "
        "torch.from_numpy(X) then an in-place operation); a detector never writes into the user's array: work on a "
        "copy"))
    _check_input_kept(make, original, name)
    return det


def _check_input_kept(make: Factory, X: np.ndarray, name: str) -> None:
    """Fit and scoring given a writeable copy of `X` leave it unchanged, and the model keeps no reference to it:
    the caller's array edited in place after the fit (preprocessing a notebook does next) leaves the model's scores
    as they were. Was: only read-only data was handed over, so a detector writing into its input when it could
    (``if X.flags.writeable: X -= mu``) passed, and showed only as "same seed, different scores" in the determinism
    check; then a model keeping the caller's float64 rows (the PyOD wrappers' training rows, kNN's neighbours)
    passed, and scored the edited rows (a probe of 7 December 2026: wrong labels, and a saved model other than the
    one fitted). The copy is float64 and C-ordered, the array a detector could keep without converting it."""
    writeable = np.array(X, dtype=np.float64, order="C", copy=True)
    with _core_refusals():
        det = make().fit(writeable)
        det.decision_function(writeable)
    np.testing.assert_array_equal(writeable, np.asarray(X, dtype=np.float64), err_msg=(
        f"{name} modifies its input: fit or scoring given a writeable array wrote into it (the user's data is "
        "changed); a detector never writes into the caller's array: work on a copy (X = X - mu, not X -= mu)"))
    with _core_refusals():
        before = det.decision_function(X)
        writeable *= -3.0
        writeable += 7.0
        after = det.decision_function(X)
    np.testing.assert_allclose(after, before, rtol=1e-6, atol=0.0, err_msg=(
        f"{name} keeps the caller's training array: edited in place after the fit, it changed the model's scores "
        "(and what the model saves); keep a copy of what the model needs (np.array(X, copy=True))"))


def check_per_sample(det: Detector, X: np.ndarray, rtol: float = 1e-5) -> None:
    """A sample's score does not depend on what is scored with it: scoring a shuffled copy gives the shuffled
    scores, scoring a part gives that part's scores, a second call gives the same scores, and (for a detector
    that accepts rows) a cube's map equals its pixels scored as rows. Transductive detectors, which score the
    scene they were fitted on, and whole-scene cube scorers are exempt from the reorderings. No call changes the
    fitted state (:func:`check_state_kept`): the kit's detector is fitted on the normal samples and scores them
    all here, so a threshold moved to a batch's quantile or a batch's scores stored as ``decision_scores_`` show."""
    state = fitted_state(det)
    scores = det.decision_function(X)
    check_state_kept(det, state, "decision_function")
    np.testing.assert_array_equal(det.decision_function(X), scores, err_msg="scoring twice gave different scores")
    check_state_kept(det, state, "decision_function")
    if det.transductive:
        return
    _check_reorderings(det, X, scores, rtol)
    check_state_kept(det, state, "decision_function")
    part = X.shape[0] // 3 + 1
    det.predict(X[:part])
    check_state_kept(det, state, "predict")


def _check_reorderings(det: Detector, X: np.ndarray, scores: np.ndarray, rtol: float) -> None:
    atol = 1e-6 * float(np.max(np.abs(scores)) or 1.0)
    if X.ndim == 3:
        if "tabular" in det.kinds:
            rows = det.decision_function(X.reshape(-1, X.shape[-1]))
            np.testing.assert_allclose(rows, scores.reshape(-1), rtol=rtol, atol=atol,
                                       err_msg="a cube's map differs from its pixels scored as rows")
        return
    order = np.random.default_rng(0).permutation(X.shape[0])
    np.testing.assert_allclose(det.decision_function(X[order]), scores[order], rtol=rtol, atol=atol,
                               err_msg="scores depend on the order of the samples")
    part = X.shape[0] // 3 + 1
    np.testing.assert_allclose(det.decision_function(X[:part]), scores[:part], rtol=rtol, atol=atol,
                               err_msg="scores depend on the other samples scored with them")


def check_tiles(det: Detector, X: np.ndarray, rtol: float = 1e-5) -> None:
    """A cube scored tile by tile, as ``had score`` scores a flight line (:func:`had.tiling.score_tiles`, here
    in tiles of 3 rows), gives the whole scene's map: a pixel-wise detector trivially, a scene-wide network
    through the rows of context it declares (``context_rows``, its receptive radius), which one that reads
    beyond its tile must declare (BS3LNet's map had a seam at every tile edge)."""
    from had.tiling import bytes_for_rows, score_tiles

    scores = np.asarray(det.decision_function(X), dtype=np.float64)
    tiled = score_tiles(det.decision_function, X, tile_bytes=bytes_for_rows(X.shape, 3))
    np.testing.assert_allclose(tiled, scores, rtol=rtol, atol=1e-6 * float(np.max(np.abs(scores)) or 1.0),
                               err_msg=f"scored in tiles of 3 rows (context_rows = {det.context_rows}), the map "
                                       "differs from the whole scene's: declare the rows a pixel's score depends on")


def check_detection(det: Detector, X: np.ndarray, y, floor: float = DETECTION_FLOOR) -> float:
    """Planted anomalies rank above the normals: the AUROC of ``decision_function(X)`` against ``y`` reaches
    `floor`. Returns the AUROC. A kind listed in the detector's ``blind_to_planted`` raises NotChecked."""
    from had.metrics import auroc

    kind = validation.kind_of(X)
    reason = blind_kinds(type(det)).get(kind)
    if reason:
        raise NotChecked(f"planted {kind} anomalies not checked; the detector declares: {reason}")
    assert y is not None, f"detection on {kind} data needs labels: give data as {{{kind!r}: (X, y)}}"
    y = np.asarray(y).reshape(-1)
    assert 0 < y.sum() < y.size, "detection needs both planted anomalies (y = 1) and normals (y = 0)"
    value = auroc(y, det.decision_function(X).reshape(-1))
    assert value >= floor, (f"{det.name} ranks planted {kind} anomalies with AUROC {value:.3f} < {floor}: a "
                            "constant, random or inverted score does as well")
    return value
def check_deterministic(make: Factory, X: np.ndarray, rtol: float = 0.0) -> None:
    """Two fits with the same config (and seed) give the same scores."""
    a = make().fit(X).decision_function(X)
    b = make().fit(X).decision_function(X)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=0.0, err_msg="same seed, different scores")


def check_deterministic_across_processes(det: Detector, X_train: np.ndarray, X: np.ndarray, rtol: float = 0.0) -> None:
    """The fitted `det` (fitted on `X_train`) and the same class, name and config fitted on `X_train` in another
    Python process (another ``PYTHONHASHSEED``; :mod:`had_sdk.kit_process`) give the same scores of `X`. Two fits
    in one process cannot see a seed taken from ``hash()`` of a string, the order of a set of strings or an
    ``id``, which change from process to process (was: such a detector passed, and its scores differed from one
    ``had fit`` to the next). Scores that differ because the fitted state lives outside the detector, where
    later fits in this process replaced it (a fit here again gives the other process's scores), are said as that
    (was: blamed on hash() and PYTHONHASHSEED). NotChecked when its class cannot be imported by its module path
    (defined inside a test function)."""
    from . import kit_process

    name = det.name or type(det).__name__
    try:
        other = kit_process.fit_elsewhere(det, X_train, X)
    except kit_process.Unavailable as exc:
        raise NotChecked(f"determinism across processes not checked: {exc}") from None
    except (RuntimeError, TimeoutError) as exc:
        raise AssertionError(f"{name}: the same fit in another Python process failed: {exc}") from None
    mine = det.decision_function(X)
    if not np.allclose(other, mine, rtol=rtol, atol=0.0):
        again = type(det).__new__(type(det))
        again.name = det.name
        again.__init__(det.config.model_dump())
        assert not np.allclose(other, again.fit(X_train).decision_function(X), rtol=rtol, atol=0.0), (
            f"{name}: its scores changed after other fits in this process, and a fit here again gives the other "
            "process's scores: its fitted state is kept outside the detector (a module-level or class-level "
            "variable), shared by every instance and lost on save; keep it on the instance and return it from "
            "_get_state")
    np.testing.assert_allclose(other, mine, rtol=rtol, atol=0.0, err_msg=(
        f"{name}: same config and seed, different scores in another Python process (PYTHONHASHSEED "
        f"{kit_process._other_hashseed()}): its randomness depends on something salted per process, e.g. a seed "
        "from hash() of a string or tuple, the order of a set of strings, or id(); derive seeds from config.seed "
        "alone (numpy's SeedSequence([seed, k]) or a fixed offset), and iterate over sorted names"))


def check_constant_feature(make: Factory, X: np.ndarray) -> None:
    """A feature that never changes (a dead band of a sensor, a constant column of a table; for images a dead
    pixel, the same in every image and channel) leaves every score finite, at fit and at scoring. It holds the
    data's smallest value, so data in a range stays in it."""
    dead = np.array(X, dtype=np.float64, copy=True)
    if dead.ndim == 4:
        dead[:, :, 0, 0] = dead.min()
    else:
        dead[..., 0] = dead.min()
    try:
        det = make().fit(dead)
    except InvalidInputError as exc:  # e.g. every training score NaN, so no threshold
        raise AssertionError(f"a constant feature made fit refuse the data: {exc}") from exc
    assert np.isfinite(det.decision_scores_).all(), "a constant feature made training scores NaN/Inf"
    assert np.isfinite(det.decision_function(dead)).all(), "a constant feature made scores NaN/Inf"


def check_few_samples(make: Factory, X: np.ndarray) -> None:
    """Three rows or images (a 2 x 2 cube) are fitted and scored with finite scores, or refused with a typed
    :class:`had.errors.HadError` saying why (too few for a batch, a split, a neighbourhood), never an internal
    error of the library underneath (an IndexError, an UnboundLocalError) that the CLI would show as a traceback, or
    the core's PluginError carrying one ("the plugin's fault"; was: taken for a typed refusal, being a HadError)."""
    from had.errors import HadError

    few = np.array(X[:2, :2] if X.ndim == 3 else X[:3], copy=True)
    try:
        det = make().fit(few)
        scores = det.decision_function(few)
    except HadError as exc:
        cause = exc.__cause__  # the core's PluginError wrapping the plugin's own untyped error: that error
        if not isinstance(exc, PluginError) or cause is None or isinstance(cause, HadError):
            return
        raise AssertionError(f"{len(few)} samples made fit or scoring fail with {type(cause).__name__}: {cause}; "
                             "refuse them with a typed error (InvalidInputError) that says how many are "
                             "needed") from exc
    except Exception as exc:
        raise AssertionError(f"{len(few)} samples made fit or scoring fail with {type(exc).__name__}: {exc}; refuse "
                             "them with a typed error (InvalidInputError) that says how many are needed") from exc
    assert np.isfinite(scores).all(), f"{len(few)} samples gave NaN/Inf scores"


def known_labels(y) -> np.ndarray:
    """Known labels for :func:`check_labels` from the planted 0/1 `y`: every other planted anomaly 1 (known), every
    tenth normal -1 (known normal), the rest 0 (unlabelled); shaped like `y`."""
    y = np.asarray(y)
    flat = y.reshape(-1)
    known = np.zeros(flat.size, dtype=np.int8)
    known[np.flatnonzero(flat == 1)[::2]] = 1
    known[np.flatnonzero(flat == 0)[::10]] = -1
    return known.reshape(y.shape)


def check_labels(make: Factory, X: np.ndarray, y, rtol: float = 0.0) -> None:
    """Known labels (1 known anomaly, -1 known normal, 0 unlabelled; :func:`known_labels`) reach the fit of a
    detector that declares ``uses_labels``, and rank its known anomalies no lower than the fit without them; a
    detector that does not declare it ignores them (its scores equal those of the fit without, to `rtol`), since
    ``fit(X, y)`` may be handed ground truth (scikit-learn's ``fit(X, y)``). Both fits see all of `X`."""
    assert y is not None, "the labels check needs the planted y: give data as (X, y)"
    known = known_labels(y)
    without = make().fit(X).decision_function(X).reshape(-1)
    labelled = make().fit(X, known)
    with_labels = labelled.decision_function(X).reshape(-1)
    if not labelled.uses_labels:
        np.testing.assert_allclose(with_labels, without, rtol=rtol, atol=0.0, err_msg=(
            f"{labelled.name} does not declare uses_labels, yet the labels given to fit changed its scores"))
        return
    assert not np.allclose(with_labels, without, rtol=max(1e-6, 10 * rtol), atol=0.0), (
        f"{labelled.name} declares uses_labels, but known labels did not change its fit")
    given = known.reshape(-1) == 1

    def mean_rank(scores: np.ndarray) -> float:
        return float(np.argsort(np.argsort(scores))[given].mean())

    assert mean_rank(with_labels) >= mean_rank(without) - 0.5, (
        f"{labelled.name} ranks the anomalies it was told of lower than without their labels "
        f"(mean rank {mean_rank(with_labels):.1f} against {mean_rank(without):.1f} of {without.size})")


def check_roundtrip(det: Detector, X: np.ndarray, path: Path) -> Detector:
    """had.save then had.load: same config, input spec, threshold and scores; and the same scores from the saved
    model loaded in a new Python process (:func:`had_sdk.kit_process.load_elsewhere`, a process that never fits).
    Was: loaded in this process only, where fitted state kept outside the artifact (a module-level dict, a class
    attribute) still was: a detector returning a dummy ``_get_state`` passed, and its saved model failed in the
    next process. NotChecked for that part alone when the class cannot be imported by its module path (defined
    inside a test function)."""
    from . import kit_process

    name = det.name or type(det).__name__
    had.save(det, path)
    back = had.load(path)
    assert type(back) is type(det), f"loaded {type(back).__name__}, saved {type(det).__name__}"
    assert back.config == det.config, "config changed through save/load"
    assert back.input_spec_ == det.input_spec_, "input spec changed through save/load"
    assert back.threshold_ == det.threshold_, "threshold changed through save/load"
    scores = det.decision_function(X)
    np.testing.assert_allclose(back.decision_function(X), scores, rtol=1e-6, atol=0.0,
                               err_msg="scores changed through save/load")
    not_saved = (f"{name}: its fitted state is not all saved: state kept outside what _get_state returns (a "
                 "module-level or class-level variable, another object) is lost when the model is loaded in a new "
                 "process; return all of it from _get_state (and _get_meta) and restore it in _set_state")
    try:
        other = kit_process.load_elsewhere(det, path, X)
    except kit_process.Unavailable as exc:
        raise NotChecked(f"save/load in a new process not checked: {exc}") from None
    except (RuntimeError, TimeoutError) as exc:
        raise AssertionError(f"{not_saved} (its saved model, loaded in a new Python process, failed: {exc})") from None
    if not np.allclose(other, scores, rtol=1e-6, atol=0.0):
        _salted_scoring(det, name, path, X, other)
    np.testing.assert_allclose(other, scores, rtol=1e-6, atol=0.0, err_msg=(
        f"{not_saved} (its saved model, loaded in a new Python process, scores differently)"))
    return back


def _salted_scoring(det: Detector, name: str, path: Path, X: np.ndarray, other: np.ndarray) -> None:
    """An AssertionError saying so when the saved model scores otherwise in each new process (one of up to three
    more processes, each with another PYTHONHASHSEED, disagrees with the first too): its scoring depends on
    ``hash()`` or the like, not on state left unsaved (was: every difference said as "not all saved"; then one more
    process, whose salt orders a set of two strings as the first's half the time)."""
    from . import kit_process

    for role in kit_process.AGAIN_ROLES:
        try:
            again = kit_process.load_elsewhere(det, path, X, role=role)
        except (kit_process.Unavailable, RuntimeError, TimeoutError):
            return  # the first process's answer stands
        if not np.allclose(again, other, rtol=1e-6, atol=0.0):
            raise AssertionError(
                f"{name}: its saved model scores differently in each new Python process (PYTHONHASHSEED "
                f"{kit_process._other_hashseed(1)} and {kit_process._other_hashseed(kit_process._HASHSEED_STEP[role])}"
                "): its scoring depends on something salted per process, e.g. hash() of a string or tuple, the "
                "order of a set of strings, or id(); derive what it needs from its saved state alone, and iterate "
                "over sorted names")


def check_export(det: Detector, X: np.ndarray, path: Path, y=None) -> dict[str, Any] | None:
    """Export parity (had.onnx_export.verify_export) and the artifact route through had.runtime, or, for a
    detector that declares `onnx_unsupported`, a typed ExportNotSupported. Returns the report (None if
    unsupported)."""
    if det.onnx_unsupported:
        try:
            det.export_onnx()
        except ExportNotSupported:
            return None
        raise AssertionError(f"{det.name} declares onnx_unsupported but export_onnx did not raise")
    missing = onnx_runtime_missing()
    if missing:
        raise NotChecked(f"ONNX export parity not checked: {missing}")
    from had.onnx_export import export
    from had.runtime import OnnxScorer

    report = export(det, X, path=path, y=y)
    scorer = OnnxScorer(path, providers=["CPUExecutionProvider"])
    eager = det.decision_function(X)
    got = scorer.score(X, batch_size=7)  # small batches: exercises the streaming path
    assert got.shape == eager.shape, f"runtime scores {got.shape}, eager {eager.shape}"
    from had.onnx_export import relative_error

    err = relative_error(got, eager)
    assert err <= report["rtol"], f"runtime vs eager relative error {err:.3g} > {report['rtol']:.3g}"
    return report


def _raises(error: type[Exception], fn: Callable[[], Any], what: str) -> None:
    try:
        fn()
    except error:
        return
    except Exception as exc:  # the wrong type is a failure too
        raise AssertionError(f"{what}: raised {type(exc).__name__}: {exc}; expected {error.__name__}") from exc
    raise AssertionError(f"{what}: no error; expected {error.__name__}")


def wrong_band_count(X: np.ndarray) -> np.ndarray:
    """`X` with one more feature/band/channel."""
    axis = 1 if X.ndim == 4 else -1
    return np.concatenate([X, np.take(X, [0], axis=axis)], axis=axis)


def check_bad_input(make: Factory, fitted: Detector, X: np.ndarray) -> None:
    """Typed errors: not fitted, wrong band count, NaN (score and fit), empty, wrong rank, unsupported kind."""
    _raises(NotFittedError, lambda: make().decision_function(X), "scoring before fit")
    _raises(BandMismatchError, lambda: fitted.decision_function(wrong_band_count(X)), "wrong band count")
    bad = np.array(X, dtype=np.float64, copy=True)
    bad.flat[0] = np.nan
    _raises(InvalidInputError, lambda: fitted.decision_function(bad), "NaN in scored data")
    _raises(InvalidInputError, lambda: make().fit(bad), "NaN in training data")
    _raises(InvalidInputError, lambda: fitted.decision_function(X[:0]), "empty data")
    _raises(InvalidInputError, lambda: fitted.decision_function(X.reshape(-1)), "rank-1 data")
    _raises(InvalidInputError, lambda: fitted.decision_function(X[..., None, None, None]), "rank > 4 data")
    for kind in KINDS:
        if kind not in fitted.kinds:
            other, _ = make_data(kind, validation.n_features(X))
            _raises(InvalidInputError, lambda: make().fit(other), f"{kind} data (not in kinds)")
