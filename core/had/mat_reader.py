"""Parse MATLAB files into numpy arrays: MAT 4/5 through scipy, v7.3 (HDF5) through h5py.

This module imports nothing from `had`: :mod:`had.matfile` imports it to read trusted files in-process, and
runs it as a script (``python -I mat_reader.py``) to read untrusted ones in a child process, where a crash of
a C reader on a malformed file (scipy's MAT 5 reader can segfault or raise SIGBUS) cannot take the caller down.

Script protocol: ``mat_reader.py MODE PATH OUTDIR [KEY ...]`` with MODE ``keys``, ``ranks`` or ``read``. The
child writes ``OUTDIR/result.json`` (``{"keys": [...], "saved": [...], "unsupported": [...]}``, for ``ranks``
also ``"ranks": {name: number of dimensions}``, or ``{"error": ..., "kind": ...}``) and, for ``read``, each
requested key present as ``OUTDIR/<index>.npy`` (never pickled).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class MissingH5py(Exception):
    """h5py is needed for a MATLAB v7.3 file and is not installed."""


class Unsupported(Exception):
    """A variable that is not a plain numeric array (cell, struct, object reference)."""


class TooLarge(Exception):
    """A requested variable holds more bytes than the machine has memory available (a .mat file is read whole)."""


class OutsideFile(Exception):
    """A v7.3 variable whose data lies outside the file: HDF5 external storage, an external link (or a soft link
    through one), a virtual dataset. Reading it would read whatever file it names (``/etc/passwd``, a FIFO)."""


#: bytes per value of the MATLAB classes ``scipy.io.whosmat`` names (complex values take twice: not told there)
MAT_ITEMSIZE = {"double": 8, "single": 4, "int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "int32": 4, "uint32": 4,
                "int64": 8, "uint64": 8, "logical": 1, "char": 2}
#: how a too-large array of a file of the suffix given is refused; the stored scene formats had reads tile by tile
READ_WHOLE_FOR = "a {} file is read whole: save a scene this large as ENVI or GeoTIFF, which had reads tile by tile"
READ_WHOLE = READ_WHOLE_FOR.format(".mat")
#: what a v7.3 variable stored outside its file is told
OUTSIDE = "had reads only data inside the file; save it with the data inside (MATLAB save -v7.3 does)"
#: soft links followed on the way to one variable at most (the HDF5 library's own default limit)
MAX_SOFT_LINKS = 16


def available_memory() -> int | None:
    """Bytes of memory this process may still take now: the least of the machine's ``MemAvailable``, its control
    group's limit less what the group holds (page cache it could drop counted free: a container's
    ``docker run --memory``, read where the group is mounted at ``/sys/fs/cgroup``, as in a container; a group
    below the mount's root, such as a host's systemd service, is not looked for) and its address-space limit less its size (``ulimit -v``,
    ``prlimit --as``); None where none can be told (not Linux). Was: ``MemAvailable`` alone, so a fit under a
    container's or a shell's limit was not refused before the work but ended in numpy's "Unable to allocate" (a
    probe of 7 December 2026: bs3lnet under ``prlimit --as=5e9``) or the out-of-memory killer."""
    found = [n for n in (_meminfo_available(), cgroup_headroom(), address_space_headroom()) if n is not None]
    return min(found) if found else None


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _read_number(path: str) -> int | None:
    try:
        with open(path) as fh:
            text = fh.read().strip()
        return None if text == "max" else int(text)
    except (OSError, ValueError):
        return None


def _stat_sum(path: str, keys: tuple[str, ...], less: tuple[str, ...] = ()) -> int:
    """The sum of `keys`' values in a cgroup ``memory.stat`` file less those of `less` (0 for those missing)."""
    total = 0
    try:
        with open(path) as fh:
            for line in fh:
                key, _, value = line.partition(" ")
                if key in keys or key in less:
                    total += int(value) if key in keys else -int(value)
    except (OSError, ValueError):
        pass
    return max(0, total)


#: limits above this are "no limit" (cgroup v1 writes 2**63 rounded down to a page)
NO_LIMIT = 2**62


