import json

import numpy as np
import pytest

import had
from had import artifact


@pytest.fixture
def fitted(rng):
    X = rng.normal(size=(16, 12, 5))
    return had.get_detector("rx", contamination=0.05).fit(X), X


def test_round_trip_scores_threshold_and_manifest(tmp_path, fitted):
    det, X = fitted
    path = had.save(det, tmp_path / "model", metrics={"auroc": 0.9})
    loaded = had.load(path)
    np.testing.assert_array_equal(loaded.decision_function(X), det.decision_function(X))
    assert loaded.threshold_ == det.threshold_
    assert loaded.config == det.config
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format_version"] == artifact.FORMAT_VERSION
    assert manifest["detector"] == "rx" and manifest["distribution"] == "had"
    assert manifest["input_spec"]["n_features"] == 5 and manifest["input_spec"]["kind"] == "cube"
    assert manifest["training_data_sha256"] == det.training_sha256_
    assert set(manifest["files"]) == {"weights.safetensors"}
    assert sorted(p.name for p in path.iterdir()) == ["manifest.json", "weights.safetensors"]


def test_no_pickle_anywhere(tmp_path, fitted):
    det, _ = fitted
    path = had.save(det, tmp_path / "model")
    blob = (path / "weights.safetensors").read_bytes()
    assert b"\x80\x04\x95" not in blob[:64]  # not a pickle protocol-4 header


def test_tampered_and_truncated_files_are_rejected(tmp_path, fitted):
    det, _ = fitted
    path = had.save(det, tmp_path / "model")
    weights = path / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(had.ArtifactError, match="tampered or truncated"):
        had.load(path)
    weights.write_bytes(bytes(data[:20]))
    with pytest.raises(had.ArtifactError, match="tampered or truncated"):
        had.load(path)
    weights.unlink()
    with pytest.raises(had.ArtifactError, match="missing weights.safetensors"):
        had.load(path)


def test_format_version_and_missing_plugin(tmp_path, fitted):
    det, _ = fitted
    path = had.save(det, tmp_path / "model")
    manifest_path = path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = 99
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(had.ArtifactError, match="format version 99"):
        had.load(path)
    manifest.update(format_version=artifact.FORMAT_VERSION, detector="lren-v9", distribution="had-plugin-lren9")
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(had.ArtifactError, match="install had-plugin-lren9"):
        had.load(path)
    manifest_path.write_text("{not json")
    with pytest.raises(had.ArtifactError, match="corrupt"):
        had.load(path)
    with pytest.raises(had.ArtifactError, match="not a had artifact"):
        had.load(tmp_path)


def test_save_is_atomic_on_interrupt(tmp_path, fitted, monkeypatch):
    det, X = fitted
    path = had.save(det, tmp_path / "model")
    before = {p.name: p.read_bytes() for p in path.iterdir()}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    import safetensors.numpy

    monkeypatch.setattr(safetensors.numpy, "save_file", interrupted)
    other = had.get_detector("rx").fit(X[:, :, :4])
    with pytest.raises(KeyboardInterrupt):
        had.save(other, path)
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before  # old artifact intact
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no temporary left behind
    with pytest.raises(KeyboardInterrupt):
        had.save(other, tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_unfitted_cannot_be_saved(tmp_path):
    with pytest.raises(had.NotFittedError):
        had.save(had.get_detector("rx"), tmp_path / "model")
