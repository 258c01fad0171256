"""The template's publishing files: licence, .gitignore, CI workflow, project URLs, the plugin API declaration."""

from __future__ import annotations

import re
import tomllib

import pytest

pytest.importorskip("had_sdk")

from had.plugin_api import PLUGIN_API  # noqa: E402
from had_sdk.scaffold import new_plugin  # noqa: E402


def test_generated_plugin_is_ready_to_publish(tmp_path):
    root = new_plugin("pub-check", tmp_path)
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert "Copyright (c) the had-plugin-pub-check authors" in (root / "LICENSE").read_text()
    assert project["urls"]["Source"].endswith("/had-plugin-pub-check") and project["authors"]
    assert "had>=0.1,<0.2" in project["dependencies"] and "had-sdk>=0.1,<0.2" in project["dependencies"]
    assert "onnxruntime" not in " ".join(project["optional-dependencies"]["test"]).replace("had[onnx]", "")
    ignored = (root / ".gitignore").read_text().split()
    assert {"__pycache__/", "dist/", "*.egg-info/", ".venv/"} <= set(ignored)
    ci = (root / ".github" / "workflows" / "ci.yml").read_text()
    assert "${{ matrix.python-version }}" in ci and "download.pytorch.org/whl/cpu" in ci and '".[test]"' in ci
    plugin = (root / "had_pub_check" / "plugin.py").read_text()
    assert re.search(rf"^PLUGIN_API = {PLUGIN_API}\b", plugin, re.M)
    assert not list(root.rglob("*.tmpl"))
