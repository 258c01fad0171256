"""Tile-by-tile work on data larger than memory: row tiles of a (memory-mapped) array and scoring into a map.

A tile is a run of whole rows along the first axis: image rows of a cube ``(H, W, B)``, or table rows of
``(N, D)``. Its size is chosen so that one tile as float64 takes about `tile_bytes` (default 64 MiB), so
a ``np.memmap`` of any size is processed with memory bounded by a few tiles. After each tile the pages of a
read-only ``np.memmap`` are dropped from the process (``madvise(MADV_DONTNEED)``; the kernel keeps them in its
page cache), so the resident memory of a pass over a file does not grow to the file's size. :func:`tiles` also
reads a memory map's tiles in a thread that stays one tile ahead of the caller (the disk works while the caller
computes) and asks the kernel for the tile after that, so a cold file is read from disk sequentially whatever its
interleave; a tile that is one stretch of the file (BIL, BIP) is handed over as a read-only view of the map, its
pages read and mapped beforehand, so no copy of it is made; a tile spread over the file (BSQ: one stretch per band)
is copied band by band, the pages released every few bands (:func:`_copy_rows`). Before a memory map's tile is
read, the file is checked to be still as long as when it was opened (:func:`check_file`): a file truncated or
rewritten in place while had reads it gives a DataFileError, not a SIGBUS that kills the process without a word.

    >>> from had.tiling import score_tiles
    >>> score_tiles(detector.decision_function, cube_memmap, writer)   # writer: had.maps.open_map(...)

Any scorer that maps a cube tile ``(r, W, B)`` to an ``(r, W)`` map works: a detector's
``decision_function`` (eager) or :class:`had.runtime.OnnxScorer`'s ``score``. Pixel-wise detectors (LREN's
closed form among them) give the same scores tile by tile as on the whole scene; a scene-wide convolutional
network (BS3LNet) declares its receptive radius (``context_rows``), and each tile is scored with that many rows
of the scene around it, then cropped, so its map equals the whole scene's too (:func:`context_of`).

:class:`PixelSample` draws a seeded uniform sample of pixels from the tiles of a pass that reads them anyway (RX's
threshold on a large scene); :func:`sample_pixels` is one pass doing only that (pixel-trained detectors' fits).
"""

from __future__ import annotations

import hashlib
import mmap
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol

import numpy as np

from . import signals
from .cubeview import CubeView, base_of
from .errors import DataFileError, InvalidInputError, shown

try:
    from numpy.lib.array_utils import byte_bounds
except ImportError:  # numpy < 2 (had takes numpy >= 1.26)
    from numpy import byte_bounds

TILE_BYTES = 64 * 2**20


@dataclass
class LazyScene:
    """A scene whose cube is read tile by tile: `X` is an ``np.memmap`` (or any array) ``(H, W, B)``.

    `meta` holds what the data source knows: ``transform`` (six affine numbers ``a, b, c, d, e, f`` mapping
    (column, row) to map coordinates, rasterio's order), ``crs`` (WKT or ``EPSG:n``), ``wavelengths``, path.
    """

    name: str
    X: Any
    meta: dict[str, Any] = field(default_factory=dict)
    #: the ground truth map ``(H, W)`` (0/1) when the source was given one (``map_path``), else None; no known
    #: labels: the fields a :class:`had.Dataset` has, for code that takes either
    y: Any = None
    known: None = None

    def describe(self, detector: Any = None) -> str:
        """The scene's name, shape and dtype, and how it is read: by `detector`'s fit when one is given, after it
        (:func:`fit_read`, ``had fit``), else tile by tile, as ``had score`` reads it for every detector."""
        read = "read tile by tile" if detector is None else fit_read(detector)
        return f"{self.name}: {'x'.join(str(s) for s in self.X.shape)} {self.X.dtype} ({read})"


def fit_read(detector: Any) -> str:
    """How `detector`'s fit, done, read a lazily read cube (a file's memory map, a view of one): the words
    ``had fit`` prints after the scene's shape. "read tile by tile": the fit went over the file in row tiles and
    never held the whole cube in one array (the detector's ``_fit_read_tiles``: RX's one-pass fit, or a detector
    that reads views whose fit drew a sample of the pixels or left the fill pixels out, :mod:`had.pixel_sample`).
    "read whole": any other fit had the cube as one array.

    Was: "read tile by tile" for every detector, so ``had fit bs3lnet line.hdr`` said it of a scene BS3LNet reads
    whole (into float32): what decides whether such a fit fits in memory."""
    return "read tile by tile" if detector._fit_read_tiles() else "read whole"


