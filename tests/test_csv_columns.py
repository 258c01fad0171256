"""A CSV's header names are kept in the model by ``had fit`` and checked by ``had score`` (one file, many files with
--out, both engines) and ``had export``, as the Python API keeps and checks a DataFrame's. Was: kept nowhere, so a
table whose columns were reordered (``c,a,b`` for ``a,b,c``) scored by position: "170 of 200 above the threshold"
where the model's own table gives 20. Each test failed on the code before its fix."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import had
from had.errors import InvalidInputError
from had_sdk.testing import run_cli
from test_reliability_cli import assert_one_line

pytest.importorskip("had_odds")  # the table-file source reads CSV files

REORDERED = "holds the model's columns in another order (c, a, b)"


@pytest.fixture
def tables(tmp_path):
    """a.csv (a,b,c), b.csv (the same columns as c,a,b), n.csv (a.csv without a header), d.csv (a,b,d)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    X[:, 2] *= 10
    np.savetxt(tmp_path / "a.csv", X, delimiter=",", header="a,b,c", comments="")
    np.savetxt(tmp_path / "b.csv", X[:, [2, 0, 1]], delimiter=",", header="c,a,b", comments="")
    np.savetxt(tmp_path / "n.csv", X, delimiter=",")
    np.savetxt(tmp_path / "d.csv", X, delimiter=",", header="a,b,d", comments="")
    return tmp_path


def _fit(capsys, tables, *extra):
    model = tables / "m"
    code, _, err = run_cli(capsys, "fit", "rx", tables / "a.csv", "-o", model, *extra)
    assert code == 0, err
    return model


def test_fit_keeps_the_header_names_in_the_manifest(capsys, tables):
    model = _fit(capsys, tables)
    spec = json.loads((model / "manifest.json").read_text())["input_spec"]
    assert spec["feature_names"] == ["a", "b", "c"]
    assert list(had.load(model).feature_names_in_) == ["a", "b", "c"]  # the Python API checks them too


@pytest.mark.parametrize("engine", ["eager", "onnx"])
def test_score_refuses_reordered_columns(capsys, tables, engine):
    if engine == "onnx":
        pytest.importorskip("onnxruntime")
        pytest.importorskip("onnx")
    model = _fit(capsys, tables, *(["--export"] if engine == "onnx" else []))
    out_file = tables / "s.csv"
    code, out, err = run_cli(capsys, "score", model, tables / "b.csv", "-o", out_file, "--engine", engine)
    assert_one_line(code, err, REORDERED, "write its columns in the model's order, a, b, c", "nothing was scored")
    assert "above the threshold" not in out and not out_file.exists()
    # the model's own table: scored, as before, and with no note about names
    code, out, err = run_cli(capsys, "score", model, tables / "a.csv", "--engine", engine)
    assert code == 0, err
    assert "a: tabular 200x3: 20 of 200 above the threshold" in out
    assert "note" not in out + err and "feature names" not in out + err


def test_score_refuses_other_names_and_says_which(capsys, tables):
    model = _fit(capsys, tables)
    code, _, err = run_cli(capsys, "score", model, tables / "d.csv")
    assert_one_line(code, err, "its header names other columns than the model was fitted on",
                    "unseen at fit: ['d']; missing: ['c']", "the model's columns are a, b, c")


def test_score_many_files_refuses_the_reordered_one(capsys, tables):
    model = _fit(capsys, tables)
    maps = tables / "maps"
    code, out, err = run_cli(capsys, "score", model, tables / "a.csv", tables / "b.csv", "--out", maps,
                             "--engine", "eager")
    assert code == 1, err
    assert REORDERED in err and "1 of 2 file(s) failed" in err
    assert (maps / "a.npy").exists() and not (maps / "b.npy").exists()


def test_export_refuses_reordered_check_data_and_carries_the_names(capsys, tables):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    model = _fit(capsys, tables)
    code, _, err = run_cli(capsys, "export", model, tables / "b.csv")
    assert_one_line(code, err, REORDERED)
    code, out, err = run_cli(capsys, "export", model, tables / "a.csv")
    assert code == 0, err
    assert "note" not in err and "feature names" not in out + err  # the check data's array: checked when read
    props = {p.key: p.value for p in onnx.load(str(model / "model.onnx")).metadata_props}
    assert json.loads(props["input_spec"])["feature_names"] == ["a", "b", "c"]


def test_a_table_without_header_is_scored_by_position_with_a_note(capsys, tables):
    model = _fit(capsys, tables)
    code, out, err = run_cli(capsys, "score", model, tables / "n.csv", "--engine", "eager")
    assert code == 0, err
    assert "n: tabular 200x3: 20 of 200 above the threshold" in out
    assert "  note: " in out and "names no columns (a CSV without a header, or an array file)" in out and "a, b, c" in out
    assert "X does not have valid feature names" not in out + err  # (was: the detector's warning, as a note)


def test_a_model_without_names_scores_a_headed_table_by_position(capsys, tables):
    """A model fitted on a table without a header (or saved before names were kept): scored as before, said."""
    model = tables / "plain"
    code, _, err = run_cli(capsys, "fit", "rx", tables / "n.csv", "-o", model)
    assert code == 0, err
    assert "feature_names" not in json.loads((model / "manifest.json").read_text())["input_spec"]
    code, out, err = run_cli(capsys, "score", model, tables / "b.csv")
    assert code == 0, err
    assert "b: tabular 200x3: 170 of 200 above the threshold" in out  # as before: by position
    assert "the model records no column names" in out and "taken by position, unchecked" in out


def test_python_api_warning_has_its_own_class_and_stays_a_user_warning(tables):
    from had.sklearn_compat import FeatureNamesWarning, names_checked_elsewhere

    pd = pytest.importorskip("pandas")
    frame = pd.read_csv(tables / "a.csv")
    det = had.get_detector("rx").fit(frame)
    with pytest.warns(FeatureNamesWarning, match="does not have valid feature names"):
        det.decision_function(frame.to_numpy())
    assert issubclass(FeatureNamesWarning, UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with names_checked_elsewhere():
            det.decision_function(frame.to_numpy())
    with pytest.raises(InvalidInputError, match=r"unseen at fit: \['d'\]\)"):  # (was: "; missing: []" too)
        det.decision_function(frame.assign(d=frame["c"]))
