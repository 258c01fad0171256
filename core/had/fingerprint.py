"""The training-data fingerprint (``training_sha256_``, the manifest's ``training_data_sha256``), computed tile by tile.

The fingerprint identifies the values of the data, whatever their storage: the bytes of the data in C order (row
after row along the first axis: table rows, image rows of a cube ``(H, W, B)``, images), each value little-endian,
i.e. those of ``np.ascontiguousarray(X, dtype=X.dtype.newbyteorder("<")).tobytes()``. The same numbers of the same
shape and dtype thus have one fingerprint as an ENVI BIL, BSQ or BIP file (viewed as ``(H, W, B)``), a C or Fortran
ordered array, a memory map, a little- or big-endian ``.npy``. Was (scheme :data:`MEMORY_BLOCKS`, fits from
5 December 2026, 11:40 UTC, to 7 December 2026): each row hashed in the order its bytes lay in memory, in the file's
byte order, so the same float32 cube as a BIL and as a BIP file, or as a little- and a big-endian ``.npy``, had
different fingerprints, and ``had score`` of a model on its training data stored otherwise said nothing of it.
A fit hashes its data as validated (:func:`had.validation.check_array`): integers as float64, so the fingerprint of
an int16 file is that of its values as float64, not of its bytes; :func:`of_data` (``had score``'s notes,
:mod:`had.score_notes`) hashes data as a fit does.

Its form (:data:`BLOCKS`, the manifest's ``training_data_sha256_scheme``): the byte stream is cut into blocks of
16 MiB (:data:`BLOCK_BYTES`, the last one shorter), each block's sha256 is taken, and the fingerprint is the sha256
of those 32-byte digests one after another. The blocks are hashed in parallel threads (``hashlib`` releases the
GIL), so fitting a large file is not held to one core's sha256 speed (about 1.4 GB/s here: the floor of RX's fit
on a fast disk before 5 December 2026, 11:40 UTC, when the fingerprint was the plain sha256 of the stream, one
serial pass).
Outside ``had``, for a file holding the values in that order (a little-endian BIP ENVI file, from its data offset;
a C-order little-endian float ``.npy`` from its header's end), the same value is::

    python -c "import hashlib,sys;f=open(sys.argv[1],'rb');print(hashlib.sha256(b''.join(hashlib.sha256(b).digest() for b in iter(lambda:f.read(16<<20),b''))).hexdigest())" line.img

(:func:`of_file`). Earlier models keep their own form, named in their manifest: :data:`MEMORY_BLOCKS` (the same
blocks of the rows in memory order, the file's bytes of a BIL or BIP file) and, with no scheme in the manifest,
:data:`PLAIN` (models saved before 5 December 2026, 11:40 UTC: the plain sha256 of the rows in memory order,
``sha256sum line.img``); :func:`training_sha256` computes each, so a note comparing the data scored with a
model's training data uses the model's own form (for such a model, data stored otherwise than its training data
are not told to be them: no note, never a false one).

It is computed tile by tile (:func:`had.tiling.row_tiles`) from views of the data: a tile already in C order and
little-endian (a C array, a BIP memory map or a little-endian ``.npy`` on a little-endian machine) is hashed in
place, others (BIL, BSQ, big-endian, Fortran order) through one copy of the tile, made by the hashing threads a
piece of rows each. A BIL or BSQ tile's copy is a transposition, about as slow as the hash (numpy, about 1 GB/s a
core): measured on a 262 MB float32 cube on 2 loaded cores, the fingerprint of a BIL memory map took 2.0x HEAD's
(which hashed its bytes in place), BSQ 1.2x, big-endian 1.2x, C/BIP 1.0x; RX's fit of the BIL map 1.1x.
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

#: the fingerprint's form fits record (module docstring): sha256 of the sha256 digests of 16 MiB blocks of the
#: values in C order, little-endian. Was, before 7 December 2026, ``"sha256-blocks-16MiB"`` (now
#: :data:`MEMORY_BLOCKS`, which keeps that meaning)
BLOCKS = "sha256-blocks-16MiB-c-le"
#: the form from 5 December 2026, 11:40 UTC: the same blocks of each row's bytes in memory order (the storage's
#: interleave and byte order); still computed for the models that hold it
MEMORY_BLOCKS = "sha256-blocks-16MiB"
#: the form before: sha256 of the whole stream in memory order (``sha256sum``), read from manifests without a scheme
PLAIN = "sha256"
SCHEMES = (BLOCKS, MEMORY_BLOCKS, PLAIN)
#: the block size of :data:`BLOCKS`
BLOCK_BYTES = 16 * 2**20
#: hashing threads at most (four hash about 5 GB/s, more than most disks read)
MAX_WORKERS = 4


def canonical_bytes(block: Any, pool: ThreadPoolExecutor | None = None, parts: int = 1) -> np.ndarray:
    """The bytes of a block of whole rows in the :data:`BLOCKS` form, as a contiguous uint8 vector: its values in
    C order, little-endian; a view where the block is so already, else one copy (BIL, BSQ, big-endian, Fortran),
    made in `parts` pieces of rows by the threads of `pool` when given (numpy copies without the GIL)."""
    block = np.asarray(block)
    dtype = block.dtype.newbyteorder("<")
    if block.ndim < 3 or block.flags.c_contiguous:  # a table, or the byte order alone: one pass
        return np.ascontiguousarray(block, dtype=dtype).reshape(-1).view(np.uint8)
    out = np.empty(block.shape, dtype)
    cuts = np.linspace(0, len(block), min(parts, len(block)) + 1).astype(int)
    pieces = [(out[a:b], block[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
    if pool is None or len(pieces) == 1:
        for piece in pieces:
            _copy_rows(*piece)
    else:
        for done in [pool.submit(_copy_rows, *piece) for piece in pieces]:
            signals.result(done)
    return out.reshape(-1).view(np.uint8)


def _copy_rows(out: np.ndarray, block: np.ndarray) -> None:
    for to, row in zip(out, block):  # a row at a time through its copy in memory order (a BSQ tile: runs of a band
        np.copyto(to, np.copy(row, order="K"))  # instead of a read across every band plane per pixel: 3-5x faster)


def row_axes(block: np.ndarray) -> tuple[int, ...]:
    """The axes after the first, in the order their bytes lie in memory (largest stride first; ties keep axis order)."""
    rest = range(1, block.ndim)
    return tuple(sorted(rest, key=lambda a: (-abs(block.strides[a]) if block.shape[a] > 1 else 0, a)))


def row_bytes(block: Any) -> np.ndarray:
    """The bytes of a block of whole rows in the older forms (:data:`MEMORY_BLOCKS`, :data:`PLAIN`): each row's in
    the order they lie in memory, in their byte order, as a contiguous uint8 vector: a view where the rows lie one
    after another in memory (C arrays, BIL, BIP), else one copy (a BSQ tile, a Fortran table)."""
    block = np.asarray(block)
    if block.ndim >= 2:
        block = block.transpose((0,) + row_axes(block))
    return np.ascontiguousarray(block).reshape(-1).view(np.uint8)


def _fed(before: Future | None, sha: Any, piece: memoryview, last: bool) -> bytes | None:
    """`piece` fed to its block's `sha` after the block's piece `before` (handed over earlier, so running or
    done: the pieces of a block are chained, blocks hashed in parallel); the block's digest after its `last`."""
    if before is not None:
        signals.result(before)  # (in a hashing thread: no signal lands here; the one way had waits on a future)
    sha.update(piece)
    return sha.digest() if last else None


