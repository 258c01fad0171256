"""Atomic writes: a file or folder appears whole or not at all (crash, SIGKILL, Ctrl-C, two writers at once).

Files and folders are created with mode 0o666 / 0o777 less the umask, as any program's files are (no
0600/0700 from ``mkstemp``/``mkdtemp``).

A folder (:func:`directory`) is written into ``.NAME.<8 hex>.tmp/NAME`` beside it, fsynced, then swapped in:

* on Linux, one ``renameat2(RENAME_EXCHANGE)``: the path holds the old or the new folder at every instant;
* elsewhere (or on a file system without it), two renames through ``.NAME.<8 hex>.old/NAME``: a kill between them
  leaves the path missing and the whole old folder under ``.old``, which the next :func:`directory` or
  :func:`recover` on that path puts back.

Each ``.tmp`` and ``.old`` folder had makes holds a marker file (:data:`MARKER`), written first and removed last:
recovery removes only folders holding it, so a user's folder that happens to be named ``.NAME.<8 chars>.tmp``
is never touched. A folder that replaces another keeps its permissions (:func:`_keep_modes`).

Writers take an exclusive ``flock`` on the parent folder to start and to commit, readers (:func:`reading`) a
shared one, so concurrent saves to one path end with one whole folder and a reader never sees half a swap.
A writer also holds a lock on its ``.tmp`` folder while it fills it; leftovers whose writer died (no lock)
are removed by the next writer or :func:`recover` (had's own only: the marker above). Files (:func:`write_bytes`,
and :mod:`had.maps`' maps) work the same way: the temporary file is locked while written, and a stale one is
removed by the next writer of the same path (:func:`stale_files`). A file is put in place by :func:`commit_file`,
which never writes over a file that appeared while it was written (another program's, a user's, another had's):
only one that was there when had first looked (:func:`check_writable`, else the writer's start) is replaced, as
``had score --overwrite`` asks.

A temporary name longer than the file system allows (NAME_MAX, 255 bytes: a target name of 242 bytes or more)
keeps the beginning of NAME and adds ``~`` and 8 hex digits of its hash (:func:`temp_stem`), so the clean-up still
finds it and never another name's.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import hashlib
import os
import re
import secrets
import shutil
import stat
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from .errors import HadError
from .mat_reader import size_text  # defined where the isolated .mat reader can use it too

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; renames stay atomic
    fcntl = None  # type: ignore[assignment]


def _renameat2():
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        func = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # glibc < 2.28, musl
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return func


_RENAMEAT2 = _renameat2()
_AT_FDCWD, _RENAME_NOREPLACE, _RENAME_EXCHANGE = -100, 1, 2
#: errors of renameat2 and link that mean "not on this OS or file system" (FAT has no hard links: EPERM)
_UNSUPPORTED = (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP)


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step; False where the OS or file system cannot."""
    if _RENAMEAT2 is None:
        return False
    import ctypes

    if _RENAMEAT2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in _UNSUPPORTED:
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def _rename_new(src: Path, dst: Path) -> bool:
    """Rename `src` to `dst` only where nothing is at `dst`, in one step (``renameat2(RENAME_NOREPLACE)``, else
    a hard link then the unlink of `src`): ``FileExistsError`` when something is; False where the OS or file
    system can do neither."""
    if _RENAMEAT2 is not None:
        import ctypes

        if _RENAMEAT2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE) == 0:
            return True
        err = ctypes.get_errno()
        if err == errno.EEXIST:
            raise FileExistsError(err, os.strerror(err), str(dst))
        if err not in _UNSUPPORTED:
            raise OSError(err, os.strerror(err), str(src), None, str(dst))
    try:
        os.link(src, dst)
    except FileExistsError:
        raise
    except (OSError, NotImplementedError) as exc:
        if isinstance(exc, NotImplementedError) or exc.errno in (*_UNSUPPORTED, errno.EPERM, errno.EMLINK):
            return False
        raise
    os.unlink(src)
    return True


# ---- names, locks, fsync ---------------------------------------------------------------------------------
def name_max(folder: Path) -> int:
    """The longest file name `folder`'s file system takes, in bytes (255 where it cannot say)."""
    try:
        most = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # a folder not made yet, Windows
        return 255
    return most if most and most > 0 else 255


