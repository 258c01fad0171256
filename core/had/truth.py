"""Ground truth of a scene: a 0/1 map ``(H, W)`` from an array or from a file of its own.

A scene and its truth often ship apart: a flight line in ENVI or GeoTIFF and the target mask drawn for it (an
ENVI classification image, a single-band GeoTIFF, a ``.npy``), or a ``.mat`` cube whose mask is a second file
(HYDICE, Pavia). :func:`read_map_file` reads such a file; :func:`as_map` checks it against the cube and makes it
0/1 (anomaly where the map is > 0). The data sources that read scenes take it as ``map_path`` (``hsi-file``,
``envi-file``, ``geotiff-scene``), so ``had fit``/``had score`` print metrics and ``had bench`` measures on the
user's own labelled scene.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BeforeValidator, Field

from .datadir import expand_home
from .errors import DataFileError, LabelError

#: suffixes read by had's own array readers (:mod:`had.matfile`); any other file goes to the plugin claiming it
ARRAY_SUFFIXES = (".npy", ".mat", ".npz", ".h5", ".hdf5")


def _none_spelled_out(value: Any) -> Any:
    """``--data map_path=None`` (or ``null``/empty) means no map, not a file named "None"."""
    return None if isinstance(value, str) and value.strip().lower() in ("none", "null", "") else value


#: the type of ``map_path``/``map_key`` in a scene source's config (``None``/``null`` spelled out is None)
OptionalName = Annotated[str | None, BeforeValidator(_none_spelled_out)]


def map_path_field() -> Any:
    """``map_path: OptionalName = map_path_field()`` in a scene source's config (``envi-file``, ``geotiff-scene``):
    its ground truth as a file of its own, read with :func:`truth_for`."""
    return Field(None, description="ground truth map for the scene (anomaly where > 0): .npy, .mat/.npz, a "
                 "single-band GeoTIFF or ENVI image; had fit/score then print metrics and had bench can measure on it")


def map_key_field() -> Any:
    """``map_key: OptionalName = map_key_field()`` beside :func:`map_path_field`."""
    return Field(None, description="the map's key in a .mat/.npz map_path (default: 'map', or the file's only array)")


def as_map(gt: Any, cube_shape: tuple[int, ...], what: str) -> np.ndarray:
    """The ground truth `gt` as an int64 0/1 map ``(H, W)``: 1 where ``gt > 0``; LabelError if the shape differs."""
    gt = np.asarray(gt)
    h, w = cube_shape[:2]
    if gt.shape != (h, w):
        hint = " (is it transposed?)" if gt.shape == (w, h) else ""
        if gt.shape == tuple(cube_shape[1:3]) and gt.shape[0] != h:  # a map of the cube's height: its width is off
            hint = (f" (the cube's last two axes match the map: it is probably stored as (B, H, W); move the band "
                    f"axis last, e.g. numpy.moveaxis(cube, 0, -1), to get {gt.shape + cube_shape[:1]})")
        raise LabelError(
            f"{what}: the ground truth map has shape {gt.shape} but the cube is {h}x{w}{hint}; "
            "pass an (H, W) map matching the cube (anomaly where map > 0)"
        )
    if not (gt.dtype == bool or np.issubdtype(gt.dtype, np.number)) or np.iscomplexobj(gt):
        raise LabelError(f"{what}: the ground truth map has dtype {gt.dtype}; expected numbers (anomaly where > 0)")
    return (gt > 0).astype(np.int64)


def read_map_file(path: str | Path, key: str | None = None, what: str = "ground truth",
                  key_hint: str = "name the map's key (map_key=...)") -> np.ndarray:
    """The map array held by the file `path`: a ``.npy`` array; the array under `key` of a ``.mat``/``.npz``
    (without one: ``map``, or the file's only array; `key_hint` says how to name another); otherwise the one band
    of an image a data plugin reads (a single-band GeoTIFF, an ENVI classification image), read whole, its
    declared no-data value read as 0 (no target, or unlabelled). DataFileError or LabelError, one line naming the
    map as `what`."""
    from .matfile import list_keys, read_arrays, read_npy

    path = expand_home(path)
    if not path.is_file():
        raise DataFileError(f"no such {what} file: {path}; check the path (relative paths start from the "
                            "folder the command runs in)")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return read_npy(path)
    if suffix in ARRAY_SUFFIXES:
        keys = list_keys(path)
        if (key is None or key not in keys) and len(keys) == 1 and "map" not in keys:
            key = keys[0]  # the file's only array, under any name
        key = key or "map"
        if key not in keys:
            raise LabelError(f"{path} has no array {key!r} (its arrays: {', '.join(map(repr, keys)) or 'none'}); "
                             f"{key_hint}")
        return read_arrays(path, [key])[key]
    return _image_map(path, what)[0]


def _image_map(path: Path, what: str) -> tuple[np.ndarray, dict[str, Any]]:
    """The one band of an image file a data plugin reads, as :func:`read_map_file` gives it, and the image's meta
    (its georeferencing, which :func:`truth_for` compares with the scene's)."""
    from .scenefiles import open_scene

    image = open_scene(str(path))
    bands = np.shape(image.X)
    if len(bands) != 3 or bands[-1] != 1:
        raise LabelError(f"{path}: a {what} map is one band (H, W); this file holds an array of shape "
                         f"{bands}; write the map alone, as one band")
    mask = np.asarray(image.X[..., 0])
    from .nodata import declared

    fill = declared(image.meta)  # a mask's own no-data (255 outside a rasterised footprint) is no target
    if fill is not None:
        mask = np.where(np.isnan(mask) if np.isnan(fill) else mask == fill, 0, mask)
    return mask, image.meta


def truth_for(path: str | Path, cube_shape: tuple[int, ...], key: str | None = None,
              scene_meta: dict[str, Any] | None = None) -> np.ndarray:
    """The 0/1 map ``(H, W)`` in the file `path` (:func:`read_map_file`), checked against `cube_shape` and, for
    a georeferenced map and scene (`scene_meta`'s ``transform``, ``crs``), against the scene's grid."""
    if scene_meta and Path(path).suffix.lower() not in ARRAY_SUFFIXES and (file := expand_home(path)).is_file():
        mask, meta = _image_map(file, "ground truth")  # the image opened once for both
        truth = as_map(mask, cube_shape, str(path))
        check_same_grid(path, meta, scene_meta)
        return truth
    return as_map(read_map_file(path, key), cube_shape, str(path))


def check_same_grid(path: str | Path, meta: dict[str, Any], scene_meta: dict[str, Any]) -> None:
    """LabelError when the map image `path` (its `meta`) and the scene are both georeferenced and lie on different
    grids (a mask of another line, or in another CRS, of the same height and width: was measured pixel by pixel as
    if it were the scene's). A map or a scene without georeferencing is not compared."""
    ours, theirs = meta.get("transform"), scene_meta.get("transform")
    if ours is not None and theirs is not None:
        a, b = np.asarray(ours[:6], dtype=np.float64), np.asarray(theirs[:6], dtype=np.float64)
        if not np.allclose(a, b, rtol=1e-9, atol=1e-9 * max(1.0, float(np.abs(b).max()))):
            raise LabelError(f"{path}: the map lies on another grid than the scene (its transform {_affine(a)}, the "
                             f"scene's {_affine(b)}): give the mask drawn on this scene's grid")
    if meta.get("crs") and scene_meta.get("crs") and not _same_crs(meta["crs"], scene_meta["crs"]):
        raise LabelError(f"{path}: the map is in another coordinate reference system than the scene "
                         f"({_crs_name(meta['crs'])} against {_crs_name(scene_meta['crs'])}): give the mask drawn on "
                         "this scene's grid")


def _affine(values: np.ndarray) -> str:
    return "(" + ", ".join(f"{v:g}" for v in values) + ")"


def _crs_name(crs: str) -> str:
    """A CRS as a message says it: ``EPSG:n`` where it has one, else its PROJ string or text cut short (was: a
    WKT of about 800 characters on the line: a probe of 7 December 2026)."""
    from .errors import cut

    try:
        import rasterio.crs

        parsed = rasterio.crs.CRS.from_user_input(crs)
        epsg = parsed.to_epsg()
        return f"EPSG:{epsg}" if epsg else cut(parsed.to_proj4() or crs, 80)
    except Exception:  # noqa: BLE001 - a CRS rasterio cannot read (or no rasterio): its text, cut
        return cut(crs, 80)


def _same_crs(a: str, b: str) -> bool:
    """Whether two CRS (WKT, ``EPSG:n``) are the same; true when rasterio, which could tell, is missing."""
    if a == b:
        return True
    try:
        import rasterio.crs
    except ImportError:
        return True
    try:
        return rasterio.crs.CRS.from_user_input(a) == rasterio.crs.CRS.from_user_input(b)
    except Exception:  # a CRS rasterio cannot read: not said to differ here (writing a map says it)
        return True
