"""The conformance kit (had_sdk.testing) over the core RX: rows and cubes, export parity included."""

import pytest

pytest.importorskip("had_sdk")

from had_sdk.testing import DetectorSuite  # noqa: E402


class TestRXConformance(DetectorSuite):
    detector = "rx"
    config = {"eig_floor": 1e-9}


def test_check_detector_fixture(check_detector):
    reports = check_detector("rx", kinds=("tabular",))
    assert reports["tabular"]["passed"]
