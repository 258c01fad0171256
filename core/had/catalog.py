"""Which distribution provides each detector and dataset name of had's own plugins, and the message for a name
that no installed plugin registers.

The table ships with the core so that an environment holding only some plugins can still say where a name comes
from: ``had fit lren sandiego_plane`` with only had-plugin-lren installed answers "it comes with
had-plugin-hsi" instead of a bare "unknown". ``tests/test_catalog.py`` checks the table against the registry of
a full install, so a plugin that adds a name must add it here too. The core's own names (``rx``, every metric)
are always registered and are not listed.
"""

from __future__ import annotations

import difflib
import importlib.metadata as md

#: distribution -> kind -> the names it registers
PROVIDED_BY: dict[str, dict[str, tuple[str, ...]]] = {
    "had-plugin-autoencoder": {"detector": ("autoencoder",)},
    "had-plugin-bs3lnet": {"detector": ("bs3lnet",)},
    "had-plugin-cxr": {"detector": ("cxr-deepsvdd", "gan-gp", "memdae", "rlad")},
    "had-plugin-deepsad": {"detector": ("deepsvdd", "deepsad", "deepsad-ae", "semidgm")},
    "had-plugin-geohgan": {"detector": ("geohgan",)},
    "had-plugin-lren": {"detector": ("lren", "lren-reference")},
    "had-plugin-pyod": {"detector": (
        "pyod-ocsvm", "pyod-iforest", "pyod-kde", "pyod-knn", "pyod-ecod", "pyod-pca", "pyod-gmm", "pyod-autoencoder",
        "pyod-deepsvdd", "ssad", "hybrid-ocsvm", "hybrid-iforest", "hybrid-kde", "hybrid-ssad")},
    "had-plugin-hsi": {"datasource": (
        "sandiego_plane", "hydice", "hydice-ii", "abu-airport-1", "abu-airport-3", "abu-beach-1", "abu-beach-3",
        "abu-beach-4", "abu-urban-1", "abu-urban-2", "abu-urban-4", "muufl-crop", "hsi-file", "envi-file"),
        "command": ("demo",)},
    "had-plugin-images": {"datasource": ("pneumoniamnist", "mnist", "image-folder")},
    "had-plugin-odds": {"datasource": (
        "thyroid", "arrhythmia", "cardio", "musk", "satellite", "satimage-2", "shuttle", "table-file")},
    "had-plugin-raster": {"datasource": ("raster-file", "synthetic-geochem", "hsi-raster", "geotiff-scene")},
    "had-plugin-synthetic": {"datasource": ("synthetic-scene", "synthetic-table")},
    "had-sdk": {"command": ("plugin",)},  # `had plugin new`: the plugin template
}

#: the suffixes of an ENVI header's binary data file, beside it with the same stem (``line.hdr`` + ``line.img``)
ENVI_DATA_SUFFIXES = ("", ".img", ".dat", ".raw", ".bsq", ".bil", ".bip", ".bin")


def envi_data_candidates(header: str) -> list[str]:
    """The paths beside ENVI header `header` (``line.hdr``) that may hold its data: its stem with each of
    :data:`ENVI_DATA_SUFFIXES`, in either case (not checked for existence). What a record of the files a scene
    reads takes besides the header (``had bench --resume``, a map's record of its input)."""
    stem = header[:-4]
    return list(dict.fromkeys([stem + suffix for suffix in ENVI_DATA_SUFFIXES]
                              + [stem + suffix.upper() for suffix in ENVI_DATA_SUFFIXES]))

#: distribution -> (what its plugin reads, the file suffixes its ``source_for_path`` claims). None of them needs
#: torch. ``.npy`` is the core's own; the ENVI data suffixes are claimed only with their ``.hdr`` header beside them,
#: ``.mat``/``.npz`` by the one whose arrays the file holds (a cube: hsi, a table: odds). A deployment host scoring
#: files of a type installs the distribution that reads it (docs/deployment.md, "What a deployment host needs").
READS_FILES: dict[str, tuple[str, tuple[str, ...]]] = {
    "had-plugin-hsi": ("ENVI scenes and .mat/.npz cubes",
                       (".hdr", ".img", ".dat", ".raw", ".bsq", ".bil", ".bip", ".mat", ".npz")),
    "had-plugin-odds": (".csv/.tsv tables and .mat/.npz tables", (".csv", ".tsv", ".mat", ".npz")),
    "had-plugin-raster": ("GeoTIFF rasters", (".tif", ".tiff")),
    # claimed as the folder holding them (image-folder); a single image is said as such (had.dataset_arg)
    "had-plugin-images": ("folders of .png/.jpg/.bmp images", (".png", ".jpg", ".jpeg", ".bmp")),
}

