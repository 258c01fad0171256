"""Plugin discovery and the registry of detectors, data sources and metrics.

Plugins are found through the entry point group ``had`` (importlib.metadata, through pluggy). Loading is lazy:
``import had`` loads nothing; the first registry lookup does. Environment:

* ``HAD_PLUGINS=a,b``: load only these entry points (or distributions); ``HAD_PLUGINS=`` loads none.
* ``HAD_DISABLE_PLUGINS=a,b``: block these.

A name in either that matches no installed plugin is one warning line on stderr (:func:`_warn_unknown_selection`).

A plugin that fails to import, whose hook raises, that declares a plugin API version this core does not support
(:mod:`had.plugin_api`) or whose hooks had cannot call (:func:`_hook_refusal`; in both cases it is unregistered
before any of its hooks runs) is recorded in :func:`load_errors` and the rest works;
"raises" includes ``sys.exit()`` and any other ``BaseException`` except ``KeyboardInterrupt`` (:func:`_failure`).
The core registers its built-ins (metrics, RX) through the same hooks, as pytest does.
A name that two plugins register is kept for the distribution :data:`had.catalog.PROVIDED_BY` lists it under, else for
the first of :func:`_registration_order` (never install order); the other is refused and reported.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import importlib.metadata as md
import inspect
import os
import re
import threading
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Callable

import pluggy

from . import catalog, hookspecs
from .errors import LIST_COMMAND, PLUGIN_FAULT, ConfigError, PluginError, UnknownNameError, one_line, shown
from .plugin_api import check_plugin_api

GROUP = "had"
KINDS = ("detector", "datasource", "metric")
_HOOK_OF_KIND = {"detector": "register_detectors", "datasource": "register_datasources", "metric": "register_metrics"}


def _failure(exc: BaseException) -> str:
    """How a plugin failed, for `had plugins`, in one line (a message's lines joined by "; "; was: pluggy's
    three-line PluginValidationError broke the table); re-raises Ctrl-C, which is the user's, not the plugin's."""
    if isinstance(exc, KeyboardInterrupt):
        raise exc
    if isinstance(exc, SystemExit):
        return f"SystemExit: the plugin called sys.exit({exc.code!r})"
    return f"{type(exc).__name__}: " + "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


@contextlib.contextmanager
def exit_reported(what: str):
    """Run plugin code (`what`: "the lren detector's fit") with its ``sys.exit()`` made a :class:`PluginError`:
    a plugin that exits while fitting or scoring (an argparse or click call inside it, a library's exit on an
    error) is reported in one line, as one that exits on import is, not the caller's silent end (``had fit``
    exited with the plugin's code and no word; a serial ``had bench`` grid stopped at that cell)."""
    try:
        yield
    except SystemExit as exc:
        raise exit_error(what, exc) from None


def exit_error(what: str, exc: SystemExit) -> PluginError:
    """The one line for plugin code (`what`) that called ``sys.exit()`` (:func:`exit_reported`)."""
    return PluginError(f"{what} called sys.exit({exc.code!r}); {PLUGIN_FAULT}")


