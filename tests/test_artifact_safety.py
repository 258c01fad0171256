"""Artifacts never lose the user's files: where a save may write, kills at every step of a save, concurrent
saves, the umask, one-class labels in `had fit`, and `--export` refused before fitting (issue 13, items 1-4, 14)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import had
from had import atomic, plugins
from had.cli import main

HAD = [sys.executable, "-m", "had.cli"]


def snapshot(root: Path) -> dict[str, tuple[bytes | None, int]]:
    """Every file and folder under `root` (hidden ones included): bytes and mode."""
    found = {}
    for here, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(here, name)
            found[str(p.relative_to(root))] = (None if p.is_dir() else p.read_bytes(), p.lstat().st_mode)
    return found


def cli(args, capsys) -> tuple[int, str, str]:
    """`had ARGS` in this process: (exit code, stdout, stderr)."""
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


def fitted(seed: int = 0, bands: int = 4):
    X = np.random.default_rng(seed).normal(size=(12, 10, bands))
    return had.get_detector("rx").fit(X)


@pytest.fixture
def workdir(tmp_path):
    """A user's folder: a data file, a plain file, a folder of other files, an artifact."""
    np.save(tmp_path / "scene.npy", np.random.default_rng(1).normal(size=(9, 8, 4)))
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "scene.mat").write_bytes(b"not really matlab")
    had.save(fitted(), tmp_path / "model")
    return tmp_path


# ---- 1. where a save may write ----------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["notes.txt", "raw", ".", "scene.npy/model", "link"])
def test_save_refuses_anything_but_new_empty_or_artifact(workdir, target, monkeypatch):
    os.symlink(workdir / "raw", workdir / "link")
    monkeypatch.chdir(workdir)
    before = snapshot(workdir)
    with pytest.raises(had.ArtifactError, match="nothing was written"):
        had.save(fitted(1), target)
    assert snapshot(workdir) == before


def test_artifact_holding_a_foreign_file_is_not_replaced(workdir):
    (workdir / "model" / "my-notes.txt").write_text("keep me")
    before = snapshot(workdir)
    with pytest.raises(had.ArtifactError, match="my-notes.txt, which had did not write"):
        had.save(fitted(1), workdir / "model")
    assert snapshot(workdir) == before
    (workdir / "model" / "my-notes.txt").rename(workdir / "model" / "a\nb")
    with pytest.raises(had.ArtifactError, match=r"holds 'a\\nb', which had did not write") as info:
        had.save(fitted(1), workdir / "model")
    assert "\n" not in str(info.value)


def test_save_writes_new_path_empty_folder_and_replaces_an_artifact(workdir):
    (workdir / "empty").mkdir()
    new = fitted(1)
    for target in ("fresh/deeper", "empty", "model"):
        had.save(new, workdir / target)
        assert had.load(workdir / target).threshold_ == new.threshold_
    assert sorted(p.name for p in workdir.iterdir()) == ["empty", "fresh", "model", "notes.txt", "raw", "scene.npy"]


def test_cli_fit_refuses_the_data_folder_before_fitting(workdir, capsys):
    np.save(workdir / "raw" / "cube.npy", np.random.default_rng(2).normal(size=(9, 8, 4)))
    before = snapshot(workdir)
    for out in ("raw", "notes.txt", "raw/cube.npy"):
        code, stdout, stderr = cli(["fit", "rx", workdir / "raw" / "cube.npy", "-o", workdir / out], capsys)
        assert code == 2 and "nothing was written" in stderr and "Traceback" not in stderr
        assert "fitted" not in stdout  # refused before the fit, not after it
    assert snapshot(workdir) == before