def rows_per_tile(shape: tuple[int, ...], tile_bytes: int | None = None) -> int:
    """Rows along the first axis in one tile of about `tile_bytes` (default :data:`TILE_BYTES`) as float64."""
    tile_bytes = TILE_BYTES if tile_bytes is None else tile_bytes
    per_row = 8 * int(np.prod(shape[1:], dtype=np.int64))
    return max(1, int(tile_bytes) // max(per_row, 1))


def bytes_for_rows(shape: tuple[int, ...], rows: int) -> int:
    """The `tile_bytes` that gives tiles of `rows` rows of an array of `shape` (:func:`rows_per_tile`'s inverse)."""
    return max(1, int(rows)) * 8 * int(np.prod(shape[1:], dtype=np.int64))


def _mapped(X: Any) -> mmap.mmap | None:
    mapped = getattr(X, "_mmap", None)
    return mapped if isinstance(mapped, mmap.mmap) else None


def _file_start(X: Any) -> int:
    """The offset in its file of the first byte of a ``np.memmap``'s map (numpy maps from the array's ``offset``
    rounded down to ``mmap.ALLOCATIONGRANULARITY``)."""
    offset = int(getattr(X, "offset", 0) or 0)
    return offset - offset % mmap.ALLOCATIONGRANULARITY


def check_file(X: Any) -> None:
    """DataFileError when the file a memory map `X` (a ``np.memmap``, a view of one, a :class:`CubeView` of one)
    reads is now shorter than its map: another program truncated or rewrote it in place (``cp new.img line.img``
    truncates the same file) after it was opened. No effect on other arrays, or where the size cannot be read.

    was: no check, and touching a page past the file's new end killed the process with SIGBUS (exit 135), no
    message: Python cannot catch it inside numpy's copy. One ``fstat`` of the map's file (``mmap.size()``) per
    call; the tile readers call it before each tile (:func:`_read_rows`, :func:`tiles`, :func:`row_tiles`). A race
    remains: a file truncated between this check and the read of the tile, or while the caller computes on a tile
    that is a view of the map (BIL, BIP), still raises SIGBUS; the check only makes it unlikely."""
    X = base_of(X)
    mapped = _mapped(X)
    if mapped is None:
        return
    try:
        size = mapped.size()  # fstat of the map's own file descriptor: the file as it is now, even if renamed
    except (OSError, ValueError):
        return
    needed = _file_start(X) + len(mapped)
    if size < needed:
        name = shown(getattr(X, "filename", None) or "the memory-mapped data file")
        raise DataFileError(f"{name} is shorter than when it was opened ({size:,} bytes, {needed:,} needed): "
                            "another program truncated or rewrote it while had read it; run the command again once "
                            "the file is complete (to replace a file had may be reading, write the new one under "
                            "another name and rename it over the old one)")


def _address(mapped: mmap.mmap) -> int:
    """The address of a map's first byte (the view of it taken to read it is let go at once, so the map can be
    closed)."""
    anchor = np.frombuffer(mapped, dtype=np.uint8, count=1)
    return anchor.ctypes.data


def _span(X: Any, start: int, stop: int) -> tuple[mmap.mmap, int, int] | None:
    """``(map, offset, length)`` of the pages rows ``start:stop`` of a memory map lie on, when they are one
    stretch of the file (BIL, BIP, C order); None for other arrays and for a BSQ tile (spread over the file)."""
    mapped = _mapped(X)
    if mapped is None or start >= stop:
        return None
    tile = X[start:stop]
    low, high = byte_bounds(tile)
    if high - low > 2 * tile.nbytes:
        return None
    base = _address(mapped)  # to turn addresses into offsets
    first = (low - base) // mmap.PAGESIZE * mmap.PAGESIZE
    return mapped, first, high - base - first


def _libc_madvise() -> Callable[..., int] | None:
    """libc's ``madvise`` through ctypes, which releases the GIL while the call runs; None where there is none."""
    try:
        import ctypes

        call = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    call.argtypes, call.restype = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int], ctypes.c_int
    return call


