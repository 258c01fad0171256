"""A Ctrl-C (or SIGTERM) whose KeyboardInterrupt lands in a finaliser or a garbage collector's weakref callback
("Exception ignored in ...") stops the command all the same.

Was: the command line's unraisable hook dropped every KeyboardInterrupt there, meant for a second Ctrl-C during
the cleanup of the first, so a first one landing in a ``WeakKeyDictionary`` callback was lost: about one Ctrl-C in
three while ``had score`` wrote quicklooks over 40 files ran on to the end, exit 0 (a probe, 6 December 2026).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import functools, os, signal, sys
    from had import cli, signals
    signals.interrupt_on_sigterm()
    sys.unraisablehook = functools.partial(cli._interrupt_in_cleanup_unsaid, sys.unraisablehook)

    class Finalised:
        def __del__(self):  # the signal's handler runs here: its KeyboardInterrupt is "ignored" by Python
            os.kill(os.getpid(), signal.{signal})
            for _ in range(10**6):
                pass

    try:
        for n in range({times}):
            Finalised()
            for _ in range(10**6):
                pass
        print("went on to the end")
    except KeyboardInterrupt:
        print("stopped, terminated:", signals.terminated())
""")


def _run(signal_name: str, times: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SCRIPT.format(signal=signal_name, times=times)],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("signal_name, terminated", [("SIGINT", False), ("SIGTERM", True)])
def test_a_first_interrupt_lost_in_a_finaliser_stops_the_command(signal_name, terminated):
    done = _run(signal_name, 1)
    assert done.stdout.strip() == f"stopped, terminated: {terminated}", done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr


def test_a_second_interrupt_in_a_finaliser_is_left_to_the_first():
    """Two lost in a row: the first is raised again and stops the loop before the second object, so the command
    stops once; nothing is printed of the finaliser's interrupt."""
    done = _run("SIGINT", 3)
    assert done.stdout.strip() == "stopped, terminated: False", done.stdout + done.stderr
    assert "Exception ignored" not in done.stderr, done.stderr