def check_name(path: Path) -> None:
    """``OSError(ENAMETOOLONG)`` naming `path` when its own name is longer than its file system allows: said
    before the work, not by the rename after it."""
    if len(os.fsencode(path.name)) > name_max(path.parent):
        raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG), str(path))


def temp_stem(path: Path, suffix: str) -> str:
    """The NAME of the temporary names ``.NAME.<8 hex>SUFFIX`` beside `path`: its name, or where that would not
    fit the file system's NAME_MAX, the name's beginning (whole characters: a GeoTIFF's path stays UTF-8 for
    GDAL) and ``~`` with 8 hex digits of its sha256, so no other name's temporary files match it."""
    name = path.name
    room = name_max(path.parent) - len(os.fsencode(f"..{'0' * 8}{suffix}"))
    if len(os.fsencode(name)) <= room:
        return name
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:8]
    while len(os.fsencode(name)) > room - 9:
        name = name[:-1]
    return f"{name}~{digest}"


def temp_path(path: Path, suffix: str) -> Path:
    """A new temporary name ``.NAME.<8 hex>SUFFIX`` beside `path` (:func:`temp_stem`); `path`'s own name too long
    for its file system is an error here (:func:`check_name`)."""
    check_name(path)
    return path.parent / f".{temp_stem(path, suffix)}.{secrets.token_hex(4)}{suffix}"


def _sibling(path: Path, kind: str) -> Path:
    return temp_path(path, f".{kind}")


def leftovers(path: Path) -> list[Path]:
    """The ``.NAME.<8 chars>.tmp`` and ``.old`` folders beside `path` (exact pattern: never another name's).

    8 hex digits here; 8 of ``mkdtemp``'s ``[a-z0-9_]`` in had 0.1's leftovers, which are recovered too.
    """
    pattern = re.compile(rf"\.{re.escape(temp_stem(path, '.tmp'))}\.[a-z0-9_]{{8}}\.(tmp|old)")
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    return [path.parent / n for n in sorted(names) if pattern.fullmatch(n) and (path.parent / n).is_dir()]


@contextlib.contextmanager
def locked(folder: Path, shared: bool = False) -> Iterator[None]:
    """flock on `folder` (exclusive, or shared); no lock where the folder cannot be opened or locked."""
    fd = None
    if fcntl is not None:
        with contextlib.suppress(OSError):
            fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)


def hold(path: Path) -> int | None:
    """Open and lock a writer's own temporary folder or file: the lock says "in use" until the fd closes or the
    process dies (:func:`in_use`)."""
    if fcntl is None:
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # a file system without flock: unlocked, as on Windows
        os.close(fd)
        return None
    return fd


def in_use(path: Path) -> bool:
    """Whether a live writer holds (:func:`hold`) the temporary folder or file at `path`."""
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def fsync(path: Path, folder: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if folder else 0)
    try:
        fd = os.open(path, flags)
    except OSError:  # Windows cannot open folders
        return
    try:
        with contextlib.suppress(OSError):  # some file systems refuse fsync on folders
            os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for here, _dirs, files in os.walk(root):
        for name in files:
            fsync(Path(here) / name)
        fsync(Path(here), folder=True)


# ---- recovery ----------------------------------------------------------------------------------------------
#: the file had writes into each ``.tmp`` and ``.old`` folder it makes, first (:func:`_make_own`): what tells a
#: leftover of had's own from a user's folder that happens to be named like one (``.model.userdata.tmp``)
MARKER = "had-unfinished-write"
_MARKER_TEXT = b"made by had while it replaced the folder beside it; removed when that is done (had.atomic)\n"


def _make_own(folder: Path) -> None:
    """Make the temporary folder `folder`, private (0o700: what it holds on the way is nobody else's until it is put in
    place, :func:`_keep_modes`), with the :data:`MARKER` file in it."""
    os.mkdir(folder, 0o700)
    fd = os.open(folder / MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, _MARKER_TEXT)
    finally:
        os.close(fd)


