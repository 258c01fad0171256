"""Hostile model folders, round 18 (a read-only probe of 7 December 2026): a read-only ``had score`` removed a user's
folder named like one of had's leftovers; a FIFO as manifest.json hung ``had score`` and ``had export``; ``had export``
made a private model folder readable by all; an edited manifest or rewritten weights was said as a plugin's (or
had's) defect."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import had
from had import Detector, DetectorConfig, atomic, plugins
from had.errors import ArtifactError, PluginError


def _rx(tmp_path: Path, name: str = "m") -> Path:
    return had.save(had.get_detector("rx").fit(np.random.default_rng(0).normal(size=(200, 4))), tmp_path / name)


def _rehash(path: Path) -> None:
    """The manifest's sha256 of the weights made to match them again, as a tool rewriting the weights would."""
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["files"]["weights.safetensors"] = hashlib.sha256((path / "weights.safetensors").read_bytes()).hexdigest()
    (path / "manifest.json").write_text(json.dumps(manifest))


# ---- A. only had's own leftovers are removed -------------------------------------------------------------------
USERS = [".m.userdata.tmp", ".m.abcd1234.old", ".m.k2_x9abq.tmp"]  # named as had's leftovers are; not made by had


def _users_folders(tmp_path: Path) -> None:
    for name in USERS:
        (tmp_path / name).mkdir()
        (tmp_path / name / "notes.txt").write_text("USER DATA")


def _users_folders_kept(tmp_path: Path) -> bool:
    return all((tmp_path / name / "notes.txt").read_text() == "USER DATA" for name in USERS)


def test_a_read_only_score_keeps_a_users_folder_named_like_a_leftover(tmp_path, capsys):
    """Was: ``had score m`` removed ``.m.userdata.tmp`` and the files in it (atomic.recover, from a reader)."""
    from test_reliability_cli import run_cli

    path = _rx(tmp_path)
    _users_folders(tmp_path)
    np.save(tmp_path / "rows.npy", np.random.default_rng(1).normal(size=(20, 4)))
    code, _, err = run_cli(capsys, "score", str(path), str(tmp_path / "rows.npy"), "-o", str(tmp_path / "s.npy"),
                           "--engine", "eager")
    assert code == 0, err
    had.load(path)
    had.save(had.get_detector("rx").fit(np.random.default_rng(2).normal(size=(200, 4))), path)  # a writer too
    assert _users_folders_kept(tmp_path)


def test_a_users_folder_named_like_an_old_one_is_not_moved_in_place_of_a_missing_model(tmp_path):
    """Was: moved to ``m`` where ``m`` was missing, as the whole folder of a swap killed between its renames."""
    _users_folders(tmp_path)
    atomic.recover(tmp_path / "m")
    assert _users_folders_kept(tmp_path) and not (tmp_path / "m").exists()


def test_hads_own_leftovers_carry_its_marker_and_are_still_removed(tmp_path):
    path = tmp_path / "m"
    with atomic.directory(path) as tmp:
        (tmp / "a").write_text("x")
        own = tmp.parent
        assert (own / atomic.MARKER).is_file() and atomic.leftovers(path) == [own]
    assert not own.exists() and (path / "a").read_text() == "x"
    _users_folders(tmp_path)
    stale = tmp_path / ".m.0123abcd.tmp"  # a killed writer's (no lock held)
    atomic._make_own(stale)
    (stale / "m").mkdir()
    (stale / "m" / "weights").write_text("half")
    atomic.recover(path)
    assert not stale.exists() and _users_folders_kept(tmp_path)


# ---- B. a manifest.json that is not a regular file ----------------------------------------------------------------
HANGS = textwrap.dedent('''
    import sys
    from had import artifact
    from had.errors import ArtifactError

    path = sys.argv[1]
    assert artifact.raw_manifest(path) is None and artifact.model_identity(path) is None
    try:
        artifact.check_target(path)
    except ArtifactError as exc:
        print(exc)
    ''')


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_manifest_that_is_not_a_regular_file_is_refused_without_hanging(tmp_path, kind):
    """Was: ``had score MODEL DATA -o OUT`` (the engine chosen from the manifest) and ``had export MODEL`` opened a
    FIFO there and waited for good."""
    path = _rx(tmp_path)
    (path / "manifest.json").unlink()
    if kind == "fifo":
        os.mkfifo(path / "manifest.json")
    else:
        (path / "manifest.json").mkdir()
    np.save(tmp_path / "rows.npy", np.random.default_rng(1).normal(size=(20, 4)))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", HANGS, str(path)], capture_output=True, text=True, timeout=120,
                          env=env)
    assert done.returncode == 0, done.stderr
    assert "holds a manifest.json that is not a regular file" in done.stdout
    had_cli = [str(Path(sys.executable).with_name("had"))]
    for args in (["score", str(path), str(tmp_path / "rows.npy"), "-o", str(tmp_path / "s.npy")],
                 ["export", str(path)]):
        done = subprocess.run(had_cli + args, capture_output=True, text=True, timeout=120, env=env)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and "not a regular file" in lines[0], done.stderr
    assert not (tmp_path / "s.npy").exists() and sorted(p.name for p in path.iterdir()) == [
        "manifest.json", "weights.safetensors"]


