"""Plugin discovery: throwaway plugins installed from a temporary folder, a broken one, allow/block lists."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import had
from had import plugins

HAD = [sys.executable, "-m", "had.cli"]

GOOD = '''
import numpy as np
import had
from had.detector import Detector, as_pixels, like_input


class Norm(Detector):
    """Distance to the training mean: the smallest possible detector."""
    name = "throwaway-norm"
    summary = "distance to the mean"

    def _fit(self, X, y):
        self.mean_ = as_pixels(X).mean(0)

    def _score(self, X):
        return like_input(np.linalg.norm(as_pixels(X) - self.mean_, axis=1), X)


@had.hookimpl
def register_detectors(register):
    register("throwaway-norm", Norm)
'''

BROKEN = '''
raise RuntimeError("this plugin is broken on purpose")
'''


def _project(tmp_path: Path, dist: str, module: str, source: str) -> Path:
    """A plugin project with its own pyproject.toml and entry point."""
    project = tmp_path / dist
    project.mkdir()
    (project / f"{module}.py").write_text(textwrap.dedent(source))
    (project / "pyproject.toml").write_text(textwrap.dedent(f'''
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "{dist}"
        version = "0.0.1"
        [tool.setuptools]
        py-modules = ["{module}"]
        [project.entry-points.had]
        {dist} = "{module}"
        '''))
    return project


def _had(args, site: Path | None = None, **env_extra):
    env = {**os.environ, **env_extra}
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH", "")]))
    return subprocess.run(HAD + args, capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Both plugins pip-installed from their own projects into a private target folder (the venv stays clean)."""
    tmp = tmp_path_factory.mktemp("plugins")
    projects = [_project(tmp, "had-plugin-throwaway", "had_throwaway", GOOD),
                _project(tmp, "had-plugin-broken", "had_broken", BROKEN)]
    target = tmp / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(target), *map(str, projects)], check=True)
    return target


def test_installed_plugin_is_listed_without_core_change(site):
    out = _had(["list", "detectors"], site)
    assert out.returncode == 0, out.stderr
    assert "throwaway-norm" in out.stdout and "rx" in out.stdout
    plugins_out = _had(["plugins", "--json"], site)
    listed = {p["name"]: p for p in json.loads(plugins_out.stdout)}
    assert listed["had-plugin-throwaway"]["distribution"] == "had-plugin-throwaway"
    assert listed["had-plugin-throwaway"]["version"] == "0.0.1"
    assert listed["had-plugin-throwaway"]["registers"] == {"detector": ["throwaway-norm"]}
    assert listed["had"]["registers"]["detector"] == ["rx"]


def test_broken_plugin_is_reported_and_the_rest_works(site):
    listed = {p["name"]: p for p in json.loads(_had(["plugins", "--json"], site).stdout)}
    assert "broken on purpose" in listed["had-plugin-broken"]["error"]
    assert listed["had-plugin-broken"]["distribution"] == "had-plugin-broken"
    table = _had(["plugins"], site).stdout
    assert "ERROR RuntimeError: this plugin is broken on purpose" in table
    assert "throwaway-norm" in _had(["list", "detectors"], site).stdout


def test_allow_and_block_lists(site):
    only = _had(["list", "detectors"], site, HAD_PLUGINS="had-plugin-throwaway").stdout
    assert "throwaway-norm" in only and "rx" in only  # built-ins always load
    none = json.loads(_had(["plugins", "--json"], site, HAD_PLUGINS="").stdout)
    assert [p["name"] for p in none] == ["had"]
    blocked = _had(["list", "detectors"], site, HAD_DISABLE_PLUGINS="had-plugin-throwaway").stdout
    assert "throwaway-norm" not in blocked
    quiet = json.loads(_had(["plugins", "--json"], site, HAD_DISABLE_PLUGINS="had-plugin-broken").stdout)
    assert "had-plugin-broken" not in {p["name"] for p in quiet}


