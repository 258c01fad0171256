"""`had`: a plugin-based anomaly detection toolkit.

``import had`` is light: it loads no plugin and never imports torch. The registry is built on first lookup.

    >>> import had
    >>> det = had.get_detector("rx")
    >>> data = had.load_dataset("synthetic-scene")
    >>> scores = det.fit(data.X).decision_function(data.X)
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

#: onnxruntime's official Linux and macOS builds from 1.2x send usage events to Microsoft and keep a device id and an
#: event cache under ~/.cache/Microsoft unless ORT_DISABLE_TELEMETRY=1 is set before onnxruntime loads (its own
#: opt-out, latched for the process). had scores its users' data, often confidential or on machines without a
#: network: off unless the user has set the variable (``ORT_DISABLE_TELEMETRY=0`` turns it on; docs/deployment.md,
#: "Telemetry"). Set here, as ``import had`` comes before any onnxruntime import of had's (and of torch.onnx's).
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from .capabilities import Capabilities
from .data import DataSource, DataSourceConfig, Dataset
from .detector import Detector, DetectorConfig
from .errors import (
    ArtifactError,
    BandMismatchError,
    ChecksumError,
    ConfigError,
    DataFileError,
    ExportNotSupported,
    HadError,
    InvalidInputError,
    LabelError,
    NotFittedError,
    PluginError,
    UnknownNameError,
    in_python_form,
    shown,
)
from .hookspecs import hookimpl

if TYPE_CHECKING:
    from .metrics import Metric

__version__ = "0.1.0"

__all__ = [
    "ArtifactError", "BandMismatchError", "Capabilities", "ChecksumError", "ConfigError", "DataFileError", "DataSource",
    "DataSourceConfig", "Dataset", "Detector", "DetectorConfig", "ExportNotSupported", "HadError",
    "InvalidInputError", "LabelError", "Metric", "NotFittedError", "PluginError", "UnknownNameError",
    "get_datasource", "get_detector", "get_metric", "hookimpl", "load", "load_dataset", "save",
]


_ON_FIRST_USE = {"plugins": ("plugins", None), "metrics": ("metrics", None), "Metric": ("metrics", "Metric")}


def __getattr__(name: str) -> Any:
    """What ``import had`` leaves to first use, so that it stays light (no plugin loaded, no scipy: ``had.metrics``
    imports ``scipy.stats``, 0.6 s of the 1.3 s ``import had`` took; ``python -m had`` imports this package
    before ``had_entry`` handles signals, so that window is shorter too):

    * ``had.plugins`` (the plugin guide's notebook idiom, ``had.plugins.register_plugin(...)``: was an
      AttributeError until something else imported the submodule);
    * ``had.metrics`` and ``had.Metric`` (``from had import Metric`` works as before).
    """
    if name in _ON_FIRST_USE:
        import importlib

        module, attribute = _ON_FIRST_USE[name]
        found = importlib.import_module(f"{__name__}.{module}")
        return found if attribute is None else getattr(found, attribute)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """What ``dir(had)`` and tab completion list: the module's names and those loaded on first use."""
    return sorted({*globals(), *_ON_FIRST_USE})


def _entry(kind: str, name: str):
    from . import plugins

    return plugins.entry(kind, name)


def _settings_of(config: Any, owner: str) -> dict[str, Any]:
    """`config` (a dict or other mapping, a config model, or None) as a dict of settings; ConfigError for anything
    else (was: ``had.get_detector("rx", "contamination=0.2")`` an AttributeError, 'str' object has no attribute
    'model_dump')."""
    from collections.abc import Mapping

    from pydantic import BaseModel

    if config is None:
        return {}
    if isinstance(config, Mapping):
        return dict(config)
    if isinstance(config, BaseModel):
        return config.model_dump()
    command_line = isinstance(config, str) and "=" in config  # `--set key=value` written in Python
    hint = (" ('key=value' is the command line's form: in Python give key=value as a keyword argument)"
            if command_line else "")
    raise ConfigError(f"{owner}: settings must be a dict or keyword arguments, got {type(config).__name__} "
                      f"{shown(repr(config))[:60]}{hint}")


def get_detector(name: str, config: Any = None, **overrides: Any) -> Detector:
    """A new, unfitted detector registered as `name`, with its config validated."""
    entry = _entry("detector", name)
    cls = entry.load()
    merged = {**entry.defaults, **_settings_of(config, f"detector {entry.name}")}
    # the registered name (one class may serve several; a plugin's class may have none), saved in artifacts and
    # ONNX, set before the config is checked so that its errors name it (were: "invalid config for detector
    # Fine ... `had describe Fine` lists the fields", a command that fails)
    detector = cls.__new__(cls)
    detector.name = entry.name
    detector.__init__(merged, **overrides)
    return detector


