"""A Ctrl-C or SIGTERM that lands while had waits for a thread or a worker process (a tile read ahead, a block
being hashed, a worker's cell) stops the command as an interrupt, never as "RuntimeError: release unlocked lock".

Python raises a signal handler's KeyboardInterrupt at the next bytecode; inside ``threading.Condition.wait`` that
can be just after the wait released its lock, before the ``try`` that takes it back, and the ``with`` around the
wait then releases it a second time (a CI run of ``had serve``; the same wait sits under
``concurrent.futures.wait`` and ``Future.result``). :mod:`had.signals` notes the signal while such a wait runs
and raises KeyboardInterrupt after it. The tests put the signal at that exact point: a ``_release_save`` that
sends SIGTERM once it has released the lock."""

from __future__ import annotations

import ast
import signal
import sys
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import pytest

from had import executors, signals

CORE = Path(signals.__file__).parent


class _SignalAfterARelease:
    """Once armed, the next wait of a Condition over a plain Lock (an Event's, so every ``concurrent.futures``
    wait's) in the main thread gets a SIGTERM just after it released its lock; `sent` holds 1 once it did."""

    def __init__(self, monkeypatch):
        self.monkeypatch, self.sent = monkeypatch, []

    def arm(self, within: str | None = None) -> None:
        """`within`: only in a wait called (at any depth) by a function of that name in ``concurrent.futures``
        (``"wait"``, ``"result"``), not, say, in ``Thread.start``'s."""
        release = threading.Condition._release_save
        sent = self.sent

        def release_then_signal(condition):
            release(condition)
            if threading.current_thread() is threading.main_thread() and not sent and _called_by(within):
                sent.append(1)
                signal.raise_signal(signal.SIGTERM)

        self.monkeypatch.setattr(threading.Condition, "_release_save", release_then_signal)


@pytest.fixture
def sigterm_after_a_release(monkeypatch):
    """SIGTERM raises KeyboardInterrupt, as in every `had` command; the signal put where the CI run had it."""
    monkeypatch.setattr(signals, "_received", False)
    previous = signals.interrupt_on_sigterm()
    try:
        yield _SignalAfterARelease(monkeypatch)
    finally:
        monkeypatch.undo()
        signals.restore(previous)


def test_a_futures_result_raises_the_interrupt_after_its_wait(sigterm_after_a_release):
    future: Future = Future()
    future._condition = threading.Condition(threading.Lock())  # its own wait would get the signal too
    later = threading.Timer(5.0, future.set_result, [1])  # nothing hangs if the interrupt were lost
    later.start()
    try:
        start = time.monotonic()
        sigterm_after_a_release.arm()
        with pytest.raises(KeyboardInterrupt):
            signals.result(future)
        assert sigterm_after_a_release.sent == [1] and signals.terminated() and time.monotonic() - start < 4
    finally:
        later.cancel()
    assert signals.result(_done(7)) == 7  # a finished one: its value, no wait


def test_the_plain_future_result_is_what_broke(sigterm_after_a_release):
    """The hazard itself, on Python's own ``Future.result``: the lock released twice."""
    future: Future = Future()
    future._condition = threading.Condition(threading.Lock())
    later = threading.Timer(5.0, future.set_result, [1])
    later.start()
    try:
        sigterm_after_a_release.arm()
        with pytest.raises(RuntimeError, match="release unlocked lock"):
            future.result()
    finally:
        later.cancel()


def test_waiting_for_the_first_of_several_raises_the_interrupt_after_its_wait(sigterm_after_a_release):
    pending: list[Future] = [Future(), Future()]
    sigterm_after_a_release.arm()
    with pytest.raises(KeyboardInterrupt):
        signals.wait_first(pending)
    assert sigterm_after_a_release.sent == [1] and signals.terminated()
    finished = _done(1)
    assert signals.wait_first([pending[0], finished]) == {finished}  # one finished: no wait


def test_a_stopped_process_executor_stops_as_an_interrupt(sigterm_after_a_release):
    """Was (an audit's run): "RuntimeError: release unlocked lock" from executors._processes's wait, which `had`
    reports as a traceback and exit 1, not "stopped (SIGTERM)", exit 143."""
    task = executors.Task(time.sleep, lambda cell, exc: exc, lambda cell: {"num_cpus": 1.0, "num_gpus": 0.0,
                                                                            "auto_gpu": False})
    start = time.monotonic()
    cells = executors.execute([30.0, 30.0], "processes", workers=2, task=task)
    sigterm_after_a_release.arm(within="wait")  # the wait for the first cell to finish
    with pytest.raises(KeyboardInterrupt):
        list(cells)
    assert sigterm_after_a_release.sent == [1] and signals.terminated() and time.monotonic() - start < 25


def test_no_module_waits_on_a_future_but_through_had_signals():
    """``Future.result()`` and ``concurrent.futures.wait`` in had's core go through :func:`signals.result` and
    :func:`signals.wait_first`, so that a new wait does not bring the hazard back."""
    found = []
    for path in sorted(CORE.glob("*.py")):
        if path.name == "signals.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "result" \
                    and not node.args and not node.keywords:
                found.append(f"{path.name}:{node.lineno} .result()")
            if isinstance(node, ast.ImportFrom) and node.module == "concurrent.futures" and \
                    any(alias.name == "wait" for alias in node.names):
                found.append(f"{path.name}:{node.lineno} concurrent.futures.wait")
    assert not found, found


def _called_by(name: str | None) -> bool:
    frame = sys._getframe(2)
    while name is not None and frame is not None:
        if frame.f_code.co_name == name and "concurrent/futures" in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return name is None


def _done(value) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future


def test_a_worker_threads_wait_does_not_take_the_main_threads_interrupt():
    """A review: in a thread other than the main one, NotedInterrupts took the main thread's as its outer one, so
    a Ctrl-C the main thread noted was raised in the worker's wait."""
    seen: list[bool] = []
    with signals.NotedInterrupts() as outer:
        signal.raise_signal(signal.SIGINT)  # a Ctrl-C, noted by the main thread
        time.sleep(0.01)  # (its handler runs at the next bytecode)
        assert outer()

        def worker():
            with signals.NotedInterrupts() as inner:
                seen.append(inner())

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(30)
    assert seen == [False]
    with pytest.raises(KeyboardInterrupt):
        outer.raise_if_noted()


def test_entering_and_leaving_swaps_no_handler(monkeypatch):
    """A review (3 runs in 3 of a rain of signals): each entry and exit swapped both handlers, and a signal landing
    between two swaps (taken by any thread of the process, run in the main one at its next bytecode) left one
    bound to a noting handler for good. Now had's handlers look at a counter: after the first entry replaced
    Python's Ctrl-C handler by had's (which raises as it does), nothing is swapped."""
    previous = signals.interrupt_on_sigterm()
    try:
        with signals.NotedInterrupts():
            pass
        swaps: list[int] = []
        swap = signal.signal
        monkeypatch.setattr(signal, "signal", lambda signum, handler: swaps.append(signum) or swap(signum, handler))
        for _ in range(3):
            with signals.NotedInterrupts() as again:
                with signals.NotedInterrupts():
                    pass
            again.raise_if_noted()
        assert swaps == []
        monkeypatch.undo()
        assert signal.getsignal(signal.SIGINT) is signals._ctrl_c
        with pytest.raises(KeyboardInterrupt):  # outside, had's Ctrl-C handler raises as Python's did
            signal.raise_signal(signal.SIGINT)
            time.sleep(0.01)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signals.restore(previous)
