"""One had run writing into an output folder at a time: a lock file in the folder (flock, not blocking).

``had bench`` holds ``OUT/.had-bench.lock`` for its grid (:mod:`had.bench_resume`) and ``had score --out`` holds
``OUT/.had-score.lock`` while it scores its files (:mod:`had.score_many`): a second run into the same folder is
refused in one line instead of both writing, which left results.csv rewritten from one run's rows, or a folder of
maps from two models side by side. The lock file holds its :attr:`FolderLock.mark` and the pid; a file of that
name holding other bytes, a link or a folder is not had's: refused and left alone, and a run removes only the lock
file it holds (the same file, by its inode).
"""

from __future__ import annotations

import contextlib
import os
import stat as stat_module
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .errors import ConfigError

try:
    import fcntl
except ImportError:  # Windows: no lock, as for the artifacts
    fcntl = None


@dataclass(frozen=True)
class FolderLock:
    """The lock file `name` that the command `who` holds in a folder it writes `what` into; `mark`: the first bytes
    of a lock file had wrote (then its pid)."""

    name: str
    mark: bytes
    who: str
    what: str

    def refuse_foreign(self, out: Path) -> None:
        """:class:`ConfigError` when ``OUT/NAME`` is not had's lock file (:meth:`_foreign`): had removes its lock at
        the end of a run (was: a file of the user's of that name, deleted unsaid)."""
        why = self._foreign(out / self.name)
        if why is not None:
            raise ConfigError(self._foreign_message(out, why))

    def refuse_if_held(self, out: Path) -> None:
        """:class:`ConfigError` when another run holds ``OUT/NAME`` now, or a file of that name is not had's lock:
        for a check before the folder's others (:meth:`held` takes it afterwards)."""
        self.refuse_foreign(out)
        if fcntl is None:
            return
        try:
            fd = os.open(out / self.name, os.O_RDONLY)
        except OSError:  # no lock file: no run holds one
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(self._held_message(out)) from None
        except OSError:  # a file system without flock
            pass
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def held(self, out: Path) -> Iterator[None]:
        """Hold ``OUT/NAME`` for the run (removed at its end); :class:`ConfigError` when another run holds it, or
        when a file there of that name is not had's lock. A lock taken on a file another run removed meanwhile is
        taken again on the file now there. Only the lock file this run holds is removed (by its inode; was:
        whatever file had the name)."""
        path = out / self.name
        self.refuse_foreign(out)
        fd = self._lock(path) if fcntl is not None else None
        try:
            yield
        finally:
            if fd is not None:
                with contextlib.suppress(OSError):
                    if os.lstat(path).st_ino == os.fstat(fd).st_ino:
                        os.unlink(path)  # while held: a run waiting on it then finds it gone and locks a new one
                os.close(fd)

    def _held_message(self, out: Path) -> str:
        return f"another {self.who} is writing {self.what} into {out}; wait for it to finish, or give another --out"

    def _foreign_message(self, out: Path, why: str) -> str:
        return (f"{out / self.name} {why}: it is not the lock file {self.who} keeps there (and removes at the end of "
                "a run); move it away or rename it, or give another --out")

    def _foreign(self, path: Path) -> str | None:
        """Why `path` is not had's lock file, or None where it is had's or absent: a symbolic link, a folder or
        another non-file, or a file holding other bytes than :attr:`mark` (an empty one is had's: a lock being
        taken, or one an earlier had left)."""
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            return f"cannot be read ({exc.strerror})"
        if stat_module.S_ISLNK(info.st_mode):
            return "is a symbolic link"
        if not stat_module.S_ISREG(info.st_mode):
            return "is not a file"
        try:
            with open(path, "rb") as fh:
                head = fh.read(len(self.mark))
        except OSError as exc:
            return f"cannot be read ({exc.strerror})"
        return None if head in (b"", self.mark) else "holds data had did not write"

    def _lock(self, path: Path) -> int | None:
        nofollow = getattr(os, "O_NOFOLLOW", 0)
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | nofollow, 0o666)
            except OSError:  # a folder that takes no lock file: checked writable already, so the writes will say
                if (why := self._foreign(path)) is not None:  # a link or a folder put there meanwhile
                    raise ConfigError(self._foreign_message(path.parent, why)) from None
                return None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise ConfigError(self._held_message(path.parent)) from None
            except OSError:  # a file system without flock
                os.close(fd)
                return None
            try:
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    head = os.pread(fd, len(self.mark), 0)
                    if head not in (b"", self.mark):  # written meanwhile by someone else: not had's to take over
                        os.close(fd)
                        raise ConfigError(self._foreign_message(path.parent, "holds data had did not write"))
                    os.ftruncate(fd, 0)
                    os.pwrite(fd, self.mark + f" pid {os.getpid()}\n".encode(), 0)
                    return fd
            except FileNotFoundError:
                pass
            os.close(fd)  # the run that held it removed it as we opened it: lock the one there now
