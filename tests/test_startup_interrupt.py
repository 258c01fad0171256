"""Ctrl-C in the second before a command runs (importing had.cli, loading the plugins' commands) is "aborted",
exit 130, as it is once the command runs; was: a KeyboardInterrupt traceback from deep in an import."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

#: run in a child: importing had.cli raises KeyboardInterrupt, as a Ctrl-C during that import does
_INTERRUPTED_IMPORT = """
import sys
class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == "had.cli":
            raise KeyboardInterrupt
sys.meta_path.insert(0, Interrupt())
import had_entry
had_entry.main()
"""


def test_ctrl_c_while_had_cli_imports_is_aborted_not_a_traceback():
    run = subprocess.run([sys.executable, "-c", _INTERRUPTED_IMPORT], capture_output=True, text=True)
    assert (run.returncode, run.stderr) == (130, "aborted\n")


def test_ctrl_c_while_the_plugins_commands_load_is_aborted(monkeypatch, capsys):
    from had import cli

    def interrupted(group):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.plugins, "add_commands", interrupted)
    hook = sys.unraisablehook
    with pytest.raises(SystemExit) as stop:
        cli.main(["list", "detectors"])
    assert stop.value.code == 130 and capsys.readouterr().err == "aborted\n"
    assert sys.unraisablehook is hook  # in-process (a test, run_cli): the caller's hook back (a review)


def test_the_console_script_runs_had_entry():
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "had"]
    assert script.value == "had_entry:main"


def test_a_choice_missing_is_one_readable_line():
    """Was: "Choose from:\\n\\tdatasets,\\n\\tdetectors,\\n\\tmetrics" with its newlines and tabs escaped."""
    run = subprocess.run([sys.executable, "-m", "had", "list"], capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr == ("error: had list: missing argument '{datasets|detectors|metrics}'. Choose from: datasets, "
                          "detectors, metrics (see had list --help)\n")


@pytest.mark.parametrize("module, importer", [("onnxruntime", "had.runtime:import_onnxruntime"),
                                              ("onnx", "had.onnx_export:import_onnx")])
def test_ctrl_c_while_an_extension_imports_is_not_said_as_missing(monkeypatch, module, importer):
    """An audit: Ctrl-C while onnxruntime's extension loaded surfaced as an ImportError, said "onnxruntime is not
    installed; pip install ...", exit 2. An ImportError caused by a KeyboardInterrupt is the interrupt."""
    import builtins
    import importlib

    where, name = importer.split(":")
    load = getattr(importlib.import_module(where), name)
    real = builtins.__import__

    def interrupted_import(wanted, *args, **kwargs):
        if wanted == module:
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt:
                raise ImportError(f"initialization of {module} failed")  # as an extension's init reports it
        return real(wanted, *args, **kwargs)

    monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.setattr(builtins, "__import__", interrupted_import)
    with pytest.raises(KeyboardInterrupt):
        load()


def test_a_missing_extension_is_still_said_as_missing(monkeypatch):
    import builtins

    from had.errors import HadError
    from had.runtime import import_onnxruntime

    real = builtins.__import__

    def missing(wanted, *args, **kwargs):
        if wanted == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'")
        return real(wanted, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "onnxruntime", raising=False)
    monkeypatch.setattr(builtins, "__import__", missing)
    with pytest.raises(HadError, match="onnxruntime is not installed"):
        import_onnxruntime()


#: run in a child: a command interrupted (the first Ctrl-C) while a tile reader is suspended in its frame, whose
#: cleanup gets a second KeyboardInterrupt as the interpreter ends; with argv[1] == "bug", the cleanup fails
#: otherwise
_INTERRUPT_IN_CLEANUP = """
import sys
from had import cli
mode = sys.argv[1]
def tiles():
    try:
        yield 1
        yield 2
    finally:
        raise ValueError("a real bug") if mode == "bug" else KeyboardInterrupt
@cli.cli.command("audit9-cleanup")
def cleanup():
    reader = tiles()
    next(reader)
    raise KeyboardInterrupt
sys.argv = ["had", "audit9-cleanup"]
import had_entry
had_entry.main()
"""


def test_an_interrupt_in_a_generators_cleanup_is_not_said():
    """Was: "aborted", then "Exception ignored in: <generator object tiles>" and a KeyboardInterrupt traceback (1-2
    runs in 8 of a double Ctrl-C within 30 ms). Another error in a cleanup is still said, by Python's hook."""
    run = subprocess.run([sys.executable, "-c", _INTERRUPT_IN_CLEANUP, "interrupt"], capture_output=True, text=True)
    assert (run.returncode, run.stderr) == (130, "\naborted\n")  # click's newline after the ^C, then had's line
    run = subprocess.run([sys.executable, "-c", _INTERRUPT_IN_CLEANUP, "bug"], capture_output=True, text=True)
    assert run.returncode == 130 and run.stderr.startswith("\naborted\nException ignored in"), run.stderr
    assert "ValueError: a real bug" in run.stderr


