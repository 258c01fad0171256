"""The conformance kit (had_sdk.testing) over the core RX: rows and cubes, export parity included; and every
registered detector has a kit suite somewhere in the repository's tests."""

import ast
from pathlib import Path

import pytest

pytest.importorskip("had_sdk")

import had.plugins  # noqa: E402
from had_sdk.testing import DetectorSuite  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


class TestRXConformance(DetectorSuite):
    detector = "rx"
    config = {"eig_floor": 1e-9}


def test_check_detector_fixture(check_detector):
    reports = check_detector("rx", kinds=("tabular",))
    assert reports["tabular"]["passed"]


def _suites(path: Path) -> set[str]:
    """Detector names of the DetectorSuite subclasses defined in a test file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ClassDef) and any(ast.unparse(b).endswith("DetectorSuite") for b in node.bases):
            for stmt in node.body:
                if (isinstance(stmt, ast.Assign) and [ast.unparse(t) for t in stmt.targets] == ["detector"]
                        and isinstance(stmt.value, ast.Constant)):
                    names.add(stmt.value.value)
    return names


def test_every_registered_detector_has_a_kit_suite():
    """So each one is shown to rank planted anomalies above normals (the kit's detection check), among the rest."""
    files = [*ROOT.glob("tests/test_*.py"), *ROOT.glob("plugins/*/tests/test_*.py")]
    covered = set().union(*(_suites(f) for f in files))
    registered = set(had.plugins.names("detector"))
    assert "rx" in covered
    assert sorted(registered - covered) == []
