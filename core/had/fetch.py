"""`had data fetch`: download the files the installed data plugins know into the data directory, verified.

Every :class:`~had.datadir.KnownFile` (path under ``HAD_DATA_DIR``, sha256, public address) a data plugin
describes can be fetched:

* a file already there with the right sha256 is left alone (never rewritten, no request made);
* a download goes to ``NAME.part`` beside the target and becomes the target (atomic rename) only once its
  sha256 matches; a broken connection is resumed with an HTTP ``Range`` request, in this run or the next;
* the ``.part`` is locked while a fetch writes it (``flock``, released when the process ends or dies): a second
  fetch of the same file at once is a :class:`DataFileError` saying another process is fetching it, not a
  second writer of one ``.part``; a target that is a folder is said before anything is requested, and a file
  that appears at the target during the download is never written over (the verified ``.part`` stays);
* a file already there with another sha256 is left alone, byte for byte, and the fetch of that file is a
  :class:`ChecksumError` saying so: fetch never wrote it (a download becomes the target only once verified), so
  it is someone's copy, another version or a damaged one, and only its owner may move it away;
* a resumed ``.part`` whose result does not match is downloaded once more from the start, and a
  :class:`ChecksumError` is raised when the source itself serves other bytes (no ``.part`` is left then).

``HAD_DATA_MIRROR`` (or ``mirror=``) fetches ``MIRROR/RELPATH`` instead of each file's public address: an
institute's copy, or a local server in tests. Plain urllib: pooch neither resumes nor lets the plugins keep
their own addresses and paths, and this is the whole of what is needed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import http.client
import os
import shutil
import stat
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from .atomic import check_space, commit_file
from .datadir import KnownFile, data_dir, expected_sha256, inside_data_dir, sha256_of, usable_data_dir
from .errors import (ChecksumError, DataFileError, HadError, PluginError, UnknownNameError, ascii_digits,
                     flat_text, os_error_message, shown)

try:
    import fcntl
except ImportError:  # Windows: no advisory locks
    fcntl = None  # type: ignore[assignment]

MIRROR_ENV = "HAD_DATA_MIRROR"
_CHUNK = 1 << 16
#: a download whose server announces no length stops (as a full disk) when less than this is free on its disk,
#: or less than half what was free as it began, looked at every `_RESERVE_EVERY` bytes (:func:`_reserve`): a
#: server that sends bytes without end does not fill the disk (was: it did, before the checksum could say the
#: file was wrong; a KnownFile records no size to stop at)
_UNANNOUNCED_RESERVE = 1 << 30
_RESERVE_EVERY = 32 << 20
_BROKEN = (http.client.HTTPException, ConnectionError, TimeoutError)
#: a write that fails for want of room: the .part is removed (:func:`_fetch_into`)
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
#: the schemes urllib fetches from
_SCHEMES = ("http", "https", "ftp", "file")


@dataclass(frozen=True)
class Fetched:
    """What fetching one file did: ``present`` (already good), ``downloaded`` or ``resumed``; bytes received."""

    relpath: str
    status: str
    received: int
    path: Path


def url_of(known: KnownFile, mirror: str | None = None) -> str:
    """The address a file is fetched from: ``MIRROR/RELPATH`` when a mirror is given or set, else its own."""
    mirror = _mirror(mirror)
    return f"{mirror.rstrip('/')}/{known.relpath}" if mirror else known.url


def _mirror(mirror: str | None) -> str | None:
    return mirror if mirror is not None else os.environ.get(MIRROR_ENV)


def _address_problem(url: str) -> str | None:
    """Why `url` is no address urllib can fetch (a space or control character, no or another scheme, a port that
    is not a number, a broken IPv6 bracket, no host), or None."""
    local = url.lower().startswith("file:")  # a folder's path may hold spaces (was fetched so before this check)
    if any((c.isspace() and not (local and c == " ")) or not c.isprintable() for c in url):
        return "it holds a space or a control character" + ("" if local else " (write a space as %20)")
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0-65535
    except ValueError as exc:
        return str(exc)
    if parts.scheme.lower() not in _SCHEMES:
        return ("it does not start with http:// or https://" if not parts.scheme else
                f"its scheme {parts.scheme!r} is not http or https")
    if parts.scheme.lower() != "file" and not parts.hostname:
        return "it names no host"
    return None


def _check_address(url: str, known: KnownFile, mirror: str | None) -> None:
    """A DataFileError naming `url` and what to correct when it is no address (:func:`_address_problem`), before
    anything is requested. Was: a traceback (http.client.InvalidURL, ValueError) for a mirror with a trailing
    space, a port ``abc`` or ``http://[::1``, and "check the connection" for one without ``http://``."""
    problem = _address_problem(url)
    if problem is None:
        return
    given = _mirror_named(mirror)
    if given:
        fix = f"check the mirror's address {given}: it should look like https://host/folder"
    else:
        fix = (f"the data plugin's address for {known.relpath} is wrong: report it to its authors, or set {MIRROR_ENV} "
               "to a copy")
    raise DataFileError(f"cannot fetch {known.relpath}: {shown(repr(url))} is not a valid address ({problem}); {fix}")


