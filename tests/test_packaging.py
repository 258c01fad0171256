"""Publishable metadata and light installs: every pyproject in the repository, and the errors naming the extras."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from had.errors import HadError

ROOT = Path(__file__).resolve().parents[1]
PYPROJECTS = sorted([ROOT / "pyproject.toml", ROOT / "sdk" / "pyproject.toml",
                     *(ROOT / "plugins").glob("*/pyproject.toml")])


def _project(path: Path) -> dict:
    return tomllib.loads(path.read_text())["project"]


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower()


@pytest.fixture(params=PYPROJECTS, ids=lambda p: _project(p)["name"])
def project(request):
    return request.param, _project(request.param)


def test_one_licence_with_its_text(project):
    path, meta = project
    assert meta["license"] == "MIT" and meta["license-files"] == ["LICENSE"]
    licence = path.parent / "LICENSE"
    assert licence.read_text() == (ROOT / "LICENSE").read_text() and "MIT License" in licence.read_text()


def test_authors_urls_classifiers_keywords(project):
    _, meta = project
    assert meta["authors"] and meta["keywords"] and meta["requires-python"] == ">=3.11"
    assert {"Homepage", "Source", "Issues"} <= set(meta["urls"])
    assert all(url.startswith("https://") for url in meta["urls"].values())
    assert "Programming Language :: Python :: 3.11" in meta["classifiers"]
    assert not any(c.startswith("License ::") for c in meta["classifiers"])  # PEP 639: the expression says it


def test_had_distributions_are_bounded_and_onnxruntime_goes_through_the_core(project):
    _, meta = project
    dependencies = list(meta.get("dependencies", []))
    extras = [req for reqs in meta.get("optional-dependencies", {}).values() for req in reqs]
    bounded = {_name(req) for req in dependencies if re.search(r">=0\.1,<0\.2$", req)}
    for req in dependencies + extras:
        if _name(req).startswith("had") and _name(req) != meta["name"]:
            # an extra may name a had distribution without bounds when the dependencies already bound it
            ok = re.search(r">=0\.1,<0\.2$", req) or (req in extras and _name(req) in bounded)
            assert ok, f"{meta['name']}: {req!r} needs >=0.1,<0.2"
        if meta["name"] != "had":
            assert _name(req) not in {"onnxruntime", "onnxruntime-gpu"}, f"{meta['name']}: {req!r}: use had[onnx]"


def test_light_installs():
    core, sdk = _project(ROOT / "pyproject.toml"), _project(ROOT / "sdk" / "pyproject.toml")
    assert "matplotlib" not in {_name(r) for r in core["dependencies"]}
    assert [_name(r) for r in core["optional-dependencies"]["plots"]] == ["matplotlib"]
    assert not {"onnx", "onnxscript", "onnxruntime"} & {_name(r) for r in sdk["dependencies"]}
    assert {_name(r) for r in sdk["optional-dependencies"]["export"]} == {"onnx", "onnxscript"}
    pyod = _project(ROOT / "plugins" / "pyod" / "pyproject.toml")  # IForest alone pulls no torch
    assert not {"torch", "had-plugin-deepsad", "had-sdk"} & {_name(r) for r in pyod["dependencies"]}
    assert [_name(r) for r in pyod["optional-dependencies"]["hybrids"]] == ["had-plugin-deepsad"]
    assert [_name(r) for r in pyod["optional-dependencies"]["deep"]] == ["torch"]


def test_each_detector_plugin_depends_on_the_data_plugin_its_readme_reads():
    reads = {"lren": "had-plugin-hsi", "bs3lnet": "had-plugin-hsi", "cxr": "had-plugin-images",
             "deepsad": "had-plugin-odds", "geohgan": "had-plugin-raster"}
    for plugin, data_plugin in reads.items():
        deps = {_name(r) for r in _project(ROOT / "plugins" / plugin / "pyproject.toml")["dependencies"]}
        assert data_plugin in deps, plugin


def test_install_lines_say_cpu_torch_first():
    """Every README (and guide) that tells how to install a torch-using distribution says the CPU build first."""
    deep = ["plugins/" + p for p in ("lren", "bs3lnet", "cxr", "deepsad", "geohgan", "autoencoder")]
    for rel in [*(f"{p}/README.md" for p in deep), "sdk/README.md", "docs/plugin-guide.md", "docs/user-guide.md",
                "sdk/had_sdk/template/README.md.tmpl", "sdk/had_sdk/template/.github/workflows/ci.yml.tmpl"]:
        text = (ROOT / rel).read_text()
        assert "download.pytorch.org/whl/cpu" in text, rel


def test_plots_without_matplotlib_name_the_extra(monkeypatch, tmp_path):
    from had import plots

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    with pytest.raises(HadError, match=r'pip install "had\[plots\]"'):
        plots.roc_png(tmp_path / "roc.png", np.array([0, 1]), {"rx": np.array([0.1, 0.9])})
    assert not (tmp_path / "roc.png").exists()


def test_exporting_without_onnx_names_the_sdk_extra(monkeypatch):
    pytest.importorskip("torch")
    import importlib.util

    from had_sdk import export

    export.require_exporter()  # onnx is installed here: no error
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else real(name, *a))
    with pytest.raises(HadError, match=r'needs onnx, .* pip install "had-sdk\[export\]"'):
        export.require_exporter()


def test_the_core_and_its_cli_work_without_matplotlib():
    """A deployment host (had + a runtime): listing, fitting and scoring never import matplotlib."""
    import subprocess

    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "import numpy as np, had\n"
            "from had.cli import main\n"
            "main(['list', 'metrics'])\n"
            "X = np.random.default_rng(0).normal(size=(50, 4))\n"
            "print(had.get_detector('rx').fit(X).decision_function(X).shape)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"HAD_PLUGINS": "", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "auroc" in out.stdout and out.stdout.strip().endswith("(50,)")