_MADVISE = _libc_madvise() if sys.platform.startswith("linux") else None


def advise(mapped: mmap.mmap, advice: int, offset: int, length: int) -> None:
    """``mapped.madvise(advice, offset, length)`` without holding the GIL: Python's ``mmap.madvise`` holds it
    for the whole call, so a reader thread blocked in ``MADV_POPULATE_READ`` on a cold file stopped the threads
    computing on the tile before (measured: a cold RX scoring pass 1.15 s against 0.75 s through libc). Raises
    ``OSError`` as ``mmap.madvise`` does; `offset` is a multiple of the page size."""
    if _MADVISE is None or not 0 <= offset <= offset + length <= len(mapped):
        mapped.madvise(advice, offset, length)
        return
    address = _address(mapped) + offset
    if _MADVISE(address, length, advice) != 0:
        import ctypes

        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _releasable(X: Any) -> bool:
    """Whether `X` is a read-only memory map whose pages :func:`release_pages` may drop (the kernel re-reads
    them from its page cache; a copy-on-write map's pages would be lost)."""
    return _mapped(X) is not None and getattr(X, "mode", None) == "r" and hasattr(mmap, "MADV_DONTNEED")


#: the span, in bytes of the file, that a released range is widened to: the kernel maps a file's page cache in
#: folios of up to 2 MiB (x86-64's largest page cache folio), the whole folio at a fault, so a band's 85 KB of a
#: BSQ tile mapped up to 1 MiB of the file around it (measured, Linux 6.18)
RELEASE_ALIGN = 2 * 2**20


