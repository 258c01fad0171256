"""A metric plugin's metric in a grid (a probe of a metric plugin author's journey, 7 December 2026): what each metric
is given, and what a misbehaving one does to the rest of the grid. Plugins registered here are gone after each test
(tests/conftest.py resets the registry)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from had_sdk.testing import run_cli

import had
from had import bench, executors, plugins
from had.errors import ConfigError
from had.metrics import Metric, MetricConfig
from pydantic import Field

SCENE = ("--datasets", "synthetic-scene", "--data", "synthetic-scene.height=24", "--data", "synthetic-scene.width=24")
seen: list = []


class KConfig(MetricConfig):
    k: float = Field(0.5, gt=0, le=1)


def _shapes(y, s):
    seen.append((np.shape(y), np.shape(s)))
    return 0.0


def _zero_in_place(y, s):
    s[...] = 0.0  # a metric that normalises its input in place
    return 0.0


def _disk_gone(y, s):
    raise OSError("disk gone")


class Misbehaving:
    @had.hookimpl
    def register_metrics(self, register):
        register(Metric("shapes", _shapes))
        register(Metric("zero-in-place", _zero_in_place))
        register(Metric("disk-gone", _disk_gone))
        register(Metric("k-default", lambda y, s, k=0.1: k, Config=KConfig))
        register(Metric("k-required", lambda y, s, k: k, Config=KConfig))
        register(Metric("k-threshold", lambda y, s, t, k=0.1: k, needs_threshold=True, Config=KConfig))
        register(Metric("infinite", lambda y, s: float("inf")))
        register(Metric("seed", lambda y, s: 0.25))


@pytest.fixture
def misbehaving():
    plugins.register_plugin(Misbehaving(), name="misbehaving-metrics")


def _row(out):
    with open(out / "results.csv", newline="") as fh:
        return next(csv.DictReader(fh))


def test_each_metric_gets_1d_copies_and_one_changing_them_changes_no_other(misbehaving, capsys, tmp_path):
    seen.clear()
    plain = tmp_path / "plain"
    assert run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--metrics", "auroc,auprc", "--no-plots",
                   "--out", plain)[0] == 0
    out = tmp_path / "o"
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--metrics",
                           "shapes,auroc,zero-in-place,auprc", "--no-plots", "--out", out)
    assert code == 0, err
    assert seen == [((24 * 24,), (24 * 24,))]  # a scene's pixels, flattened (was: (24, 24) maps)
    row, before = _row(out), _row(plain)
    assert (row["auroc"], row["auprc"]) == (before["auroc"], before["auprc"])  # (was: auprc of zeroed scores)


def test_a_metric_raising_oserror_leaves_its_column_blank_and_the_grid_goes_on(misbehaving, capsys, tmp_path):
    out = tmp_path / "o"
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--metrics", "auroc,disk-gone",
                           "--no-plots", "--out", out)
    assert code == 0, err  # was: "error: OSError: disk gone; check the path and the disk", exit 2, no results.csv
    row = _row(out)
    assert row["error"] == "" and row["disk-gone"] == "" and 0.5 < float(row["auroc"]) <= 1
    assert "disk-gone of rx on synthetic-scene (seed 0) not computed: OSError: disk gone" in err


def test_a_metrics_config_defaults_apply_without_parameters(misbehaving):
    y, s = np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.2, 0.8])
    assert had.get_metric("k-default")(y, s) == 0.5  # the config's default (was: the function's 0.1)
    assert had.get_metric("k-required")(y, s) == 0.5  # (was: a TypeError, "missing 1 required argument")
    assert had.get_metric("k-threshold", k=0.9)(y, s, 0.5) == 0.9  # (was: 0.1, the bound k dropped)
    assert had.get_metric("auc_pf_tau")(y, s) == had.get_metric("auc_pf_tau", n_thresholds=30000)(y, s)


def test_a_metric_giving_inf_is_blank_and_said_and_resume_keeps_the_cell(misbehaving, capsys, tmp_path):
    out = tmp_path / "o"
    grid = ("bench", "--detectors", "rx", *SCENE, "--metrics", "auroc,infinite", "--no-plots", "--out", out)
    code, _, err = run_cli(capsys, *grid)
    assert code == 0 and _row(out)["infinite"] == ""
    assert "infinite of rx on synthetic-scene (seed 0) not computed: the metric gave inf, not a finite number" in err
    code, _, err = run_cli(capsys, *grid, "--resume")
    assert code == 0 and "run again" not in err and "resuming: 1 finished cell(s) kept" in err


def test_a_metric_named_like_a_results_column_is_refused_before_any_cell(misbehaving, tmp_path):
    with pytest.raises(ConfigError, match=r"metric\(s\) seed share a name with a column of results.csv"):
        bench.run(["rx"], ["synthetic-table"], [0], metrics=["auroc", "seed"], out=tmp_path / "o", plots=False)
    assert not (tmp_path / "o").exists()


def test_a_ray_error_loses_its_terminal_colours():
    assert executors.error_text(RuntimeError("\x1b[36mray::run_cell()\x1b[39m failed")) == \
        "RuntimeError: ray::run_cell() failed"


class BadRegistrations:
    @had.hookimpl
    def register_metrics(self, register):
        register(type("M", (), {"name": "named-only"})())
        register(Metric("dict-config", lambda y, s: 0.0, Config=dict))
        register(Metric(" spaced", lambda y, s: 0.0))
        register(Metric("fine-metric", lambda y, s: 1.0))


def test_a_registration_that_is_no_metric_is_refused_and_said():
    plugins.register_plugin(BadRegistrations(), name="bad-metric-registrations")
    names = plugins.names("metric")
    assert "fine-metric" in names
    assert not {"named-only", "dict-config", " spaced"} & set(names)
    said = plugins.load_errors()["bad-metric-registrations"]
    assert "it is a M, not a had.metrics.Metric" in said
    assert "its Config is <class 'dict'>, not a subclass of had.metrics.MetricConfig" in said
    assert "its name begins or ends with a space" in said


def test_had_list_metrics_says_which_are_lower_is_better(capsys):
    code, out, _ = run_cli(capsys, "list", "metrics")
    rows = {line.split("|")[1].strip(): line for line in out.splitlines() if line.startswith("| ")}
    assert code == 0 and "(lower is better)" in rows["eer"] and "(lower is better)" in rows["auc_pf_tau"]
    assert "lower is better" not in rows["auroc"]


def test_registering_again_under_one_name_replaces_the_plugin():
    """A notebook cell that registers an edited metric plugin, run again (was: pluggy's ValueError)."""
    def version(value):
        class Mine:
            @had.hookimpl
            def register_metrics(self, register):
                register(Metric("mine", lambda y, s: value))
        return Mine()

    y, s = np.array([0, 1]), np.array([0.2, 0.8])
    plugins.register_plugin(version(1.0), name="notebook-metrics")
    assert had.get_metric("mine")(y, s) == 1.0
    plugins.register_plugin(version(2.0), name="notebook-metrics")
    assert had.get_metric("mine")(y, s) == 2.0
    with pytest.raises(had.errors.PluginError, match="'had' is the name of an installed plugin"):
        plugins.register_plugin(version(3.0), name="had")


def test_resume_refuses_cells_of_a_metric_since_upgraded(capsys, tmp_path, monkeypatch):
    class Versioned:
        @had.hookimpl
        def register_metrics(self, register):
            register(Metric("versioned", lambda y, s: 0.5))

    version = ["1.0"]
    real = plugins.plugin_version
    monkeypatch.setattr(plugins, "plugin_version",
                        lambda plugin: ("had-metric-x", version[0]) if plugin == "versioned-metrics" else real(plugin))
    plugins.register_plugin(Versioned(), name="versioned-metrics")
    out = tmp_path / "o"
    grid = ("bench", "--detectors", "rx", *SCENE, "--metrics", "auroc,versioned", "--no-plots", "--out", out)
    assert run_cli(capsys, *grid)[0] == 0
    recorded = json.loads((out / "grid.json").read_text())["metric_distributions"]
    assert recorded["versioned"] == {"distribution": "had-metric-x", "version": "1.0"}
    assert recorded["auroc"]["distribution"] == "had"
    assert run_cli(capsys, *grid, "--resume")[0] == 0  # the same version: kept
    version[0] = "2.0"
    code, _, err = run_cli(capsys, *grid, "--resume")
    assert code == 2 and "--resume: metric versioned: had-metric-x changed version (1.0 -> 2.0)" in err


class NeedsK:
    @had.hookimpl
    def register_metrics(self, register):
        class Required(MetricConfig):
            k: float

        register(Metric("needs-k", lambda y, s, k: k, Config=Required))


def test_a_metric_with_a_parameter_of_no_default(capsys, tmp_path):
    plugins.register_plugin(NeedsK(), name="needs-k-metrics")
    y, s = np.array([0, 1]), np.array([0.2, 0.8])
    assert had.get_metric("needs-k").configure(k=0.3)(y, s) == 0.3  # unbound without it, as before
    assert had.get_metric("needs-k", k=0.4)(y, s) == 0.4
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--metrics", "auroc,needs-k",
                           "--no-plots", "--out", tmp_path / "o")
    assert code == 2 and "metric needs-k has parameter(s) of no default (k): give them in the grid file's " \
        "[metrics.\"needs-k\"] table, with --metric-set needs-k.k=... (Python: had.bench.run(..., " \
        "metric_config={'needs-k': {'k': ...}}))" in err
    assert not (tmp_path / "o").exists()
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", *SCENE, "--metrics", "auroc,needs-k",
                           "--metric-set", "needs-k.k=0.25", "--no-plots", "--out", tmp_path / "o")  # given: computed
    assert code == 0, err
    assert "0.25" in (tmp_path / "o" / "results.csv").read_text().splitlines()[1].split(",")[4]


