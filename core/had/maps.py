"""Anomaly maps on disk: written tile by tile as ``.npy`` or GeoTIFF, and PNG quicklooks.

* ``.npy``: a float64 array opened with ``np.lib.format.open_memmap`` and filled as tiles arrive.
* ``.tif``/``.tiff``: a float64 single-band GeoTIFF written by window with rasterio, carrying the input's
  ``transform`` and ``crs`` (dataset meta, see :class:`had.tiling.LazyScene`), so a GIS opens it in place.
  rasterio is not a core dependency: it comes with had-plugin-raster (or ``pip install rasterio``).

Both are written to a temporary file beside the target and put in place on :meth:`close` (the ``with`` block's
end, :func:`had.atomic.commit_file`: never over a file that appeared meanwhile), so an interrupted run leaves no
half map. GDAL's and libtiff's own error lines (``_tiffWriteProc: No space left on device.``) are kept off
stderr while had writes a GeoTIFF (:func:`gdal_quiet`): had says what failed in its own one line.
A map written while a file is scored (:func:`scoring`) records that file (:func:`origin_record`), so ``had score
--skip-existing`` keeps only a file's own map, ``.npy`` included.
:func:`quicklook_png` draws the map with a colour bar beside a false-colour view of the scene, decimated to about
1000 pixels a side so a flight line stays cheap to draw.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import functools
import json
import math
import os
import threading
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import atomic, nodata
from .errors import HadError, InvalidInputError
from .wavelengths import MICROMETRES_BELOW, as_nanometres

NPY_SUFFIXES = (".npy",)
TIFF_SUFFIXES = (".tif", ".tiff")
#: false-colour bands (near infrared, red, green) in nanometres, picked by nearest wavelength
FALSE_COLOUR_NM = (860.0, 650.0, 550.0)


class _AtomicMap:
    """Shared part of the writers: a temporary file beside `path`, renamed onto it on success, deleted on failure.

    The temporary file ``.NAME.<8 hex>SUFFIX`` (:func:`had.atomic.temp_path`) is created with mode 0o666 less the
    umask, like any program's output (``mkstemp``'s 0600 would survive the rename and hide the map from the user's
    group), and locked while it is written; one left by a killed writer (a flight line's map can be GBs) is
    removed by the next writer of the same path.
    """

    def __init__(self, path: str | Path, shape: tuple[int, ...]):
        self.path, self.shape = Path(path), tuple(int(s) for s in shape)
        _check_not_kept(self.path)  # before anything is made: the one output a run may not write over
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic.check_space(self.path, 8 * math.prod(self.shape), "the map")  # float64: before any scoring
        self.replace = atomic.may_replace(self.path)
        self._hold = None
        with atomic.locked(self.path.parent):
            atomic.remove_stale_files(self.path, self.path.suffix)
            while True:
                self.tmp = atomic.temp_path(self.path, self.path.suffix)
                # noted before it exists: an interrupt from here until the caller's `with` block (which removes it
                # on error) leaves no temporary file at exit (atomic.remove_unfinished); SIGTERM in the ms after it
                # appeared left it, 0 bytes
                atomic.unfinished(self.tmp)
                try:
                    os.close(atomic.create_new(self.tmp, self.path))
                    break
                except FileExistsError:
                    atomic.finished(self.tmp)  # another writer's name: not ours
                    continue
                except OSError:
                    atomic.finished(self.tmp)
                    raise
            with self._removed_on_error():
                self._hold = atomic.hold(self.tmp)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            full = atomic.disk_full(exc, self.path)  # GDAL's "Write failed": said as the full disk it was
            gone = self._vanished(exc)
            self.abort()
            if full is not None:
                raise full from exc
            if gone is not None:
                raise gone from exc

    def _vanished(self, exc: BaseException) -> Exception | None:
        """The error that says the map's folder (or its temporary file) was removed while it was written, when that
        is why `exc` (an error, not an interrupt) came; measured before :meth:`abort`."""
        return atomic.vanished(self.tmp, self.path) if isinstance(exc, Exception) else None

    def _finish(self) -> None: ...

    def written(self) -> Path:
        """The temporary file, complete and closed for writing (readable as the map will be), before the rename at
        the ``with`` block's end: what is drawn from the map (a quicklook) is made before the map appears, so a
        failure there leaves neither."""
        self._finish()
        return self.tmp

    @contextlib.contextmanager
    def _removed_on_error(self):
        """For a writer's own opening of the temporary file: if it fails, the file goes (no writer is returned
        whose ``with`` block would remove it)."""
        try:
            yield
        except BaseException as exc:
            gone = self._vanished(exc)  # GDAL cannot create the temporary file in a folder removed meanwhile
            self.abort()
            if gone is not None:
                raise gone from exc
            raise

    def _release(self) -> None:
        if self._hold is not None:
            os.close(self._hold)
            self._hold = None

    def close(self) -> Path:
        try:
            self._finish()
            _record_origin(self.tmp)  # on the complete file, before it appears: no map of had's without its record
            atomic.fsync(self.tmp)  # on disk before the rename, so a crash leaves the old file or the whole map
            atomic.commit_file(self.tmp, self.path, self.replace)
        except BaseException as exc:  # the rename refused (a file that appeared, a full disk): no temporary map
            full = atomic.disk_full(exc, self.path)  # is left
            gone = None if isinstance(exc, atomic.VanishedError) else self._vanished(exc)
            self.abort()
            if full is not None:
                raise full from exc
            if gone is not None:
                raise gone from exc
            raise
        self._release()
        return self.path

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._finish()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)
        atomic.finished(self.tmp)
        self._release()


class NpyMap(_AtomicMap):
    """A float64 ``.npy`` map of `shape`, memory-mapped and filled tile by tile."""

    def __init__(self, path: str | Path, shape: tuple[int, ...]):
        super().__init__(path, shape)
        self.array = None
        with self._removed_on_error():
            self.array = np.lib.format.open_memmap(self.tmp, mode="w+", dtype=np.float64, shape=self.shape)
            # the file's blocks reserved now: a memory map of a sparse file that a full disk cannot back kills
            # the process with SIGBUS at the first page it writes; reserved, the disk is full here, as an OSError
            self._reserve()

    def _reserve(self) -> None:
        if not hasattr(os, "posix_fallocate"):
            return
        fd = os.open(self.tmp, os.O_RDWR)
        try:
            size = os.fstat(fd).st_size
            os.posix_fallocate(fd, 0, size)
        except OSError as exc:
            # EOPNOTSUPP, EINVAL: a file system that cannot reserve (the free space was checked); else refused
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                raise OSError(exc.errno, f"{os.strerror(exc.errno)}: the map needs {atomic.size_text(size)}",
                              str(self.path)) from None
        finally:
            os.close(fd)

    def write(self, start: int, block: np.ndarray) -> None:
        self.array[start:start + block.shape[0]] = block

    def _finish(self) -> None:
        if self.array is not None:
            self.array.flush()
            self.array._mmap.close()
            self.array = None


class GeoTiffMap(_AtomicMap):
    """A float64 single-band GeoTIFF ``(H, W)`` with the given affine `transform` and `crs`, written by window."""

    def __init__(self, path: str | Path, shape: tuple[int, ...], transform: Sequence[float] | None = None,
                 crs: str | None = None, fill: bool = False, tags: dict[str, Any] | None = None):
        if len(shape) != 2:
            raise HadError(f"a GeoTIFF map is (H, W); these scores have shape {tuple(shape)}: write them as .npy")
        rasterio = import_rasterio()
        check_gdal_path(path)  # before the temporary file beside it is made, as the CRS below
        profile: dict[str, Any] = {"driver": "GTiff", "height": int(shape[0]), "width": int(shape[1]), "count": 1,
                                   "dtype": "float64", "BIGTIFF": "IF_SAFER"}
        if transform is not None:
            profile["transform"] = rasterio.Affine(*[float(v) for v in transform][:6])
        if crs:
            profile["crs"] = parse_crs(crs)
        super().__init__(path, shape)
        if fill:  # the scene's no-data pixels are NaN in the map: a GIS shows them as no data
            profile["nodata"] = float("nan")
        self._window = rasterio.windows.Window
        self.dataset = None
        with self._removed_on_error(), gdal_quiet():
            self.dataset = open_raster(self.tmp, "w", **profile)
            if tags:  # GDAL metadata: what made the map (gdalinfo, QGIS's layer properties show it)
                self.dataset.update_tags(**{k: str(v) for k, v in tags.items()})
                self.dataset.set_band_description(1, "anomaly score (higher = more anomalous)")

    def write(self, start: int, block: np.ndarray) -> None:
        window = self._window(0, start, self.shape[1], block.shape[0])
        with gdal_quiet():
            self.dataset.write(np.asarray(block, dtype=np.float64), 1, window=window)

    def _finish(self) -> None:
        if self.dataset is not None and not self.dataset.closed:
            with gdal_quiet():
                self.dataset.close()


@functools.lru_cache(maxsize=1)
def _tiff_error_setter():
    """libtiff's ``TIFFSetErrorHandler`` in the copy GDAL uses (found through rasterio's own module, whose
    libraries it links), or None where it cannot be reached."""
    import ctypes

    try:
        import rasterio._io

        lib = ctypes.CDLL(rasterio._io.__file__)
        setter = next(getattr(lib, name) for name in ("TIFFSetErrorHandler", "gdal_TIFFSetErrorHandler")
                      if hasattr(lib, name))
    except (ImportError, OSError, StopIteration):
        return None
    setter.restype, setter.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
    return setter


_QUIET = threading.Lock()
_quiet_depth, _tiff_handler = 0, None


@contextlib.contextmanager
def gdal_quiet():
    """GDAL's error lines kept off stderr (a rasterio environment: they go to the ``rasterio`` logger, and the
    exception rasterio raises carries them) and libtiff's too (its global handler, which prints
    ``_tiffWriteProc: No space left on device.`` once per failed strip, unset, then put back): had's one line says
    what failed."""
    global _quiet_depth, _tiff_handler
    rasterio = import_rasterio()
    setter = _tiff_error_setter()
    with _QUIET:
        if _quiet_depth == 0 and setter is not None:
            _tiff_handler = setter(None)
        _quiet_depth += 1
    try:
        with rasterio.Env():
            yield
    finally:
        with _QUIET:
            _quiet_depth -= 1
            if _quiet_depth == 0 and setter is not None:
                setter(_tiff_handler)


def import_rasterio():
    """rasterio (with its windows and CRS modules), or a HadError saying how to install it."""
    try:
        import rasterio
        import rasterio.crs
        import rasterio.errors
        import rasterio.windows
    except ImportError:
        raise HadError("writing GeoTIFF needs rasterio; install had-plugin-raster or `pip install rasterio`") from None
    return rasterio


def parse_crs(crs: str):
    """`crs` (WKT, ``EPSG:n``, PROJ) as a rasterio CRS, or an InvalidInputError naming the fix (was: rasterio's
    CRSError traceback, and the temporary map left behind)."""
    rasterio = import_rasterio()
    try:
        with rasterio.Env(CPL_LOG="/dev/null"):  # GDAL's own "ERROR 1: ..." line on stderr: the one below says it
            return rasterio.crs.CRS.from_user_input(crs)
    except rasterio.errors.CRSError as exc:
        from .errors import InvalidInputError

        shown = crs if len(crs) <= 80 else crs[:77] + "..."
        raise InvalidInputError(f"the scene's coordinate reference system cannot be read by GDAL ({exc}): {shown}; "
                                "correct the header's coordinate system string (or map info), or write the map "
                                "as .npy") from None


def check_gdal_path(path: str | Path) -> None:
    """An InvalidInputError for a path GDAL cannot open: one whose bytes are not valid UTF-8 (was: rasterio's
    UnicodeEncodeError traceback)."""
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        from .errors import InvalidInputError

        raise InvalidInputError(f"{os.fsdecode(path)}: GDAL (rasterio) opens only file names that are valid "
                                "UTF-8, and this one is not; rename the file or its folder") from None


def open_raster(path: str | Path, mode: str = "r", **profile: Any):
    """``rasterio.open`` without rasterio's NotGeoreferencedWarning: a raster without a map transform is a plain
    grid to had, read or written as such (the CLI says so in its own words, not a library line)."""
    rasterio = import_rasterio()
    check_gdal_path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        return rasterio.open(path, mode, **profile)


def open_map(path: str | Path, shape: tuple[int, ...], meta: dict[str, Any] | None = None,
             fill: bool = False, tags: dict[str, Any] | None = None) -> _AtomicMap:
    """A map writer chosen by the suffix of `path`: ``.npy`` or ``.tif``/``.tiff`` (georeferenced from `meta`).
    `fill`: the map may hold NaN at no-data pixels (a GeoTIFF declares NaN as its no-data value); `tags`: a
    GeoTIFF's metadata items (:func:`had.score_file.map_tags`; a ``.npy`` holds none)."""
    suffix = Path(path).suffix.lower()
    if suffix in NPY_SUFFIXES:
        return NpyMap(path, shape)
    if suffix in TIFF_SUFFIXES:
        meta = meta or {}
        return GeoTiffMap(path, shape, meta.get("transform"), meta.get("crs"), fill=fill, tags=tags)
    raise HadError(f"cannot write scores to {path}: use a .npy or a .tif/.tiff file name")