def test_cli_fit_replaces_a_model_only_with_overwrite(workdir, capsys, monkeypatch):
    before = snapshot(workdir)
    fits = []
    monkeypatch.setattr(type(had.get_detector("rx")), "fit", lambda self, *a, **k: fits.append(1) or self)
    code, stdout, stderr = cli(["fit", "rx", workdir / "scene.npy", "-o", workdir / "model"], capsys)
    assert code == 2 and "Traceback" not in stderr and not fits  # refused before the data is read or fitted
    assert stderr.strip() == (f"error: {workdir / 'model'} holds a fitted rx model; had fit replaces it only with "
                              "--overwrite, or choose a new folder (nothing was fitted or written)")
    assert snapshot(workdir) == before
    monkeypatch.undo()
    old = had.load(workdir / "model").threshold_
    code, stdout, stderr = cli(["fit", "rx", workdir / "scene.npy", "-o", workdir / "model", "--overwrite"], capsys)
    assert code == 0, stderr
    assert had.load(workdir / "model").threshold_ != old  # the scene's model, not the fixture's
    (workdir / "empty").mkdir()  # --overwrite is not needed where no model is
    assert cli(["fit", "rx", workdir / "scene.npy", "-o", workdir / "empty"], capsys)[0] == 0


def test_cli_export_refuses_what_is_not_an_artifact(workdir, capsys):
    before = snapshot(workdir)
    for target in ("raw", "notes.txt"):
        code, _, stderr = cli(["export", workdir / target], capsys)
        assert code == 2 and "nothing was written" in stderr
    assert snapshot(workdir) == before


def test_cli_refusal_is_one_line_and_exit_2_in_a_real_process(workdir):
    before = snapshot(workdir)
    out = subprocess.run(HAD + ["fit", "rx", "synthetic-scene", "-o", str(workdir)], capture_output=True,
                         text=True, timeout=120, cwd=workdir)
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1 and "is the current folder or holds it" in out.stderr
    assert snapshot(workdir) == before


# ---- 2. kills at every step of a save, and concurrent saves --------------------------------------------------
CHILD = textwrap.dedent('''
    import os, signal, shutil, sys
    import numpy as np
    import had
    from had import atomic

    point, path, seed, exchange = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "exchange"
    die = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
    if not exchange:
        atomic.exchange = lambda a, b: False
    if point == "writing":  # half of the weights written
        from pathlib import Path
        write_bytes = Path.write_bytes
        Path.write_bytes = lambda self, data: (write_bytes(self, data[:len(data) // 2]), die())
    elif point == "before-swap":
        atomic._commit = die
    elif point == "between-renames":
        calls, replace = [], os.replace
        def replace_then_die(a, b):
            calls.append(a)
            if len(calls) == 2:
                die()
            replace(a, b)
        atomic.os.replace = replace_then_die
    elif point == "after-swap":
        atomic.shutil.rmtree = die
    elif point == "mid-cleanup":  # one file of the replaced folder removed, then killed
        atomic.shutil.rmtree = lambda folder, **k: (os.unlink(os.path.join(folder, "weights.safetensors")), die())
    for _ in range(int(os.environ.get("SAVES", "1"))):
        det = had.get_detector("rx").fit(np.random.default_rng(seed).normal(size=(12, 10, 4)))
        had.save(det, path)
    ''')


def child(point: str, path: Path, seed: int, exchange: bool = True, **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, point, str(path), str(seed),
                             "exchange" if exchange else "renames"], env={**os.environ, **env})


KILLS = [("writing", True, "old"), ("before-swap", True, "old"), ("after-swap", True, "new"),
         ("mid-cleanup", True, "new"), ("writing", False, "old"), ("between-renames", False, "old"),
         ("after-swap", False, "new"), ("mid-cleanup", False, "new")]


@pytest.mark.parametrize("point,exchange,holds", KILLS, ids=[f"{p}-{'exchange' if e else 'renames'}"
                                                            for p, e, _ in KILLS])
def test_a_kill_at_any_step_leaves_the_old_or_the_new_artifact(tmp_path, point, exchange, holds):
    old, new = fitted(0), fitted(7)
    path = tmp_path / "model"
    had.save(old, path)
    proc = child(point, path, 7, exchange)
    assert proc.wait(timeout=120) == -signal.SIGKILL
    assert atomic.leftovers(path), "the kill left nothing to recover: the step was not reached"
    if point == "between-renames":
        assert not path.exists()  # the one window of the two-rename fallback; the next load puts it back
    loaded = had.load(path)
    assert loaded.threshold_ == {"old": old, "new": new}[holds].threshold_
    assert atomic.leftovers(path) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_the_next_save_cleans_up_after_a_kill(tmp_path):
    path = tmp_path / "model"
    had.save(fitted(0), path)
    assert child("between-renames", path, 7, exchange=False).wait(timeout=120) == -signal.SIGKILL
    newer = fitted(3)
    had.save(newer, path)
    assert had.load(path).threshold_ == newer.threshold_
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