@dataclass
class Entry:
    """One registered name: what it resolves to, which plugin gave it, and its config defaults."""

    kind: str
    name: str
    target: Any
    plugin: str
    summary: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)

    def load(self) -> Any:
        """The class (or Metric) behind this entry, importing it if registered as a string."""
        if isinstance(self.target, str):
            module, _, attr = self.target.partition(":")
            try:
                self.target = getattr(importlib.import_module(module), attr)
            except BaseException as exc:  # the plugin is broken, not the caller (sys.exit included)
                raise PluginError(
                    f"{self.kind} {self.name!r} from plugin {self.plugin!r} failed to import "
                    f"({self.target}): {_failure(exc)}"
                ) from exc
        self._check_kind()
        self._check_defaults()
        return self.target

    def _check_kind(self) -> None:
        """PluginError when a detector or data source's target is not a had class of that kind with a config
        class (was: `had fit` / `had bench` tracebacks from deep inside, ``NotADetector() takes no arguments``,
        ``'NoneType' object has no attribute 'model_validate'``)."""
        if self.kind not in ("detector", "datasource"):
            return
        from .config import HadConfig
        from .data import DataSource
        from .detector import Detector

        base = Detector if self.kind == "detector" else DataSource
        where = f"{self.kind} {self.name!r} from plugin {self.plugin!r}"
        if not (isinstance(self.target, type) and issubclass(self.target, base)):
            raise PluginError(f"{where} is {self.target!r}, not a had.{base.__name__} subclass; the plugin "
                              f"registers something else under this name: report it to its authors")
        config = getattr(self.target, "Config", None)
        if not (isinstance(config, type) and issubclass(config, HadConfig)):
            raise PluginError(f"{where}: its Config is {config!r}, not a had config class (subclass "
                              f"had.{'DetectorConfig' if self.kind == 'detector' else 'DataSourceConfig'}); "
                              "report it to its authors")
        if inspect.isabstract(self.target):  # was: `had fit` ended in "TypeError: Can't instantiate abstract class"
            missing = ", ".join(sorted(self.target.__abstractmethods__))
            raise PluginError(f"{where} is {self.target.__qualname__}, an abstract class that does not implement "
                              f"{missing}: report it to its authors")

    def _check_defaults(self) -> None:
        """PluginError when a detector is registered with defaults its config refuses (an unknown field, a value out
        of bounds): the plugin's registration, not a setting the user gave. Was: `had fit rx-baddef` said "invalid
        config for detector rx-baddef: no_such_field: Extra inputs are not permitted" to a user who gave none.
        (A data source's preset is judged with the user's settings, by :func:`had.data.from_entry`.)"""
        if self.kind != "detector" or not self.defaults:
            return
        from pydantic import ValidationError

        try:
            self.target.Config.model_validate(self.defaults)
        except ValidationError as exc:
            wrong = [e for e in exc.errors() if e["loc"] and e["loc"][0] in self.defaults]
            if wrong:
                said = "; ".join(f"{e['loc'][0]}={self.defaults[e['loc'][0]]!r}: {e['msg']}" for e in wrong)
                raise PluginError(f"detector {self.name!r} is registered by plugin {self.plugin!r} with defaults its "
                                  f"config refuses ({said}); that is the plugin's registration, not a setting you "
                                  "gave: report it to its authors") from None

    def describe(self) -> str:
        """The summary; else the class's own, in one line (a summary given at registration is made so there)."""
        if self.summary:
            return self.summary
        target = self.target
        if isinstance(target, str):
            return ""
        said = one_line(getattr(target, "summary", "") or getattr(target, "description", ""))
        if self.kind == "metric" and getattr(target, "higher_is_better", True) is False:  # eer, auc_pf_tau: said
            said = f"{said} (lower is better)" if said else "lower is better"
        return said


@dataclass
class PluginInfo:
    name: str
    distribution: str | None = None
    version: str | None = None
    registers: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None


class _State:
    def __init__(self) -> None:
        self.pm: pluggy.PluginManager | None = None
        #: errors said once, while loading: import, API or hook refusals, entry point clashes, register_commands
        self.load_errors: dict[str, str] = {}
        #: errors of the last registry build (was: one dict, so a rebuild kept the errors of the build before)
        self.build_errors: dict[str, str] = {}
        #: plugin name -> (distribution, version) of every entry point considered, loaded or not
        self.dists: dict[str, tuple[str | None, str | None]] = {}
        self.registry: dict[str, dict[str, Entry]] | None = None
        self.provided: dict[str, dict[str, list[str]]] = {}
        self.commands: dict[str, list[str]] = {}
        #: plugins registered in this process (:func:`register_plugin`), which other processes do not have
        self.in_process: set[str] = set()
        #: (kind, name) -> the plugins whose registration of that name was refused (another plugin kept it)
        self.refused: dict[tuple[str, str], list[str]] = {}
        #: the thread loading the entry points (None: none is): the manager is in place for it alone meanwhile
        self.loader: int | None = None


_state = _State()
#: held while the entry points load: another thread asking for the manager then waits for the whole of it (was:
#: given the half-loaded manager, 7 of 10 threads starting together got "unknown detector")
_LOADING = threading.RLock()