def test_a_metric_named_seeds_is_refused_too(tmp_path):
    with pytest.raises(ConfigError, match="metric.s. seeds share a name with a column of results.csv or its summary"):
        bench.run(["rx"], ["synthetic-table"], [0], metrics=["auroc", "seeds"], out=tmp_path / "o", plots=False)


def test_a_had_upgrade_does_not_refuse_the_cores_metrics(capsys, tmp_path, monkeypatch):
    out = tmp_path / "o"
    grid = ("bench", "--detectors", "pyod-iforest", "--datasets", "synthetic-table", "--data",
            "synthetic-table.n_samples=200", "--set", "pyod-iforest.n_estimators=10", "--no-plots", "--out", out)
    assert run_cli(capsys, *grid)[0] == 0
    real = plugins.plugin_version
    monkeypatch.setattr(plugins, "plugin_version", lambda plugin: ("had", "99.0") if plugin == "had" else real(plugin))
    code, _, err = run_cli(capsys, *grid, "--resume")
    assert code == 0 and "resuming: 1 finished cell(s) kept" in err


def test_pin_cpu_on_a_ray_elsewhere_does_not_check_this_machine(monkeypatch):
    import platform

    from had import bench as had_bench

    monkeypatch.setattr(platform, "machine", lambda: "arm64")  # a laptop driving an x86 cluster
    assert had_bench._local_ray(None) is True
    monkeypatch.setenv("RAY_ADDRESS", "ray://head:10001")
    assert had_bench._local_ray(None) is False and had_bench._local_ray("ray://x:1") is False


