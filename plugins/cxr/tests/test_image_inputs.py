"""The chest X-ray detectors check the images they score as they check those they fit on (values in [0, 1],
had_cxr.common.check_unit_range), and channels-last batches are refused before training (had.image_checks)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import had
from cxr_toy import tiny_images

TINY = {"epochs": 1, "isize": 16, "width": 2, "rep_dim": 4, "batch_size": 8, "progress": False}


@pytest.mark.parametrize("name", ["memdae", "rlad", "gan-gp", "cxr-deepsvdd"])
def test_images_to_score_outside_0_1_are_refused_as_at_fit(name):
    X, _ = tiny_images()
    det = had.get_detector(name, **TINY).fit(X)
    scores = det.decision_function(X)
    assert np.isfinite(scores).all() and np.ptp(scores) > 0
    with pytest.raises(had.errors.InvalidInputError, match=r"these images span \[\d+, 255\].*: divide by 255$"):
        det.decision_function(np.round(X * 255))  # was: scored as they were, exit 0 (had.image_checks says it)
    with pytest.raises(had.errors.InvalidInputError, match=r"these images (to score )?span \[-\d"):
        det.decision_function((X - X.mean()) / X.std())  # standardised
    with pytest.raises(had.errors.InvalidInputError, match=r"values in \[0, 1\].*these images to score span "
                                                           r"\[[\d.]+, 1\.3\]: scale them to \[0, 1\]$"):
        det.decision_function(np.clip(X * 1.3 / X.max(), 0, None))  # the cxr detectors' own [0, 1] range


def test_a_held_out_validation_image_outside_0_1_is_refused_at_fit():
    """MemDAE holds out a validation part; its images are checked as well (the preprocessing saw only the rest)."""
    X, _ = tiny_images()
    config = {**TINY, "validation_fraction": 0.25, "seed": 3}
    held_out = np.random.default_rng(3).permutation(len(X))[0]  # the SDK's split: the first of the seeded order
    X[held_out] *= 255
    with pytest.raises(had.errors.InvalidInputError, match=r"these training images span \[[\d.]+, [\d.]+\]: scale"):
        had.get_detector("memdae", **config).fit(X)


def test_cli_refuses_channels_last_images_and_0_255_images_to_score(tmp_path, capfd, monkeypatch):
    """``had fit``/``had score`` run in this process through the CLI's entry point (run_cli: its exit code, and
    stdout and stderr read at the file descriptors): a subprocess per command cost an interpreter and torch's
    import each and tested nothing more."""
    from had_sdk.testing import run_cli

    def had_cli(*args, cwd):
        monkeypatch.chdir(cwd)
        code, stdout, stderr = run_cli(capfd, *args)
        return SimpleNamespace(returncode=code, stdout=stdout, stderr=stderr)

    X, _ = tiny_images()
    np.save(tmp_path / "nhwc.npy", np.moveaxis(X, 1, -1))  # (24, 16, 16, 1)
    np.save(tmp_path / "unit.npy", X)
    np.save(tmp_path / "u8.npy", np.round(X * 255).astype(np.uint8))
    out = had_cli("fit", "memdae", "nhwc.npy", "--set", "epochs=1", "-o", "m", cwd=tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr  # was 0: 16 channels of 16x1 pixels
    assert out.stderr.strip().splitlines() == [
        "error: images of shape (24, 16, 16, 1) look channels-last: they are probably stored as (N, H, W, C), which "
        "had would read as 16 channels of 16x1 pixels; move the channel axis second, e.g. numpy.moveaxis(x, -1, 1), "
        "to get (24, 1, 16, 16) (N, C, H, W)"]
    assert not (tmp_path / "m").exists()
    fit = had_cli("fit", "memdae", "unit.npy", "--set", "epochs=1", "-o", "m", cwd=tmp_path)
    assert fit.returncode == 0, fit.stdout + fit.stderr
    for data, message in [("u8.npy", "255], the model was fitted on images in [0, 1]"),
                          ("nhwc.npy", "fitted on images (1, 16, 16); images of shape (24, 16, 16, 1) look "
                                       "channels-last")]:
        out = had_cli("score", "m", data, "--engine", "eager", cwd=tmp_path)
        assert out.returncode == 2, out.stdout + out.stderr
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], lines