READER = textwrap.dedent('''
    import sys, time
    import had

    loads, deadline = 0, time.monotonic() + 120
    while loads < 80 and time.monotonic() < deadline:
        try:
            had.load(sys.argv[1])
            loads += 1
        except had.ArtifactError as exc:  # only "not saved yet", and only before the first load
            if "no manifest.json" not in str(exc) or loads:
                raise
    sys.exit(0 if loads == 80 else 1)
    ''')


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "renames"])
def test_concurrent_saves_end_with_one_whole_artifact(tmp_path, exchange):
    path = tmp_path / "model"
    writers = [child("none", path, seed, exchange, SAVES="40") for seed in (1, 2)]
    reader = subprocess.Popen([sys.executable, "-c", READER, str(path)])
    assert [w.wait(timeout=180) for w in writers] == [0, 0]
    assert reader.wait(timeout=180) == 0  # every load while the two saved saw one whole artifact
    assert had.load(path).threshold_ in {fitted(1).threshold_, fitted(2).threshold_}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert sorted(p.name for p in path.iterdir()) == ["manifest.json", "weights.safetensors"]


def test_a_folder_swapped_away_while_checked_is_looked_at_again(tmp_path, monkeypatch):
    # the two-renames swap of a concurrent save: the folder is listed, then moved aside before its manifest is
    # read. That is not a foreign manifest; the check looks again and finds the new state (here: nothing there).
    path = had.save(fitted(), tmp_path / "model")
    listdir = os.listdir

    def listed_then_swapped_away(folder):
        entries = listdir(folder)
        if Path(folder) == path and path.exists():
            os.rename(path, tmp_path / "aside")
        return entries

    monkeypatch.setattr(had.artifact.os, "listdir", listed_then_swapped_away)
    assert had.artifact.check_target(path) == path
    monkeypatch.undo()
    os.rename(tmp_path / "aside", path)
    (path / "manifest.json").write_text("{}")
    with pytest.raises(had.errors.ArtifactError, match="not a had artifact's"):
        had.artifact.check_target(path)  # a manifest that is there and wrong is still refused


def test_a_folder_swapped_away_between_two_looks_is_not_a_file(tmp_path, monkeypatch):
    """The likely cause of a CI flake of test_concurrent_saves_end_with_one_whole_artifact[renames]: the other
    writer's swap (folder renamed aside, the new one renamed in) landed between the check's ``exists()`` and its
    ``is_dir()``, and the save failed with "is a file, not an artifact folder". The check's first look at the
    path, of whatever kind, now has the swap happen right after it."""
    path = had.save(fitted(), tmp_path / "model")
    swapped = []

    def swap_after(look):
        def looked(*args, **kwargs):
            answer = look(*args, **kwargs)
            if sys._getframe(1).f_code.co_name == "_check_target_once" and Path(args[0]) == path and not swapped:
                swapped.append(1)
                os.rename(path, tmp_path / "aside")
            return answer
        return looked

    monkeypatch.setattr(Path, "exists", swap_after(Path.exists))
    monkeypatch.setattr(had.artifact.os, "stat", swap_after(os.stat))
    assert had.artifact.check_target(path) == path and swapped == [1]


def test_a_live_writers_folder_is_not_taken_as_a_leftover(tmp_path):
    path = tmp_path / "model"
    with atomic.directory(path) as tmp:
        (tmp / "a").write_text("x")
        atomic.recover(path)  # another process's recovery, while this writer is still filling its folder
        assert tmp.is_dir()
    assert (path / "a").read_text() == "x"