def hash_workers() -> int:
    """Threads that hash blocks: the cores this process may use, at most :data:`MAX_WORKERS`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


class BlockDigest:
    """The :data:`BLOCKS` fingerprint of blocks of whole rows fed in order: ``update(block)``, ``hexdigest()``
    (once); a context manager, which stops its threads on leaving. With ``canonical=False``, that of the older
    :data:`MEMORY_BLOCKS` (each row's bytes in memory order).

    Each piece of a block (a block, or its part in one ``update``) is fed to the block's sha256 by a pool of
    `workers` threads while the caller goes on (a block's pieces one after another, blocks in parallel); at most
    ``2 * workers + 2`` pieces wait at a time (``update`` waits for the oldest beyond that), so no more than that
    many pieces of views (or of copies, for tiles not in the hashed form) are held, and none after :meth:`wait`.
    Was: the pieces of the block being filled were held until it was full, so a copied tile stayed in memory until
    16 MiB more came (a whole BIL scene under 16 MiB). A piece is a view of the data fed, which must not change until
    it is hashed; :meth:`wait` waits for the pieces handed over so far (RX waits for one tile's before it hands over
    the next, so a tile is hashed while its pages are still mapped). `block_bytes` other than :data:`BLOCK_BYTES`
    is for tests."""

    def __init__(self, workers: int | None = None, block_bytes: int = BLOCK_BYTES, canonical: bool = True):
        self._block = block_bytes
        self._canonical = canonical
        self._workers = workers or hash_workers()
        self._pending_max = 2 * self._workers + 2
        self._pool: ThreadPoolExecutor | None = None
        self._digests: list[Future] = []  # the blocks' digests, in order
        self._running: collections.deque[Future] = collections.deque()
        self._open: Any = None  # the sha256 of the block being filled
        self._open_last: Future | None = None  # the task of its last piece so far
        self._open_bytes = 0

    def update(self, block: Any) -> "BlockDigest":
        block = np.asarray(block)
        if self._canonical:  # a tile to transpose (BIL, BSQ) is copied by the threads, a piece of rows each
            pool = self._started() if block.ndim >= 3 and not block.flags.c_contiguous else None
            view = memoryview(canonical_bytes(block, pool, self._workers))
        else:
            view = memoryview(row_bytes(block))
        at = 0
        while at < len(view):
            take = min(self._block - self._open_bytes, len(view) - at)
            self._open_bytes += take
            self._hand_over(view[at:at + take], last=self._open_bytes == self._block)
            at += take
        return self

    def _started(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="had-fingerprint")
        return self._pool

    def _hand_over(self, piece: memoryview, last: bool) -> None:
        while len(self._running) >= self._pending_max:
            signals.result(self._running.popleft())
        if self._open is None:
            self._open = hashlib.sha256()
        self._open_last = self._started().submit(_fed, self._open_last, self._open, piece, last)
        self._running.append(self._open_last)
        if last:
            self._digests.append(self._open_last)
            self._open, self._open_last, self._open_bytes = None, None, 0

    def wait(self) -> None:
        """Wait for every block handed over so far (its hashing errors, if any, are raised)."""
        while self._running:
            signals.result(self._running.popleft())

    def hexdigest(self) -> str:
        if self._open is not None:  # the last, shorter block (no data at all: the sha256 of no digests)
            self._hand_over(memoryview(b""), last=True)
        root = hashlib.sha256()
        for digest in self._digests:
            root.update(signals.result(digest))
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
    order, each in memory order; with ``c_order=True``, in C order (models saved before 1 December 2026, 22:27 UTC,
    b2e9188: ``sha256(np.ascontiguousarray(X).tobytes())``, which differs for data not stored in C order)."""

    def __init__(self, c_order: bool = False) -> None:
        self._sha = hashlib.sha256()
        self._c_order = c_order

    def update(self, block: Any) -> "PlainDigest":
        self._sha.update(np.ascontiguousarray(block).reshape(-1).view(np.uint8) if self._c_order
                         else row_bytes(block))
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


def training_sha256(X: Any, tile_bytes: int | None = None, scheme: str = BLOCKS, dtype: Any = None,
                    c_order: bool = False) -> str:
    """The fingerprint of `X` (see the module docstring) in `scheme` (:data:`SCHEMES`), read tile by tile from
    views of `X`; with `dtype`, each tile converted to it first (as :class:`had.cubeview.CubeView` converts);
    `c_order`: :data:`PLAIN`'s first form (:class:`PlainDigest`)."""
    from .cubeview import CubeView
    from .tiling import row_tiles

    if scheme not in SCHEMES:
        raise ValueError(f"unknown fingerprint scheme {scheme!r}; known: {', '.join(SCHEMES)}")
    given = _KNOWN.get()
    if scheme == BLOCKS and given is not None and given[0] is X:
        return given[1]
    X = X if isinstance(X, (np.ndarray, CubeView)) else np.asarray(X)  # a view: tile by tile, as a memory map
    blocks = scheme != PLAIN
    with contextlib.ExitStack() as stack:
        digest = stack.enter_context(BlockDigest(canonical=scheme == BLOCKS)) if blocks else PlainDigest(c_order)
        if X.ndim < 2:
            return digest.update(_as(X, dtype, scheme)).hexdigest()
        for start, stop in row_tiles(X, tile_bytes):
            digest.update(_as(X[start:stop], dtype, scheme))
            if blocks:
                digest.wait()  # this tile's blocks hashed (in parallel) before the next tile is read
        return digest.hexdigest()


def _as(block: Any, dtype: Any, scheme: str) -> Any:
    if dtype is None:
        return block
    if scheme == BLOCKS:  # straight to the hashed form: one copy, C order, little-endian
        return np.asarray(block).astype(np.dtype(dtype).newbyteorder("<"), order="C", copy=False)
    return np.asarray(block).astype(dtype, copy=False)  # memory order kept, as a fit's


def of_data(X: Any, scheme: str = BLOCKS, c_order: bool = False) -> str:
    """The fingerprint a fit takes of the data `X` (``Detector.fit``, RX's one-pass fit): integers seen as float64
    a tile at a time, as validation gives them to the fit; other data as they are. Was: ``had score`` hashed an
    int16 ENVI line's (or an integer ``.npy``'s) own bytes, never its model's fingerprint, so scoring LREN on the
    very line it was fitted on said "fitted on another scene", and metrics on an integer scene's training data went
    unsaid."""
    X = X if isinstance(X, np.ndarray) or hasattr(X, "dtype") else np.asarray(X)
    return training_sha256(X, scheme=scheme, dtype=np.float64 if np.issubdtype(X.dtype, np.integer) else None,
                           c_order=c_order)


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
    """The :data:`BLOCKS` fingerprint of a file's bytes from `offset` on: a model fitted on a file holding its
    values in C order, little-endian (a BIP ENVI file with ``byte order = 0``, ``header offset`` bytes skipped; a
    C-order little-endian ``.npy`` from its data offset) holds that of its data. Was also a BIL file's: a BIL file's
    values are hashed in C order now (module docstring), so its bytes are not the fingerprint's."""
    with open(path, "rb") as fh, BlockDigest() as digest:
        fh.seek(offset)
        while chunk := fh.read(BLOCK_BYTES):
            digest.update(np.frombuffer(chunk, dtype=np.uint8))
        return digest.hexdigest()
