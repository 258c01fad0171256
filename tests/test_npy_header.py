"""A ``.npy`` header had does not read (over numpy's 10,000-byte limit for untrusted files, a shape that is not
sizes, a subarray dtype, an unknown version) is one typed line saying so and why, from ``read_npy``, an ``.npz``
member, ``had score`` and ``had serve``'s request body: never numpy's hint to pass ``allow_pickle=True``, and
never "pickled" for an array of floats."""

from __future__ import annotations

import io
import struct
import threading
import zipfile

import numpy as np
import pytest

import had
from had.errors import DataFileError
from had.matfile import npy_header, read_arrays, read_npy
from serve_support import call

FLOATS = np.full(42, 0.1).tobytes()  # 2 x 21 float64
HEADER = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 21), "


def _npy(header: str, data: bytes = FLOATS, version: tuple[int, int] = (1, 0)) -> bytes:
    """A .npy file of `header` (padded as numpy pads it) and `data`."""
    text = header.encode("latin1")
    size = 2 if version == (1, 0) else 4
    text += b" " * ((64 - (6 + 2 + size + len(text) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY" + bytes(version) + struct.pack("<H" if size == 2 else "<I", len(text)) + text + data


#: float64 2 x 21 whose header holds an extra 20 kB key: a valid array numpy refuses to parse untrusted
LONG = _npy(HEADER + "'comment': '" + "x" * 20_000 + "', }")
LONG_SIZE = len(LONG) - 10 - len(FLOATS)


@pytest.mark.parametrize("content,message", [
    (LONG, f"its header is {LONG_SIZE:,} bytes, over numpy's 10,000-byte limit for untrusted files"),
    (_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (-2, -21), }"),
     "its shape (-2, -21) is not a list of sizes"),
    (_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (True, 21), }", FLOATS[:21 * 8]),
     "its shape (True, 21) is not a list of sizes"),
    (_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (" + str(10**23) + ", 0), }", b""),
     "has a size above numpy's largest"),
    (_npy("{'descr': ('<f8', (21,)), 'fortran_order': False, 'shape': (2,), }"),
     "its dtype is a subarray (21 values of float64 each)"),
    (_npy(HEADER + "}", version=(9, 0)), "its format version 9.0 is not one numpy writes"),
    (_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (" + "1, " * 65 + "), }", FLOATS[:8]),
     "its shape has 65 dimensions, more than numpy holds"),
], ids=["long", "negative", "bool", "huge", "subarray", "version", "rank"])
def test_a_header_had_does_not_read_is_said_with_its_reason(tmp_path, content, message):
    """Was: numpy's allow_pickle hint (long), "pickled" from read_npy, or these passed the header to fail later
    in a reshape with numpy's words."""
    with pytest.raises(ValueError) as info:  # had.matfile.NpyHeaderError
        npy_header(io.BytesIO(content))
    assert type(info.value).__name__ == "NpyHeaderError" and str(info.value).startswith("its ")
    assert message in str(info.value) and "allow_pickle" not in str(info.value)
    path = tmp_path / "scene.npy"
    path.write_bytes(content)
    with pytest.raises(DataFileError) as info:
        read_npy(path)
    text = str(info.value)
    assert text.startswith(f"{path} is not a .npy file had reads: its ") and message in text, text
    assert text.endswith("; save it again with numpy.save") and "pickle" not in text and "\n" not in text


def test_valid_headers_of_each_version_still_read():
    for version in ((1, 0), (2, 0), (3, 0)):
        assert npy_header(io.BytesIO(_npy(HEADER + "}", version=version))) == ((2, 21), False, np.dtype("<f8"))


def test_a_long_header_in_an_npz_member(tmp_path):
    """Was: "holds pickled (object) arrays" for a member of floats."""
    path = tmp_path / "table.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("X.npy", LONG)
    with pytest.raises(DataFileError) as info:
        read_arrays(path, ["X"])
    assert str(info.value) == (f"{path} is not a .npz file had reads: the array 'X': its header is {LONG_SIZE:,} "
                               "bytes, over numpy's 10,000-byte limit for untrusted files; save it again with "
                               "numpy.savez")


def test_had_score_says_a_long_header_is_not_pickled(tmp_path, capsys):
    from test_reliability_cli import assert_one_line, run_cli

    from had.rx import RX

    model = had.save(RX().fit(np.random.default_rng(0).normal(size=(50, 21))), tmp_path / "m")
    path = tmp_path / "longhdr.npy"
    path.write_bytes(LONG)
    code, _, err = run_cli(capsys, "score", str(model), str(path))
    assert_one_line(code, err, f"{path} is not a .npy file had reads: its header is {LONG_SIZE:,} bytes")
    assert "pickle" not in err


NPY = "application/x-npy"


@pytest.fixture
def server(tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from had.onnx_export import export
    from had.runtime import OnnxScorer
    from had.rx import RX
    from had.serve import ScoringServer

    X = np.random.default_rng(1).normal(size=(50, 21))
    path = had.save(RX().fit(X), tmp_path / "m")
    export(path, X)
    srv = ScoringServer(OnnxScorer(path), "127.0.0.1", 0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_the_server_says_the_request_body_is_not_a_npy_it_reads(server):
    """Was: numpy's text cut at 200 characters ("... fully trust the .npy file using allow_pickle=True ..."), and
    a (True, 21) header scored as one row."""
    status, out = call(server, "/score", LONG, NPY)
    assert status == 400 and out["error"] == (
        f"the request body is not a .npy array had reads: its header is {LONG_SIZE:,} bytes, over numpy's "
        "10,000-byte limit for untrusted files; save the array again with numpy.save")
    status, out = call(server, "/score", _npy("{'descr': '<f8', 'fortran_order': False, 'shape': (True, 21), }",
                                              FLOATS[:21 * 8]), NPY)
    assert status == 400 and "its shape (True, 21) is not a list of sizes" in out["error"]
    status, out = call(server, "/score", _npy(HEADER + "}"), NPY)
    assert status == 200 and out["shape"] == [2]
