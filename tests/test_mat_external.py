"""A MATLAB v7.3 (HDF5) file never makes had read data outside it.

HDF5 lets a dataset keep its bytes in other files (external storage: ``external=[('/etc/passwd', 0, n)]``, also
relative), lets a name be a link into another file (an external link, or a soft link through one), and lets a
dataset be a view of other files' datasets (a virtual dataset). Each was read: ``had fit rx x.mat`` trained on
/etc/passwd, and external storage on a FIFO hung the reader until HAD_MAT_TIMEOUT. Each is now one DataFileError
saying so, raised before any byte is read, in the reader's child process and in-process alike.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from test_reliability_cli import assert_one_line, run_cli
from test_reliability_files import alarm, snapshot, write_v73  # noqa: F401 (alarm: a fixture)

import had
from had.errors import DataFileError
from had.matfile import list_keys, only_array, read_arrays

h5py = pytest.importorskip("h5py")

OUTSIDE = (r"'data' is stored outside the file \(({what})\): had reads only data inside the file; save it with "
           r"the data inside \(MATLAB save -v7\.3 does\)")
SHAPE = (3, 4, 5)  # MATLAB's shape; HDF5 holds it transposed
SECRET = bytes(range(256)) * 2  # 512 bytes: 3x4x5 doubles would need 480 of them


def _v73(path: Path) -> None:
    """An empty v7.3 file (MATLAB's 512-byte header) holding one ordinary variable, 'map'."""
    write_v73(path, {"map": np.zeros(SHAPE[:2])})


def _secret(folder: Path) -> Path:
    secret = folder / "secret.bin"
    secret.write_bytes(SECRET)
    return secret


def _external_absolute(folder: Path) -> Path:
    path = folder / "scene.mat"
    _v73(path)
    with h5py.File(path, "a") as fh:
        ds = fh.create_dataset("data", shape=SHAPE[::-1], dtype="f8",
                               external=[(str(_secret(folder)), 0, 480)])
        ds.attrs["MATLAB_class"] = np.bytes_("double")
    return path


def _external_relative(folder: Path) -> Path:
    """``../`` enough times to reach the root from any working folder, then the secret's path."""
    relative = "../" * 40 + str(_secret(folder)).lstrip("/")
    path = folder / "scene.mat"
    _v73(path)
    with h5py.File(path, "a") as fh:
        fh.create_dataset("data", shape=SHAPE[::-1], dtype="f8", external=[(relative, 0, 480)])
    return path


def _target(folder: Path) -> Path:
    """Another HDF5 file holding a dataset 'x' the shape of a scene."""
    target = folder / "target.h5"
    with h5py.File(target, "w") as fh:
        fh.create_dataset("x", data=np.arange(60.0).reshape(SHAPE[::-1]))
        fh.create_group("grp").create_dataset("x", data=np.arange(60.0).reshape(SHAPE[::-1]))
    return target


def _external_link(folder: Path) -> Path:
    target, path = _target(folder), folder / "scene.mat"
    _v73(path)
    with h5py.File(path, "a") as fh:
        fh["data"] = h5py.ExternalLink(str(target), "/x")
    return path


def _soft_link_to_external_link(folder: Path) -> Path:
    target, path = _target(folder), folder / "scene.mat"
    _v73(path)
    with h5py.File(path, "a") as fh:
        fh["hidden"] = h5py.ExternalLink(str(target), "/x")
        fh["data"] = h5py.SoftLink("/hidden")
    return path


def _soft_link_through_external_group(folder: Path) -> Path:
    target, path = _target(folder), folder / "scene.mat"
    _v73(path)
    with h5py.File(path, "a") as fh:
        fh["#refs#"] = h5py.ExternalLink(str(target), "/grp")  # a group MATLAB's files have, here elsewhere
        fh["data"] = h5py.SoftLink("/#refs#/x")
    return path


def _virtual(folder: Path) -> Path:
    target, path = _target(folder), folder / "scene.mat"
    _v73(path)
    layout = h5py.VirtualLayout(shape=SHAPE[::-1], dtype="f8")
    layout[:] = h5py.VirtualSource(str(target), "x", shape=SHAPE[::-1])
    with h5py.File(path, "a") as fh:
        fh.create_virtual_dataset("data", layout, fillvalue=0)
    return path


CASES = {
    "external-storage": (_external_absolute, "HDF5 external storage in '.*secret.bin'"),
    "external-storage-relative": (_external_relative, r"HDF5 external storage in '(\.\./)+.*secret\.bin'"),
    "external-link": (_external_link, "an external link to '.*target.h5'"),
    "soft-link-to-external-link": (_soft_link_to_external_link, "an external link to '.*target.h5'"),
    "soft-link-through-external-group": (_soft_link_through_external_group, "an external link to '.*target.h5'"),
    "virtual-dataset": (_virtual, "a virtual dataset"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_data_stored_outside_a_v73_file_is_refused(tmp_path, case):
    make, what = CASES[case]
    path = make(tmp_path)
    before = snapshot(tmp_path)
    message = OUTSIDE.format(what=what)
    with pytest.raises(DataFileError, match=message) as info:  # the reader's child process
        read_arrays(path, ["data"])
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(DataFileError, match=message):  # in-process (a file whose digest the caller vouches for)
        read_arrays(path, ["data"], sha256=digest)
    with pytest.raises(DataFileError, match=message):  # the headers read to tell a scene from a table
        only_array(path)
    with pytest.raises(DataFileError, match=message):
        had.load_dataset(str(path))
    assert {"data", "map"} <= set(list_keys(path))  # names alone are read
    np.testing.assert_array_equal(read_arrays(path, ["map"])["map"], np.zeros(SHAPE[:2]))  # the rest still reads
    assert snapshot(tmp_path) == before


def test_external_storage_on_a_fifo_is_refused_without_waiting(tmp_path, monkeypatch, alarm):  # noqa: F811
    """Was: the reader blocked opening the FIFO until HAD_MAT_TIMEOUT (600 s) stopped it."""
    monkeypatch.setenv("HAD_MAT_TIMEOUT", "30")
    os.mkfifo(tmp_path / "fifo")
    path = tmp_path / "scene.mat"
    _v73(path)
    with h5py.File(path, "a") as fh:
        fh.create_dataset("data", shape=SHAPE[::-1], dtype="f8", external=[(str(tmp_path / "fifo"), 0, 480)])
    with pytest.raises(DataFileError, match=OUTSIDE.format(what="HDF5 external storage in '.*fifo'")):
        read_arrays(path, ["data"])


def test_the_cli_refuses_a_file_with_external_storage_in_one_line(tmp_path, capsys):
    path = _external_absolute(tmp_path)
    code, _, err = run_cli(capsys, "fit", "rx", str(path), "-o", str(tmp_path / "model"))
    assert_one_line(code, err, str(path), "stored outside the file", "HDF5 external storage")
    assert not (tmp_path / "model").exists()


def test_links_and_references_inside_the_file_still_read_and_are_not_followed(tmp_path):
    """A soft link to a dataset in the same file is that dataset; an HDF5 object reference (a MATLAB cell) or a
    compound holding one is not a numeric array, and what it points at is never read."""
    cube = np.arange(60.0).reshape(SHAPE)
    path = tmp_path / "scene.mat"
    write_v73(path, {"cube": cube})
    with h5py.File(path, "a") as fh:
        fh["data"] = h5py.SoftLink("/cube")
        fh["grp"] = h5py.SoftLink("/")  # a relative soft link through a group
        fh["rel"] = h5py.SoftLink("grp/cube")
        fh["loop"] = h5py.SoftLink("/loop")
        record = fh.create_dataset("record", shape=(1,), dtype=np.dtype([("real", h5py.ref_dtype), ("imag", "f8")]))
        record[0] = (fh["cube"].ref, 0.0)
    np.testing.assert_array_equal(read_arrays(path, ["data"])["data"], cube)
    np.testing.assert_array_equal(read_arrays(path, ["rel"])["rel"], cube)
    with pytest.raises(DataFileError, match="'record' is a MATLAB cell, struct, sparse or object array"):
        read_arrays(path, ["record"])
    with pytest.raises(DataFileError, match="corrupt"):  # a soft link to itself ends
        read_arrays(path, ["loop"])
