"""A model saved before 1 December 2026, 22:27 UTC (b2e9188) fingerprinted its training data as
``sha256(np.ascontiguousarray(X).tobytes())``, C order; the later plain form, read from manifests without a scheme,
hashes the rows in memory order, which differs for data not stored in C order (a BIL scene, a Fortran table): such a
model scoring its own scene was told "fitted on another scene" (transductive) or not told it scored its training
data (an upgrade audit, bs3lnet and lren models of revision c59298f on abu-airport-1). Both forms are accepted."""

from __future__ import annotations

import hashlib
import json

import numpy as np

import had
from had_sdk.testing import run_cli


def test_a_model_fingerprinted_in_c_order_knows_its_fortran_ordered_data(tmp_path, capsys):
    cube = np.asfortranarray(np.random.default_rng(0).normal(size=(12, 10, 5)))
    np.save(tmp_path / "cube.npy", cube)  # kept in Fortran order by numpy
    truth = np.zeros((12, 10), dtype=np.int8)
    truth[:2, :2] = 1
    np.save(tmp_path / "truth.npy", truth)  # labels: the note is of the metrics
    labels = ("--data", f"labels={tmp_path / 'truth.npy'}")
    path = had.save(had.get_detector("rx").fit(cube), tmp_path / "m")
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["training_data_sha256"] = hashlib.sha256(np.ascontiguousarray(cube).tobytes()).hexdigest()
    manifest.pop("training_data_sha256_scheme", None)  # as the manifests of then: the plain form
    (path / "manifest.json").write_text(json.dumps(manifest))
    code, out, err = run_cli(capsys, "score", str(path), str(tmp_path / "cube.npy"), "-o", str(tmp_path / "s.npy"),
                               *labels)
    assert code == 0, err
    assert "these are the data" in " ".join((out + err).split())
    other = np.asfortranarray(cube + 1.0)
    np.save(tmp_path / "other.npy", other)
    code, out, err = run_cli(capsys, "score", str(path), str(tmp_path / "other.npy"), "-o", str(tmp_path / "o.npy"),
                               *labels)
    assert code == 0 and "these are the data" not in " ".join((out + err).split())


def test_c_ordered_data_are_not_hashed_twice(tmp_path, capsys, monkeypatch):
    """For data in C order both forms are the same bytes: no second pass (a review)."""
    from had import fingerprint

    cube = np.random.default_rng(0).normal(size=(12, 10, 5))
    np.save(tmp_path / "cube.npy", cube)
    path = had.save(had.get_detector("rx").fit(cube), tmp_path / "m")
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["training_data_sha256"] = "0" * 64  # another scene's
    manifest.pop("training_data_sha256_scheme", None)
    (path / "manifest.json").write_text(json.dumps(manifest))
    real, passes = fingerprint.of_data, []
    monkeypatch.setattr(fingerprint, "of_data", lambda X, **kw: passes.append(kw) or real(X, **kw))
    truth = np.zeros((12, 10), dtype=np.int8)
    truth[:2, :2] = 1
    np.save(tmp_path / "truth.npy", truth)  # labels: the training-data note compares the fingerprints
    code, _, err = run_cli(capsys, "score", str(path), str(tmp_path / "cube.npy"), "-o", str(tmp_path / "s.npy"),
                           "--data", f"labels={tmp_path / 'truth.npy'}")
    assert code == 0, err
    assert passes and not any(kw.get("c_order") for kw in passes), passes