def test_had_list_metrics_json_says_higher_is_better(capsys):
    code, out, _ = run_cli(capsys, "list", "metrics", "--json")
    rows = {row["name"]: row for row in json.loads(out)}
    assert code == 0 and rows["eer"]["higher_is_better"] is False and rows["auroc"]["higher_is_better"] is True


class BadPreset:
    @had.hookimpl
    def register_metrics(self, register):
        register(Metric("bad-preset", lambda y, s, k=0.5: k, Config=KConfig, params=(("k", 7.0),)))


def test_a_registered_preset_its_config_refuses_is_said_not_used(capsys):
    plugins.register_plugin(BadPreset(), name="bad-preset-metrics")
    with pytest.raises(ConfigError, match="k"):  # was: 7.0 used unchecked (le=1)
        had.get_metric("bad-preset")


class FieldsNotTaken:
    """A metric whose Config has a field its function does not take: every call would fail."""

    @had.hookimpl
    def register_metrics(self, register):
        from had.metrics import MetricConfig

        class K(MetricConfig):
            k: int = 3

        register(Metric("k-not-taken", lambda y, s: 0.0, Config=K))
        register(Metric("k-taken", lambda y, s, k=1: float(k), Config=K))
        register(Metric("k-by-kwargs", lambda y, s, **kw: float(kw["k"]), Config=K))
        register(Metric("k-with-threshold", lambda y, s, t, k: float(k), needs_threshold=True, Config=K))


def test_a_config_field_its_function_does_not_take_is_refused_at_registration():
    plugins.register_plugin(FieldsNotTaken(), name="fields-not-taken")
    names = set(plugins.names("metric"))
    assert "k-not-taken" not in names and {"k-taken", "k-by-kwargs", "k-with-threshold"} <= names
    said = plugins.load_errors()["fields-not-taken"]
    assert "its registration of metric 'k-not-taken' was refused: its Config has field(s) k that its function " \
        "does not take" in said
    y, s = np.array([0, 1]), np.array([0.2, 0.8])
    assert had.get_metric("k-taken")(y, s) == 3.0 and had.get_metric("k-by-kwargs", k=5)(y, s) == 5.0
    assert had.get_metric("k-with-threshold")(y, s, 0.5) == 3.0


def test_one_plugin_object_under_a_second_name_is_refused_naming_the_first():
    class Mine:
        @had.hookimpl
        def register_metrics(self, register):
            register(Metric("mine-once", lambda y, s: 1.0))

    mine = Mine()
    plugins.register_plugin(mine, name="first-name")
    with pytest.raises(had.errors.PluginError, match="registered already, as 'first-name': unregister it first"):
        plugins.register_plugin(mine, name="second-name")  # was: pluggy's ValueError with its plugin table
    plugins.register_plugin(mine, name="first-name")  # again under its own name: replaced, as before
    assert "mine-once" in plugins.names("metric")
    from had import builtins

    with pytest.raises(had.errors.PluginError, match="registered already, as 'had': it is an installed plugin's"):
        plugins.register_plugin(builtins, name="my-builtins")


def test_a_refused_registration_changes_nothing():
    """Was: the plugin held under the name asked for was unregistered, then the call refused."""
    def plugin(metric_name):
        class Mine:
            @had.hookimpl
            def register_metrics(self, register):
                register(Metric(metric_name, lambda y, s: 1.0))
        return Mine()

    first, second = plugin("m-one"), plugin("m-two")
    plugins.register_plugin(first, name="a-name")
    plugins.register_plugin(second, name="c-name")
    with pytest.raises(had.errors.PluginError, match="registered already, as 'c-name'"):
        plugins.register_plugin(second, name="a-name")
    assert {"m-one", "m-two"} <= set(plugins.names("metric"))
    assert plugins.plugin_manager().get_plugin("a-name") is first
