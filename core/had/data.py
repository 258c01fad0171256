"""The :class:`Dataset` value and the :class:`DataSource` interface.

A data source is a named, configurable loader returning a :class:`Dataset`. Splits and protocols
(train/test, known labels) are functions of :mod:`had.protocols`, shared by every data plugin.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Iterator

import numpy as np

from . import validation
from .config import HadConfig, build_config, configured_repr
from .errors import PLUGIN_FAULT, ConfigError, HadError, LabelError, PluginError, flat_text, shown

#: the data source whose ``load()`` runs now, named by the errors a Dataset or a data file raises inside it
#: (:func:`loading`)
_LOADING: contextvars.ContextVar[Any] = contextvars.ContextVar("had_loading_source", default=None)


def loading() -> str | None:
    """The data source whose ``load()`` is running ("data source 'NAME' of plugin 'P'"), or None outside one."""
    source = _LOADING.get()
    return None if source is None else source._who()


@dataclass(frozen=True)
class Dataset:
    """Data, ground truth and metadata.

    X: rows ``(N, D)``, a cube ``(H, W, B)`` or images ``(N, C, H, W)``.
    y: ground truth, 0 = normal, 1 = anomaly: ``(N,)``, or ``(H, W)`` for a cube; None if unknown.
    known: semi-supervised labels for fit (1 known anomaly, -1 known normal, 0 unlabeled), or None.
    classes: the original class of each sample where there is one (MNIST digits), else None.
    meta: citation, source address, sha256, default protocol, anything a plugin wants to say.
    """

    name: str
    X: np.ndarray
    y: np.ndarray | None = None
    known: np.ndarray | None = None
    classes: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # lazy: an integer line read from a file holds no NaN and stays on disk (was: converted whole to float64 to
        # be checked, 4x an int16 file's size in memory, by had.load_dataset)
        # a scene's pixels that are NaN in every band pass (fill outside a survey's area or a swath): the detector
        # that fits it refuses them unless its nodata is NaN, and says so (the load had refused them first, so
        # `--set nodata=nan`, the fix it gives, could never take effect on a file)
        fill = float("nan") if np.ndim(self.X) == 3 else None
        validation.check_array(self.X, what=f"dataset {self.name!r}", lazy=True, fill=fill)
        if self.y is not None:
            object.__setattr__(self, "y", self._truth())
        if self.known is not None:
            validation.check_known(self.known, self.X)

    def _truth(self) -> np.ndarray:
        """`y` checked and as a numpy array: ``(N,)`` for rows and images (``(N, 1)`` and a list become it), a cube's
        ``(H, W)`` or ``(H*W,)`` as given. Was: what check_truth returned was dropped and the raw `y` kept, so a
        table's ``(1, N)`` or ``(N/2, 2)`` truth (as many labels) passed, then `had bench` failed in :meth:`subset`
        with an IndexError, and a list's ``repr`` raised AttributeError."""
        validation.check_truth(self.y, self.X, what=f"ground truth of {self.name!r}")
        y = validation.as_array(self.y, "labels")
        if np.ndim(self.X) == 3:
            return y
        n = validation.n_samples(self.X)
        if y.shape not in ((n,), (n, 1)):
            source = loading()
            blame = f"; {source} made it: report it to its authors" if source else ""
            raise LabelError(f"ground truth of {self.name!r} has shape {y.shape} for {self.kind} data of shape "
                             f"{tuple(np.shape(self.X))}: pass one label per sample, shape ({n},){blame}")
        return y.reshape(n)

    @property
    def kind(self) -> str:
        return validation.kind_of(self.X)

    @property
    def n_samples(self) -> int:
        return validation.n_samples(self.X)

    @property
    def n_anomalies(self) -> int | None:
        return None if self.y is None else int(np.sum(self.y))

    def subset(self, index: np.ndarray, name: str | None = None, **changes: Any) -> "Dataset":
        """Rows/images `index` of a tabular or image dataset (not a cube)."""
        if self.kind == "cube":
            raise ValueError("a cube cannot be subset by sample index")
        return replace(
            self,
            name=name or self.name,
            X=self.X[index],
            y=None if self.y is None else self.y[index],
            known=None if self.known is None else self.known[index],
            classes=None if self.classes is None else self.classes[index],
            **changes,
        )

    def __repr__(self) -> str:
        """Shapes and dtypes, never the arrays themselves (a scene's repr would print millions of numbers)."""
        def array(a: np.ndarray | None) -> str:
            return "None" if a is None else f"<{a.dtype} {'x'.join(str(s) for s in a.shape) or 'scalar'}>"

        meta = ", ".join(sorted(self.meta)) if self.meta else ""
        return (f"Dataset(name={self.name!r}, kind={self.kind!r}, X={array(self.X)}, y={array(self.y)}, "
                f"known={array(self.known)}, classes={array(self.classes)}, meta keys=[{meta}])")

    def describe(self) -> str:
        shape = "x".join(str(s) for s in self.X.shape)
        anomalies = "" if self.y is None else f", {self.n_anomalies} anomalies"
        return f"{self.name}: {self.kind} {shape}{anomalies}"