def cgroup_headroom(root: str = "/sys/fs/cgroup", own: str = "/proc/self/cgroup") -> int | None:
    """Bytes the memory control groups of this process may still take: the least, over its own group (named in
    `own`, found under `root`, the mount: a container sees its own as the root) and each group above it, of its
    limit less its usage, plus its page cache (``file`` less ``shmem`` in cgroup v2's memory.stat: tmpfs and shared
    memory are counted in ``file`` and cannot be dropped without swap, a review; the active and inactive file pages
    in v1's), which the kernel drops before refusing; None without a limit. Was: the group at `root` alone, so a
    limit on the process's own group below it (a systemd service's ``MemoryMax``, a job scheduler's group) was
    never found."""
    v2_path, v1_path = _own_groups(own)
    found = [h for d in _levels(root, v2_path) if (h := _headroom(d, "memory.max", "memory.current", ("file",),
                                                                   ("shmem",))) is not None]
    if not found:  # cgroup v1 (or a hybrid mount, whose unified tree holds no memory controller)
        found = [h for d in _levels(f"{root}/memory", v1_path)
                 if (h := _headroom(d, "memory.limit_in_bytes", "memory.usage_in_bytes",
                                    ("total_inactive_file", "total_active_file"))) is not None]
    return min(found) if found else None


def _headroom(folder: str, limit_file: str, usage_file: str, cache: tuple[str, ...],
              shared: tuple[str, ...] = ()) -> int | None:
    """One group's limit less its usage plus its droppable page cache; None without a limit (or unreadable)."""
    limit = _read_number(f"{folder}/{limit_file}")
    if limit is None or limit >= NO_LIMIT:
        return None
    used = _read_number(f"{folder}/{usage_file}")
    return None if used is None else max(0, limit - used + _stat_sum(f"{folder}/memory.stat", cache, less=shared))


def _own_groups(own: str) -> tuple[str, str]:
    """This process's cgroup v2 path and its v1 memory controller's path, from `own` (``/proc/self/cgroup``:
    ``0::/system.slice/x.service``, ``4:memory:/job/42``); "/" for what it does not name."""
    v2, v1 = "/", "/"
    try:
        with open(own) as fh:
            for line in fh:
                number, controllers, path = line.rstrip("\n").split(":", 2)
                if number == "0" and not controllers:
                    v2 = path or "/"
                elif "memory" in controllers.split(","):
                    v1 = path or "/"
    except (OSError, ValueError):
        pass
    return v2, v1


def _levels(mount: str, path: str) -> list[str]:
    """The folders of the group at `path` under `mount` and of each group above it, up to `mount` itself; `mount`
    alone where the path is not there (a container whose mount is its own group, named by the host's path)."""
    parts = [part for part in path.split("/") if part and part not in (".", "..")]
    if not parts or not os.path.isdir(os.path.join(mount, *parts)):
        return [mount]
    return [os.path.join(mount, *parts[:n]) for n in range(len(parts), -1, -1)]


def address_space_limit() -> int | None:
    """This process's soft address-space limit (``RLIMIT_AS``, ``ulimit -v``) in bytes; None without one, or off
    Unix."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    except (ImportError, AttributeError, OSError, ValueError):
        return None
    return None if soft == resource.RLIM_INFINITY else soft


def address_space_headroom() -> int | None:
    """Bytes of address space this process may still map under its soft ``RLIMIT_AS``; None without one."""
    soft = address_space_limit()
    if soft is None:
        return None
    try:
        with open("/proc/self/status") as fh:
            size = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
    except (OSError, ValueError, StopIteration):
        return None
    return max(0, soft - size)


def size_text(n: int) -> str:
    """`n` bytes in the largest binary unit it reaches (``12.5 KiB``, ``1.0 GiB``), or as bytes below 1 KiB (here,
    where the isolated reader can say sizes too: :mod:`had.atomic` and :mod:`had.memory` import it)."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale or (scale > 2**10 and round(n / scale, 1) >= 1):  # 2**20 - 1: "1.0 MiB", not "1,024.0 KiB"
            return f"{n / scale:,.1f} {unit}"
    return f"{int(n)} byte{'' if int(n) == 1 else 's'}"


