"""Export and ONNX runtime holes a probe found (6 December 2026): each test failed before its fix.

A model.onnx that is another model's, DataFrame columns in another order, junk metadata, sparse input, labels of
the wrong length, a non-detector, a refitted loaded detector, a deleted source folder, bad tolerances, a parity
message that read true, and a generated check that did not say so.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import had  # noqa: E402
from had import onnx_export  # noqa: E402
from had.errors import ArtifactError, ConfigError, InvalidInputError, LabelError  # noqa: E402
from had.onnx_export import export  # noqa: E402
from had.runtime import OnnxScorer  # noqa: E402


@pytest.fixture
def X(rng):
    return rng.standard_normal((120, 4)).astype(np.float32)


def _rehash(folder, name="model.onnx"):
    """The folder's manifest with `name`'s sha256 as it is now (a tamper that keeps the sha256 check quiet)."""
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _edit_manifest(folder, **changes):
    manifest = json.loads((folder / "manifest.json").read_text())
    for key, value in changes.items():
        if key.startswith("input_spec."):
            manifest["input_spec"][key.split(".", 1)[1]] = value
        else:
            manifest[key] = value
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _set_metadata(folder, **props):
    model = onnx.load(str(folder / "model.onnx"))
    have = {p.key: p for p in model.metadata_props}
    for key, value in props.items():
        if key in have:
            have[key].value = value
        else:
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
    (folder / "model.onnx").write_bytes(model.SerializeToString())
    _rehash(folder)


# ---- 3: a model.onnx of another model -------------------------------------------------------------------
def test_another_models_onnx_with_the_same_threshold_is_refused(tmp_path, X):
    a, b = tmp_path / "a", tmp_path / "b"
    export(had.get_detector("rx", threshold=5.0).fit(X), path=a)
    export(had.get_detector("pyod-knn", threshold=5.0).fit(X), path=b)
    shutil.copy(b / "model.onnx", a / "model.onnx")
    _rehash(a)
    with pytest.raises(ArtifactError, match="model.onnx is not this model's.*detector 'rx' in manifest.json"):
        OnnxScorer(a)


@pytest.mark.parametrize("key, value", [("input_spec.n_features", 5), ("input_spec.n_features", 10**12),
                                        ("input_spec.kind", "cube"), ("input_spec.kind", "image"),
                                        ("training_data_sha256", "0" * 64)])
def test_an_edited_manifest_that_the_graph_does_not_match_is_refused(tmp_path, X, key, value):
    folder = tmp_path / "m"
    export(had.get_detector("rx").fit(X), path=folder)
    OnnxScorer(folder)  # as exported: the same model
    _edit_manifest(folder, **{key: value})
    with pytest.raises(ArtifactError, match="is not this model's"):
        OnnxScorer(folder)


# ---- 4: DataFrame columns ------------------------------------------------------------------------------
def test_columns_in_another_order_are_refused_as_the_eager_engine_refuses_them(tmp_path, rng):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(rng.standard_normal((200, 4)) * [1, 10, 100, 1000], columns=list("abcd"))
    det = had.get_detector("rx").fit(df)
    export(det, path=tmp_path / "m")
    scorer = OnnxScorer(tmp_path / "m")
    reordered = df[list("dcba")]
    with pytest.raises(InvalidInputError, match="another order") as eager:
        det.decision_function(reordered)
    with pytest.raises(InvalidInputError, match="another order") as onnx_engine:
        scorer.score(reordered)
    assert str(onnx_engine.value) == str(eager.value)
    np.testing.assert_allclose(scorer.score(df), det.decision_function(df), rtol=1e-4)  # the right order scores


# ---- 5: a check on generated data says so, and is made where the model's data lies ------------------------
def test_a_check_on_generated_data_says_so_and_how_to_check_on_the_data(tmp_path, X):
    report = export(had.get_detector("rx").fit(X), path=tmp_path / "m")
    assert report["check_data"] == "generated around the fitted mean"
    text = "\n".join(onnx_export.report_lines(report))
    assert "generated standard-normal data around the fitted mean" in text
    assert f"had export {tmp_path / 'm'} DATA" in text and "parity passed on generated data" in text
    given = export(had.get_detector("rx").fit(X), X, path=tmp_path / "n")
    assert "check_data" not in given and "generated" not in "\n".join(onnx_export.report_lines(given))


def test_a_model_of_data_far_from_zero_is_checked_where_its_data_lies(tmp_path, rng):
    far = rng.standard_normal((2000, 4)) + 1e5  # float64, as the .npy a user fits on: float32 cannot hold it
    det = had.get_detector("rx").fit(far)
    with pytest.raises(onnx_export.ExportParityError, match="max relative error"):
        export(det, far)  # with the data: fails (its float32 input rounds the offset)
    with pytest.raises(onnx_export.ExportParityError, match="max relative error"):
        export(det, path=tmp_path / "m")  # was: passed on N(0, 1), max absolute error 7e3
    assert not (tmp_path / "m").exists()


# ---- 6: junk metadata ------------------------------------------------------------------------------------
@pytest.mark.parametrize("props", [{"nodata": "abc"}, {"pixelwise": "maybe"}, {"row_width": "wide"},
                                   {"context_rows": "-3"}])
def test_junk_metadata_is_an_artifact_error(tmp_path, X, props):
    export(had.get_detector("rx").fit(X), path=tmp_path / "m")
    _set_metadata(tmp_path / "m", **props)
    key = next(iter(props))
    with pytest.raises(ArtifactError, match=f"metadata's {key} is"):
        OnnxScorer(tmp_path / "m")


def test_a_scene_graphs_junk_min_extent_is_an_artifact_error(tmp_path, rng):
    cube = rng.standard_normal((6, 5, 4)).astype(np.float32)
    export(had.get_detector("rx").fit(cube), path=tmp_path / "m")
    _set_metadata(tmp_path / "m", pixelwise="false", min_extent="abc")
    with pytest.raises(ArtifactError, match="metadata's min_extent is 'abc'"):
        OnnxScorer(tmp_path / "m").score(cube)


# ---- 7: labels of the wrong length -----------------------------------------------------------------------
def test_labels_of_another_length_are_a_label_error(X):
    det = had.get_detector("rx").fit(X)
    with pytest.raises(LabelError, match="5 labels for 120 samples; pass one 0/1 label per sample"):
        export(det, X, y=np.zeros(5))
    big = np.zeros((70000, 4), np.float32)  # above CHECK_PIXELS: the window's labels were passed through
    with pytest.raises(LabelError, match="3 labels for 70000 samples"):
        onnx_export.export_and_verify(det, big, y=np.zeros(3))


# ---- 8: not a detector -----------------------------------------------------------------------------------
def test_exporting_what_is_not_a_detector_says_so(tmp_path, X):
    pipeline = pytest.importorskip("sklearn.pipeline")
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    pipe = pipeline.make_pipeline(preprocessing.StandardScaler(), had.get_detector("rx")).fit(X)
    with pytest.raises(ArtifactError, match="not a scikit-learn Pipeline"):
        export(pipe, path=tmp_path / "p")
    for thing in (None, 3):
        with pytest.raises(ArtifactError, match=f"not a {type(thing).__name__}"):
            export(thing, path=tmp_path / "p")
    assert not (tmp_path / "p").exists()


# ---- 9, 10: a loaded detector fitted again; its folder deleted --------------------------------------------
def test_a_refitted_loaded_detector_is_not_exported_over_its_folder(tmp_path, X, rng):
    folder = tmp_path / "m"
    had.save(had.get_detector("rx").fit(X), folder, metrics={"auroc_on_fit_data": 0.5})
    before = (folder / "manifest.json").read_text()
    loaded = had.load(folder)
    loaded.fit(rng.standard_normal((80, 4)).astype(np.float32) * 3)
    with pytest.raises(ArtifactError, match="fitted again since it was loaded.*nothing was written"):
        export(loaded)
    assert (folder / "manifest.json").read_text() == before
    export(loaded, path=tmp_path / "new")  # to a new folder: without the old fit's metrics
    assert json.loads((tmp_path / "new" / "manifest.json").read_text())["metrics"] == {}


def test_the_same_fit_keeps_its_metrics(tmp_path, X):
    had.save(had.get_detector("rx").fit(X), tmp_path / "m", metrics={"auroc_on_fit_data": 0.5})
    export(had.load(tmp_path / "m"))
    export(had.load(tmp_path / "m"), path=tmp_path / "copy")
    for folder in ("m", "copy"):
        assert json.loads((tmp_path / folder / "manifest.json").read_text())["metrics"] == {"auroc_on_fit_data": 0.5}


def test_a_deleted_source_folder_does_not_stop_an_export_to_a_new_one(tmp_path, X):
    had.save(had.get_detector("rx").fit(X), tmp_path / "src", metrics={"auroc_on_fit_data": 0.5})
    loaded = had.load(tmp_path / "src")
    shutil.rmtree(tmp_path / "src")
    report = export(loaded, path=tmp_path / "dst")
    assert report["path"] == str(tmp_path / "dst")
    np.testing.assert_allclose(OnnxScorer(tmp_path / "dst").score(X), loaded.decision_function(X), rtol=1e-4)


# ---- 11: sparse input ------------------------------------------------------------------------------------
def test_sparse_input_is_refused_as_the_eager_engine_refuses_it(tmp_path, X):
    sparse = pytest.importorskip("scipy.sparse")
    export(had.get_detector("rx").fit(X), path=tmp_path / "m")
    with pytest.raises(InvalidInputError, match="sparse input .* is not supported"):
        OnnxScorer(tmp_path / "m").score(sparse.csr_matrix(X))


# ---- 12: tolerances and seed -----------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [{"rtol": -1}, {"rtol": float("nan")}, {"rtol": 0}, {"rtol": "x"},
                                    {"seed": -1}, {"seed": 1.5}])
def test_bad_tolerances_and_seeds_are_config_errors(X, kwargs):
    det = had.get_detector("rx").fit(X)
    with pytest.raises(ConfigError, match=f"{next(iter(kwargs))} is"):
        export(det, **kwargs)


def test_a_detectors_bad_onnx_atol_is_a_config_error(X):
    det = had.get_detector("rx").fit(X)
    det.onnx_atol = float("inf")
    with pytest.raises(ConfigError, match="onnx_atol is inf"):
        export(det, X)


# ---- 13: the agreement reads as what it is ---------------------------------------------------------------
def test_label_agreement_shows_its_counts_and_never_rounds_up_to_the_limit():
    report = {"label_agreement": 3995 / 3999, "labels_agreeing": 3995, "labels_compared": 3999}
    said = onnx_export.agreement_text(report)
    assert said == "label agreement 3,995 of 3,999 samples (99.8999%)"


def test_a_parity_failure_on_labels_gives_the_counts(X, monkeypatch):
    det = had.get_detector("rx").fit(X)
    real = OnnxScorer.score

    def one_flipped(self, data, batch_size=65536):
        scores = real(self, data, batch_size)
        low = int(np.argmin(scores))
        scores[low] = det.threshold_ * 2  # the lowest score over the threshold: one label flipped
        return scores

    monkeypatch.setattr(OnnxScorer, "score", one_flipped)
    with pytest.raises(onnx_export.ExportParityError) as info:
        onnx_export.verify_export(det.export_onnx(), det, X, rtol=1e9)
    assert "label agreement 237 of 239 samples (99.1631%), below the 99.9% required" in str(info.value)
