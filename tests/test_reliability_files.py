"""No data file kills, hangs or confuses the caller: corrupt MAT/NPZ/NPY files, MATLAB v7.3, FIFOs, folders, devices.

Every case asserts the typed error (DataFileError), that the message names the file, and that nothing in the
folder was touched. The MAT crash cases are one-byte corruptions of a small valid file made here
(tests/matcrash.py); each is checked to really kill a plain scipy caller first.
"""

from __future__ import annotations

import hashlib
import io
import os
import signal
import zipfile
from pathlib import Path

import numpy as np
import pytest
from matcrash import CUBE, MAP, corrupt, crash_cases, crashes_scipy, valid_mat

import had
from had.errors import ChecksumError, DataFileError
from had.matfile import list_keys, read_arrays, read_npy


def snapshot(folder: Path) -> dict[str, str]:
    """name -> sha256 of every entry under `folder` (folders and special files by kind)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "special"
    return out


@pytest.fixture
def alarm():
    """Fail instead of hanging: SIGALRM after 60 s."""
    def hung(*_):
        raise AssertionError("the call hung (no answer in 60 s)")
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_valid_mat_read_in_a_child_and_in_process(tmp_path):
    path = tmp_path / "scene.mat"
    path.write_bytes(valid_mat())
    untrusted = read_arrays(path, ["data", "map"])
    np.testing.assert_array_equal(untrusted["data"], CUBE)
    np.testing.assert_array_equal(untrusted["map"], MAP)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    trusted = read_arrays(path, ["data", "map"], sha256=digest)
    np.testing.assert_array_equal(trusted["data"], CUBE)
    assert sorted(list_keys(path)) == ["data", "map"]
    with pytest.raises(ChecksumError, match="sha256"):
        read_arrays(path, ["data"], sha256="0" * 64)
    with pytest.raises(DataFileError, match=r"has no key 'cube'; its keys are \['data', 'map'\]"):
        read_arrays(path, ["cube"])


@pytest.mark.parametrize("offset,value", crash_cases())
def test_a_mat_file_that_crashes_scipy_is_a_typed_error(tmp_path, offset, value):
    path = tmp_path / "scene.mat"
    path.write_bytes(corrupt(valid_mat(), offset, value))
    killed_by = crashes_scipy(path)
    before = snapshot(tmp_path)
    if killed_by is None:
        # this scipy survived the byte in this run (the wild read depends on memory layout; some runs do):
        # had must still answer, with the arrays or the typed error, and touch nothing (was: a skip, checking none)
        try:
            read_arrays(path, ["data", "map"])
        except DataFileError as exc:
            assert str(path) in str(exc)
        assert snapshot(tmp_path) == before
        return
    with pytest.raises(DataFileError) as info:
        read_arrays(path, ["data", "map"])
    # the wild read depends on memory layout: the reader's child may die of the signal or raise first
    assert str(path) in str(info.value) and "corrupt" in str(info.value)
    with pytest.raises(DataFileError, match="corrupt"):
        had.load_dataset("hsi-file", path=str(path))
    assert snapshot(tmp_path) == before


def test_every_crash_case_fails_cleanly_through_list_keys(tmp_path):
    raw = valid_mat()
    for offset, value in crash_cases():
        path = tmp_path / f"c{offset}.mat"
        path.write_bytes(corrupt(raw, offset, value))
        try:
            keys = list_keys(path)  # names only: may succeed on a corrupt body
        except DataFileError as exc:
            assert str(path) in str(exc)
        else:
            assert set(keys) <= {"data", "map"}


@pytest.mark.parametrize("content", [
    b"", b"MATLAB 5.0 MAT-file", b"not a mat file at all\n" * 20, valid_mat()[:200], valid_mat()[:-9],
], ids=["empty", "header-only", "text", "truncated-200", "truncated-tail"])
def test_broken_mat_files(tmp_path, content):
    path = tmp_path / "broken.mat"
    path.write_bytes(content)
    with pytest.raises(DataFileError) as info:
        read_arrays(path, ["data"])
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _encrypted(raw: bytes) -> bytes:
    """The zip with its 'encrypted' flag set (local and central headers): zipfile asks for a password."""
    data = bytearray(raw)
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            data[start + flag_at] |= 0x01
            start += 4
    return bytes(data)


def _flip_middle(raw: bytes) -> bytes:
    return corrupt(raw, len(raw) // 2, raw[len(raw) // 2] ^ 0xFF)


@pytest.mark.parametrize("make,message", [
    (lambda: b"", "empty or truncated"),
    (lambda: _npz(X=np.ones((5, 2)))[:30], "corrupt"),
    (lambda: _flip_middle(_npz(X=np.arange(400.0).reshape(100, 4))), "corrupt"),
    (lambda: _encrypted(_npz(X=np.ones((5, 2)))), "corrupt"),
], ids=["empty", "truncated", "bad-deflate", "encrypted"])
def test_broken_npz_files(tmp_path, make, message):
    path = tmp_path / "table.npz"
    path.write_bytes(make())
    before = snapshot(tmp_path)
    with pytest.raises(DataFileError, match=message) as info:
        read_arrays(path, ["X"])
    assert str(path) in str(info.value)
    assert snapshot(tmp_path) == before


def test_pickled_npz_and_npy_are_refused_without_suggesting_allow_pickle(tmp_path):
    np.savez(tmp_path / "obj.npz", X=np.array([{"a": 1}], dtype=object))
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    for call in (lambda: read_arrays(tmp_path / "obj.npz", ["X"]), lambda: read_npy(tmp_path / "obj.npy")):
        with pytest.raises(DataFileError, match="pickled") as info:
            call()
        assert "allow_pickle" not in str(info.value)


@pytest.mark.parametrize("content,message", [
    (b"", "empty or truncated"),
    (b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (1000,), }" + b" " * 50, "corrupt"),
    (_npz(X=np.ones(3)), "npz archive"),
    (b"garbage" * 10, "no NumPy header"),
], ids=["empty", "truncated", "npz-named-npy", "garbage"])
def test_broken_npy_files(tmp_path, content, message):
    path = tmp_path / "scene.npy"
    path.write_bytes(content)
    with pytest.raises(DataFileError, match=message):
        read_npy(path)


def test_a_fifo_is_refused_without_hanging(tmp_path, alarm):
    for name in ("scene.mat", "table.npz", "scene.npy"):
        fifo = tmp_path / name
        os.mkfifo(fifo)
        with pytest.raises(DataFileError, match="is a FIFO, not a regular file"):
            read_npy(fifo) if name.endswith(".npy") else read_arrays(fifo, ["X"])
    with pytest.raises(DataFileError, match="FIFO"):
        had.load_dataset("table-file", path=str(tmp_path / "table.npz"))


def test_a_folder_or_a_device_is_refused(tmp_path, alarm):
    (tmp_path / "scene.mat").mkdir()
    with pytest.raises(DataFileError, match="is a folder"):
        read_arrays(tmp_path / "scene.mat", ["data"])
    with pytest.raises(DataFileError, match="is a device"):
        read_npy("/dev/zero")
    with pytest.raises(DataFileError, match="does not exist"):
        read_arrays(tmp_path / "absent.mat", ["data"])


# ---- MATLAB v7.3 (HDF5) -----------------------------------------------------------------------------------

def write_v73(path: Path, variables: dict[str, np.ndarray], classes: dict[str, str] | None = None) -> None:
    """A file laid out as MATLAB's `save -v7.3` writes it: 512-byte text header, arrays stored transposed."""
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w", userblock_size=512) as fh:
        for name, value in variables.items():
            stored = np.asarray(value).T
            if stored.dtype == bool:
                stored = stored.astype(np.uint8)
            ds = fh.create_dataset(name, data=stored)
            ds.attrs["MATLAB_class"] = np.bytes_((classes or {}).get(name, "double"))
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Tue Dec  1 10:00:00 2026 HDF5 schema 1.00 ."
    with open(path, "r+b") as fh:
        fh.write(header.ljust(116) + b"\x00" * 8 + b"\x00\x02IM")


