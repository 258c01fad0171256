"""Benchmark grids: the seeds syntax of ``--seeds`` and the grid files of ``had bench --config``.

A grid file (TOML always, through :mod:`tomllib`; YAML when PyYAML is installed) names the detectors with their
settings, the datasets with theirs, the seeds, the protocol and the output folder::

    seeds = [3, 7]              # or "0-4", "3,7", or a count: 5 means 0..4
    metrics = ["auroc", "eer"]  # optional: had.bench's defaults otherwise; --metrics overrides it
    # or, with parameters (--metric-set METRIC.key=value overrides them), a table per metric:
    #   [metrics.auroc]
    #   [metrics."precision_at_n@top10"]   # a variant NAME@LABEL: a column of its own
    #   n = 10
    protocol = "transductive"   # optional: each dataset's default protocol otherwise
    # or, with the protocol's parameters (had bench --protocol-set KEY=VALUE overrides them):
    #   [protocol]
    #   name = "deepsad"
    #   ratio_pollution = 0.0
    # ([protocol.deepsad] with the parameters is read alike)
    out = "grid-out"            # optional: --out overrides it
    executor = "processes"      # optional: serial | processes | ray; --executor overrides it
    pin_cpu = true              # optional: workers start with the CPU pins (had.cpu_pins); --pin-cpu sets it
    baseline = "rx"             # optional: the others against it, seed by seed (had.baseline); --baseline sets it
    baseline_metric = "auroc"   # optional: on which metric (the summary's first otherwise)
    save_scores = true          # optional: each cell's scores kept in OUT/scores (had.bench_scores); --save-scores

    [detectors.rx]              # a detector with no settings
    [detectors.pyod-iforest]
    n_estimators = 50
    [detectors."pyod-iforest@many"]  # a variant: NAME@LABEL runs NAME with its own settings, in rows of its own
    n_estimators = 400

    [datasets.synthetic-table]
    n_samples = 500

``detectors`` and ``datasets`` may also be plain lists of names. Unknown keys are refused, so a typo does not
silently run another grid. A detector's variants (:func:`registered_detector`) compare its settings in one grid, one
folder and one summary (``--detectors lren,lren@raw0 --set lren@raw0.raw_weight=0`` on the command line).
"""

from __future__ import annotations

import re
import reprlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .detector import MAX_SEED
from .errors import ConfigError, DataFileError, ascii_digits, cut, flat_text

GRID_KEYS = ("detectors", "datasets", "metrics", "seeds", "protocol", "out", "executor", "ray_address", "workers",
             "pin_cpu", "baseline", "baseline_metric", "save_scores")


@dataclass
class Grid:
    """One benchmark grid: what `had bench` runs (a grid file or the command line's options)."""

    detectors: list[str]
    datasets: list[str]
    seeds: list[int] = field(default_factory=lambda: [0])
    #: the metrics computed in each cell, all shown in the summary (None: had.bench's defaults)
    metrics: list[str] | None = None
    #: per metric (or metric variant) label, its parameters (a ``[metrics.NAME]`` table's, then ``--metric-set``'s)
    metric_config: dict[str, dict[str, Any]] = field(default_factory=dict)
    detector_config: dict[str, dict[str, Any]] = field(default_factory=dict)
    dataset_config: dict[str, dict[str, Any]] = field(default_factory=dict)
    protocol: str | None = None
    out: str | None = None
    executor: str | None = None
    ray_address: str | None = None
    workers: int | None = None
    #: the cells' workers start with the CPU pins (:mod:`had.cpu_pins`)
    pin_cpu: bool = False
    #: the protocol's parameters (a ``[protocol]`` table's, then ``--protocol-set``'s), checked by had.bench.run
    protocol_params: dict[str, Any] = field(default_factory=dict)
    #: what `had bench` says of seeds given as a count (:func:`count_note`), None otherwise
    seeds_note: str | None = None
    #: the detector the others are compared with (:mod:`had.baseline`), and on which metric
    baseline: str | None = None
    baseline_metric: str | None = None
    #: what `had bench` says of the grid file's settings the command line's options left out
    notes: list[str] = field(default_factory=list)
    #: each cell's scores kept in the output folder (:mod:`had.bench_scores`)
    save_scores: bool = False


