"""The plugin API version plugins declare and the check the core makes when one loads."""

from __future__ import annotations

import importlib
import importlib.metadata as md
import json
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import pytest
from test_plugins import _had, _project

from had import plugin_api
from had.errors import PluginError

ROOT = Path(__file__).resolve().parents[1]


def _module(**attrs) -> types.ModuleType:
    module = types.ModuleType("had_fake.plugin")
    module.__dict__.update(attrs)
    return module


def test_a_supported_declaration_and_none_are_accepted():
    assert plugin_api.check_plugin_api(_module(PLUGIN_API=1), "fake") == 1
    assert plugin_api.check_plugin_api(_module(), "fake") == 1  # written before the declaration existed


def test_a_newer_api_asks_to_upgrade_had():
    with pytest.raises(PluginError, match=r"plugin 'fake' \(distribution had-plugin-fake\) is written for plugin "
                                          r"API 2; this had supports 1: upgrade had"):
        plugin_api.check_plugin_api(_module(PLUGIN_API=2), "fake", "had-plugin-fake")


def test_an_older_api_asks_to_upgrade_the_plugin():
    with pytest.raises(PluginError, match="upgrade had-plugin-fake to a release written for plugin API 1"):
        plugin_api.check_plugin_api(_module(PLUGIN_API=0), "fake", "had-plugin-fake")


@pytest.mark.parametrize("bad", ["1", 1.0, True, None])
def test_a_declaration_that_is_not_an_integer_is_refused(bad):
    with pytest.raises(PluginError, match="must be an integer"):
        plugin_api.check_plugin_api(_module(PLUGIN_API=bad), "fake")


def test_every_installed_had_plugin_declares_the_current_api():
    seen = set()
    for dist in md.distributions():
        name = dist.metadata["Name"] or ""
        if not name.startswith(("had-plugin-", "had-sdk")):
            continue
        for ep in dist.entry_points:
            if ep.group == "had":
                module = importlib.import_module(ep.value.split(":")[0])
                assert getattr(module, "PLUGIN_API", None) == plugin_api.PLUGIN_API, f"{name}: {ep.value}"
                seen.add(name)
    if not seen:
        pytest.skip("no had plugin installed")
    installed = {d.metadata["Name"] for d in md.distributions()}
    ours = {tomllib.loads(p.read_text())["project"]["name"] for p in ROOT.glob("plugins/*/pyproject.toml")}
    assert ours & installed <= seen  # every plugin of this repository that is installed, pyod included


FUTURE = '''
import had

PLUGIN_API = 2


@had.hookimpl
def register_detectors(register):
    register("from-the-future", "had.rx:RX")
'''

# written for an API whose hook takes an argument this core's hookspec does not have: pluggy refuses to register it,
# and the reason given is the API version, not pluggy's signature message
FUTURE_HOOK = '''
import had

PLUGIN_API = 3


@had.hookimpl
def register_detectors(register, device_kinds):
    register("future-hook", "had.rx:RX")
'''

OLD = '''
import had

PLUGIN_API = 0


@had.hookimpl
def register_detectors(register):
    register("from-the-past", "had.rx:RX")
'''


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Three plugins declaring versions this core does not support, pip-installed into a private folder."""
    tmp = tmp_path_factory.mktemp("api-plugins")
    projects = [_project(tmp, "had-plugin-future", "had_future", FUTURE),
                _project(tmp, "had-plugin-future-hook", "had_future_hook", FUTURE_HOOK),
                _project(tmp, "had-plugin-old", "had_old", OLD)]
    target = tmp / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(target), *map(str, projects)], check=True)
    return target


def test_a_plugin_for_another_api_is_reported_not_loaded(site):
    out = _had(["plugins", "--json"], site)
    assert out.returncode == 0, out.stderr
    listed = {p["name"]: p for p in json.loads(out.stdout)}
    future = listed["had-plugin-future"]
    assert future["error"] == ("PluginError: plugin 'had-plugin-future' (distribution had-plugin-future) is written "
                               "for plugin API 2; this had supports 1: upgrade had (pip install --upgrade had)")
    assert (future["distribution"], future["version"], future["registers"]) == ("had-plugin-future", "0.0.1", {})
    assert listed["had-plugin-future-hook"]["error"].startswith(
        "PluginError: plugin 'had-plugin-future-hook' (distribution had-plugin-future-hook) is written for "
        "plugin API 3")
    assert listed["had-plugin-old"]["error"].endswith("upgrade had-plugin-old to a release written for plugin API 1")
    assert listed["lren"]["error"] is None and listed["lren"]["registers"]["detector"]  # the rest load as before


def test_the_refused_plugins_register_nothing_and_the_rest_works(site):
    out = _had(["list", "detectors"], site)
    assert out.returncode == 0, out.stderr
    assert "rx" in out.stdout and "lren" in out.stdout
    assert not {"from-the-future", "future-hook", "from-the-past"} & set(out.stdout.split())
    table = _had(["plugins"], site).stdout
    assert "ERROR PluginError: plugin 'had-plugin-old' (distribution had-plugin-old) is written for plugin API 0" \
        in table
    refused = _had(["describe", "from-the-future"], site)
    assert refused.returncode == 2 and "from-the-future" in refused.stderr and "Traceback" not in refused.stderr
