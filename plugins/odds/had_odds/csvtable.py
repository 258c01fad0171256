"""A table of rows from a CSV (or TSV) file: the features and, when the header names it, the 0/1 label column.

The delimiter is sniffed (comma, semicolon, tab or space); a first line with a cell that is not a number is the
header. Every column but the label column is a feature. The label column is the one the header names `y_key`
(``y`` by default; another name the header lacks is refused as a typo); a header without ``y`` but with a column
whose name says it holds labels (``label``, ``class``,
``outlier``, ...) is refused, since reading it as a feature would hand the detector the answer: name it with
``y_key=NAME``, or keep it as a feature with ``y_key=null``. A file without a header has no labels.

Bad cells get one typed line naming the row and column: an empty cell, text, a row of another length.
"""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path

import numpy as np
from had.errors import DataFileError, InvalidInputError

SUFFIXES = (".csv", ".tsv")
#: header names (lower case) that say a column holds labels, not a feature
LABEL_NAMES = ("y", "label", "labels", "class", "target", "outlier", "outliers", "anomaly", "anomalies",
               "is_anomaly", "is_outlier", "ground_truth", "gt")
_SNIFF_BYTES = 1 << 16
DEFAULT_Y_KEY = "y"  # table-file's default: absent from a header, the table has no labels


def _number(text: str) -> float | None:
    """The cell as numpy's reader reads it, or None. Python's ``float`` also takes digit groups (``1_000``), which
    numpy's reader and pandas refuse: such a cell was read as 1000 (numpy's reader refused it, and the cell-by-cell
    reader that then looks for the bad cell took it)."""
    if "_" in text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def read_csv_table(path: Path, y_key: str | None) -> tuple[np.ndarray, np.ndarray | None, list[str] | None]:
    """``(X, y, feature names)`` of a CSV file; `y` None without a label column, the names None without a header."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path} is not a UTF-8 text file ({exc.reason} at byte {exc.start}); "
                            "save the table as CSV in UTF-8") from None
    if not text.strip():
        raise DataFileError(f"{path} holds no rows; write one row per sample")
    try:
        dialect = csv.Sniffer().sniff(text[:_SNIFF_BYTES], delimiters=",;\t ")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    first = next(row for row in csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True)
                 if any(cell.strip() for cell in row))
    header = None
    # a cell that is not a number makes the line a header; `1_000` counts as a number here, so that a first row
    # holding one is refused as a bad cell below rather than taken for column names (a row lost without a word)
    if any(cell.strip() and _number(cell.replace("_", "")) is None for cell in first):  # empty: a missing value
        header = [cell.strip() for cell in first]
    if header is not None and "" in header:  # pandas' to_csv writes its index under an empty name
        raise InvalidInputError(f"{path}: column {header.index('') + 1} of the header has no name (pandas writes "
                                "its row index so: save with DataFrame.to_csv(path, index=False)); name or drop it")
    label_column = _label_column(path, header, y_key)
    try:  # numpy's C reader; on any bad cell, the loop below finds it and says where
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data": said below, as an error
            values = np.loadtxt(io.StringIO(text), dtype=np.float64, delimiter=None if delimiter == " " else delimiter,
                                skiprows=1 if header else 0, ndmin=2, quotechar='"', encoding=None)
    except ValueError:
        values = _parse_cells(path, text, delimiter, header)
    if values.size == 0:
        raise DataFileError(f"{path} holds a header and no rows; write one row per sample")
    if label_column is None:
        return values, None, header
    features = [c for c in range(values.shape[1]) if c != label_column]
    names = [header[c] for c in features] if header else None
    return values[:, features], values[:, label_column], names


def _parse_cells(path: Path, text: str, delimiter: str, header: list[str] | None) -> np.ndarray:
    """The table cell by cell, for the line and column of the first bad cell (numpy's reader only says which line)."""
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True)
            if any(cell.strip() for cell in row)]
    rows = rows[1:] if header else rows
    width = len(header) if header else len(rows[0])
    values = np.empty((len(rows), width), dtype=np.float64)
    for r, row in enumerate(rows):
        line = r + (2 if header else 1)
        if len(row) != width:
            raise InvalidInputError(f"{path}, line {line}: {len(row)} fields where the "
                                    f"{'header' if header else 'first row'} has {width}; give every row "
                                    "the same columns")
        for c, cell in enumerate(row):
            number = _number(cell)
            if number is None:
                column = repr(header[c]) if header else str(c + 1)
                what = "is empty" if not cell.strip() else f"holds {cell.strip()[:20]!r}, not a number"
                fix = "fill or drop that row"
                if _number(cell.strip().replace(",", ".", 1)) is not None:  # 0,1257: European Excel's decimals
                    fix = "a decimal comma: save the table with decimal points (the separator may be ';')"
                raise InvalidInputError(f"{path}, line {line}, column {column} {what}; {fix}")
            values[r, c] = number
    return values


def _label_column(path: Path, header: list[str] | None, y_key: str | None) -> int | None:
    if header is None or y_key is None:
        return None
    if y_key in header:
        return header.index(y_key)
    if y_key != DEFAULT_Y_KEY:  # a name the user gave that the header lacks: a typo, never "no labels"
        raise InvalidInputError(f"{path}: no column {y_key!r} in the header ({', '.join(header)}); name the label "
                                "column as the header writes it, or pass --data y_key=null for no labels")
    looks = [name for name in header if name.lower() in LABEL_NAMES]
    if looks:
        raise InvalidInputError(f"{path}: no column {y_key!r}, but column {looks[0]!r} looks like labels; name it "
                                f"with --data y_key={looks[0]}, or keep it as a feature with --data y_key=null")
    return None
