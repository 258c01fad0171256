""".npy and .npz files too large for memory are said to be so, not called corrupt.

A MemoryError while numpy loaded one was reported as "is corrupt or not a .npz file (MemoryError: Unable to
allocate 3.73 GiB ...)". It now says the file could not be read into memory and what to do, as a .mat file's does;
and an array whose .npy header declares more than the memory available (or more bytes than follow the header) is
refused from the header, before numpy allocates it.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from had import mat_reader
from had.errors import DataFileError
from had.matfile import list_keys, read_arrays, read_npy

ALLOCATE = "Unable to allocate 3.73 GiB for an array with shape (500000000,) and data type float64"


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _refused_before_reading(monkeypatch):
    """Memory for 100 bytes, and numpy's array reader failing the test if it is reached."""
    monkeypatch.setattr(mat_reader, "available_memory", lambda: 100)

    def read_array(*args, **kwargs):
        raise AssertionError("the array was read")

    monkeypatch.setattr(np.lib.format, "read_array", read_array)


def test_a_npy_array_larger_than_memory_is_refused_from_its_header(tmp_path, monkeypatch):
    path = tmp_path / "scene.npy"
    np.save(path, np.zeros((3, 4, 5)))  # 480 bytes
    _refused_before_reading(monkeypatch)
    with pytest.raises(DataFileError, match=r"scene.npy: its array is 3x4x5 values of 8 bytes \(480 bytes\), more than "
                                            r"the 100 bytes of memory available; a .npy file is read whole: save a "
                                            r"scene this large as ENVI or GeoTIFF, which had reads tile by tile"):
        read_npy(path)


@pytest.mark.parametrize("member", ["X.npy", "X"], ids=["named-X.npy", "named-X"])
def test_a_npz_member_larger_than_memory_is_refused_from_its_header(tmp_path, monkeypatch, member):
    """Compressed, as a zip bomb is (numpy reads a member named 'X' without '.npy' as an array too)."""
    path = tmp_path / "table.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, _npy_bytes(np.zeros((20, 10))))  # 1600 bytes
        archive.writestr("y.npy", _npy_bytes(np.zeros(5)))
    _refused_before_reading(monkeypatch)
    with pytest.raises(DataFileError, match=r"table.npz: 'X' is 20x10 values of 8 bytes \(1.6 KiB\), more than the "
                                            r"100 bytes of memory available; a .npz file is read whole"):
        read_arrays(path, ["X", "y"])


def test_a_npy_header_declaring_more_than_the_file_holds_is_truncated(tmp_path):
    """A 928-byte file whose header declares 100000 x 100000 x 200 doubles: numpy allocated them first (a
    MemoryError said as corruption)."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False,
                                               "shape": (100000, 100000, 200)})
    header = buf.getvalue()
    path = tmp_path / "huge.npy"
    path.write_bytes(header + b"\0" * 800)
    with pytest.raises(DataFileError, match=r"huge.npy is truncated: the header of its array declares "
                                            r"100000x100000x200 values of float64 \(16,000,000,000,000 bytes\) but "
                                            r"800 bytes follow it; re-create it with numpy.save"):
        read_npy(path)
    archive = tmp_path / "huge.npz"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as out:
        out.writestr("X.npy", header + b"\0" * 800)
    with pytest.raises(DataFileError, match=r"huge.npz is truncated: the header of 'X' declares 100000x100000x200 "
                                            r"values of float64 .* but 800 bytes follow it; re-create it with "
                                            r"numpy.savez"):
        read_arrays(archive, ["X"])


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_a_memory_error_while_loading_is_said_as_such_not_as_corruption(tmp_path, monkeypatch, suffix):
    path = tmp_path / f"scene{suffix}"
    if suffix == ".npy":
        np.save(path, np.zeros(3))
    else:
        np.savez(path, X=np.zeros(3))

    def short_of_memory(*args, **kwargs):
        raise MemoryError(ALLOCATE)

    monkeypatch.setattr(np, "load", short_of_memory)
    message = (rf"scene\{suffix} could not be read into memory \(MemoryError: Unable to allocate 3.73 GiB for an "
               rf"array with shape \(500000000,\) and data type float64\); a \{suffix} file is read whole: save a "
               r"scene this large as ENVI or GeoTIFF, which had reads tile by tile")
    with pytest.raises(DataFileError, match=message) as info:
        read_npy(path) if suffix == ".npy" else read_arrays(path, ["X"])
    assert "corrupt" not in str(info.value)
    if suffix == ".npz":
        with pytest.raises(DataFileError, match=message):
            list_keys(path)


def test_arrays_that_fit_still_read(tmp_path):
    np.save(tmp_path / "scene.npy", np.arange(6.0).reshape(2, 3))
    np.savez_compressed(tmp_path / "table.npz", X=np.ones((4, 2)), y=np.zeros(4))
    np.testing.assert_array_equal(read_npy(tmp_path / "scene.npy"), np.arange(6.0).reshape(2, 3))
    arrays = read_arrays(tmp_path / "table.npz", ["X", "y"])
    assert arrays["X"].shape == (4, 2) and arrays["y"].shape == (4,)
