"""Reading arrays from `.mat` (MATLAB 4/5, v7.3), `.npz` and `.npy` files with clear errors; no file kills the caller.

A `.mat` file whose sha256 the caller vouches for (a data plugin's known file, ``sha256=``) is parsed in this
process. Any other `.mat` file is parsed in a child process (:mod:`had.mat_reader` run as a script, started
fresh, not forked): scipy's MAT 5 reader and the HDF5 library are C code that can crash on a malformed file,
and a crash there must become a :class:`DataFileError` naming the file, not the end of the caller. The child
hands the arrays back as ``.npy`` files in a private temporary folder, loaded with ``allow_pickle=False``.
``HAD_MAT_TIMEOUT`` (seconds, default 600; ``inf``, or more than :data:`MAX_TIMEOUT_S`, for no limit) bounds how
long the child may take.
"""

from __future__ import annotations

import functools
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from . import mat_reader
from .datadir import regular_file, verify
from .errors import ConfigError, DataFileError, os_error_message

DEFAULT_TIMEOUT_S = 600.0
#: a longer HAD_MAT_TIMEOUT is no limit, as ``inf`` (about 11.6 days; the OS's wait takes at most about 24.8)
MAX_TIMEOUT_S = 1e6


def read_arrays(path: str | Path, keys: list[str], *, sha256: str | None = None) -> dict[str, np.ndarray]:
    """The arrays `keys` from a `.mat` or `.npz` file.

    DataFileError for a missing file, a path that is not a regular file, a missing key, a variable that is not a
    numeric array, or a corrupt file (whatever the parser raised, or the signal that killed it). `sha256`: the
    file's known digest; when given (and matching, else ChecksumError) a `.mat` file is parsed in-process. An
    `.npz` file is checked against it too (was: the digest was ignored for `.npz`, and any file read).
    """
    path = regular_file(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        if sha256 is not None:
            verify(path, sha256)
        return _read_npz(path, keys)
    if suffix != ".mat":
        raise DataFileError(f"{path}: unsupported file type {suffix!r}; use .mat (MATLAB) or .npz")
    if sha256 is not None:
        verify(path, sha256)
        arrays, names, unsupported = _in_process(path, keys)
    else:
        arrays, names, unsupported = _in_child("read", path, keys)
    if unsupported:
        raise DataFileError(f"{path}: {unsupported[0]!r} is a MATLAB cell, struct, sparse or object array, not a "
                            "numeric array; save the data as a plain (full) numeric matrix")
    _check_keys(path, keys, arrays, names)
    return arrays


def list_keys(path: str | Path, *, sha256: str | None = None) -> list[str]:
    """The variable names in a `.mat` or `.npz` file (DataFileError as :func:`read_arrays`)."""
    path = regular_file(path)
    if path.suffix.lower() == ".npz":
        if sha256 is not None:
            verify(path, sha256)
        try:
            with np.load(path, allow_pickle=False) as npz:
                return list(npz.files)
        except (Exception, MemoryError) as exc:
            raise _failed(path, exc) from None
    if sha256 is not None:
        verify(path, sha256)
        return _in_process(path, None)[1]
    return _in_child("keys", path, [])[1]


def holds_key(path: str | Path, key: str) -> bool:
    """Whether `path` is a `.mat`/`.npz` file holding the variable `key` (for plugins claiming files; a corrupt
    file raises DataFileError as :func:`list_keys`). The keys are read once per file version."""
    path = Path(path)
    if path.suffix.lower() not in (".mat", ".npz") or not path.is_file():
        return False
    stat = path.stat()
    return key in _keys_of(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=32)
def _keys_of(path: str, mtime_ns: int, size: int) -> frozenset[str]:
    return frozenset(list_keys(path))


def only_array(path: str | Path) -> tuple[str, int] | None:
    """``(name, number of dimensions)`` of the one numeric array a `.mat`/`.npz` file holds, or None (another
    suffix, no such file, several variables, or one that is not a numeric array). Read from the headers alone
    (an untrusted `.mat` in the reader's child process), once per file version: what lets a plugin claim a file
    whose only array has a name of the user's own (``scipy.io.savemat("x.mat", {"paviaU": cube})``)."""
    path = Path(path)
    if path.suffix.lower() not in (".mat", ".npz") or not path.is_file():
        return None
    stat = path.stat()
    return _only_array(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=32)
def _only_array(path: str, mtime_ns: int, size: int) -> tuple[str, int] | None:
    if path.lower().endswith(".npz"):
        ranks, keys = _npz_ranks(Path(path)), list_keys(path)
    else:
        result = _run_child("ranks", Path(path), [])
        ranks, keys = result["ranks"], result["keys"]
    return next(iter(ranks.items())) if len(ranks) == 1 and len(keys) == 1 else None


#: the ``.npy`` format versions numpy writes, and numpy's limit on a header it reads from an untrusted file
#: (``max_header_size``: a longer header is parsed only with ``allow_pickle=True``, which had never passes)
NPY_VERSIONS = ((1, 0), (2, 0), (3, 0))
NPY_HEADER_LIMIT = 10_000
_INTP_MAX = np.iinfo(np.intp).max


class NpyHeaderError(ValueError):
    """A ``.npy`` header had does not read (too long, an unknown version, a shape that is not sizes, a subarray
    dtype): the reason, phrased to follow "is not a .npy array had reads: "."""


def npy_header(stream) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` from the ``.npy`` header at the start of the binary `stream`, without
    reading the data; numpy's ValueError (or EOFError) for what is not one, :class:`NpyHeaderError` for a header
    had does not read. Was: a header over numpy's 10,000-byte limit gave numpy's hint to pass
    ``allow_pickle=True`` (which read_npy took for pickled data), and shapes such as ``(-2, -21)``,
    ``(True, 21)`` or ``(10**23, 0)`` and a subarray dtype passed, to fail later with numpy's words."""
    version = np.lib.format.read_magic(stream)
    if version not in NPY_VERSIONS:
        raise NpyHeaderError(f"its format version {version[0]}.{version[1]} is not one numpy writes (1.0, 2.0 or "
                             "3.0): the file is damaged, or not a .npy")
    size_field = stream.read(2 if version == (1, 0) else 4)
    length = int.from_bytes(size_field, "little")
    if len(size_field) in (2, 4) and length > NPY_HEADER_LIMIT:  # told before numpy reads it (short: numpy's EOF)
        raise NpyHeaderError(f"its header is {length:,} bytes, over numpy's {NPY_HEADER_LIMIT:,}-byte limit for "
                             "untrusted files")
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read_header(io.BytesIO(size_field + stream.read(length)))
    _check_npy_shape(shape)
    if dtype.subdtype is not None:  # ('<f8', (21,)): numpy.load would give another shape than the header's
        raise NpyHeaderError(f"its dtype is a subarray ({'x'.join(map(str, dtype.shape))} values of "
                             f"{dtype.subdtype[0]} each), not a plain number type")
    return shape, fortran, dtype


def _check_npy_shape(shape: tuple) -> None:
    """NpyHeaderError unless `shape` is sizes numpy can hold (numpy's own check takes True for 1 and lets
    negative sizes through, to fail later in a reshape)."""
    if not all(type(d) is int and d >= 0 for d in shape):  # noqa: E721 (a bool is an int to isinstance)
        raise NpyHeaderError(f"its shape {_shape_text(shape)} is not a list of sizes (whole numbers, 0 or more)")
    if any(d > _INTP_MAX for d in shape):
        raise NpyHeaderError(f"its shape {_shape_text(shape)} has a size above numpy's largest ({_INTP_MAX:,})")
    try:
        np.empty((0,) * len(shape))  # numpy's own limit on the number of dimensions (64; 32 before numpy 2)
    except ValueError:
        raise NpyHeaderError(f"its shape has {len(shape)} dimensions, more than numpy holds") from None


def _shape_text(shape: tuple) -> str:
    """`shape` as a message shows it: cut at 80 characters (a header may hold 10,000 of them)."""
    text = repr(shape)
    return text if len(text) <= 80 else text[:77] + "..."


def _npz_ranks(path: Path) -> dict[str, int]:
    """The number of dimensions of each array of an `.npz` file, from its members' `.npy` headers."""
    import zipfile

    ranks = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with archive.open(info) as member:
                    shape, _, dtype = npy_header(member)
                    if dtype.kind != "O":
                        ranks[info.filename[:-4]] = len(shape)
    except (Exception, MemoryError) as exc:
        raise _failed(path, exc) from None
    return ranks


def read_npy(path: str | Path) -> np.ndarray:
    """The array in a `.npy` file (never unpickled); DataFileError for anything else, an empty file included."""
    path = regular_file(path)
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic and not magic.startswith((b"\x93NUMPY", b"PK\x03\x04")):  # np.load would call it pickled data
        raise DataFileError(f"{path} is not a .npy file (no NumPy header); save the array with numpy.save")
    if magic.startswith(b"\x93NUMPY"):
        with open(path, "rb") as fh:
            _check_npy_header(path, "its array", fh, path.stat().st_size, "numpy.save")
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise DataFileError(f"{path} holds pickled (object) data, which had never loads; "
                                "save a plain numeric array with numpy.save") from None
        raise _corrupt(path, str(exc)) from None
    except EOFError:
        raise DataFileError(f"{path} is empty or truncated; re-create it with numpy.save") from None
    except (Exception, MemoryError) as exc:
        raise _failed(path, exc) from None
    if not isinstance(array, np.ndarray):  # an .npz archive under a .npy name
        array.close()
        raise DataFileError(f"{path} is an .npz archive, not a .npy array; rename it to .npz")
    return array


def _read_npz(path: Path, keys: list[str]) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            available = list(npz.files)
            names = set(npz.zip.namelist())
            for k in keys:
                member = k if k in names else f"{k}.npy"  # as NpzFile names its members
                if k in npz.files:  # a member that is not a .npy array is read as raw bytes
                    with npz.zip.open(member) as stream:
                        _check_npy_header(path, repr(k), stream, npz.zip.getinfo(member).file_size, "numpy.savez")
            arrays = {k: np.asarray(npz[k]) for k in keys if k in npz.files}
    except DataFileError:
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise DataFileError(f"{path} holds pickled (object) arrays, which had never loads; "
                                "save plain numeric arrays with numpy.savez") from None
        raise _corrupt(path, str(exc)) from None
    except EOFError:
        raise DataFileError(f"{path} is empty or truncated; re-create it with numpy.savez") from None
    except (Exception, MemoryError) as exc:  # BadZipFile, zlib.error, EOFError, encrypted-zip RuntimeError...
        raise _failed(path, exc) from None
    _check_keys(path, keys, arrays, available)
    return arrays


def _check_npy_header(path: Path, what: str, stream, size: int, writer: str) -> None:
    """DataFileError when the ``.npy`` header at the start of `stream` (`size` bytes in all) declares more data
    than follows it (a truncated file) or than the memory available holds, told before numpy allocates it all,
    or when had does not read the header (:class:`NpyHeaderError`: was numpy's allow_pickle hint, which read_npy
    took for pickled data). A header that cannot be parsed is left to ``numpy.load`` to report."""
    try:
        shape, _, dtype = npy_header(stream)
    except NpyHeaderError as exc:
        where = "" if path.suffix.lower() == ".npy" else f"the array {what}: "
        raise DataFileError(f"{path} is not a {path.suffix} file had reads: {where}{exc}; save it again with "
                            f"{writer}") from None
    except Exception:
        return
    if dtype.hasobject:  # pickled: numpy.load refuses it with its own message
        return
    needed = dtype.itemsize
    for d in shape:
        needed *= int(d)
    held = size - stream.tell()
    if needed > held:
        raise DataFileError(f"{path} is truncated: the header of {what} declares "
                            f"{'x'.join(str(int(d)) for d in shape) or 'a scalar'} values of {dtype} ({needed:,} "
                            f"bytes) but {max(held, 0):,} bytes follow it; re-create it with {writer}")
    try:
        mat_reader._fits(what, shape, dtype.itemsize, mat_reader.available_memory(),
                         mat_reader.READ_WHOLE_FOR.format(path.suffix))
    except mat_reader.TooLarge as exc:
        raise DataFileError(f"{path}: {exc}") from None


def _check_keys(path: Path, keys: list[str], arrays: dict, available: list[str]) -> None:
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise DataFileError(
            f"{path} has no key {missing[0]!r}; its keys are {sorted(available)}: pass the right key name"
        )


def _corrupt(path: Path, detail: str) -> DataFileError:
    detail = " ".join(detail.split())[:200]
    return DataFileError(f"{path} is corrupt or not a {path.suffix} file ({detail}); check or re-create the file")


def _no_memory(path: Path, detail: str) -> DataFileError:
    detail = " ".join(detail.split())[:200]
    return DataFileError(f"{path} could not be read into memory ({detail}); "
                         + mat_reader.READ_WHOLE_FOR.format(path.suffix))


def _failed(path: Path, exc: BaseException) -> DataFileError:
    """What a parser's exception says about `path`: short of memory, not readable (permissions, I/O: said as
    such; was "corrupt ... re-create the file"), else corrupt. A `.npz` that is no zip archive is said to be one
    (was numpy's "contains pickled (object) data ... load it unsafely using allow_pickle", advice had never
    takes)."""
    if isinstance(exc, MemoryError):
        return _no_memory(path, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, OSError) and exc.errno is not None:
        return DataFileError(f"{path} cannot be read ({os_error_message(exc)})")
    if path.suffix.lower() == ".npz" and "pickled" in str(exc):
        return _corrupt(path, "not a zip archive, as a .npz file is")
    return _corrupt(path, f"{type(exc).__name__}: {exc}")


def _timeout() -> float | None:
    """``HAD_MAT_TIMEOUT``: seconds the reader child may take (unset or empty: 600), None for ``inf`` (no limit).

    Anything but a positive number or ``inf`` is a ConfigError naming the variable. Was: ``inf`` and ``nan``
    ended in a traceback, ``0`` (or a negative number) stopped every child at once and called the file "probably
    corrupt", and a typo (``abc``, ``10s``) silently meant 600; more than :data:`MAX_TIMEOUT_S` is no limit too
    (was: an OverflowError traceback from the wait for ``1e10``, or anything past the OS's 24.8 days).
    """
    text = os.environ.get("HAD_MAT_TIMEOUT", "").strip()
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not seconds > 0:  # nan, 0, negative, not a number
        raise ConfigError(f"HAD_MAT_TIMEOUT={text!r} is not a timeout; set it to a positive number of seconds "
                          "(default 600) or to inf for no limit")
    return None if seconds > MAX_TIMEOUT_S else seconds


def _in_process(path: Path, keys: list[str] | None) -> tuple[dict[str, np.ndarray], list[str], list[str]]:
    """Parse a trusted `.mat` file here; a parser exception (any type) is a corrupt file."""
    try:
        return mat_reader.read(path, keys)
    except (mat_reader.MissingH5py, mat_reader.TooLarge, mat_reader.OutsideFile) as exc:
        raise DataFileError(f"{path}: {exc}") from None
    except MemoryError as exc:
        raise _no_memory(path, f"MemoryError: {exc}") from None
    except Exception as exc:
        raise _corrupt(path, f"{type(exc).__name__}: {exc}") from None


def _in_child(mode: str, path: Path, keys: list[str]) -> tuple[dict[str, np.ndarray], list[str], list[str]]:
    """Run :mod:`had.mat_reader` on `path` in a fresh interpreter; its crash becomes a DataFileError."""
    result = _run_child(mode, path, keys)
    return result.pop("arrays"), result["keys"], result["unsupported"]


def _run_child(mode: str, path: Path, keys: list[str]) -> dict:
    """The child's ``result.json`` for `mode` (:mod:`had.mat_reader`), with the arrays it saved under
    ``"arrays"``; a crash, a timeout or a parser error is a DataFileError."""
    with tempfile.TemporaryDirectory(prefix="had-mat-") as tmp:
        command = [sys.executable, "-I", mat_reader.__file__, mode, str(path.resolve()), tmp, *keys]
        timeout = _timeout()
        try:
            done = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise DataFileError(f"reading {path} took longer than {timeout:g}s and was stopped; the file is "
                                "probably corrupt (or raise HAD_MAT_TIMEOUT)") from None
        except OSError as exc:
            raise DataFileError(f"cannot start a reader process for {path}: {exc}") from None
        if done.returncode < 0:
            name = signal.Signals(-done.returncode).name if -done.returncode in signal.valid_signals() else "?"
            raise DataFileError(f"{path} is corrupt: the MATLAB reader crashed on it (signal {name}); "
                                "check or re-create the file")
        result_file = Path(tmp) / "result.json"
        if done.returncode != 0 or not result_file.is_file():
            tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
            raise DataFileError(f"the MATLAB reader failed on {path} (exit {done.returncode}): {tail[0][:200]}")
        result = json.loads(result_file.read_text())
        if "error" in result:
            if result.get("kind") in ("missing_h5py", "too_large", "outside"):
                raise DataFileError(f"{path}: {result['error']}")
            if result.get("kind") == "memory":
                raise _no_memory(path, result["error"])
            raise _corrupt(path, result["error"])
        result["arrays"] = {key: np.load(Path(tmp) / f"{index}.npy", allow_pickle=False)
                            for index, key in enumerate(keys) if key in result["saved"]}
        return result

