"""had turns onnxruntime's telemetry off unless the user chose: onnxruntime 1.32's Linux build wrote a device id
and an event cache under ~/.cache/Microsoft/DeveloperTools/.onnxruntime at every `had score`, `had serve` or
export (an artifact probe of 7 December 2026), and its 1DS uploader sends usage events to Microsoft, unless
ORT_DISABLE_TELEMETRY=1 is set before onnxruntime loads."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

#: the variables onnxruntime reads as "a CI machine" (it then records nothing, whatever had does)
CI_MARKS = ("APPVEYOR", "BUILDKITE", "CIRCLECI", "CODEBUILD_BUILD_ID", "GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL",
            "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI", "TEAMCITY_VERSION", "TF_BUILD", "TRAVIS")

SCORE = """
import numpy as np, had
from had.onnx_export import export
from had.runtime import OnnxScorer
X = np.random.default_rng(0).normal(size=(50, 3))
path = had.save(had.get_detector("rx").fit(X), {folder!r})
export(path, X)
print(OnnxScorer(path).score(X).shape)
"""


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k not in CI_MARKS and k != "ORT_DISABLE_TELEMETRY"}
    env.update(HOME=str(tmp_path / "home"), XDG_CACHE_HOME=str(tmp_path / "cache"), **extra)
    (tmp_path / "home").mkdir()
    return env


def test_scoring_with_onnxruntime_writes_nothing_to_the_users_home(tmp_path):
    done = subprocess.run([sys.executable, "-c", SCORE.format(folder=str(tmp_path / "m"))], env=_env(tmp_path),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(50,)"
    written = [p for p in tmp_path.rglob("*") if "Microsoft" in p.parts or p.name == "deviceid"]
    assert written == []


def test_the_users_own_setting_is_kept():
    code = "import os, had; print(os.environ['ORT_DISABLE_TELEMETRY'])"
    for given in ("0", "1"):
        env = {**os.environ, "ORT_DISABLE_TELEMETRY": given}
        assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                              timeout=120).stdout.strip() == given
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120).stdout.strip() == "1"