def get_datasource(name: str, config: Any = None, **overrides: Any) -> DataSource:
    """The data source registered as `name`, configured; or, for a file path, the source a plugin claims it with
    (the ``source_for_path`` hook), configured with ``path=name``. A path may be a ``pathlib.Path`` (any
    ``os.PathLike``), as a name or as a setting's value, as :func:`load` takes one."""
    from . import plugins

    name = plugins.check_name("datasource", _text_of_path(name))
    given = {key: _text_of_path(value) for key, value in _settings_of(config, f"data source {name}").items()}
    overrides = {key: _text_of_path(value) for key, value in overrides.items()}
    claimed = _claimed_source(name, {**given, **overrides})
    if claimed is not None:
        name, given = claimed, {"path": name, **given}
    elif _unclaimed_file(name):  # was "unknown datasource 'my.mat'" with the list of names
        from pathlib import Path

        from .dataset_arg import unread_file_error

        raise unread_file_error(Path(name))
    from .data import from_entry

    # named by its registered name before its config is checked, a preset it refuses blamed on the plugin
    return from_entry(_entry("datasource", name), given, **overrides)


def _text_of_path(value: Any) -> Any:
    """A ``pathlib.Path`` (an ``os.PathLike``) as the str a data source's settings hold (was: "invalid config for
    data source npy-file: path: Input should be a valid string" for ``had.load_dataset(Path("cube.npy"))``);
    anything else as it is."""
    import os

    return os.fspath(value) if isinstance(value, os.PathLike) else value


def _unclaimed_file(spec: str) -> bool:
    """`spec` names an existing file, not a registered source (which :func:`_claimed_source` found no reader for)."""
    import os

    from . import plugins

    return spec not in plugins.registry()["datasource"] and os.path.isfile(spec)


def _claimed_source(spec: str, settings: dict[str, Any]) -> str | None:
    """The source a plugin claims `spec` with when it is an existing file (or a folder: ``image-folder``) and not a
    registered name."""
    import os

    from . import plugins

    if spec in plugins.registry()["datasource"] or not os.path.exists(spec):
        return None
    from .scenefiles import source_for_path

    return source_for_path(spec, settings)


def load_dataset(name: str, config: Any = None, **overrides: Any) -> Dataset:
    """Load the dataset registered as `name`, or the file at `name` (``get_datasource(name).load()``). A data
    source's advice in the error says its settings as this function takes them (``y_key=None``; the CLI's
    ``--data y_key=null``)."""
    try:
        return get_datasource(name, config, **overrides).load()
    except HadError as exc:
        if len(exc.args) == 1 and isinstance(exc.args[0], str) and type(exc).__str__ is Exception.__str__:
            exc.args = (in_python_form(exc.args[0]),)
        raise


def get_metric(name: str, **params: Any) -> Metric:
    """The metric registered as `name`, with its parameters bound: `params` over its config's defaults (was: the
    defaults were bound only when some parameter was given, so a metric whose function's own default differed
    from its config's computed with the function's). A metric with a parameter of no default, asked for without
    it, is returned unbound, as before, for ``get_metric(name).configure(k=...)``."""
    from .metrics import missing_parameters

    metric = _entry("metric", name).load()
    if not params and missing_parameters(metric):  # a parameter of no default, not given
        return metric
    return metric.configure(**params)


def save(detector: Detector, path, **kwargs: Any):
    """Save a fitted detector as a safe artifact folder (see :mod:`had.artifact`).

    `path` must be new, an empty folder or a had artifact; anything else is an :class:`ArtifactError` and
    nothing is touched. The write is atomic: a crash leaves the old or the new artifact."""
    from .artifact import save as _save

    return _save(detector, _folder(path), **kwargs)


def load(path) -> Detector:
    """Load a detector saved with :func:`save`; never unpickles."""
    from .artifact import load as _load

    return _load(_folder(path))


def _folder(path: Any) -> Any:
    """`path` when it is a str or a ``pathlib.Path`` (an ``os.PathLike``), as an artifact folder is named;
    InvalidInputError otherwise (was: ``had.load(None)`` a TypeError from pathlib)."""
    import os

    if isinstance(path, str) or (isinstance(path, os.PathLike) and isinstance(os.fspath(path), str)):
        return path
    raise InvalidInputError(f"expected the path of a model folder (str or pathlib.Path), got {type(path).__name__} "
                            f"{shown(repr(path))[:60]}")
