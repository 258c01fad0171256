"""The plugin API version plugins declare and the check the core makes when one loads."""

from __future__ import annotations

import importlib
import importlib.metadata as md
import types

import pytest

from had import plugin_api
from had.errors import PluginError


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


# had-plugin-pyod's plugin.py is being changed on another branch: it gains `PLUGIN_API = 1` at the merge
NOT_YET = {"had-plugin-pyod"}


def test_every_installed_had_plugin_declares_the_current_api():
    seen = 0
    for dist in md.distributions():
        name = dist.metadata["Name"] or ""
        if not name.startswith(("had-plugin-", "had-sdk")) or name in NOT_YET:
            continue
        for ep in dist.entry_points:
            if ep.group == "had":
                module = importlib.import_module(ep.value.split(":")[0])
                assert getattr(module, "PLUGIN_API", None) == plugin_api.PLUGIN_API, f"{name}: {ep.value}"
                seen += 1
    if not seen:
        pytest.skip("no had plugin installed")
