"""Fitted state of the scikit-learn-backed PyOD models as plain arrays, and their scores computed from it.

scikit-learn objects serialise only through pickle, which `had` never loads. These models are therefore saved
as the arrays their scores depend on (never the training rows) and scored from those arrays, before and after
a save, by one code path; tests check each against PyOD's own ``decision_function`` on the fitted object.

* Isolation Forest: every tree's nodes (children, split feature and value, samples per node), each tree's
  feature subset, ``max_samples_`` and ``offset_``; the score is scikit-learn's ``2 ** (-E[h(x)] / c(psi))``
  plus the offset (PyOD's ``-decision_function``), with the inputs rounded to float32 as scikit-learn's trees do.
  Trees that scikit-learn cannot have written (a child index that points back or out of its tree) are an
  ``ArtifactError`` (:func:`check_forest`), never an endless walk or an ``IndexError``.
* One-class SVM: support vectors, dual coefficients, intercept and gamma: ``-(K(x, SV) a + b)``.
* Gaussian mixture: weights, means, covariances and Cholesky precisions, loaded back into a scikit-learn
  ``GaussianMixture`` (its public fitted attributes): ``-score_samples``.
* PCA: the standardisation, the selected components and their weights: ``sum_j ||z - c_j|| / w_j``.
"""

from __future__ import annotations

import numpy as np

from had.errors import ArtifactError


def scalar(value) -> float:
    """A saved scalar as a float (the artifact stores 0-d arrays as shape (1,), as ``np.ascontiguousarray`` does)."""
    return float(np.asarray(value).reshape(-1)[0])


# ---- Isolation Forest ----------------------------------------------------------------------------------
def forest_state(forest) -> dict[str, np.ndarray]:
    """The arrays of a fitted scikit-learn ``IsolationForest`` (PyOD's ``IForest.detector_``)."""
    trees = [est.tree_ for est in forest.estimators_]
    starts = np.cumsum([0] + [t.node_count for t in trees])
    shift = lambda child, start: np.where(child >= 0, child + start, -1)  # noqa: E731
    return {
        "tree_start": starts.astype(np.int64),
        "left": np.concatenate([shift(t.children_left, s) for t, s in zip(trees, starts)]).astype(np.int32),
        "right": np.concatenate([shift(t.children_right, s) for t, s in zip(trees, starts)]).astype(np.int32),
        "feature": np.concatenate([t.feature for t in trees]).astype(np.int32),
        "split": np.concatenate([t.threshold for t in trees]).astype(np.float64),
        "node_samples": np.concatenate([t.n_node_samples for t in trees]).astype(np.int32),
        "tree_features": np.asarray(forest.estimators_features_, dtype=np.int64),
        "max_samples": np.array(float(forest.max_samples_)),
        "offset": np.array(float(forest.offset_)),
    }


def average_path_length(n: np.ndarray) -> np.ndarray:
    """``c(n)``, the average path length of an unsuccessful BST search among `n` points (0 for n <= 1)."""
    n = np.asarray(n, dtype=np.float64)
    out = np.where(n == 2, 1.0, 0.0)
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


#: the arrays :func:`forest_state` writes, one entry per node of every tree
NODE_ARRAYS = ("left", "right", "feature", "split", "node_samples")