class DataSourceConfig(HadConfig):
    """Fields every data source has (none yet; plugins add theirs)."""


class DataSource(ABC):
    """A named, configurable loader. Subclasses set `name`, `Config`, `kind` and implement `load`."""

    name: ClassVar[str] = ""
    Config: ClassVar[type[DataSourceConfig]] = DataSourceConfig
    kind: ClassVar[str] = "tabular"
    summary: ClassVar[str] = ""
    #: protocol `had bench` uses by default: "transductive" (scenes), "adbench" or "deepsad" (tables)
    default_protocol: ClassVar[str] = "transductive"
    #: config fields whose registered preset names the data itself (``scene`` of ``abu-airport-1``, ``table`` of
    #: ``thyroid``): a setting giving another value is refused (it read another dataset under this one's name);
    #: other presets are defaults the user's settings override
    named_by: ClassVar[tuple[str, ...]] = ()

    #: (registered name, plugin) set by :func:`from_entry` before ``__init__``, as :func:`had.get_detector` names a
    #: detector: one class may serve several names (``arrhythmia`` is an ``odds-table``)
    _registered: tuple[str, str] | None = None

    def __init__(self, config: Any = None, **overrides: Any):
        self.config = build_config(self.Config, f"data source {self._name()}", config, **overrides)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass's ``load`` runs through :func:`_checked_load`, its ``open`` (a scene opened to be read tile by
        tile, :mod:`had.scenefiles`) through :func:`_checked_open` (was: not checked; its ValueError a traceback,
        its ``sys.exit(6)`` a silent exit 6, its None an AttributeError on ``.meta``)."""
        super().__init_subclass__(**kwargs)
        for method, checker in (("load", _checked_load), ("open", _checked_open)):
            code = cls.__dict__.get(method)
            abstract = getattr(code, "__isabstractmethod__", False)
            if callable(code) and not abstract and not hasattr(code, "_had_checked"):
                setattr(cls, method, checker(code))

    def protocol(self, given: str | None = None) -> str:
        """`given` (the user's ``--protocol``), else the source's ``default_protocol``, which must be a protocol: a
        typo ("adbnech") is a PluginError saying it is the source's default (was: "unknown protocol 'adbnech'" in
        every ``had bench`` cell, as if the user had given it)."""
        if given:
            return given
        from .protocols import PROTOCOLS

        default = self.default_protocol
        if default not in PROTOCOLS:
            raise PluginError(f"{self._who()} gives default_protocol {default!r}, which is not a protocol (one of "
                              f"{', '.join(PROTOCOLS)}); {PLUGIN_FAULT} "
                              "(meanwhile give the protocol: had bench --protocol NAME)")
        return default

    def _name(self) -> str:
        """The name it was registered under, else its class's."""
        return self._registered[0] if self._registered else (self.name or type(self).__name__)

    def _who(self) -> str:
        """"data source 'NAME' of plugin 'P' (distribution D)" as far as known, for the errors that blame it."""
        if not self._registered:
            return f"data source {self._name()!r} ({type(self).__module__}.{type(self).__qualname__})"
        name, plugin = self._registered
        from .plugins import plugin_version

        try:
            dist = plugin_version(plugin)[0]
        except Exception:  # noqa: BLE001 - naming the distribution is a courtesy
            dist = None
        return f"data source {name!r} of plugin {plugin!r}" + (f" (distribution {dist})" if dist else "")

    @abstractmethod
    def load(self) -> Dataset:
        """Read (and verify) the data; return a Dataset."""

    def score_map(self, dataset: Dataset, scores: np.ndarray) -> np.ndarray | None:
        """Per-sample scores as an ``(H, W)`` picture, where samples have places (tiles of a raster);
        None otherwise. `had bench` writes it as a heat map beside :meth:`truth_map`."""
        return None

    def truth_map(self, dataset: Dataset) -> np.ndarray | None:
        """The ``(H, W)`` ground truth picture matching :meth:`score_map`, or None."""
        return None

    def __repr__(self) -> str:
        return configured_repr(self)


