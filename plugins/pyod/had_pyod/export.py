"""ONNX for the scikit-learn-backed models: skl2onnx converts the fitted model, `had`'s contract wraps it.

At fit, :func:`convert` turns the fitted scikit-learn model into an ONNX graph ``rows (N, D) -> output (N, 1)``
(float32, default opset :data:`had.onnx_export.OPSET`, ``ai.onnx.ml`` for trees and SVMs); the detector keeps
its bytes in its state, so an artifact can be exported after loading, when the scikit-learn object no longer
exists (nothing is pickled). :func:`contract_model` adapts that graph to `had`'s export contract for the layout
the detector was fitted on (rows, or a cube flattened into pixel rows and the map reshaped back), applies the
sign that turns scikit-learn's "higher = more normal" into PyOD's "higher = more anomalous", and stamps the
metadata (:func:`had.onnx_export.finalize`). Every export is then verified by :func:`had.onnx_export.verify_export`
like any other.
"""

from __future__ import annotations

import warnings

import numpy as np

from had import nodata
from had.detector import Detector
from had.errors import ArtifactError, flat_text
from had.onnx_export import MAX_IR_VERSION, OPSET, fill_nodes, finalize, import_onnx, layout_of

ML_OPSET = 3
INPUT = "rows"


def convert(model, n_features: int, output: str, options: dict | None = None, *, float64: bool = False
            ) -> np.ndarray:
    """skl2onnx's graph of a fitted scikit-learn `model` keeping only `output`, as a uint8 array (for safetensors).
    `float64`: the graph computes in float64, rows to output (for :func:`centred_float64`)."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    with warnings.catch_warnings():  # a parameter beyond float32 (an RBF gamma of 1e200 for rows at the 1e-100
        warnings.simplefilter("ignore", RuntimeWarning)  # scale) casts to inf with numpy's bare warning; the graph
        onx = convert_sklearn(  # is then wrong, and the export's parity check (onnx_export) refuses it with a line
            model, name=type(model).__name__,  # the graph's name (was a random uuid: two saves of one model differed)
            initial_types=[(INPUT, (DoubleTensorType if float64 else FloatTensorType)([None, n_features]))],
            # an int where float64: skl2onnx's float64 GaussianMixture converter compares the opset with 11
            target_opset=OPSET if float64 else {"": OPSET, "ai.onnx.ml": ML_OPSET},
            options={id(model): options} if options else None,
            model_optim=False)  # its identity-node pass: 40 % of an IForest fit; onnxruntime drops them
    kept = [o for o in onx.graph.output if o.name == output]  # the others' nodes stay, unused
    if not kept:
        raise ValueError(f"skl2onnx gave outputs {[o.name for o in onx.graph.output]}, not {output!r}")
    del onx.graph.output[:]
    onx.graph.output.extend(kept)
    return np.frombuffer(onx.SerializeToString(), dtype=np.uint8).copy()


def stored_graph(detector: Detector | None, core: np.ndarray):
    """`core`, a :func:`convert` graph's bytes as a detector's state holds them, read back into an ONNX model: one
    input (:data:`INPUT`) and one output, or :class:`had.errors.ArtifactError`.

    Why: an artifact stores that graph (``onnx_core``) for ``had export``; one whose bytes are not ONNX, or a graph of
    another shape (two outputs), gave a protobuf ``DecodeError`` or a ``ValueError`` traceback (too many values to
    unpack) where a broken or tampered artifact is one line.
    """
    onnx = import_onnx()
    source = getattr(detector, "artifact_path_", None) or getattr(detector, "name", None) or "the model"

    def broken(why: str) -> ArtifactError:
        return ArtifactError(f"{source}: the ONNX graph its state holds (onnx_core) {why}; a broken or tampered "
                             "artifact: fit it again")

    array = np.asarray(core)
    if array.ndim != 1 or array.dtype != np.uint8:
        raise broken(f"is {array.dtype}{list(array.shape)}, not the bytes of an ONNX model")
    try:
        model = onnx.load_from_string(array.tobytes())
    except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and whatever else a parser of bytes raises
        text = flat_text(exc)
        raise broken(f"is not an ONNX model ({type(exc).__name__}{': ' + text[:200] if text else ''})") from None
    initialised = {t.name for t in model.graph.initializer}
    inputs = [i.name for i in model.graph.input if i.name not in initialised]
    outputs = [o.name for o in model.graph.output]
    if inputs != [INPUT] or len(outputs) != 1:
        raise broken(f"takes inputs {inputs[:5]} and gives outputs {outputs[:5]}, where skl2onnx's graph takes "
                     f"{INPUT!r} and gives one output")
    return model


def centred_float64(core: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """`core`, a :func:`convert` graph made with ``float64=True`` (float64 rows -> float64 output), taking float32
    rows and giving a float32 output as every other core does: ``Cast`` to float64, ``Sub`` of `centre`, the
    graph, ``Cast`` to float32.

    Why: skl2onnx's GaussianMixture graph computes, in float32, quadratic forms of the rows as given (``x P - mu P``
    for full covariances, ``x^2 p - 2 x mu p + mu^2 p`` for the diagonal ones): pixels at a common offset of
    hundreds, whose low-variance directions the precision magnifies 400-fold, cancelled to noise, and ``had fit
    pyod-gmm line.hdr --export`` was refused at a parity relative error of 10.3 (3.4 on a 256x256x64 scene of
    the same generator) with the eager model fine. Centring alone left 3.7e-3: the score, a negative
    log-likelihood, is a difference of terms near 100 (log-determinant, ``d/2 log 2 pi``, half the Mahalanobis
    distance) that crosses 0, and the float32 whitening's error (~1e-4 absolute) is large next to the scores
    near 0. In float64 the graph agrees to float32's rounding of the output (GMM scoring is ``d^2`` operations per
    row and component: float64 costs little). Was: skl2onnx's float32 graph of the uncentred mixture. The caller
    converts the mixture with its means shifted by `centre`, so the scores are the same function.
    """
    onnx = import_onnx()
    from onnx import helper, numpy_helper

    model = stored_graph(None, core)
    graph = model.graph
    f32, f64 = onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE
    (out,) = graph.output
    for node in graph.node:
        node.input[:] = ["had_centred_rows" if name == INPUT else name for name in node.input]
    graph.initializer.append(numpy_helper.from_array(np.asarray(centre, dtype=np.float64), "had_centre"))
    graph.node.insert(0, helper.make_node("Cast", [INPUT], ["had_rows_float64"], to=f64))
    graph.node.insert(1, helper.make_node("Sub", ["had_rows_float64", "had_centre"], ["had_centred_rows"]))
    graph.node.append(helper.make_node("Cast", [out.name], [f"{out.name}_float32"], to=f32))
    graph.input[0].type.tensor_type.elem_type = f32
    out.name = f"{out.name}_float32"
    out.type.tensor_type.elem_type = f32
    return np.frombuffer(model.SerializeToString(), dtype=np.uint8).copy()


def contract_model(detector: Detector, core: np.ndarray, *, sign: float = -1.0,
                   columns: tuple[int, int] | None = None, exporter: str | None = None) -> bytes:
    """The contract graph around a :func:`convert` graph (or one built as it, :func:`had_pyod.graphs.iforest_core`):
    ``x`` -> ``sign * output`` as ``score`` (and ``anomaly_map`` for a cube). `columns`: an output ``(N, k)`` is
    first averaged over columns ``[start, stop)`` (kNN's sorted distances: the k-th, their mean or their median).
    `exporter` (metadata): by default ``skl2onnx``, or ``onnx.helper`` for a graph `had` built (producer ``had``;
    an artifact saved before holds skl2onnx's)."""
    onnx = import_onnx()
    from onnx import helper, numpy_helper

    inner = stored_graph(detector, core)
    if exporter is None:
        exporter = "onnx.helper" if inner.producer_name == "had" else "skl2onnx"
    (out,) = [o.name for o in inner.graph.output]
    layout = layout_of(detector)
    d = int(detector.input_spec_["n_features"])
    f32 = onnx.TensorProto.FLOAT
    consts = {"had_sign": np.array(sign, dtype=np.float32), "had_flat": np.array([-1], dtype=np.int64)}
    pre, post = [], []
    if columns is not None:
        consts.update(had_col_start=np.array([columns[0]], dtype=np.int64),
                      had_col_stop=np.array([columns[1]], dtype=np.int64), had_axis1=np.array([1], dtype=np.int64))
        post += [helper.make_node("Slice", [out, "had_col_start", "had_col_stop", "had_axis1"], ["had_cols"]),
                 helper.make_node("ReduceMean", ["had_cols", "had_axis1"], ["had_reduced"], keepdims=1)]
        out = "had_reduced"
    fill = nodata.fill_value_of(detector) if layout in ("rows", "cube") else None
    post += [helper.make_node("Mul", [out, "had_sign"], ["had_signed"]),
             helper.make_node("Reshape", ["had_signed", "had_flat"], ["score" if fill is None else "had_score"])]
    if fill is not None:  # a row (pixel) holding the fill value in every column scores NaN, as the eager model
        post += fill_nodes(fill, INPUT, "had_score", "score", consts)
    if layout == "rows":
        pre.append(helper.make_node("Identity", ["x"], [INPUT]))
        inputs = [helper.make_tensor_value_info("x", f32, ["n", d])]
        outputs = [helper.make_tensor_value_info("score", f32, ["n"])]
    elif layout == "image":  # only a composed graph (encoder first) takes images
        pre.append(helper.make_node("Identity", ["x"], [INPUT]))
        inputs = [helper.make_tensor_value_info("x", f32, ["n", *detector.input_spec_["sample_shape"]])]
        outputs = [helper.make_tensor_value_info("score", f32, ["n"])]
    elif layout == "cube":
        pre.append(helper.make_node("Reshape", ["x", "had_rows_shape"], [INPUT]))
        consts.update(had_rows_shape=np.array([-1, d], dtype=np.int64), had_zero=np.array([0], dtype=np.int64),
                      had_two=np.array([2], dtype=np.int64))
        post += [helper.make_node("Shape", ["x"], ["had_x_shape"]),
                 helper.make_node("Slice", ["had_x_shape", "had_zero", "had_two"], ["had_hw"]),
                 helper.make_node("Reshape", ["score", "had_hw"], ["anomaly_map"])]
        inputs = [helper.make_tensor_value_info("x", f32, ["h", "w", d])]
        outputs = [helper.make_tensor_value_info("anomaly_map", f32, ["h", "w"]),
                   helper.make_tensor_value_info("score", f32, ["hw"])]
    else:
        raise ValueError(f"{detector.name}: a row model cannot score {layout} data")
    initializers = list(inner.graph.initializer) + [numpy_helper.from_array(v, k) for k, v in consts.items()]
    graph = helper.make_graph(pre + list(inner.graph.node) + post, f"had_{detector.name}", inputs, outputs,
                              initializers)
    opsets = {o.domain: o.version for o in inner.opset_import}
    opsets[""] = OPSET
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(k, v) for k, v in opsets.items()],
                              producer_name="had")
    model.functions.extend(inner.functions)  # local functions of a torch-exported encoder, if any
    return finalize(model, detector, exporter=exporter)