def _is_own(folder: Path) -> bool:
    """Whether `folder` is one had made (:func:`_make_own`): a real folder (no link) holding the :data:`MARKER`."""
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return False
        # no link followed, no FIFO waited on: a plain file of had's text
        fd = os.open(folder / MARKER, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    try:
        # empty: a kill between the marker's creation and its write (a review: such a folder stayed for good)
        return stat.S_ISREG(os.fstat(fd).st_mode) and os.read(fd, len(_MARKER_TEXT) + 1) in (_MARKER_TEXT, b"")
    except OSError:
        return False
    finally:
        os.close(fd)


def _remove_own(folder: Path) -> None:
    """Remove had's own temporary `folder` (:func:`_is_own`): its content first and its marker last, so a kill on the
    way leaves a folder still marked (or an empty one), which the next recovery removes."""
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(folder):
            entry = folder / name
            if name == MARKER:
                continue
            if entry.is_dir() and not entry.is_symlink():
                with contextlib.suppress(OSError):  # a model its owner made read-only (555): had's to remove now
                    os.chmod(entry, stat.S_IMODE(os.lstat(entry).st_mode) | stat.S_IRWXU)
                if not name.startswith(".gone-"):  # renamed first: a kill part way through never leaves a partly
                    gone = folder / f".gone-{name}"  # removed .old/NAME for recovery to put back (a review)
                    os.replace(entry, gone)
                    entry = gone
                shutil.rmtree(entry)
            else:
                os.unlink(entry)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(folder / MARKER)
        os.rmdir(folder)


def _restorable(old: Path, path: Path) -> Path | None:
    """What of the ``.old`` leftover `old` is the whole folder that was at `path` (a kill between the two renames), or
    None: ``old/NAME`` in had's own (:func:`_commit`) and in had 0.1's; the folder itself in those of had before 7
    December 2026, 09:30 UTC, unmarked, where it holds a had artifact (a manifest.json): a user's folder named like
    one is never moved."""
    nested = old / path.name
    try:
        if _is_own(old) or os.listdir(old) == [path.name]:
            return nested if nested.is_dir() and not nested.is_symlink() else None
    except OSError:  # not ours to read: not ours to move
        return None
    return old if os.path.isfile(old / "manifest.json") else None


def _recover_locked(path: Path) -> None:
    """Put back a whole ``.old`` where `path` is missing; remove every other leftover that had made
    (:func:`_is_own`) and no writer holds.

    A folder named like a leftover but not marked as had's is kept, with what it holds: only an empty one is
    removed (what had before 7 December 2026, 09:30 UTC, left before its first file). Was: every
    ``.NAME.<8 chars>.tmp``/``.old`` folder removed, a user's ``.model.userdata.tmp`` with its files by a read-only
    ``had score model``."""
    found = leftovers(path)
    olds = [p for p in found if p.name.endswith(".old")]
    if olds and not (path.exists() or path.is_symlink()):
        # a kill between the two renames: the .old folder holds the whole previous content
        whole = [(old, inner) for old in olds if (inner := _restorable(old, path)) is not None]
        if whole:
            _, inner = max(whole, key=lambda pair: pair[1].stat().st_mtime)
            os.replace(inner, path)
            fsync(path.parent, folder=True)
    for stale in olds + [p for p in found if p.name.endswith(".tmp") and not in_use(p)]:
        with contextlib.suppress(OSError):
            if _is_own(stale):
                _remove_own(stale)
            else:
                os.rmdir(stale)  # empty only: a folder had did not make keeps whatever it holds


def recover(path: str | Path) -> None:
    """Clean up after a writer that was killed (see the module doc); best effort where the folder is read-only.

    Readers call it too (:func:`reading`): a kill between the two renames leaves `path` missing until its ``.old``
    is put back. It removes only had's own leftovers (:func:`_recover_locked`)."""
    path = Path(os.path.abspath(path))
    if not leftovers(path):
        return
    with contextlib.suppress(OSError), locked(path.parent):
        _recover_locked(path)


@contextlib.contextmanager
def reading(path: str | Path) -> Iterator[Path]:
    """Read the folder at `path` with no writer swapping it meanwhile (a shared lock on its parent)."""
    path = Path(os.path.abspath(path))
    recover(path)
    with locked(path.parent, shared=True):
        yield path


# ---- writing -----------------------------------------------------------------------------------------------
def new_or_empty(path: Path) -> None:
    """The default target check of :func:`directory`: nothing there, or an empty folder."""
    if path.is_symlink() or (path.exists() and (not path.is_dir() or any(path.iterdir()))):
        raise HadError(f"{path} already exists and is not an empty folder; choose another path or remove it")


def _keep_modes(new: Path, old: Path) -> None:
    """Give the folder `new`, about to replace the folder `old`, `old`'s permissions: the folder's mode, each file's
    and subfolder's mode where `old` has one of that name and kind, and elsewhere the umask's mode less what `old`
    denied its group and others. Was: the umask's (``chmod 700 model; chmod 600 model/*``, then ``had export
    model``: the folder 755 and the weights 644, readable by all)."""
    try:
        top = stat.S_IMODE(os.stat(old).st_mode)
    except OSError:
        return
    allowed = top | stat.S_IRWXU  # a new file is no more open to others than the folder it replaces was
    for here, dirs, files in os.walk(new):
        for name in dirs + files:
            entry = Path(here) / name
            was = old / entry.relative_to(new)
            try:
                now, before = os.lstat(entry), os.lstat(was) if os.path.lexists(was) else None
                if stat.S_ISLNK(now.st_mode):
                    continue
                if before is not None and stat.S_IFMT(before.st_mode) == stat.S_IFMT(now.st_mode):
                    os.chmod(entry, stat.S_IMODE(before.st_mode))
                else:
                    os.chmod(entry, stat.S_IMODE(now.st_mode) & allowed)
            except OSError:
                continue
    # the folder's own mode is given once it is in place (:func:`_commit`): moved between two parents, a folder
    # needs write permission on itself (its ``..`` entry), so a 555 one given here could not be moved (a review)


def _commit(tmp: Path, path: Path) -> None:
    """Put the filled `tmp` (``.NAME.<hex>.tmp/NAME``, :func:`directory`) at `path` (see the module doc); the caller
    holds the parent's lock. The replaced folder ends inside a folder marked as had's (:func:`_make_own`), so a kill
    before it is removed leaves a leftover the next recovery can tell for had's."""
    if not (path.exists() or path.is_symlink()):
        os.replace(tmp, path)
        fsync(path.parent, folder=True)
        return
    top = None
    if path.is_dir() and not path.is_symlink():
        _keep_modes(tmp, path)
        top = stat.S_IMODE(os.stat(path).st_mode)
        if not top & stat.S_IWUSR:  # a model its owner made read-only (555): moved out of its parent below, a
            with contextlib.suppress(OSError):  # folder needs write permission on itself (its ``..``); it is
                os.chmod(path, top | stat.S_IWUSR)  # removed once replaced (a review: "Permission denied")
    if exchange(tmp, path):
        fsync(path.parent, folder=True)
        _done(path, top, tmp.parent)  # it holds the old content now
    else:
        old = _sibling(path, "old")
        _make_own(old)
        os.replace(path, old / path.name)
        try:
            os.replace(tmp, path)
        except BaseException:
            os.replace(old / path.name, path)
            if top is not None:
                with contextlib.suppress(OSError):
                    os.chmod(path, top)
            raise
        fsync(path.parent, folder=True)
        _done(path, top, old)


def _done(path: Path, top: int | None, leftover: Path) -> None:
    """After the swap: the new folder given the old one's mode (`top`, :func:`_keep_modes`), had's `leftover` (the
    old content) removed. Neither may fail the save, which is done (a review: an error removing the old content
    was reported as "cannot write the artifact ... unchanged" with the new model in place); a leftover not
    removed is marked, so the next recovery removes it."""
    with contextlib.suppress(OSError):
        if top is not None:
            os.chmod(path, top)
    with contextlib.suppress(OSError):
        _remove_own(leftover)


@contextlib.contextmanager
def directory(path: str | Path, check: Callable[[Path], None] = new_or_empty) -> Iterator[Path]:
    """Yield a new temporary folder beside `path`; when the block ends it replaces `path` in one step.

    `check(path)` raises when `path` may not be replaced; it runs before the folder is made and again, under
    the lock, just before the swap. On any exception (KeyboardInterrupt included) the temporary folder is
    deleted and `path` is left as it was. The folder yielded is ``.NAME.<8 hex>.tmp/NAME``: the outer folder, made
    first, holds had's :data:`MARKER` (so recovery removes it, and never a user's folder named like it). A folder
    replacing another keeps its permissions (:func:`_keep_modes`); a new one has the umask's.
    """
    path = Path(os.path.abspath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    own, hold_fd = None, None
    try:  # made inside: an interrupt just after the mkdir removes it too (was: a hidden .tmp folder left)
        with locked(path.parent):
            _recover_locked(path)
            check(path)
            own = _sibling(path, "tmp")
            _make_own(own)
            hold_fd = hold(own)
            tmp = own / path.name
            os.mkdir(tmp)
        yield tmp
        _fsync_tree(tmp)
        with locked(path.parent):
            check(path)
            _commit(tmp, path)
        with contextlib.suppress(OSError):
            _remove_own(own)
    except BaseException:
        if own is not None:
            with contextlib.suppress(OSError):
                _remove_own(own)
        raise
    finally:
        if hold_fd is not None:
            os.close(hold_fd)


def file_in_the_way(path: str | Path) -> Path | None:
    """The nearest existing folder above `path` when it is a file (``-o notes.txt/map.tif``): nothing can be
    created there, and the caller says so before any work; None when the path can be created."""
    for parent in Path(path).parents:
        if os.path.lexists(parent):
            return None if parent.is_dir() else parent
    return None


def temp_files(path: Path, suffix: str = ".tmp") -> list[Path]:
    """The temporary files ``.NAME.<8 chars>SUFFIX`` beside `path`, whether a writer holds them or not."""
    pattern = re.compile(rf"\.{re.escape(temp_stem(path, suffix))}\.[a-z0-9_]{{8}}{re.escape(suffix)}")
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    return [path.parent / n for n in sorted(names) if pattern.fullmatch(n) and (path.parent / n).is_file()]


def stale_files(path: Path, suffix: str = ".tmp") -> list[Path]:
    """Temporary files ``.NAME.<8 chars>SUFFIX`` beside `path` whose writer died: no live writer holds them
    (:func:`hold`). Removed by the next writer of `path` (:func:`write_bytes`, :mod:`had.maps`)."""
    return [tmp for tmp in temp_files(path, suffix) if not in_use(tmp)]


def remove_stale_files(path: Path, suffix: str = ".tmp") -> None:
    """Remove :func:`stale_files` (best effort); the caller holds the parent's lock (:func:`locked`)."""
    for stale in stale_files(path, suffix):
        with contextlib.suppress(OSError):
            os.unlink(stale)


#: free bytes below which a write that failed without an errno is taken for a full disk (:func:`disk_full`)
FULL_BYTES = 16 * 2**20


def check_space(path: str | Path, needed: int, what: str = "the file") -> None:
    """An ``OSError(ENOSPC)`` naming the sizes when the folder of `path` has fewer than `needed` bytes free: said
    before a flight line's map is scored for an hour, not when its last tile fails to fit."""
    try:
        usage = shutil.disk_usage(Path(path).parent)
    except OSError:  # a file system that does not say: the writes will tell
        return
    if usage.total == 0:  # a pseudo file system (/proc, /sys) has no size to run out of: the write says what is wrong
        return
    free = usage.free
    if needed > free:
        raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)}: {what} needs {size_text(needed)} and "
                      f"{size_text(free)} {'is' if free < 1024 else 'are'} free", str(path))