def _checked_load(load):
    """A data source's ``load`` as had runs it, the one place every caller (:func:`had.load_dataset`, ``had fit``,
    ``had bench``'s cells) takes its result: an exception that is not had's (a typed HadError, an OSError, memory)
    and ``sys.exit()`` become one PluginError naming the source and its plugin (were: a traceback, exit 1; the
    plugin's usage text as had's exit); a result that is not a Dataset, or whose kind (tabular, cube, image: the
    rank of X) is not the ``kind`` the source declares, is refused (was: fitted as what it was, a declared table
    of shape (N, 1, D) as a cube)."""

    @functools.wraps(load)
    def checked(self, *args: Any, **kwargs: Any) -> Dataset:
        dataset = _run_loading(self, "the load", load, *args, **kwargs)
        if not isinstance(dataset, Dataset):
            raise PluginError(f"the load of {self._who()} returned {type(dataset).__name__}, not a had.Dataset; "
                              f"{PLUGIN_FAULT}")
        declared = _declared_kind(type(self))
        if declared is not None and dataset.kind != declared:
            shape = validation.SHAPE_HINT.get(declared, "?")
            raise PluginError(f"{self._who()} declares kind {declared!r}, but its load returned {dataset.kind} data of "
                              f"shape {tuple(np.shape(dataset.X))} ({declared} data is {shape}); that is the plugin's "
                              "fault: report it to its authors")
        return dataset

    checked._had_checked = True  # type: ignore[attr-defined]
    return checked


def _checked_open(open_scene):
    """A data source's ``open`` as had runs it (:func:`had.scenefiles.open_scene`): its failure one PluginError, as
    :func:`_checked_load`'s, and a result that is not a :class:`had.tiling.LazyScene` (or a Dataset) refused."""

    @functools.wraps(open_scene)
    def checked(self, *args: Any, **kwargs: Any) -> Any:
        from .tiling import LazyScene

        scene = _run_loading(self, "the open", open_scene, *args, **kwargs)
        if not isinstance(scene, (LazyScene, Dataset)):
            raise PluginError(f"the open of {self._who()} returned {type(scene).__name__}, not a had.tiling.LazyScene; "
                              f"{PLUGIN_FAULT}")
        return scene

    checked._had_checked = True  # type: ignore[attr-defined]
    return checked


def _run_loading(source: "DataSource", what: str, code, *args: Any, **kwargs: Any) -> Any:
    """The source's own `code` (its ``load`` or ``open``, `what`: "the load") run as plugin code
    (:func:`plugin_code`), the source the one :func:`loading` names meanwhile."""
    token = _LOADING.set(source)
    try:
        with plugin_code(f"{what} of {source._who()}"):
            return code(source, *args, **kwargs)
    finally:
        _LOADING.reset(token)


def plugin_failure(what: str, exc: BaseException) -> PluginError | None:
    """The one :class:`PluginError` line for plugin code (`what`: "the load of data source 'x' of plugin 'p'") that
    raised `exc`: ``sys.exit()`` and any exception that is not had's; None for what is not the plugin's fault and
    goes on as it is: a HadError (raised deliberately: InvalidInputError, a PluginError of its own), an OSError,
    memory (MemoryError, a torch allocation that failed), a warning the user's filter made an error, Ctrl-C."""
    if isinstance(exc, SystemExit):
        from .plugins import exit_error

        return exit_error(what, exc)
    if not isinstance(exc, Exception) or isinstance(exc, (HadError, OSError, MemoryError, Warning)):
        return None
    from .cli import allocation_failed

    if allocation_failed(exc):
        return None
    text = flat_text(exc)
    blame = ("a defect of had itself: report it to had's authors" if "of plugin 'had'" in what else
             PLUGIN_FAULT)  # the core's own rx: not "the plugin's"
    return PluginError(f"{what} failed: {type(exc).__name__}{': ' + text if text else ''}; {blame}")


