"""Property-based tests of the loaders: a mutated file gives its arrays or a DataFileError, and never kills us.

`.npy`/`.npz` are parsed in this process (pure Python/zlib); `.mat` (MAT 5 and v7.3) always through the child
reader, since scipy and HDF5 may crash on them. ``HAD_FUZZ_EXAMPLES`` raises the counts and widens the search
for MAT files that crash scipy from one tag to the whole file (tests/fuzzing.py).
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
from fuzzing import fuzz, fuzz_examples
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from matcrash import crash_cases, search_crashes, valid_mat

import had
from had.errors import DataFileError, HadError
from had.matfile import read_arrays, read_npy


def _npy() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.arange(30, dtype=np.float32).reshape(5, 6))
    return buf.getvalue()


def _npz() -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, X=np.arange(40.0).reshape(10, 4), y=np.r_[np.zeros(9), 1])
    return buf.getvalue()


NPY, NPZ, MAT = _npy(), _npz(), valid_mat()


@st.composite
def mutated(draw, raw: bytes):
    """`raw` with 1-4 bytes replaced, or truncated, or with bytes appended."""
    data = bytearray(raw)
    kind = draw(st.sampled_from(["flip", "truncate", "append"]))
    if kind == "truncate":
        return bytes(data[: draw(st.integers(0, len(data) - 1))])
    if kind == "append":
        return bytes(data) + draw(st.binary(min_size=1, max_size=64))
    for _ in range(draw(st.integers(1, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


def _write(tmp: str, name: str, content: bytes) -> Path:
    path = Path(tmp) / name
    path.write_bytes(content)
    return path


@fuzz(ci=200)
@given(mutated(NPY))
def test_mutated_npy(content):
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(tmp, "x.npy", content)
        try:
            array = read_npy(path)
        except DataFileError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)
        else:
            assert isinstance(array, np.ndarray) and array.dtype != object
        assert path.read_bytes() == content


@fuzz(ci=200)
@given(mutated(NPZ))
def test_mutated_npz(content):
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(tmp, "x.npz", content)
        try:
            arrays = read_arrays(path, ["X", "y"])
        except DataFileError as exc:
            assert str(path) in str(exc)
        else:
            assert arrays["X"].dtype != object and arrays["y"].dtype != object
        assert sorted(p.name for p in Path(tmp).iterdir()) == ["x.npz"]


@fuzz(ci=8, scale=0.05)
@given(mutated(MAT))
def test_mutated_mat_in_the_child(content):
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(tmp, "x.mat", content)
        try:
            arrays = read_arrays(path, ["data", "map"])
        except DataFileError as exc:
            assert str(path) in str(exc)
        else:
            assert arrays["data"].dtype != object
        assert sorted(p.name for p in Path(tmp).iterdir()) == ["x.mat"]


def test_every_offset_that_crashes_scipy_is_survived(tmp_path):
    """Search one-byte corruptions that kill scipy; each must be a DataFileError through read_arrays."""
    path = tmp_path / "valid.mat"
    path.write_bytes(MAT)
    if fuzz_examples() is None:  # CI: the data tag of the first variable
        first = crash_cases()[0][0]
        offsets = range(first - 4, first + 4)
    else:
        offsets = range(len(MAT))
    hits = search_crashes(path, [(o, v) for o in offsets for v in (0x00, 0xFF)])
    if not hits:
        pytest.skip("no one-byte corruption in the searched range crashes this scipy")
    for offset, value, _signal in hits[: None if fuzz_examples() else 3]:
        bad = tmp_path / f"crash-{offset}-{value}.mat"
        data = bytearray(MAT)
        data[offset] = value
        bad.write_bytes(bytes(data))
        try:
            read_arrays(bad, ["data", "map"])
        except DataFileError as exc:
            assert str(bad) in str(exc)


array_strategy = arrays(
    st.sampled_from([np.float64, np.float32, np.int16, np.uint8, np.bool_, np.complex64, "<U2"]),
    st.lists(st.integers(0, 5), min_size=0, max_size=4).map(tuple),
    elements=None,
)


@fuzz(ci=120)
@given(st.sampled_from(["hsi-file", "table-file"]), array_strategy, st.one_of(st.none(), array_strategy))
def test_any_npz_content_loads_or_is_a_typed_error(source, data, truth):
    """A data plugin's file source on arrays of any shape and dtype: a valid Dataset or a HadError."""
    data_key, truth_key = ("data", "map") if source == "hsi-file" else ("X", "y")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "any.npz"
        np.savez(path, **{data_key: data, **({} if truth is None else {truth_key: truth})})
        try:
            dataset = had.load_dataset(source, path=str(path), **({} if truth is not None else
                                                                   {"map_key" if source == "hsi-file" else "y_key": None}))
        except HadError as exc:
            assert "\n" not in str(exc)
            return
        assert np.isfinite(dataset.X).all() and dataset.X.size > 0
        if dataset.y is not None:
            assert set(np.unique(dataset.y)) <= {0, 1}