def check_writable(path: str | Path, folder: bool = False) -> None:
    """The ``OSError`` a write of `path` would meet, now: a file made and removed at once in its folder (`folder`:
    in `path` itself), or in the nearest folder above that exists when it is to be created; the error names
    `path`. Said before long work: ``had score``'s outputs (``-o s.csv --png /sys/q.png`` no longer writes the
    scores and then fails on the quicklook) and ``had bench``'s results folder. A file's name too long for its
    file system is said here too (:func:`check_name`), and whether the file is there is noted (:func:`may_replace`)."""
    where = Path(path) if folder else Path(path).parent
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        with tempfile.TemporaryFile(dir=where):
            pass
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    if not folder:
        check_name(Path(path))
        _looked(Path(path))


#: the files that were not there when had first looked (:func:`check_writable`, before the work): a file that is
#: there when the result is put in place appeared meanwhile, and is never replaced (:func:`commit_file`)
_ABSENT: set[str] = set()


def _looked(path: Path) -> None:
    key = os.path.abspath(path)
    if os.path.lexists(path):
        _ABSENT.discard(key)
    else:
        _ABSENT.add(key)


def absent_when_looked(paths) -> tuple[str, ...]:
    """Those of `paths` that were not there when this process looked (:func:`check_writable`): what a job handed
    to another process carries, so that its writer replaces no file that appeared since (:func:`note_absent`)."""
    return tuple(str(path) for path in paths if path and os.path.abspath(path) in _ABSENT)


