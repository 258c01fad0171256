"""Every hook a `had` plugin can implement, in one file.

A plugin is a module (or object) registered under the entry point group ``had``::

    [project.entry-points.had]
    lren = "had_lren.plugin"

whose functions are marked with :data:`had.hookimpl`. Registration hooks hand the plugin a ``register``
callback (as simonw/llm does); the plugin calls it once per thing it provides. Keep the plugin module light:
register classes by ``"module:Class"`` string so that listing plugins does not import torch.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("had")
hookimpl = pluggy.HookimplMarker("had")


@hookspec
def register_detectors(register):
    """Register detectors.

    Call ``register(name, target, summary="", **defaults)`` for each: `target` is a :class:`had.Detector`
    subclass or a ``"module:Class"`` string imported on first use; `defaults` are config values applied
    before the user's (so one class can be registered under several names).
    """


@hookspec
def register_datasources(register):
    """Register data sources: ``register(name, target, summary="", **defaults)``, as for detectors.

    `target` is a :class:`had.DataSource` subclass (or ``"module:Class"``); `defaults` preset its config,
    e.g. ``register("hydice", HSIScene, scene="hydice")``.
    """


@hookspec
def register_metrics(register):
    """Register metrics: ``register(metric)`` with a :class:`had.metrics.Metric`."""


@hookspec
def register_commands(cli):
    """Add commands to the ``had`` command line: `cli` is the root :class:`click.Group`."""


@hookspec(firstresult=True)
def source_for_path(path, settings):
    """The name of a registered data source that reads the file `path` (a string), or None.

    Lets ``had fit``/``had bench``/``had score`` and :func:`had.load_dataset` take a file a plugin knows by its
    suffix or contents (``.hdr`` for ENVI, ``.tif`` for GeoTIFF, a ``.mat``/``.npz`` holding the keys its source
    reads); the source is then configured with ``path=...`` and `settings` (the user's source settings, a dict,
    e.g. ``{"x_key": "features"}``). An implementation may take only ``path``. The first plugin to answer wins,
    so answer only for files your source can read.
    """