def check_forest(state: dict[str, np.ndarray], n_features: int | None = None) -> None:
    """Refuse (:class:`had.errors.ArtifactError`) :func:`forest_state` arrays that scikit-learn cannot have written.

    scikit-learn stores a tree's nodes in depth-first preorder: an internal node's two children lie after it in
    the same tree, and a leaf has neither (``-1`` for both). :func:`forest_scores` walks each tree from its root
    through those indices, so a child pointing back (a loop: ``had score`` and ``had.load`` ran forever) or out of
    the tree (an ``IndexError`` traceback on the rows that reach it, after the load's probe rows did not) is
    refused here, as are split features outside a tree's features, those outside the `n_features` columns of the
    input, thresholds that are not finite and nodes that hold no training sample. Vectorised: well under 1 ms for a
    100-tree forest, so :func:`forest_scores` checks on every call.
    """
    def corrupt(why: str):
        raise ArtifactError(f"pyod-iforest: the model's trees are corrupt ({why}); a broken or tampered artifact: "
                            "fit it again")

    starts = np.asarray(state["tree_start"])
    if starts.ndim != 1 or starts.size < 2 or starts.dtype.kind not in "iu":
        corrupt(f"tree_start is {starts.dtype}{list(starts.shape)}, not whole-number node offsets")
    arrays = {name: np.asarray(state[name]) for name in NODE_ARRAYS}
    nodes = arrays["left"].size
    for name, values in arrays.items():
        if values.ndim != 1 or values.size != nodes:
            corrupt(f"{name} is {values.dtype}{list(values.shape)} for {nodes} nodes")
        if values.dtype.kind not in ("iuf" if name == "split" else "iu"):
            corrupt(f"{name} is {values.dtype}, not {'numbers' if name == 'split' else 'whole numbers'}")
    starts = starts.astype(np.int64)
    sizes = np.diff(starts)
    if starts[0] != 0 or starts[-1] != nodes or (sizes < 1).any():
        corrupt(f"tree_start {_shown_list(starts)} does not split the {nodes} nodes into trees of one or more nodes")
    left, right = arrays["left"].astype(np.int64), arrays["right"].astype(np.int64)
    feature, split = arrays["feature"].astype(np.int64), arrays["split"]
    tree = np.repeat(np.arange(sizes.size), sizes)  # the tree of each node
    node = np.arange(nodes)
    end = starts[1:][tree]

    def refuse(bad: np.ndarray, what) -> None:
        if bad.any():
            at = int(np.flatnonzero(bad)[0])
            corrupt(f"tree {tree[at]}, node {at - starts[tree[at]]}: {what(at)}")

    leaf = left == -1
    refuse(leaf != (right == -1), lambda at: f"children {left[at]} and {right[at]}: a leaf has neither (-1), "
                                             "an internal node both")
    inner = ~leaf
    refuse(inner & ((left <= node) | (left >= end) | (right <= node) | (right >= end)),
           lambda at: f"children {left[at] - starts[tree[at]]} and {right[at] - starts[tree[at]]} are not among the "
                      f"nodes after it in its tree of {sizes[tree[at]]} nodes")
    tree_features = np.asarray(state["tree_features"])
    if tree_features.ndim != 2 or tree_features.shape[0] != sizes.size or tree_features.shape[1] < 1 \
            or tree_features.dtype.kind not in "iu":
        corrupt(f"tree_features is {tree_features.dtype}{list(tree_features.shape)}, not the features of each of "
                f"{sizes.size} trees")
    if n_features is not None and ((tree_features < 0) | (tree_features >= n_features)).any():
        corrupt(f"tree_features holds feature indices outside the input's {n_features} columns")
    width = tree_features.shape[1]  # a tree's feature indices count its own features (all of them: the input's)
    refuse(inner & ((feature < 0) | (feature >= width)),
           lambda at: f"split feature {feature[at]} is not one of the tree's {width} features")
    refuse(inner & ~np.isfinite(split), lambda at: f"split value {split[at]} is not finite")
    refuse(arrays["node_samples"] < 1, lambda at: f"{arrays['node_samples'][at]} training samples")
    for name in ("max_samples", "offset"):
        value = np.asarray(state[name])
        if value.size != 1 or value.dtype.kind not in "iuf" or not np.isfinite(value).all():
            corrupt(f"{name} is {value.dtype}{list(value.shape)}, not a finite number")


def _shown_list(values: np.ndarray) -> str:
    return str(values.tolist()) if values.size <= 6 else f"[{values[0]}, {values[1]}, ..., {values[-1]}]"