def compose(encoder: bytes, core: np.ndarray) -> np.ndarray:
    """One graph: `encoder` (its single input -> codes) feeding a :func:`convert` graph (codes -> output).

    The encoder's names get an ``enc_`` prefix; its input becomes :data:`INPUT`, so :func:`contract_model` wraps
    the result as it wraps a plain :func:`convert` graph.
    """
    onnx = import_onnx()
    from onnx import compose as onnx_compose

    enc = onnx_compose.add_prefix(onnx.load_from_string(encoder), "enc_")
    head = stored_graph(None, core)
    opsets = {}
    for m in (enc, head):
        for o in m.opset_import:
            opsets[o.domain] = max(opsets.get(o.domain, 0), o.version)
    opsets[""] = OPSET
    ir_version = min(enc.ir_version, head.ir_version, MAX_IR_VERSION)
    for m in (enc, head):
        m.ir_version = ir_version
        del m.opset_import[:]
        m.opset_import.extend(onnx.helper.make_opsetid(k, v) for k, v in opsets.items())
    (enc_out,) = [o.name for o in enc.graph.output]
    merged = onnx_compose.merge_models(enc, head, io_map=[(enc_out, INPUT)])
    (enc_in,) = [i.name for i in merged.graph.input]
    for node in merged.graph.node:  # the merged graph's input is renamed INPUT, as a convert graph's is
        node.input[:] = [INPUT if name == enc_in else name for name in node.input]
    merged.graph.input[0].name = INPUT
    return np.frombuffer(merged.SerializeToString(), dtype=np.uint8).copy()