_PROVIDER: dict[tuple[str, str], str] = {
    (kind, name): dist for dist, kinds in PROVIDED_BY.items() for kind, names in kinds.items() for name in names
}
_LIST_COMMAND = {"detector": "detectors", "datasource": "datasets", "dataset": "datasets", "metric": "metrics"}
#: names docs/results.md's tables give a registered detector run with one setting, which a reader types as a name:
#: name -> (the detector, the setting, its value)
TABLE_NAMES: dict[str, tuple[str, str, str]] = {"deepsvdd-reference": ("deepsvdd", "recipe", "reference")}


def provider(kind: str, name: str) -> str | None:
    """The distribution that registers `name` as a `kind` ("detector", "datasource"), or None if none of had's."""
    kind = "datasource" if kind == "dataset" else kind
    return _PROVIDER.get((kind, name))


def _installed(distribution: str) -> bool:
    try:
        md.distribution(distribution)
    except md.PackageNotFoundError:
        return False
    return True


def nearest(name: str, candidates, n: int = 3) -> list[str]:
    """Up to `n` of `candidates` closest to `name`, best first: those equal to it but for case, those it ends as a
    ``-``-part of (``knn``: ``pyod-knn``), then difflib's ratio >= 0.6 of the lower-cased names (was: ``RX``,
    ``AUROC`` and ``knn`` got no suggestion)."""
    by_lower: dict[str, str] = {}
    for candidate in sorted(set(candidates)):
        by_lower.setdefault(candidate.lower(), candidate)
    low = name.lower()
    found = [by_lower[low]] if low in by_lower else []
    found += [c for k, c in by_lower.items() if k.endswith("-" + low) and c not in found]
    found += [by_lower[k] for k in difflib.get_close_matches(low, list(by_lower), n=n, cutoff=0.6)
              if by_lower[k] not in found]
    return found[:n]


def left_out_by_selection(distribution: str) -> str | None:
    """Why HAD_DISABLE_PLUGINS or HAD_PLUGINS leaves the installed `distribution`'s plugin out ("its plugin lren is
    disabled by HAD_DISABLE_PLUGINS=lren; remove it from that variable"), or None when neither does (then it
    failed to load: ``had plugins`` says why). Was: "`had plugins` shows its error", where a plugin left out by
    the variables is not listed at all."""
    from .errors import shown
    from .plugins import GROUP, _ep_dist, _split_env, same_distribution

    names = sorted({ep.name for ep in md.entry_points(group=GROUP) if same_distribution(_ep_dist(ep)[0], distribution)})
    if not names:
        return None
    block, allow = _split_env("HAD_DISABLE_PLUGINS") or [], _split_env("HAD_PLUGINS")
    blocked = [n for n in [*names, distribution] if n in block]
    if blocked:
        return (f"its plugin {shown(names[0])} is disabled by HAD_DISABLE_PLUGINS={shown(','.join(block))}; remove "
                f"{shown(blocked[0])} from that variable")
    if allow is not None and not any(n in allow for n in [*names, distribution]):
        loads = f"HAD_PLUGINS={shown(','.join(allow))} loads only those plugins" if allow else \
            "HAD_PLUGINS is set empty, which loads no plugin"
        return f"{loads}; add {shown(names[0])} to it, or unset it"
    return None


def missing_command_message(name: str) -> str | None:
    """One line for a command of had's that its plugin did not add here (``had demo`` without had-plugin-hsi),
    saying which distribution adds it; None for a name that is no plugin command of had's."""
    dist = provider("command", name)
    if dist is None:
        return None
    if _installed(dist):
        if why := left_out_by_selection(dist):
            return f"`had {name}` comes with {dist}, which is installed, but {why}"
        return (f"`had {name}` comes with {dist}, which is installed but not loaded; `had plugins` shows its error "
                "(or check HAD_PLUGINS / HAD_DISABLE_PLUGINS)")
    return f"`had {name}` comes with {dist}, which is not installed here; pip install {dist}"


def unknown_name_message(kind: str, name: str, known, broken: list[str] | None = None) -> str:
    """One line for a `kind` name no loaded plugin registers: which distribution provides it (when had knows),
    the nearest registered names, and the registered names.

    `known` are the names registered now. A name of a distribution that is not installed is an install hint; a
    misspelling gets the nearest names among those registered and, failing that, among all of had's. `broken`:
    the plugins that failed to load or register, said right after the name (the name may be one of theirs; was
    said after the list of every known name, where a terminal's line had long been cut).
    """
    return _unknown_name_message(kind, name, repr(name) + broken_note(broken), sorted(set(known)))