def forest_scores(state: dict[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
    """PyOD's IForest score of `rows` from :func:`forest_state` arrays (checked first by :func:`check_forest`).

    Each tree's walk is bounded by its node count, a second guard against a loop :func:`check_forest` let through.
    """
    check_forest(state, rows.shape[1])
    X = rows.astype(np.float32).astype(np.float64)
    left, right, feature, split = state["left"], state["right"], state["feature"], state["split"]
    index = np.arange(X.shape[0])
    depths = np.zeros(X.shape[0])
    subsampled = state["tree_features"].shape[1] != X.shape[1]  # scikit-learn indexes features only then
    starts = state["tree_start"]
    for tree, start in enumerate(starts[:-1]):
        Xt = X[:, state["tree_features"][tree]] if subsampled else X
        node = np.full(X.shape[0], start, dtype=np.int64)
        steps = np.zeros(X.shape[0])
        for _ in range(int(starts[tree + 1] - start)):  # a path visits each node of its tree once at most
            inner = left[node] >= 0
            if not inner.any():
                break
            goes_left = Xt[index, np.maximum(feature[node], 0)] <= split[node]
            node = np.where(inner, np.where(goes_left, left[node], right[node]), node)
            steps += inner
        else:
            if (left[node] >= 0).any():
                raise ArtifactError(f"pyod-iforest: the model's trees are corrupt (tree {tree} has a path longer "
                                    "than its nodes); a broken or tampered artifact: fit it again")
        depths += steps + average_path_length(state["node_samples"][node])
    n_trees = starts.size - 1
    denominator = n_trees * float(average_path_length(np.array([scalar(state["max_samples"])]))[0])
    mean_depth = depths / denominator if denominator != 0 else np.ones_like(depths)
    return 2.0 ** (-mean_depth) + scalar(state["offset"])


# ---- one-class SVM -------------------------------------------------------------------------------------
def svm_state(svm) -> dict[str, np.ndarray]:
    """The arrays of a fitted scikit-learn ``OneClassSVM`` (PyOD's ``OCSVM.detector_``)."""
    return {"support": np.asarray(svm.support_vectors_, dtype=np.float64),
            "dual_coef": np.asarray(svm.dual_coef_, dtype=np.float64).ravel(),
            "intercept": np.array(float(svm.intercept_[0])), "gamma": np.array(float(svm._gamma))}


def svm_scores(state: dict[str, np.ndarray], rows: np.ndarray, kernel: str) -> np.ndarray:
    """``-(K(rows, SV) @ dual_coef + intercept)``, in chunks of about 4M kernel entries."""
    from .ssad import rbf_kernel

    sv, coef = state["support"], state["dual_coef"]
    out = np.empty(rows.shape[0])
    step = max(1, 4_000_000 // max(sv.shape[0], 1))
    for start in range(0, rows.shape[0], step):
        part = rows[start:start + step]
        K = part @ sv.T if kernel == "linear" else rbf_kernel(part, sv, scalar(state["gamma"]))
        out[start:start + step] = -(K @ coef + scalar(state["intercept"]))
    return out


# ---- Gaussian mixture ----------------------------------------------------------------------------------
GMM_FIELDS = ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_")


def mixture_state(gmm) -> dict[str, np.ndarray]:
    """The public fitted arrays of a scikit-learn ``GaussianMixture`` (PyOD's ``GMM.detector_``)."""
    return {name.rstrip("_"): np.asarray(getattr(gmm, name), dtype=np.float64) for name in GMM_FIELDS}


def mixture_model(state: dict[str, np.ndarray], covariance_type: str):
    """A scikit-learn ``GaussianMixture`` holding `state` (it scores; it cannot be refitted from it)."""
    from sklearn.mixture import GaussianMixture

    gmm = GaussianMixture(n_components=state["weights"].size, covariance_type=covariance_type)
    for name in GMM_FIELDS:
        setattr(gmm, name, state[name.rstrip("_")])
    gmm.n_features_in_ = state["means"].shape[1]
    gmm.converged_, gmm.n_iter_, gmm.lower_bound_ = True, 0, 0.0
    return gmm


# ---- PCA -----------------------------------------------------------------------------------------------
def pca_state(pca) -> dict[str, np.ndarray]:
    """PyOD ``PCA``'s scoring arrays: standardisation (identity without it), selected components, weights."""
    d = pca.selected_components_.shape[1]
    scaler = getattr(pca, "scaler_", None) if pca.standardization else None
    return {"mean": np.zeros(d) if scaler is None else np.asarray(scaler.mean_, dtype=np.float64),
            "scale": np.ones(d) if scaler is None else np.asarray(scaler.scale_, dtype=np.float64),
            "components": np.asarray(pca.selected_components_, dtype=np.float64),
            "weights": np.asarray(pca.selected_w_components_, dtype=np.float64)}


def pca_scores(state: dict[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
    """``sum_j ||(x - mean) / scale - c_j|| / w_j`` (PyOD's ``PCA.decision_function``)."""
    from scipy.spatial.distance import cdist

    Z = (rows - state["mean"]) / state["scale"]
    return np.sum(cdist(Z, state["components"]) / state["weights"], axis=1)
