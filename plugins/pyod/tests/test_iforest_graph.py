"""pyod-iforest's ONNX graph is built from the forest's fitted arrays (:func:`had_pyod.graphs.iforest_core`): one
``TreeEnsembleRegressor`` holding every tree's nodes, linear in the forest's size. Was skl2onnx's converter, ~40
nodes per tree whose construction was quadratic in the trees (100 trees 4.4 s, 400 trees 77 s, 2,000 trees over
8 minutes: ``had fit pyod-iforest DATA --set n_estimators=3000 -o m`` seemed to hang at the save)."""

from __future__ import annotations

import numpy as np
import pytest

import had
from had.onnx_export import verify_export

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from had_pyod import fitted, graphs  # noqa: E402
from had_pyod.export import INPUT, stored_graph  # noqa: E402
from had_pyod.models import PyODIForest  # noqa: E402


def _forest(X, **config):
    from sklearn.ensemble import IsolationForest

    return IsolationForest(random_state=3, **config).fit(X)


def _core_scores(core: np.ndarray, rows: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(core.tobytes(), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {INPUT: rows.astype(np.float32)})
    assert out.shape == (rows.shape[0], 1) and out.dtype == np.float32
    return out[:, 0].astype(np.float64)


def _assert_within_declared(got: np.ndarray, eager: np.ndarray) -> float:
    """Within pyod-iforest's declared tolerance (onnx_atol, onnx_rtol), as had.onnx_export.verify_export measures
    it; returns the largest absolute difference."""
    from had.onnx_export import relative_error

    np.testing.assert_allclose(got, eager, rtol=PyODIForest.onnx_rtol, atol=PyODIForest.onnx_atol)
    assert relative_error(got, eager, PyODIForest.onnx_atol) <= PyODIForest.onnx_rtol
    return float(np.max(np.abs(got - eager)))


def _rows(seed: int, n: int, d: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.uniform(-3, 3, size=d)  # columns of very different scales: thresholds far from 1
    X = rng.normal(size=(n, d)) * scale
    X[: n // 20] += 4.0 * scale  # a few outliers
    X[n // 20: n // 10] = np.round(X[n // 20: n // 10] / scale, 1) * scale  # ties, and rows on split values
    return X


@pytest.mark.parametrize("config", [
    {"n_estimators": 60},
    {"n_estimators": 40, "max_features": 0.5, "max_samples": 64},  # feature subsampling: each tree's columns
    {"n_estimators": 30, "max_features": 0.25, "max_samples": 8},
    {"n_estimators": 25, "max_samples": 2},
    {"n_estimators": 5, "max_samples": 1},  # c(1) = 0: scikit-learn's mean depth is 1, every score 2**-1
])
def test_the_graph_scores_as_scikit_learn_on_random_rows(config):
    X = _rows(0, 600, 9)
    forest = _forest(X, **config)
    state = fitted.forest_state(forest)
    core = graphs.iforest_core(state, X.shape[1])
    test = np.vstack([X, _rows(1, 300, 9), X[:50] * (1 + 1e-7)])  # values a float32 step off the training ones
    got = _core_scores(core, test)
    eager = forest.decision_function(test)  # scikit-learn's sign: the contract negates it, as skl2onnx's
    np.testing.assert_allclose(-fitted.forest_scores(state, test), eager, rtol=1e-12, atol=1e-15)
    _assert_within_declared(got, eager)
    # each split decides as scikit-learn's (float32 row against the float64 threshold): only the output's float32
    # rounding is left, a few float32 steps of the scores near 0.5
    assert np.max(np.abs(got - eager)) <= 4 * np.finfo(np.float32).eps


def test_a_split_value_between_two_float32_values_decides_as_scikit_learn():
    """scikit-learn compares the float32 row with a float64 threshold; a threshold rounded to the nearest float32
    (up) sends the rows equal to that float32 value left where scikit-learn sends them right."""
    X = _rows(2, 400, 4)
    forest = _forest(X, n_estimators=20, max_samples=128)
    state = fitted.forest_state(forest)
    split, leaf = state["split"], state["left"] < 0
    up = ~leaf & (split.astype(np.float32).astype(np.float64) > split)  # thresholds float32 rounds up
    assert up.any()
    tree = np.searchsorted(state["tree_start"], np.flatnonzero(up), side="right") - 1
    columns = np.where(state["tree_features"].shape[1] == X.shape[1], state["feature"][up],
                       state["tree_features"][tree, state["feature"][up]])
    probes = np.repeat(X[:1], up.sum(), axis=0)
    probes[np.arange(up.sum()), columns] = split[up].astype(np.float32)  # exactly on the rounded-up value
    got = _core_scores(graphs.iforest_core(state, X.shape[1]), probes)
    _assert_within_declared(got, forest.decision_function(probes))


def test_the_graph_is_one_tree_ensemble_of_every_node_of_the_forest():
    """The scale test, not timed: one TreeEnsembleRegressor whose nodes are the forest's nodes, and a handful of
    other nodes whatever the trees (skl2onnx's graph had ~40 per tree, built quadratically in their number)."""
    X = _rows(3, 500, 6)
    sizes = {}
    for trees in (10, 300):
        forest = _forest(X, n_estimators=trees, max_samples=64)
        state = fitted.forest_state(forest)
        model = stored_graph(None, graphs.iforest_core(state, X.shape[1]))
        ensembles = [n for n in model.graph.node if n.op_type == "TreeEnsembleRegressor"]
        assert len(ensembles) == 1 and ensembles[0].domain == "ai.onnx.ml"
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in ensembles[0].attribute}
        total = sum(est.tree_.node_count for est in forest.estimators_)
        assert len(attrs["nodes_nodeids"]) == total == int(state["tree_start"][-1])
        assert len(set(attrs["nodes_treeids"])) == trees
        assert len(attrs["target_nodeids"]) == sum(int((est.tree_.children_left < 0).sum())
                                                   for est in forest.estimators_)
        sizes[trees] = len(model.graph.node)
    assert sizes[10] == sizes[300] <= 10


def test_the_graph_maps_each_trees_features_to_the_input_columns():
    """max_features < 1: a tree's split feature indexes its own feature subset (``estimators_features_``)."""
    X = _rows(4, 500, 8)
    forest = _forest(X, n_estimators=30, max_features=0.375, max_samples=32)
    state = fitted.forest_state(forest)
    assert state["tree_features"].shape[1] == 3
    ensemble = next(n for n in stored_graph(None, graphs.iforest_core(state, 8)).graph.node
                    if n.op_type == "TreeEnsembleRegressor")
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in ensemble.attribute}
    modes = np.array([m.decode() if isinstance(m, bytes) else m for m in attrs["nodes_modes"]])
    used = np.array(attrs["nodes_featureids"])[modes == "BRANCH_LEQ"]
    assert used.max() > 2  # original columns, not the subset's indices 0..2
    per_tree = np.array(attrs["nodes_treeids"])[modes == "BRANCH_LEQ"]
    for tree in np.unique(per_tree):
        assert set(used[per_tree == tree]) <= set(forest.estimators_features_[tree].tolist())


def test_the_detector_exports_the_built_graph_and_it_loads_back(tmp_path):
    """pyod-iforest's save and export use the built graph (producer ``had``, metadata exporter ``onnx.helper``),
    verified by had's parity check; the saved artifact exports the same bytes after loading."""
    X = _rows(5, 700, 7)
    det = had.get_detector("pyod-iforest", n_estimators=80, max_samples=128, seed=2).fit(X)
    graph = det.export_onnx()
    model = onnx.load_from_string(graph)
    assert {p.key: p.value for p in model.metadata_props}["exporter"] == "onnx.helper"
    assert sum(n.op_type == "TreeEnsembleRegressor" for n in model.graph.node) == 1
    assert stored_graph(det, det.state_["onnx_core"]).producer_name == "had"
    report = verify_export(graph, det, X)
    assert report["passed"] and report["label_agreement"] == 1.0 and report["max_rel_err"] == 0.0
    had.save(det, tmp_path / "m")
    loaded = had.load(tmp_path / "m")
    assert loaded.export_onnx() == graph


@pytest.mark.parametrize("fill", [None, -9999.0])
def test_a_cube_export_with_fill_pixels_passes_the_parity_check(fill):
    """The cube layout wraps the graph with its own constants (a reshape, the fill mask): the built graph's names
    do not clash with them (``had_two`` did: onnx.checker's "initializer name is not unique")."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(24, 20, 5)) @ rng.normal(size=(5, 5)) + 10.0
    X[10, 10] += 8.0
    if fill is not None:
        X[:, :2] = fill
    det = had.get_detector("pyod-iforest", n_estimators=50, max_samples=64, nodata=fill).fit(X)
    report = verify_export(det.export_onnx(), det, X)
    assert report["passed"] and report["max_rel_err"] == 0.0 and report["label_agreement"] == 1.0


def test_an_artifact_holding_skl2onnxs_graph_exports_it_as_stored(tmp_path):
    """An artifact saved before holds skl2onnx's graph as ``onnx_core`` (stored bytes): it loads and exports that
    graph, stamped ``skl2onnx``, and passes the parity check as before."""
    from had_pyod.export import convert
    from safetensors.numpy import load_file

    X = _rows(6, 400, 5)
    det = had.get_detector("pyod-iforest", n_estimators=12, max_samples=64).fit(X)
    det.state_["onnx_core"] = convert(det.model_.detector_, X.shape[1], "scores")  # what a save wrote before
    path = had.save(det, tmp_path / "m")
    state = load_file(str(path / "weights.safetensors"))
    assert stored_graph(None, state["onnx_core"]).producer_name == "skl2onnx"
    loaded = had.load(path)
    graph = loaded.export_onnx()
    assert {p.key: p.value for p in onnx.load_from_string(graph).metadata_props}["exporter"] == "skl2onnx"
    assert sum(n.op_type == "TreeEnsembleRegressor" for n in onnx.load_from_string(graph).graph.node) == 12
    assert verify_export(graph, loaded, X)["passed"]


@pytest.mark.parametrize("table,config", [("cardio", {}), ("cardio", {"max_features": 0.5, "max_samples": 32}),
                                          ("thyroid", {"n_estimators": 200})])
def test_the_graph_scores_as_pyod_on_an_odds_table(table, config):
    """A real table (HAD_DATA_DIR's ODDS files): the graph against PyOD's own ``decision_function`` (negated:
    the contract's sign), within the declared tolerance."""
    from had.errors import HadError

    try:
        X = had.load_dataset(table).X
    except HadError as exc:
        pytest.skip(f"{table} is not available: {exc}")
    det = had.get_detector("pyod-iforest", config).fit(X)
    core = graphs.iforest_core(det.state_, X.shape[1])
    pyod_scores = det.model_.decision_function(X)
    np.testing.assert_allclose(det.decision_function(X), pyod_scores, rtol=1e-9, atol=1e-12)
    largest = _assert_within_declared(-_core_scores(core, X), pyod_scores)
    assert largest <= 4 * np.finfo(np.float32).eps  # was up to 1.6e-7 (cardio) in skl2onnx's float32 graph


# ---- artifacts saved before the graph was built from the arrays (6 December 2026) ---------------------------
def _as_saved_before(path, drop: str, config: dict | None = None):
    """The artifact at `path` as a save before 6 December 2026 wrote it for a forest of feature subsets
    (``max_features < 1``): skl2onnx refused such forests, so the state held no graph (state key `drop`, written
    since by every save) and nothing else differed (:func:`had_pyod.fitted.forest_state`'s arrays are unchanged).
    `config`: fields of the manifest's config changed too. The manifest's sha256 are rewritten to match."""
    from safetensors.numpy import load_file

    state = load_file(str(path / "weights.safetensors"))
    del state[drop]
    return _rewrite(path, state, config)


def _rewrite(path, state: dict, config: dict | None = None):
    """The artifact at `path` with weights `state` (its safetensors metadata kept) and fields of its manifest's
    config changed by `config`, the manifest's sha256 rewritten to match."""
    import hashlib
    import json

    from safetensors import safe_open
    from safetensors.numpy import save_file

    weights = path / "weights.safetensors"
    with safe_open(str(weights), framework="numpy") as f:
        metadata = f.metadata()
    save_file(state, str(weights), metadata=metadata)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["config"].update(config or {})
    manifest["files"]["weights.safetensors"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    (path / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return path


def _exported_scores(graph: bytes, X: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
    (score,) = session.run(["score"], {"x": X.astype(np.float32)})
    return score.astype(np.float64)


def test_a_forest_of_feature_subsets_saved_without_a_graph_exports_one_built_from_its_arrays(tmp_path):
    """Was: ExportNotSupported "this model has no ONNX graph (a model saved before 6 December 2026 with
    max_features < 1 holds no graph ...); refit it to export", though the artifact holds the arrays the graph is
    built from. Now the export builds it (its input spec gives the columns): the graph a fresh save holds, scoring
    as the loaded model within pyod-iforest's declared tolerance."""
    from safetensors.numpy import load_file

    X = _rows(8, 500, 6)
    det = had.get_detector("pyod-iforest", n_estimators=40, max_samples=64, max_features=0.5, seed=4).fit(X)
    path = _as_saved_before(had.save(det, tmp_path / "m"), "onnx_core")
    assert "onnx_core" not in load_file(str(path / "weights.safetensors"))
    loaded = had.load(path)
    assert "onnx_core" not in loaded.state_
    graph = loaded.export_onnx()
    model = onnx.load_from_string(graph)
    assert {p.key: p.value for p in model.metadata_props}["exporter"] == "onnx.helper"
    assert graph == det.export_onnx()  # the graph a save since holds, byte for byte
    test = np.vstack([X, _rows(9, 200, 6)])
    eager = loaded.decision_function(test)
    np.testing.assert_array_equal(eager, det.decision_function(test))
    _assert_within_declared(_exported_scores(graph, test), eager)
    assert verify_export(graph, loaded, X)["passed"]
    had.save(loaded, tmp_path / "again")  # the built graph is kept: a save of the loaded model holds it
    assert stored_graph(None, load_file(str(tmp_path / "again" / "weights.safetensors"))["onnx_core"]) \
        .producer_name == "had"


def test_a_hybrid_forest_of_feature_subsets_saved_without_a_graph_exports_after_a_load(tmp_path):
    """hybrid-iforest: the same, its inner forest's graph built for the codes' width, which a loaded hybrid's inner
    model has no input spec to say (the artifact holds the hybrid's): the encoder's codes say it. Was: "the inner
    pyod-iforest has no skl2onnx graph in this configuration ...; refit with the default to export"."""
    from safetensors.numpy import load_file

    pytest.importorskip("had_deepsad")
    X = _rows(10, 300, 6) / 100.0
    det = had.get_detector("hybrid-iforest", ae_epochs=2, ae_batch_size=32, device="cpu", hidden=[8], rep_dim=5,
                           n_estimators=30, max_samples=64, max_features=0.5, seed=1).fit(X)
    path = _as_saved_before(had.save(det, tmp_path / "m"), "inner.onnx_core")
    assert "inner.onnx_core" not in load_file(str(path / "weights.safetensors"))
    loaded = had.load(path)
    assert getattr(loaded.inner_, "input_spec_", None) is None  # what the fix must do without
    graph = loaded.export_onnx()
    model = onnx.load_from_string(graph)
    assert {p.key: p.value for p in model.metadata_props}["exporter"] == "torch.onnx(dynamo) + onnx.helper"
    ensemble = next(n for n in model.graph.node if n.op_type == "TreeEnsembleRegressor")
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in ensemble.attribute}
    assert max(attrs["nodes_featureids"]) < 5 and len(set(attrs["nodes_treeids"])) == 30
    eager = loaded.decision_function(X)
    np.testing.assert_allclose(eager, det.decision_function(X), rtol=1e-12, atol=1e-15)
    _assert_within_declared(_exported_scores(graph, X), eager)
    assert verify_export(graph, loaded, X)["passed"]


def test_arrays_that_do_not_fit_the_input_are_an_artifact_error_at_export(tmp_path):
    """The graph is built for the input spec's columns only where the arrays fit them: each tree draws
    ``max(1, int(max_features * columns))`` of them (a manifest saying max_features=0.25 of a forest drawing 3 of
    6: one ArtifactError line, not a graph of the wrong input)."""
    from had.errors import ArtifactError

    X = _rows(11, 300, 6)
    det = had.get_detector("pyod-iforest", n_estimators=10, max_samples=32, max_features=0.5).fit(X)
    path = _as_saved_before(had.save(det, tmp_path / "m"), "onnx_core", {"max_features": 0.25})
    loaded = had.load(path)  # its scores come from the arrays, which are whole
    with pytest.raises(ArtifactError, match=r"pyod-iforest: its trees draw 3 features each, not the 1 that "
                                            r"max_features=0.25 draws of 6 input columns; a broken or tampered"):
        loaded.export_onnx()


def test_a_hybrids_inner_arrays_that_do_not_fit_are_said_with_the_hybrids_name(tmp_path):
    """The same ArtifactError from inside a hybrid-iforest named pyod-iforest alone, a model the user never gave."""
    from safetensors.numpy import load_file

    from had.errors import ArtifactError

    pytest.importorskip("had_deepsad")
    X = _rows(12, 200, 6) / 100.0
    det = had.get_detector("hybrid-iforest", ae_epochs=1, ae_batch_size=32, device="cpu", hidden=[8], rep_dim=5,
                           n_estimators=10, max_samples=32, max_features=0.5, seed=1).fit(X)
    loaded = had.load(_as_saved_before(had.save(det, tmp_path / "m"), "inner.onnx_core", {"max_features": 0.25}))
    with pytest.raises(ArtifactError, match=r"^hybrid-iforest: the inner pyod-iforest: its trees draw 2 features "
                                            r"each, not the 1 that max_features=0.25 draws of 5 input columns"):
        loaded.export_onnx()
    # the graph an artifact holds is checked after it is handed back: said with the hybrid's name too (review)
    path = _as_saved_before(had.save(det, tmp_path / "m2"), "inner.onnx_core")
    state = load_file(str(path / "weights.safetensors"))
    state["inner.onnx_core"] = np.frombuffer(b"not an onnx graph", dtype=np.uint8)
    _rewrite(path, state)
    with pytest.raises(ArtifactError, match=r"^hybrid-iforest: the inner pyod-iforest: the ONNX graph its state "
                                            r"holds \(onnx_core\) is not an ONNX model"):
        had.load(path).export_onnx()


def test_a_model_whose_arrays_give_no_graph_says_so_in_a_typed_error(tmp_path):
    """What still cannot export is an ExportNotSupported that says why: a pyod-ocsvm artifact whose skl2onnx graph
    is missing (skl2onnx converts the scikit-learn object, which a loaded model no longer has). Was: "this model
    has no ONNX graph (); refit it to export", an empty reason."""
    X = _rows(12, 200, 4) / 100.0
    det = had.get_detector("pyod-ocsvm").fit(X)
    loaded = had.load(_as_saved_before(had.save(det, tmp_path / "m"), "onnx_core"))
    with pytest.raises(had.ExportNotSupported, match=r"^pyod-ocsvm: this model has no ONNX graph: its artifact holds "
                                                     r"none \(onnx_core\) and its arrays cannot give one; refit it "
                                                     "to export$"):
        loaded.export_onnx()
