"""had's machine interface, as a pipeline or a supervisor meets it: a stderr reader that goes away, environment
variables with bad or unknown values, one set of ``had score --json`` keys in every mode, ``had data fetch`` of
several files, metrics measured one by one, and ``python -m had``.

Each test names what it was before ("was: ...") and fails on the code before the fix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io

import had
from had import fetch, matfile
from had.cli import main
from had.datadir import KnownFile
from had.errors import ConfigError
from had.score_data import truth_metrics

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _had(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    """`had ARGS` in a fresh interpreter (the console script's entry: had.cli), stdin closed."""
    return subprocess.run([sys.executable, "-m", "had.cli", *args], stdin=subprocess.DEVNULL, env=ENV,
                          timeout=300, **kwargs)


def _run(capsys, *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def table(tmp_path):
    """A (200, 4) table, an RX model fitted on it, and a (20, 20, 4) cube."""
    rng = np.random.default_rng(5)
    np.save(tmp_path / "tab.npy", rng.normal(size=(200, 4)))
    np.save(tmp_path / "cube.npy", rng.normal(size=(20, 20, 4)))
    had.save(had.get_detector("rx").fit(rng.normal(size=(200, 4))), tmp_path / "m")
    return tmp_path


# 1. a stderr reader that goes away

def _stderr_gone(args: list[str]) -> subprocess.CompletedProcess:
    reader, writer = os.pipe()
    os.close(reader)  # the reader is gone before the first byte: every write to stderr meets EPIPE
    try:
        return _had(args, stdout=subprocess.PIPE, stderr=writer, text=True)
    finally:
        os.close(writer)


def test_json_commands_finish_when_the_stderr_reader_has_gone(table):
    """`had fit ... --json` (and score) with stderr a pipe nobody reads: the model is saved, the JSON printed,
    exit 0 as without the pipe; an error is still exit 2 (was: exit 1 at the first progress line, no model, no
    JSON, and exit 1 for an error too)."""
    fitted = _stderr_gone(["fit", "rx", str(table / "tab.npy"), "-o", str(table / "m2"), "--json"])
    assert fitted.returncode == 0
    assert json.loads(fitted.stdout)["detector"] == "rx"
    assert (table / "m2" / "manifest.json").is_file()
    scored = _stderr_gone(["score", str(table / "m2"), str(table / "tab.npy"), "--json"])
    assert scored.returncode == 0 and json.loads(scored.stdout)["n_scores"] == 200
    np.save(table / "three.npy", np.ones((10, 3)))  # 3 features for a 4-feature model
    wrong = _stderr_gone(["score", str(table / "m2"), str(table / "three.npy"), "--json"])
    assert wrong.returncode == 2 and wrong.stdout == ""


# 2. HAD_MAT_TIMEOUT

def test_mat_timeout_takes_seconds_or_inf(monkeypatch):
    """`inf` is no limit (was: a traceback from subprocess); unset or empty is 600 s."""
    monkeypatch.delenv("HAD_MAT_TIMEOUT", raising=False)
    assert matfile._timeout() == 600.0
    for value, seconds in (("", 600.0), ("30", 30.0), (" 2.5 ", 2.5), ("inf", None), ("Infinity", None)):
        monkeypatch.setenv("HAD_MAT_TIMEOUT", value)
        assert matfile._timeout() == seconds, value


@pytest.mark.parametrize("value", ["nan", "0", "-3", "-inf", "abc", "10s"])
def test_a_mat_timeout_that_is_no_timeout_is_one_config_error(monkeypatch, value):
    """Was: nan a traceback, 0 or -3 "took longer than 0s ... probably corrupt", abc or 10s silently 600."""
    monkeypatch.setenv("HAD_MAT_TIMEOUT", value)
    with pytest.raises(ConfigError, match=r"^HAD_MAT_TIMEOUT=.* positive number of seconds .* inf for no limit"):
        matfile._timeout()


def test_a_bad_mat_timeout_is_one_line_and_inf_reads_the_file(capsys, tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    scipy.io.savemat(tmp_path / "own.mat", {"X": rng.normal(size=(60, 3)), "y": (np.arange(60) < 3).astype(float)})
    monkeypatch.setenv("HAD_MAT_TIMEOUT", "abc")
    code, out, err = _run(capsys, "fit", "rx", str(tmp_path / "own.mat"), "-o", str(tmp_path / "m"))
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: HAD_MAT_TIMEOUT='abc'")
    assert not (tmp_path / "m").exists()
    monkeypatch.setenv("HAD_MAT_TIMEOUT", "inf")
    code, out, err = _run(capsys, "fit", "rx", str(tmp_path / "own.mat"), "-o", str(tmp_path / "m"))
    assert code == 0, err
    assert (tmp_path / "m" / "manifest.json").is_file()


# 3. one set of keys for a file's result in every mode of had score --json

KEYS = {"dataset", "status", "error", "map", "png", "shape", "n_scores", "flagged", "threshold", "engine",
        "no_data_pixels", "metrics", "metrics_skipped", "metrics_note"}


def test_score_json_has_the_same_keys_in_memory_tile_by_tile_and_with_out(capsys, table):
    """Was: no no_data_pixels in memory; with --out no n_scores nor metrics, a failed file only {dataset, map,
    error}, a skipped file absent."""
    m, cube = str(table / "m"), str(table / "cube.npy")
    records = {}
    for mode, extra in (("memory", []), ("npy", ["-o", str(table / "x.npy")]),
                        ("tif", ["-o", str(table / "x.tif")])):
        code, out, err = _run(capsys, "score", m, cube, "--json", *extra)
        assert code == 0, err
        records[mode] = json.loads(out)
    for mode, record in records.items():
        assert set(record) == KEYS, mode
        assert record["status"] == "scored" and record["error"] is None and record["no_data_pixels"] == 0
        assert record["n_scores"] == 400 and record["metrics"] == {} and record["metrics_skipped"] is None
    assert records["memory"]["map"] is None and records["tif"]["map"] == str(table / "x.tif")

    np.save(table / "bad.npy", np.ones((5, 5, 3)))  # 3 bands for a 4-band model: this file fails
    np.save(table / "cube2.npy", np.random.default_rng(1).normal(size=(10, 10, 4)))
    code, out, err = _run(capsys, "score", m, cube, "--out", str(table / "maps"), "--map-format", "npy")
    assert code == 0, err
    code, out, err = _run(capsys, "score", m, str(table / "cube2.npy"), str(table / "bad.npy"), cube, "--out",
                          str(table / "maps"), "--map-format", "npy", "--skip-existing", "--json")
    assert code == 1
    rows = json.loads(out)
    assert [set(row) for row in rows] == [KEYS] * 3
    assert [(Path(row["dataset"]).name, row["status"]) for row in rows] == [
        ("cube2.npy", "scored"), ("bad.npy", "failed"), ("cube.npy", "skipped")]  # the inputs' order
    scored, failed, skipped = rows
    assert scored["n_scores"] == 100 and scored["metrics"] == {} and scored["no_data_pixels"] == 0
    assert scored["map"] == str(table / "maps" / "cube2.npy") and scored["error"] is None
    assert "3" in failed["error"] and failed["map"] is None and failed["n_scores"] is None
    assert skipped["map"] == str(table / "maps" / "cube.npy") and skipped["error"] is None
    assert skipped["flagged"] is None


# 4. had data fetch of several files

@pytest.fixture
def mirror(tmp_path, monkeypatch):
    from test_fetch import _Server

    from local_http import serving

    root = tmp_path / "served"
    root.mkdir()
    monkeypatch.setenv("HAD_DATA_DIR", str(tmp_path / "data"))
    with serving(_Server(root)) as server:
        monkeypatch.setenv(fetch.MIRROR_ENV, server.url)
        yield server


def test_fetch_tries_every_file_and_exits_1_when_some_failed(capsys, tmp_path, monkeypatch, mirror):
    """A mirror without the first file: one error line for it, the second is still fetched, then exit 1 (was: the
    first failure ended the fetch, exit 2, the second never tried). An unknown name: exit 2 before any download."""
    import hashlib

    payload = b"second file" * 100
    (mirror.root / "two").mkdir()
    (mirror.root / "two" / "b.bin").write_bytes(payload)
    files = {"first": [KnownFile("one/a.bin", "0" * 64, "unused")],
             "second": [KnownFile("two/b.bin", hashlib.sha256(payload).hexdigest(), "unused")]}
    real = fetch.files_for
    monkeypatch.setattr(fetch, "files_for", lambda name: files[name] if name in files else real(name))
    code, out, err = _run(capsys, "data", "fetch", "first", "second")
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("error:") and "one/a.bin" in lines[0] and "404" in lines[0]
    assert lines[1].startswith("error: 1 of 2 file(s) could not be fetched (one/a.bin)")
    assert out.startswith("downloaded") and (tmp_path / "data" / "two" / "b.bin").read_bytes() == payload
    requested = len(mirror.log)
    code, out, err = _run(capsys, "data", "fetch", "second", "nosuchdataset")
    assert code == 2 and err.count("\n") == 1 and "nosuchdataset" in err
    assert len(mirror.log) == requested and out == ""  # nothing requested


# 5. each metric on its own

def test_one_undefined_metric_does_not_drop_the_others(capsys, tmp_path):
    """Scores that tie: AUC(Pf, tau) is undefined, the AUROC (0.5) is not (was: "metrics": {} for both)."""
    metrics, skipped = truth_metrics(np.arange(60) < 3, np.zeros(60))
    assert metrics == {"auroc": 0.5}
    assert skipped.startswith("auc_pf_tau: every score equals 0")
    metrics, skipped = truth_metrics(np.zeros(60), np.arange(60.0))  # one class: every metric, one reason
    assert metrics == {} and skipped and not skipped.startswith(("auroc", "auc_pf_tau"))

    rows = "a,b,y\n" + "".join(f"1,2,{int(i < 3)}\n" for i in range(60))
    (tmp_path / "labc.csv").write_text(rows)
    code, _, err = _run(capsys, "fit", "rx", str(tmp_path / "labc.csv"), "-o", str(tmp_path / "m"))
    assert code == 0, err
    code, out, err = _run(capsys, "score", str(tmp_path / "m"), str(tmp_path / "labc.csv"), "--json")
    assert code == 0, err
    record = json.loads(out)
    assert record["metrics"] == {"auroc": 0.5} and record["metrics_skipped"].startswith("auc_pf_tau: ")
    code, out, err = _run(capsys, "score", str(tmp_path / "m"), str(tmp_path / "labc.csv"))
    assert "auroc 0.5000 (skipped: auc_pf_tau: every score equals 0" in out + err  # the text says both too


# 6. python -m had

def test_python_dash_m_had_runs_the_cli():
    """Was: "No module named had.__main__; 'had' is a package and cannot be directly executed"."""
    done = subprocess.run([sys.executable, "-m", "had", "list", "detectors", "--json"], capture_output=True,
                          text=True, env=ENV, timeout=300, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert "rx" in {d["name"] for d in json.loads(done.stdout)}
    bad = subprocess.run([sys.executable, "-m", "had", "score", "nosuch-model", "x"], capture_output=True,
                         text=True, env=ENV, timeout=300, stdin=subprocess.DEVNULL)
    assert bad.returncode == 2 and "error: had score: invalid value for 'MODEL'" in bad.stderr  # the console script's name and status


# 7. unknown names in HAD_PLUGINS / HAD_DISABLE_PLUGINS

def test_a_plugin_selection_naming_no_installed_plugin_is_warned_once(capsys, monkeypatch):
    """Was: `HAD_PLUGINS=nosuch had list detectors` listed only rx without a word."""
    from importlib.metadata import entry_points

    installed = sorted(ep.name for ep in entry_points(group="had"))
    assert installed, "needs an installed plugin"
    monkeypatch.setattr(had.plugins, "_warned", set(), raising=False)
    monkeypatch.setenv("HAD_PLUGINS", f"nosuch,{installed[0]}")
    monkeypatch.setenv("HAD_DISABLE_PLUGINS", "alsonot")
    had.plugins.reset()
    assert "rx" in had.plugins.names("detector")
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2, err
    assert err[0].startswith("warning: HAD_PLUGINS: nosuch matches no installed plugin")
    assert err[1].startswith("warning: HAD_DISABLE_PLUGINS: alsonot matches no installed plugin")
    assert all(f"installed: {', '.join(n for n in installed if n != 'had')}; " in line for line in err)
    had.plugins.reset()
    had.plugins.names("detector")
    assert capsys.readouterr().err == ""  # said once per process
    monkeypatch.setenv("HAD_PLUGINS", installed[0])
    monkeypatch.delenv("HAD_DISABLE_PLUGINS")
    had.plugins.reset()
    assert installed[0] in {p.name for p in had.plugins.plugins()}
    assert capsys.readouterr().err == ""  # an installed name: nothing said
