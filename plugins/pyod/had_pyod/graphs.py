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

:func:`iforest_core` differs: it is a core graph (``rows`` -> ``(N, 1)``, as :func:`had_pyod.export.convert`
gives) that :func:`had_pyod.export.contract_model` wraps, so ``hybrid-iforest`` composes it behind its encoder too.
"""

from __future__ import annotations

import numpy as np

from had.detector import Detector
from had.onnx_export import MAX_IR_VERSION, OPSET, import_onnx, pixelwise_model

from . import fitted
from .export import INPUT, ML_OPSET
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


#: the name of :func:`iforest_core`'s output (skl2onnx's name for the same output)
IFOREST_OUTPUT = "scores"


def _node_depths(state: dict[str, np.ndarray]) -> np.ndarray:
    """Each node's depth in its tree (a root 0), level by level from the roots: as many numpy passes as the
    deepest tree is deep (scikit-learn's IsolationForest caps it at ``ceil(log2(max_samples))``)."""
    left, right = state["left"].astype(np.int64), state["right"].astype(np.int64)
    depth = np.zeros(left.size, dtype=np.int64)
    frontier = np.asarray(state["tree_start"][:-1], dtype=np.int64)
    level = 0
    while frontier.size and level < left.size:  # check_forest: children lie after their parent, so this ends
        inner = frontier[left[frontier] >= 0]
        frontier = np.unique(np.concatenate([left[inner], right[inner]]))
        level += 1
        depth[frontier] = level
    return depth


def iforest_core(state: dict[str, np.ndarray], n_features: int) -> np.ndarray:
    """The Isolation Forest's score graph from its :func:`had_pyod.fitted.forest_state` arrays, as the bytes of an
    ONNX model (uint8, as a detector's state holds a core): ``rows`` (N, D) float32 -> ``scores`` (N, 1) float32,
    scikit-learn's ``decision_function`` ``-2**(-E[h(x)] / c(psi)) - offset`` (the contract negates it into PyOD's
    score, as it did skl2onnx's graph). Linear in the forest's nodes.

    One ``ai.onnx.ml`` ``TreeEnsembleRegressor`` holds every tree: a split compares the row's value of the
    original column (each tree's feature index mapped through ``tree_features``: scikit-learn's feature
    subsampling, ``max_features < 1``; with every feature drawn it indexes none, as :func:`forest_scores`) with the
    split value, ``x <= split`` going left; a leaf holds its path length ``depth + c(samples at the leaf)`` divided
    by ``n_trees * c(max_samples)``, and the ensemble sums them (``E[h(x)] / c(psi)``; 1 where that denominator is
    0, scikit-learn's rule). The ensemble reads the rows cast to float64 with float64 split values and leaf values,
    so every split decides as scikit-learn's (the float32 row against the float64 threshold: no threshold rounded
    to float32) and the sum over thousands of trees does not round in float32; the transform is float64 too, and
    only the score is rounded to float32 (onnxruntime's ensemble output, then the graph's).

    Why not skl2onnx: its converter adds ~40 nodes per tree and checks each new node's name against every node
    so far (``{n.name for n in self.nodes}`` in ``ModelComponentContainer.add_node``, 77 % of a 400-tree
    conversion): quadratic in the trees, 2-4 s for 100 trees, 70-80 s for 400, over 8 minutes for 2,000 (``had fit
    pyod-iforest ... --set n_estimators=3000 -o m`` seemed to hang at the save); it also refuses forests of feature
    subsets. This builds 3,000 trees in 0.55 s (``benchmarks/bench_iforest_export.py``).
    """
    onnx = import_onnx()
    from onnx import helper, numpy_helper

    fitted.check_forest(state, n_features)
    starts = np.asarray(state["tree_start"], dtype=np.int64)
    sizes = np.diff(starts)
    n_trees, nodes = sizes.size, int(starts[-1])
    tree = np.repeat(np.arange(n_trees, dtype=np.int64), sizes)
    local = np.arange(nodes, dtype=np.int64) - starts[tree]
    left, right = state["left"].astype(np.int64), state["right"].astype(np.int64)
    leaf = left < 0
    feature = np.where(leaf, 0, state["feature"].astype(np.int64))
    tree_features = np.asarray(state["tree_features"], dtype=np.int64)
    if tree_features.shape[1] != n_features:  # scikit-learn indexes a tree's features only then (forest_scores)
        feature = np.where(leaf, 0, tree_features[tree, feature])
    split = np.where(leaf, 0.0, np.asarray(state["split"], dtype=np.float64))
    denominator = n_trees * float(fitted.average_path_length(np.array([scalar(state["max_samples"])]))[0])
    lengths = _node_depths(state)[leaf] + fitted.average_path_length(state["node_samples"][leaf])
    weights = lengths / denominator if denominator != 0 else np.zeros(int(leaf.sum()))
    as_list = lambda a: a.tolist()  # noqa: E731 - python ints: onnx.helper's attribute lists
    ensemble = helper.make_node(
        "TreeEnsembleRegressor", ["had_iforest_rows_float64"], ["had_iforest_path_sum"], domain="ai.onnx.ml",
        n_targets=1, aggregate_function="SUM", post_transform="NONE",
        base_values=[0.0 if denominator != 0 else 1.0],
        nodes_treeids=as_list(tree), nodes_nodeids=as_list(local), nodes_featureids=as_list(feature),
        nodes_modes=np.where(leaf, "LEAF", "BRANCH_LEQ").tolist(),
        nodes_values_as_tensor=numpy_helper.from_array(split, "nodes_values"),
        nodes_truenodeids=as_list(np.where(leaf, 0, left - starts[tree])),
        nodes_falsenodeids=as_list(np.where(leaf, 0, right - starts[tree])),
        target_treeids=as_list(tree[leaf]), target_nodeids=as_list(local[leaf]),
        target_ids=[0] * int(leaf.sum()),
        target_weights_as_tensor=numpy_helper.from_array(weights, "target_weights"))
    f32, f64 = onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE
    graph_nodes = [
        helper.make_node("Cast", [INPUT], ["had_iforest_rows_float64"], to=f64),
        ensemble,  # (N, 1) float32: E[h(x)] / c(psi), summed in float64
        helper.make_node("Cast", ["had_iforest_path_sum"], ["had_iforest_mean_depth"], to=f64),
        helper.make_node("Neg", ["had_iforest_mean_depth"], ["had_iforest_minus_depth"]),
        # 2**(-E/c) in (0, 1], plus the offset: PyOD's score; negated: scikit-learn's decision_function
        helper.make_node("Pow", ["had_iforest_two", "had_iforest_minus_depth"], ["had_iforest_pyod_score"]),
        helper.make_node("Add", ["had_iforest_pyod_score", "had_iforest_offset"], ["had_iforest_pyod_decision"]),
        helper.make_node("Neg", ["had_iforest_pyod_decision"], ["had_iforest_scores_float64"]),
        helper.make_node("Cast", ["had_iforest_scores_float64"], [IFOREST_OUTPUT], to=f32),
    ]
    consts = [numpy_helper.from_array(np.array(2.0), "had_iforest_two"),
              numpy_helper.from_array(np.array(scalar(state["offset"])), "had_iforest_offset")]
    rows = helper.make_tensor_value_info(INPUT, f32, ["n", n_features])
    graph = helper.make_graph(graph_nodes, "had_iforest", [rows],
                              [helper.make_tensor_value_info(IFOREST_OUTPUT, f32, ["n", 1])], consts)
    model = helper.make_model(graph, producer_name="had", opset_imports=[
        helper.make_opsetid("", OPSET), helper.make_opsetid("ai.onnx.ml", ML_OPSET)])
    model.ir_version = min(model.ir_version, MAX_IR_VERSION)
    return np.frombuffer(model.SerializeToString(), dtype=np.uint8).copy()