# ---- 3. the umask --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_files_and_folders_honour_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        path = had.save(fitted(), tmp_path / "deep" / "model")
        written = atomic.write_bytes(tmp_path / "scores.bin", b"x")
    finally:
        os.umask(previous)
    for p in (tmp_path / "deep", path):
        assert stat.S_IMODE(p.stat().st_mode) == 0o777 & ~umask
    for p in [*path.iterdir(), written]:
        assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask


# ---- 4. one-class labels, 14. --export refused before fitting ---------------------------------------------------
def test_fit_on_one_class_labels_saves_and_says_the_metric_was_skipped(tmp_path, capsys):
    rows = np.random.default_rng(3).normal(size=(40, 3))
    np.savez(tmp_path / "normal.npz", X=rows, y=np.zeros(40, dtype=np.int8))
    code, stdout, stderr = cli(["fit", "rx", tmp_path / "normal.npz", "-o", tmp_path / "m"], capsys)
    assert code == 0, stderr
    assert "metrics on the fit data skipped: the labels hold one class only (0)" in stdout
    assert had.artifact.read_manifest(tmp_path / "m")["metrics"] == {}
    assert had.load(tmp_path / "m").input_spec_["n_features"] == 3


class NoExport(had.Detector):
    """A detector without ONNX export that counts its fits."""

    name = "no-export"
    fits = 0

    def _fit(self, X, y):
        type(self).fits += 1
        self.mean_ = X.reshape(-1, X.shape[-1]).mean(0)

    def _score(self, X):
        return np.linalg.norm(X - self.mean_, axis=-1)


class NoExportPlugin:
    @staticmethod
    @had.hookimpl
    def register_detectors(register):
        register("no-export", NoExport)


def test_fit_export_on_a_detector_that_cannot_export_fails_before_fitting(tmp_path, capsys):
    plugins.register_plugin(NoExportPlugin, name="no-export-plugin")
    code, stdout, stderr = cli(["fit", "no-export", "synthetic-scene", "-o", tmp_path / "m", "--export"], capsys)
    assert code == 2 and "cannot be exported to ONNX" in stderr and "nothing was fitted" in stderr
    assert NoExport.fits == 0 and "fitted" not in stdout
    assert list(tmp_path.iterdir()) == []


def test_leftovers_of_the_previous_had_are_recovered(tmp_path):
    """had 0.1 left ``.model.<mkdtemp>.old/model`` when killed between its two renames, and ``.tmp`` folders."""
    old = fitted(0)
    had.save(old, tmp_path / "model")
    legacy = tmp_path / ".model.k2_x9abq.old"
    legacy.mkdir()
    os.replace(tmp_path / "model", legacy / "model")
    (tmp_path / ".model.zz_1abcd.tmp").mkdir()
    (tmp_path / ".model.v2.k2_x9abq.tmp").mkdir()  # another name's leftover: not ours to remove
    assert had.load(tmp_path / "model").threshold_ == old.threshold_
    assert sorted(p.name for p in tmp_path.iterdir()) == [".model.v2.k2_x9abq.tmp", "model"]


def test_a_state_holding_nan_is_neither_saved_nor_loaded(tmp_path):
    """A detector whose fitted state held NaN was saved, loaded (its probe "scored"), and scored every sample NaN,
    which had score reported as no-data pixels, exit 0. Saving refuses it; an artifact edited to hold NaN (its
    sha256 updated, as a tool rewriting the weights would) is refused by load."""
    import hashlib
    import json

    from safetensors.numpy import load_file, save_file

    from had.errors import ArtifactError

    det = had.get_detector("rx").fit(np.random.default_rng(0).normal(size=(200, 4)))
    det.whitening_[1, 1] = np.nan
    with pytest.raises(ArtifactError, match=r"state holds NaN \(whitening\).*nothing was written"):
        had.save(det, tmp_path / "broken")
    assert not (tmp_path / "broken").exists()
    path = had.save(had.get_detector("rx").fit(np.random.default_rng(0).normal(size=(200, 4))), tmp_path / "m")
    weights = load_file(path / "weights.safetensors")
    weights["whitening"][1, 1] = np.nan
    save_file(weights, path / "weights.safetensors")
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["files"]["weights.safetensors"] = hashlib.sha256((path / "weights.safetensors").read_bytes()).hexdigest()
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="scores data NaN"):
        had.load(path)


