"""``had score MODEL scene -o map.tif``: score a scene tile by tile and write the map to disk as it goes.

The scene is opened lazily (:func:`had.scenefiles.open_scene`: an ENVI file stays memory-mapped), each tile is
scored by onnxruntime (:class:`had.runtime.OnnxScorer`) or by the detector's own code, and the scores go
straight into a ``.npy`` or a GeoTIFF carrying the scene's transform and CRS (:func:`had.maps.open_map`).
Memory stays bounded by a few tiles whatever the scene's size. A PNG quicklook (map with a colour bar beside a
false-colour view of the scene) is drawn from the written map when asked.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .maps import TIFF_SUFFIXES, dataset_origin, open_map, quicklook_png
from . import nodata, reflectance, wavelengths
from .scenefiles import georeferencing, open_scene_and_source, source_for_path, view_note
from .score_notes import ScoreNotes
from .tiling import score_tiles


def wants_tiles(dataset: str, output: str | None) -> bool:
    """Score tile by tile when the map is a GeoTIFF or the data is a file a plugin claims (ENVI, GeoTIFF)."""
    from . import plugins

    if output and Path(output).suffix.lower() in TIFF_SUFFIXES:
        return True
    if dataset in plugins.registry()["datasource"] or not Path(dataset).exists():
        return False
    claimed = source_for_path(dataset)
    return claimed is not None and hasattr(plugins.entry("datasource", claimed).load(), "open")  # lazy sources


def scorer_of(model: str, engine: str = "auto") -> tuple[Callable[[np.ndarray], np.ndarray], float, str]:
    """The tile scorer of a saved model, its threshold, and a phrase naming the engine.

    `engine`: ``onnx`` (onnxruntime alone), ``eager`` (the plugin's code) or ``auto`` (onnx when exported).
    """
    from .artifact import ONNX, read_manifest

    manifest = read_manifest(model)
    if engine == "onnx" or (engine == "auto" and ONNX in manifest["files"]):
        from .runtime import OnnxScorer

        onnx = OnnxScorer(model)
        return onnx.score, float(manifest["threshold"]), f"onnxruntime, providers {', '.join(onnx.providers)}"
    from .artifact import load

    from .plugins import exit_reported
    from .sklearn_compat import names_checked_elsewhere

    scoring = f"the {manifest['detector']} detector's scoring"
    with exit_reported(scoring):  # its code runs in load's checks too
        detector = load(model)

    def score(block):
        # the columns of a table were checked against the model's by open_as_fitted (check_columns): the array
        # given here has none, which the detector's own check would say for every tile
        with exit_reported(scoring), names_checked_elsewhere():
            return detector.decision_function(block)

    score.context_rows = detector.context_rows  # rows of context a tile needs (had.tiling.context_of)
    return score, float(detector.threshold_), f"the {manifest['detector']} plugin (eager)"


def engine_of(how: str) -> str:
    """``onnx`` or ``eager``: the engine :func:`scorer_of`'s phrase names (``had score --json``'s ``engine``)."""
    return "onnx" if how.startswith("onnxruntime") else "eager"


def open_as_fitted(model: str, dataset: str, settings: dict[str, Any], opener: Callable[[str, dict], Any],
                   echo: Callable[[str], None]) -> Any:
    """``opener(dataset, settings)`` with the data settings the model was fitted with (``--data bands=...``,
    ``nodata_any_band``, a raster's ``tile_size``/``stride``: its input spec's record, :mod:`had.cubeview`) that
    the user did not give and the dataset's source takes, said by `echo`; the record's bands only on a file of as
    many bands as the model's (another file is read as given: a band count that differs is then said by the
    scoring). Tiles of another size than the model's images are refused here (:func:`_check_tile_size`), as is a
    scene whose wavelengths (:mod:`had.wavelengths`) or reflectance scale factor (:mod:`had.reflectance`) are not
    the model's. `opener` returns the scene, or a tuple whose first item is the scene."""
    from .artifact import MANIFEST, read_manifest
    from .cubeview import RECORD, same_file_bands, settings_to_match
    from .errors import ConfigError

    # `model` is an artifact folder; a caller passing its own scorer may name none
    manifest = read_manifest(model) if (Path(model) / MANIFEST).is_file() else {}
    spec = manifest.get("input_spec", {})
    record = spec.get(RECORD)

    def checked(opened):  # a scene whose wavelengths say its bands are not the model's is refused (had.wavelengths),
        scene = opened[0] if isinstance(opened, tuple) else opened  # as one stored in other units (had.reflectance)
        wavelengths.check(spec.get(wavelengths.KEY), scene.meta, scene.name)
        shape = getattr(scene.X, "shape", ())
        if not shape or spec.get("n_features") in (None, shape[-1]):  # another band count is said as that, not as
            reflectance.check(spec, scene.meta, scene.name)  # another scale factor (was, of another sensor's scene)
        _check_tile_size(manifest.get("detector"), spec, record, scene)
        check_columns(spec, scene.meta, scene.meta.get("path") or dataset, echo)  # a CSV's header
        return opened

    dataset, settings = _tiles_of_a_raster_file(spec, dataset, settings, echo)
    added = settings_to_match(record, settings, _source_fields(dataset, settings)) if record else {}
    if "bands" in added:
        try:
            opened = opener(dataset, {**settings, **added})
        except ConfigError:  # the record's bands are not this file's
            opened = None
        scene = opened[0] if isinstance(opened, tuple) else opened
        if opened is not None and same_file_bands(record, scene.meta):
            _say_added(scene.name, added, echo)
            return checked(opened)
        echo(f"  note: the model was fitted on bands {record['bands']} of a file of {record['of']} bands; "
             f"{dataset} has {scene.meta['file_bands'] if opened is not None else 'fewer'}, so had reads it as "
             "given (--data bands=... chooses its bands)")
        added.pop("bands")
    opened = opener(dataset, {**settings, **added})
    if added:
        _say_added((opened[0] if isinstance(opened, tuple) else opened).name, added, echo)
    return checked(opened)


