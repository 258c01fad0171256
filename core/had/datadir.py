"""Where data files live and how they are verified.

Files are read from ``HAD_DATA_DIR`` (default: the user cache folder, ``~/.cache/had/data`` or
``$XDG_CACHE_HOME/had/data``). A data plugin describes each file it knows with a :class:`KnownFile`: its path
under the data directory, sha256, and public download address. `had` never downloads on its own: a missing file
is a :class:`DataFileError` that says where to put it and where to get it.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat as stat_mod
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import ChecksumError, DataFileError, PluginError, shown

#: sha256 digests by (resolved path, device, inode, size, modification and change times in ns): :func:`sha256_cached`
_digests: dict[tuple[str, int, int, int, int, int], str] = {}


@dataclass(frozen=True)
class KnownFile:
    """A data file a plugin knows: relative path under the data directory, sha256, public source, citation."""

    relpath: str
    sha256: str
    url: str
    citation: str = ""

    def __post_init__(self) -> None:
        # an uppercase hex digest is the same digest (was: compared as text, so the right file was "corrupt: delete
        # it", and every fetch failed for good); a malformed one is refused where it is used (:func:`expected_sha256`),
        # not here, where it would fail the import of the plugin's every source
        if isinstance(self.sha256, str):
            object.__setattr__(self, "sha256", self.sha256.strip().lower())

    def provenance(self) -> dict[str, str]:
        """citation, url, sha256 and relpath, as data sources put them into ``Dataset.meta``."""
        return {"citation": self.citation, "url": self.url, "sha256": self.sha256, "relpath": self.relpath}


def data_dir() -> Path:
    """The data directory: ``HAD_DATA_DIR`` or the user cache folder."""
    env = os.environ.get("HAD_DATA_DIR")
    if env:
        return expand_home(env, f"HAD_DATA_DIR={shown(env)}", "set HAD_DATA_DIR to the folder's full path")
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "had" / "data"


def expand_home(path: str | os.PathLike, said: str | None = None, fix: str = "give its full path") -> Path:
    """`path` with a leading ``~`` or ``~NAME`` expanded; a DataFileError (`said` names the path, by default
    ``path PATH``; `fix` says what to do) when that home folder cannot be found: no such user, or no HOME (was:
    pathlib's RuntimeError "Could not determine home directory.", a traceback, or for HAD_DATA_DIR and a source's
    ``--data path=`` blamed on the plugin reading the data)."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        raise DataFileError(f"{said or f'path {shown(path)}'} starts with a home folder that cannot be found (no such user, or HOME unset); "
                            f"{fix}") from None


def usable_data_dir() -> Path:
    """:func:`data_dir`, or DataFileError when ``HAD_DATA_DIR`` names something that is not a folder (a file,
    say): read or fetched below it, every file would be "missing" with no hint why."""
    folder = data_dir()
    if (folder.exists() or folder.is_symlink()) and not folder.is_dir():
        raise DataFileError(f"the data directory {folder} (HAD_DATA_DIR) is not a folder; set HAD_DATA_DIR to the "
                            "folder that holds the data, or unset it for the user cache folder")
    return folder


def regular_file(path: str | os.PathLike, what: str = "data file") -> Path:
    """`path` as a Path if it is a regular file (or a link to one); DataFileError otherwise.

    Checked before anything opens the path: opening a FIFO blocks until a writer appears, and a device or
    folder is never data.
    """
    path = expand_home(path, f"{what} {shown(path)}")
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise DataFileError(f"{what} {path} does not exist (no such file); check the path") from None
    except OSError as exc:
        raise DataFileError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if stat_mod.S_ISDIR(mode):
        raise DataFileError(f"{what} {path} is a folder; pass a file inside it")
    if not stat_mod.S_ISREG(mode):
        kind = ("a FIFO" if stat_mod.S_ISFIFO(mode) else "a socket" if stat_mod.S_ISSOCK(mode) else "a device")
        raise DataFileError(f"{what} {path} is {kind}, not a regular file; copy the data into a file and pass that")
    return path


def sha256_of(path: Path) -> str:
    with open(path, "rb") as fh:
        return _sha256_stream(fh)


def _sha256_stream(fh) -> str:
    """The sha256 of what is left to read of the open binary file `fh`, read 1 MiB at a time."""
    h = hashlib.sha256()
    for block in iter(lambda: fh.read(1 << 20), b""):
        h.update(block)
    return h.hexdigest()


def sha256_cached(path: Path) -> str:
    """:func:`sha256_of`, computed once per process for a file as it is: kept per path, inode, size, and
    modification and change times (a rewrite with its modification time set back still changes its change time,
    which no tool sets), only when the file did not change while it was read, and only for a file last changed
    :data:`SETTLED_NS` before (the file system's clock for those times may tick every few milliseconds, so a file
    rewritten in place just after it was hashed could keep its times: git's "racy" files). Was: a model's files
    hashed again at each of the three to five reads of its manifest in one ``had score`` (3 + 2N with ``--out``
    and N files: 23 hashes of a 98 MB model for 10 files, 4.2 s against 1.0 s)."""
    with open(path, "rb") as fh:
        key = _stat_key(path, os.fstat(fh.fileno()))
        if (digest := _digests.get(key)) is not None:
            return digest
        began = time.time_ns()
        digest = _sha256_stream(fh)
        settled = began - max(key[4], key[5]) > SETTLED_NS
        if settled and _stat_key(path, os.fstat(fh.fileno())) == key:  # unchanged while read: the file's digest
            _digests[key] = digest
    return digest