# ---- C. a replaced folder keeps its permissions -------------------------------------------------------------------
@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "renames"])
@pytest.mark.parametrize("folder,files,new_file", [(0o700, 0o600, 0o600), (0o750, 0o640, 0o640)])
def test_export_keeps_a_private_models_permissions(tmp_path, monkeypatch, exchange, folder, files, new_file):
    """Was: ``chmod 700 m; chmod 600 m/*; had export m`` left m 755 and its files 644 (the weights readable by all)."""
    pytest.importorskip("onnxruntime")
    from had.onnx_export import export

    if not exchange:
        monkeypatch.setattr(atomic, "exchange", lambda a, b: False)
    previous = os.umask(0o022)
    try:
        path = _rx(tmp_path)
        for file in path.iterdir():
            file.chmod(files)
        path.chmod(folder)
        export(path)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == folder
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.iterdir()}
    assert modes == {"manifest.json": files, "weights.safetensors": files, "model.onnx": new_file}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


# ---- D. an edited artifact is said as such, not as a plugin's defect ----------------------------------------------
class SizedConfig(DetectorConfig):
    width: int = 4


class Sized(Detector):
    """Restores its weights to the width its config says, as a network built from its config does."""

    name = "sized-18a"
    Config = SizedConfig

    def _fit(self, X, y):
        self.w_ = np.asarray(X).reshape(-1, X.shape[-1]).mean(0)

    def _score(self, X):
        return ((np.asarray(X) - self.w_) ** 2).sum(-1)

    def _get_state(self):
        return {"w": self.w_}

    def _set_state(self, state):
        self.w_ = np.asarray(state["w"]).reshape(self.config.width)


class SizedPlugin:
    @staticmethod
    @had.hookimpl
    def register_detectors(register):
        register("sized-18a", Sized)


@pytest.fixture
def sized():
    plugins.register_plugin(SizedPlugin, name="sized-18a-plugin")
    yield
    plugins.unregister_plugin("sized-18a-plugin")


def _without_whitening(path: Path, stamps: bool) -> None:
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    weights = path / "weights.safetensors"
    with safe_open(str(weights), framework="numpy") as f:
        metadata = f.metadata()
    if not stamps:  # as had wrote it before the stamps (and the probe's tool wrote it)
        metadata = {k: metadata[k] for k in ("format", "detector", "threshold")}
    state = load_file(str(weights))
    state.pop("whitening")
    save_file(state, str(weights), metadata=metadata)
    _rehash(path)


def test_weights_rewritten_with_hads_metadata_kept_are_an_artifact_error(tmp_path):
    """Was: "the _set_state() of the 'rx' detector of plugin 'had' ... failed: KeyError: 'whitening'; a defect of
    had itself"."""
    path = _rx(tmp_path)
    _without_whitening(path, stamps=True)
    with pytest.raises(ArtifactError, match=r"manifest.json and weights.safetensors do not agree \(the names, types "
                       r"or shapes of the arrays.*edited, or written by another tool.*KeyError: 'whitening'.*load "
                       r"it from an untouched copy") as info:
        had.load(path)
    assert "defect of had" not in str(info.value)


def test_an_older_model_whose_restore_fails_is_said_both_ways(tmp_path):
    path = _rx(tmp_path)
    _without_whitening(path, stamps=False)
    with pytest.raises(ArtifactError, match=r"KeyError: 'whitening'\); either its manifest.json and weights."
                       r"safetensors do not agree \(edited, or written by another tool.*or, if the model is untouched, "
                       r"a defect of had itself: report it to had's authors \(it was saved on 20\d\d-\d\d-\d\d by had \S+; a model an older "
                       r"version saved that this one cannot read is that too\); meanwhile fit and save it again"):
        had.load(path)


def test_an_edited_config_is_said_as_such_and_an_untouched_models_failure_stays_the_plugins(tmp_path, sized,
                                                                                         monkeypatch):
    """Was: a manifest whose config.width was edited (its sha256 need not change) said "that is the plugin's
    fault"."""
    path = had.save(had.get_detector("sized-18a").fit(np.random.default_rng(0).normal(size=(50, 4))), tmp_path / "m")
    assert had.load(path).w_.shape == (4,)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["config"]["width"] = 100
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"do not agree \(the config or state_meta in manifest.json is not the one "
                       r"saved with weights.safetensors: edited") as info:
        had.load(path)
    assert "plugin's fault" not in str(info.value)
    manifest["config"]["width"] = 4
    (path / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setattr(Sized, "_set_state", lambda self, state: (_ for _ in ()).throw(RuntimeError("cannot restore")))
    with pytest.raises(PluginError, match="RuntimeError: cannot restore; that is the plugin's fault"):
        had.load(path)  # untouched: the plugin's own failure, as before
