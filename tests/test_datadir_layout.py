"""What stands where a known data file belongs, said as it is: a folder, a FIFO, a link to nothing, the file one
level up (HAD_DATA_DIR naming the plugin's subfolder), an unreadable file. Fetching, which the message used to
advise, helps with none of them."""

from __future__ import annotations

import hashlib
import os

import pytest

from had.datadir import KnownFile, locate
from had.errors import DataFileError

CONTENT = b"the data"
KNOWN = KnownFile("hsi/scene.mat", hashlib.sha256(CONTENT).hexdigest(), "https://example.org/scene.mat")


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("HAD_DATA_DIR", str(tmp_path))
    (tmp_path / "hsi").mkdir()
    return tmp_path


def test_the_file_in_place_is_found(data):
    (data / "hsi" / "scene.mat").write_bytes(CONTENT)
    assert locate(KNOWN) == data / "hsi" / "scene.mat"


@pytest.mark.parametrize("what, make", [
    ("a folder", lambda p: p.mkdir()),
    ("not a regular file", lambda p: os.mkfifo(p)),
    ("a link to a missing file", lambda p: p.symlink_to(p.parent / "gone.mat")),
])
def test_something_else_in_its_place_is_named(data, what, make):
    make(data / "hsi" / "scene.mat")
    with pytest.raises(DataFileError, match=rf"scene.mat is {what}.*; move it away, then fetch"):
        locate(KNOWN)


def test_a_data_dir_naming_the_plugins_subfolder_is_told_the_folder_above(data, monkeypatch):
    (data / "hsi" / "scene.mat").write_bytes(CONTENT)
    monkeypatch.setenv("HAD_DATA_DIR", str(data / "hsi"))  # was: "download it ... to .../hsi/hsi/scene.mat"
    with pytest.raises(DataFileError, match=rf"but scene.mat is, directly: .*\(HAD_DATA_DIR={data}\)"):
        locate(KNOWN)
    flat = data / "flat"
    flat.mkdir()
    (flat / "scene.mat").write_bytes(CONTENT)
    monkeypatch.setenv("HAD_DATA_DIR", str(flat))
    with pytest.raises(DataFileError, match=rf"\(move it to {flat / 'hsi' / 'scene.mat'}\)"):
        locate(KNOWN)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_a_data_file_error(data):
    path = data / "hsi" / "scene.mat"
    path.write_bytes(CONTENT)
    path.chmod(0)
    try:
        with pytest.raises(DataFileError, match="cannot read the data file .*check its permissions"):
            locate(KNOWN)
    finally:
        path.chmod(0o600)


@pytest.mark.parametrize("typo", ["nonexist", "data "])
def test_a_data_dir_that_does_not_exist_is_said_to_be_missing(tmp_path, monkeypatch, typo):
    """Was: "hsi/scene.mat is not in the data directory ..." alone, for a HAD_DATA_DIR with a typo or a trailing
    blank (a probe)."""
    monkeypatch.setenv("HAD_DATA_DIR", str(tmp_path / typo))
    with pytest.raises(DataFileError, match="a folder that does not exist: check its spelling") as caught:
        locate(KNOWN)
    assert ("ends in a blank" in str(caught.value)) == typo.endswith(" ")