#: the most values (each list, table, key and item counted) a grid file may hold once its YAML aliases are expanded
MAX_GRID_VALUES = 100_000
#: the most characters of a value an error message shows
_SHOWN = 100
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 3, _SHOWN, _SHOWN, _SHOWN


def _short(value: Any) -> str:
    """`value`'s repr for a message: at most :data:`_SHOWN` characters, however large or nested the value."""
    return cut(_REPR.repr(value), _SHOWN)


#: the most seeds a grid may list (a count or range beyond it is taken for a typo, before any memory is spent on it)
MAX_SEEDS = 10_000


def parse_seeds(value: Any) -> list[int]:
    """Seeds from a count (``5`` -> 0..4), a list (``"3,7"``, ``[3, 7]``), a range (``"0-4"``) or a mix; at most
    :data:`MAX_SEEDS` of them, each at most :data:`MAX_SEED`."""
    if isinstance(value, bool):
        raise ConfigError(f"seeds {_short(value)}: give a count (5 means 0..4), a list (3,7) or a range (0-4)")
    if isinstance(value, int):
        return _count(value)
    seeds: list[int] = []
    if isinstance(value, (list, tuple)):  # each item a seed, or a range "0-2" (was: refused in a list)
        for item in value:
            _add(item.strip() if isinstance(item, str) else item, seeds, value)
    else:
        text = str(value).strip()
        if ascii_digits(text):
            return _count(int(text))
        for part in (p.strip() for p in text.split(",")):
            _add(part, seeds, value)
    if not seeds:
        raise ConfigError("seeds: the list is empty; give at least one seed (e.g. 0 or 3,7)")
    _check_size(len(seeds), value)
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds {_short(value)} repeat a seed; list each seed once")
    return seeds


def _add(part: Any, seeds: list[int], value: Any) -> None:
    """A seed, or a range ``lo-hi`` of them, `part` of the seeds `value`, added to `seeds`."""
    first, dash, last = part.partition("-") if isinstance(part, str) else ("", "", "")
    if dash and ascii_digits(first.strip()) and ascii_digits(last.strip()):
        lo, hi = int(first), int(last)
        if hi < lo:
            raise ConfigError(f"seeds {_short(part)}: a range goes up (write {hi}-{lo})")
        _check_size(hi - lo + 1 + len(seeds), value)
        seeds += range(lo, _one_seed(hi) + 1)
    else:
        seeds.append(_one_seed(part))


def count_note(value: Any, where: str = "--seeds", in_file: bool = False) -> str | None:
    """The note for seeds given as a count of 2 or more (``--seeds 42`` runs seeds 0..41, which a user meaning seed
    42 alone would not expect: an audit's grid ran 42 cells per pair), with how to give that one seed (`in_file`:
    as a grid file writes it, ``[42]``; was ``42-42``, which TOML refuses unquoted); None for a list, a range or a
    count of 1."""
    text = str(value).strip() if not isinstance(value, bool) and isinstance(value, (int, str)) else ""
    if not ascii_digits(text) or int(text) < 2:
        return None
    n = int(text)
    return f"{where} {n} is a count: seeds 0-{n - 1} (seed {n} alone: {where} {f'[{n}]' if in_file else f'{n}-{n}'})"


def _count(n: int) -> list[int]:
    if n < 0:  # no one-seed form to offer: a seed is never negative (was: "seed -3 alone: -3--3", itself refused)
        raise ConfigError(f"seeds {n}: seeds are non-negative integers; give a count (5 means seeds 0..4), a list "
                          "(3,7) or a range (0-4)")
    if n < 1:
        raise ConfigError(f"seeds {n}: a count must be at least 1 (5 means seeds 0..4; seed {n} alone: {n}-{n})")
    _check_size(n, n)
    return list(range(n))


def _check_size(n: int, value: Any) -> None:
    if n > MAX_SEEDS:
        shown = str(value) if len(str(value)) <= 40 else str(value)[:40] + "..."
        raise ConfigError(f"seeds {shown}: {n} seeds, more than a grid may list ({MAX_SEEDS}); give fewer "
                          "(a count, a list 3,7 or a range 0-4)")


def _one_seed(value: Any) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not ascii_digits(text):
        raise ConfigError(f"seed {_short(value)} is not a non-negative integer; write seeds as 3,7 or 0-4")
    if int(text) > MAX_SEED:
        raise ConfigError(f"seed {text} is above {MAX_SEED}, the largest seed numpy and scikit-learn take; "
                          "give a smaller one")
    return int(text)


