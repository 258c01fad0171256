"""The speed work of issue 12 changed no score: seeded fits against the scores saved before it
(pre_speed_scores.npz, see lren_testdata.SPEED_CASES), and the pieces made faster against their direct forms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from had_lren import lrr as L

from lren_testdata import SPEED_CASES, case_scores

SAVED = np.load(Path(__file__).with_name("pre_speed_scores.npz"))


def max_rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.mark.parametrize("name", sorted(SPEED_CASES))
def test_scores_equal_those_saved_before_the_speed_work(name):
    """`lren` within float32 round-off (the bench's relative measure), `lren-reference` bit for bit on the machine
    that saved them (1e-6 leaves room for another CPU's float32 GEMM rounding)."""
    got = case_scores(name)
    tol = 1e-6 if SPEED_CASES[name][0] == "lren-reference" else 1e-5
    for key in ("scores", "admm"):
        saved = SAVED[f"{name}.{key}"]
        assert got[key].shape == saved.shape
        assert max_rel(got[key], saved) <= tol, (key, max_rel(got[key], saved))
    assert set(np.argsort(got["scores"])[-12:]) == set(np.argsort(SAVED[f"{name}.scores"])[-12:])  # same top 12
