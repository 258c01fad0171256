"""SIGTERM as an interrupt: what systemd, docker, a batch scheduler and ``kill`` send ends a `had` command the way
Ctrl-C does, through the same cleanup (temporary files and folders removed, finished cells kept, worker
processes and Ray stopped), instead of killing it where it stands (exit 143, no word, temporary files left for
the next run to recover).

:func:`interrupt_on_sigterm` makes SIGTERM raise KeyboardInterrupt in the main thread and remembers that it
came (:func:`terminated`), so the command line says "stopped (SIGTERM)" and exits 143 as a terminated process
does. Ray installs its own SIGTERM handler when it starts (a C++ stack dump, exit 134); the Ray executor sets
this one again after ``ray.init``.

:func:`on_parent_death` asks Linux to send a signal to this process when its parent dies: what a worker process
of ``--executor processes`` sets (:mod:`had.executors`), so that SIGKILL to had ends its workers too.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from typing import Any, Iterator

_received = False


def _interrupt(signum: int, frame: Any) -> None:
    global _received
    _received = True
    raise KeyboardInterrupt


def interrupt_on_sigterm() -> Any:
    """Make SIGTERM raise KeyboardInterrupt; returns the handler it replaced (None off the main thread, where no
    handler can be set)."""
    try:
        return signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:  # not the main thread
        return None


def restore(previous: Any) -> None:
    """Put back the SIGTERM handler :func:`interrupt_on_sigterm` replaced."""
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


class NotedInterrupts:
    """Within: Ctrl-C and SIGTERM are noted (:meth:`__call__` says whether one came), not raised, for code that
    waits on a lock and must see the interrupt: KeyboardInterrupt raised by a signal handler can land inside
    ``threading.Condition.wait`` (an Event's, a Future's, ``Thread.start``'s) just after it released its lock,
    and the ``with`` around it then releases it again ("RuntimeError: release unlocked lock", a traceback and
    exit 1 instead of a stop). Only a handler that raises KeyboardInterrupt (Python's for Ctrl-C,
    :func:`interrupt_on_sigterm`'s) is replaced: a signal that ends the process still does. Nested, the inner
    one sees what the outer one noted. Off the main thread, where no handler can be set, nothing changes."""

    def __init__(self) -> None:
        self.came = False
        self._outer: NotedInterrupts | None = None
        self._previous: dict[int, Any] = {}

    def _note(self, signum: int, frame: Any) -> None:
        global _received
        if signum == signal.SIGTERM:
            _received = True
        self.came = True

    def __call__(self) -> bool:
        return self.came or (self._outer is not None and self._outer())

    def __enter__(self) -> NotedInterrupts:
        if threading.current_thread() is not threading.main_thread():  # (a review: it took the main thread's
            return self  # noting as its outer one, and raised the main thread's Ctrl-C in a worker thread)
        with _held():
            for signum in (signal.SIGINT, signal.SIGTERM):
                current = signal.getsignal(signum)
                if isinstance(getattr(current, "__self__", None), NotedInterrupts):
                    self._outer = current.__self__
                elif current in (signal.default_int_handler, _interrupt):
                    self._previous[signum] = signal.signal(signum, self._note)
        return self

    def __exit__(self, *exc: Any) -> None:
        with _held():
            for signum, previous in self._previous.items():
                signal.signal(signum, previous)

    def raise_if_noted(self) -> None:
        """KeyboardInterrupt, now that no lock is held, if an interrupt came while within (or within the outer
        one)."""
        if self():
            raise KeyboardInterrupt


@contextlib.contextmanager
def _held() -> Iterator[None]:
    """SIGINT and SIGTERM held back (blocked) in this thread while :class:`NotedInterrupts` swaps their handlers,
    delivered after: one landing between the two swaps raised in the middle and left the first swapped for good
    (a Ctrl-C during the cleanup after it was then noted by nobody: a review)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def result(future: Any) -> Any:
    """``future.result()``, with a Ctrl-C or SIGTERM while it waits raised as KeyboardInterrupt once the wait
    has left its lock (:class:`NotedInterrupts`)."""
    if not future.done():
        from concurrent.futures import wait

        with NotedInterrupts() as again:
            while not future.done() and not again():
                wait([future], timeout=0.1)
        again.raise_if_noted()
    return future.result()


def wait_first(futures: Any) -> set:
    """The finished ones of `futures`, waiting for the first (``concurrent.futures.wait(FIRST_COMPLETED)``), with
    a Ctrl-C or SIGTERM while it waits raised as KeyboardInterrupt once the wait has left its lock."""
    from concurrent.futures import FIRST_COMPLETED, wait

    with NotedInterrupts() as again:
        while True:
            done, _ = wait(futures, timeout=0.1, return_when=FIRST_COMPLETED)
            if done or again():
                break
    again.raise_if_noted()
    return done


def terminated() -> bool:
    """Whether a SIGTERM interrupted this process."""
    return _received


#: prctl's option that sets the signal a process gets when its parent dies (linux/prctl.h)
_PR_SET_PDEATHSIG = 1


def on_parent_death(signum: int) -> bool:
    """Have the kernel send `signum` to this process when its parent (the thread that started it) ends, SIGKILL
    included; True where it could (Linux), False elsewhere, where nothing is done."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return False
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    return prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
