"""``table-file`` on a CSV or TSV table: features, the header's label column, the guard against a label column read
as a feature, bad cells named by line and column, and the CLI claiming ``.csv``. No data files needed."""

from __future__ import annotations

import subprocess
import sys

import had
import numpy as np
import pytest
from had.errors import DataFileError, InvalidInputError, LabelError


@pytest.fixture
def table():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3))
    X[[5, 30]] += 8.0
    y = np.zeros(40, dtype=int)
    y[[5, 30]] = 1
    return X, y


def _write(path, X, y=None, header=None, delimiter=","):
    lines = [delimiter.join(header)] if header else []
    for i, row in enumerate(X):
        cells = [repr(float(v)) for v in row] + ([str(y[i])] if y is not None else [])
        lines.append(delimiter.join(cells))
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.mark.parametrize("delimiter,suffix", [(",", ".csv"), (";", ".csv"), ("\t", ".tsv"), (" ", ".csv")])
def test_features_and_the_headers_label_column(tmp_path, table, delimiter, suffix):
    X, y = table
    path = _write(tmp_path / f"t{suffix}", X, y, ["a", "b", "c", "y"], delimiter)
    data = had.load_dataset("table-file", path=path)
    np.testing.assert_array_equal(data.X, X)
    np.testing.assert_array_equal(data.y, y)
    assert data.meta["feature_names"] == ["a", "b", "c"] and data.name == "t"
    scores = had.get_detector("rx").fit(data.X).decision_scores_
    assert set(np.argsort(scores)[-2:]) == {5, 30}


def test_without_a_header_every_column_is_a_feature(tmp_path, table):
    X, _ = table
    data = had.load_dataset("table-file", path=_write(tmp_path / "plain.csv", X))
    np.testing.assert_array_equal(data.X, X)
    assert data.y is None and data.meta["feature_names"] is None


def test_a_column_that_looks_like_labels_is_never_read_as_a_feature(tmp_path, table):
    X, y = table
    path = _write(tmp_path / "t.csv", X, y, ["a", "b", "c", "Label"])
    with pytest.raises(InvalidInputError, match=r"no column 'y', but column 'Label' looks like labels; name it "
                                                r"with y_key='Label', or keep it as a feature with"):
        had.load_dataset("table-file", path=path)
    data = had.load_dataset("table-file", path=path, y_key="Label")
    np.testing.assert_array_equal(data.y, y)
    assert data.X.shape == (40, 3)
    assert had.load_dataset("table-file", path=path, y_key=None).X.shape == (40, 4)  # the user's choice
    with pytest.raises(InvalidInputError, match=r"no column 'Lable' in the header \(a, b, c, Label\)"):
        had.load_dataset("table-file", path=path, y_key="Lable")  # a typo is not "no labels"
    bad = _write(tmp_path / "bad.csv", X, y * 2, ["a", "b", "c", "y"])
    with pytest.raises(LabelError, match="expected 0 = normal, 1 = anomaly"):
        had.load_dataset("table-file", path=bad)


@pytest.mark.parametrize("text,message", [
    ("a,b\n1,2\n3,\n", r"line 3, column 'b' is empty; fill or drop that row"),
    ("a,b\n1,2\nx,4\n", r"line 3, column 'a' holds 'x', not a number"),
    ("a,b\n1,2\n1_000,4\n", r"line 3, column 'a' holds '1_000', not a number"),  # was read as 1000
    ("a;b\n1,5;2\n3;4\n", r"line 2, column 'a' holds '1,5', not a number; a decimal comma: save the table with "
                           r"decimal points"),
    ("1,2\n3,4,5\n", r"line 2: 3 fields where the first row has 2; give every row the same columns"),
    ("a,b\n", r"holds a header and no rows"),
    (",a,b\n0,1,2\n1,3,4\n", r"column 1 of the header has no name \(pandas writes its row index so"),
    ("\n\n", r"holds no rows"),
])
def test_bad_cells_are_named_by_line_and_column(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises((InvalidInputError, DataFileError), match=message) as info:
        had.load_dataset("table-file", path=str(path))
    assert "\n" not in str(info.value)


def test_quotes_a_byte_order_mark_and_a_text_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "q.csv"
    path.write_bytes(b'\xef\xbb\xbf"a","b"\n"1","2"\n"3","4"\n')
    np.testing.assert_array_equal(had.load_dataset("table-file", path=str(path)).X, [[1, 2], [3, 4]])
    (tmp_path / "latin.csv").write_bytes(b"caf\xe9,b\n1,2\n")
    with pytest.raises(DataFileError, match="is not a UTF-8 text file"):
        had.load_dataset("table-file", path=str(tmp_path / "latin.csv"))


def test_the_cli_fits_and_scores_a_csv_and_reports_a_bad_one_in_one_line(tmp_path, table):
    X, y = table
    path = _write(tmp_path / "t.csv", X, y, ["a", "b", "c", "y"])

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "had.cli", *args], capture_output=True, text=True, timeout=300)

    fitted = cli("fit", "rx", path, "-o", str(tmp_path / "m"))
    assert fitted.returncode == 0, fitted.stderr
    assert "auroc_on_fit_data 1.0000" in fitted.stdout
    scored = cli("score", str(tmp_path / "m"), path, "-o", str(tmp_path / "s.npy"))
    assert scored.returncode == 0, scored.stderr
    assert set(np.argsort(np.load(tmp_path / "s.npy"))[-2:]) == {5, 30}
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n3,oops\n")
    failed = cli("fit", "rx", str(tmp_path / "bad.csv"), "-o", str(tmp_path / "m2"))
    assert failed.returncode == 2 and failed.stderr.strip().count("\n") == 0
    assert "line 3, column 'b' holds 'oops'" in failed.stderr and not (tmp_path / "m2").exists()


def test_a_first_row_with_digit_groups_is_a_bad_row_not_a_header(tmp_path):
    """``1_000`` in a headerless file's first row made that row the header (it is not a number to Python's strict
    reading): the row was lost without a word. It is refused as the later rows' ``1_000`` is (a review)."""
    path = tmp_path / "h.csv"
    path.write_text("1_000,2,0\n3,4,1\n5,6,0\n7,8,0\n")
    with pytest.raises(InvalidInputError, match=r"line 1, column 1 holds '1_000', not a number"):
        had.load_dataset("table-file", path=str(path))
