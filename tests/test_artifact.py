import hashlib
import json

import numpy as np
import pytest

import had
from had import artifact
from test_artifact_safety import cli, snapshot


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


def _safetensors_layout(blob: bytes) -> dict:
    """The safetensors format by hand: u64 little-endian header size, a JSON header, then exactly the bytes
    the header's offsets cover (a pickle, or anything appended, breaks one of these)."""
    size = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + size])
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    end = max(v["data_offsets"][1] for v in tensors.values())
    assert len(blob) == 8 + size + end
    for v in tensors.values():
        begin, stop = v["data_offsets"]
        assert stop - begin == int(np.prod(v["shape"])) * {"F64": 8, "F32": 4, "I64": 8}[v["dtype"]]
    return tensors


def test_no_pickle_anywhere(tmp_path, fitted, monkeypatch):
    import pickle

    det, X = fitted
    path = had.save(det, tmp_path / "model")
    assert sorted(p.name for p in path.iterdir()) == ["manifest.json", "weights.safetensors"]
    json.loads((path / "manifest.json").read_text())
    tensors = _safetensors_layout((path / "weights.safetensors").read_bytes())
    assert {k: v["shape"] for k, v in tensors.items()} == {"mean": [5], "whitening": [5, 5],
                                                           "__decision_scores__": [16 * 12]}

    def refuse(*args, **kwargs):
        raise AssertionError("loading an artifact unpickled something")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    np.testing.assert_array_equal(had.load(path).decision_function(X), det.decision_function(X))