#: how long before it is hashed a file must have last changed for :func:`sha256_cached` to keep its digest
SETTLED_NS = 2_000_000_000


def _stat_key(path: Path, st: os.stat_result) -> tuple[str, int, int, int, int, int]:
    return str(Path(path).resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


_SHA256 = re.compile(r"[0-9a-f]{64}")


def expected_sha256(sha256: object, relpath: str | os.PathLike = "") -> str:
    """`sha256` as 64 lowercase hex digits, or a PluginError: a data plugin's record of a file (a
    :class:`KnownFile`) whose digest is empty or malformed, which no copy can match. Was: the user's correct file
    was "corrupt or a different version: delete it and fetch it again", and the fetch failed for good."""
    digest = sha256.strip().lower() if isinstance(sha256, str) else sha256
    if isinstance(digest, str) and _SHA256.fullmatch(digest):
        return digest
    from .data import loading

    who = loading() or "the data plugin that lists it"
    what = f" of {relpath}" if str(relpath) else ""
    raise PluginError(f"the sha256{what} is {sha256!r}, not 64 hex digits, so no copy can be verified (the file is "
                      f"not at fault: keep it); {who} gives it: report it to its authors")


def verify(path: Path, sha256: str) -> None:
    """Raise ChecksumError if the file's sha256 differs (:func:`sha256_cached`: once per process for the file as it
    is); PluginError when `sha256` is not a sha256 (:func:`expected_sha256`), before the file is read or called
    corrupt."""
    sha256 = expected_sha256(sha256, path)
    digest = sha256_cached(path)
    if digest != sha256:
        raise ChecksumError(
            f"{path} has sha256 {digest[:16]}..., expected {sha256[:16]}...; the file is corrupt or a different "
            "version: delete it and fetch it again"
        )


def inside_data_dir(relpath: object, who: str | None = None) -> str:
    """`relpath` when it is a path inside the data directory (relative, no ``..``, not empty), else a PluginError
    naming `who` (the plugin listing it; by default the data source loading) and the path: fetch would write there
    and loads read from there. Was: ``../escape/rows.npz`` or an absolute path was fetched and read outside
    ``HAD_DATA_DIR`` (the data kit asserted it in tests only)."""
    text = os.fspath(relpath) if isinstance(relpath, (str, os.PathLike)) else None
    text = text if isinstance(text, str) else None
    parts = Path(text).parts if text else ()
    if text and "\0" not in text and parts and not Path(text).is_absolute() and ".." not in parts:
        return text
    if who is None:
        from .data import loading

        who = loading() or "the data plugin that lists it"
    raise PluginError(f"{who} lists the data file {shown(repr(relpath))}, a path outside the data directory (absolute, "
                      "empty or with '..'), which had neither fetches nor reads: a data file's path is relative to "
                      "HAD_DATA_DIR; report it to the plugin's authors")


def locate(known: KnownFile, *, check: bool = True) -> Path:
    """The verified local path of a known file, or DataFileError saying where to get it (PluginError first when
    the plugin's record has no valid sha256: fetching or replacing the file would not help)."""
    inside_data_dir(known.relpath)
    if check:
        expected_sha256(known.sha256, known.relpath)
    folder = usable_data_dir()
    path = folder / known.relpath
    if not path.is_file():
        if os.path.lexists(path):  # a folder, a FIFO, a link to nothing where the file belongs: fetching would not help
            kind = ("a link to a missing file" if path.is_symlink() and not path.exists() else
                    "a folder" if path.is_dir() else "not a regular file (a FIFO, a socket or a device)")
            raise DataFileError(f"the data file {path} is {kind}; move it away, then fetch the file with "
                                f"`had data fetch {known.relpath}`")
        name, top = Path(known.relpath).name, Path(known.relpath).parts[0]
        if (folder / name).is_file():  # HAD_DATA_DIR names the plugin's subfolder, or the files lie flat in it
            fix = f"HAD_DATA_DIR={folder.parent}" if folder.name == top else f"move it to {path}"
            raise DataFileError(f"{known.relpath} is not in the data directory {folder}, but {name} is, directly: had "
                                f"looks for {known.relpath} under HAD_DATA_DIR ({fix})")
        where = "HAD_DATA_DIR" if os.environ.get("HAD_DATA_DIR") else "set HAD_DATA_DIR to the folder holding it"
        if os.environ.get("HAD_DATA_DIR") and not os.path.lexists(folder):  # was: the file "not in" it, alone
            where = (f"HAD_DATA_DIR, a folder that does not exist: check its spelling"
                     f"{' (it ends in a blank)' if os.environ['HAD_DATA_DIR'] != os.environ['HAD_DATA_DIR'].rstrip() else ''}")
        raise DataFileError(
            f"{known.relpath} is not in the data directory {folder} ({where}); "
            f"fetch it with `had data fetch {known.relpath}`, or download it from {known.url} to {path}"
        )
    if check:
        try:
            verify(path, known.sha256)
        except OSError as exc:  # an unreadable file: was a bare PermissionError from the Python API
            raise DataFileError(f"cannot read the data file {path}: {exc.strerror or exc}; check its "
                                "permissions") from None
    return path


def available(known: KnownFile) -> bool:
    """Whether the file is present in the data directory (not verified)."""
    return (data_dir() / known.relpath).is_file()