def _names(names: list[str], most: int = 10) -> str:
    """Column names as a person reads them: ``a, b, c`` (the first `most`, then how many in all)."""
    shown_names = ", ".join(str(n) for n in names[:most])
    return shown_names if len(names) <= most else f"{shown_names}, ... ({len(names)} in all)"


def check_columns(spec: dict[str, Any], meta: dict[str, Any], where: str, echo: Callable[[str], None]) -> None:
    """A table whose header names other columns than the model was fitted on (its input spec's ``feature_names``,
    which ``had fit`` keeps from a CSV's header, as ``fit`` does from a DataFrame's) is refused with an
    :class:`InvalidInputError` before any scoring: the same names in another order (say the order to write), or
    other names (say which). Was: scored by position, ``c, a, b`` read as ``a, b, c``, "170 of 200 above the
    threshold" without a word. Where one side has no names (a table without a header, a model saved before had kept
    them) the columns are taken by position, said by `echo` as the Python API warns (``had score`` checks the
    names here, the detector's own check seeing an array: :func:`had.sklearn_compat.names_checked_elsewhere`)."""
    from .errors import InvalidInputError
    from .sklearn_compat import REORDERED, names_difference

    fitted, names = spec.get("feature_names"), meta.get("feature_names")
    if spec.get("kind") != "tabular" or (fitted is None and names is None):
        return
    if fitted is None:
        echo(f"  note: the model records no column names (fitted on a table without a header, or saved before had "
             f"kept them): the columns of {where} ({_names(names)}) are taken by position, unchecked")
        return
    if names is None:
        echo(f"  note: {where} names no columns (a CSV without a header, or an array file); they are taken as the "
             f"model's, in its order: {_names(fitted)}")
        return
    what = names_difference(list(fitted), list(names))
    if what is None:
        return
    if what == REORDERED:
        listed = "" if len(fitted) <= 30 else "; the model's manifest.json lists them all (input_spec.feature_names)"
        raise InvalidInputError(f"{where} holds the model's columns in another order ({_names(names)}), and a table "
                                f"is scored by position: write its columns in the model's order, "
                                f"{_names(fitted, most=30)}{listed} (nothing was scored)")
    raise InvalidInputError(f"{where}: its header names other columns than the model was fitted on ({what}); the "
                            f"model's columns are {_names(fitted)}: score a table of those columns, named as at fit "
                            "(nothing was scored)")