def test_weights_listed_outside_the_folder_and_a_missing_export_say_what_they_are(tmp_path):
    """A manifest listing ``../other/weights.safetensors`` in place of the weights was "has no
    weights.safetensors listed" (not the one message for names leading out); a listed model.onnx that is gone
    said "incomplete" without the fix."""
    import json

    from had.errors import ArtifactError
    from had.onnx_export import export

    X = np.random.default_rng(0).normal(size=(200, 4))
    path = had.save(had.get_detector("rx").fit(X), tmp_path / "m")
    manifest = json.loads((path / "manifest.json").read_text())
    moved = dict(manifest, files={"../other/weights.safetensors": manifest["files"]["weights.safetensors"]})
    (path / "manifest.json").write_text(json.dumps(moved))
    with pytest.raises(ArtifactError, match="not a plain file name inside the artifact folder"):
        had.load(path)
    (path / "manifest.json").write_text(json.dumps(manifest))
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    export(path, X)
    (path / "model.onnx").unlink()
    with pytest.raises(ArtifactError, match=r"model.onnx is missing; export it again \(`had export"):
        had.load(path)


def test_state_values_that_are_not_numeric_arrays_are_refused_before_writing(tmp_path):
    """A plugin's _get_state holding a list of names: the fit finished, then safetensors' "Unknown dtype str32"
    traceback and no model; holding an int: saved, and loaded back as an array of shape (1,)."""
    from had.errors import ArtifactError

    from had.rx import RX

    class Extra(RX):
        def _get_state(self):
            return {**super()._get_state(), "extra": self.extra}

    class Registers:  # a saved model is loaded by its registered name, so the class is registered as one
        @had.hookimpl
        def register_detectors(self, register):
            register("extra-state-rx", Extra)

    had.plugins.register_plugin(Registers(), name="extra-state-rx-plugin")
    try:
        for extra, what in ((["a", "b"], "of type list"), (5, "of type int"), (np.float64(2.0), "of type float64"),
                            (np.array(["a"]), "an array of <U1")):
            det = had.get_detector("extra-state-rx").fit(np.random.default_rng(0).normal(size=(100, 3)))
            det.extra = extra
            with pytest.raises(ArtifactError, match=f"state value 'extra' is {what}, not a numeric numpy array"):
                had.save(det, tmp_path / "m")
            assert not (tmp_path / "m").exists()
    finally:
        had.plugins.unregister_plugin("extra-state-rx-plugin")


def test_a_manifest_of_many_megabytes_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    """A 125 MB manifest of empty JSON objects (123 KB gzipped) took 9.4 GB of memory to parse."""
    import json

    from had import manifest as manifest_module
    from had.errors import ArtifactError

    path = had.save(had.get_detector("rx").fit(np.random.default_rng(0).normal(size=(50, 3))), tmp_path / "m")
    written = (path / "manifest.json").read_text()
    assert len(written) < 16 * 1024  # what had writes: a few KiB
    bomb = json.loads(written)
    bomb["x"] = [{}] * 400_000  # 1.6 MB
    (path / "manifest.json").write_text(json.dumps(bomb))
    monkeypatch.setattr(manifest_module, "MANIFEST_MAX_BYTES", 2**20)
    parsed = []
    monkeypatch.setattr(manifest_module.json, "loads", lambda *a, **k: parsed.append(1))
    with pytest.raises(ArtifactError, match=r"manifest.json is larger than 1 MiB .*re-save the model"):
        had.load(path)
    assert parsed == []


