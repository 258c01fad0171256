"""Which data source reads a file, and scenes opened without reading them (for tile-by-tile work).

A plugin claims the files it reads through the ``source_for_path`` hook (``.hdr`` -> ``envi-file`` in
had-plugin-hsi, ``.tif`` -> ``geotiff-scene`` in had-plugin-raster); the source is configured with
``path=...``. A source with an ``open()`` method returns a :class:`had.tiling.LazyScene` whose cube is a
``np.memmap``; any other source is loaded whole and wrapped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import plugins
from .tiling import LazyScene


def source_for_path(path: str | Path) -> str | None:
    """The registered data source that claims `path`, or None when no plugin does."""
    return plugins.plugin_manager().hook.source_for_path(path=str(path))


def open_scene(spec: str, settings: dict[str, Any] | None = None) -> LazyScene:
    """The dataset `spec` (a registered name or a claimed file) as a :class:`LazyScene`, read lazily if it can be."""
    from . import get_datasource

    settings = dict(settings or {})
    name = spec if spec in plugins.registry()["datasource"] else source_for_path(spec)
    if name is None:
        from .cli import _dataset  # the CLI's own rules for .npy/.mat/.npz files

        data = _dataset(spec, settings)
        return LazyScene(data.name, data.X, dict(data.meta))
    if name != spec:
        settings.setdefault("path", str(spec))
    source = get_datasource(name, settings)
    if hasattr(source, "open"):
        return source.open()
    data = source.load()
    return LazyScene(data.name, data.X, dict(data.meta))