#: the data source that cuts a GeoTIFF into tiles (had-plugin-raster)
RASTER_FILE = "raster-file"


def _tiles_of_a_raster_file(spec: dict[str, Any], dataset: str, settings: dict[str, Any],
                            echo: Callable[[str], None]) -> tuple[str, dict[str, Any]]:
    """A GeoTIFF given to a model fitted on tiles cut from a raster (its input spec records the tiling): read
    through ``raster-file`` with ``path=`` the file, as at fit, said by `echo`; anything else as given. So
    ``had score MODEL a.tif b.tif --out maps/`` gives each raster's heat map, named after it (was: "fitted on image
    data, got cube data", and ``raster-file --data path=`` takes one raster, whose map ``--out`` named
    ``raster-file``)."""
    from . import plugins
    from .cubeview import RECORD, TILING

    if (spec.get("kind") != "image" or not (spec.get(RECORD) or {}).get(TILING) or "path" in settings
            or Path(dataset).suffix.lower() not in TIFF_SUFFIXES or not Path(dataset).is_file()
            or RASTER_FILE not in plugins.registry()["datasource"]):
        return dataset, settings
    echo(f"  {Path(dataset).name}: cut into tiles by {RASTER_FILE}, as the model's training raster was")
    return RASTER_FILE, {**settings, "path": dataset}


def _check_tile_size(detector: str | None, spec: dict[str, Any], record: dict[str, Any] | None, scene: Any) -> None:
    """Tiles cut from a raster (their `meta` holds ``tile_size``) of another size than the model's images: one
    typed line before any scoring, saying how to cut them as at fit (:func:`had.cubeview.tiling_remedy`), where
    the model's detector takes images of its fitted size only. A channel count that differs, where the model
    recorded a ``band_step`` other than the one given, says that setting; other counts are left to the scoring's
    own line."""
    from .cubeview import TILING, tiling_remedy
    from .errors import BandMismatchError
    from .validation import wrong_image_size

    fitted, X = spec.get("sample_shape"), scene.X
    if (spec.get("kind") != "image" or not fitted or len(fitted) != 3 or getattr(X, "ndim", 0) != 4
            or scene.meta.get("tile_size") is None):
        return
    step = ((record or {}).get(TILING) or {}).get("band_step")
    given = (scene.meta.get(TILING) or {}).get("band_step")
    if int(X.shape[1]) != int(fitted[0]):
        if step is not None and given is not None and step != given:  # was "fitted on 63 channels, got 95"
            raise BandMismatchError(f"fitted on {int(fitted[0])} channels, got {int(X.shape[1])}: the model's tiles "
                                    f"kept every {step}th band; cut them as at fit: --data band_step={step}")
        return
    if list(X.shape[2:]) == [int(v) for v in fitted[1:]]:
        return
    if _accepts_any_image_size(detector):
        return
    raise wrong_image_size(tuple(fitted), tuple(X.shape[1:]), tiling_remedy(record, tuple(fitted)))


def _accepts_any_image_size(detector: str | None) -> bool:
    """Whether the saved model's `detector` scores images of any size (its capabilities); True where its class
    cannot be loaded here (the scoring then says what it takes)."""
    from . import plugins
    from .capabilities import capabilities_of

    try:
        return capabilities_of(plugins.entry("detector", detector).load()).accepts_any_image_size
    except Exception:  # noqa: BLE001 - a plugin missing or failing to import: its own error comes with the scoring
        return True