def _split_env(var: str) -> list[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return [item.strip() for item in raw.split(",") if item.strip()]


def _dist_of(dist: Any) -> tuple[str | None, str | None]:
    """(name, version) of an importlib.metadata distribution; the name is None when its METADATA has none."""
    return dist.metadata.get("Name"), dist.version


def _ep_dist(ep: md.EntryPoint) -> tuple[str | None, str | None]:
    """(name, version) of the distribution of entry point `ep`."""
    return _dist_of(ep.dist) if ep.dist is not None else (None, None)


def plugin_manager() -> pluggy.PluginManager:
    """The pluggy manager with the built-ins and every allowed entry point loaded (loads once). It is in place while
    the entry points load, so that a plugin using the registry as it is imported (``RX = type(had.get_detector(
    "rx"))``) sees the core and the plugins loaded so far; the registry built then is dropped when loading ends.
    Was: that call loaded a second manager, and its registry, built without that plugin's registrations, was kept
    (`had plugins` said "ok" with nothing registered, `had fit rx-sub`: unknown detector)."""
    if _state.pm is not None and _state.loader in (None, threading.get_ident()):
        return _state.pm
    with _LOADING:
        if _state.pm is not None:  # loaded by another thread meanwhile (or by this one, re-entered)
            return _state.pm
        pm = pluggy.PluginManager(GROUP)
        pm.add_hookspecs(hookspecs)
        from . import builtins

        pm.register(builtins, name="had")
        _state.pm, _state.loader = pm, threading.get_ident()
        try:
            _load_entry_points(pm)
        except BaseException:  # Ctrl-C while loading: the next call starts again
            reset()
            raise
        finally:
            _state.loader = None
        _state.registry = None
        return pm


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    """Load every allowed entry point of the group into `pm`, recording why each that failed did. Entry points are
    taken by name, then distribution name, so which of two same-named ones loads does not depend on the install
    (was: the first on sys.path, through pluggy's own loader)."""
    allow = _split_env("HAD_PLUGINS")
    block = set(_split_env("HAD_DISABLE_PLUGINS") or [])
    for name in block:
        pm.set_blocked(name)
    seen: dict[str, str | None] = {"had": "had"}  # entry point name -> its distribution; "had" is the core's
    # each distribution's METADATA read once (was: three times an entry point, ~20 ms of every command)
    points = [(ep, _ep_dist(ep)) for ep in md.entry_points(group=GROUP)]
    for ep, dist in sorted(points, key=lambda pair: (pair[0].name, _normalized(pair[1][0]) or "")):
        dist_name = dist[0]
        if ep.name in seen:  # pluggy keeps the first of a name: the other was dropped without a word
            if seen[ep.name] != dist_name:
                key = f"{ep.name} ({dist_name})"
                _state.dists[key] = dist
                _add_error(_state.load_errors, key,
                           f"entry point name {ep.name!r} is taken by {seen[ep.name] or 'another plugin'}, so "
                           f"{dist_name}'s plugin was not loaded: give it another name under "
                           "[project.entry-points.had] in its pyproject.toml and reinstall it")
            continue
        seen[ep.name] = dist_name
        if ep.name in block or dist_name in block:
            continue
        if allow is not None and ep.name not in allow and dist_name not in allow:
            continue
        _state.dists[ep.name] = dist
        if not dist_name:  # was: a TypeError ordering the plugins by distribution name, in every command
            error = ("its distribution's METADATA has no Name, so it was not loaded: the plugin is not installed "
                     "properly; reinstall it with pip")
        else:
            error = _load(pm, ep, dist_name)
        if error is not None:
            _add_error(_state.load_errors, ep.name, error)
    _warn_unknown_selection(allow, block, seen)


def _load(pm: pluggy.PluginManager, ep: md.EntryPoint, dist_name: str | None) -> str | None:
    """Import entry point `ep` and register it in `pm`; why it failed or was refused (then it is not registered),
    or None."""
    try:
        plugin = ep.load()
        pm.register(plugin, name=ep.name)
        error = _api_refusal(plugin, ep.name, dist_name) or _hook_refusal(pm, plugin)
        if error is not None:
            pm.unregister(name=ep.name)  # its hooks are never called
        return error
    except BaseException as exc:  # sys.exit() at import too
        plugin = getattr(exc, "plugin", None)  # pluggy's PluginValidationError: hooks this core does not know
        return (plugin is not None and _api_refusal(plugin, ep.name, dist_name)) or _failure(exc)


#: (variable, name) pairs already warned about: said once per process, not again after :func:`reset`
_warned: set[tuple[str, str]] = set()


def _warn_unknown_selection(allow: list[str] | None, block: set[str], seen: dict[str, str | None]) -> None:
    """One stderr line per variable (HAD_PLUGINS, HAD_DISABLE_PLUGINS) naming what matches no installed plugin
    (neither an entry point name nor a distribution), with the installed ones. A warning, not an error: a
    deployment may list a plugin it installs later, and a misspelt block still loads everything else.
    Was: such a name was ignored without a word (``HAD_PLUGINS=hsi`` for ``had-plugin-hsi``: only RX loaded).
    A name with a newline or a terminal escape is quoted (:func:`~had.errors.shown`; was: echoed raw)."""
    import sys

    known = set(seen) | {dist for dist in seen.values() if dist}
    for var, given in (("HAD_PLUGINS", allow or []), ("HAD_DISABLE_PLUGINS", sorted(block))):
        unknown = [n for n in given if n not in known and (var, n) not in _warned]
        if not unknown:
            continue
        _warned.update((var, n) for n in unknown)
        installed = ", ".join(sorted(n for n in seen if n != "had")) or "none"
        names = ", ".join(map(shown, unknown))
        with contextlib.suppress(OSError, ValueError):  # a closed stderr never stops the loading
            print(f"warning: {var}: {names} {'matches' if len(unknown) == 1 else 'match'} no installed "
                  f"plugin (entry point or distribution name), ignored; installed: {installed}; check the spelling "
                  "or install it", file=sys.stderr)


def _api_refusal(plugin: Any, name: str, distribution: str | None) -> str | None:
    """Why a loaded plugin module is refused for its declared plugin API version (:mod:`had.plugin_api`), or None."""
    if plugin is None:
        return None
    try:
        check_plugin_api(plugin, name, distribution)
    except PluginError as exc:
        return _failure(exc)
    return None


def _hook_refusal(pm: pluggy.PluginManager, plugin: Any) -> str | None:
    """Why a loaded plugin's hooks cannot be used, or None: a hook had does not have (misspelt: ``register_detector``),
    or one written as a generator (it yields, so its body never runs). Was: either registered nothing, "ok"."""
    for caller in pm.get_hookcallers(plugin) or []:
        impl = next(impl for impl in caller.get_hookimpls() if impl.plugin is plugin)
        if not caller.has_spec() and not impl.optionalhook:
            known = [name for name, spec in vars(hookspecs).items() if hasattr(spec, f"{GROUP}_spec")]
            if difflib.get_close_matches(caller.name, known, n=1, cutoff=0.8):  # misspelt; another name may be a
                return (f"unknown hook {caller.name!r}: had's hooks are {', '.join(known)}; rename it")  # newer
            continue  # had's hook, which this core does not call: the plugin's other hooks work (a review)
        if inspect.isgeneratorfunction(impl.function) and not (impl.hookwrapper or impl.wrapper):  # wrappers yield
            return (f"hook {caller.name!r} is a generator (it yields), so its body would never run: call register "
                    "(or return the answer) instead of yielding")
    return None


def add_commands(cli: Any) -> None:
    """Call every plugin's ``register_commands(cli)`` (in :func:`_registration_order`), recording which commands each
    adds; errors and refused commands (:func:`_checked_commands`) are recorded."""
    pm = plugin_manager()
    for impl in _registration_order(pm.hook.register_commands.get_hookimpls(), _distributions()):
        before = dict(cli.commands)
        try:
            impl.function(cli=cli)
        except BaseException as exc:
            _add_error(_state.load_errors, impl.plugin_name, f"register_commands raised {_failure(exc)}")
        added = _checked_commands(cli, before, impl.plugin_name)
        if added:
            _state.commands[impl.plugin_name] = added


#: the attribute of a click command that names the plugin that added it
OWNER = "_had_plugin"


def _checked_commands(cli: Any, before: dict[str, Any], plugin: str) -> list[str]:
    """The commands `plugin` added to `cli` (whose commands were `before`), after putting back any it replaced or
    removed and removing what is not a click command or has no usable name; each such change is its error. Was: a
    plugin's ``fit`` or ``plugins`` silently replaced the core's; ``cli.add_command(42, name="weird")`` broke
    `had --help` (AttributeError)."""
    import click

    added = []
    for name, command in list(cli.commands.items()):
        if before.get(name) is command:
            continue
        # its own command added again is taken (a second main() in one process: was refused; a review)
        owned_by = getattr(before.get(name), OWNER, None)  # the plugin that added the command there, None: had
        if name in before and owned_by != plugin:
            cli.commands[name] = before[name]
            owner = f"plugin {owned_by!r}'s" if owned_by else "had's"
            _add_error(_state.load_errors, plugin, f"command {name!r} is {owner}, so this plugin's command of that "
                       "name was refused: give it another name in its register_commands hook")
            continue
        problem = _name_problem(name) or (None if isinstance(command, click.Command)
                                          else f"it is {shown(repr(command))[:60]}, not a click command")
        if problem is not None:
            del cli.commands[name]
            _add_error(_state.load_errors, plugin, f"register_commands added command {shown(repr(name))[:60]}, "
                       f"which was removed: {problem}; add commands with @cli.command(\"name\")")
            continue
        with contextlib.suppress(AttributeError):  # a click command takes attributes; which plugin added it
            setattr(command, OWNER, plugin)
        added.append(name)
    for name in before.keys() - cli.commands.keys():
        cli.commands[name] = before[name]
        _add_error(_state.load_errors, plugin, f"register_commands removed command {name!r}, which was put back: "
                   "a plugin may only add commands")
    return sorted(added)


def register_plugin(plugin: Any, name: str) -> None:
    """Register an in-process plugin object or module (tests, notebooks) and rebuild the registry. Registered again
    under its name (a notebook cell run again, an edited plugin) it replaces the one registered before (was:
    pluggy's "Plugin name already registered" with its whole plugin table; under another name the earlier one
    keeps the names both register, as any first registration does); an installed plugin's name is refused, and so
    is an object registered already under another name (:class:`PluginError` naming it)."""
    pm = plugin_manager()
    if pm.get_plugin(name) is not None and name not in _state.in_process:
        raise PluginError(f"{name!r} is the name of an installed plugin (`had plugins`); register yours under "
                          "another name")
    check_plugin_api(plugin, name)  # as an installed plugin's (was: registered whatever PLUGIN_API it declared)
    if (held_as := pm.get_name(plugin)) not in (None, name):  # was: pluggy's ValueError, with its plugin table;
        # checked before anything is unregistered, so that a refused call changes nothing
        how = (f"unregister it first (had.plugins.unregister_plugin({held_as!r})) or register it again as {held_as!r}"
               if held_as in _state.in_process else "it is an installed plugin's; register an object of your own")
        raise PluginError(f"this plugin object is registered already, as {held_as!r}: {how}")
    if pm.get_plugin(name) is not None:
        unregister_plugin(name)
    pm.register(plugin, name=name)
    _state.in_process.add(name)
    _state.registry = None


def unregister_plugin(name: str) -> None:
    pm = plugin_manager()
    plugin = pm.get_plugin(name)
    if plugin is not None:
        pm.unregister(plugin)
    _state.in_process.discard(name)
    _state.registry = None


def check_workers_load(kind: str, names: Iterable[str], executor: str) -> None:
    """A :class:`ConfigError` when one of `names` (of `kind`) comes from a plugin registered in this process, which
    the `executor`'s workers (processes, Ray tasks) do not load (:func:`in_this_process_only`); nothing for the
    serial executor, which runs here."""
    if executor == "serial":
        return
    for name in names:
        if (plugin := in_this_process_only(kind, name)) is not None:
            raise ConfigError(f"{kind} {name!r} comes from plugin {plugin!r}, registered in this process "
                              f"(had.plugins.register_plugin), which {executor} workers do not load; use the serial "
                              "executor, or install the plugin as a distribution (entry point group 'had')")


def in_this_process_only(kind: str, name: str) -> str | None:
    """The plugin registering `kind` `name` when :func:`register_plugin` registered it in this process (worker
    processes and Ray tasks load the installed distributions only, so they do not know it); else None."""
    entry = registry()[kind].get(name)
    return entry.plugin if entry is not None and entry.plugin in _state.in_process else None


def reset() -> None:
    """Forget everything loaded (tests use this after changing HAD_PLUGINS or installing a plugin)."""
    _state.__init__()
    importlib.invalidate_caches()


#: the rule for a name two plugins register that had's catalog does not reserve, as the refused one's error says it
_FIRST_KEPT = ("of plugins registering one name, had's core is kept, then the first by distribution name, then "
               "those registered in this process, in their order")


def _distributions() -> dict[str, str]:
    """Plugin name -> the distribution it came from ("had" for the core). Plugins registered in this process
    (:func:`register_plugin`) have none; nor has an entry point whose METADATA names none (it is not loaded)."""
    dists = {name: dist for name, (dist, _) in _state.dists.items() if dist}
    return {**dists, "had": "had"}


def _registration_order(impls: list, dists: dict[str, str]) -> list:
    """`impls` (one hook's) in the order their registrations are tried: the core, then installed plugins by
    distribution name (then entry point name), then in-process ones as registered. Was: pluggy's order, which is
    entry point discovery (install) order, so which plugin kept a clashing name depended on the install."""
    def key(indexed):
        index, impl = indexed
        name = impl.plugin_name
        if name == "had":
            return (0, "", "", index)
        if name in dists:
            return (1, _normalized(dists[name]), name, index)
        return (2, "", "", index)

    return [impl for _, impl in sorted(enumerate(impls), key=key)]


def _normalized(distribution: str | None) -> str | None:
    """A distribution name as PEP 503 compares them (``Had_Plugin.X`` is ``had-plugin-x``)."""
    return re.sub(r"[-_.]+", "-", distribution).lower() if distribution else distribution


def same_distribution(one: str | None, other: str | None) -> bool:
    """Whether two distribution names are the same distribution (PEP 503: case, ``-``/``_``/``.`` aside)."""
    return _normalized(one) == _normalized(other)


def _reserved_for(kind: str, name: str, distribution: str | None) -> str | None:
    """The distribution of had's that :data:`had.catalog.PROVIDED_BY` lists for `kind` `name` when it is not
    `distribution` (the registering plugin's) and is installed: that plugin may not take the name; else None (a
    name whose distribution is not installed is free: a notebook's own ``autoencoder``; a model it saves records
    its distribution, which :func:`had.artifact.load` compares)."""
    owner = catalog.provider(kind, name)
    if owner is None or same_distribution(owner, distribution):
        return None
    return owner if catalog._installed(owner) else None  # looked up only for a name another plugin registers


def _refusal(kind: str, name: str, owner: str | None, kept_by: str | None) -> str:
    """The `had plugins` error of a plugin whose registration of `kind` `name` was refused: the name is had's
    `owner`'s (:func:`_reserved_for`), or plugin `kept_by` registered it first (:data:`_FIRST_KEPT`)."""
    fix = f"register this one under another name in the plugin's register_{kind}s hook"
    if owner is not None:
        return (f"{kind} {name!r} belongs to {owner} (had's catalog), so this plugin's registration of it was "
                f"refused whatever the install order: {fix}")
    return f"{kind} {name!r} is already registered by plugin {kept_by!r}, whose {kind} was kept ({_FIRST_KEPT}): {fix}"


def _build_registry() -> dict[str, dict[str, Entry]]:
    """Every plugin's registrations. A name had's catalog lists is kept for its distribution whatever the order
    (:func:`_reserved_for`); any other name clash keeps the first in :func:`_registration_order`; the refused
    registration is reported on its plugin's row. Was: pluggy's order decided both, so a third-party plugin
    discovered first took ``autoencoder`` from had-plugin-autoencoder (`had fit autoencoder` fitted it)."""
    pm = plugin_manager()
    dists = _distributions()
    registry: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}
    provided: dict[str, dict[str, list[str]]] = {}
    _state.refused = {}  # of this registry's build
    _state.build_errors = {}
    for kind in KINDS:
        hook = getattr(pm.hook, _HOOK_OF_KIND[kind])
        for impl in _registration_order(hook.get_hookimpls(), dists):
            plugin_name = impl.plugin_name

            def register(name_or_metric, target=None, summary: str = "", _kind=kind, _plugin=plugin_name, **defaults):
                if _kind == "metric":
                    metric = name_or_metric
                    name, entry_target = getattr(metric, "name", None), metric
                else:
                    name, entry_target = name_or_metric, target
                problem = ((_metric_problem(name_or_metric) if _kind == "metric" else None) or _name_problem(name)
                           or _mark_problem(_kind, name) or _summary_problem(summary))
                if problem is not None:
                    _add_error(_state.build_errors, _plugin, f"its registration of {_kind} {shown(repr(name))[:60]} "
                               f"was refused: {problem}")
                    return
                if _kind != "metric" and target is None:
                    raise PluginError(f"plugin {_plugin!r} registered {_kind} {name!r} without a target")
                owner = _reserved_for(_kind, name, dists.get(_plugin))
                if owner is not None or name in registry[_kind]:
                    kept_by = registry[_kind][name].plugin if name in registry[_kind] else None
                    _state.refused.setdefault((_kind, name), []).append(_plugin)
                    _add_error(_state.build_errors, _plugin, _refusal(_kind, name, owner, kept_by))
                    return
                registry[_kind][name] = Entry(_kind, name, entry_target, _plugin, one_line(summary or ""), dict(defaults))
                provided.setdefault(_plugin, {}).setdefault(_kind, []).append(name)

            try:
                impl.function(register)
            except BaseException as exc:  # said beside its refusals before (was: in their place)
                _add_error(_state.build_errors, plugin_name, f"{_HOOK_OF_KIND[kind]} raised {_failure(exc)}")
                if os.environ.get("HAD_DEBUG"):
                    traceback.print_exc()
    _state.provided = provided
    return registry