def broken_note(broken: list[str] | None) -> str:
    """`` (N plugin(s) failed to load or register (a, b, c): see `had plugins`)`` for the plugins `broken`, or ''."""
    if not broken:
        return ""
    said = f"{', '.join(broken[:3])}{', ...' if len(broken) > 3 else ''}"
    return f" ({len(broken)} plugin(s) failed to load or register ({said}): see `had plugins`)"


def _unknown_name_message(kind: str, name: str, name_said: str, known: list[str]) -> str:
    listing = f"known {kind}s: {', '.join(known) if known else 'none are registered'}"
    see = f"(see `had list {_LIST_COMMAND.get(kind, kind + 's')}`)"
    if kind == "detector" and name in TABLE_NAMES and TABLE_NAMES[name][0] in known:  # was: "did you mean 'lren-reference'"
        base, field, value = TABLE_NAMES[name]
        return (f"unknown detector {name_said}: the results tables' name for {base} with {field}={value}; use `had fit "
                f"{base} ... --set {field}={value}` (Python: had.get_detector({base!r}, {field}={value!r}))")
    from .grid import VARIANT_MARK

    variant_of = name.partition(VARIANT_MARK)[0]
    if kind == "detector" and variant_of != name and variant_of in known:  # a grid's label given to had fit, say
        return (f"unknown detector {name_said}: NAME@LABEL names a variant of {variant_of} in a grid (had bench); "
                f"elsewhere use {variant_of} with its settings (--set key=value)")
    dist = provider(kind, name)
    if dist is not None:
        if _installed(dist):
            if why := left_out_by_selection(dist):
                return f"unknown {kind} {name_said}: it comes with {dist}, which is installed, but {why}"
            return (f"unknown {kind} {name_said}: it comes with {dist}, which is installed but not loaded; "
                    "`had plugins` shows its error (or check HAD_PLUGINS / HAD_DISABLE_PLUGINS)")
        return (f"unknown {kind} {name_said}: it comes with {dist}, which is not installed here; "
                f"pip install {dist} {see}")
    close = nearest(name, known)
    if close:
        return f"unknown {kind} {name_said}; did you mean {' or '.join(map(repr, close))}? {listing} {see}"
    kind_key = "datasource" if kind == "dataset" else kind
    elsewhere = nearest(name, [n for (k, n) in _PROVIDER if k == kind_key])
    if elsewhere:
        hints = ", ".join(f"{n!r} (pip install {_PROVIDER[(kind_key, n)]})" for n in elsewhere)
        return f"unknown {kind} {name_said}; did you mean {hints}? {listing} {see}"
    return f"unknown {kind} {name_said}; {listing} {see}"


def file_readers(suffix: str) -> list[str]:
    """The distributions whose plugin claims files ending in `suffix` (:data:`READS_FILES`), in the table's order."""
    suffix = suffix.lower()
    return [dist for dist, (_, suffixes) in READS_FILES.items() if suffix in suffixes]


def is_loaded(distribution: str, registered) -> bool:
    """Whether `distribution`'s plugin is loaded: some data source name it provides is among `registered`."""
    return not set(registered).isdisjoint(PROVIDED_BY.get(distribution, {}).get("datasource", ()))


def unread_file_hint(suffix: str, registered) -> str | None:
    """The clause naming what would read a file ending in `suffix` that no loaded plugin claimed: the distributions
    of :data:`READS_FILES` that are not installed (``pip install ...``) or installed but not loaded (``had
    plugins``); None when every one that reads such files is loaded (then the file itself is what is wrong).
    `registered`: the data source names registered now (a distribution is loaded when its names are)."""
    missing, unloaded = [], []
    for dist in file_readers(suffix):
        if is_loaded(dist, registered):
            continue
        (unloaded if _installed(dist) else missing).append(dist)
    said = []
    if missing:
        said.append(" or ".join(f"{dist} ({READS_FILES[dist][0]})" for dist in missing)
                    + f" reads it; pip install {' or '.join(missing)}")
    if unloaded:
        said.append(" and ".join(unloaded) + (" reads" if len(unloaded) == 1 else " read") + " it but "
                    + ("is" if len(unloaded) == 1 else "are") + " installed and not loaded; `had plugins` shows why "
                    "(or check HAD_PLUGINS / HAD_DISABLE_PLUGINS)")
    return "; ".join(said) or None
