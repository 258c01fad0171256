"""Shared test setup: one torch thread (the machines are shared; tiny MLPs are 30x slower with contended threads).
Real-data files come from the SDK's ``real_file`` fixture; ``saved_and_exported`` checks a fitted detector's
artifact and ONNX graph."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import had
from had.onnx_export import export_and_verify

torch.set_num_threads(1)


@pytest.fixture
def saved_and_exported(tmp_path):
    """A check: the artifact of a fitted detector scores as the detector does (same config), and its ONNX graph
    passes the parity check (scores, labels and AUROC)."""
    def check(det, X, y) -> None:
        path = tmp_path / "det.had"
        had.save(det, path)
        loaded = had.load(path)
        assert loaded.config == det.config
        np.testing.assert_array_equal(loaded.decision_function(X), det.decision_function(X))
        report = export_and_verify(det, X, y=y)[1]  # raises unless scores, labels and AUROC agree
        assert report["passed"] and report["max_rel_err"] <= 1e-4
    return check
