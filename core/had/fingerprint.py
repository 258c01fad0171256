"""The training-data fingerprint (``training_sha256_``, the manifest's ``training_data_sha256``), computed without a copy.

The fingerprint is the sha256 of the data's bytes, row after row along the first axis (table rows, image rows of
a cube, images), each row in the order its bytes lie in memory. For an ordinary (C-ordered) array that is
``hashlib.sha256(X.tobytes())``; for a memory-mapped ENVI file in BIL or BIP order, viewed as ``(H, W, B)``,
it is the sha256 of the file's bytes (``sha256sum line.img`` when the data starts at offset 0). The same
numbers laid out differently in memory (a BSQ file, a Fortran-ordered table) thus have a different fingerprint:
it identifies the bytes that were read, as ``sha256sum`` does.

It is computed tile by tile (:func:`had.tiling.row_tiles`) from views of the data: a tile whose rows are
contiguous in memory (C arrays, BIL and BIP memory maps) is hashed in place (``hashlib`` reads any contiguous
buffer), others through one copy of the tile, so fingerprinting never holds more than one tile's copy.
:class:`RowDigest` is the streaming form, fed with the tiles a one-pass fit reads anyway (RX). :func:`known` lets
fits nested in a fit of the same array (the members of restarts) take its fingerprint instead of hashing it again.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
from typing import Any, Iterator

import numpy as np


def row_axes(block: np.ndarray) -> tuple[int, ...]:
    """The axes after the first, in the order their bytes lie in memory (largest stride first; ties keep axis order)."""
    rest = range(1, block.ndim)
    return tuple(sorted(rest, key=lambda a: (-abs(block.strides[a]) if block.shape[a] > 1 else 0, a)))


class RowDigest:
    """sha256 of blocks of whole rows fed in order (see the module docstring): ``update(block)``, ``hexdigest()``."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()

    def update(self, block: Any) -> "RowDigest":
        block = np.asarray(block)
        if block.ndim < 2:
            self._sha.update(np.ascontiguousarray(block))
            return self
        # the rows one after another in memory (C arrays, BIL, BIP) are hashed in place; others (a BSQ tile, whose
        # rows are interleaved in memory, a Fortran-ordered table) through one copy of the block
        self._sha.update(np.ascontiguousarray(block.transpose((0,) + row_axes(block))))
        return self

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


#: (the array object, its fingerprint) while :func:`known` is active in this context
_KNOWN: contextvars.ContextVar[tuple[Any, str] | None] = contextvars.ContextVar("had_known_fingerprint", default=None)


@contextlib.contextmanager
def known(X: Any, digest: str) -> Iterator[None]:
    """Within the block, :func:`training_sha256` of this very object `X` (``is``, not equality) returns `digest`,
    its fingerprint computed before, without reading `X` again: for fits nested in a fit of `X` (restarts), which
    do not change it."""
    token = _KNOWN.set((X, digest))
    try:
        yield
    finally:
        _KNOWN.reset(token)


def training_sha256(X: Any, tile_bytes: int | None = None) -> str:
    """The fingerprint of `X` (see the module docstring), read tile by tile from views of `X`."""
    from .tiling import row_tiles

    given = _KNOWN.get()
    if given is not None and given[0] is X:
        return given[1]

    from .cubeview import CubeView

    X = X if isinstance(X, (np.ndarray, CubeView)) else np.asarray(X)  # a view: tile by tile, as a memory map
    digest = RowDigest()
    if X.ndim < 2:
        return digest.update(X).hexdigest()
    for start, stop in row_tiles(X, tile_bytes):
        digest.update(X[start:stop])
    return digest.hexdigest()
