"""Small MATLAB files for the reliability tests, and one-byte corruptions of them that crash scipy's MAT 5 reader.

`crash_cases` names the corruptions by structure (the type field of each variable's real-part tag: a bogus type
makes scipy read through a wild pointer); `crashes_scipy` checks in a throwaway process that a case really does
kill a plain ``scipy.io.loadmat`` caller, and `search_crashes` probes a range of offsets in one child process
that forks per candidate (the fuzz mode uses it to find new cases).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import scipy.io

CUBE = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
MAP = np.eye(2, 3)
HEADER = 128  # MAT 5 text header
TAG = 8


def valid_mat() -> bytes:
    """An uncompressed MAT 5 file holding ``data`` (2, 3, 4) and ``map`` (2, 3)."""
    buf = io.BytesIO()
    scipy.io.savemat(buf, {"data": CUBE, "map": MAP}, do_compression=False)
    return buf.getvalue()


def _pad8(n: int) -> int:
    return (n + 7) // 8 * 8


def _real_part_tag(name: str, ndim: int, start: int) -> int:
    """Offset of a numeric variable's real-part tag (matrix tag, flags, dims, name, then the data)."""
    name_len = TAG if len(name) <= 4 else TAG + _pad8(len(name))
    return start + TAG + (TAG + 8) + (TAG + _pad8(4 * ndim)) + name_len


def crash_cases() -> list[tuple[int, int]]:
    """(offset, new byte) pairs: the first and second byte of the data-type field of both variables' data tag."""
    raw = valid_mat()
    first = _real_part_tag("data", 3, HEADER)
    size_first = int.from_bytes(raw[HEADER + 4:HEADER + 8], "little")
    second = _real_part_tag("map", 2, HEADER + TAG + size_first)
    return [(first, 0x00), (first + 1, 0xFF), (second, 0xFF), (second + 1, 0xFF)]


def corrupt(raw: bytes, offset: int, value: int) -> bytes:
    out = bytearray(raw)
    out[offset] = value
    return bytes(out)


def crashes_scipy(path: Path) -> int | None:
    """The signal that kills a plain `scipy.io.loadmat(path)` caller, or None if it survives."""
    code = "import sys, scipy.io\ntry:\n    scipy.io.loadmat(sys.argv[1])\nexcept Exception:\n    pass"
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, timeout=120)
    return -done.returncode if done.returncode < 0 else None


_SEARCH = textwrap.dedent("""
    import io, json, os, sys
    import scipy.io
    raw = open(sys.argv[1], "rb").read()
    candidates = json.loads(sys.argv[2])
    hits = []
    for offset, value in candidates:
        data = bytearray(raw)
        data[offset] = value
        pid = os.fork()
        if pid == 0:
            os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
            try:
                scipy.io.loadmat(io.BytesIO(bytes(data)))
            except BaseException:
                pass
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            hits.append([offset, value, os.WTERMSIG(status)])
    print(json.dumps(hits))
""")


def search_crashes(path: Path, candidates: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """(offset, value, signal) for each candidate corruption of the file at `path` that kills scipy's reader."""
    done = subprocess.run([sys.executable, "-c", _SEARCH, str(path), json.dumps(candidates)],
                          capture_output=True, text=True, timeout=3600, check=True)
    return [tuple(hit) for hit in json.loads(done.stdout)]
