"""A file's sha256 once per process for the file as it is (``had.datadir.sha256_cached``): a latency audit counted
three to five hashes of a model's files in one ``had score`` (every read of its manifest) and 3 + 2N with
``--out`` and N files; a file changed since is hashed again, and a file changed in the last seconds always is
(its times may not have moved: the file system's clock ticks every few milliseconds)."""

from __future__ import annotations

import hashlib
import os
import time

import numpy as np
import pytest

import had
from had import datadir
from had.errors import ArtifactError
from had_sdk.testing import run_cli


@pytest.fixture
def counted(monkeypatch):
    """The number of files hashed, and the digests cached afresh for this test."""
    monkeypatch.setattr(datadir, "_digests", {})
    calls = []
    real = hashlib.sha256

    def sha256(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(datadir.hashlib, "sha256", sha256)
    return calls


def _digest(data: bytes) -> str:  # the expected digest, not counted
    return hashlib.new("sha256", data).hexdigest()


def test_a_settled_file_is_hashed_once_and_again_when_it_changes(tmp_path, counted, monkeypatch):
    monkeypatch.setattr(datadir, "SETTLED_NS", 0)
    path = tmp_path / "x.bin"
    path.write_bytes(b"a" * 100)
    first = datadir.sha256_cached(path)
    assert datadir.sha256_cached(path) == first == _digest(b"a" * 100)
    assert len(counted) == 1
    time.sleep(0.05)  # kernels before 6.13 stamp change times from a clock of 1-10 ms steps
    before = path.stat()
    path.write_bytes(b"b" * 100)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # its modification time put back
    assert datadir.sha256_cached(path) == _digest(b"b" * 100)
    assert len(counted) == 2


def test_a_file_changed_in_the_last_seconds_is_hashed_each_time(tmp_path, counted):
    path = tmp_path / "x.bin"
    path.write_bytes(b"a" * 100)
    datadir.sha256_cached(path)
    with open(path, "r+b") as fh:  # the same size, at once: its times may be the same clock tick's
        fh.write(b"b")
    assert datadir.sha256_cached(path) == _digest(b"b" + b"a" * 99)
    assert len(counted) == 2


def test_had_score_hashes_a_models_files_once(tmp_path, counted, monkeypatch, capsys):
    monkeypatch.setattr(datadir, "SETTLED_NS", 0)
    X = np.random.default_rng(0).normal(size=(60, 4))
    np.save(tmp_path / "x.npy", X)
    model = had.save(had.get_detector("rx").fit(X), tmp_path / "m")
    counted.clear()
    code, _, err = run_cli(capsys, "score", str(model), str(tmp_path / "x.npy"), "-o", str(tmp_path / "s.npy"))
    assert code == 0, err
    assert len(counted) == 1  # weights.safetensors, the one file the manifest lists (was: 3 hashes)


def test_a_model_tampered_with_after_a_load_is_still_refused(tmp_path, counted, monkeypatch):
    monkeypatch.setattr(datadir, "SETTLED_NS", 0)
    X = np.random.default_rng(0).normal(size=(60, 4))
    model = had.save(had.get_detector("rx").fit(X), tmp_path / "m")
    had.load(model)
    time.sleep(0.05)
    weights = model / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="does not match its sha256"):
        had.load(model)