def note_absent(paths) -> None:
    """Record `paths` as not there when had looked (in another process: :func:`absent_when_looked`), whatever
    is there now: a file at one of them when its result is put in place is kept (:func:`commit_file`)."""
    _ABSENT.update(os.path.abspath(path) for path in paths)


def may_replace(path: Path) -> bool:
    """Whether a writer starting now may replace what is at `path` when it is done: only a file that was there when
    had first looked (:func:`check_writable`), or, where it did not look, now; what the caller checked before
    (``had score`` refuses an existing output without ``--overwrite``)."""
    key = os.path.abspath(path)
    return key not in _ABSENT and os.path.lexists(path)


class AppearedError(HadError, FileExistsError):
    """A file or folder that appeared at an output's path while had wrote it (:func:`commit_file`): left as it is."""


class VanishedError(HadError, FileNotFoundError):
    """The folder of an output removed (by another program, a person) while had wrote the output into it."""


def vanished(tmp: Path | None, path: Path) -> VanishedError | None:
    """A :class:`VanishedError` naming the folder of `path` when it is gone, or `tmp` (the temporary file written
    for `path`) when it was removed; None when both are there. What a failed write or rename of `path` is said as,
    not as the hidden temporary name's ``FileNotFoundError`` (``had score ... --out del1/maps`` with ``del1``
    removed mid-map)."""
    folder = Path(path).parent
    if not folder.is_dir():
        return VanishedError(f"the output folder {folder} disappeared while had wrote {Path(path).name} (another "
                             "program or a person removed it); no output was kept: run again, or choose another "
                             "folder")
    if tmp is not None and not os.path.lexists(tmp):
        return VanishedError(f"{path}: the temporary file had was writing it into ({Path(tmp).name}) was removed by "
                             "another program before it was complete; nothing was written: run again")
    return None


