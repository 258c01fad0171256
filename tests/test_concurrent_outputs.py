"""Two had runs writing one output at once (a read-only probe of 7 December 2026): the loser gets one line, no
output of the winner's is replaced or mixed."""

from __future__ import annotations

import json

import numpy as np
import pytest

import had
from had.rx import RX
from had_sdk.testing import run_cli


@pytest.fixture
def tables(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "a.npy", rng.normal(size=(80, 3)))
    np.save(tmp_path / "b.npy", rng.normal(size=(80, 5)))
    return tmp_path


def test_a_model_saved_into_the_folder_while_had_fit_ran_is_not_replaced(tables, capsys, monkeypatch):
    """Two `had fit -o SAME` at once both said "saved" and the first model was replaced without --overwrite (its
    run never told): the look before the fit found the folder empty. Now the save refuses under its lock."""
    other = had.get_detector("rx").fit(np.load(tables / "b.npy"))
    fit = RX.fit

    def fit_while_another_saves(self, X, y=None):  # the other run's save lands during this fit
        if not (tables / "m").exists():
            had.save(other, tables / "m")
        return fit(self, X, y)

    monkeypatch.setattr(RX, "fit", fit_while_another_saves)
    code, out, err = run_cli(capsys, "fit", "rx", tables / "a.npy", "-o", tables / "m")
    assert code == 2 and "saved" not in out, (out, err)
    assert "received a fitted rx model while this fit ran" in err and "--overwrite" in err and err.count("\n") == 1
    assert json.loads((tables / "m" / "manifest.json").read_text())["input_spec"]["n_features"] == 5  # the other's
    code, out, err = run_cli(capsys, "fit", "rx", tables / "a.npy", "-o", tables / "m", "--overwrite")
    assert code == 0 and "saved" in out, err  # with --overwrite the same race replaces it, as asked
    assert json.loads((tables / "m" / "manifest.json").read_text())["input_spec"]["n_features"] == 3


def test_a_second_had_score_out_into_a_folder_being_written_is_refused(tables, capsys):
    """Two `had score --out SAME` at once (two models) each failed the files the other wrote first and left a
    folder of both's maps, each saying "the others' maps are in so". Now the second is one line, exit 2."""
    from had import score_many

    had.save(had.get_detector("rx").fit(np.load(tables / "a.npy")), tables / "m")
    out = tables / "maps"
    out.mkdir()
    with score_many.LOCK.held(out):  # another run scoring into it
        code, stdout, err = run_cli(capsys, "score", tables / "m", tables / "a.npy", "--out", out)
        assert code == 2 and err.count("\n") == 1, (stdout, err)
        assert f"another had score --out is writing maps into {out}; wait for it to finish" in err
        assert sorted(p.name for p in out.iterdir()) == [".had-score.lock"]
    code, stdout, err = run_cli(capsys, "score", tables / "m", tables / "a.npy", "--out", out)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["a.npy"]  # the lock removed at the end


def test_two_saves_of_one_model_write_the_same_weights_file(tables):
    """safetensors wrote the header's metadata keys in an order seeded per process, so two saves of the same
    model (in two processes) differed in weights.safetensors and its sha256 in the manifest (a read-only probe)."""
    import subprocess
    import sys

    code = ("import sys, numpy as np, had; "
            "had.save(had.get_detector('rx').fit(np.load(sys.argv[1])), sys.argv[2])")
    hashes = set()
    for run in range(6):  # the order was random per process: six processes all agree now
        out = tables / f"m{run}"
        subprocess.run([sys.executable, "-c", code, str(tables / "a.npy"), str(out)], check=True,
                       env={**__import__("os").environ, "PYTHONHASHSEED": "random"})
        hashes.add((out / "weights.safetensors").read_bytes())
        assert json.loads((out / "manifest.json").read_text())["files"]["weights.safetensors"]
    assert len(hashes) == 1
    loaded = had.load(tables / "m0")
    assert loaded.decision_function(np.load(tables / "a.npy")).shape == (80,)