def test_a_matlab_v73_file_is_read_with_its_matlab_shape(tmp_path):
    cube = np.arange(60, dtype=np.float64).reshape(3, 4, 5)
    truth = np.zeros((3, 4), dtype=bool)
    truth[1, 2] = True
    path = tmp_path / "scene73.mat"
    write_v73(path, {"data": cube, "map": truth}, {"map": "logical"})
    arrays = read_arrays(path, ["data", "map"])
    np.testing.assert_array_equal(arrays["data"], cube)
    assert arrays["map"].dtype == bool and arrays["map"].shape == (3, 4) and arrays["map"][1, 2]
    assert sorted(list_keys(path)) == ["data", "map"]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    np.testing.assert_array_equal(read_arrays(path, ["data"], sha256=digest)["data"], cube)
    scene = had.load_dataset("hsi-file", path=str(path))
    assert scene.X.shape == (3, 4, 5) and int(scene.y.sum()) == 1


def test_a_v73_cell_array_and_a_missing_h5py_are_clear(tmp_path, monkeypatch):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "cells.mat"
    write_v73(path, {"data": np.ones((2, 2))})
    with h5py.File(path, "a") as fh:
        ref = fh.create_dataset("cell", shape=(1,), dtype=h5py.ref_dtype)
        ref[0] = fh["data"].ref
        ref.attrs["MATLAB_class"] = np.bytes_("cell")
    with pytest.raises(DataFileError, match="'cell' is a MATLAB cell, struct, sparse or object array"):
        read_arrays(path, ["cell"])
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setitem(__import__("sys").modules, "h5py", None)
    with pytest.raises(DataFileError, match=r"needs h5py: pip install 'had\[mat73\]'"):
        read_arrays(path, ["data"], sha256=digest)