def _mirror_named(mirror: str | None) -> str | None:
    """The mirror in use as messages name it, ``'URL' (given with --mirror)`` or ``(set by HAD_DATA_MIRROR)``; None
    without one."""
    given = _mirror(mirror)
    if not given:
        return None
    return f"{shown(repr(given))} ({f'set by {MIRROR_ENV}' if mirror is None else 'given with --mirror'})"


def _copy_advice(known: KnownFile, mirror: str | None) -> str:
    """How to get `known` another way after a download failed: with a mirror in use, check that the mirror holds
    it (was: "set HAD_DATA_MIRROR to a copy" while one was set); without, set a mirror."""
    given = _mirror_named(mirror)
    return f"check that the mirror {given} holds {known.relpath}" if given else f"set {MIRROR_ENV} to a copy"


def _get(url: str, offset: int, timeout: float):
    headers = {"User-Agent": "had-data-fetch", **({"Range": f"bytes={offset}-"} if offset else {})}
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def _length(header: str | None) -> int | None:
    """A ``Content-Length`` header's byte count, or None when absent or malformed (``68318 bytes``, ``-1``): then
    the download is verified by its sha256 alone, as without one (was: a ValueError traceback, leaving the
    complete download as an unchecked ``.part``)."""
    text = (header or "").strip()
    return int(text) if ascii_digits(text) else None


def _write_all(fh: BinaryIO, block: bytes) -> None:
    """`block` written whole to the unbuffered `fh` (a raw write may take part of it)."""
    view = memoryview(block)
    while view:
        written = fh.write(view)
        if not written:
            raise OSError(errno.EIO, "the file took no bytes")
        view = view[written:]


