"""The conformance checks, as plain functions that raise AssertionError (or the error they expected not to see).

:mod:`had_sdk.testing` runs them as pytest tests; they can also be called from any test or script. Every check
takes a detector *factory* (``lambda: had.get_detector(name, config)``) so each starts from a fresh instance.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import numpy as np

import had
from had import validation
from had.detector import Detector, DetectorConfig
from had.errors import (BandMismatchError, ConfigError, ExportNotSupported, InvalidInputError, NotFittedError)

Factory = Callable[[], Detector]
KINDS = ("tabular", "cube", "image")


def make_data(kind: str, n_features: int = 6, seed: int = 0, image_shape: tuple[int, int] = (8, 8)):
    """Small seeded data with a few obvious anomalies: ``(X, y)`` for rows (240 x D), a 12 x 10 cube, or
    24 images ``(C=n_features, *image_shape)``; y is 0/1 per sample (an (H, W) map for the cube)."""
    rng = np.random.default_rng(seed)
    if kind == "tabular":
        X = rng.normal(size=(240, n_features))
        y = np.zeros(240, dtype=np.int8)
        y[-12:] = 1
        X[-12:] += 6.0
    elif kind == "cube":
        X = rng.normal(size=(12, 10, n_features))
        y = np.zeros((12, 10), dtype=np.int8)
        y[2, 3] = y[7, 8] = y[10, 1] = y[5, 5] = 1
        X[y == 1] += 6.0
    elif kind == "image":
        X = rng.normal(size=(24, n_features, *image_shape))
        y = np.zeros(24, dtype=np.int8)
        y[-3:] = 1
        X[-3:] += 3.0
    else:
        raise ValueError(f"unknown kind {kind!r}; use one of {KINDS}")
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


def check_config(name: str, config: dict[str, Any]) -> None:
    """Valid config accepted; unknown fields and out-of-range values rejected with ConfigError."""
    had.get_detector(name, config)
    for bad in ({"__no_such_field__": 1}, {"contamination": 2.0}, {"seed": -1}):
        try:
            had.get_detector(name, {**config, **bad})
        except ConfigError:
            continue
        raise AssertionError(f"{name}: config {bad} was accepted; expected ConfigError")


def check_fit_score(make: Factory, X: np.ndarray) -> Detector:
    """fit returns self; training scores, threshold, scores and labels have the right shape, dtype, values."""
    det = make()
    assert det.fit(X) is det, "fit must return self"
    n = validation.n_samples(X)
    assert det.decision_scores_.shape == (n,), f"decision_scores_ {det.decision_scores_.shape}, expected ({n},)"
    assert np.isfinite(det.decision_scores_).all(), "training scores hold NaN/Inf"
    assert isinstance(det.threshold_, float) and math.isfinite(det.threshold_), "threshold_ must be a finite float"
    scores = det.decision_function(X)
    assert scores.shape == n_scores_shape(X), f"scores {scores.shape}, expected {n_scores_shape(X)}"
    assert scores.dtype == np.float64, f"scores dtype {scores.dtype}, expected float64"
    assert np.isfinite(scores).all(), "scores hold NaN/Inf"
    labels = det.predict(X)
    assert labels.shape == scores.shape and set(np.unique(labels)) <= {0, 1}, "predict must give 0/1 per sample"
    np.testing.assert_allclose(scores.reshape(-1), det.decision_scores_, rtol=1e-5, atol=1e-8,
                               err_msg="scoring the training data must reproduce decision_scores_")
    return det


def check_deterministic(make: Factory, X: np.ndarray, rtol: float = 0.0) -> None:
    """Two fits with the same config (and seed) give the same scores."""
    a = make().fit(X).decision_function(X)
    b = make().fit(X).decision_function(X)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=0.0, err_msg="same seed, different scores")


def check_roundtrip(det: Detector, X: np.ndarray, path: Path) -> Detector:
    """had.save then had.load: same config, input spec, threshold and scores."""
    had.save(det, path)
    back = had.load(path)
    assert type(back) is type(det), f"loaded {type(back).__name__}, saved {type(det).__name__}"
    assert back.config == det.config, "config changed through save/load"
    assert back.input_spec_ == det.input_spec_, "input spec changed through save/load"
    assert back.threshold_ == det.threshold_, "threshold changed through save/load"
    np.testing.assert_allclose(back.decision_function(X), det.decision_function(X), rtol=1e-6, atol=0.0,
                               err_msg="scores changed through save/load")
    return back


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
