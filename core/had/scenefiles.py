"""Which data source reads a file, and scenes opened without reading them (for tile-by-tile work).

A plugin claims the files it reads through the ``source_for_path`` hook (``.hdr`` -> ``envi-file`` in
had-plugin-hsi, ``.tif`` -> ``geotiff-scene`` in had-plugin-raster); the source is configured with
``path=...``. A source with an ``open()`` method returns a :class:`had.tiling.LazyScene` whose cube is a
``np.memmap`` (not validated up front: detectors validate what they read, tile by tile for RX); any other
source is loaded whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import plugins
from .data import Dataset, plugin_code
from .errors import PLUGIN_FAULT, PluginError, shown
from .tiling import LazyScene


def source_for_path(path: str | Path, settings: dict[str, Any] | None = None) -> str | None:
    """The registered data source that claims `path` (read with the user's source `settings`), or None.

    Each plugin's hook is called as pluggy calls them (the last registered first; the first answer wins), one at a
    time, so that one that fails (an exception, ``sys.exit()``) or answers with anything but a name is one
    PluginError naming it. Was: called unwrapped, a ValueError a traceback from ``had fit``, ``sys.exit(9)`` a
    silent exit 9, an answer of 12345 "expected a dataset name ..., got int 12345" blaming the user. A failing
    hook is not passed over for the next plugin's: the file may be the failing plugin's to read."""
    hook = plugins.plugin_manager().hook.source_for_path
    given = {"path": str(path), "settings": dict(settings or {})}
    impls = hook.get_hookimpls()
    if any(impl.hookwrapper or impl.wrapper for impl in impls):  # (none has): pluggy runs them, unnamed
        with plugin_code("a plugin's source_for_path hook"):
            return _claimed("a plugin's source_for_path hook", path, hook(**given))
    for impl in reversed(impls):
        who = f"the source_for_path hook of plugin {impl.plugin_name!r}"
        with plugin_code(who):
            name = impl.function(*(given[arg] for arg in impl.argnames),
                                 **{arg: given[arg] for arg in impl.kwargnames if arg in given})
        if name is not None:
            return _claimed(who, path, name)
    return None


def _claimed(who: str, path: str | Path, name: Any) -> str | None:
    """`name`, a source_for_path hook's answer, when it is a name or None; else a PluginError naming `who`."""
    if name is None or isinstance(name, str):
        return name
    raise PluginError(f"{who} answered {type(name).__name__} {shown(name)[:60]} for {shown(path)}, not the name of a "
                      f"data source (or None); {PLUGIN_FAULT}")


def open_scene(spec: str, settings: dict[str, Any] | None = None) -> LazyScene | Dataset:
    """The dataset `spec` (a registered name or a file): a :class:`LazyScene` when its source has ``open()``
    (nothing read yet), else the loaded :class:`Dataset`. Both have ``name``, ``X``, ``y``, ``known``, ``meta``."""
    return open_scene_and_source(spec, settings)[0]


def open_scene_and_source(spec: str, settings: dict[str, Any] | None = None) -> tuple[LazyScene | Dataset, Any]:
    """:func:`open_scene` and the data source that opened it (None for a file the CLI reads itself), whose
    ``score_map`` places per-tile scores on the raster they were cut from."""
    from . import get_datasource

    settings = dict(settings or {})
    if spec not in plugins.registry()["datasource"]:
        name = source_for_path(spec, settings) if Path(spec).exists() else None
        if name is None:
            from .cli import _dataset  # the CLI's messages for unclaimed files and unknown names

            return _dataset(spec, settings), None
        spec, settings = name, {"path": str(spec), **settings}
    source = get_datasource(spec, settings)
    return (source.open() if hasattr(source, "open") else source.load()), source


def view_note(name: str, meta: dict[str, Any]) -> str | None:
    """The line saying which window (``rows``/``cols``) and which bands of a scene are used when data settings
    chose them (``meta["window"]``, ``meta["bands_kept"]``, :mod:`had.cubeview`), and which bands its file marks
    bad (``meta["bad_bands"]``, 0-based among those used: an ENVI header's ``bbl``) that had uses like the
    others, and what its reader noted (``meta["reader_notes"]``); None when none of these."""
    from .nodata import band_ranges

    kept, bad, window = meta.get("bands_kept"), meta.get("bad_bands"), meta.get("window")
    lines, read = [], []
    if window:  # --data rows=/cols=: a window of the file
        (r0, r1), (c0, c1), (height, width) = window["rows"], window["cols"], meta["file_shape"]
        read.append(f"the window of rows {r0 + 1}-{r1} of {height}, columns {c0 + 1}-{c1} of {width}")
    if kept:
        read.append(f"using {len(kept)} bands ({_named(meta)}{band_ranges(list(kept))} of the file)")
    if read:
        lines.append(f"{name}: " + ", ".join(read))
    lines.extend(meta.get("reader_notes") or ())  # what the file's reader found odd (an ENVI file's extra bytes)
    if bad:
        lines.append(f"note: {name}'s header marks {band_ranges(list(bad))}{' of those' if kept else ''} bad "
                     "(bbl: water absorption, dead detectors); had uses every band: to leave them out, add "
                     "--data bands=good (and score with it too)")
    return "; ".join(lines) or None


def _named(meta: dict[str, Any], most: int = 12) -> str:
    """``"Cu, Zn: "``: the names of the bands used where the file names them all (a geochemical stack's elements,
    picked by name at scoring: :func:`had.cubeview.bands_by_name`), up to `most` of them; else empty."""
    from .cubeview import recordable_names

    names = recordable_names(meta)
    return f"{', '.join(names)}: " if names and len(names) <= most else ""


def georeferencing(meta: dict[str, Any]) -> str:
    """How a GeoTIFF map of the scene is placed: "georeferenced", or why not, or without which part (an ENVI
    ``map info`` that cannot be read, or whose projection had cannot name, is dropped when the file is read)."""
    if meta.get("transform") is None:
        if meta.get("map_info"):
            info = meta["map_info"]
            text = "{" + ", ".join(str(v).strip() for v in info) + "}" if isinstance(info, list) else str(info)
            return (f"not georeferenced: the input's map info {text} cannot be read (projection, reference pixel, "
                    "easting, northing, pixel sizes); correct it in the header")
        return "not georeferenced: the input has no map transform"
    if not meta.get("crs"):
        if meta.get("map_info"):
            return ("placed by the input's map info, without a CRS: had names UTM on WGS-84 or NAD-83 and geographic "
                    "WGS-84 from it; give the header a coordinate system string, or set the CRS in a GIS")
        return "placed by the input's transform, without a CRS: the input has none"
    return "georeferenced"


def bad_bands_hint(name: str, meta: dict[str, Any], message: str) -> str | None:
    """The hint added to a fit's NaN/Inf error when the file's header marks bands bad and the data was read with
    every band: bad bands often hold NaN or garbage, which ``--data bands=good`` leaves out; None otherwise."""
    from .nodata import band_ranges

    if not meta.get("bad_bands") or meta.get("bands_kept") or "NaN or infinite" not in message:
        return None
    return (f"{name}'s header marks {band_ranges(list(meta['bad_bands']))} bad (bbl): --data bands=good leaves "
            "them out")
