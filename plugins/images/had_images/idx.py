"""A reader for the IDX format of the MNIST files (optionally gzip-compressed), with numpy and gzip only.

Header: two zero bytes, a type code (0x08 = unsigned byte, ...), the number of dimensions, then one big-endian
uint32 per dimension; then the values, big-endian, C order.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
from had.errors import DataFileError

_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def parse_idx(raw: bytes, what: str = "IDX data") -> np.ndarray:
    """The array held by IDX bytes; DataFileError if the header or the length is wrong."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _TYPES:
        raise DataFileError(f"{what} is not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataFileError(f"{what}: truncated IDX header")
    shape = tuple(int(v) for v in np.frombuffer(raw[4:header], dtype=">u4"))
    dtype = np.dtype(_TYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataFileError(f"{what}: IDX header says {shape} ({expected} bytes), file holds {len(raw) - header}")
    return np.frombuffer(raw[header:], dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file; ``.gz`` files are decompressed."""
    path = Path(path)
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise DataFileError(f"{path} cannot be read as (gzipped) IDX: {exc}") from None
    return parse_idx(raw, str(path))