@contextlib.contextmanager
def plugin_code(what: str) -> Iterator[None]:
    """Run plugin code (`what`, see :func:`plugin_failure`) with its failure made one PluginError: the one wrapper
    of every call into a plugin's own code (a source's ``load`` and ``open``, a detector's ``_fit``/``_score``
    and state, the ``source_for_path`` hook, a metric). Was: ``load`` alone was wrapped, and the others' ValueError
    was a traceback, their ``sys.exit(9)`` a silent exit 9."""
    try:
        yield
    except (Exception, SystemExit) as exc:
        failure = plugin_failure(what, exc)
        if failure is None:
            raise
        raise failure from (None if isinstance(exc, SystemExit) else exc)


def of_plugin(kind: str, name: str) -> str:
    """" of plugin 'P'" for the `name` registered as a `kind` ("detector", "metric"), "" where none is."""
    from . import plugins

    try:
        return f" of plugin {plugins.entry(kind, name).plugin!r}"
    except Exception:  # noqa: BLE001 - naming the plugin is a courtesy (a class used unregistered)
        return ""


def _declared_kind(cls: type) -> str | None:
    """The ``kind`` a source class or one of its bases below DataSource sets; None when it keeps DataSource's
    "tabular" unsaid (``npy-file`` reads rows, cubes and images alike)."""
    for klass in cls.__mro__:
        if klass is DataSource:
            return None
        if "kind" in klass.__dict__ and isinstance(klass.__dict__["kind"], str):
            return klass.__dict__["kind"]
    return None


def from_entry(entry: Any, given: dict[str, Any] | None = None, **overrides: Any) -> DataSource:
    """The data source of registry `entry`, configured with its registration's preset, then `given` and
    `overrides` (the caller's). Named by its registered name before its config is checked, as detectors are
    (was: "invalid config for data source odds-table" for `--data nope=1` on arrhythmia). A preset value the
    source's config refuses, where the caller gave no such setting, is a PluginError naming the registration
    (was: blamed on the user, with `had describe` as the fix)."""
    given = dict(given or {})
    cls = entry.load()
    asked = {**given, **overrides}
    for key in getattr(cls, "named_by", ()):  # `abu-airport-1 --data scene=hydice` fitted hydice, exit 0
        preset = entry.defaults.get(key)
        if preset is not None and key in asked and asked[key] != preset:
            raise ConfigError(f"dataset {entry.name} is {key}={preset!r}; {key}={shown(asked[key])[:60]!r} names "
                              "another: give that one as the dataset, or drop the setting")
    source = cls.__new__(cls)
    source._registered = (entry.name, entry.plugin)
    try:
        source.__init__({**entry.defaults, **given}, **overrides)
    except ConfigError:
        _check_preset(entry, cls, {k: v for k, v in entry.defaults.items() if k not in given and k not in overrides},
                      {**entry.defaults, **given, **overrides})
        raise
    return source


def _check_preset(entry: Any, cls: type, preset: dict[str, Any], merged: dict[str, Any]) -> None:
    """PluginError when the config's refusal of `merged` is about a field of the registration's `preset`."""
    from pydantic import ValidationError

    if not preset:
        return
    try:
        cls.Config.model_validate(merged)
    except ValidationError as exc:
        wrong = [e for e in exc.errors() if e["loc"] and e["loc"][0] in preset]
        if wrong:
            said = "; ".join(f"{e['loc'][0]}={preset[e['loc'][0]]!r}: {e['msg']}" for e in wrong)
            raise PluginError(f"data source {entry.name!r} is registered by plugin {entry.plugin!r} with a preset its "
                              f"config refuses ({said}); that is the plugin's preset, not a setting you gave: report "
                              "it to its authors") from None
