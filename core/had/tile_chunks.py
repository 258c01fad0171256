"""Float64 work on a tile in the layout it was read in, in cache-sized chunks, optionally on several threads.

A tile of a BIL or BSQ file (or a Fortran-ordered table) has its features (bands) as a slow axis in memory;
converting it to pixel order would be a transpose of the whole tile. :func:`chunks` instead hands out runs of
about :data:`SCORE_CHUNK` pixels as ``(pixels, D)`` float64 chunks for a pixel-ordered tile and ``(D, pixels)``
chunks for a band-major one (:func:`band_major`), each written by the caller's transform (cast, centre, scale)
into one reused buffer that stays in cache. :func:`in_parts` splits a tile into contiguous runs of rows worked
on by a shared pool of threads (numpy's loops and BLAS release the GIL), each with its own buffer; the parts are
returned in order, so a result never depends on which thread finished first.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, Callable, Iterator

import numpy as np

from . import signals

#: pixels (rows) per BLAS call: float64 buffers of this many pixels stay in cache and are reused
SCORE_CHUNK = 16384


def band_major(block: np.ndarray) -> bool:
    """Whether the features (last axis) of `block` are not its fastest axis in memory: a tile of a BIL or BSQ
    file, a Fortran-ordered table. Such a tile is worked on as ``(features, pixels)`` chunks, which are then
    contiguous runs of the tile (no transpose); a pixel-ordered tile as ``(pixels, features)`` chunks."""
    return block.ndim > 1 and block.shape[-1] > 1 and block.strides[-1] != block.itemsize


def chunks(block: np.ndarray, buffer: np.ndarray, transform) -> Iterator[tuple[int, int, np.ndarray]]:
    """``(first, count, chunk)`` for runs of about :data:`SCORE_CHUNK` pixels of `block` ``(r, ..., D)``, where
    `chunk` is ``transform(part, out)`` written into the flat float64 `buffer`: ``(count, D)`` for a pixel-ordered
    block, ``(D, count)`` for a band-major one (:func:`band_major`); `first` counts pixels from the block's start."""
    per_row = int(np.prod(block.shape[1:-1], dtype=np.int64))
    step = max(1, SCORE_CHUNK // max(per_row, 1))
    bands_first = band_major(block)
    for start in range(0, block.shape[0], step):
        part = block[start:start + step]
        count = part.shape[0] * per_row
        if bands_first:
            view = np.moveaxis(part, -1, 0)
            transform(view, buffer[:view.size].reshape(view.shape))
            yield start * per_row, count, buffer[:view.size].reshape(part.shape[-1], count)
        else:
            transform(part, buffer[:part.size].reshape(part.shape))
            yield start * per_row, count, buffer[:part.size].reshape(count, part.shape[-1])


def chunk_buffer(block: np.ndarray, n_features: int) -> np.ndarray:
    per_row = int(np.prod(block.shape[1:-1], dtype=np.int64))
    rows = max(1, SCORE_CHUNK // max(per_row, 1))
    return np.empty(min(rows, block.shape[0]) * per_row * n_features)


@lru_cache(maxsize=None)
def _pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="had-chunks")


def in_parts(fn: Callable[[np.ndarray, int], Any], block: np.ndarray, threads: int) -> list[Any]:
    """``[fn(part, first_row), ...]`` for `threads` contiguous runs of rows of `block` (in order), run on a
    shared pool of that many threads; one part, on this thread, when `threads` is 1 or the block holds fewer
    than two chunks of pixels per thread."""
    pixels = block.size // max(block.shape[-1], 1)
    asked = max(1, int(threads))
    threads = max(1, min(asked, block.shape[0], pixels // (2 * SCORE_CHUNK)))
    if threads == 1:
        return [fn(block, 0)]
    bounds = np.linspace(0, block.shape[0], threads + 1).astype(int)
    # the pool of the threads asked for, fewer of them busy for a small block: a pool per count used (was) kept
    # every count's idle threads, 250 for threads=32 over blocks of varied sizes (a leak probe, 7 December 2026)
    futures = [_pool(asked).submit(fn, block[lo:hi], int(lo)) for lo, hi in zip(bounds[:-1], bounds[1:])]
    return [signals.result(future) for future in futures]  # an interrupt raised outside the wait's lock