#: the temporary files this process made and has neither put in place nor removed: removed at exit
#: (:func:`remove_unfinished`), so an interrupt (SIGTERM, Ctrl-C) that lands between a temporary file's creation
#: and the block that removes it on error leaves none (was: SIGTERM in the ms after ``.map.npy.<hex>.npy``
#: appeared left it, 0 bytes)
_UNFINISHED: set[str] = set()


def unfinished(tmp: Path) -> None:
    """Note `tmp` as a temporary file about to be made (before it is: an interrupt may come as it is made)."""
    _UNFINISHED.add(os.path.abspath(tmp))


def finished(tmp: Path) -> None:
    """`tmp` was put in place or removed: no longer this process's to remove (:func:`unfinished`)."""
    _UNFINISHED.discard(os.path.abspath(tmp))


def remove_unfinished() -> None:
    """Remove the temporary files this process made and did not finish (:func:`unfinished`): at exit, and by a
    worker process stopped by a signal before it ends."""
    for name in list(_UNFINISHED):
        with contextlib.suppress(OSError):
            os.unlink(name)
        _UNFINISHED.discard(name)


atexit.register(remove_unfinished)


def commit_file(tmp: Path, path: Path, replace: bool) -> None:
    """Put the complete temporary file `tmp` at `path`: with `replace` (:func:`may_replace`) in one rename, over
    whatever is there; without it only where nothing is, also in one step, so a file that appeared while `tmp`
    was written stays as it is: an :class:`AppearedError` naming `path` then, `tmp` left for the caller to
    remove."""
    _ABSENT.discard(os.path.abspath(path))
    try:
        if replace:
            os.replace(tmp, path)
        else:
            try:
                if not _rename_new(tmp, path):  # no hard links here (FAT): the check and the rename under the lock
                    with locked(path.parent):
                        if os.path.lexists(path):
                            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path))
                        os.replace(tmp, path)
            except FileExistsError:
                raise AppearedError(f"{path} appeared while had was writing it (another program or another had made "
                                    "it); it is left as it is and nothing was written over: move it away or choose "
                                    "another path, and run again") from None
    except FileNotFoundError:  # the folder (or the temporary file) removed meanwhile: said as such, not by tmp's name
        raise vanished(tmp, Path(path)) or VanishedError(f"{path}: its folder or temporary file was removed while "
                                                         "had wrote it; run again") from None
    finished(tmp)
    fsync(path.parent, folder=True)
    gone = None if os.path.lexists(path) else vanished(None, Path(path))
    if gone is not None:  # the folder removed as the file was renamed into it: no output, so no "wrote" (was: exit 0)
        raise gone