def _name_problem(name: Any) -> str | None:
    """What makes `name` (of a registration or a command) unusable in listings and on the command line, or None.
    Was: ``register(5, ...)`` or ``register("nl\\nname", ...)`` broke `had plugins` and `had list` (TypeError) or
    their lines."""
    if not isinstance(name, str):
        return f"its name is of type {type(name).__name__}, not a str"
    if not name.strip():
        return "its name is empty"
    if not name.isprintable():
        return "its name holds a control character (a newline, a terminal escape): give a one-line name"
    if name != name.strip():  # the command line and grid files strip what they are given: never found
        return "its name begins or ends with a space"
    return None


def _mark_problem(kind: str, name: Any) -> str | None:
    """A detector's or metric's name holding the mark of a grid's variants (``NAME@LABEL``), or None: ``rx@fast``
    registered would read as a variant of ``rx`` (was: registered, and ``rx@fast@x`` a variant of ``rx``)."""
    from .grid import VARIANT_MARK

    if kind in ("detector", "metric") and isinstance(name, str) and VARIANT_MARK in name:
        return f"its name holds {VARIANT_MARK!r}, which names a variant (NAME{VARIANT_MARK}LABEL) in a grid"
    return None


def _metric_problem(metric: Any) -> str | None:
    """What makes `metric`, given to ``register_metrics``' ``register``, no metric had can compute, or None. Was:
    anything with a ``name`` was listed as ok, then failed in every cell ("'M' object is not callable"); a
    ``Config`` that is no config class made ``had describe`` a traceback."""
    from .metrics import Metric, MetricConfig

    if not isinstance(metric, Metric):
        return f"it is a {type(metric).__name__}, not a had.metrics.Metric: register(Metric(name, fn, ...))"
    if not callable(metric.fn):
        return f"its fn is a {type(metric.fn).__name__}, not a function"
    if not (isinstance(metric.Config, type) and issubclass(metric.Config, MetricConfig)):
        return f"its Config is {shown(repr(metric.Config))[:60]}, not a subclass of had.metrics.MetricConfig"
    if untaken := _fields_not_taken(metric.fn, metric.Config):  # every call would fail (was: said at each call)
        return (f"its Config has field(s) {', '.join(untaken)} that its function does not take: each is passed to "
                "it by keyword; add them to the function's parameters or remove them from the Config")
    return None