def _source_fields(dataset: str, settings: dict[str, Any]) -> Any:
    """The config fields of the data source that reads `dataset` (a registered name or a file it claims)."""
    from . import plugins

    name = dataset if dataset in plugins.registry()["datasource"] else (
        source_for_path(dataset, settings) if Path(dataset).exists() else None)
    if name is None:
        return {}
    return getattr(plugins.entry("datasource", name).load(), "Config").model_fields


def _say_added(name: str, added: dict[str, Any], echo: Callable[[str], None]) -> None:
    said = ", ".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in added.items())
    echo(f"  {name}: read as the model's scene was at fit: {said}")


def map_tags(model: str, dataset: str, threshold: float, how: str, unit: str = "pixel") -> dict[str, str]:
    """What a GeoTIFF map records of its making (GDAL metadata items ``HAD_*``): the model's folder and detector,
    the scored dataset, the threshold (``score > HAD_THRESHOLD``: the detector's anomalies, for a GIS mask), the
    engine and had's version."""
    from . import __version__
    from .artifact import read_manifest
    from .errors import ArtifactError

    try:
        made_by = {"HAD_DETECTOR": read_manifest(model)["detector"], "HAD_MODEL": str(Path(model).resolve())}
    except ArtifactError:  # a caller's own scorer (score_to_map's `scorer`) without a saved model
        made_by = {}
    return {**made_by, "HAD_DATASET": dataset_origin(dataset),
            "HAD_THRESHOLD": repr(float(threshold)), "HAD_SCORES": f"one per {unit}, higher = more anomalous",
            "HAD_ENGINE": how, "HAD_VERSION": __version__}


def score_to_map(model: str, dataset: str, output: str | None, **options) -> dict[str, Any]:
    """:func:`_score_to_map`, its map recording `dataset` (:func:`had.maps.scoring`: a map of ``had score -o`` is
    then kept by a later ``had score --out --skip-existing`` into that folder; was: a .npy recorded nothing)."""
    from .maps import scoring

    with scoring(dataset, model=model):
        return _score_to_map(model, dataset, output, **options)