def _fits(what: str, shape: tuple[int, ...], itemsize: int, limit: int | None, advice: str = READ_WHOLE) -> None:
    """TooLarge when `what` (a variable's quoted name; `shape`: MATLAB's, or a ``.npy`` header's) would not fit
    in `limit` bytes, said before any of it is read: the reader would otherwise be killed by the kernel (said as a
    crash) or fail half way. `advice`: what to do instead (:data:`READ_WHOLE_FOR` the file's suffix)."""
    nbytes = itemsize
    for d in shape:
        nbytes *= int(d)
    if limit is not None and nbytes > limit:
        raise TooLarge(f"{what} is {'x'.join(str(int(d)) for d in shape)} values of {itemsize} bytes "
                       f"({size_text(nbytes)}), more than the {size_text(limit)} of memory available; "
                       + advice)


def is_hdf5(path: str | Path) -> bool:
    """Whether the file is HDF5 (MATLAB v7.3 writes a 512-byte text header, then the HDF5 signature)."""
    with open(path, "rb") as fh:
        head = fh.read(520)
    return head[:8] == HDF5_SIGNATURE or head[512:520] == HDF5_SIGNATURE


def _h5py():
    try:
        import h5py
    except ImportError:
        raise MissingH5py("reading MATLAB v7.3 (HDF5) files needs h5py: pip install 'had[mat73]'") from None
    return h5py


def _hdf5_array(dataset) -> np.ndarray:
    """One MATLAB v7.3 variable as MATLAB sees it (HDF5 stores MATLAB's column-major arrays transposed)."""
    matlab_class = dataset.attrs.get("MATLAB_class", b"")
    matlab_class = matlab_class.decode() if isinstance(matlab_class, bytes) else str(matlab_class)
    if int(dataset.attrs.get("MATLAB_empty", 0)):
        return np.zeros(tuple(int(d) for d in np.ravel(dataset[()])))
    if matlab_class in ("cell", "struct") or dataset.dtype.hasobject:  # references (never followed), strings
        raise Unsupported(f"a MATLAB {matlab_class or 'reference'} array")
    array = dataset[()]
    if array.dtype.names and {"real", "imag"} <= set(array.dtype.names):
        array = array["real"] + 1j * array["imag"]
    elif array.dtype.names:
        raise Unsupported("a compound (record) array")
    if matlab_class == "logical":
        array = array.astype(bool)
    return np.asarray(array).T


def _node(h5py, fh, key: str):
    """The object `key` names in the open file `fh`, reached through hard links and soft links inside the file
    only: OutsideFile for an external link (or any other link kind) on the way, or a dataset whose data lies
    outside the file (external storage, virtual), told before any of its bytes is read. ``fh[key]`` would open
    the file an external link names."""
    node, hops, parts = fh["/"], 0, [part for part in key.split("/") if part not in ("", ".")]
    at = "/"
    while parts:
        if not isinstance(node, h5py.Group):
            raise KeyError(f"{at!r} is not a group")
        part = parts.pop(0)
        link = node.get(part, getlink=True)
        if link is None:
            raise KeyError(f"no {part!r} in {at!r}")
        if isinstance(link, h5py.SoftLink):
            hops += 1
            if hops > MAX_SOFT_LINKS:
                raise KeyError(f"more than {MAX_SOFT_LINKS} soft links on the way to {key!r}")
            target = link.path if link.path.startswith("/") else at.rstrip("/") + "/" + link.path
            node, at = fh["/"], "/"
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        if not isinstance(link, h5py.HardLink):  # h5py.ExternalLink, or a user-defined link class
            where = (f"an external link to {link.filename!r}" if isinstance(link, h5py.ExternalLink)
                     else f"a link of HDF5's {type(link).__name__} kind")
            raise OutsideFile(f"{key!r} is stored outside the file ({where}): " + OUTSIDE)
        node, at = node[part], at.rstrip("/") + "/" + part
    if isinstance(node, h5py.Dataset) and (node.external or node.is_virtual):
        where = (f"HDF5 external storage in {', '.join(repr(name) for name, *_ in node.external)}" if node.external
                 else "a virtual dataset")
        raise OutsideFile(f"{key!r} is stored outside the file ({where}): " + OUTSIDE)
    return node