def false_colour_bands(n_bands: int, meta: dict[str, Any] | None = None) -> list[int]:
    """Three band indices for a false-colour view: the bands nearest 860/650/550 nm when the wavelengths are
    known (micrometres are recognised), else the header's default bands, else bands at 3/4, 1/2, 1/4."""
    meta = meta or {}
    if n_bands < 3:
        return [0, 0, 0]
    wavelengths = meta.get("wavelengths")
    if wavelengths is not None and len(wavelengths) == n_bands:
        nm = as_nanometres(np.asarray(wavelengths, dtype=np.float64))
        if np.nanmin(nm) <= FALSE_COLOUR_NM[0] and np.nanmax(nm) >= FALSE_COLOUR_NM[2]:
            return [int(np.nanargmin(np.abs(nm - target))) for target in FALSE_COLOUR_NM]
    default = meta.get("default_bands")
    if default is not None and len(default) == 3 and all(0 <= int(b) < n_bands for b in default):
        return [int(b) for b in default]
    return [n_bands * 3 // 4, n_bands // 2, n_bands // 4]


def band_label(bands: list[int], n_bands: int, meta: dict[str, Any] | None = None) -> str:
    """``bands 8, 5, 4 (820, 640, 580 nm)``: the file's 1-based band numbers of `bands` (indices into the scene of
    `n_bands` as read; after ``--data bands=...``, ``bands_kept`` maps them to the file's) and their wavelengths
    when the scene has one for each band."""
    meta = meta or {}
    kept = meta.get("bands_kept")
    numbers = [int(kept[b]) + 1 if kept else int(b) + 1 for b in bands]
    text = "bands " + ", ".join(str(n) for n in numbers)
    wavelengths = meta.get("wavelengths")
    if wavelengths is not None and len(wavelengths) == n_bands:
        try:
            shown = [float(wavelengths[b]) for b in bands]
        except (TypeError, ValueError):
            return text
        unit = " µm" if max(shown) < MICROMETRES_BELOW else " nm"  # as false_colour_bands reads them
        text += " (" + ", ".join(f"{w:.4g}" for w in shown) + unit + ")"
    return text


def _stretch(image: np.ndarray, low: float = 2.0, high: float = 98.0) -> np.ndarray:
    if not np.isfinite(image).any():
        return np.zeros_like(image)
    lo, hi = np.nanpercentile(np.where(np.isfinite(image), image, np.nan), [low, high])
    return np.clip((image - lo) / (hi - lo), 0.0, 1.0) if hi > lo else np.zeros_like(image)


def _block_max(mask: np.ndarray, step: int, shape: tuple[int, ...]) -> np.ndarray:
    """`mask` decimated to `shape` (``mask[::step, ::step]``'s) by the maximum of each ``step x step`` block."""
    h, w = shape
    padded = np.zeros((h * step, w * step), dtype=np.float64)
    padded[:mask.shape[0], :mask.shape[1]] = mask
    return padded.reshape(h, step, w, step).max(axis=(1, 3))


def decimated_bands(scene: Any, step: int, bands: list[int]) -> np.ndarray:
    """``scene[::step, ::step, bands]`` as float64 ``(h, w, len(bands))``, read a row tile at a time with each
    tile's pages released (:func:`had.tiling.row_tiles`): a strided read of a memory-mapped BIL or BIP file in one
    go faults in nearly every page of it (an audit: 1,142 MB resident for `had score --png` of a 900 MB ENVI line,
    210 MB without the quicklook)."""
    from .tiling import row_tiles

    parts = []
    for start, stop in row_tiles(scene):
        first = -(-start // step) * step  # this tile's first row of the decimated grid
        if first < stop:
            parts.append(np.stack([np.asarray(scene[first:stop:step, ::step, b], dtype=np.float64) for b in bands],
                                  axis=-1))
    return np.concatenate(parts, axis=0)


#: a quicklook panel's image: its longer side in inches, and the least a panel is wide (its title's room) and tall
PANEL_LONG, PANEL_LEAST_WIDE, PANEL_LEAST_TALL = 5.0, 2.6, 0.5


def _panel_inches(shape: tuple[int, ...]) -> tuple[float, float]:
    """A quicklook panel's (width, height) in inches for a map of `shape`, shaped as the map: was 4.6 x 4.4 for
    any scene, so a flight line (thousands of lines, a few hundred samples) was a thin strip in a square of white,
    and a wide one a sliver under a colour bar the height of the figure."""
    h, w = max(shape[0], 1), max(shape[1], 1)
    if w >= h:
        return PANEL_LONG, max(PANEL_LONG * h / w, PANEL_LEAST_TALL)
    tall = PANEL_LONG * 1.4  # a flight line: taller panels, its detail along the track
    return max(tall * w / h, PANEL_LEAST_WIDE), tall


def _is_wide(shape: tuple[int, ...]) -> bool:
    """Whether a map of `shape` is wide enough that its colour bar goes below it (a bar beside a panel a few
    hundred pixels high had no room for its label)."""
    return shape[1] >= 1.5 * max(shape[0], 1)


def quicklook_png(path: str | Path, amap: Any, scene: Any = None, meta: dict[str, Any] | None = None,
                  title: str = "", truth: Any = None, origin: str | None = None) -> Path:
    """The anomaly map (colour bar, clipped at its 99.9th percentile; no-data pixels, NaN, in grey) beside a
    false-colour view of `scene` ``(H, W, B)`` when given; both decimated to about 1000 pixels a side. Arrays may
    be memory-mapped. `truth` (a 0/1 map ``(H, W)``): its targets marked on the map (a ring on each target pixel
    when there are few, their outline otherwise), decimated by the block maximum so that a one-pixel target is
    not lost. `origin`: the scored input, recorded in the PNG as the text ``HAD_DATASET`` (a GeoTIFF map's tag of
    that name says the same), so that ``had score --skip-existing`` can tell the quicklook is had's of that input
    (:func:`png_origin`)."""
    from .plots import _figure, _save

    shape = np.shape(amap)
    step = max(1, math.ceil(max(shape) / 1000))
    small = np.asarray(amap[::step, ::step], dtype=np.float64)
    plt = _figure()
    panels = 2 if scene is not None else 1
    (width, height), wide = _panel_inches(small.shape), _is_wide(small.shape)
    fig, axes = plt.subplots(1, panels, figsize=(panels * width + (0 if wide else 1.1), height + (1.2 if wide else 0.7)),
                             squeeze=False, layout="constrained")
    if scene is not None:
        bands = false_colour_bands(scene.shape[-1], meta)
        rgb = decimated_bands(scene, step, bands)
        fill = nodata.fill_pixels(rgb, nodata.declared(meta or {}))  # no-data pixels (in the bands shown): black
        rgb[fill] = np.nan
        view = np.nan_to_num(np.stack([_stretch(rgb[..., i]) for i in range(3)], axis=-1), nan=0.0)
        axes[0][0].imshow(view, interpolation="nearest")
        axes[0][0].set_title(f"false colour ({band_label(bands, scene.shape[-1], meta)})", fontsize=9)
        axes[0][0].axis("off")
    ax = axes[0][-1]
    finite = small[np.isfinite(small)]  # no-data pixels (NaN) are drawn grey (blank, the map looked cropped)
    low = float(finite.min()) if finite.size else 0.0
    top = float(np.percentile(finite, 99.9)) if finite.size else 1.0
    cmap = plt.get_cmap("inferno").with_extremes(bad="0.7")
    shown = ax.imshow(small, cmap=cmap, vmin=low, vmax=top if top > low else None, interpolation="nearest")
    # a wide scene's bar below both panels (below the map alone, it lifted the map out of line with the view)
    fig.colorbar(shown, ax=list(axes[0]) if wide else ax, location="bottom" if wide else "right",
                 shrink=0.5 if wide else 0.8, aspect=40 if wide else 25,
                 label="anomaly score (clipped at 99.9th percentile)")
    outlined = truth is not None and np.any(truth)
    if outlined:  # few target pixels: a ring on each, visible at any size; many: their outline
        pooled = _block_max(np.asarray(truth) > 0, step, small.shape)
        rows, cols = np.nonzero(pooled)
        if rows.size <= 2000:
            ax.scatter(cols, rows, s=40, facecolors="none", edgecolors="cyan", linewidths=1.0)
        else:
            ax.contour(pooled, levels=[0.5], colors="cyan", linewidths=0.8)
    ax.set_title("anomaly map" + (", targets in cyan" if outlined else "")
                 + (", no data in grey" if finite.size < small.size else "")
                 + (f" (1 in {step} pixels shown)" if step > 1 else ""), fontsize=9)
    ax.axis("off")
    fig.suptitle(title, fontsize=10)
    return _save(fig, Path(path), {"HAD_DATASET": _png_text(origin)} if origin else None)


def dataset_origin(dataset: str) -> str:
    """How a map and its quicklook name the input they were scored from (``HAD_DATASET``): a file's resolved
    path, a registered dataset's name."""
    return str(Path(dataset).resolve()) if Path(dataset).exists() else dataset


#: the extended attribute in which a map records the input it was scored from (:func:`origin_record`)
ORIGIN_ATTR = "user.had.origin"
#: while a file is scored (:func:`scoring`): what its maps record, and the outputs not to be written over
_SCORING: contextvars.ContextVar = contextvars.ContextVar("had_maps_scoring", default=None)


@contextlib.contextmanager
def scoring(dataset: str, kept: dict[str, str] | None = None, model: str | None = None):
    """While `dataset` is scored (with the model at `model`, whose :func:`had.artifact.model_identity` the maps record
    too): each map written (:func:`open_map`) records it (:func:`origin_record`), and a
    writer of one of `kept` (path: why) refuses with `why` before anything is made. `kept`: outputs that exist and
    may not be replaced, where which output a file gets is known only once it is read (``had score --out``'s
    ``NAME.tif`` or ``NAME.npy``: was refused for a file of the other name, which would not have been written)."""
    if kept is None and _SCORING.get() is not None:  # inside a caller's (had score --out's job): its record stands
        yield
        return
    identity = input_identity(dataset)
    if model is not None:
        from .artifact import model_identity

        identity["model"] = model_identity(model)
    token = _SCORING.set((identity, {os.path.abspath(p): why for p, why in (kept or {}).items()}))
    try:
        yield
    finally:
        _SCORING.reset(token)


def input_identity(dataset: str) -> dict[str, Any]:
    """What a map records of its input: ``dataset`` (:func:`dataset_origin`) and, for a file, its ``size`` and
    ``mtime_ns`` (a file changed since its map was scored is told apart; no hash: reading a flight line of GBs again
    at every ``--skip-existing`` would cost as much as scoring it); for an ENVI header, ``data``: each data file
    beside it by name, with its size and time (was: the header's alone, so a line whose ``.img`` was rewritten under
    the same header kept yesterday's map)."""
    from .catalog import envi_data_candidates

    identity: dict[str, Any] = {"dataset": dataset_origin(dataset)}
    with contextlib.suppress(OSError, ValueError):
        info = os.stat(dataset)
        if os.path.isfile(dataset):
            identity.update(size=info.st_size, mtime_ns=info.st_mtime_ns)
            if dataset.lower().endswith(".hdr"):
                identity["data"] = {os.path.basename(path): size_and_time(path)
                                    for path in envi_data_candidates(dataset) if os.path.isfile(path)}
    return identity


def size_and_time(path: str | Path) -> list[int] | None:
    """A file's ``[size, mtime_ns]`` as a map's record holds them; None where it cannot be read."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]


def _check_not_kept(path: Path) -> None:
    scoring_now = _SCORING.get()
    why = scoring_now[1].get(os.path.abspath(path)) if scoring_now else None
    if why is not None and os.path.lexists(path):
        raise InvalidInputError(why)


def _record_origin(tmp: Path) -> None:
    """Record the input being scored (:func:`scoring`) on the complete temporary map `tmp`, with the map's own size
    and time, so that a file written over the map later (``np.save``, ``cp`` onto it) no longer passes for it. An
    extended attribute: it goes with the file through the rename, and no file is added beside the map; where the
    file system keeps none, the map records nothing (:func:`origin_record`: None)."""
    scoring_now = _SCORING.get()
    if scoring_now is None or not hasattr(os, "setxattr"):
        return
    record = {**scoring_now[0], "map": size_and_time(tmp)}
    with contextlib.suppress(OSError):
        os.setxattr(tmp, ORIGIN_ATTR, json.dumps(record).encode("ascii"))


@functools.lru_cache(maxsize=64)
def keeps_origins(folder: str) -> bool:
    """Whether maps written into `folder` can record their input (:func:`_record_origin`): an extended attribute
    set on a hidden file made there and removed at once. False on a system without them (macOS's Python has no
    ``os.setxattr``) or a file system that keeps none (FAT, some NFS): there ``had score --skip-existing`` keeps a
    ``.npy`` map of a file's name as before, and says it cannot check it (was considered: refusing every such
    map, which made ``--skip-existing`` rescore nothing there but refuse)."""
    if not hasattr(os, "setxattr"):
        return False
    import tempfile

    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".had-origin-") as fh:
            os.setxattr(fh.name, ORIGIN_ATTR, b"{}")
    except OSError:
        return False
    return True


def origin_record(path: str | Path) -> dict[str, Any] | None:
    """What the map at `path` records of its making (:func:`scoring`): ``dataset``, the input's ``size`` and
    ``mtime_ns`` (a file), and ``map``, its own ``[size, mtime_ns]`` as had wrote it; None where it records nothing
    (written by had before 7 December 2026, by hand, copied without its attributes, or on a file system without
    extended attributes) or the record cannot be read."""
    if not hasattr(os, "getxattr"):
        return None
    try:
        record = json.loads(os.getxattr(path, ORIGIN_ATTR))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("dataset"), str) else None


def _png_text(text: str) -> str:
    """`text` as a PNG text chunk can hold it: a name's bytes that are not UTF-8 (kept as surrogates) as ``\\xNN``
    (a review: ``UnicodeEncodeError`` from Pillow, and the map scored before it lost)."""
    return os.fsencode(text).decode("utf-8", "backslashreplace")


def is_quicklook_of(path: str | Path, dataset: str) -> bool:
    """Whether the PNG at `path` is a quicklook had drew of `dataset` (its ``HAD_DATASET`` text)."""
    return png_origin(path) == _png_text(dataset_origin(dataset))


def png_origin(path: str | Path) -> str | None:
    """The ``HAD_DATASET`` a quicklook of had records (:func:`quicklook_png`), or None: a PNG without it (made
    before 6 December 2026, or not by had) or one that cannot be read."""
    try:
        from PIL import Image

        with Image.open(path) as image:
            origin = getattr(image, "text", {}).get("HAD_DATASET")
    except Exception:  # not a PNG, unreadable, no Pillow: no origin to tell
        return None
    return origin if isinstance(origin, str) else None