def test_import_had_loads_no_plugin_and_no_torch():
    code = ("import sys, had; mods = [m for m in sys.modules if m.startswith(('torch', 'had_', 'onnx'))]; "
            "print(repr(','.join(mods))); d = had.get_detector('rx'); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    first, second = out.stdout.strip().splitlines()
    assert first == "''"
    assert second == "False"


def test_import_had_leaves_scipy_and_the_metrics_to_first_use():
    """``import had`` took 1.3 s, 0.6 s of it ``scipy.stats`` through ``had.metrics`` (and ``python -m had``
    imports the package before its signal handling starts); the metrics now load on first use, and every way
    of reaching them still works."""
    code = ("import sys, had; print('scipy' in sys.modules, 'had.metrics' in sys.modules); "
            "from had import Metric; import had.metrics as m; "
            "print(had.Metric is Metric is m.Metric, had.metrics is m, had.get_metric('auroc').name, "
            "round(float(m.auroc([0, 1, 1], [0.1, 0.4, 0.9])), 3))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "True", "True", "auroc", "1.0"]
    assert {"Metric", "metrics", "plugins", "get_metric"} <= set(dir(had))  # tab completion lists them
    with pytest.raises(AttributeError, match="no attribute 'Metrics'"):
        had.Metrics  # noqa: B018: a name that is not there is still an AttributeError


def test_a_command_that_measures_nothing_leaves_scipy_stats_unimported():
    """Every CLI command loads the plugins, the core's own registering the built-in metrics (``had.builtins``
    imports ``had.metrics``), and ``had.metrics`` imported ``scipy.stats`` at the top for AUROC's ranks: 0.7 s
    and 65 MB of every ``had list``, ``had describe``, ``had --help`` (1.03 s then, 0.31 s now). An AUROC's ranks
    are numpy's now, still scikit-learn's value with ties."""
    code = ("import sys, atexit; from had.cli import main; "
            "atexit.register(lambda: print('scipy.stats' in sys.modules, file=sys.stderr)); main(['list', 'detectors'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "rx" in out.stdout.split() and out.stderr.split()[-1] == "False", out.stderr
    code = ("import sys; from had.metrics import auroc; "
            "print(round(auroc([0, 0, 1, 1], [0.2, 0.5, 0.5, 0.9]), 4), 'scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0.875", "False"]  # sklearn: 0.875 (the tie at 0.5 counts one half); since the
    # ranks are numpy's, an AUROC imports no scipy.stats either (1.2 s of every had fit/score on labelled data)


@pytest.mark.parametrize("code,unwanted", [
    ("from had.cli import main; main(['list', 'datasets'])", "scipy.ndimage"),  # the synthetic sources' fields
    ("import had_deepsad.detectors", "sklearn"),  # QuantileTransformer, for scaling="quantile" alone
])
def test_what_a_command_does_not_need_is_not_imported(code, unwanted):
    """Plugins imported what only one of their paths needs at the top of a module every command loads:
    scipy.ndimage (0.4 s of every ``had list datasets``), scikit-learn (1 s of every deepsad/deepsvdd command)."""
    code = (f"import sys, atexit; atexit.register(lambda: print({unwanted!r} in sys.modules, file=sys.stderr)); "
            f"{code}")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr.split()[-1] == "False", out.stderr


class InProcess:
    @staticmethod
    @had.hookimpl
    def register_detectors(register):
        register("dup", "had.rx:RX", summary="aliased rx", eig_floor=1e-6)
        register("rx", "had.rx:RX")  # already taken by the core: reported, first kept


def test_in_process_registration_defaults_and_duplicates():
    plugins.register_plugin(InProcess, name="in-process")
    det = had.get_detector("dup")
    assert det.config.eig_floor == 1e-6
    assert plugins.entry("detector", "rx").plugin == "had"
    assert "already registered" in plugins.load_errors()["in-process"]


def test_lazy_target_import_error_is_a_plugin_error():
    class Bad:
        @staticmethod
        @had.hookimpl
        def register_detectors(register):
            register("ghost", "no_such_module_xyz:Ghost")

    plugins.register_plugin(Bad, name="bad")
    assert "ghost" in plugins.names("detector")
    with pytest.raises(had.PluginError, match="no_such_module_xyz"):
        had.get_detector("ghost")


TWIN = '''
import had


@had.hookimpl
def register_detectors(register):
    pass
'''


def test_an_entry_point_name_already_taken_is_reported_not_dropped(tmp_path):
    """Two distributions with the entry point name "twin" (and one named "had", the core's): pluggy kept the first
    and the other was gone from `had plugins` without a word (`had plugin new sdk` made one that hid had-sdk)."""
    projects = []
    for dist, entry in (("had-plugin-twin-a", "twin"), ("had-plugin-twin-b", "twin"), ("had-plugin-core", "had")):
        project = _project(tmp_path, dist, dist.replace("-", "_"), TWIN)
        toml = project / "pyproject.toml"
        toml.write_text(toml.read_text().replace(f"{dist} = ", f"{entry} = "))
        projects.append(project)
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(site), *map(str, projects)], check=True)
    out = _had(["plugins", "--json"], site)
    assert out.returncode == 0, out.stderr
    listed = {p["name"]: p for p in json.loads(out.stdout)}
    loaded = listed["twin"]["distribution"]
    lost = ({"had-plugin-twin-a", "had-plugin-twin-b"} - {loaded}).pop()
    assert "entry point name 'twin' is taken by" in listed[f"twin ({lost})"]["error"]
    assert listed[f"twin ({lost})"]["distribution"] == lost
    assert "entry point name 'had' is taken by had" in listed["had (had-plugin-core)"]["error"]
    assert listed["had"]["error"] is None


def test_a_registration_that_is_not_a_detector_is_a_plugin_error(tmp_path, capsys):
    """A plugin registering a plain class, or a Detector whose Config is None: `had fit`, `had describe` and a whole
    `had bench` grid ended in tracebacks (``NotADetector() takes no arguments``)."""
    import numpy as np

    import had
    from had import plugins
    from had.errors import PluginError
    from test_reliability_cli import run_cli

    class NotADetector:
        pass

    class NoConfig(had.Detector):
        name = "no-config"
        Config = None

        def _fit(self, X, y):
            return np.zeros(len(X))

    class Plugin:
        @staticmethod
        @had.hookimpl
        def register_detectors(register):
            register("not-a-detector", NotADetector)
            register("config-none", NoConfig)

    plugins.register_plugin(Plugin, name="odd-registrations")
    try:
        with pytest.raises(PluginError, match="not-a-detector' from plugin 'odd-registrations' is .*not a "
                                              "had.Detector subclass"):
            had.get_detector("not-a-detector")
        with pytest.raises(PluginError, match="its Config is None, not a had config class"):
            had.get_detector("config-none")
        for args in (["fit", "not-a-detector", "synthetic-table", "-o", str(tmp_path / "m")],
                     ["describe", "config-none"],
                     ["bench", "--detectors", "rx,config-none", "--datasets", "synthetic-table", "--no-plots"]):
            code, _, err = run_cli(capsys, *args)
            assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, (args, err)
    finally:
        plugins.unregister_plugin("odd-registrations")


def test_a_config_default_outside_its_own_bounds_is_said_at_once():
    """pydantic does not check defaults: ``ridge: float = Field(-1.0, ge=0)`` fitted and saved, and the saved model
    could never be loaded ("its config does not fit"); now the default is validated and blamed on the plugin."""
    from pydantic import Field

    import had
    from had.errors import ConfigError

    class BadConfig(had.DetectorConfig):
        ridge: float = Field(-1.0, ge=0)

    class BadDefault(had.Detector):
        name = "bad-default"
        Config = BadConfig

        def _fit(self, X, y):
            return X.sum(axis=-1)

        def _score(self, X):
            return X.sum(axis=-1)

    with pytest.raises(ConfigError, match=r"ridge: .*greater than or equal to 0 \(the plugin's own default"):
        BadDefault()
    assert BadDefault({"ridge": 2.0}).config.ridge == 2.0
