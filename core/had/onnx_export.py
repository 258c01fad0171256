"""The ONNX export contract, its verification, and writing a verified ``model.onnx`` into an artifact.

No torch here: `onnx` and `onnxruntime` are imported when a function needs them (extras ``had[onnx]`` or
``had[onnx-gpu]``). Torch detectors export through ``had_sdk.TorchDetector.export_onnx``; the core RX builds
its graph with ``onnx.helper`` (:func:`pixelwise_model`).

Contract (docs/deployment.md):

* one input ``x``, float32; its layout follows the data the detector was fitted on:
  rows ``(N, D)`` with dynamic N -> output ``score`` ``(N,)``;
  a cube ``(H, W, B)`` with dynamic H and W -> outputs ``anomaly_map`` ``(H, W)`` and ``score`` ``(H*W,)``;
  images ``(N, C, H, W)`` with dynamic N -> output ``score`` ``(N,)``;
* preprocessing and fitted statistics are inside the graph as constants;
* default-domain opset :data:`OPSET`, IR version at most :data:`MAX_IR_VERSION` (onnxruntime 1.31 rejects the
  IR 14 that onnx 1.23's ``make_model`` stamps), a single file (no external data);
* ``metadata_props``: plugin, distribution, version, detector, threshold, contamination, input_spec (JSON),
  layout, pixelwise, exporter, row_width (:func:`widest_constant`: what the runtime sizes its batches by),
  context_rows (a scene-wide network's receptive radius, :attr:`had.detector.Detector.context_rows`).

Verification (:func:`verify_export`): ``onnx.checker`` (full check), the contract above, then onnxruntime
(CPU) scores on the check data's window (:func:`check_window`: all of it up to :data:`CHECK_PIXELS` pixels, else
a bounded, deterministic part, said in the report) *and* on a cropped copy of the window (a different batch or
scene size, so fixed axes fail), compared with the eager scores by

* relative error ``max_i |onnx_i - eager_i| / max(|eager_i|, floor)`` with ``floor = 1e-3 * median|eager|``
  (a score a thousand times below the typical one is judged against a thousandth of the typical score,
  not against itself; float32 rounding is absolute near zero), at most `rtol`, or, where it is above that and
  the detector can score in float64 (:meth:`had.detector.Detector.scores_in_float64`), at most
  :data:`ROUNDING_FACTOR` times the eager float32 scores' own relative error against that float64 computation
  (by the same measure): a model whose float32 arithmetic rounds its scores by more than `rtol` (raw radiance
  of ~1000 through a bias-free layer and a batch norm, whose running mean then cancels most of the value) is
  not failed for rounding that its eager scores share; an export error stands out far above it;
* AUROC of the ONNX scores equal to the eager AUROC within 1e-3, against the ground truth `y` when given,
  else against pseudo labels ``eager > threshold_`` (the check data's own ``1 - contamination`` quantile when
  the threshold leaves one class empty);
* agreement of the thresholded labels at least 99.9 %, where a sample whose eager score lies within float32
  rounding of the threshold (relative :data:`DEFAULT_RTOL`, or the detector's smaller `rtol`, plus its
  ``onnx_atol``) counts as agreeing whichever side it falls (``flips_at_threshold`` counts them: a threshold
  at a percentile is often a training score itself, and one flip in 251 Geo-Hgan tiles had failed an export
  whose scores agreed to 7e-7); flips farther from the threshold count, even within a larger `rtol`, and so
  do all flips when more than :data:`AT_THRESHOLD_SHARE` of the samples lie that close to the threshold (then
  rounding decides the labels: a KDE bandwidth below float32's resolution).

A detector may declare ``onnx_atol``, an absolute error below which a difference is float32 rounding (PyOD's
IForest: scores ``2**(-E/c)`` in (0, 1] less an offset near 0.5, so rounding is absolute, ~1e-7, and a score
near 0 had failed cardio's export at 1.16e-3 relative with every label and the AUROC equal); the relative error
counts only what lies beyond it.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from . import nodata, validation
from .detector import Detector
from .errors import ArtifactError, ConfigError, ExportParityError, HadError, interrupted

OPSET = 20
MAX_IR_VERSION = 10
DEFAULT_RTOL = 1e-4
AUROC_TOL = 1e-3
MIN_AGREEMENT = 0.999
#: an export may round at most this many times as far as the eager float32 scores do from a float64 computation
#: of the same model (two float32 evaluations, each about that far from the exact value, and the worst
#: sample of each taken apart: 2x, and 2x of margin)
ROUNDING_FACTOR = 4.0
#: the largest share of samples within float32 rounding of the threshold whose flips are forgiven (see above)
AT_THRESHOLD_SHARE = 0.01
#: the most pixels (rows, or image pixels) the parity check scores (:func:`check_window`): 16 MiB of float32 at 64
#: bands, whatever the scene size
CHECK_PIXELS = 65536
LAYOUT_OF_KIND = {"tabular": "rows", "cube": "cube", "image": "image"}
OUTPUTS = {"rows": ["score"], "cube": ["anomaly_map", "score"], "image": ["score"]}


def import_onnx():
    """The onnx module, or a HadError naming the extra to install."""
    try:
        import onnx
    except ImportError as exc:
        if interrupted(exc):  # Ctrl-C while its extension loaded: not a missing package
            raise KeyboardInterrupt from None
        raise HadError('onnx is not installed; pip install "had[onnx]" (or "had[onnx-gpu]")') from None
    return onnx


# ---- building ----------------------------------------------------------------------------------------
def layout_of(detector: Detector) -> str:
    """The graph layout for a fitted detector: ``rows``, ``cube`` or ``image`` (from its input spec)."""
    detector._require_fitted()
    return LAYOUT_OF_KIND[detector.input_spec_["kind"]]


def metadata(detector: Detector, *, exporter: str, pixelwise: bool = True) -> dict[str, str]:
    """The ``metadata_props`` of an export (all values strings, as ONNX requires)."""
    from . import plugins

    try:
        plugin = plugins.entry("detector", detector.name).plugin
        distribution, version = plugins.plugin_version(plugin)
    except HadError:
        plugin, distribution, version = None, None, None
    from . import __version__

    return {
        "plugin": plugin or "",
        "distribution": distribution or "",
        "version": version or "",
        "had_version": __version__,
        "detector": detector.name,
        "threshold": repr(float(detector.threshold_)),
        # the fit this graph is of: had.save stamps a later threshold into it only for the same fit
        **({"training_data_sha256": str(detector.training_sha256_)} if getattr(detector, "training_sha256_", None)
           else {}),
        "contamination": repr(float(detector.contamination)),
        "input_spec": json.dumps(detector.input_spec_, sort_keys=True),
        "layout": layout_of(detector),
        "pixelwise": "true" if pixelwise else "false",
        "exporter": exporter,
        **({"nodata": repr(nodata.fill_value_of(detector))} if nodata.fill_value_of(detector) is not None else {}),
        **_tile_fill_metadata(detector),
        **({"context_rows": str(int(detector.context_rows))} if getattr(detector, "context_rows", 0) else {}),
        **_min_extent_metadata(detector),
    }


def _min_extent_metadata(detector: Detector) -> dict[str, str]:
    """``min_extent``: the fewest pixels in H and W a whole-scene graph runs on (the capability
    ``onnx_min_extent``: BS3LNet's reflection padding needs 2), which the runtime checks before running it (was:
    onnxruntime's own error log, then advice to export again)."""
    from .capabilities import capabilities_of

    try:
        low = capabilities_of(detector).onnx_min_extent
    except Exception:  # noqa: BLE001 - a detector whose capabilities cannot be read is refused by the export itself
        return {}
    return {"min_extent": str(int(low))} if low else {}


def _tile_fill_metadata(detector: Detector) -> dict[str, str]:
    """``nodata`` and ``max_no_data`` of a model of tiles cut from a raster declaring a no-data value (its tiling
    record, :class:`had.image_checks.TileFill`), where its config masks none: the runtime scores NaN the tiles
    holding more no-data pixels than that share, as ``had score`` leaves them out. Empty for other models."""
    from .image_checks import TileFill

    rule = TileFill.of_spec(getattr(detector, "input_spec_", None))
    if rule is None or nodata.fill_value_of(detector) is not None:
        return {}
    return {"nodata": repr(rule.value), "max_no_data": repr(rule.max_share)}


def finalize(model, detector: Detector, *, exporter: str, pixelwise: bool = True) -> bytes:
    """Stamp the contract on an ``onnx.ModelProto``: IR version, metadata; refuse external data. Returns bytes."""
    onnx = import_onnx()
    opsets = {o.domain: o.version for o in model.opset_import}
    if opsets.get("", opsets.get("ai.onnx")) != OPSET:
        raise ExportParityError(f"{detector.name}: exported with opset {opsets}, the contract pins {OPSET}")
    model.ir_version = min(model.ir_version, MAX_IR_VERSION)
    for tensor in model.graph.initializer:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            raise ExportParityError(f"{detector.name}: initializer {tensor.name!r} is stored as external data")
    props = metadata(detector, exporter=exporter, pixelwise=pixelwise)
    props["row_width"] = str(widest_constant(model))
    set_metadata(model, props)
    model.producer_name = "had"
    return model.SerializeToString()


def set_metadata(model, props: dict[str, str]) -> None:
    """`model`'s ``metadata_props`` with `props` set: each key's earlier entry replaced, the others kept before them
    (ONNX allows a key twice; a reader would take either)."""
    kept = [p for p in model.metadata_props if p.key not in props]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value


def widest_constant(model) -> int:
    """The largest dimension of the graph's constant matrices (initializers and ``Constant`` nodes of rank 2 or
    more): the reference rows of a KNN, KDE or kernel SVM graph, the widest layer of a network. A scored row's
    intermediates (its distances to every reference row) are about that wide, so the runtime sizes its batches
    by it (metadata ``row_width``, :data:`had.runtime.BATCH_BYTES`)."""
    shapes = [list(t.dims) for t in model.graph.initializer]
    shapes += [list(a.t.dims) for node in model.graph.node if node.op_type == "Constant"
               for a in node.attribute if a.name == "value"]
    return max((max(dims) for dims in shapes if len(dims) >= 2), default=0)


def fill_nodes(value: float, rows: str, scores: str, out: str, constants: dict[str, np.ndarray]) -> list:
    """Nodes giving `out`: `scores` (one per row or pixel of `rows`, last axis the bands), NaN where every band
    of the row holds the fill `value` (:mod:`had.nodata`; NaN allowed), as the eager detectors score fill
    pixels; adds their constants to `constants`."""
    onnx = import_onnx()
    from onnx import helper

    constants.update(had_fill_axis=np.array([-1], dtype=np.int64), had_nan=np.array(np.nan, dtype=np.float32))
    if math.isnan(value):
        same = helper.make_node("IsNaN", [rows], ["had_same"])
    else:
        constants["had_fill"] = np.array(value, dtype=np.float32)
        same = helper.make_node("Equal", [rows, "had_fill"], ["had_same"])
    return [same,
            helper.make_node("Cast", ["had_same"], ["had_same_f"], to=onnx.TensorProto.FLOAT),
            helper.make_node("ReduceMin", ["had_same_f", "had_fill_axis"], ["had_all_same"], keepdims=0),
            helper.make_node("Cast", ["had_all_same"], ["had_is_fill"], to=onnx.TensorProto.BOOL),
            helper.make_node("Where", ["had_is_fill", "had_nan", scores], [out])]


def pixelwise_model(detector: Detector, nodes: list, initializers: dict[str, np.ndarray], result: str) -> bytes:
    """Build and finalize a graph whose `nodes` map ``x`` to per-pixel scores `result` along the last axis.

    The same nodes serve rows ``(N, D)`` and cubes ``(H, W, B)`` when they act on the last axis only
    (broadcast, MatMul, Reduce over axis -1); for a cube the graph also flattens the map into ``score``. A
    detector with a fill value (its config's ``nodata``) gets its fill pixels scored NaN (:func:`fill_nodes`).
    """
    onnx = import_onnx()
    from onnx import helper, numpy_helper

    layout = layout_of(detector)
    d = int(detector.input_spec_["n_features"])
    float_t = onnx.TensorProto.FLOAT
    nodes, initializers = list(nodes), dict(initializers)
    fill = nodata.fill_value_of(detector)
    if fill is not None:  # fill pixels scored NaN, as the eager detector scores them
        nodes += fill_nodes(fill, "x", result, "had_masked", initializers)
        result = "had_masked"
    inits = [numpy_helper.from_array(np.ascontiguousarray(v), k) for k, v in initializers.items()]
    if layout == "rows":
        inputs = [helper.make_tensor_value_info("x", float_t, ["n", d])]
        nodes.append(helper.make_node("Identity", [result], ["score"]))
        outputs = [helper.make_tensor_value_info("score", float_t, ["n"])]
    elif layout == "cube":
        inputs = [helper.make_tensor_value_info("x", float_t, ["h", "w", d])]
        inits.append(numpy_helper.from_array(np.array([-1], dtype=np.int64), "flat_shape"))
        nodes.append(helper.make_node("Identity", [result], ["anomaly_map"]))
        nodes.append(helper.make_node("Reshape", ["anomaly_map", "flat_shape"], ["score"]))
        outputs = [helper.make_tensor_value_info("anomaly_map", float_t, ["h", "w"]),
                   helper.make_tensor_value_info("score", float_t, ["hw"])]
    else:
        raise HadError(f"{detector.name}: a pixel-wise graph cannot score images")
    graph = helper.make_graph(nodes, f"had_{detector.name}", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="had")
    return finalize(model, detector, exporter="onnx.helper")


# ---- verification ------------------------------------------------------------------------------------
def _crop(X: np.ndarray) -> np.ndarray:
    """A copy with a different batch (or scene) size, so a graph with fixed axes is caught."""
    if X.ndim == 3:
        h, w = X.shape[:2]
        return X[: max(1, h - 1), : max(1, w - 1)] if h * w > 1 else X
    return X[:-1] if X.shape[0] > 1 else X


def check_window(X, y=None, limit: int = CHECK_PIXELS) -> tuple[Any, Any, dict[str, Any] | None]:
    """The part of check data `X` (and of its labels `y`) that :func:`verify_export` scores, and what it is.

    Data of at most `limit` pixels (rows; an image counts its pixels) is checked whole: ``(X, y, None)``. Larger
    data gives a deterministic part of at most `limit` pixels: a cube the window of whole scene rows in its middle
    (contiguous, as a scene-wide network sees them; the middle columns of one row where a row alone is wider),
    rows and images every k-th sample (evenly spaced, so a table sorted by label keeps both classes). The window
    is read from `X` as it is (a memory map or a lazy cube is not read whole). The third value says which part:
    ``{"of": pixels in X, "pixels": in the window, "rows": [first, last]}`` (0-based, inclusive; a cube's
    ``"columns"`` too when it is cut) or ``{..., "every": k, "unit": "rows" or "image pixels"}``.

    Was: the whole of `X`, eager and ONNX scores of it and of an (H-1)x(W-1) copy in memory, in one ONNX batch:
    `had fit rx` on a 2048x2048x64 float32 line peaked at 2082 MB with ``--export`` against 276 MB without (LREN
    2534 MB and 160 s of checking).
    """
    shape = tuple(np.shape(X)) if not hasattr(X, "shape") else tuple(X.shape)
    if len(shape) == 3:  # a cube (H, W, B)
        h, w = shape[:2]
        if h * w <= limit:
            return X, y, None
        rows = max(1, min(h, limit // w))
        first = (h - rows) // 2
        cols = slice(None) if w <= limit else slice((w - limit) // 2, (w - limit) // 2 + limit)
        window = np.asarray(X[first:first + rows, cols])
        where: dict[str, Any] = {"of": h * w, "pixels": int(window.shape[0] * window.shape[1]),
                                 "rows": [first, first + rows - 1]}
        if w > limit:
            where["columns"] = [cols.start, cols.stop - 1]
        if y is not None:
            labels = validation.as_array(y, "labels")
            if labels.size == h * w:
                y = labels.reshape(h, w)[first:first + rows, cols]
        return window, y, where
    if len(shape) not in (2, 4):  # a wrong rank: check_array says so
        return X, y, None
    n = shape[0]
    per_sample = 1 if len(shape) == 2 else int(np.prod(shape[2:]))
    if n * per_sample <= limit:
        return X, y, None
    every = -(-n * per_sample // limit)  # ceil: at most `limit` pixels
    picked = np.arange(0, n, every)
    if hasattr(X, "iloc"):  # a data frame: its rows, not a copy of the whole table
        window = X.iloc[picked]
    else:
        window = validation.as_array(X, "check data")[picked]
    if y is not None:
        labels = validation.as_array(y, "labels")
        if labels.size == n:
            y = labels.reshape(-1)[picked]
    return window, y, {"of": n * per_sample, "pixels": int(picked.size * per_sample), "every": int(every),
                       "unit": "rows" if len(shape) == 2 else "image pixels"}


def error_scale(ref: np.ndarray) -> np.ndarray:
    """What each score's error is relative to: ``max(|ref_i|, 1e-3 * median|ref|)`` (see the module docstring)."""
    ref = np.asarray(ref, np.float64).ravel()
    floor = max(1e-3 * float(np.median(np.abs(ref))), np.finfo(np.float64).tiny)
    return np.maximum(np.abs(ref), floor)


def relative_error(got: np.ndarray, ref: np.ndarray, atol: float = 0.0) -> float:
    """``max_i max(|got_i - ref_i| - atol, 0) / max(|ref_i|, 1e-3 * median|ref|)`` (see the module docstring)."""
    got, ref = np.asarray(got, np.float64).ravel(), np.asarray(ref, np.float64).ravel()
    return float(np.max(np.maximum(np.abs(got - ref) - atol, 0.0) / error_scale(ref)))


def _reference_labels(eager: np.ndarray, detector: Detector, y) -> tuple[np.ndarray | None, str]:
    """The labels the AUROC check uses and what they are: the ground truth `y` when it has both classes,
    else pseudo labels ``eager > threshold_`` (or the ``1 - contamination`` quantile)."""
    if y is not None:
        truth = validation.check_truth(y, eager.reshape(-1, 1))
        if 0 < truth.sum() < truth.size:
            return truth, "ground truth"
    for cut in (detector.threshold_, float(np.quantile(eager, 1.0 - detector.contamination))):
        labels = (eager > cut).astype(np.int8)
        if 0 < labels.sum() < labels.size:
            return labels, "pseudo labels (eager score > threshold)"
    return None, ""


def verify_export(model_bytes: bytes, detector: Detector, X_check, rtol: float | None = None, *, y=None,
                  auroc_tol: float = AUROC_TOL, min_agreement: float | None = None) -> dict[str, Any]:
    """Check an export against the contract and the eager detector; return the measured numbers.

    Raises :class:`ExportParityError` (with ``.report``) when anything fails. `rtol` defaults to the
    detector's ``onnx_rtol`` attribute if it has one, else 1e-4; `min_agreement` (the share of samples on the same
    side of the threshold) its ``onnx_min_agreement``, else 0.999. `y`: optional 0/1 ground truth for X_check.

    `X_check` above :data:`CHECK_PIXELS` pixels is checked on its window (:func:`check_window`; the report's
    ``window`` says which part), so the check's memory and time are bounded whatever the scene size.
    """
    from . import metrics
    from .runtime import OnnxScorer
    from .sklearn_compat import names_checked_elsewhere

    onnx = import_onnx()
    rtol = _tolerance("rtol", rtol if rtol is not None else getattr(detector, "onnx_rtol", DEFAULT_RTOL))
    if y is not None:  # one label per sample, said before any scoring (was: numpy's IndexError in the AUROC check)
        y = validation.check_truth(y, X_check, what="y (the check data's labels)")
    min_agreement = float(min_agreement if min_agreement is not None
                          else getattr(detector, "onnx_min_agreement", MIN_AGREEMENT))
    report: dict[str, Any] = {"detector": detector.name, "rtol": rtol}
    try:
        model = onnx.load_from_string(model_bytes)
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:
        raise ExportParityError(f"{detector.name}: onnx.checker rejects the export: {exc}", report) from None
    layout = layout_of(detector)
    problems = _contract_problems(model, layout)
    report.update(layout=layout, ir_version=model.ir_version,
                  opset={o.domain or "ai.onnx": o.version for o in model.opset_import})
    if problems:
        hint = ("; the graph does not read its input, so the scores left torch during the trace (a .numpy(), "
                ".item() or Python number in score_batch): keep scoring in torch operations"
                if not _graph_inputs(model) else "")
        raise ExportParityError(f"{detector.name}: export breaks the contract: {'; '.join(problems)}{hint}", report)

    scorer = OnnxScorer(model_bytes, providers=["CPUExecutionProvider"])
    # a detector that scores fill pixels NaN (had.nodata) is checked on them too
    X_check, y, window = check_window(X_check, y)
    if window is not None:
        report["window"] = window
    X = validation.check_array(X_check, detector.kinds, what="check data", fill=nodata.fill_value_of(detector))
    checked, eager_all, onnx_all, inputs = [], [], [], []
    for data in (X, _crop(X)):
        with names_checked_elsewhere():  # check data as an array: a table's names were checked when it was read
            eager = np.asarray(detector.decision_function(data), np.float64)  # (had export), or are had's own
        try:
            # one batch holding all of `data` (the runtime counts pixels, so images count H*W each): at most
            # CHECK_PIXELS pixels (check_window)
            got = scorer.score(data, batch_size=max(1, data.size // validation.n_features(data)))
        except Exception as exc:  # onnxruntime's own errors: a fixed axis, a bad op, a wrong dtype
            raise ExportParityError(f"{detector.name}: onnxruntime fails on input {data.shape}: {exc}", report) from None
        if got.shape != eager.shape:
            raise ExportParityError(
                f"{detector.name}: ONNX scores have shape {got.shape} on input {data.shape}, eager {eager.shape}",
                report)
        checked.append(list(data.shape))
        inputs.append(data)
        eager_all.append(eager.ravel())
        onnx_all.append(got.ravel())
    eager, got = np.concatenate(eager_all), np.concatenate(onnx_all)
    report["shapes"] = checked
    report["n_checked"] = int(eager.size)
    nan = np.isnan(eager)
    if (np.isnan(got) != nan).any():
        raise ExportParityError(f"{detector.name}: ONNX scores are NaN at {int((np.isnan(got) != nan).sum())} "
                                "samples where the eager scores are not, or the other way round", report)
    if nan.any():  # fill pixels, NaN in both: the numbers are compared on the rest
        report["n_fill"] = int(nan.sum())
    if nan.all():
        raise ExportParityError(f"{detector.name}: the check data" + (" window" if window else "")
                                + " holds fill pixels only; nothing to compare", report)
    eager, got = eager[~nan], got[~nan]
    atol = _tolerance("onnx_atol", getattr(detector, "onnx_atol", 0.0), zero=True)
    if atol:
        report["atol"] = atol
    report["max_abs_err"] = float(np.max(np.abs(got - eager)))
    report["max_rel_err"] = relative_error(got, eager, atol)
    # the AUROC on the data as given (its crop checks shapes only: pooled with it, a scene's AUROC differed from the
    # fit's on the same data)
    given = ~np.isnan(eager_all[0])
    eager_given, onnx_given = eager_all[0][given], onnx_all[0][given]
    y_given = None if y is None else np.asarray(y).reshape(-1)[given]
    labels, report["auroc_labels"] = _reference_labels(eager_given, detector, y_given)
    if labels is not None:
        report["auroc_eager"] = metrics.auroc(labels, eager_given)
        report["auroc_onnx"] = metrics.auroc(labels, onnx_given)
    failures = []
    limit = rtol
    if not report["max_rel_err"] <= rtol:
        rounding = _eager_rounding(detector, inputs, eager, nan)
        if rounding is not None:
            report["eager_rounding_rel_err"] = rounding
        limit = max(rtol, ROUNDING_FACTOR * (rounding or 0.0))
        if not report["max_rel_err"] <= limit:
            failures.append(f"max relative error {report['max_rel_err']:.3g} > {rtol:.3g}" + (
                "" if rounding is None else f" (and > {ROUNDING_FACTOR:g}x the eager float32 scores' own "
                f"{rounding:.3g} against float64)"))
    # a sample whose eager score lies within float32 rounding of the threshold (DEFAULT_RTOL, or the detector's
    # smaller rtol, and its atol) may fall on either side by rounding alone (a threshold at a percentile is often a
    # training score itself): not counted as a disagreement. Flips farther out count, even within a larger rtol
    thr = detector.threshold_
    at_threshold = np.abs(eager - thr) <= atol + min(limit, DEFAULT_RTOL) * error_scale(eager)
    if at_threshold.mean() > AT_THRESHOLD_SHARE:  # many scores float32 cannot tell from the threshold: the labels
        at_threshold[:] = False  # are rounding's (a KDE bandwidth below float32's resolution), and flips count
    agree = (got > thr) == (eager > thr)
    report["label_agreement"] = float(np.mean(agree | at_threshold))
    report["labels_agreeing"], report["labels_compared"] = int(np.sum(agree | at_threshold)), int(agree.size)
    report["flips_at_threshold"] = int(np.sum(~agree & at_threshold))
    if labels is not None and abs(report["auroc_eager"] - report["auroc_onnx"]) > auroc_tol:
        failures.append(f"AUROC {report['auroc_onnx']:.6f} (onnx) vs {report['auroc_eager']:.6f} (eager)")
    if report["label_agreement"] < min_agreement:
        failures.append(f"{agreement_text(report)}, below the {min_agreement * 100:g}% required")
    report["passed"] = not failures
    if failures:
        raise ExportParityError(f"{detector.name}: ONNX parity failed: {'; '.join(failures)}", report)
    return report


def agreement_text(report: dict[str, Any]) -> str:
    """``label agreement 3,995 of 3,999 samples (99.8999%)``: the counts, and the share rounded down, so that it reads
    below a limit it is below. Was: ``label agreement 99.9000% < 99.9%`` (rounded up to the limit it failed)."""
    share = math.floor(report["label_agreement"] * 1e6) / 1e4
    if "labels_agreeing" not in report:  # a report of before the counts were kept
        return f"label agreement {share:.4f}%"
    return f"label agreement {report['labels_agreeing']:,} of {report['labels_compared']:,} samples ({share:.4f}%)"


def _tolerance(name: str, value: Any, zero: bool = False) -> float:
    """`value` as a float when it is a finite number above 0 (at least 0 where `zero`), else a :class:`ConfigError`.
    Was: ``rtol=-1`` failed every export with "max relative error 1.97e-07 > -1", ``nan`` passed every one."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not math.isfinite(number) or number < 0 or (number == 0 and not zero):
        raise ConfigError(f"{name} is {value!r}; give a finite number " + ("of at least 0" if zero else "above 0"))
    return number


def _eager_rounding(detector: Detector, inputs: list, eager: np.ndarray, nan: np.ndarray) -> float | None:
    """The relative error (:func:`relative_error`) of the eager scores `eager` (the non-NaN ones, `nan` marking the
    rest) against the detector's float64 scores of the same `inputs`; None where it has none."""
    exact = []
    for data in inputs:
        scores = detector.scores_in_float64(data)
        if scores is None:
            return None
        exact.append(np.asarray(scores, np.float64).ravel())
    exact = np.concatenate(exact)
    if exact.shape != nan.shape or (np.isnan(exact) != nan).any():
        return None
    return relative_error(eager, exact[~nan])


def _graph_inputs(model) -> list[str]:
    """The names of the graph's inputs that are not its constants (initializers)."""
    constants = {t.name for t in model.graph.initializer}
    return [i.name for i in model.graph.input if i.name not in constants]


def _contract_problems(model, layout: str) -> list[str]:
    problems = []
    inputs = _graph_inputs(model)
    if inputs != ["x"]:
        problems.append(f"inputs {inputs}, expected ['x']")
    else:
        rank = len(model.graph.input[0].type.tensor_type.shape.dim)
        expected_rank = {"rows": 2, "cube": 3, "image": 4}[layout]
        if rank != expected_rank:
            problems.append(f"input 'x' has rank {rank}, a {layout} export takes rank {expected_rank}")
    outputs = sorted(o.name for o in model.graph.output)
    if outputs != sorted(OUTPUTS[layout]):
        problems.append(f"outputs {outputs}, expected {OUTPUTS[layout]}")
    if model.ir_version > MAX_IR_VERSION:
        problems.append(f"IR version {model.ir_version} > {MAX_IR_VERSION}")
    props = {p.key for p in model.metadata_props}
    missing = {"plugin", "version", "detector", "threshold", "input_spec"} - props
    if missing:
        problems.append(f"metadata lacks {sorted(missing)}")
    return problems


# ---- exporting into an artifact ----------------------------------------------------------------------
def sample_input(input_spec: dict[str, Any], seed: int = 0, max_values: int | None = None) -> np.ndarray | None:
    """Seeded check data matching an input spec: standard-normal rows 257 x D and a 17 x 13 cube, 5 images of
    uniform [0, 1] pixels (the range image detectors take: the chest X-ray ones refuse others).

    `max_values` bounds its size: fewer rows, pixels or images, and None where one sample is larger (a loaded
    manifest's ``n_features`` or ``sample_shape`` is the artifact's word: an edited 1e6 made the load's check
    data 3 GB). It exercises shapes and arithmetic only; pass real data to :func:`export` for a meaningful AUROC
    check.
    """
    rng = np.random.default_rng(seed)
    kind = input_spec["kind"]
    one = (int(np.prod(input_spec["sample_shape"], dtype=np.float64)) if kind == "image"
           else int(input_spec["n_features"]))  # the values of one sample (a row, a pixel, an image)
    wanted = {"tabular": 257, "cube": 17 * 13}.get(kind, 5)
    count = wanted if max_values is None else min(wanted, max_values // max(one, 1))
    if count < 1:
        return None
    if kind == "image":
        return rng.random((count, *input_spec["sample_shape"])).astype(np.float32)
    shape = (count, one) if kind == "tabular" else (17, 13, one) if count == wanted else (1, count, one)
    return rng.standard_normal(shape).astype(np.float32)


def export_and_verify(detector: Detector, X_check=None, *, y=None, rtol: float | None = None,
                      seed: int = 0) -> tuple[bytes, dict[str, Any]]:
    """``detector.export_onnx()`` and its :func:`verify_export` report (raises when verification fails); without
    `X_check`, the report's ``check_data`` says the check ran on generated data (:func:`sample_input` of `seed`)."""
    detector._require_fitted()
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed is {seed!r}; give a whole number of at least 0")  # was: numpy's ValueError
    generated = X_check is None
    if generated:
        X_check, centred = _generated_check_data(detector, seed)
    model_bytes = detector.export_onnx()
    report = verify_export(model_bytes, detector, X_check, rtol, y=y)
    if generated:
        report["check_data"] = "generated around the fitted mean" if centred else "generated"
    return model_bytes, report


def _generated_check_data(detector: Detector, seed: int) -> tuple[Any, bool]:
    """:func:`sample_input` of the detector's input spec, moved to its fitted mean (``mean_``, one value a feature:
    RX's) where it has one, and whether it was. Was: N(0, 1) whatever the training data, so an RX fitted on data
    offset by 1e5 passed its check (max absolute error 7e3) and its exported scores labelled other rows."""
    X = sample_input(detector.input_spec_, seed)
    mean = getattr(detector, "mean_", None)
    if X is None or X.ndim == 4 or not isinstance(mean, np.ndarray) or mean.shape != X.shape[-1:] \
            or not np.isfinite(mean).all():
        return X, False
    return X + mean.astype(np.float64), True  # float64, as data files often are: the graph's float32 input is checked


def export_verified(detector: Detector, X_check=None, *, y=None, rtol: float | None = None, seed: int = 0) -> bytes:
    """``detector.export_onnx()`` checked by :func:`verify_export` on `X_check` (default
    :func:`sample_input`); the verified bytes, for ``had.save(detector, path, onnx_model=...)``."""
    return export_and_verify(detector, X_check, y=y, rtol=rtol, seed=seed)[0]


def export(detector_or_path: Detector | str | Path, X_check=None, *, path: str | Path | None = None,
           y=None, rtol: float | None = None, seed: int = 0) -> dict[str, Any]:
    """Export, verify, and write ``model.onnx`` into an artifact (atomically, sha256 in the manifest).

    `detector_or_path`: a fitted detector (written to `path`, or to the artifact it was loaded from) or an
    artifact folder (loaded, exported and re-saved in place). `X_check`: data to verify on; default
    :func:`sample_input` of the input spec. Returns the verification report plus ``path``.
    Nothing is written when verification fails.
    """
    from .artifact import load, not_a_detector, save
    from .runtime import import_onnxruntime

    import_onnx()  # a missing extra is one line now (was: a detector's `import onnx` traceback in the export)
    import_onnxruntime()  # the verification runs the graph
    if isinstance(detector_or_path, Detector):
        detector = detector_or_path
    elif isinstance(detector_or_path, (str, os.PathLike)):
        detector = load(detector_or_path)
    else:  # was: a TypeError from load (a Pipeline, None, a number)
        raise ArtifactError(not_a_detector(detector_or_path, takes="export writes"))
    source = getattr(detector, "artifact_path_", None)
    target = path if path is not None else source
    metrics_at_fit = _metrics_at_fit(detector, source, in_place=path is None)
    model_bytes, report = export_and_verify(detector, X_check, y=y, rtol=rtol, seed=seed)
    if target is not None:
        save(detector, target, onnx_model=model_bytes, metrics=metrics_at_fit)
        report["path"] = str(target)
    report["model_bytes"] = len(model_bytes)
    return report


export_artifact = export


def _metrics_at_fit(detector: Detector, source: Path | None, in_place: bool) -> dict[str, Any] | None:
    """The metrics the artifact `source` (the folder `detector` was loaded from) measured at fit, which stay in the
    manifest when the detector is saved again; None where it is gone or unreadable (a new folder needs nothing from
    it) or holds another fit. An :class:`ArtifactError` for an export `in_place` of a detector fitted again since
    it was loaded: it no longer is that saved model.

    Was: the source's metrics copied whatever the fit (a refitted detector exported in place overwrote its folder
    and kept the old fit's metrics), and a source folder deleted since the load failed an export to a new path
    ("... is not a had artifact (no manifest.json)")."""
    from .artifact import read_manifest

    if source is None:
        return None
    try:
        saved = read_manifest(source)
    except ArtifactError:
        return None
    fit = getattr(detector, "training_sha256_", None)
    if saved.get("training_data_sha256") == fit:
        return saved.get("metrics")
    if in_place:
        raise ArtifactError(f"{detector.name} was fitted again since it was loaded from {source}, so it no longer is "
                            "the model saved there; save it to a new folder first (had.save(detector, path)), or "
                            "export it with path=... (nothing was written)")
    return None


def window_line(window: dict[str, Any]) -> str:
    """What part of the check data a window (:func:`check_window`) is, as a person reads it:
    ``parity on 65,536 of 4,194,304 pixels (scene rows 1009-1040, 1-based: the middle of the scene; ...)``."""
    if "rows" in window:
        where = f"scene rows {window['rows'][0] + 1}-{window['rows'][1] + 1}"
        if "columns" in window:
            where += f", columns {window['columns'][0] + 1}-{window['columns'][1] + 1}"
        where += ", 1-based: the middle of the scene"
    else:
        where = f"one {'row' if window['unit'] == 'rows' else 'image'} in every {window['every']:,}"
    unit = window.get("unit", "pixels")
    return (f"parity on {window['pixels']:,} of {window['of']:,} {unit} ({where}; the check is bounded at "
            f"{CHECK_PIXELS:,})")


def report_lines(report: dict[str, Any]) -> list[str]:
    """A verification report as lines a person reads, one figure each (``had export``, ``had fit --export``)."""
    lines = [f"detector {report['detector']}, layout {report['layout']}, ONNX IR {report['ir_version']}, "
             f"opset {', '.join(f'{d} {v}' for d, v in report['opset'].items())}"]
    if "model_bytes" in report:
        lines.append(f"model size {report['model_bytes']:,} bytes")
    lines.append(f"checked on {report['n_checked']:,} scores, input shapes "
                 + ", ".join("x".join(map(str, shape)) for shape in report["shapes"]))
    if "window" in report:
        lines.append(window_line(report["window"]))
    if report.get("check_data", "").startswith("generated"):  # was: "parity passed" alone, for data far from N(0, 1)
        data = "uniform [0, 1] images" if report.get("layout") == "image" else "standard-normal data"
        if report["check_data"] != "generated":
            data += " " + report["check_data"].removeprefix("generated ")
        model = report.get("path", "MODEL")
        lines.append(f"checked on generated {data}, not the model's own: an export can pass on it and differ on "
                     f"data of another range; pass the data to check on it: had export {model} DATA")
    lines.append(f"max relative error {report['max_rel_err']:.3g} (limit {report['rtol']:.3g}), "
                 f"max absolute error {report['max_abs_err']:.3g}")
    if "eager_rounding_rel_err" in report:
        lines.append(f"the eager float32 scores' own relative error against float64: "
                     f"{report['eager_rounding_rel_err']:.3g} (limit for the export: {ROUNDING_FACTOR:g}x that)")
    flips = report.get("flips_at_threshold", 0)
    lines.append(f"{agreement_text(report)} at the threshold" + (
        f" ({flips} sample(s) within float32 rounding of the threshold fell on the other side, counted as agreeing:"
        " scored with onnxruntime they may be labelled otherwise)" if flips else ""))
    if "auroc_eager" in report:
        lines.append(f"AUROC against {report['auroc_labels']}: eager {report['auroc_eager']:.4f}, "
                     f"onnx {report['auroc_onnx']:.4f}")
    else:
        lines.append("AUROC not measured (the check data has no labels of both classes)")
    lines.append("parity " + ("passed" if report.get("passed") else "FAILED") + (
        " on generated data" if report.get("check_data", "").startswith("generated") else ""))
    return lines
