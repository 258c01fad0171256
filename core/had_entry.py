"""The ``had`` console script's entry point (``[project.scripts] had = "had_entry:main"``), outside the ``had``
package so that it runs before anything of had is imported (``python -m had`` comes here too, once Python has
imported the ``had`` package itself, about 0.2 s of numpy and pydantic: a signal in that window is Python's,
not had's).

Importing ``had.cli`` (with numpy, scipy, pydantic, click) takes a second or more. Three windows around the
command, where a Ctrl-C or SIGTERM did not end `had` the way it does while the command runs ("aborted", exit 130;
"stopped (SIGTERM)", exit 143; an audit sent signals at random times):

* during that import, a Ctrl-C raised KeyboardInterrupt deep in an import, which compiled modules (numpy's
  ``datetime`` capsule, scipy's pybind11 modules) turn into an ``ImportError`` traceback. Here a signal is
  recorded while had imports and said once it has; a second one ends the process at once;
* from the start until ``had.cli.main`` set its SIGTERM handler (up to several seconds on a loaded machine), a
  SIGTERM killed had without a word (exit -15). Here the handler is set right after the import;
* after the command, while the interpreter shuts down, Python puts its handlers back to the default action, and a
  signal then killed the process by that signal (-2 or -15 after "aborted" or after a finished command), or cut
  the exit handlers short. Here a signal after the command ends the process at once with the command's status,
  its temporary files removed (:func:`had.atomic.remove_unfinished`); in the last moments of the shutdown, after
  the exit handlers, both signals are ignored.

A signal the parent set to be ignored (a shell's background job, ``trap '' INT``) stays ignored throughout.
Not covered: a Ctrl-C in the first tens of milliseconds, while Python itself starts (its ``site`` module and the
``.pth`` files of editable installs), before this module runs.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys

_STOPS = (signal.SIGINT, signal.SIGTERM)
_received: list[int] = []


def _said(signum: int) -> tuple[str, int]:
    return ("stopped (SIGTERM)", 143) if signum == signal.SIGTERM else ("aborted", 130)


def _record(signum: int, frame: object) -> None:
    """While had imports: the first signal is said after the import; a second ends the process now (nothing of
    had has run: nothing to clean up)."""
    if _received:
        with contextlib.suppress(Exception):  # a closed stderr (a reader gone): the status still stands
            sys.stderr.write(_said(_received[0])[0] + "\n")
            sys.stderr.flush()
        os._exit(_said(_received[0])[1])
    _received.append(signum)


def _handled(ignored: set[int], handler) -> None:
    for signum in _STOPS:
        if signum not in ignored:
            signal.signal(signum, handler)


def _ended(status: int):
    """The handler once the command has ended: end the process now with `status`, its temporary files removed,
    its output flushed (was: Python's default action, killed by the signal, or a wait that could not be cut)."""
    def end_now(signum: int, frame: object) -> None:
        with contextlib.suppress(Exception):
            from had.atomic import remove_unfinished

            remove_unfinished()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(status)

    return end_now


def _status(exc: BaseException | None) -> int:
    if exc is None:
        return 0
    if isinstance(exc, SystemExit):
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 1


def main() -> None:
    ignored = {signum for signum in _STOPS if signal.getsignal(signum) == signal.SIG_IGN}
    atexit.register(_handled, ignored, signal.SIG_IGN)  # registered first, so run last: after the exit handlers
    _handled(ignored, _record)
    try:
        from had import signals
        from had.cli import main as run
    except KeyboardInterrupt:  # raised by the import itself (a test's finder; a library's own handler)
        _received.append(signal.SIGINT)
    else:
        if signal.SIGINT not in ignored:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        signals.interrupt_on_sigterm()  # had.cli.main sets it again; from here a SIGTERM is an interrupt
    if _received:  # came during the import, or as the handlers were set
        _handled(ignored, signal.SIG_IGN)
        line, code = _said(_received[0])
        sys.stderr.write(line + "\n")
        sys.exit(code)
    ended: BaseException | None = None
    try:
        run()
    except BaseException as exc:
        ended = exc
        raise
    finally:
        _handled(ignored, _ended(_status(ended)))
