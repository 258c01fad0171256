"""The plugin API version: what a plugin declares and the core checks when it loads the plugin.

A plugin module (the target of its ``had`` entry point) declares the version of the hook interface
(:mod:`had.hookspecs` and the Detector/DataSource/Metric contracts) it was written for::

    PLUGIN_API = 1

The version changes only when a change to that interface would break existing plugins. A plugin declaring a
version this core does not support is refused with a :class:`PluginError` saying what to install; a module that
declares nothing was written before the declaration existed, when the API was version 1, and is taken as 1.
"""

from __future__ import annotations

from typing import Any

from .errors import PluginError

#: the plugin API this core implements
PLUGIN_API = 1
#: the plugin API versions this core loads
SUPPORTED_PLUGIN_APIS = frozenset({1})


def declared_api(plugin: Any) -> int:
    """The API version a loaded plugin module (or object) declares; 1 when it declares none."""
    return getattr(plugin, "PLUGIN_API", 1)


def check_plugin_api(plugin: Any, name: str, distribution: str | None = None) -> int:
    """The plugin's declared API version, or PluginError when this core cannot load it."""
    declared = declared_api(plugin)
    source = f"plugin {name!r}" + (f" (distribution {distribution})" if distribution else "")
    if isinstance(declared, bool) or not isinstance(declared, int):
        raise PluginError(f"{source} declares PLUGIN_API = {declared!r}; it must be an integer such as {PLUGIN_API}")
    if declared not in SUPPORTED_PLUGIN_APIS:
        supported = ", ".join(str(v) for v in sorted(SUPPORTED_PLUGIN_APIS))
        newer = declared > max(SUPPORTED_PLUGIN_APIS)
        fix = ("upgrade had (pip install --upgrade had)" if newer
               else f"upgrade {distribution or 'the plugin'} to a release written for plugin API {PLUGIN_API}")
        raise PluginError(f"{source} is written for plugin API {declared}; this had supports {supported}: {fix}")
    return declared
