"""The CLI's standard streams: file names that are not UTF-8 print as their bytes, and a reader that goes away
(`had score m line.hdr -o map.tif | head -1`) does not stop the command.

Python ignores SIGPIPE, so a write to a pipe whose reader has closed raises BrokenPipeError; raised from a
progress line, it ended `had score` before the map was written (exit 1, no map). Here stdout becomes a stream
that, at the first broken pipe, points its file descriptor at the null device (the recipe of Python's signal
documentation, so the interpreter's last flush cannot fail either) and drops what is written from then on: the
command finishes its work and its files, and its exit status says how that went.

stderr gets the same stream. Was: only stdout did, so with stderr's reader gone (`had fit ... --json 2>&1 |
...` ended early, a supervisor that closed its log pipe) the first progress line raised BrokenPipeError: exit 1,
no model saved, no JSON on stdout, and an error's own one-line message raised again (exit 1, not 2).
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any, TextIO


#: a ``--json`` run's stdout, kept here while sys.stdout points at stderr (:func:`json_only_on_stdout`)
_json_out: list[TextIO] = []


def json_out() -> TextIO:
    """Where a ``--json`` run writes its JSON: the process's stdout, whatever sys.stdout is meanwhile."""
    return _json_out[-1] if _json_out else sys.stdout


@contextlib.contextmanager
def json_only_on_stdout(on: bool):
    """With `on` (a ``--json`` run), stdout holds the JSON alone (written to :func:`json_out`): whatever else is
    printed to sys.stdout meanwhile (a plugin's ``print`` at its import, in a hook or in its fit, a library's
    progress line) goes to stderr. Was: ``had list detectors --json`` began with a plugin's line and ``json.loads``
    of it failed. (Output a C library writes to file descriptor 1 itself is not redirected.)"""
    if not on:
        yield
        return
    real = sys.stdout
    _json_out.append(real)
    sys.stdout = sys.stderr
    try:
        yield
    finally:
        sys.stdout = real
        _json_out.pop()


class ReaderMayLeave:
    """A text stream that drops its output once its reader has gone (BrokenPipeError), instead of raising."""

    def __init__(self, stream: TextIO):
        self._stream = stream
        self.reader_gone = False

    def write(self, text: str) -> int:
        if not self.reader_gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._leave()
        return len(text)

    def flush(self) -> None:
        if not self.reader_gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._leave()

    def _leave(self) -> None:
        self.reader_gone = True
        with contextlib.suppress(OSError, ValueError, AttributeError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self._stream.fileno())
            os.close(null)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def prepare_streams() -> None:
    """Set up sys.stdout and sys.stderr for the CLI (see the module's docstring)."""
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 (held as surrogates) is printed as
        with contextlib.suppress(AttributeError, ValueError):  # its bytes, as ls does, under any locale
            stream.reconfigure(errors="surrogateescape")       # (was: UnicodeEncodeError under en_US.UTF-8)
    if sys.stdout is not None and not isinstance(sys.stdout, ReaderMayLeave):
        sys.stdout = ReaderMayLeave(sys.stdout)  # type: ignore[assignment]
    if sys.stderr is not None and not isinstance(sys.stderr, ReaderMayLeave):
        sys.stderr = ReaderMayLeave(sys.stderr)  # type: ignore[assignment]
