"""The ``had`` console script's entry point (``[project.scripts] had = "had_entry:main"``), outside the ``had``
package so that it runs before anything of had is imported.

Importing ``had.cli`` (with numpy, scipy, pydantic, click) takes about a second. Three windows around the
command, where a Ctrl-C or SIGTERM did not end `had` the way it does while the command runs ("aborted", exit 130;
"stopped (SIGTERM)", exit 143; an audit sent signals at random times):

* during that import, a Ctrl-C raised KeyboardInterrupt deep in an import, which compiled modules (numpy's
  ``datetime`` capsule, scipy's pybind11 modules) turn into an ``ImportError`` traceback. Here both signals are
  only recorded while had imports, and said once it has;
* from the start until ``had.cli.main`` set its SIGTERM handler (up to several seconds on a loaded machine), a
  SIGTERM killed had without a word (exit -15). Here the handler is set right after the import;
* after the command, while the interpreter shuts down, Python puts its handlers back to the default action, and a
  signal then killed the process by that signal (-2 or -15 after "aborted" or after a finished command), or cut
  the exit handlers (``atomic.remove_unfinished``) short. Here both signals are ignored once the command has
  ended: its exit status stands and the exit handlers run whole (SIGQUIT, Ctrl-\\, still ends a stuck exit).

Not covered: a Ctrl-C in the first tens of milliseconds, while Python itself starts (its ``site`` module and the
``.pth`` files of editable installs), before this module runs.
"""

from __future__ import annotations

import signal
import sys

_received: list[int] = []


def _record(signum: int, frame: object) -> None:
    _received.append(signum)


def _end(signum: int) -> None:
    """End as a command stopped by `signum` ends, with nothing of had run."""
    _ignore_stops()
    sys.stderr.write("stopped (SIGTERM)\n" if signum == signal.SIGTERM else "aborted\n")
    sys.exit(143 if signum == signal.SIGTERM else 130)


def _ignore_stops() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)


def main() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _record)
    try:
        from had import signals
        from had.cli import main as run
    except KeyboardInterrupt:  # raised by the import itself (a test's finder; a library's own handler)
        _end(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signals.interrupt_on_sigterm()  # had.cli.main sets it again; from here a SIGTERM is an interrupt
    if _received:  # came during the import (looked at once both handlers are had's: none is lost in between)
        _end(_received[0])
    try:
        run()
    finally:
        _ignore_stops()