def disk_full(exc: BaseException, path: str | Path) -> OSError | None:
    """``OSError(ENOSPC)`` on `path` for a write that failed without an errno (numpy's short write "N requested
    and M written", GDAL's "Write failed") when its folder has (almost) no space left; else None."""
    if isinstance(exc, OSError) and exc.errno is not None or not isinstance(exc, (OSError, RuntimeError)):
        return None
    try:
        free = shutil.disk_usage(Path(path).parent).free
    except OSError:
        return None
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path)) if free < FULL_BYTES else None


def create_new(tmp: Path, path: Path) -> int:
    """A descriptor of the new file `tmp` (write-only, mode 0o666 less the umask; ``FileExistsError`` when it
    exists), the temporary file written for `path`: any other refusal (permissions, a read-only or pseudo file
    system) is raised naming `path`, the file the user asked for, not the temporary name beside it."""
    try:
        return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except FileExistsError:
        raise
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None


@contextlib.contextmanager
def writing(path: str | Path) -> Iterator[BinaryIO]:
    """A binary file to write `path` into, in pieces: a temporary file in the same folder, put at `path` when the
    block ends without an error (fsynced first, :func:`commit_file`) and deleted when it raises, so `path` holds
    the old file or the whole new one. The temporary file is locked while written; one left by a killed writer of the
    same path is removed first (the score CSV of a large table is not small)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    replace = may_replace(path)
    with locked(path.parent):
        remove_stale_files(path)
        tmp = _sibling(path, "tmp")
        unfinished(tmp)  # before it exists: removed at exit if an interrupt comes before the block below
        try:
            fd = create_new(tmp, path)
        except OSError:  # not made (a name taken, a refusal): not ours to remove
            finished(tmp)
            raise
        if fcntl is not None:
            with contextlib.suppress(OSError):  # a file system without flock: unlocked, as on Windows
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        commit_file(tmp, path, replace)
    except BaseException as exc:
        full = disk_full(exc, path)  # measured with the temporary file still there
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        finished(tmp)
        if full is not None:
            raise full from exc
        if isinstance(exc, OSError) and exc.errno and not exc.filename:  # a write's ENOSPC names no file: this one
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise


#: how text files are encoded: UTF-8, with the bytes of a file name that is not UTF-8 (which Python holds as
#: surrogates) written back as they were, so a results.csv naming such a file reads back to the same name
TEXT_ERRORS = "surrogateescape"


def write_bytes(path: str | Path, data: bytes | str) -> Path:
    """Write `data` to `path` whole or not at all (:func:`writing`); text as UTF-8 (:data:`TEXT_ERRORS`)."""
    if isinstance(data, str):
        data = data.encode("utf-8", TEXT_ERRORS)
    with writing(path) as fh:
        fh.write(data)
    return Path(path)