#: what parts a detector's or metric's variant label: ``NAME@LABEL``
VARIANT_MARK = "@"


def registered_detector(label: str) -> str:
    """The registered detector a grid's detector `label` runs: `label` itself without an ``@`` (no registered name
    holds one), else NAME of a variant ``NAME@LABEL`` (its own settings, its own rows and summary lines, named
    ``NAME@LABEL``: was, a grid held one setting per detector, so comparing two took two grids and two folders)."""
    return _registered("detector", label, "lren@raw0")


def registered_metric(label: str) -> str:
    """The registered metric a grid's metric `label` computes: `label` itself, or NAME of a variant ``NAME@LABEL``
    (its own parameters, its own results.csv column: ``precision_at_n@top10`` with ``n = 10``)."""
    return _registered("metric", label, "precision_at_n@top10")


def _registered(kind: str, label: str, example: str) -> str:
    name, mark, tag = label.partition(VARIANT_MARK)
    if not mark:  # no registered name holds the mark (had.plugins refuses it)
        return label
    if not name.strip() or not tag.strip():
        raise ConfigError(f"{kind} {_short(label)}: a variant is NAME@LABEL, a registered {kind}'s name (had list "
                          f"{kind}s), an @ and a label of its own, such as {example}")
    if name != name.strip():
        raise ConfigError(f"{kind} {_short(label)}: write a variant NAME@LABEL with no space (such as {example})")
    if not _LABEL.fullmatch(tag):  # was: any text, a newline breaking results.md's rows, a comma making the label
        # unnameable on the command line
        raise ConfigError(f"{kind} {_short(label)}: a variant's label is 1 to {MAX_LABEL} letters, digits or "
                          f"_ . + - after the @, with no space (such as {example})")
    return name


#: the longest label of a variant (after the @)
MAX_LABEL = 64
_LABEL = re.compile(rf"[A-Za-z0-9_.+-]{{1,{MAX_LABEL}}}")


def load_grid(path: str | Path) -> Grid:
    """The grid in a ``.toml``, ``.yaml`` or ``.yml`` file (see the module docstring)."""
    path = Path(path)
    if path.is_dir():
        raise DataFileError(f"grid file {path} is a folder; give the grid file's path to --config")
    if not path.is_file():
        raise DataFileError(f"grid file {path} does not exist; check the path given to --config")
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        elif suffix in (".yaml", ".yml"):
            raw = _yaml(path)
        else:
            raise ConfigError(f"grid file {path}: use a .toml (or, with PyYAML installed, .yaml) file")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"grid file {path} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as "
                          "UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"grid file {path} is not valid TOML: {flat_text(exc)}") from None
    except RecursionError:  # both parsers recurse per level (was: a RecursionError traceback, exit 1)
        raise ConfigError(f"grid file {path} nests lists or tables too deeply to read (hundreds of levels); a grid "
                          "lists detectors, datasets and a few settings: write them out flat") from None
    _check_expanded_size(raw, path)
    return grid_from_dict(raw, where=f"grid file {path}")


def _check_expanded_size(raw: Any, path: Path) -> None:
    """A ConfigError when the parsed file holds more than :data:`MAX_GRID_VALUES` values once expanded: a few
    lines of nested YAML aliases ("billion laughs") are billions of values to any code that walks or prints them
    (was: `had bench` hung, using GBs). The walk stops at the limit, so it is quick whatever the file."""
    todo, seen = [raw], 0
    while todo:
        node = todo.pop()
        seen += 1
        if seen > MAX_GRID_VALUES:
            raise ConfigError(f"grid file {path} expands to more than {MAX_GRID_VALUES:,} values (YAML aliases?); "
                              "a grid lists detectors, datasets and a few settings: write them out")
        if isinstance(node, dict):
            todo += node.keys()
            todo += node.values()
        elif isinstance(node, (list, tuple)):
            todo += node


