"""The SDK's conformance kit over `bs3lnet` with a tiny config (fit/score, determinism, save/load, ONNX, errors)."""

from __future__ import annotations

import pytest

testing = pytest.importorskip("had_sdk.testing", reason="the conformance kit (had-sdk's had_sdk.testing) is not installed")


class TestBS3LNetConformance(testing.DetectorSuite):
    detector = "bs3lnet"
    config = {"epochs": 1, "channels": 8, "patch": 7, "batch_size": 64}