def _score_to_map(model: str, dataset: str, output: str | None, *, settings: dict[str, Any] | None = None,
                  engine: str = "auto", png: str | None = None, echo: Callable[[str], None] = print,
                  scorer: tuple[Callable[[np.ndarray], np.ndarray], float, str] | None = None,
                  npy_unless_cube: bool = False, metrics: Sequence[str] | None = None) -> dict[str, Any]:
    """Score `dataset` (a name or a file) with `model` tile by tile into `output` (``.npy``/``.tif``; None: in
    memory); returns a summary (map path, pixels above the threshold, threshold, shape). `scorer`: what
    :func:`scorer_of` returns for `model`, when the caller already has it (several files, one model).
    `npy_unless_cube`: rows or images (scores that are no map) go to `output` with the suffix ``.npy``. Images
    cut from a raster with a ``.tif`` output (or a `png`) become the raster's heat map (:func:`_tiles_to_heat_map`).
    Metrics against the scene's labels come with the in-memory path's notes (:class:`ScoreNotes`; ``metrics_note``
    in the summary)."""
    from .artifact import MANIFEST, read_manifest

    scene, source = open_as_fitted(model, dataset, settings or {}, open_scene_and_source, echo)
    scorer, threshold, how = scorer or scorer_of(model, engine)
    X = scene.X
    if output and npy_unless_cube and X.ndim != 3:
        output = str(Path(output).with_suffix(".npy"))
    if X.ndim == 4 and (png or (output and Path(output).suffix.lower() in TIFF_SUFFIXES)):
        if output and Path(output).suffix.lower() not in TIFF_SUFFIXES and not _placeable(scene, source):
            echo(f"no quicklook for {scene.name}: its images have no place on a raster")  # the scores still go
            png = None
        else:
            unit = "pixel: the mean of the tiles covering it (the threshold is the tiles')"
            return _tiles_to_heat_map(scene, source, scorer, threshold, how, output, png, echo,
                                      ScoreNotes(model, dataset, scene, settings or {}, metrics),
                                      map_tags(model, dataset, threshold, how, unit))
    if png and X.ndim != 3:  # rows (or images off a raster: said above) have no picture to draw a map on; was:
        echo(f"no quicklook for {scene.name}: its scores are one per row, not a map")  # named, never written
        png = None
    shape = tuple(X.shape[:-1]) if X.ndim == 3 else (X.shape[0],)
    flagged = fill = 0
    fill_value = nodata.declared(scene.meta)  # the file's fill pixels: NaN in the map, whatever the model
    # the model's own no-data value (NaN there is fill, elsewhere a failure); a caller passing its own scorer may
    # name no artifact
    manifest = read_manifest(model) if (Path(model) / MANIFEST).is_file() else {}
    model_fill, model_name = nodata.of_manifest(manifest), manifest.get("detector", "the detector")
    partial = nodata.PartialFill()  # pixels holding it in some bands only: scored as data, said

    def counted(scores: np.ndarray, block: np.ndarray) -> np.ndarray:  # a tile's scores and its rows
        nonlocal flagged, fill
        # NaN only on the file's fill and the model's, nothing infinite: elsewhere the detector failed
        nodata.check_nan_scores(scores, block, model_fill, who=model_name, declared=fill_value)
        scores = nodata.masked(scores, block, fill_value, partial)
        fill += int(np.count_nonzero(np.isnan(scores)))  # the file's fill, or the model's (its own nodata)
        flagged += int(np.count_nonzero(scores > threshold))
        return scores

    tags = map_tags(model, dataset, threshold, how) if output and Path(output).suffix.lower() in TIFF_SUFFIXES else None
    # NaN: no data, whoever masked it. The quicklook is drawn from the complete map before the map is renamed into
    # place, so a quicklook that cannot be written (a full disk) leaves no map either: nothing half done
    with open_map(output, shape, scene.meta, fill=True, tags=tags) if output else contextlib.nullcontext() as out:
        scored = score_tiles(scorer, X, out, finish=counted)
        amap = None if out is not None else scored  # in memory, or read back below from the map written
        echo(f"scored with {how}, tile by tile")
        total = int(np.prod(shape))
        echo(f"{scene.describe()}: {flagged} of {total - fill} above the threshold {threshold:.6g}"
             + (f" ({nodata.units(fill, X.ndim)}, NaN in the map)" if fill else ""))
        notes = ScoreNotes(model, dataset, scene, settings or {}, metrics)
        notes.say_other_scene(echo)
        notes.say_share(flagged, total - fill, echo)
        tiled = scene.meta.get("tiles_left_out") is not None  # a raster's tiles: those with no-data left out, said
        if (fill_value is None or tiled) and (said := nodata.note(scene.name, scene.meta, rows=X.ndim == 2)):
            echo("  " + said)  # several fill values: not masked
        if fill_value is not None and partial.record():
            echo("  " + nodata.partial_line(scene.name, fill_value, partial.record(), scored=True,
                                            kept=scene.meta.get("bands_kept")))
        if said := view_note(scene.name, scene.meta):
            echo("  " + said)
        summary = {"map": output, "png": png, "flagged": flagged, "threshold": threshold, "engine": engine_of(how),
                   "shape": shape, "no_data_pixels": fill}
        if out is not None and (scene.y is not None or png):
            amap = read_map(out.written())  # the map written, read back once for the metrics and the quicklook
        if scene.y is not None:  # the scene's ground truth (map_path)
            summary.update(notes.measured(scene.y, amap, echo, threshold))
        else:
            summary.update(notes.unlabelled(echo))
        if png:
            quicklook_png(png, amap, X, scene.meta, title=scene.name, truth=scene.y, origin=dataset_origin(dataset))
    if output:
        note = ""
        if Path(output).suffix.lower() in TIFF_SUFFIXES:
            note = f" ({georeferencing(scene.meta)})"
        echo(f"wrote {output}{note}")
    if png:
        echo(f"wrote {png}")
    return summary


