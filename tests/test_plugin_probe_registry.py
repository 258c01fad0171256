"""Plugin loading found broken by a probe: each broken plugin is reported on its own `had plugins` row and the rest
works. Installed plugins are faked by writing their module and dist-info by hand (as pip lays them out), so no pip
run is needed; in-process ones are registered with :func:`had.plugins.register_plugin` (conftest resets them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest

import had
from had import plugins
from had.errors import PluginError

def _fake_dist(site: Path, dist: str | None, entry_point: str, module: str, source: str) -> None:
    """An installed distribution `dist` (None: METADATA without a Name) in `site` whose `had` entry point
    `entry_point` is `module`, holding `source`."""
    site.mkdir(exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{(dist or module).replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    name = f"Name: {dist}\n" if dist else ""
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\n{name}Version: 0.1\n")
    (info / "entry_points.txt").write_text(f"[had]\n{entry_point} = {module}\n")


#: every plugin as `had plugins --json` lists it, printed by the Python API (what the command shows)
LIST = "import json, had.plugins as p; print(json.dumps([info.__dict__ for info in p.plugins()]))"


def _listed(allow: list[str], *sites: Path) -> dict[str, dict]:
    """Every plugin, by name, with `sites` first on the path, in that order, and plugins `allow` loaded (the rest
    of those installed are not: quicker)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*map(str, sites), os.environ.get("PYTHONPATH", "")]),
           "HAD_PLUGINS": ",".join(allow)}
    env.pop("HAD_DISABLE_PLUGINS", None)
    out = subprocess.run([sys.executable, "-c", LIST], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return {p["name"]: p for p in json.loads(out.stdout)}


@pytest.fixture
def core_only(monkeypatch):
    """The core's plugin alone, plus what a test registers in-process."""
    monkeypatch.setenv("HAD_PLUGINS", "")
    plugins.reset()


def _in_process(name: str, **hooks):
    """An in-process plugin `name` with the given hook functions, registered."""
    plugin = type(name, (), {hook: staticmethod(had.hookimpl(fn)) for hook, fn in hooks.items()})
    plugins.register_plugin(plugin, name=name)


# ---- item 1: a distribution whose METADATA has no Name ----------------------------------------------------------
def test_a_distribution_without_a_name_is_reported_and_the_rest_works(tmp_path):
    """Was: every command reading the registry ended in "TypeError: '<' not supported between 'str' and
    'NoneType'" (ordering the plugins by distribution name)."""
    for dist, entry_point in ((None, "noname"), ("had-probe-named", "probe-named")):
        _fake_dist(tmp_path, dist, entry_point, f"had_probe_{entry_point.replace('-', '_')}", f'''
            import had

            @had.hookimpl
            def register_detectors(register):
                register("{entry_point}-det", "had.rx:RX", summary="rx")
            ''')
    listed = _listed(["noname", "probe-named"], tmp_path)
    assert "no Name" in listed["noname"]["error"] and "reinstall" in listed["noname"]["error"]
    assert listed["probe-named"]["error"] is None
    assert listed["probe-named"]["registers"] == {"detector": ["probe-named-det"]}


# ---- items 4 and 16: a plugin using the registry at import; hooks had does not have, generators, bad arguments --
HOOKS = {
    "reent": '''
        import had
        RX = type(had.get_detector("rx"))  # the registry, while this module is imported

        @had.hookimpl
        def register_detectors(register):
            register("probe-rx-sub", RX, summary="rx again")
        ''',
    "typo": '''
        import had

        @had.hookimpl
        def register_detector(register):  # misspelt: had's hook is register_detectors
            register("probe-typo", "had.rx:RX", summary="rx")
        ''',
    "gen": '''
        import had

        @had.hookimpl
        def register_detectors(register):
            yield register("probe-gen", "had.rx:RX", summary="rx")
        ''',
    "badarg": '''
        import had

        @had.hookimpl
        def register_detectors(reg):  # pluggy's three-line PluginValidationError
            reg("probe-badarg", "had.rx:RX", summary="rx")
        ''',
}


@pytest.fixture(scope="module")
def hooks_listed(tmp_path_factory):
    site = tmp_path_factory.mktemp("probe-hooks")
    for name, source in HOOKS.items():
        _fake_dist(site, f"had-probe-{name}", f"probe-{name}", f"had_probe_{name}", source)
    return _listed([f"probe-{name}" for name in HOOKS], site)


def test_a_plugin_using_the_registry_while_imported_keeps_its_registrations(hooks_listed):
    """Was: the nested lookup built a registry without the half-imported plugin, which was kept: its row said "ok"
    with nothing registered and `had fit probe-rx-sub` said unknown detector."""
    row = hooks_listed["probe-reent"]
    assert row["error"] is None and row["registers"] == {"detector": ["probe-rx-sub"]}


def test_a_misspelt_or_generator_hook_is_reported(hooks_listed):
    """Was: both registered nothing and the row said "ok"."""
    typo = hooks_listed["probe-typo"]["error"]
    assert "unknown hook 'register_detector'" in typo and "register_detectors" in typo
    assert "generator" in hooks_listed["probe-gen"]["error"]
    assert not hooks_listed["probe-typo"]["registers"] and not hooks_listed["probe-gen"]["registers"]


def test_pluggys_multi_line_refusal_is_one_line(hooks_listed):
    error = hooks_listed["probe-badarg"]["error"]
    assert "PluginValidationError" in error and "reg" in error and error.isprintable()


# ---- item 21: two distributions with one entry point name -------------------------------------------------------
def test_which_of_two_same_named_entry_points_loads_does_not_depend_on_the_path_order(tmp_path):
    """Was: the first on sys.path loaded (pluggy's own loader), so an install decided it."""
    zeta, alpha = tmp_path / "zeta", tmp_path / "alpha"
    for site, dist in ((zeta, "had-probe-twin-zeta"), (alpha, "had-probe-twin-alpha")):
        _fake_dist(site, dist, "probe-twin", dist.replace("-", "_"), f'''
            import had

            @had.hookimpl
            def register_detectors(register):
                register("{dist}-det", "had.rx:RX", summary="rx")
            ''')
    for sites in ((zeta, alpha), (alpha, zeta)):
        listed = _listed(["probe-twin"], *sites)
        assert listed["probe-twin"]["distribution"] == "had-probe-twin-alpha", sites
        assert listed["probe-twin"]["registers"] == {"detector": ["had-probe-twin-alpha-det"]}, sites
        assert "is taken by had-probe-twin-alpha" in listed["probe-twin (had-probe-twin-zeta)"]["error"], sites


# ---- item 5: commands -------------------------------------------------------------------------------------------
def test_a_plugin_command_may_not_replace_a_core_one_nor_be_something_else(core_only):
    """Was: a plugin's `fit` or `plugins` replaced the core's without a word; ``cli.add_command(42, ...)`` broke
    `had --help`."""
    @click.group()
    def group():
        pass

    @group.command("fit")
    def core_fit():
        pass

    original = group.commands["fit"]

    def register_commands(cli):
        @cli.command("fit")
        def fit():
            pass

        @cli.command("probe-own")
        def own():
            pass

        cli.add_command(42, name="weird")

    _in_process("hijack", register_commands=register_commands)
    plugins.add_commands(group)
    assert group.commands["fit"] is original
    assert "weird" not in group.commands and "probe-own" in group.commands
    error = plugins.load_errors()["hijack"]
    assert "command 'fit' is had's" in error and "'weird'" in error and "not a click command" in error
    assert {p.name: p.registers for p in plugins.plugins()}["hijack"] == {"command": ["probe-own"]}


# ---- item 7: names ----------------------------------------------------------------------------------------------
def test_a_name_that_is_not_a_one_line_str_is_refused(core_only):
    """Was: `had plugins` (join) and `had list detectors` (sort) ended in TypeErrors; a newline broke the table."""
    def register_detectors(register):
        register(5, "had.rx:RX")
        register("", "had.rx:RX")
        register("nl\nname", "had.rx:RX")
        register("probe-fine", "had.rx:RX", summary="rx")

    _in_process("odd-names", register_detectors=register_detectors)
    assert plugins.names("detector") == ["probe-fine", "rx"]
    error = plugins.load_errors()["odd-names"]
    assert "of type int" in error and "empty" in error and "'nl\\nname'" in error and error.isprintable()
    assert {p.name: p.registers for p in plugins.plugins()}["odd-names"] == {"detector": ["probe-fine"]}


# ---- item 8: an abstract detector -------------------------------------------------------------------------------
def test_an_abstract_detector_is_a_plugin_error(core_only):
    """Was: `had fit` ended in "TypeError: Can't instantiate abstract class"."""
    class Abstract(had.Detector):
        pass

    _in_process("abstract", register_detectors=lambda register: register("probe-abstract", Abstract, summary="a"))
    with pytest.raises(PluginError, match="'probe-abstract' from plugin 'abstract' is .*abstract.*_fit, _score"):
        had.get_detector("probe-abstract")


# ---- items 14 and 15: errors of a registry build ----------------------------------------------------------------
def test_a_hook_that_raises_keeps_its_earlier_refusals(core_only):
    """Was: the hook's error replaced the refusal of its "rx"."""
    def register_detectors(register):
        register("rx", "had.rx:RX")
        raise RuntimeError("broken after one")

    _in_process("raises", register_detectors=register_detectors)
    error = plugins.load_errors()["raises"]
    assert "'rx' is already registered" in error and "RuntimeError: broken after one" in error


def test_a_rebuild_forgets_the_errors_of_the_build_before(core_only):
    """Was: an unregistered plugin's error, and a hook's that failed once, stayed on `had plugins`."""
    _in_process("takes-rx", register_detectors=lambda register: register("rx", "had.rx:RX"))
    assert "takes-rx" in plugins.load_errors()
    plugins.unregister_plugin("takes-rx")
    assert "takes-rx" not in plugins.load_errors()

    calls = []

    def register_detectors(register):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("not ready yet")
        register("probe-later", "had.rx:RX", summary="rx")

    _in_process("once", register_detectors=register_detectors)
    assert "not ready yet" in plugins.load_errors()["once"]
    _in_process("other", register_metrics=lambda register: None)  # a rebuild
    assert "once" not in plugins.load_errors() and "probe-later" in plugins.names("detector")


# ---- item 19: a registration's defaults -------------------------------------------------------------------------
def test_defaults_a_detectors_config_refuses_are_blamed_on_the_plugin(core_only):
    """Was: "invalid config for detector probe-baddef: no_such_field: Extra inputs are not permitted", said to a user
    who gave no setting."""
    _in_process("baddef", register_detectors=lambda register: register("probe-baddef", "had.rx:RX", summary="rx",
                                                                        no_such_field=1))
    with pytest.raises(PluginError, match=r"'probe-baddef' is registered by plugin 'baddef' with defaults .*"
                                          r"no_such_field=1"):
        had.get_detector("probe-baddef")


# ---- item 22: a summary's control characters --------------------------------------------------------------------
def test_a_summary_reaches_listings_escaped(core_only):
    """Was: a terminal escape in a summary (setting the window title) reached the terminal in `had list`."""
    _in_process("escapes", register_detectors=lambda register: register("probe-esc", "had.rx:RX",
                                                                         summary="s\x1b]0;TITLE\x07x"))
    summary = plugins.entry("detector", "probe-esc").describe()
    assert summary.isprintable() and "TITLE" in summary


# ---- the review of these fixes ------------------------------------------------------------------------------------
def test_wrappers_and_hooks_of_a_newer_had_are_not_refused(tmp_path):
    """A review: `@hookimpl(wrapper=True)` (a generator pluggy drives) was refused as "a generator", and a hook a
    newer had adds refused the whole plugin (its known hooks too); a misspelt one still is refused."""
    _fake_dist(tmp_path, "had-probe-wrap", "probe-wrap", "had_probe_wrap", '''
        import had

        @had.hookimpl(wrapper=True)
        def source_for_path(path, settings):
            result = yield
            return result

        @had.hookimpl
        def register_exporters(register):
            pass

        @had.hookimpl
        def register_detectors(register):
            register("probe-wrap-det", "had.rx:RX")
        ''')
    _fake_dist(tmp_path, "had-probe-typo", "probe-typo", "had_probe_typo", '''
        import had

        @had.hookimpl
        def register_detector(register):
            pass
        ''')
    listed = _listed(["probe-wrap", "probe-typo"], tmp_path)
    assert listed["probe-wrap"]["error"] is None, listed["probe-wrap"]
    assert listed["probe-wrap"]["registers"] == {"detector": ["probe-wrap-det"]}
    assert "unknown hook 'register_detector'" in listed["probe-typo"]["error"]


def test_a_summary_of_none_is_the_classs_own(core_only):
    """A review: `register(name, Cls, summary=Cls.__doc__)` for a class without a docstring was refused."""
    class NoDoc(type(had.get_detector("rx"))):
        pass

    _in_process("nodoc-plugin", register_detectors=lambda register: register("rx-nodoc", NoDoc, summary=None))
    try:
        assert type(had.get_detector("rx-nodoc")) is NoDoc
    finally:
        plugins.unregister_plugin("nodoc-plugin")


def test_a_second_main_in_one_process_keeps_a_plugins_own_command(capsys):
    """A review: hsi's `demo` command, made anew by each `register_commands`, was refused as another plugin's on
    a second `had` run in one process, and hsi listed as broken."""
    from had_sdk.testing import run_cli

    for _ in range(3):  # (the third: a command taken again must be marked its plugin's again)
        code, out, err = run_cli(capsys, "plugins", "--json")
        assert code == 0, err
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["hsi"]["error"] is None, rows["hsi"]


def test_threads_asking_while_the_plugins_load_wait_for_them(monkeypatch):
    """A review: a thread asking for a detector while another thread loaded the entry points got the half-loaded
    manager ("unknown detector", 7 of 10 threads)."""
    import threading
    import time

    monkeypatch.delenv("HAD_PLUGINS", raising=False)
    monkeypatch.delenv("HAD_DISABLE_PLUGINS", raising=False)
    plugins.reset()
    failures: list[BaseException] = []

    def ask():
        try:
            had.get_detector("pyod-iforest")
        except BaseException as exc:  # noqa: BLE001 - collected, asserted below
            failures.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
        time.sleep(0.02)
    for thread in threads:
        thread.join(120)
    assert not failures, failures


def test_a_plugins_name_and_version_reach_the_table_escaped(tmp_path):
    """A distribution's version (from its METADATA) holding a terminal escape reached the terminal raw in
    `had plugins`."""
    _fake_dist(tmp_path, "had-probe-esc", "probe-esc", "had_probe_esc", "")
    meta = next(tmp_path.glob("*.dist-info")) / "METADATA"
    meta.write_text(meta.read_text().replace("Version: 0.1", "Version: 0.1\x1b]0;TITLE\x07"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
           "HAD_PLUGINS": "probe-esc"}
    out = subprocess.run([sys.executable, "-m", "had.cli", "plugins"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "probe-esc" in out.stdout and "\x1b" not in out.stdout and "\\x1b]0;TITLE\\x07" in out.stdout


def test_two_plugins_claiming_one_file_the_last_entry_point_name_answers_first(tmp_path):
    """The order docs/plugin-guide.md states for `source_for_path`: entry points load in name order, the hooks are
    asked in reverse, so "zzz-..." answers before "aaa-..." whatever the path order (was: undocumented)."""
    first, last = tmp_path / "first", tmp_path / "last"
    for site, entry_point in ((first, "aaa-claim"), (last, "zzz-claim")):
        module = entry_point.replace("-", "_")
        _fake_dist(site, f"had-probe-{entry_point}", entry_point, module, f'''
            import had

            @had.hookimpl
            def source_for_path(path, settings):
                return "{entry_point}-source" if path.endswith(".probe") else None
            ''')
    asked = ("import had.scenefiles as s; print(s.source_for_path('x.probe'), s.source_for_path('x.npy'))")
    for sites in ((first, last), (last, first)):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([*map(str, sites), os.environ.get("PYTHONPATH", "")]),
               "HAD_PLUGINS": "aaa-claim,zzz-claim"}
        env.pop("HAD_DISABLE_PLUGINS", None)
        out = subprocess.run([sys.executable, "-c", asked], capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == ["zzz-claim-source", "npy-file"], sites
