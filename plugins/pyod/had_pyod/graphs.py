"""ONNX graphs built with onnx.helper from fitted arrays, where skl2onnx has no converter or loses precision.

Each acts on the last axis, so :func:`had.onnx_export.pixelwise_model` serves rows and cube pixels alike:

* :func:`linear_svm_graph`: ``-(x @ w + b)`` with ``w = SV^T a`` folded in float64 first (float32 kernel sums
  ``sum_i a_i <x, sv_i>`` cancel to noise);
* :func:`pca_graph`: ``sum_j ||z - c_j|| / w_j`` with ``z = (x - mean) / scale`` (PyOD's PCA);
* :func:`kde_graph`: ``-(logsumexp_j(-|x - r_j|^2 / 2h^2) - d/2 log(2 pi) - d log h - log n)`` over the training
  rows r (a constant of the graph, as the method needs them), centred on their mean so that the float32
  squared distances keep their precision, with the log-sum-exp shifted by its maximum (far rows would
  underflow ``exp`` in float32 otherwise).

Squared distances are ``|a|^2 + |r|^2 - 2 a.r`` (one MatMul), clipped at 0.
"""

from __future__ import annotations

import numpy as np

from had.detector import Detector
from had.onnx_export import pixelwise_model

from .fitted import scalar


def _node(*args, **kwargs):
    from onnx import helper

    return helper.make_node(*args, **kwargs)


def _squared_distances(a: str, out: str) -> list:
    """Nodes from `a` (..., d) to `out` (..., n): squared distances to the rows whose transpose is ``refs_t``
    and squared norms ``rr`` (both constants)."""
    return [_node("Mul", [a, a], [f"{a}_sq"]),
            _node("ReduceSum", [f"{a}_sq", "last_axis"], [f"{a}_norm"], keepdims=1),
            _node("MatMul", [a, "refs_t"], [f"{a}_dot"]),
            _node("Mul", [f"{a}_dot", "minus_two"], [f"{a}_m2dot"]),
            _node("Add", [f"{a}_norm", f"{a}_m2dot"], [f"{a}_partial"]),
            _node("Add", [f"{a}_partial", "rr"], [f"{out}_raw"]),
            _node("Max", [f"{out}_raw", "zero"], [out])]


def _model(detector: Detector, nodes: list, consts: dict[str, np.ndarray], result: str) -> bytes:
    consts = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in consts.items()}
    consts["last_axis"] = np.array([-1], dtype=np.int64)
    return pixelwise_model(detector, nodes, consts, result)


def _references(refs: np.ndarray) -> dict[str, np.ndarray]:
    return {"refs_t": refs.T, "rr": np.einsum("ij,ij->i", refs, refs), "minus_two": np.array(-2.0),
            "zero": np.array(0.0)}


def linear_svm_graph(detector: Detector, state: dict[str, np.ndarray]) -> bytes:
    w = state["support"].T @ state["dual_coef"]
    nodes = [_node("MatMul", ["x", "w"], ["xw"]), _node("Add", ["xw", "b"], ["f"]), _node("Neg", ["f"], ["ocsvm"])]
    return _model(detector, nodes, {"w": w, "b": np.array(scalar(state["intercept"]))}, "ocsvm")


def pca_graph(detector: Detector, state: dict[str, np.ndarray]) -> bytes:
    nodes = [_node("Sub", ["x", "mean"], ["centred"]), _node("Div", ["centred", "scale"], ["z"]),
             *_squared_distances("z", "d2"),
             _node("Sqrt", ["d2"], ["dist"]), _node("Div", ["dist", "weights"], ["weighted"]),
             _node("ReduceSum", ["weighted", "last_axis"], ["pca"], keepdims=0)]
    consts = {"mean": state["mean"], "scale": state["scale"], "weights": state["weights"],
              **_references(state["components"])}
    return _model(detector, nodes, consts, "pca")


def kde_graph(detector: Detector, rows: np.ndarray, bandwidth: float) -> bytes:
    mean = rows.mean(axis=0)
    refs = rows - mean
    n, d = refs.shape
    norm = -0.5 * d * np.log(2.0 * np.pi) - d * np.log(bandwidth) - np.log(n)
    nodes = [_node("Sub", ["x", "mean"], ["c"]), *_squared_distances("c", "d2"),
             _node("Mul", ["d2", "minus_half_inv_h2"], ["log_kernel"]),
             _node("ReduceMax", ["log_kernel", "last_axis"], ["peak"], keepdims=1),
             _node("Sub", ["log_kernel", "peak"], ["shifted"]),
             _node("Exp", ["shifted"], ["kernel"]),
             _node("ReduceSum", ["kernel", "last_axis"], ["total"], keepdims=0),
             _node("Log", ["total"], ["log_total"]),
             _node("ReduceMax", ["log_kernel", "last_axis"], ["peak_flat"], keepdims=0),
             _node("Add", ["log_total", "peak_flat"], ["lse"]),
             _node("Add", ["lse", "norm"], ["log_density"]),
             _node("Neg", ["log_density"], ["kde"])]
    consts = {"mean": mean, "minus_half_inv_h2": np.array(-0.5 / bandwidth ** 2), "norm": np.array(norm),
              **_references(refs)}
    return _model(detector, nodes, consts, "kde")