def _tiles_to_heat_map(scene, source, scorer, threshold: float, how: str, output: str | None, png: str | None,
                       echo: Callable[[str], None], notes: "ScoreNotes",
                       tags: dict[str, str] | None = None) -> dict[str, Any]:
    """Images cut from a raster (``raster-file``): their scores placed back on the raster's grid by the source's
    ``score_map`` (each pixel: the tiles covering it), written as a GeoTIFF with the raster's transform and CRS
    (`output`) and drawn beside the ground truth (`png`). Images without places on a raster: a typed error.

    With the tiles' labels (``mask_path``) the tiles' scores are measured against them, the numbers ``had score``
    gives without the heat map, with its notes (`notes`: the model's training data, another scene) (was: the
    metrics dropped without a word, ``"metrics": {}`` in the JSON, whenever the heat map was written)."""
    from .errors import InvalidInputError

    if not _placeable(scene, source):  # said before any scoring
        raise InvalidInputError(f"{scene.name} holds images with no place on a raster, so there is no map to draw; "
                                "write the scores as .npy (or .csv) and drop --png")
    scores = score_tiles(scorer, scene.X)
    picture = np.asarray(source.score_map(scene, scores), dtype=np.float64)
    flagged = int(np.count_nonzero(scores > threshold))
    echo(f"scored with {how}")
    echo(f"{scene.describe()}: {flagged} of {scores.size} tiles above the threshold {threshold:.6g}")
    if nodata.note(scene.name, scene.meta):
        echo("  " + nodata.note(scene.name, scene.meta))
    if said := view_note(scene.name, scene.meta):  # the reader's notes (was: said by the .npy path alone): the
        echo("  " + said)  # surveyed pixels in no tile kept, NaN pixels inside the survey, bands used
    notes.say_other_scene(echo)
    # the tiles' labels: the tile scores against them, as had score does in memory
    measured = notes.measured(scene.y, scores, echo, threshold) if scene.y is not None else notes.unlabelled(echo)
    if output and Path(output).suffix.lower() in TIFF_SUFFIXES:
        with open_map(output, picture.shape, scene.meta, fill=True, tags=tags) as out:  # NaN: no tile, no data
            out.write(0, picture)
        placed = georeferencing(scene.meta)
        echo(f"wrote {output} (the tile scores as a heat map on the raster's {picture.shape[0]}x{picture.shape[1]} "
             f"grid, {placed})")
    elif output:  # .npy: the scores per tile, as without --png
        with open_map(output, scores.shape, scene.meta) as out:
            out.write(0, scores)
        echo(f"wrote {output}")
    if png:  # the map quicklook's style (was: no colour bar, no-data blank): colour bar, no-data in grey, targets
        quicklook_png(png, picture, None, scene.meta, title=scene.name, truth=source.truth_map(scene),
                      origin=dataset_origin(notes.dataset))
        echo(f"wrote {png}")
    shape = picture.shape if output and Path(output).suffix.lower() in TIFF_SUFFIXES else scores.shape
    return {"map": output, "png": png, "flagged": flagged, "threshold": threshold, "engine": engine_of(how),
            "shape": tuple(shape), "n_scores": int(scores.size), **measured}


def _placeable(scene, source) -> bool:
    """Whether the source places per-image scores on a raster (``score_map`` gives a picture)."""
    return source is not None and source.score_map(scene, np.zeros(len(scene.X))) is not None


def read_map(path: str | Path) -> np.ndarray:
    """A map written by :func:`score_to_map`: ``.npy`` memory-mapped, GeoTIFF band 1 read with rasterio."""
    path = Path(path)
    if path.suffix.lower() in TIFF_SUFFIXES:
        from .maps import open_raster

        with open_raster(path) as src:
            return src.read(1)
    return np.load(path, mmap_mode="r", allow_pickle=False)