def test_no_source_file_unpickles():
    """No module of the core, the SDK or a plugin imports pickle (or dill, joblib), calls np.load with
    allow_pickle=True, or torch.load without weights_only=True."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    sources = [p for top in ("core", "sdk", "plugins") for p in (root / top).rglob("*.py") if ".venv" not in p.parts]
    assert len(sources) > 50
    found = []
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{source}: imports {n}" for n in names if n.split(".")[0] in ("pickle", "dill", "joblib")]
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load":
                owner = ast.unparse(node.func.value)
                kw = {k.arg: ast.unparse(k.value) for k in node.keywords}
                if owner == "torch" and kw.get("weights_only") != "True":
                    found.append(f"{source}:{node.lineno}: torch.load without weights_only=True")
                if owner in ("np", "numpy") and kw.get("allow_pickle", "False") != "False":
                    found.append(f"{source}:{node.lineno}: np.load with allow_pickle")
    assert found == []


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
    with pytest.raises(had.ArtifactError, match="weights.safetensors is missing; the artifact is incomplete"):
        had.load(path)
    weights.mkdir()  # a folder in the file's place was called missing
    with pytest.raises(had.ArtifactError, match="weights.safetensors is not a file"):
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


def test_manifest_strings_reach_messages_without_control_characters(tmp_path, fitted):
    """An edited or hostile manifest's version and distribution strings go into the load warning and the
    missing-plugin error quoted, never as raw control characters (a terminal escape, a newline)."""
    import warnings

    det, _ = fitted
    path = had.save(det, tmp_path / "model")
    manifest_path = path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["version"] = "9.9\x1b[2J\nforged line"
    manifest_path.write_text(json.dumps(manifest))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        had.load(path)
    message = str(caught[0].message)
    assert "scores may differ" in message and "\x1b" not in message and "\n" not in message
    assert "'9.9\\x1b[2J\\nforged line'" in message  # shown as Python writes the string
    manifest.update(detector="gone-detector", distribution="had-plugin-gone\x1b]0;title\x07")
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(had.ArtifactError) as info:
        had.load(path)
    assert "\x1b" not in str(info.value) and "\x07" not in str(info.value) and "install" in str(info.value)


def test_save_is_atomic_on_interrupt(tmp_path, fitted, monkeypatch):
    det, X = fitted
    path = had.save(det, tmp_path / "model")
    before = {p.name: p.read_bytes() for p in path.iterdir()}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    import safetensors.numpy

    monkeypatch.setattr(safetensors.numpy, "save", interrupted)
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


# ---- the manifest: schema, confinement of `files`, state against the rebuilt detector (issue 13, item 5) -----
def _edit(path, **changes):
    manifest_path = path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for key, value in changes.items():
        if value is _DROP:
            manifest.pop(key)
        else:
            manifest[key] = value
    manifest_path.write_text(json.dumps(manifest))
    return manifest


_DROP = object()


def _rehash(path, name):
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["files"][name] = hashlib.sha256((path / name).read_bytes()).hexdigest()
    (path / "manifest.json").write_text(json.dumps(manifest))


def test_files_outside_the_folder_get_one_error_that_tells_nothing_about_them(tmp_path, fitted, capsys):
    det, X = fitted
    path = had.save(det, tmp_path / "model")
    np.save(tmp_path / "scene.npy", X)
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    (path / "escape").symlink_to(outside)
    digest = json.loads((path / "manifest.json").read_text())["files"]["weights.safetensors"]
    messages = {}
    for name in (str(outside), str(tmp_path / "absent.txt"), "../outside.txt", "../absent.txt", "a/b", "..",
                 ".", "escape", "C:\\x", ""):
        files = {"weights.safetensors": digest, name: "0" * 64}
        _edit(path, files=files)
        with pytest.raises(had.ArtifactError) as info:
            had.load(path)
        messages[name] = str(info.value).replace(repr(name), "NAME")
        code, _, stderr = cli(["score", path, tmp_path / "scene.npy"], capsys)
        assert code == 2 and stderr == f"error: {info.value}\n"
    assert len(set(messages.values())) == 1, messages
    assert outside.read_text() == "secret"
    assert "not a plain file name inside the artifact folder" in messages["escape"]


@pytest.mark.parametrize("change,expected", [
    ({"detector": _DROP}, "detector: Field required"),
    ({"files": ["weights.safetensors"]}, "files: Input should be a valid dictionary"),
    ({"input_spec": "cube"}, "input_spec: Input should be a valid dictionary"),
    ({"input_spec": {"kind": "cube", "n_features": "5"}}, "input_spec.n_features: Input should be a valid integer"),
    ({"threshold": float("nan")}, "threshold: Input should be a finite number"),
    ({"threshold": float("inf")}, "threshold: Input should be a finite number"),
    ({"threshold": "high"}, "threshold: Input should be a valid number"),
    ({"config": None}, "config: Input should be a valid dictionary"),
    ({"files": {"weights.safetensors": "abc"}}, "files.weights.safetensors: String should match pattern"),
    ({"files": {"\n": None}}, "'files.\\n': Input should be a valid string"),  # still one line
    ({"config_set": "contamination"}, "config_set: Input should be a valid list"),
])
def test_invalid_manifests_are_one_artifact_error(tmp_path, fitted, change, expected, capsys):
    det, X = fitted
    path = had.save(det, tmp_path / "model")
    _edit(path, **change)
    np.save(tmp_path / "scene.npy", X)
    before = snapshot(tmp_path)
    with pytest.raises(had.ArtifactError, match="manifest.json is invalid") as info:
        had.load(path)
    assert expected in str(info.value) and "\n" not in str(info.value)
    for engine in ("eager", "onnx"):
        code, _, stderr = cli(["score", path, tmp_path / "scene.npy", "--engine", engine], capsys)
        assert code == 2 and stderr == f"error: {info.value}\n"
    assert snapshot(tmp_path) == before


def test_config_set_restores_which_fields_were_given_and_names_strangers(tmp_path, fitted):
    """The manifest's ``config_set``: the fields counted as set after a load (was: every field); a name that is
    not a field of the detector is an incompatible artifact; a model saved before it counts every field."""
    det, _ = fitted
    path = had.save(det, tmp_path / "model")
    assert json.loads((path / "manifest.json").read_text())["config_set"] == ["contamination"]
    assert had.load(path).config.model_fields_set == {"contamination"}
    _edit(path, config_set=["contamination", "no_such_field"])
    with pytest.raises(had.ArtifactError, match=r"config_set names no_such_field, not fields of rx; incompatible"):
        had.load(path)
    _edit(path, config_set=_DROP)
    assert had.load(path).config.model_fields_set == set(type(det.config).model_fields)


def test_a_string_format_version_is_named_as_such(tmp_path, fitted):
    det, _ = fitted
    path = had.save(det, tmp_path / "model")
    _edit(path, format_version="1")
    with pytest.raises(had.ArtifactError, match=r"format_version is '1' \(str\), not an integer") as info:
        had.load(path)
    assert "this had reads versions 1, 2" not in str(info.value)
    _edit(path, format_version=0)
    with pytest.raises(had.ArtifactError, match="written by an older had"):
        had.load(path)


def test_state_of_the_wrong_shape_is_an_artifact_error(tmp_path, fitted):
    from safetensors.numpy import load_file, save_file

    det, _ = fitted
    path = had.save(det, tmp_path / "model")
    state = load_file(str(path / "weights.safetensors"))
    state["mean"] = state["mean"][:3]
    save_file(state, str(path / "weights.safetensors"))
    _rehash(path, "weights.safetensors")
    with pytest.raises(had.ArtifactError, match="does not fit the rx detector"):
        had.load(path)


@pytest.mark.parametrize("edit,expected", [("dtype", "rebuilt autoencoder holds float32"),
                                           ("shape", "the saved array .* where the network its config builds has")])
def test_state_of_the_wrong_dtype_or_shape_against_the_rebuilt_module(tmp_path, edit, expected):
    pytest.importorskip("had_autoencoder")
    from safetensors.numpy import load_file, save_file

    X = np.random.default_rng(0).normal(size=(64, 5)).astype(np.float32)
    det = had.get_detector("autoencoder", epochs=1, hidden=[4], latent=2, seed=0).fit(X)
    path = had.save(det, tmp_path / "model")
    state = load_file(str(path / "weights.safetensors"))
    key = next(k for k, v in state.items() if v.ndim == 2 and not k.startswith("__"))
    state[key] = state[key].astype(np.float64) if edit == "dtype" else state[key][:, :-1]
    save_file(state, str(path / "weights.safetensors"))
    _rehash(path, "weights.safetensors")
    with pytest.raises(had.ArtifactError, match=expected):
        had.load(path)


def test_format_version_2_is_written_and_version_1_still_read(tmp_path, fitted):
    """Version 2 (7 December 2026): the training fingerprint's new scheme, which had of version 1 refused as an
    invalid manifest telling the user to re-save (a review); a version 1 manifest is still read, a later one is
    named as a newer had's with the fix, upgrading."""
    det, X = fitted
    path = had.save(det, tmp_path / "model")
    assert json.loads((path / "manifest.json").read_text())["format_version"] == 2
    _edit(path, format_version=1)
    np.testing.assert_allclose(had.load(path).decision_function(X), det.decision_function(X))
    _edit(path, format_version=3)
    with pytest.raises(had.ArtifactError, match="written by a newer had: upgrade had to read it"):
        had.load(path)