def _download(url: str, fh: BinaryIO, part: Path, attempts: int, timeout: float, advice: str) -> int:
    """Bring ``part`` (open as `fh`, :func:`_claimed`) to the full file at `url`, resuming from its size; returns
    the bytes received. A length the server announces that its disk has no room for is a DataFileError before a
    byte is written."""
    received = 0
    kept_free = _reserve(part)  # once: each resumed attempt keeping half of what it found would leave free/2^n
    for _ in range(attempts):
        offset = fh.seek(0, os.SEEK_END)
        try:
            response = _get(url, offset, timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and offset:  # nothing beyond what we hold: let the checksum decide
                return received
            raise DataFileError(f"could not download {url}: HTTP {exc.code} {exc.reason}; check the address "
                                f"or {advice}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DataFileError(f"could not download {url}: {reason}; check the connection or {advice}") from None
        except (http.client.HTTPException, ValueError) as exc:  # no HTTP answer, a redirect to no address
            raise DataFileError(f"could not download {url}: {type(exc).__name__}: {flat_text(exc)[:200]}; "
                                f"check the address or {advice}") from None
        with response:
            resumed = offset and response.status == 206
            expected = _length(response.headers.get("Content-Length"))
            if expected is not None:  # said now, not when the disk is full (the .part is kept as it was)
                try:
                    check_space(part, expected if resumed else expected - offset, "the file")
                except OSError as exc:
                    raise DataFileError(f"cannot download {url} into {part}: {exc.strerror}; free space on that "
                                        "disk (or set HAD_DATA_DIR to a folder on another disk) and fetch "
                                        "again") from None
            got = 0
            reserve = None if expected is not None else kept_free
            if not resumed:
                fh.seek(0)
                fh.truncate()
            try:
                while block := response.read(_CHUNK):
                    if reserve is not None and got % _RESERVE_EVERY < _CHUNK:  # no length: the disk is not filled
                        check_space(part, reserve, "a download of unannounced length (it stops when less is free)")
                    _write_all(fh, block)
                    got += len(block)
            except _BROKEN:
                received += got
                continue  # keep the part and resume it
            received += got
            if expected is None or got >= expected:
                return received
    raise DataFileError(f"the download of {url} broke off {attempts} times; run `had data fetch` again to resume "
                        f"from {part}")


def _reserve(part: Path) -> int | None:
    """The free bytes a download of unannounced length into `part` leaves on its disk: 1 GiB, or half what is
    free now on a disk with less (a small file still fits there: a review); None where the disk does not say."""
    try:
        usage = shutil.disk_usage(part.parent)
    except OSError:
        return None
    return min(_UNANNOUNCED_RESERVE, usage.free // 2) if usage.total else None  # total 0: a pseudo file system


def _present(known: KnownFile, target: Path) -> Fetched | None:
    """``present`` when the verified file is at `target`, None when nothing is; an error for anything else there."""
    if os.path.lexists(target) and not target.is_file():
        raise DataFileError(f"{target} is a folder (or not a file), where `had data fetch` puts {known.relpath}; "
                            "move it away and fetch again (nothing was downloaded)")
    if not target.is_file():
        return None
    digest = sha256_of(target)
    if digest == known.sha256:
        return Fetched(known.relpath, "present", 0, target)
    raise ChecksumError(f"{target} is already there with sha256 {digest[:16]}..., not the known "
                        f"{known.sha256[:16]}... of {known.relpath}: another version or a damaged copy, which "
                        "had leaves as it is; move it away (or delete it) and fetch again")


def _open_part(part: Path) -> int:
    """``part`` opened for reading and writing, made when absent; a DataFileError naming it when it is anything but
    a regular file of its own (a symbolic link, a FIFO, a device, a folder): nothing is written through a link.
    Was: a link followed, and the file it named truncated and rewritten."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    refused = DataFileError(f"{part} is not a regular file of its own (a link, a FIFO, a device or a folder), where `had data "
                            "fetch` keeps a partial download; remove it and fetch again (nothing was written)")
    try:
        fd = os.open(part, flags | getattr(os, "O_NONBLOCK", 0), 0o666)  # a FIFO does not hang (a file ignores it)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
            raise refused from None
        raise
    status = os.fstat(fd)
    if not stat.S_ISREG(status.st_mode) or status.st_nlink > 1:  # a hard link names a file elsewhere too
        os.close(fd)
        raise refused
    return fd


@contextlib.contextmanager
def _claimed(part: Path, target: Path) -> Iterator[BinaryIO]:
    """The ``.part`` of `target`, open and locked by this fetch alone; a DataFileError when another process holds
    it. The lock is taken on the file at that path (one renamed to the target or removed meanwhile is let go)."""
    while True:
        fd = _open_part(part)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataFileError(f"{target} is being fetched by another process (into {part}); let it finish, "
                                "or run `had data fetch` again once it has ended") from None
        except OSError:  # a file system without flock: unlocked, as on Windows
            pass
        try:
            same = os.path.samestat(os.fstat(fd), os.lstat(part))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    with os.fdopen(fd, "r+b", buffering=0) as fh:  # unbuffered: a failed write leaves nothing to flush on close
        yield fh


def fetch_file(known: KnownFile, *, mirror: str | None = None, attempts: int = 5,
               timeout: float = 60.0) -> Fetched:
    """Make ``data_dir()/known.relpath`` the verified file, downloading only what is missing. A record without a
    valid sha256 is the plugin's PluginError before anything is looked at (was: a good file there was called
    damaged, to be moved away, and a download was refused as "another version")."""
    inside_data_dir(known.relpath)
    expected_sha256(known.sha256, known.relpath)
    _check_address(url_of(known, mirror), known, mirror)
    target = usable_data_dir() / known.relpath
    present = _present(known, target)
    if present:
        return present
    made = _folders_to_make(target.parent)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _fetch_into(known, target, mirror, attempts, timeout)
    except BaseException:
        for folder in made:  # a fetch that failed leaves no folders it made (a mistyped HAD_DATA_DIR, say)
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _folders_to_make(folder: Path) -> list[Path]:
    """The folders from `folder` up that do not exist yet, deepest first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def _fetch_into(known: KnownFile, target: Path, mirror: str | None, attempts: int, timeout: float) -> Fetched:
    """:func:`fetch_file` once the target's folder exists."""
    part = target.with_name(target.name + ".part")
    url, advice = url_of(known, mirror), _copy_advice(known, mirror)
    with _claimed(part, target) as fh:
        present = _present(known, target)  # fetched by another process since the look above
        resumed = fh.seek(0, os.SEEK_END) > 0
        if present:
            if not resumed:
                part.unlink()  # the empty .part this fetch made
            return present
        try:
            received = _download(url, fh, part, attempts, timeout, advice)
            digest = sha256_of(part)
            if digest != known.sha256 and resumed:  # the partial file was not a prefix of the real one: start over
                fh.truncate(0)
                received += _download(url, fh, part, attempts, timeout, advice)
                digest = sha256_of(part)
        except OSError as exc:
            if exc.errno not in _FULL:
                _drop_if_empty(fh, part)
                raise
            held = fh.seek(0, os.SEEK_END)
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
            raise _no_room(exc, url, part, held) from None
        except BaseException:
            _drop_if_empty(fh, part)
            raise
        if digest != known.sha256:
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
            raise ChecksumError(f"{url} served a file with sha256 {digest[:16]}..., expected {known.sha256[:16]}... "
                                f"for {known.relpath}; " + (
                                    "the mirror holds another version or a damaged copy: copy the file to the "
                                    "mirror again" if _mirror(mirror) else "the source holds another version or a "
                                    f"damaged copy: try a mirror ({MIRROR_ENV})")
                                + f" or put a verified copy at {target}")
        commit_file(part, target, replace=False)
    return Fetched(known.relpath, "resumed" if resumed else "downloaded", received, target)


def _drop_if_empty(fh: BinaryIO, part: Path) -> None:
    """Remove `part` when nothing was received into it (HTTP 404, no connection): no empty .part is left."""
    if fh.seek(0, os.SEEK_END) == 0:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()


def _no_room(exc: OSError, url: str, part: Path, held: int) -> DataFileError:
    """The line for a download that ran out of room writing `part` (which is removed: a partial file on a full
    disk holds the space the rest needs; a fetch once space is free downloads it again). Was: "No space left on
    device; the disk is full: ..." naming no path, and the .part that filled the disk left behind."""
    from .atomic import size_text

    fix = ("the file is larger than that file system or a limit allows: set HAD_DATA_DIR to a folder on another disk"
           if exc.errno == errno.EFBIG else
           "free space on that disk (or set HAD_DATA_DIR to a folder on another disk)")
    return DataFileError(f"the download of {url} into {part} ran out of room after {size_text(held)} "
                         f"({exc.strerror or os.strerror(exc.errno)}); the partial download was removed: {fix} and "
                         "fetch again")


# ---- which files -----------------------------------------------------------------------------------------
class _ListingError(PluginError):
    """A data plugin's list of files that cannot be used (its ``known_files()`` raised, or gave something that is not
    a KnownFile inside the data directory); `plugin` names it."""

    def __init__(self, message: str, plugin: str):
        super().__init__(message)
        self.plugin = plugin


def _listed(lister: Callable[[], object], who: str, plugin: str) -> list[KnownFile]:
    """What `lister` (a ``known_files``) returns, checked: KnownFile records with paths inside the data directory;
    a :class:`_ListingError` naming `who` otherwise."""
    from .plugins import exit_error

    try:
        files = list(lister())  # type: ignore[call-overload]
    except SystemExit as exc:
        raise _ListingError(str(exit_error(f"the known_files() of {who}", exc)), plugin) from None
    except Exception as exc:
        detail = flat_text(exc)[:200]
        raise _ListingError(f"the known_files() of {who} raised {type(exc).__name__}: {detail}; the files it lists "
                            "cannot be fetched (other plugins' and sources' can): report it to its authors",
                            plugin) from None
    for known in files:
        if not isinstance(known, KnownFile):
            raise _ListingError(f"the known_files() of {who} gave {shown(repr(known))[:200]} ({type(known).__name__}), "
                                "not a had.datadir.KnownFile; the files it lists cannot be fetched (other "
                                "plugins' and sources' can): report it to its authors", plugin)
        try:
            inside_data_dir(known.relpath, who)
        except PluginError as exc:
            raise _ListingError(str(exc), plugin) from None
    return files


def _plugin_listing() -> tuple[dict[str, list[KnownFile]], dict[str, _ListingError]]:
    """Every file each data plugin lists, by plugin name: through its package's top-level ``known_files()`` and
    the ``known_files()`` of each data source it registers, once per path (plugins registering no data source are
    not imported: a detector plugin's package may import torch). Was: the top-level function alone, so for a
    plugin without one the path had's "missing file" message gives (`had data fetch PATH`) was unknown.

    Second: the error of each plugin whose list failed (raised, gave no KnownFile, a path outside the data
    directory), by plugin name; its other lists still count. Was: one plugin's broken ``known_files()`` a
    traceback for every `had data fetch`, of any plugin's files."""
    import importlib

    from .plugins import plugin_manager, plugins, registry

    data_plugins = {info.name for info in plugins() if info.registers.get("datasource")}
    found: dict[str, list[KnownFile]] = {}
    broken: dict[str, _ListingError] = {}
    for name, plugin in plugin_manager().list_name_plugin():
        if name not in data_plugins:
            continue
        package = getattr(plugin, "__name__", "").split(".")[0]
        try:
            lister = getattr(importlib.import_module(package), "known_files", None) if package else None
        except ImportError:
            continue
        if callable(lister):
            try:
                found[name] = _listed(lister, f"the data plugin {name!r}", name)
            except _ListingError as exc:
                broken[name] = exc
    for source, entry in registry()["datasource"].items():
        if entry.plugin in data_plugins:
            files = found.setdefault(entry.plugin, [])
            listed = {known.relpath for known in files}
            try:
                listing = dataset_files(source, strict=True) or ()
            except _ListingError as exc:
                broken.setdefault(entry.plugin, exc)
                continue
            except Exception:  # a source that needs settings or does not load: no files of its own, as listed
                continue
            for known in listing:
                if known.relpath not in listed:
                    files.append(known)
                    listed.add(known.relpath)
    return {name: files for name, files in found.items() if files}, broken


def dataset_files(name: str, *, strict: bool = False) -> list[KnownFile] | None:
    """The files a registered dataset reads (its source's ``known_files()``), or None when it names none: a source
    that needs settings (a path) names no files of its own. Other failures (a broken plugin, a default or preset
    its config refuses, a ``known_files()`` that raises or gives a path outside the data directory: a PluginError
    naming the source and plugin) are None for listings, and raised when `strict` (`had data fetch NAME`: was
    "has no files to fetch: it reads a file you give it" for a source whose own default was invalid)."""
    from .data import from_entry
    from .plugins import registry

    entry = registry()["datasource"].get(name)
    if entry is None:
        return None
    try:
        fields = entry.load().Config.model_fields
        if any(field.is_required() and key not in entry.defaults for key, field in fields.items()):
            return None  # a source that needs settings (a path) names no files of its own
        source = from_entry(entry)
        lister = getattr(source, "known_files", None)
        if not callable(lister):
            return None
        return _listed(lister, f"data source {name!r} of plugin {entry.plugin!r}", entry.plugin)
    except Exception:
        if strict:
            raise
        return None


def files_for(name: str) -> list[KnownFile]:
    """The files `had data fetch NAME` fetches: ``all``, a dataset, a data plugin, or one file's path. A data
    plugin whose package-level list failed is its PluginError when it is `name` and its sources list no files
    either; else the files they list (:func:`fetch_names` says the failed list, as it does for ``all``)."""
    files, problems = _resolve(name)
    if problems and not files:
        raise problems[0]
    return files


def _failed_lists(names) -> dict[str, _ListingError]:
    """The data plugins whose lists failed that `names` take in, by plugin: every one for ``all``, else those
    named."""
    broken = _plugin_listing()[1]
    return {plugin: exc for plugin, exc in broken.items() if "all" in names or plugin in names}


def _resolve(name: str) -> tuple[list[KnownFile], list[_ListingError]]:
    """:func:`files_for`'s files, and the errors of the data plugins whose lists failed that `name` takes in:
    every one for ``all``, the plugin itself when named."""
    by_plugin, broken = _plugin_listing()
    everything = {known.relpath: known for files in by_plugin.values() for known in files}
    if name == "all":
        return list(everything.values()), list(broken.values())
    if name in broken:
        return by_plugin.get(name, []), [broken[name]]
    if name in by_plugin:
        return by_plugin[name], []
    if name in everything:
        return [everything[name]], []
    files = dataset_files(name, strict=True)
    if files:
        return files, []
    from .plugins import plugins, registry

    if name in registry()["datasource"]:  # was "comes with had-plugin-hsi, which is installed but not loaded"
        raise DataFileError(f"{name} has no files to fetch: it reads a file you give it (--data path=FILE) or makes "
                            "its data; `had list datasets` shows which datasets have files")
    if any(info.name == name for info in plugins()):
        raise DataFileError(f"the plugin {name} lists no files to fetch; `had list datasets` shows which datasets "
                            "have files")
    with_files = [n for n in registry()["datasource"] if dataset_files(n)]
    unknown = UnknownNameError("dataset", name, ["all", *by_plugin, *with_files])
    if broken:  # the name may be one of the files a failed plugin could not list
        unknown.args = (f"{unknown.args[0]} (the data plugin(s) {', '.join(map(repr, broken))} could not list "
                        f"their files: `had data fetch {next(iter(broken))}` says why)",)
    raise unknown


def fetch(name: str, *, mirror: str | None = None) -> list[Fetched]:
    """Fetch every file of `name` (see :func:`files_for`), in order; the first failure raises."""
    return [fetch_file(known, mirror=mirror) for known in files_for(name)]


def presence(name: str) -> str:
    """For `had list datasets`: ``present``, ``missing`` (fetchable), ``empty`` (a 0-byte file there: remove it and
    fetch), ``unreadable`` or ``""`` when the dataset names no file."""
    files = dataset_files(name)
    if not files:
        return ""
    try:
        states = [_state_of(data_dir() / known.relpath, known) for known in files]
    except OSError:  # a folder this user cannot read: the listing goes on (was: "Permission denied", exit 2)
        return "unreadable"
    return next((state for state in ("missing", "empty") if state in states), "present")


_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _state_of(path: Path, known: KnownFile) -> str:
    """``missing``, ``empty`` (a 0-byte file where a dataset's file should be: an interrupted copy; was: "present")
    or ``present`` (there and not empty; not verified, which costs a read of the whole file)."""
    if not path.is_file():
        return "missing"
    return "empty" if path.stat().st_size == 0 and known.sha256 != _EMPTY_SHA256 else "present"


class FetchFailed(DataFileError):
    """Files of `had data fetch` could not be fetched (each said as it failed); the others were: the command exits 1
    (a name it does not know, before any download, is exit 2). `failures`: ``(relpath, one line)`` per failed file;
    `fetched`: what the others gave; `said`: the message when only one file was asked for (its own line)."""

    def __init__(self, failures: list[tuple[str, str]], fetched: list[Fetched], folder: Path, said: str | None = None):
        self.failures, self.fetched = failures, fetched
        if said is not None:  # the one file's own message
            super().__init__(said)
            return
        total = len(failures) + len(fetched)
        others = f"; the others are in {folder}" if fetched else ""
        super().__init__(f"{len(failures)} of {total} file(s) could not be fetched "
                         f"({', '.join(rel for rel, _ in failures)}){others}; fix what each line says and run "
                         "`had data fetch` again (files already there are not downloaded again)")


def fetch_names(names, *, mirror: str | None = None, echo=print,
                failed: Callable[[str], None] | None = None) -> list[Fetched]:
    """`had data fetch NAMES`: fetch each name's files, one line per file; unknown names fail before any download.

    One file: its failure is raised as a :class:`FetchFailed` with its own message. Several: each is tried, a
    failure said by `failed` (one line, the error's message) and the next file tried; then :class:`FetchFailed`
    when any failed. Was: the first failure (a mirror missing the first file) stopped the fetch and the other files
    were never tried. A data plugin whose list of files failed (``all``, or the plugin named) counts as one such
    failure: said first, the other files fetched.
    """
    problems = _failed_lists(names)  # a data plugin whose list failed, that a name takes in: said, not fatal
    wanted: dict[str, KnownFile] = {}
    for name in names:
        try:
            files = files_for(name)
        except _ListingError:
            if name not in problems and name != "all":
                raise
            files = []  # a plugin whose list failed (named, or every one for `all`) and lists nothing: said below
        wanted.update((known.relpath, known) for known in files)
    for known in wanted.values():  # a plugin's record without a valid sha256, before any download
        expected_sha256(known.sha256, known.relpath)
        if _mirror(mirror):  # a mistyped mirror is the user's one mistake: one line, exit 2, before any download
            _check_address(url_of(known, mirror), known, mirror)  # (was: one line per file, then exit 1)
    if len(wanted) + len(problems) == 1 and problems:
        raise next(iter(problems.values()))
    done: list[Fetched] = []
    failures: list[tuple[str, str]] = []
    for plugin, exc in problems.items():  # said first; the other plugins' files are fetched all the same
        failures.append((f"the files of plugin {plugin}", str(exc)))
        if failed is not None:
            failed(str(exc))
    for known in wanted.values():
        try:
            result = fetch_file(known, mirror=mirror)
        except (HadError, OSError) as exc:
            line = os_error_message(exc) if isinstance(exc, OSError) else str(exc)
            if len(wanted) + len(problems) == 1:  # its own line is the whole story; exit 1 as for several (was: 2)
                raise FetchFailed([(known.relpath, line)], [], data_dir(), said=line) from None
            failures.append((known.relpath, line))
            if failed is not None:
                failed(line)
            continue
        how = f"{result.status} ({result.received / 1e6:.2f} MB received)" if result.received else result.status
        echo(f"{how:<36} {result.path}")
        done.append(result)
    if failures:
        raise FetchFailed(failures, done, data_dir())
    return done
