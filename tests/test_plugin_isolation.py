"""A plugin that calls sys.exit (at import, in a hook, in a lazily imported module) or raises another
BaseException is recorded as broken like one that raises; every other command works (issue 13, item 6)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from test_plugins import _had, _project

EXIT_AT_IMPORT = '''
import sys
sys.exit(3)
'''

BASE_EXCEPTION_AT_IMPORT = '''
class Boom(BaseException):
    pass

raise Boom("not an Exception")
'''

EXIT_IN_HOOKS = '''
import sys
import had


@had.hookimpl
def register_detectors(register):
    sys.exit("bye from register_detectors")


@had.hookimpl
def register_commands(cli):
    raise SystemExit(4)
'''

EXIT_ON_FIRST_USE = '''
import had


@had.hookimpl
def register_detectors(register):
    register("exits-on-use", "had_exit_impl:Detector")
'''

EXIT_IMPL = '''
import sys
sys.exit(5)
'''


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("exiting-plugins")
    projects = [_project(tmp, "had-plugin-exit-import", "had_exit_import", EXIT_AT_IMPORT),
                _project(tmp, "had-plugin-base-exc", "had_base_exc", BASE_EXCEPTION_AT_IMPORT),
                _project(tmp, "had-plugin-exit-hooks", "had_exit_hooks", EXIT_IN_HOOKS),
                _project(tmp, "had-plugin-exit-on-use", "had_exit_on_use", EXIT_ON_FIRST_USE)]
    (projects[-1] / "had_exit_impl.py").write_text(EXIT_IMPL)
    toml = projects[-1] / "pyproject.toml"
    toml.write_text(toml.read_text().replace('py-modules = ["had_exit_on_use"]',
                                             'py-modules = ["had_exit_on_use", "had_exit_impl"]'))
    target = tmp / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(target), *map(str, projects)], check=True)
    return target


def test_exiting_plugins_are_listed_as_broken(site):
    out = _had(["plugins", "--json"], site)
    assert out.returncode == 0, out.stderr
    errors = {p["name"]: p["error"] for p in json.loads(out.stdout)}
    assert errors["had-plugin-exit-import"] == "SystemExit: the plugin called sys.exit(3)"
    assert errors["had-plugin-base-exc"] == "Boom: not an Exception"
    said = errors["had-plugin-exit-hooks"]  # both hooks' errors (was: the last one recorded replaced the first)
    assert "register_detectors raised SystemExit: the plugin called sys.exit('bye from register_detectors')" in said
    assert "register_commands raised SystemExit: the plugin called sys.exit(4)" in said
    assert errors["had-plugin-exit-on-use"] is None and errors["had"] is None
    table = _had(["plugins"], site).stdout
    assert "ERROR SystemExit: the plugin called sys.exit(3)" in table
    # a name no plugin registers, with plugins broken: they are named, since the name may be one of theirs
    out = _had(["fit", "its-detector", "synthetic-table", "-o", "unused"], site)
    assert out.returncode == 2 and "unknown detector 'its-detector'" in out.stderr
    assert "plugin(s) failed to load or register (had-plugin-base-exc, " in out.stderr and "see `had plugins`" in out.stderr


def test_every_other_command_works(site, tmp_path):
    listed = _had(["list", "detectors"], site)
    assert listed.returncode == 0 and "rx" in listed.stdout and "exits-on-use" in listed.stdout
    fit = _had(["fit", "rx", "synthetic-scene", "-o", str(tmp_path / "m")], site)
    assert fit.returncode == 0, fit.stderr
    assert (tmp_path / "m" / "manifest.json").is_file()


def test_a_detector_module_that_exits_is_a_plugin_error_exit_2(site, tmp_path):
    out = _had(["fit", "exits-on-use", "synthetic-scene", "-o", str(tmp_path / "m")], site)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "error: detector 'exits-on-use' from plugin 'had-plugin-exit-on-use' failed to import "
        "(had_exit_impl:Detector): SystemExit: the plugin called sys.exit(5)"]
    assert not (tmp_path / "m").exists()


def test_python_callers_survive_the_exiting_plugins(site):
    code = ("import had; det = had.get_detector('rx'); print(type(det).__name__)\n"
            "try:\n    had.get_detector('exits-on-use')\nexcept had.PluginError as exc:\n    print('PluginError')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(site)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["RX", "PluginError"]


class _ExitsWhenAsked:
    """An in-process plugin whose detector is RX, save that its fit or its scoring calls sys.exit (an argparse or
    click call inside plugin code, a library's exit on an error)."""

    @staticmethod
    def detector(when: str):
        from had.rx import RX

        class Exits(RX):
            name = f"exits-in-{when}"

            def fit(self, X, y=None):
                if when == "fit":
                    sys.exit(7)
                return super().fit(X, y)

            def decision_function(self, X):
                if when == "score" and getattr(self, "_scoring", True):
                    sys.exit("bye")
                return super().decision_function(X)

        return Exits

    @__import__("had").hookimpl
    def register_detectors(self, register):
        for when in ("fit", "score"):
            register(f"exits-in-{when}", self.detector(when))


@pytest.fixture
def exits_when_asked():
    from had import plugins

    plugins.register_plugin(_ExitsWhenAsked(), "exits-when-asked")
    yield
    plugins.unregister_plugin("exits-when-asked")


def test_a_detector_that_exits_in_fit_or_scoring_is_reported_not_the_end(exits_when_asked, tmp_path, capsys):
    """`had fit` ended with the plugin's exit code and no word; a serial `had bench` stopped at that cell, the
    cells after it never run. Now one line naming the detector (exit 2), and the grid's row for that cell."""
    import numpy as np

    import had
    from had.cli import main

    cube = np.random.default_rng(0).normal(size=(12, 10, 4))
    np.save(tmp_path / "scene.npy", cube)

    def run(*args):
        try:
            main(list(map(str, args)))
            code = 0
        except SystemExit as exc:
            code = exc.code
        return code, capsys.readouterr().err

    code, err = run("fit", "exits-in-fit", tmp_path / "scene.npy", "-o", tmp_path / "m")
    assert code == 2 and err.strip() == ("error: the exits-in-fit detector's fit called sys.exit(7); that is the "
                                         "plugin's fault: report it to its authors"), err
    assert not (tmp_path / "m").exists()
    det = had.get_detector("exits-in-score")
    det._scoring = False
    det.fit(cube)
    det._scoring = True
    model = had.save(det, tmp_path / "s")
    for out in ("scores.npy", "map.tif"):  # in memory, and tile by tile into a map
        code, err = run("score", model, tmp_path / "scene.npy", "-o", tmp_path / out)
        assert code == 2 and "the exits-in-score detector's scoring called sys.exit('bye')" in err, err
        assert not (tmp_path / out).exists()
    code, err = run("bench", "--detectors", "exits-in-fit,rx", "--datasets", "synthetic-scene", "--seeds", "1",
                    "--out", tmp_path / "grid")
    rows = (tmp_path / "grid" / "results.csv").read_text()
    assert "exits-in-fit on synthetic-scene (seed 0) called sys.exit(7)" in rows
    assert "\nrx,synthetic-scene,0," in rows  # the cell after it ran