def _release_range(X: Any, low: int, high: int) -> None:
    """Drop the pages a read-only memory map `X` has mapped around its bytes ``low:high`` (offsets in the map),
    the range widened outward to :data:`RELEASE_ALIGN` in the file; a hint: errors are ignored."""
    mapped, start = _mapped(X), _file_start(X)
    first = max(0, (start + low) // RELEASE_ALIGN * RELEASE_ALIGN - start)
    last = min(len(mapped), -(-(start + high) // RELEASE_ALIGN) * RELEASE_ALIGN - start)
    if last > first:
        try:
            advise(mapped, mmap.MADV_DONTNEED, first, last - first)
        except (OSError, ValueError):
            pass


def release_pages(X: Any, start: int | None = None, stop: int | None = None) -> None:
    """Drop the resident pages of a read-only ``np.memmap`` (or a view of one): those of rows ``start:stop``
    when they are one stretch of the file, else all of them; no effect on other arrays."""
    mapped = _mapped(X)
    if not _releasable(X):
        return
    span = _span(X, start, stop) if start is not None and stop is not None else None
    advise(mapped, mmap.MADV_DONTNEED, *(span[1:] if span else (0, len(mapped))))


def row_tiles(X: Any, tile_bytes: int | None = None) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of each tile of `X` along its first axis (see the module docstring)."""
    step = rows_per_tile(tuple(X.shape), tile_bytes)
    for start in range(0, X.shape[0], step):
        check_file(X)  # a memory map's file truncated since it was opened: DataFileError, not SIGBUS
        yield start, min(start + step, X.shape[0])
        release_pages(base_of(X), start, min(start + step, X.shape[0]))


def read_ahead(X: Any, start: int, stop: int) -> None:
    """Ask the kernel to read rows ``start:stop`` of a memory map into its page cache now (``MADV_WILLNEED``,
    asynchronous), when they are one stretch of the file (BIL, BIP); a BSQ tile, spread over the file, is left."""
    span = _span(X, start, stop)
    if span is None or not hasattr(mmap, "MADV_WILLNEED"):
        return
    try:
        advise(span[0], mmap.MADV_WILLNEED, span[1], span[2])
    except (OSError, ValueError):  # only a hint
        pass


#: Linux's ``MADV_POPULATE_READ`` (kernel 5.14+; 22 in asm-generic/mman-common.h), which Python 3.11's mmap module
#: does not name: read a range of a mapping into the page cache and map it, as touching each page would, in one call
MADV_POPULATE_READ = getattr(mmap, "MADV_POPULATE_READ", 22 if sys.platform.startswith("linux") else None)


def _read_rows(X: Any, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of a memory map, in memory now: when they are one stretch of the file, a read-only
    view (``np.ndarray``) of the map whose pages are read and mapped (``MADV_POPULATE_READ``); otherwise (a BSQ
    tile, a kernel without it) a copy in the file's byte order (:func:`_copy_rows`). DataFileError when the file
    is shorter than when it was opened (:func:`check_file`; was: SIGBUS)."""
    check_file(X)
    read_ahead(X, stop, min(2 * stop - start, X.shape[0]))  # the kernel queues the tile after this one
    span = _span(X, start, stop)
    if span is not None and MADV_POPULATE_READ is not None:
        try:
            advise(span[0], MADV_POPULATE_READ, span[1], span[2])
        except (OSError, ValueError):
            pass
        else:
            return X[start:stop].view(np.ndarray)
    return _copy_rows(X, start, stop)


#: the most pieces :func:`_copy_rows` copies a tile in (a BSQ tile: one a band), and the pieces it copies between
#: two releases of their pages (one ``madvise`` call each: one a piece made a BSQ pass 2.5x as long as one copy of
#: each tile, 0.22 s against 0.08 s for 300 MB in the page cache; one every 4 pieces 0.13-0.15 s, as few pages held)
MAX_PIECES, PIECES_PER_RELEASE = 4096, 4


def _copy_rows(X: Any, start: int, stop: int) -> np.ndarray:
    """A copy of rows ``start:stop`` of `X` in the file's byte order and layout (``np.copy(order="K")``). Of a
    read-only memory map, it is copied piece by piece along its axis of largest stride (a BSQ tile: band by band,
    each band's rows one stretch of the file), the pages of every :data:`PIECES_PER_RELEASE` pieces released once
    copied (:func:`_release_range`), where that makes at most :data:`MAX_PIECES` pieces (else in one copy: the rows
    of a narrow table).

    was: one ``np.copy`` of the tile, its pages released only after it: the kernel maps the page cache's folios
    (up to 2 MiB) whole around each band's bytes, so a 16 MB tile of a BSQ file mapped 60-130 MB of it, and a
    pass held up to 170 MB of file pages against 52 MB for the same file in BIL (measured, 800x1000x188 int16)."""
    tile = X[start:stop]
    axis = int(np.argmax(np.abs(tile.strides))) if tile.ndim else 0
    if not _releasable(X) or tile.size == 0 or not 1 < tile.shape[axis] <= MAX_PIECES:
        return np.copy(tile, order="K")
    out = np.empty_like(tile, order="K", subok=False)
    base = _address(_mapped(X))
    low, high = None, None  # the bytes of the pieces copied since the last release
    for i in range(tile.shape[axis]):
        at = (slice(None),) * axis + (i,)
        out[at] = tile[at]
        first, last = byte_bounds(tile[at])
        low, high = (first, last) if low is None else (min(low, first), max(high, last))
        if (i + 1) % PIECES_PER_RELEASE == 0 or i + 1 == tile.shape[axis]:
            _release_range(X, low - base, high - base)
            low, high = None, None
    return out


def tiles(X: Any, tile_bytes: int | None = None, context: int = 0) -> Iterator[tuple[int, int, Any]]:
    """``(start, stop, block)`` of each row tile of `X` (see :func:`row_tiles`). Other arrays' tiles are views.
    With `context`, each block also holds up to that many rows before `start` and after `stop` (fewer at the
    edges of `X`): rows ``max(0, start - context):min(H, stop + context)``.

    A memory map's tile is read by a reader thread while the caller works on the one before (reading from disk
    overlaps the arithmetic; numpy and BLAS release the GIL), with the tile after that read ahead
    (:func:`read_ahead`): when its rows are one stretch of the file (BIL, BIP, C order) the thread has the kernel
    read and map its pages and the tile is a read-only view of the map, with no copy (a fresh copy costs a page
    fault per page of new memory besides the copy: measured, half the CPU of an RX pass over a BIL file in the
    page cache); a BSQ tile, spread over the file, is copied in the file's byte order and layout band by band,
    its pages released every few bands (:func:`_copy_rows`; a C-order copy of the strided ``(H, W, B)`` view
    would fault pages in across the file). The reader holds at most one tile besides the caller's; a tile's pages
    are released (:func:`release_pages`) when the caller asks for the next, so keep no view of a tile past that if
    resident memory matters. A memory map's file truncated or rewritten in place since it was opened gives a
    DataFileError before the next tile is read or handed over (:func:`check_file`; was: SIGBUS)."""
    step = rows_per_tile(tuple(X.shape), tile_bytes)
    starts = range(0, X.shape[0], step)
    height = X.shape[0]
    view, X = (X, X.base) if isinstance(X, CubeView) else (None, X)  # a view's tiles: its map's, then applied

    def span(start: int) -> tuple[int, int]:  # the rows read for the tile at `start`, its context included
        return max(0, start - context), min(start + step + context, height)

    if _mapped(X) is None:
        for start in starts:
            block = X[slice(*span(start))]
            yield start, min(start + step, height), block if view is None else view.apply(block)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="had-tiles") as reader:
        pending = reader.submit(_read_rows, X, *span(0))
        for start in starts:
            stop = min(start + step, height)
            block = signals.result(pending)  # a Ctrl-C or SIGTERM raised outside the wait's lock
            if stop < height:
                pending = reader.submit(_read_rows, X, *span(stop))
            check_file(X)  # truncated since the tile was read: a view of the map (BIL, BIP) would SIGBUS
            yield start, stop, block if view is None else view.apply(block)
            del block
            release_pages(X, start, stop)


class MapWriter(Protocol):
    """Where tile scores go: ``write(start, block)`` puts `block` at rows ``start:start+len(block)``."""

    def write(self, start: int, block: np.ndarray) -> None: ...


def score_tiles(scorer: Callable[[np.ndarray], np.ndarray], X: Any, out: MapWriter | None = None, *,
                tile_bytes: int | None = None, progress: Callable[[int], None] | None = None,
                context: int | None = None,
                finish: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> Any:
    """Apply `scorer` to each tile of `X` and write the scores to `out` as they come.

    `out` is a :class:`MapWriter` (:func:`had.maps.open_map`: a ``.npy`` or a GeoTIFF on disk) or None for an
    in-memory float64 array, which is returned. `progress` is called with the rows done after each tile.
    `context`: rows of a cube a pixel's score depends on above and below it (default: the scorer's
    ``context_rows`` attribute, a fitted detector's or an ``OnnxScorer``'s; 0 for pixel-wise ones): each tile is
    scored with that many rows around it and cropped, so a scene-wide network's map equals the whole scene's
    instead of showing a seam at every tile's edge. `finish(scores, rows)`, when given, takes each tile's
    scores and its own rows of `X` (context left out) and returns what is written (masking, counting).
    """
    context = context_of(scorer) if context is None else int(context)
    context = context if getattr(X, "ndim", 0) == 3 else 0
    result = None
    for start, stop, tile in tiles(X, tile_bytes, context):
        block = np.asarray(scorer(tile), dtype=np.float64)
        first = start - max(0, start - context)  # the tile's first row within the block read
        if block.shape[0] != np.shape(tile)[0]:
            raise InvalidInputError(f"the scorer returned {block.shape[0]} rows for a tile of {np.shape(tile)[0]}")
        block = block[first:first + stop - start]
        if finish is not None:
            block = np.asarray(finish(block, tile[first:first + stop - start]), dtype=np.float64)
        if out is None:
            if result is None:
                result = np.empty((X.shape[0],) + block.shape[1:], dtype=np.float64)
            result[start:stop] = block
        else:
            out.write(start, block)
        if progress is not None:
            progress(stop)
    return out if out is not None else result


def context_of(scorer: Any) -> int:
    """The rows of context `scorer` needs around a cube tile: its ``context_rows`` (a fitted detector's, an
    ``OnnxScorer``'s, or one set on a function), or that of the object a bound method belongs to; else 0."""
    for owner in (scorer, getattr(scorer, "__self__", None)):
        rows = getattr(owner, "context_rows", None)
        if rows:
            return int(rows)
    return 0


def map_tiles(fn: Callable[[np.ndarray], np.ndarray], X: Any, tile_bytes: int | None = None) -> np.ndarray:
    """`fn` applied tile by tile, the results stacked in memory (float64): :func:`score_tiles` without a writer."""
    return score_tiles(fn, X, None, tile_bytes=tile_bytes)


def sample_indices(total: int, n: int, seed: int = 0) -> np.ndarray:
    """Sorted flat indices (int64) of a seeded uniform sample of ``min(n, total)`` of `total` pixels (rows),
    without replacement: the same `total`, `n` and `seed` give the same indices."""
    return np.sort(np.random.default_rng(seed).choice(int(total), size=min(int(n), int(total)), replace=False))


class PixelSample:
    """A seeded uniform sample of `n` pixels of a cube of `shape` ``(H, W, B)`` (or rows of ``(N, D)``), gathered
    from the tiles of a pass as they go by (:meth:`add`), so a pass that reads the data anyway draws it.

    `picks` are the flat indices (:func:`sample_indices`; pixel ``i`` is row ``i // W``, column ``i % W``),
    `rows` the sampled rows ``(picks.size, B)`` in the tiles' dtype, in the order of `picks`. Each pixel is
    copied from its tile by fancy indexing: a band-major tile (BIL, BSQ) is not copied whole to pixel order.
    """

    def __init__(self, shape: tuple[int, ...], n: int, seed: int = 0):
        self.width = int(shape[1]) if len(shape) == 3 else 1
        self.total = int(shape[0]) * self.width
        self.seed = int(seed)
        self.picks = sample_indices(self.total, n, seed)
        self.rows: np.ndarray | None = None

    def add(self, start: int, block: np.ndarray) -> None:
        """Copy the sampled pixels of `block`, the tile of rows ``start:start+len(block)`` of the data."""
        first = start * self.width
        lo, hi = np.searchsorted(self.picks, [first, first + block.shape[0] * self.width])
        if self.rows is None:
            self.rows = np.empty((self.picks.size, block.shape[-1]), dtype=block.dtype)
        if hi > lo:
            local = self.picks[lo:hi] - first
            self.rows[lo:hi] = block[local // self.width, local % self.width] if block.ndim == 3 else block[local]

    def record(self) -> dict[str, Any]:
        """What was sampled (:func:`sample_record`)."""
        return sample_record(self.picks, self.total, self.seed)


def sample_record(picks: np.ndarray, total: int, seed: int) -> dict[str, Any]:
    """What a seeded pixel sample was: ``{"pixels", "of", "seed", "sha256"}``, the sha256 of the sorted flat
    indices as int64 little-endian (the same sample gives the same digest); RX's ``threshold_sample_`` and the
    ``fit_sample_`` of pixel-trained detectors."""
    digest = hashlib.sha256(np.asarray(picks).astype("<i8").tobytes()).hexdigest()
    return {"pixels": int(np.size(picks)), "of": int(total), "seed": int(seed), "sha256": digest}


def sample_pixels(X: Any, n: int, seed: int = 0, tile_bytes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A seeded uniform sample of `n` pixels of a cube ``(H, W, B)`` (or rows of ``(N, D)``), without
    replacement, read in one pass of row tiles (pages released as for :func:`row_tiles`).

    Returns the sampled rows ``(min(n, total), B)`` in the data's dtype and their flat indices (sorted, C order:
    pixel ``i`` is row ``i // W``, column ``i % W``; :class:`PixelSample`). Meant for fitting pixel-trained
    detectors on a large scene.
    """
    picks = PixelSample(tuple(X.shape), n, seed).picks
    return gather_pixels(X, picks, tile_bytes), picks


def gather_pixels(X: Any, picks: np.ndarray, tile_bytes: int | None = None) -> np.ndarray:
    """The rows ``(picks.size, B)`` of the pixels `picks` (sorted flat indices, as :class:`PixelSample`'s) of a
    cube ``(H, W, B)`` (or rows of ``(N, D)``), in the data's dtype, read in one pass of row tiles."""
    sample = PixelSample(tuple(X.shape), 0)
    sample.picks = np.asarray(picks)
    for start, _, tile in tiles(X, tile_bytes):
        sample.add(start, np.asarray(tile))
    return sample.rows if sample.rows is not None else np.empty((0, X.shape[-1]), dtype=X.dtype)