#: run in a child: had's console entry point, with a signal sent to itself at a chosen moment (argv[1]):
#: ``import`` while had.cli is imported, ``plugins`` while the plugins' commands load, ``exit`` in an exit
#: handler after the command ended (which then writes argv[2], if it was not cut short)
_SIGNALLED = """
import atexit, os, signal, sys, time
moment, marker, how = sys.argv[1], sys.argv[2], sys.argv[4:]
signum = signal.SIGTERM if sys.argv[3] == "TERM" else signal.SIGINT
class SignalOnImport:
    def find_spec(self, name, path=None, target=None):
        if name == "had.cli" and moment.startswith("import"):
            os.kill(os.getpid(), signum)
            if moment == "import-twice":  # a second one while the import takes its time: the process ends at once
                os.kill(os.getpid(), signum)
                time.sleep(20)
        return None
sys.meta_path.insert(0, SignalOnImport())
if moment in ("plugins", "during-exit"):
    import had.plugins
    loaded = had.plugins.add_commands
    def signalled(group):
        if moment == "plugins":
            os.kill(os.getpid(), signum)
        else:  # an exit handler of the command's, which a signal interrupts; a temporary file left to remove
            from had import atomic
            atomic.unfinished(marker + ".tmp")
            open(marker + ".tmp", "w").write("half")
            def cut():
                os.kill(os.getpid(), signum)
                time.sleep(0.3)
                open(marker, "w").write("whole")
            atexit.register(cut)
        return loaded(group)
    had.plugins.add_commands = signalled
if moment == "exit":
    def late():
        os.kill(os.getpid(), signum)
        time.sleep(0.3)
        open(marker, "w").write("whole")
    atexit.register(late)
sys.argv = ["had", "list", "detectors"]
if how == ["-m"]:  # as `python -m had` runs it
    import runpy
    runpy.run_module("had", run_name="__main__")
else:
    import had_entry
    had_entry.main()
"""


@pytest.mark.parametrize("signame, code, said", [("TERM", 143, "stopped (SIGTERM)\n"), ("INT", 130, "aborted\n")])
@pytest.mark.parametrize("moment", ["import", "plugins"])
def test_a_signal_before_the_command_runs_is_said(tmp_path, moment, signame, code, said):
    """Was (an audit): a SIGTERM before had.cli.main set its handler killed had without a word (exit -15), and a
    Ctrl-C during the import could surface as an ImportError traceback from a compiled module."""
    run = subprocess.run([sys.executable, "-c", _SIGNALLED, moment, str(tmp_path / "m"), signame],
                         capture_output=True, text=True, timeout=120)
    assert (run.returncode, run.stderr.lstrip("\n")) == (code, said), run.stderr


def test_a_second_signal_during_the_import_ends_at_once(tmp_path):
    """A review: while had imports (seconds on a cold cache), Ctrl-C did nothing until the import ended."""
    start = time.monotonic()
    run = subprocess.run([sys.executable, "-c", _SIGNALLED, "import-twice", str(tmp_path / "m"), "INT"],
                         capture_output=True, text=True, timeout=120)
    assert (run.returncode, run.stderr) == (130, "aborted\n") and time.monotonic() - start < 15


def test_a_signal_in_the_commands_exit_ends_it_with_its_status(tmp_path):
    """A review: ignoring signals once the command ended made a stuck exit (a thread joined at exit, an exit
    handler waiting) impossible to stop but with SIGQUIT. A signal then ends the process at once with the
    command's status, its temporary files removed."""
    marker = tmp_path / "m"
    run = subprocess.run([sys.executable, "-c", _SIGNALLED, "during-exit", str(marker), "INT"], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0 and "rx" in run.stdout and not run.stderr, run.stderr
    assert not marker.exists() and not (tmp_path / "m.tmp").exists()


def test_a_signal_the_parent_ignores_stays_ignored(tmp_path):
    """A review: a shell's background job (`had score ... &` in a script) or `trap '' INT` starts had with SIGINT
    ignored, and had turned it back on ("aborted" where the old entry point finished the command)."""
    run = subprocess.run([sys.executable, "-c", _SIGNALLED, "plugins", str(tmp_path / "m"), "INT"], capture_output=True,
                         text=True, timeout=120, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert run.returncode == 0 and "rx" in run.stdout and not run.stderr, run.stderr


@pytest.mark.parametrize("signame, how", [("TERM", "entry"), ("INT", "entry"), ("TERM", "-m")])
def test_a_signal_as_the_interpreter_exits_keeps_the_commands_status(tmp_path, signame, how):
    """Was (an audit): after the command, Python's shutdown restores the default actions, so a signal then
    killed had by that signal (-2, -15, after "aborted" or a finished command) or cut its exit handlers short.
    ``python -m had`` goes through the same entry point."""
    marker = tmp_path / "m"
    run = subprocess.run([sys.executable, "-c", _SIGNALLED, "exit", str(marker), signame, how], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0 and "rx" in run.stdout and not run.stderr, run.stderr
    assert marker.read_text() == "whole"
