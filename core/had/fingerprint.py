"""The training-data fingerprint (``training_sha256_``, the manifest's ``training_data_sha256``), computed without a copy.

The fingerprint identifies the bytes of the data, row after row along the first axis (table rows, image rows of
a cube, images), each row in the order its bytes lie in memory: for an ordinary (C-ordered) array the bytes of
``X.tobytes()``; for a memory-mapped ENVI file in BIL or BIP order, viewed as ``(H, W, B)``, the file's bytes
(from the data offset on). A cube laid out otherwise in memory (a BSQ file, whose rows are interleaved) thus has a
different fingerprint from the same numbers in BIL or C order; a table's rows are hashed as its C-ordered copy
whatever its memory order. A fit hashes its data as validated (:func:`had.validation.check_array`): integers as
float64, so the fingerprint of an int16 file is that of its values as float64, not of its bytes;
:func:`of_data` (``had score``'s notes, :mod:`had.score_notes`) hashes data as a fit does.

Its form (:data:`BLOCKS`, the manifest's ``training_data_sha256_scheme``): the byte stream is cut into blocks of
16 MiB (:data:`BLOCK_BYTES`, the last one shorter), each block's sha256 is taken, and the fingerprint is the sha256
of those 32-byte digests one after another. The blocks are hashed in parallel threads (``hashlib`` releases the
GIL), so fitting a large file is not held to one core's sha256 speed (about 1.4 GB/s here: the floor of RX's fit
on a fast disk before 5 December 2026, 11:40 UTC, when the fingerprint was the plain sha256 of the stream, one
serial pass).
Outside ``had`` the same value is::

    python -c "import hashlib,sys;f=open(sys.argv[1],'rb');print(hashlib.sha256(b''.join(hashlib.sha256(b).digest() for b in iter(lambda:f.read(16<<20),b''))).hexdigest())" line.img

(:func:`of_file`). Models saved before then hold the plain sha256 (``sha256sum line.img``; their manifest has no
``training_data_sha256_scheme``, read as :data:`PLAIN`); :func:`training_sha256` computes either form, so a
note comparing the data scored with a model's training data uses the model's own.

It is computed tile by tile (:func:`had.tiling.row_tiles`) from views of the data: a tile whose rows are
contiguous in memory (C arrays, BIL and BIP memory maps) is hashed in place, others through one copy of the tile.
:class:`BlockDigest` is the streaming form, fed with the tiles a one-pass fit reads anyway (RX). :func:`known` lets
fits nested in a fit of the same array (the members of restarts) take its fingerprint instead of hashing it again.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import hashlib
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from . import signals

#: the fingerprint's form since 5 December 2026, 11:40 UTC: sha256 of the sha256 digests of 16 MiB blocks
#: (module docstring)
BLOCKS = "sha256-blocks-16MiB"
#: the form before: sha256 of the whole stream (``sha256sum``), read from manifests without a scheme
PLAIN = "sha256"
SCHEMES = (BLOCKS, PLAIN)
#: the block size of :data:`BLOCKS`
BLOCK_BYTES = 16 * 2**20
#: hashing threads at most (four hash about 5 GB/s, more than most disks read)
MAX_WORKERS = 4


def row_axes(block: np.ndarray) -> tuple[int, ...]:
    """The axes after the first, in the order their bytes lie in memory (largest stride first; ties keep axis order)."""
    rest = range(1, block.ndim)
    return tuple(sorted(rest, key=lambda a: (-abs(block.strides[a]) if block.shape[a] > 1 else 0, a)))


def row_bytes(block: Any) -> np.ndarray:
    """The bytes of a block of whole rows (see the module docstring), as a contiguous uint8 vector: a view where
    the rows lie one after another in memory (C arrays, BIL, BIP), else one copy (a BSQ tile, a Fortran table)."""
    block = np.asarray(block)
    if block.ndim >= 2:
        block = block.transpose((0,) + row_axes(block))
    return np.ascontiguousarray(block).reshape(-1).view(np.uint8)


def _sha256(pieces: list[memoryview]) -> bytes:
    sha = hashlib.sha256()
    for piece in pieces:
        sha.update(piece)
    return sha.digest()


def hash_workers() -> int:
    """Threads that hash blocks: the cores this process may use, at most :data:`MAX_WORKERS`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