def _fields_not_taken(fn: Callable[..., Any], config: type) -> list[str]:
    """The fields of `config` that `fn` cannot take by keyword ([] where its signature cannot be read, or it takes
    ``**kwargs``)."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin or C function: not said here, as before
        return []
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return []
    takes = {p.name for p in parameters if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                      inspect.Parameter.KEYWORD_ONLY)}
    return [name for name in config.model_fields if name not in takes]


def _summary_problem(summary: Any) -> str | None:
    """Why `summary` is not a summary (a str), or None; its control characters are escaped where it is stored."""
    if summary is None or isinstance(summary, str):  # None: the class's own, as "" (a class without a docstring)
        return None
    return f"its summary is of type {type(summary).__name__}, not a str"


def _add_error(errors: dict[str, str], plugin: str, error: str) -> None:
    """Record `error` for `plugin` in `errors` (:attr:`_State.load_errors` or :attr:`_State.build_errors`) beside any
    it already has, in one line with control characters escaped ("; " between errors): every refused name of a
    plugin is said on its `had plugins` row (was: the first alone, so fixing it revealed the next)."""
    error = one_line(error)
    said = errors.get(plugin)
    if said is None:
        errors[plugin] = error
    elif error not in said.split("; "):
        errors[plugin] = f"{said}; {error}"


def _errors() -> dict[str, str]:
    """Every plugin's errors: those of loading, then those of the registry's last build."""
    errors = dict(_state.load_errors)
    for plugin, error in _state.build_errors.items():
        _add_error(errors, plugin, error)
    return errors


def registry() -> dict[str, dict[str, Entry]]:
    """``{"detector": {name: Entry}, "datasource": {...}, "metric": {...}}`` over every loaded plugin."""
    plugin_manager()  # another thread loading the plugins: waited for (its registry of the way is dropped)
    if _state.registry is None:
        _state.registry = _build_registry()
    return _state.registry


#: what names an entry of each kind, said to a name that is not a str
_NAMED_BY = {"detector": "a detector name (str)", "metric": "a metric name (str)",
             "datasource": "a dataset name or the path of a data file (str or pathlib.Path)"}


def check_name(kind: str, name: Any) -> str:
    """`name` when it is a str; ConfigError saying what names a `kind` otherwise (was: a TypeError from difflib's
    "did you mean", ``had.get_detector(5)``)."""
    if not isinstance(name, str):
        raise ConfigError(f"expected {_NAMED_BY[kind]}, got {type(name).__name__} {shown(repr(name))[:60]}; "
                          f"`had list {LIST_COMMAND[kind]}` lists the names")
    return name


def entry(kind: str, name: str) -> Entry:
    """The registry entry for `name`, or UnknownNameError listing the known names."""
    entries = registry()[kind]
    if check_name(kind, name) not in entries:
        raise UnknownNameError(kind, name, list(entries), sorted(_errors()))  # a broken plugin's name, maybe
    return entries[name]


def names(kind: str) -> list[str]:
    return sorted(registry()[kind])


def refused_registrations(kind: str, name: str) -> list[str]:
    """The plugins whose registration of `kind` `name` was refused because another plugin kept the name."""
    registry()
    return list(_state.refused.get((kind, name), []))


def load_errors() -> dict[str, str]:
    """Plugins that failed to load or register, with their error."""
    registry()
    return _errors()


def plugins() -> list[PluginInfo]:
    """Every plugin: built-ins, loaded entry points, and those that failed, with versions and registrations."""
    pm = plugin_manager()
    registry()
    dists = {**_state.dists, "had": ("had", _version("had"))}
    loaded = {name for name, plugin in pm.list_name_plugin() if plugin is not None}
    errors = _errors()
    infos = []
    for name in loaded | set(errors):
        registers = dict(_state.provided.get(name, {}))
        if name in _state.commands:
            registers["command"] = _state.commands[name]
        infos.append(PluginInfo(name, *dists.get(name, (None, None)), registers, errors.get(name)))
    return sorted(infos, key=lambda p: (p.name != "had", p.name))


def _version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def plugin_version(plugin: str) -> tuple[str | None, str | None]:
    """(distribution, version) of a loaded plugin, for artifacts."""
    for info in plugins():
        if info.name == plugin:
            return info.distribution, info.version
    return None, None
