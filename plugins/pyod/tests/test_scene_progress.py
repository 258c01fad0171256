"""An audit on ENVI lines found long silent stretches in `had fit`: after fitting a pixel sample, a row model scores
every pixel of the scene for the threshold (pyod-iforest ~190 s on a 2048x2048x64 line; pyod-kde and hybrid-kde
with 20,000 training pixels 150 s and more on 1024x1024; pyod-knn 100 s on 1 M pixels with 20,000, an hour with the
default 200,000 on 4 M), with nothing said. That pass now shows a tqdm bar on a terminal (as the torch detectors'
training does), and a model whose cost per pixel grows with its sample (kNN, KDE, the kernel SVMs) says once, on
stderr, how many pixel pairs it is about to compute and how to make them fewer. The scores are unchanged."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

import had
from had_pyod import adapter


class Terminal(io.StringIO):
    """stderr as a terminal: tqdm's bar (``disable=None``) shows only there."""

    def isatty(self) -> bool:
        return True


def _cube(h=120, w=120, bands=6, seed=0):
    rng = np.random.default_rng(seed)
    cube = rng.normal(size=(h, w, bands))
    cube[5, 7] += 6.0
    return cube


def _note(name, pixels, n, what, limit):
    return (f"note: {name} scores each of the {pixels:,} pixels against its {n:,} {what}: about "
            f"{float(pixels) * n:.2g} pixel pairs; lower --set max_fit_pixels=N (now {limit:,}) to go faster")


@pytest.mark.parametrize("name,config,what", [
    ("pyod-knn", {}, "training pixels"),
    ("pyod-kde", {"bandwidth": 1.0}, "training pixels"),
    ("pyod-ocsvm", {}, "support vectors"),
    ("ssad", {}, "support vectors"),
])
def test_a_sampled_fit_says_its_pixel_pairs_once(name, config, what, capsys, monkeypatch):
    monkeypatch.setattr(adapter, "NOTE_PAIRS", 1e5)  # 14,400 pixels x up to 1,500 training pixels: 2.2e7 pairs
    cube = _cube()
    det = had.get_detector(name, {"max_fit_pixels": 1500, **config}).fit(cube)
    err = capsys.readouterr().err
    n = {"pyod-ocsvm": lambda: det.state_["support"].shape[0], "ssad": lambda: det.support_.shape[0]}.get(
        name, lambda: det.train_rows_.shape[0])()
    assert n <= 1500 and (what == "support vectors" or n == 1500)
    assert err.splitlines() == [_note(name, 14_400, n, what, 1500)]
    np.testing.assert_array_equal(det.decision_scores_, det.decision_function(cube).reshape(-1))
    assert capsys.readouterr().err == ""  # scoring after the fit says nothing


def test_the_note_waits_for_a_cost_worth_saying(capsys):
    """Below :data:`NOTE_PAIRS` (1e9: ~5 s of kNN) a sampled fit is quiet off a terminal, as is a fit of the whole
    scene at any size, and a model whose pixel cost does not grow with the sample (trees) never notes."""
    cube = _cube()
    had.get_detector("pyod-knn", max_fit_pixels=1500).fit(cube)  # 2.2e7 pairs
    had.get_detector("pyod-knn").fit(cube)  # 14,400 pixels <= 200,000: fitted whole, nothing sampled
    had.get_detector("pyod-iforest", max_fit_pixels=1500, n_estimators=10).fit(cube)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("name,config", [("pyod-iforest", {"n_estimators": 10}), ("pyod-gmm", {}),
                                         ("pyod-knn", {})])
def test_on_a_terminal_a_bar_counts_the_scenes_pixels(name, config, monkeypatch):
    cube = _cube()
    quiet = had.get_detector(name, {"max_fit_pixels": 1500, **config}).fit(cube)
    monkeypatch.setattr(sys, "stderr", Terminal())
    det = had.get_detector(name, {"max_fit_pixels": 1500, **config}).fit(cube)
    shown = sys.stderr.getvalue()
    assert f"{name}: scoring every pixel for the threshold:" in shown and "/14.4k " in shown  # of 14,400 pixels
    np.testing.assert_array_equal(det.decision_scores_, quiet.decision_scores_)  # the same numbers
    sys.stderr.seek(0)
    sys.stderr.truncate()
    det.decision_function(cube)  # scoring later (had score) shows no bar
    had.get_detector(name, config).fit(cube)  # nor a fit of the whole scene
    assert sys.stderr.getvalue() == ""


def test_a_hybrid_says_its_inner_models_pairs(capsys, monkeypatch):
    pytest.importorskip("had_deepsad")
    monkeypatch.setattr(adapter, "NOTE_PAIRS", 1e6)
    cube = _cube(60, 60, 6)
    det = had.get_detector("hybrid-kde", ae_epochs=1, device="cpu", max_fit_pixels=1000, bandwidth=1.0).fit(cube)
    assert capsys.readouterr().err.splitlines() == [_note("hybrid-kde", 3600, 1000, "training pixels", 1000)]
    assert det.inner_.train_rows_.shape[0] == 1000
