"""Scores of a loaded dataset from a saved model, by onnxruntime or by the plugin's own code (``had score``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def score_dataset(model: str | Path, X: np.ndarray, engine: str = "auto",
                  declared: float | None = None) -> tuple[np.ndarray, float, str, str]:
    """Scores of `X`, the model's threshold, the engine used (``onnx`` or ``eager``) and a phrase naming it.

    `engine`: ``onnx`` (onnxruntime alone, no torch), ``eager`` (the plugin's code), ``auto`` (onnx if exported).
    `declared`: the no-data value the data's file declares, whose pixels may be scored NaN as the model's may.
    A table's column names are the caller's to check (``had score``: :func:`had.score_file.check_columns`, as the
    file is read); `X` is an array, whose lack of names the eager detector is not asked to say.
    """
    from .artifact import ONNX, read_manifest
    from .nodata import check_nan_scores, of_manifest

    manifest = read_manifest(model)
    if engine == "onnx" or (engine == "auto" and ONNX in manifest["files"]):
        from .runtime import OnnxScorer

        scorer = OnnxScorer(model)
        scores, threshold = scorer.score(X), manifest["threshold"]
        used, how = "onnx", f"onnxruntime, providers {', '.join(scorer.providers)}"
    else:
        from .artifact import load
        from .plugins import exit_reported
        from .sklearn_compat import names_checked_elsewhere

        with exit_reported(f"the {manifest['detector']} detector's scoring"):  # its code runs in load's checks too
            det = load(model)
            with names_checked_elsewhere():  # a table's columns: by had score's open_as_fitted (an array here)
                scores = det.decision_function(X)
        threshold, used, how = det.threshold_, "eager", f"the {manifest['detector']} plugin (eager)"
    # NaN only where the model's or the file's no-data value is: elsewhere the detector failed (was: counted as
    # no-data pixels and left out of the AUROC)
    check_nan_scores(np.asarray(scores), X, of_manifest(manifest), who=manifest["detector"], declared=declared)
    return scores, threshold, used, how


#: what ``had score`` measures against labels unless ``--metrics`` names others
SCORE_METRICS = ("auroc", "auc_pf_tau")


def truth_metrics(truth, scores, names: Sequence[str] = SCORE_METRICS,
                  threshold: float | None = None) -> tuple[dict[str, float], str | None]:
    """The metrics `names` (AUROC and AUC(Pf, tau) by default; a metric plugin's too) of `scores` against the 0/1
    `truth` (same number of elements; `threshold`: the model's, for those that need one), pixels scored NaN (no
    data) left out, and why the others were skipped (None when none was).

    Each metric is measured on its own, as ``had fit`` does: one that is undefined is left out and said in the
    reason (``"auc_pf_tau: every score equals 0; ..."``); when every metric is undefined for the same reason
    (labels of one class), the reason alone. Was: one try for all, so AUC(Pf, tau) undefined on scores that tie
    dropped the AUROC too (``"metrics": {}``).
    """
    from .metrics import measure_all

    metrics, skipped = measure_all(names, np.reshape(truth, -1), np.asarray(scores, dtype=np.float64).reshape(-1),
                                   threshold)
    if not skipped:
        return metrics, None
    if not metrics and len(set(skipped.values())) == 1:
        return metrics, next(iter(skipped.values()))
    return metrics, "; ".join(f"{name}: {reason}" for name, reason in skipped.items())