def _hdf5_names(fh) -> list[str]:
    """The variables of an open MATLAB v7.3 file: its HDF5 names but MATLAB's own (``#refs#``, ``#subsystem#``)."""
    return [name for name in fh.keys() if not name.startswith("#")]


def read(path: str | Path, keys: list[str] | None) -> tuple[dict[str, np.ndarray], list[str], list[str]]:
    """(arrays for the requested `keys` present, every variable name, names that are not numeric arrays).

    `keys` None reads no arrays (names only). Exceptions from the parsers propagate: the caller maps them.
    """
    unsupported: list[str] = []
    arrays: dict[str, np.ndarray] = {}
    limit = available_memory() if keys else None
    if is_hdf5(path):
        h5py = _h5py()
        with h5py.File(path, "r") as fh:
            names = _hdf5_names(fh)
            for key in keys or []:
                if key not in names:
                    continue
                node = _node(h5py, fh, key)
                try:
                    if not isinstance(node, h5py.Dataset):
                        raise Unsupported("a MATLAB struct")
                    _fits(repr(key), tuple(reversed(node.shape)), node.dtype.itemsize, limit)
                    arrays[key] = _hdf5_array(node)
                except Unsupported:
                    unsupported.append(key)
        return arrays, names, unsupported
    import scipy.io

    listed = scipy.io.whosmat(path)
    if keys is None:
        return {}, [name for name, _, _ in listed], []
    for name, shape, kind in listed:  # loadmat reads every variable (a truncated tail is then noticed)
        if kind in MAT_ITEMSIZE:
            _fits(repr(name), shape, MAT_ITEMSIZE[kind], limit)
    content = scipy.io.loadmat(path)
    names = [name for name, _, _ in listed]
    for key in keys:
        if key in content:
            value = np.asarray(content[key])
            if value.dtype.kind == "O" or value.dtype.names:
                unsupported.append(key)
            else:
                arrays[key] = value
    return arrays, names, unsupported


def ranks(path: str | Path) -> dict[str, int]:
    """The number of dimensions of each numeric variable, read from the file's headers (no array is read):
    what tells a scene (3) from a table (2) when a file holds one array under a name of its own."""
    if is_hdf5(path):
        h5py = _h5py()
        with h5py.File(path, "r") as fh:
            nodes = {name: _node(h5py, fh, name) for name in _hdf5_names(fh)}
            return {name: len(node.shape) for name, node in nodes.items() if isinstance(node, h5py.Dataset)}
    import scipy.io

    return {name: len(shape) for name, shape, kind in scipy.io.whosmat(path) if kind not in ("cell", "struct", "object")}


def _child(mode: str, path: str, outdir: str, keys: list[str]) -> int:
    out = Path(outdir)
    try:
        arrays, names, unsupported = read(path, keys if mode == "read" else None)
        saved = []
        for index, key in enumerate(keys):
            if key in arrays:
                np.save(out / f"{index}.npy", arrays[key], allow_pickle=False)
                saved.append(key)
        result = {"keys": names, "saved": saved, "unsupported": unsupported}
        if mode == "ranks":
            result["ranks"] = ranks(path)
    except MissingH5py as exc:
        result = {"error": str(exc), "kind": "missing_h5py"}
    except TooLarge as exc:
        result = {"error": str(exc), "kind": "too_large"}
    except OutsideFile as exc:
        result = {"error": str(exc), "kind": "outside"}
    except MemoryError as exc:
        result = {"error": f"MemoryError: {exc}"[:300], "kind": "memory"}
    except BaseException as exc:  # any parser failure on a malformed file, MemoryError included
        result = {"error": f"{type(exc).__name__}: {exc}"[:500], "kind": "corrupt"}
    (out / "result.json").write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]))