def _yaml(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")  # text that is not UTF-8 is said as such, PyYAML or not
    try:
        import yaml
    except ImportError:
        raise ConfigError(f"grid file {path} is YAML but PyYAML is not installed: pip install pyyaml, "
                          "or write the grid as TOML") from None
    try:
        return yaml.load(text, Loader=_unique_keys_loader(yaml))  # noqa: S506: a SafeLoader
    except yaml.YAMLError as exc:
        raise ConfigError(f"grid file {path} is not valid YAML: {flat_text(exc)}") from None


def _unique_keys_loader(yaml: Any) -> type:
    """PyYAML's SafeLoader refusing a key given twice in one mapping, as YAML itself and TOML do (was: the last
    kept without a word, ``{contamination: 0.1, contamination: 0.3}`` ran 0.3)."""

    class UniqueKeys(yaml.SafeLoader):
        pass

    def mapping(loader: Any, node: Any, deep: bool = False) -> Any:
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base`: a merged key given again overrides it
                continue
            key = loader.construct_object(key_node, deep=True)
            try:
                twice = key in seen
            except TypeError:  # an unhashable key: construct_mapping says so
                continue
            if twice:
                raise yaml.constructor.ConstructorError(None, None, f"the key {key!r} is given twice; give it once",
                                                        key_node.start_mark)
            seen.add(key)
        return loader.construct_mapping(node, deep)

    UniqueKeys.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return UniqueKeys


def grid_from_dict(raw: Any, where: str = "grid") -> Grid:
    """A :class:`Grid` from the parsed contents of a grid file."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a table of {', '.join(GRID_KEYS)}")
    unknown = sorted(set(raw) - set(GRID_KEYS))
    if unknown:
        from .protocols import PROTOCOLS, parameters

        hint = ("; a protocol's parameters go in a [protocol] table with name = \"NAME\""
                if any(key in parameters(name) for key in unknown for name in PROTOCOLS) else "")
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; the keys are {', '.join(GRID_KEYS)}{hint}")
    detectors, detector_config = _named(raw.get("detectors"), "detectors", where)
    datasets, dataset_config = _named(raw.get("datasets"), "datasets", where)
    workers = raw.get("workers")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ConfigError(f"{where}: workers {_short(workers)} must be a positive integer")
    pin_cpu, save_scores = raw.get("pin_cpu", False), raw.get("save_scores", False)
    for key, value in (("pin_cpu", pin_cpu), ("save_scores", save_scores)):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {key} {_short(value)} must be true or false")
    protocol, protocol_params = _protocol(raw.get("protocol"), where)
    metrics, metric_config = _metrics(raw.get("metrics"), where)
    return Grid(detectors, datasets, parse_seeds(raw.get("seeds", 1)), metrics, metric_config,
                detector_config, dataset_config,
                protocol, _text(raw, "out", where), _text(raw, "executor", where),
                _text(raw, "ray_address", where), workers, pin_cpu=pin_cpu, protocol_params=protocol_params,
                seeds_note=count_note(raw.get("seeds", 1), f"{where}: seeds =", in_file=True),
                baseline=_text(raw, "baseline", where),
                baseline_metric=_text(raw, "baseline_metric", where), save_scores=save_scores)


def _protocol(value: Any, where: str) -> tuple[str | None, dict[str, Any]]:
    """``protocol = "NAME"``, a ``[protocol]`` table with ``name`` and the parameters, or ``[protocol.NAME]`` with
    the parameters (was: a string only, "protocol must be a string", so no grid could set a parameter)."""
    if value is None or isinstance(value, str):
        return value, {}
    form = 'protocol = "NAME", or a [protocol] table with name = "NAME" and its parameters'
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: protocol must be a string or a table, not {_short(value)}; write {form}")
    if "name" in value:
        name, params = value["name"], {k: v for k, v in value.items() if k != "name"}
    elif len(value) == 1 and isinstance(next(iter(value.values())), (dict, type(None))):
        name, params = next(iter(value.items()))
        params = params or {}
    else:
        raise ConfigError(f"{where}: the [protocol] table has no name; write {form}")
    if not isinstance(name, str):
        raise ConfigError(f"{where}: protocol name {_short(name)} must be a string; write {form}")
    return name, dict(params)


def _named(value: Any, key: str, where: str) -> tuple[list[str], dict[str, dict[str, Any]]]:
    if value is None:
        raise ConfigError(f"{where}: no {key}; add a [{key}.NAME] table for each, or {key} = [\"NAME\", ...]")
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value), {}
    if isinstance(value, dict):
        config = {}
        for name, settings in value.items():
            if not isinstance(name, str):  # YAML reads `123:` or `7:` as a number
                raise ConfigError(f"{where}: {key} name {_short(name)} is not text; name each with its registered name "
                                  "or file path (quote it in YAML)")
            if settings is None:
                settings = {}
            if not isinstance(settings, dict):
                raise ConfigError(f"{where}: {key}.{name} must be a table of settings, not {_short(settings)}")
            if settings:
                config[name] = dict(settings)
        return list(value), config
    raise ConfigError(f"{where}: {key} must be a list of names or a table of NAME = {{settings}}")


def _metrics(value: Any, where: str) -> tuple[list[str] | None, dict[str, dict[str, Any]]]:
    """``metrics = ["auroc", "eer"]`` (or ``"auroc,eer"``), or ``[metrics.NAME]`` tables with a metric's parameters
    (``[metrics."precision_at_n@top10"]`` with ``n = 10``); (None, {}) when not given."""
    if value is None:
        return None, {}
    if isinstance(value, dict) and value:
        names, config = _named(value, "metrics", where)
        return [name.strip() for name in names], {name.strip(): params for name, params in config.items()}
    names = [v.strip() for v in value.split(",")] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(v, str) and v.strip() for v in names) or not names:
        raise ConfigError(f"{where}: metrics must be a list of metric names (had list metrics) or a table of "
                          f"NAME = {{parameters}}, not {_short(value)}")
    return [v.strip() for v in names], {}


def _text(raw: dict[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be a string, not {_short(value)}")
    if value is not None and not value.strip():  # was: `out = ""` taken for no out, nothing written
        raise ConfigError(f"{where}: {key} is empty; give it, or leave the key out")
    return value


def grid_from_options(grid_file: str | Path | None, *, detectors: list[str] | None = None,
                      datasets: list[str] | None = None, seeds: Any = None, metrics: list[str] | None = None,
                      detector_config: dict[str, dict[str, Any]] | None = None,
                      dataset_config: dict[str, dict[str, Any]] | None = None,
                      metric_config: dict[str, dict[str, Any]] | None = None,
                      protocol_params: dict[str, Any] | None = None, baseline: str | None = None,
                      baseline_metric: str | None = None) -> Grid:
    """The grid of `had bench`: the grid file's (if any), with the command line's options laid over it
    (`protocol_params`, ``--protocol-set``, over the grid file's ``[protocol]`` parameters)."""
    grid = load_grid(grid_file) if grid_file else Grid([], [])
    grid.protocol_params = {**grid.protocol_params, **(protocol_params or {})}
    if detectors:  # the grid file's settings of the names the command line keeps (was: all, then refused)
        grid.detectors, grid.detector_config = detectors, {k: v for k, v in grid.detector_config.items()
                                                           if k in detectors}
        if not baseline and grid.baseline is not None and grid.baseline not in detectors:  # the file's, left out
            grid.notes.append(f"the grid file's baseline {grid.baseline} is not among --detectors: no baseline "
                              "comparison (--baseline NAME names one)")
            grid.baseline = grid.baseline_metric = None
    if datasets:
        grid.datasets, grid.dataset_config = datasets, {k: v for k, v in grid.dataset_config.items()
                                                        if k in datasets}
    grid.baseline, grid.baseline_metric = baseline or grid.baseline, baseline_metric or grid.baseline_metric
    if metrics:  # the grid file's metric parameters go with its metrics
        grid.metrics, grid.metric_config = metrics, {k: v for k, v in grid.metric_config.items() if k in metrics}
    for option, names in (("--detectors", grid.detectors), ("--datasets", grid.datasets)):
        if not names:
            raise ConfigError(f"no {option[2:]}: give {option} NAME,... or a grid file with --config")
    if seeds is not None:
        grid.seeds, grid.seeds_note = parse_seeds(seeds), count_note(seeds)
    from .bench import DEFAULT_METRICS

    for mine, given, names, option, what in (
            (grid.detector_config, detector_config, grid.detectors, "--set", "detectors"),
            (grid.dataset_config, dataset_config, grid.datasets, "--data", "datasets"),
            (grid.metric_config, metric_config, grid.metrics or list(DEFAULT_METRICS), "--metric-set", "metrics")):
        for name, settings in (given or {}).items():
            if name not in names:  # a typo would otherwise run the grid without the setting, unsaid
                key = next(iter(settings), "key")
                raise ConfigError(f"{option} {name}.{key}=...: {_short(name)} is not one of this grid's {what} "
                                  f"({', '.join(names)}); name it as in --{what}")
            mine.setdefault(name, {}).update(settings)
    return grid
