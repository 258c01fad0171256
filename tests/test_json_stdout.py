"""A ``--json`` run's stdout holds the JSON alone: what a plugin prints (in a hook, in its fit or scoring) goes to
stderr. Was (a probe of the plugin ecosystem): ``had list detectors --json``, ``had fit ... --json`` and
``had score ... --json`` began with the plugin's lines, and ``json.loads`` of stdout failed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_reliability_cli import run_cli

import had
from had import Detector, plugins


class Chatty(Detector):
    """Distance to the training mean, printing as it goes."""

    kinds = ("tabular",)

    def _fit(self, X, y):
        print("CHATTY FIT")
        self.mean_ = np.asarray(X, dtype=np.float64).mean(axis=0)

    def _score(self, X):
        print("CHATTY SCORE")
        return np.linalg.norm(np.asarray(X, dtype=np.float64) - self.mean_, axis=1)

    def _get_state(self):
        return {"mean": self.mean_}

    def _set_state(self, state):
        self.mean_ = state["mean"]


class ChattyPlugin:
    @had.hookimpl
    def register_detectors(register):
        print("CHATTY HOOK")
        register("chatty", Chatty)


@pytest.fixture(autouse=True)
def registered():
    plugins.register_plugin(ChattyPlugin, name="chatty-plugin")
    yield
    plugins.unregister_plugin("chatty-plugin")


def test_a_plugins_prints_go_to_stderr_in_json_runs(tmp_path, capsys):
    rows = np.random.default_rng(0).normal(size=(60, 4))
    np.save(tmp_path / "rows.npy", rows)
    code, out, err = run_cli(capsys, "list", "detectors", "--json")
    assert code == 0 and "chatty" in [d["name"] for d in json.loads(out)], out[:300]
    code, out, err = run_cli(capsys, "fit", "chatty", tmp_path / "rows.npy", "-o", tmp_path / "m", "--json")
    assert code == 0 and json.loads(out)["detector"] == "chatty", (out[:300], err)
    assert "CHATTY FIT" in err
    code, out, err = run_cli(capsys, "score", tmp_path / "m", tmp_path / "rows.npy", "-o", tmp_path / "s.npy",
                             "--json")
    assert code == 0 and isinstance(json.loads(out), (dict, list)), (out[:300], err)
    assert "CHATTY SCORE" in err and "CHATTY" not in out
    code, out, err = run_cli(capsys, "score", tmp_path / "m", tmp_path / "rows.npy", tmp_path / "rows.npy",
                             "--out", tmp_path / "maps", "--json")
    assert isinstance(json.loads(out), list) and "CHATTY" not in out, (out[:300], err)


def test_without_json_a_plugins_prints_stay_on_stdout(tmp_path, capsys):
    np.save(tmp_path / "rows.npy", np.random.default_rng(0).normal(size=(60, 4)))
    code, out, err = run_cli(capsys, "fit", "chatty", tmp_path / "rows.npy", "-o", tmp_path / "m")
    assert code == 0 and "CHATTY FIT" in out, (out, err)


def test_help_asked_for_beside_json_goes_to_stdout(capsys):
    """A review: `had list --json --help` printed its help to stderr (the --json redirection)."""
    code, out, err = run_cli(capsys, "list", "--json", "--help")
    assert code == 0 and "Usage" in out and "Usage" not in err, (out[:200], err[:200])
