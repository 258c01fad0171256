"""`had plugin new NAME` writes a plugin that installs, is listed by `had plugins`, and passes its own kit tests.

The plugin is installed with ``pip install --no-deps --no-build-isolation --target DIR`` into a private folder
put on PYTHONPATH for the subprocesses only: nothing is installed into the shared environment, so there is
nothing to uninstall, and a crash leaves no trace.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("had_sdk")
pytest.importorskip("onnxruntime")

from had.errors import HadError  # noqa: E402
from had_sdk.scaffold import names_for, new_plugin  # noqa: E402

NAME = "tmpl-check"


def _env(site: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("OMP_NUM_THREADS", "1")  # tiny networks; a shared CI machine
    env.pop("HAD_PLUGINS", None)
    env.pop("HAD_DISABLE_PLUGINS", None)
    return env


def _isolation() -> list[str]:
    """Build with this environment's setuptools when it can build the template by itself (>= 77: SPDX
    `license`, no network, fast); an older one (a fresh Python 3.11 venv has 65.5) gets pip's isolated build."""
    try:
        import setuptools
    except ImportError:
        return []
    version = tuple(int(p) for p in setuptools.__version__.split(".")[:2] if p.isdigit())
    return ["--no-build-isolation"] if version >= (77, 0) else []


def _had(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("had")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "from had.cli import main; main()"]
    return subprocess.run([*cmd, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_names():
    assert names_for("deep-svdd") == {"name": "deep-svdd", "distribution": "had-plugin-deep-svdd",
                                      "package": "had_deep_svdd", "class_name": "DeepSvddDetector"}
    for bad in ("", "Deep", "1st", "a b", "x--y", "-x"):
        with pytest.raises(HadError, match="invalid plugin name"):
            names_for(bad)


def test_refuses_a_non_empty_destination(tmp_path):
    new_plugin("twice", tmp_path)
    with pytest.raises(HadError, match="already exists"):
        new_plugin("twice", tmp_path)


@pytest.mark.slow
def test_generated_plugin_installs_lists_and_passes_its_tests(tmp_path):
    env = _env(tmp_path / "site")
    made = _had("plugin", "new", NAME, "--dest", str(tmp_path), env=env, cwd=tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    root = tmp_path / f"had-plugin-{NAME}"
    assert (root / "pyproject.toml").is_file() and (root / "README.md").is_file()

    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", *_isolation(), "--no-compile",
         "--target", str(tmp_path / "site"), str(root)],
        capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr

    listed = _had("plugins", env=env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    row = next((line for line in listed.stdout.splitlines() if f"had-plugin-{NAME}" in line), "")
    assert f"detectors: {NAME}" in row and "| ok |" in row, listed.stdout

    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests")],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout and "failed" not in tests.stdout
