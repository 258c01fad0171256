"""The CLI answers every bad input with one line on stderr and exit 2, and touches no file.

Runs `had.cli.main` in-process (I/O failures are injected with monkeypatch); one case goes through a real
subprocess to check the exit code the shell sees.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from matcrash import corrupt, crash_cases, crashes_scipy, valid_mat
from test_reliability_files import snapshot

import had
from had.cli import main
from had_sdk.testing import run_cli




def assert_one_line(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    det = had.get_detector("rx").fit(np.random.default_rng(0).normal(size=(12, 10, 4)))
    return had.save(det, folder / "rx")


@pytest.fixture
def alarm():
    def hung(*_):
        raise AssertionError("the command hung (no answer in 60 s)")
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_missing_file_unknown_name_and_wrong_suffix(capsys, tmp_path, model):
    code, _, err = run_cli(capsys, "score", str(model), str(tmp_path / "no" / "scene.mat"))
    assert_one_line(code, err, "does not exist")
    assert "unknown datasource" not in err
    code, _, err = run_cli(capsys, "score", str(model), "nope-data")
    assert_one_line(code, err, "unknown datasource 'nope-data'", "`had list datasets`")
    (tmp_path / "scene.xls").write_text("1,2\n")
    code, _, err = run_cli(capsys, "score", str(model), str(tmp_path / "scene.xls"))
    assert_one_line(code, err, "unsupported file type '.xls'")


def test_fifo_folder_and_device_as_data(capsys, tmp_path, model, alarm):
    os.mkfifo(tmp_path / "scene.npy")
    (tmp_path / "cube.mat").mkdir()
    before = snapshot(tmp_path)
    for target, fragment in ((tmp_path / "scene.npy", "FIFO"), (tmp_path / "cube.mat", "is a folder"),
                             (Path("/dev/zero"), "is a device")):
        code, _, err = run_cli(capsys, "score", str(model), str(target))
        assert_one_line(code, err, fragment)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("content,fragment", [
    (b"", "is empty or truncated"),
    (b"\x93NUMPY garbage", "is not a .npy file had reads: its format version 32.103 is not one numpy writes"),
], ids=["zero-bytes", "bad-header"])
def test_broken_npy_is_one_line_not_aborted(capsys, tmp_path, model, content, fragment):
    path = tmp_path / "scene.npy"
    path.write_bytes(content)
    code, _, err = run_cli(capsys, "score", str(model), str(path))
    assert_one_line(code, err, fragment)
    assert "aborted" not in err


def test_pickled_npy_does_not_suggest_allow_pickle(capsys, tmp_path, model):
    np.save(tmp_path / "obj.npy", np.array([object()], dtype=object), allow_pickle=True)
    code, _, err = run_cli(capsys, "score", str(model), str(tmp_path / "obj.npy"))
    assert_one_line(code, err, "pickled")
    assert "allow_pickle" not in err


def test_a_mat_file_that_crashes_scipy(capsys, tmp_path, model):
    path = tmp_path / "scene.mat"
    offset, value = crash_cases()[0]
    path.write_bytes(corrupt(valid_mat(), offset, value))
    if crashes_scipy(path) is None:
        pytest.skip("this scipy survives the corruption")
    before = snapshot(tmp_path)
    code, _, err = run_cli(capsys, "score", str(model), str(path))
    assert_one_line(code, err, str(path))
    assert snapshot(tmp_path) == before


def test_a_shell_sees_exit_2_for_a_crashing_mat_file(tmp_path):
    path = tmp_path / "scene.mat"
    path.write_bytes(corrupt(valid_mat(), *crash_cases()[0]))
    done = subprocess.run([sys.executable, "-m", "had.cli", "fit", "rx", str(path), "-o", str(tmp_path / "m")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "m").exists()


def test_a_reader_that_leaves_does_not_stop_the_map(tmp_path):
    """`had score m scene -o map.npy | head -1`: the pipe closes after the first line, the map is still written
    and the shell sees the command's own status (was: BrokenPipeError at the first progress line, exit 1, no map)."""
    cube = np.random.default_rng(3).normal(size=(30, 20, 5))
    np.save(tmp_path / "scene.npy", cube)
    had.save(had.get_detector("rx").fit(cube.reshape(-1, 5)), tmp_path / "m")
    reader, writer = os.pipe()
    os.close(reader)  # the reader is gone before the first byte: every write to stdout meets EPIPE
    try:
        done = subprocess.run([sys.executable, "-m", "had.cli", "score", str(tmp_path / "m"),
                               str(tmp_path / "scene.npy"), "-o", str(tmp_path / "map.npy")],
                              stdout=writer, stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(writer)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
    written = np.load(tmp_path / "map.npy")
    assert written.shape == (30, 20)
    expected = had.load(tmp_path / "m").decision_function(cube.reshape(-1, 5)).reshape(30, 20)
    np.testing.assert_allclose(written, expected, rtol=1e-6)


def test_a_fit_whose_training_scores_are_all_equal_is_said(capsys, tmp_path):
    """pyod-gmm on rows at the 1e-100 scale: its absolute reg_covar swamps the data and every score is the same
    (AUROC 0.5); `had fit` says so instead of saving it without a word. The same rows at unit scale: no such line."""
    pytest.importorskip("had_pyod")
    rows = np.random.default_rng(0).normal(size=(300, 4))
    rows[:8] += 6.0
    for scale, said in ((1e-100, True), (1.0, False)):
        np.save(tmp_path / "rows.npy", rows * scale)
        code, out, err = run_cli(capsys, "fit", "pyod-gmm", str(tmp_path / "rows.npy"), "-o", str(tmp_path / f"m{scale}"))
        assert code == 0, err
        assert ("every training score equals" in out + err) is said, out + err
        if said:
            assert "pyod-gmm separates nothing" in out + err and "rescale" in out + err


def test_png_on_a_table_is_refused_before_scoring(capsys, tmp_path):
    det = had.get_detector("rx").fit(np.random.default_rng(1).normal(size=(40, 3)))
    path = had.save(det, tmp_path / "rows")
    np.save(tmp_path / "rows.npy", np.random.default_rng(2).normal(size=(30, 3)))
    code, _, err = run_cli(capsys, "score", str(path), str(tmp_path / "rows.npy"), "--png", str(tmp_path / "m.png"))
    assert_one_line(code, err, "--png draws the anomaly map of a cube", "tabular")
    assert not (tmp_path / "m.png").exists()


def test_scores_are_never_written_over_the_input_file(capsys, tmp_path, model):
    """``had score m scene.npy -o scene.npy`` (or through a link to it) would replace the user's data with its map:
    refused before scoring, the file untouched, byte for byte."""
    scene = tmp_path / "scene.npy"
    np.save(scene, np.random.default_rng(3).normal(size=(6, 5, 4)))
    before = scene.read_bytes()
    (tmp_path / "link.npy").symlink_to(scene)
    for data, option, target in [(scene, "-o", scene), (tmp_path / "link.npy", "-o", scene),
                                 (scene, "-o", tmp_path / "." / "scene.npy"), (scene, "--png", scene)]:
        code, _, err = run_cli(capsys, "score", str(model), str(data), option, str(target))
        assert_one_line(code, err, f"{option} {target} is the input file {data}", "replace the data")
        assert scene.read_bytes() == before
    code, _, err = run_cli(capsys, "score", str(model), str(scene), "-o", str(tmp_path / "map.npy"))
    assert code == 0, err  # another file: written
    assert np.load(tmp_path / "map.npy").shape == (6, 5)


def test_score_keeps_an_existing_file_unless_overwrite_is_given(capsys, tmp_path, model):
    """``had score m scene.npy -o scene2.npy`` with scene2.npy another scene of the user's (a tab completion)
    replaced it with the map in silence. Every output that exists (-o, --png, a map or quicklook in --out) is now
    refused before scoring unless --overwrite is given; an input file stays refused even with it."""
    rng = np.random.default_rng(3)
    scene, other = tmp_path / "scene.npy", tmp_path / "scene2.npy"
    np.save(scene, rng.normal(size=(6, 5, 4)))
    np.save(other, rng.normal(size=(6, 5, 4)))
    (tmp_path / "q.png").write_bytes(b"a picture of the user's")
    maps = tmp_path / "maps"
    maps.mkdir()
    (maps / "scene.npy").write_bytes(b"an earlier map")
    kept = {p: p.read_bytes() for p in (other, tmp_path / "q.png", maps / "scene.npy")}
    for args, what in [(["-o", str(other)], f"-o {other} exists"),
                       (["--png", str(tmp_path / "q.png")], f"--png {tmp_path / 'q.png'} exists")]:
        code, _, err = run_cli(capsys, "score", str(model), str(scene), *args)
        assert_one_line(code, err, what, "had replaces a file only with --overwrite (nothing was scored)")
    # --out: a cube's map is maps/scene.tif, so the earlier maps/scene.npy is not in its way (since 7 December 2026;
    # was refused before scoring, the map's kind being known only once the file is read): left as it was
    code, _, err = run_cli(capsys, "score", str(model), str(scene), "--out", str(maps))
    assert code == 0 and (maps / "scene.tif").is_file(), err
    assert {p: p.read_bytes() for p in kept} == kept
    code, _, err = run_cli(capsys, "score", str(model), str(scene), "-o", str(other), "--overwrite")
    assert code == 0, err
    assert np.load(other).shape == (6, 5)  # replaced by the map, as asked
    code, _, err = run_cli(capsys, "score", str(model), str(scene), "--out", str(maps), "--overwrite")
    assert code == 0, err
    assert (maps / "scene.tif").is_file()  # a cube's map is a GeoTIFF, replaced as asked
    code, _, err = run_cli(capsys, "score", str(model), str(scene), "-o", str(scene), "--overwrite")
    assert_one_line(code, err, f"-o {scene} is the input file {scene}")


def test_scores_are_never_written_into_the_model_nor_over_each_other(capsys, tmp_path, model):
    """``--png MODEL/weights.safetensors`` replaced the model's weights with a PNG (the model was lost); ``-o
    MODEL/s.npy`` left a file in the artifact that a later save refuses to delete; ``-o map.tif --png map.tif``
    wrote the PNG over the map; ``--png q.tif`` wrote a PNG named .tif. Each refused before scoring."""
    scene = tmp_path / "scene.npy"
    np.save(scene, np.random.default_rng(3).normal(size=(6, 5, 4)))
    saved = {p.name: p.read_bytes() for p in model.iterdir()}
    cases = [(["--png", str(model / "weights.safetensors")], "is inside the model folder"),
             (["-o", str(model / "s.npy")], "is inside the model folder"),
             (["--out", str(model / "maps")], "is inside the model folder"),
             (["-o", str(tmp_path / "m.tif"), "--png", str(tmp_path / "m.tif")], "-o and --png both name"),
             (["--png", str(tmp_path / "q.tif")], "the quicklook is a PNG image; name the file with .png")]
    for args, message in cases:
        code, _, err = run_cli(capsys, "score", str(model), str(scene), *args)
        assert_one_line(code, err, message)
    assert {p.name: p.read_bytes() for p in model.iterdir()} == saved
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.npy"]
    code, _, err = run_cli(capsys, "score", str(model), str(scene), "-o", str(tmp_path / "m.npy"),
                           "--png", str(tmp_path / "m.png"))
    assert code == 0, err


def test_a_band_first_cube_gets_a_transpose_hint(capsys, tmp_path, model):
    scipy.io.savemat(tmp_path / "bhw.mat", {"data": np.ones((4, 12, 10)), "map": np.zeros((12, 10))})
    code, _, err = run_cli(capsys, "score", str(model), str(tmp_path / "bhw.mat"))
    assert_one_line(code, err, "(B, H, W)", "numpy.moveaxis(cube, 0, -1)")


@pytest.mark.parametrize("number,fragment", [
    (errno.ENOSPC, "the disk is full"), (errno.EFBIG, "larger than the file system"),
    (errno.EACCES, "check the permissions"), (errno.EROFS, "read-only"),
])
def test_io_errors_writing_scores(capsys, tmp_path, model, monkeypatch, number, fragment):
    import contextlib

    import had.atomic

    @contextlib.contextmanager
    def refuse(path):
        raise OSError(number, os.strerror(number), str(path))
        yield  # a generator, as atomic.writing is

    monkeypatch.setattr(had.atomic, "writing", refuse)
    np.save(tmp_path / "scene.npy", np.ones((6, 5, 4)))
    code, _, err = run_cli(capsys, "score", str(model), str(tmp_path / "scene.npy"), "-o",
                           str(tmp_path / "scores.npy"))
    assert_one_line(code, err, os.strerror(number), str(tmp_path / "scores.npy"), fragment)
    assert not (tmp_path / "scores.npy").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder(capsys, tmp_path, model):
    np.save(tmp_path / "scene.npy", np.ones((6, 5, 4)))
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(0o555)
    try:
        code, _, err = run_cli(capsys, "score", str(model), str(tmp_path / "scene.npy"), "-o",
                               str(readonly / "scores.npy"))
    finally:
        readonly.chmod(0o755)
    assert_one_line(code, err, "Permission denied", "check the permissions")
    assert list(readonly.iterdir()) == []


def test_debug_keeps_the_traceback(capsys, tmp_path, model, monkeypatch):
    monkeypatch.delenv("HAD_DEBUG", raising=False)
    with pytest.raises(had.DataFileError):
        main(["--debug", "score", str(model), str(tmp_path / "absent.npy")])
    assert "HAD_DEBUG" not in os.environ  # --debug is for that command, not for the rest of the caller's process


def test_a_disabled_plugin_is_not_called_missing(tmp_path, monkeypatch):
    pytest.importorskip("pyod")
    rows = np.random.default_rng(3).normal(size=(60, 3))
    path = had.save(had.get_detector("pyod-ecod").fit(rows), tmp_path / "ecod")
    monkeypatch.setenv("HAD_DISABLE_PLUGINS", "had-plugin-pyod")
    had.plugins.reset()
    with pytest.raises(had.ArtifactError) as info:
        had.load(path)
    assert "disabled by HAD_DISABLE_PLUGINS=had-plugin-pyod" in str(info.value)
    assert "install" not in str(info.value)
    with pytest.raises(had.UnknownNameError, match="it comes with had-plugin-pyod, which is installed, but its plugin "
                       "pyod is disabled by HAD_DISABLE_PLUGINS=had-plugin-pyod; remove had-plugin-pyod from that "
                       "variable$"):  # which plugin and which variable (was: the general "disables some plugins")
        had.get_detector("pyod-ecod")


def test_a_valid_v73_file_is_scored_not_called_corrupt(capsys, tmp_path, model):
    from test_reliability_files import write_v73

    cube = np.random.default_rng(4).normal(size=(5, 6, 4))
    write_v73(tmp_path / "scene73.mat", {"data": cube, "map": np.zeros((5, 6))})
    code, out, err = run_cli(capsys, "score", str(model), str(tmp_path / "scene73.mat"))
    assert code == 0, err
    assert "of 30 above the threshold" in out and "corrupt" not in err
    assert "metrics skipped: ground truth needs both normal (0) and anomalous (1)" in out  # an all-zero map


def _npy(path, array):
    np.save(path, array)
    return path


def _mat(path, **arrays):
    scipy.io.savemat(path, arrays)
    return path


NAN_CUBE = np.ones((6, 5, 4))
NAN_CUBE[2, 3, 1] = np.nan


@pytest.mark.parametrize("make,fragment", [
    (lambda d: _npy(d / "nan.npy", NAN_CUBE), "holds 1 NaN or infinite value(s)"),
    (lambda d: _npy(d / "inf.npy", np.full((6, 5, 4), np.inf)), "NaN or infinite"),
    (lambda d: _npy(d / "empty.npy", np.zeros((0, 5, 4))), "is empty"),
    (lambda d: _npy(d / "rank1.npy", np.ones(7)), "got an array of shape (7,)"),
    (lambda d: _npy(d / "text.npy", np.array([["a", "b"], ["c", "d"]])), "has dtype <U1"),
    (lambda d: _npy(d / "bands.npy", np.ones((6, 5, 3))), "fitted on 4 bands, got 3"),
    (lambda d: _mat(d / "nodata.mat", cube=np.ones((6, 5, 4)), mask=np.zeros((6, 5))),
     "no installed plugin reads this file (its keys are ['cube', 'mask'])"),
    (lambda d: _mat(d / "badmap.mat", data=np.ones((6, 5, 4)), map=np.zeros((4, 4))), "ground truth map has shape"),
    (lambda d: _mat(d / "labels.mat", X=np.ones((8, 4)), y=np.arange(8)), "expected 0 = normal, 1 = anomaly"),
], ids=["nan", "inf", "empty", "rank1", "text", "bands", "missing-key", "map-shape", "labels"])
def test_bad_data_families_are_one_line(capsys, tmp_path, model, make, fragment):
    path = make(tmp_path)
    before = snapshot(tmp_path)
    code, _, err = run_cli(capsys, "score", str(model), str(path), "-o", str(tmp_path / "scores.npy"))
    assert_one_line(code, err, fragment)
    assert snapshot(tmp_path) == before  # no scores file, nothing changed


def test_a_misspelt_setting_names_the_field_it_may_have_meant(capsys):
    """``--set epoch=3`` (for ``epochs``) or ``--data mappath=...`` was "Extra inputs are not permitted" alone;
    the line now names the close field names, or the command that lists them all."""
    import had
    from had.config import build_config
    from had.errors import ConfigError

    code, _, err = run_cli(capsys, "fit", "rx", "synthetic-scene", "--set", "contamnation=0.1", "-o", "never")
    assert code == 2 and "contamnation: Extra inputs are not permitted (did you mean contamination?)" in err
    code, _, err = run_cli(capsys, "fit", "rx", "synthetic-scene", "--set", "zzz=1", "-o", "never")
    assert code == 2 and "zzz: Extra inputs are not permitted (`had describe rx` lists the fields)" in err
    with pytest.raises(ConfigError, match=r"threshold_samples: .* \(did you mean threshold_sample or threshold\?\)"):
        had.get_detector("rx", threshold_samples=10)
    config = type(had.get_datasource("synthetic-scene").config)
    with pytest.raises(ConfigError, match="did you mean"):
        build_config(config, "data source synthetic-scene", **{next(iter(config.model_fields)) + "x": 1})


def test_a_failed_export_parity_keeps_the_fitted_model(tmp_path, monkeypatch, capsys):
    """``had fit DET DATA -o m --export`` whose ONNX graph misses the parity check (LREN on a one-band raster:
    4.25e-4 against 1e-4) lost the fit, hours of training on a flight line. The model is now saved without
    ``model.onnx`` (a complete artifact that scores eagerly), and the one line says so, with exit 2."""
    import had.onnx_export
    from had.errors import ExportParityError

    def failing(detector, X, y=None):
        raise ExportParityError(f"{detector.name}: ONNX parity failed: max relative error 0.000425 > 0.0001")

    monkeypatch.setattr(had.onnx_export, "export_and_verify", failing)
    np.save(tmp_path / "scene.npy", np.random.default_rng(0).normal(size=(12, 10, 4)))
    code, out, err = run_cli(capsys, "fit", "rx", str(tmp_path / "scene.npy"), "-o", str(tmp_path / "m"), "--export")
    assert_one_line(code, err, "ONNX parity failed: max relative error 0.000425 > 0.0001; the fitted model is saved "
                    f"in {tmp_path / 'm'} without model.onnx")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["manifest.json", "weights.safetensors"]
    loaded = had.load(tmp_path / "m")
    assert loaded.decision_function(np.load(tmp_path / "scene.npy")).shape == (12, 10)


def test_an_error_line_stays_one_harmless_line_whatever_the_message_holds(tmp_path, capsys):
    """A path (or a file's text) holding a newline or a terminal escape is written escaped in the `error:` line:
    one line, and nothing the terminal would act on."""
    code, _, err = run_cli(capsys, "fit", "rx", str(tmp_path / "bad\nname\x1b[2J.npy"), "-o", str(tmp_path / "m"))
    assert_one_line(code, err, "bad\\nname\\x1b[2J.npy does not exist")
    assert "\x1b" not in err


def test_torchs_failure_to_allocate_is_said_as_memory(tmp_path, capsys, monkeypatch):
    """torch's CPU allocator raises RuntimeError("... DefaultCPUAllocator: can't allocate memory: you tried to
    allocate 256000000000 bytes") (``--set latent=1000000000``, a typo of 1000; now refused before by
    :mod:`had.memory`, but a batch too large for a GPU still gets there), a traceback; it is out of memory, said
    with what to lower. Any other RuntimeError is a bug and keeps its traceback."""
    from had.cli import allocation_failed
    from had.rx import RX

    def allocator(self, X, y=None):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate "
                           "memory: you tried to allocate 256000000000 bytes. Error code 12 (Cannot allocate memory)")

    monkeypatch.setattr(RX, "fit", allocator)
    np.save(tmp_path / "scene.npy", np.random.default_rng(0).normal(size=(12, 10, 4)))
    code, _, err = run_cli(capsys, "fit", "rx", str(tmp_path / "scene.npy"), "-o", str(tmp_path / "m"))
    assert_one_line(code, err, "out of memory (", "can't allocate memory", "lower the network's sizes or batch_size")
    assert not (tmp_path / "m").exists()
    assert allocation_failed(type("OutOfMemoryError", (RuntimeError,), {})("CUDA out of memory. Tried to ..."))
    assert not allocation_failed(RuntimeError("mat1 and mat2 shapes cannot be multiplied (4x5 and 6x3)"))


def test_a_warning_is_one_note_line_on_the_command_line(tmp_path, capsys):
    """Was: Python's two lines, "/work/.../score_data.py:32: UserWarning: m was saved with had 999.0.0, ..." and
    then the source line "det = load(model)"."""
    import json

    rows = np.random.default_rng(0).normal(size=(40, 4))
    np.save(tmp_path / "rows.npy", rows)
    had.save(had.get_detector("rx").fit(rows), tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    manifest["version"] = "999.0.0"
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(manifest))
    code, _, err = run_cli(capsys, "score", tmp_path / "m", tmp_path / "rows.npy", "-o", tmp_path / "s.npy",
                           "--engine", "eager")
    assert code == 0 and "UserWarning" not in err and "load(model)" not in err, err
    assert f"note: {tmp_path / 'm'} was saved with had 999.0.0, " in err, err
