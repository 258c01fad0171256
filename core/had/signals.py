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

import _thread
import signal
import sys
import threading
from typing import Any

_received = False
#: KeyboardInterrupts had's handlers raised, and the signal of the last (:func:`raise_again_if_lost`)
_raised = 0
_last_signum = signal.SIGINT


#: how many :class:`NotedInterrupts` the main thread is inside (0: an interrupt raises), and how many interrupts
#: came since it entered the outermost
_noting = 0
_noted = 0


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM's handler (:func:`interrupt_on_sigterm`): KeyboardInterrupt, or noted inside
    :class:`NotedInterrupts`."""
    global _received
    _received = True
    _raise_or_note(signum)


def _ctrl_c(signum: int, frame: Any) -> None:
    """SIGINT's handler once a :class:`NotedInterrupts` or the command line (:func:`interrupt_on_sigterm`) has met
    Python's: the same KeyboardInterrupt, or noted inside one."""
    _raise_or_note(signum)


def _raise_or_note(signum: int) -> None:
    global _noted, _raised, _last_signum
    if _noting:
        _noted += 1
        return
    _raised, _last_signum = _raised + 1, signum
    raise KeyboardInterrupt


def raise_again_if_lost() -> bool:
    """For a KeyboardInterrupt that landed where Python cannot raise it (a finaliser, a weakref callback run by the
    garbage collector: "Exception ignored in"): when it is the only one had's handlers raised, the command never
    saw it, so the same signal is delivered again to the main thread, which raises it at its next step (was: lost,
    about one Ctrl-C in three while `had score` wrote quicklooks: the command went on to the end, exit 0). A later
    one is left unsaid: the first already stops the command. Returns whether it was delivered again.

    Delivered from a short-lived thread a moment later: from here the main thread would run the handler at once,
    inside the hook that called this, and Python would ignore that KeyboardInterrupt too."""
    if _raised != 1:
        return False
    later = threading.Timer(REDELIVER_AFTER_S, _thread.interrupt_main, args=(_last_signum,))
    later.daemon = True
    later.start()
    return True


#: how long after a lost interrupt it is delivered again (:func:`raise_again_if_lost`): the hook has returned
REDELIVER_AFTER_S = 0.01


def interrupt_on_sigterm() -> Any:
    """Make SIGTERM raise KeyboardInterrupt; returns the handler it replaced (None off the main thread, where no
    handler can be set, and where the parent set SIGTERM to be ignored: left so, a review). Ctrl-C's handler
    becomes had's too where it was Python's (the same KeyboardInterrupt, counted: :func:`raise_again_if_lost`)."""
    try:
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, _ctrl_c)
        if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
            return None
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
    exit 1 instead of a stop).

    had's handlers (:func:`_interrupt` for SIGTERM, :func:`_ctrl_c` for SIGINT, set in place of Python's
    ``default_int_handler`` the first time and left: it raises as that one does outside) look at a counter this
    raises and lowers, so nothing is swapped on the way in or out. Was: each entry swapped both handlers and
    each exit put them back, and a signal landing between two swaps (at any bytecode, taken by another thread
    of the process and run here at the next) left a handler that noted for nobody (a review: 3 runs in 3).
    A signal that ends the process (no handler of had's) still does. Nested, one noting holds for all levels.
    Off the main thread nothing changes (a review: a worker's wait took the main thread's Ctrl-C)."""

    def __init__(self) -> None:
        self._active = False

    def __call__(self) -> bool:
        return self._active and _noted > 0

    def count(self) -> int:
        """How many interrupts were noted since the outermost one was entered (``had serve``: a second stops at
        once)."""
        return _noted if self._active else 0

    def __enter__(self) -> NotedInterrupts:
        global _noting, _noted
        if threading.current_thread() is not threading.main_thread():
            return self
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, _ctrl_c)  # raises as Python's does when nothing notes
        if not _noting:
            _noted = 0
        self._active = True
        _noting += 1
        return self

    def __exit__(self, *exc: Any) -> None:
        global _noting
        if self._active:
            _noting -= 1

    def raise_if_noted(self) -> None:
        """KeyboardInterrupt, now that no lock is held, if an interrupt came while within (or within the outer
        one)."""
        if self():
            raise KeyboardInterrupt


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