class BlockDigest:
    """The :data:`BLOCKS` fingerprint of blocks of whole rows fed in order: ``update(block)``, ``hexdigest()``
    (once); a context manager, which stops its threads on leaving.

    Each full block is hashed by a pool of `workers` threads while the caller goes on; at most ``2 * workers + 2``
    blocks wait at a time (``update`` waits for the oldest beyond that), so no more than that many blocks of views
    (or of copies, for tiles whose rows are not contiguous) are held. A block is a view of the data fed, which must not
    change until :meth:`hexdigest`; :meth:`wait` waits for the blocks handed over so far (RX waits for one tile's
    before it hands over the next, so a tile is hashed while its pages are still mapped). `block_bytes` other
    than :data:`BLOCK_BYTES` is for tests."""

    def __init__(self, workers: int | None = None, block_bytes: int = BLOCK_BYTES):
        self._block = block_bytes
        self._workers = workers or hash_workers()
        self._pending_max = 2 * self._workers + 2
        self._pool: ThreadPoolExecutor | None = None
        self._digests: list[Future | bytes] = []  # the blocks' digests, in order
        self._running: collections.deque[Future] = collections.deque()
        self._open: list[memoryview] = []  # the pieces of the block being filled
        self._open_bytes = 0

    def update(self, block: Any) -> "BlockDigest":
        view = memoryview(row_bytes(block))
        at = 0
        while at < len(view):
            take = min(self._block - self._open_bytes, len(view) - at)
            self._open.append(view[at:at + take])
            self._open_bytes += take
            at += take
            if self._open_bytes == self._block:
                self._hand_over(self._open)
                self._open, self._open_bytes = [], 0
        return self

    def _hand_over(self, pieces: list[memoryview]) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="had-fingerprint")
        while len(self._running) >= self._pending_max:
            signals.result(self._running.popleft())
        future = self._pool.submit(_sha256, pieces)
        self._running.append(future)
        self._digests.append(future)

    def wait(self) -> None:
        """Wait for every block handed over so far (its hashing errors, if any, are raised)."""
        while self._running:
            signals.result(self._running.popleft())

    def hexdigest(self) -> str:
        if self._open:  # the last, shorter block (no data at all: the sha256 of no digests)
            self._digests.append(_sha256(self._open))
            self._open, self._open_bytes = [], 0
        root = hashlib.sha256()
        for digest in self._digests:
            root.update(signals.result(digest) if isinstance(digest, Future) else digest)
        self.close()
        return root.hexdigest()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._running.clear()

    def __enter__(self) -> "BlockDigest":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class PlainDigest:
    """The :data:`PLAIN` fingerprint (models saved before 5 December 2026, 11:40 UTC): sha256 of the rows fed in
    order."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()

    def update(self, block: Any) -> "PlainDigest":
        self._sha.update(row_bytes(block))
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


def training_sha256(X: Any, tile_bytes: int | None = None, scheme: str = BLOCKS, dtype: Any = None) -> str:
    """The fingerprint of `X` (see the module docstring) in `scheme` (:data:`SCHEMES`), read tile by tile from
    views of `X`; with `dtype`, each tile converted to it first (as :class:`had.cubeview.CubeView` converts)."""
    from .cubeview import CubeView
    from .tiling import row_tiles

    if scheme not in SCHEMES:
        raise ValueError(f"unknown fingerprint scheme {scheme!r}; known: {', '.join(SCHEMES)}")
    given = _KNOWN.get()
    if scheme == BLOCKS and given is not None and given[0] is X:
        return given[1]
    X = X if isinstance(X, (np.ndarray, CubeView)) else np.asarray(X)  # a view: tile by tile, as a memory map
    with contextlib.ExitStack() as stack:
        digest = stack.enter_context(BlockDigest()) if scheme == BLOCKS else PlainDigest()
        if X.ndim < 2:
            return digest.update(_as(X, dtype)).hexdigest()
        for start, stop in row_tiles(X, tile_bytes):
            digest.update(_as(X[start:stop], dtype))
            if scheme == BLOCKS:
                digest.wait()  # this tile's blocks hashed (in parallel) before the next tile is read
        return digest.hexdigest()


def _as(block: Any, dtype: Any) -> Any:
    return block if dtype is None else np.asarray(block).astype(dtype, copy=False)  # memory order kept, as a fit's


def of_data(X: Any, scheme: str = BLOCKS) -> str:
    """The fingerprint a fit takes of the data `X` (``Detector.fit``, RX's one-pass fit): integers seen as float64
    a tile at a time, as validation gives them to the fit; other data as they are. Was: ``had score`` hashed an
    int16 ENVI line's (or an integer ``.npy``'s) own bytes, never its model's fingerprint, so scoring LREN on the
    very line it was fitted on said "fitted on another scene", and metrics on an integer scene's training data went
    unsaid."""
    X = X if isinstance(X, np.ndarray) or hasattr(X, "dtype") else np.asarray(X)
    return training_sha256(X, scheme=scheme, dtype=np.float64 if np.issubdtype(X.dtype, np.integer) else None)


def scheme_of(detector: Any) -> str | None:
    """The scheme of `detector`'s ``training_sha256_`` (``training_sha256_scheme_``; :data:`BLOCKS` for a
    detector fitted without setting it), None when it has no fingerprint."""
    if getattr(detector, "training_sha256_", None) is None:
        return None
    return getattr(detector, "training_sha256_scheme_", None) or BLOCKS


def scheme_in(manifest: dict[str, Any]) -> str | None:
    """The scheme of a manifest's ``training_data_sha256``: its ``training_data_sha256_scheme``, :data:`PLAIN`
    where that is absent (models saved before 5 December 2026, 11:40 UTC), None when it has no fingerprint."""
    if not manifest.get("training_data_sha256"):
        return None
    return manifest.get("training_data_sha256_scheme") or PLAIN


def of_file(path: str | Path, offset: int = 0) -> str:
    """The :data:`BLOCKS` fingerprint of a file's bytes from `offset` on: a model fitted on a BIL or BIP file
    holds that of its data (``header offset`` bytes skipped)."""
    with open(path, "rb") as fh, BlockDigest() as digest:
        fh.seek(offset)
        while chunk := fh.read(BLOCK_BYTES):
            digest.update(np.frombuffer(chunk, dtype=np.uint8))
        return digest.hexdigest()