def test_a_manifest_that_is_a_fifo_or_a_symlink_out_is_said_as_such(tmp_path):
    import os

    from had.errors import ArtifactError

    path = had.save(had.get_detector("rx").fit(np.random.default_rng(0).normal(size=(50, 3))), tmp_path / "m")
    outside = tmp_path / "elsewhere.json"
    os.replace(path / "manifest.json", outside)
    (path / "manifest.json").symlink_to(outside)
    with pytest.raises(ArtifactError, match="manifest.json is a symlink to a file outside the artifact folder"):
        had.load(path)
    (path / "manifest.json").unlink()
    os.mkfifo(path / "manifest.json")  # opening it would wait for a writer
    with pytest.raises(ArtifactError, match="manifest.json is not a regular file"):
        had.load(path)


@pytest.mark.parametrize("edit", [{"n_features": 1_000_000},
                                  {"kind": "image", "sample_shape": [3, 20000, 20000]}])
def test_an_edited_input_spec_does_not_size_the_loads_check_data(tmp_path, edit):
    """An audit: a 1 KB manifest edit (n_features 6 -> 1e6) made had.load build 257 x 1e6 check rows, 3.1 GB and
    41 s before its "does not fit" (linear in n_features: a kill by the kernel further on). The check data is
    bounded (artifact.PROBE_VALUES); the edit is still refused, at the load or at scoring."""
    import json
    import tracemalloc

    had.save(fitted(bands=6), tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    manifest["input_spec"].update(edit)
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(manifest))
    tracemalloc.start()
    try:
        with pytest.raises(had.HadError):  # refused at the load (the state does not fit) or at scoring (a kind)
            had.load(tmp_path / "m").decision_function(np.zeros((3, 6)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 400 * 2**20, f"{peak / 2**20:.0f} MiB"


def test_nothing_is_written_inside_another_saved_model(tmp_path, capsys):
    """An audit: `had fit ... -o m_a/sub` saved a model inside m_a (and `had score ... -o m_b/s.npy` a map inside
    m_b); m_a could then no longer be replaced or exported ("holds sub, which had did not write")."""
    rows = np.random.default_rng(0).normal(size=(50, 4))
    np.save(tmp_path / "rows.npy", rows)
    had.save(had.get_detector("rx").fit(rows), tmp_path / "m_a")
    had.save(had.get_detector("rx").fit(rows), tmp_path / "m_b")
    before = snapshot(tmp_path)
    with pytest.raises(had.ArtifactError, match=r"m_a/sub is inside the saved model .*m_a, whose folder holds its "
                                                r"own files only \(a file written there stops it being exported or "
                                                r"replaced\); choose a new folder for the artifact beside it"):
        had.save(had.get_detector("rx").fit(rows), tmp_path / "m_a" / "sub")
    code, _, err = cli(["score", str(tmp_path / "m_a"), str(tmp_path / "rows.npy"), "-o",
                        str(tmp_path / "m_b" / "s.npy")], capsys)
    assert code == 2 and "is inside the saved model" in err and "write the scores outside it" in err, err
    assert snapshot(tmp_path) == before
    had.save(had.load(tmp_path / "m_a"), tmp_path / "m_a")  # the model itself is still replaced in place


def test_a_stray_manifest_above_is_not_taken_for_a_model(tmp_path):
    """A review: any manifest.json saying the format (one left in a shared /tmp) refused every output below it."""
    (tmp_path / "manifest.json").write_text('{"format": "had-artifact"}')
    saved = had.save(fitted(), tmp_path / "m")  # was: "is inside the saved model ..."
    assert (saved / "weights.safetensors").is_file()
    from had.artifact import artifact_above

    assert artifact_above(saved / "sub") == saved and artifact_above(tmp_path / "x") is None


def test_an_interrupt_just_after_the_temporary_folder_is_made_leaves_nothing(tmp_path, monkeypatch):
    """An audit (interrupts at random times): the temporary folder was made before the ``try`` that removes it,
    so an interrupt in between left a hidden ``.model.<hex>.tmp`` folder until the next save there."""
    def interrupted(folder):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic, "hold", interrupted)
    with pytest.raises(KeyboardInterrupt):
        had.save(fitted(), tmp_path / "model")
    assert sorted(p.name for p in tmp_path.iterdir()) == [], list(tmp_path.iterdir())