def test_a_variable_larger_than_memory_is_refused_before_it_is_read(tmp_path, monkeypatch):
    """A v7.3 file whose 'data' is 100000 x 100000 x 200 doubles (a few KB on disk: empty compressed chunks) was
    "corrupt or not a .mat file (MemoryError: ...)"; one that fits the address space but not the memory had the
    reader killed by the kernel ("crashed on it (signal SIGKILL)"). Both are now said before any of it is read."""
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "huge73.mat"
    with h5py.File(path, "w", userblock_size=512) as fh:
        fh.create_dataset("data", shape=(200, 100000, 100000), dtype="f8", chunks=(10, 10, 10), compression="gzip")
    assert path.stat().st_size < 100_000
    with pytest.raises(DataFileError, match=r"huge73.mat: 'data' is 100000x100000x200 values of 8 bytes "
                                            r"\(14,901.2 GiB\), more than the [\d,.]+ GiB of memory available; a .mat "
                                            r"file is read whole: save a scene this large as ENVI or GeoTIFF"):
        read_arrays(path, ["data"])
    # the same check on a MAT 5 file read in this process (the limit made small rather than the file large)
    from had import mat_reader

    small = tmp_path / "scene.mat"
    small.write_bytes(valid_mat())
    digest = hashlib.sha256(small.read_bytes()).hexdigest()
    monkeypatch.setattr(mat_reader, "available_memory", lambda: 100)  # 2x3x4 doubles: 192 bytes
    with pytest.raises(DataFileError, match=r"scene.mat: 'data' is 2x3x4 values of 8 bytes \(192 bytes\), more "
                                            r"than the 100 bytes of memory available"):
        read_arrays(small, ["data"], sha256=digest)
    monkeypatch.setattr(mat_reader, "available_memory", lambda: None)  # not told: read as before
    np.testing.assert_array_equal(read_arrays(small, ["data"], sha256=digest)["data"], CUBE)

    def short_of_memory(path, keys):
        raise MemoryError("Unable to allocate 3.1 GiB")

    monkeypatch.setattr(mat_reader, "read", short_of_memory)
    with pytest.raises(DataFileError, match=r"scene.mat could not be read into memory \(MemoryError: Unable to "
                                            r"allocate 3.1 GiB\); a .mat file is read whole"):
        read_arrays(small, ["data"], sha256=digest)
