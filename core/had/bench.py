"""`had bench`: detectors x datasets x seeds under a split protocol; a table, CSV, Markdown and PNGs.

``results.csv`` has one row per (detector, dataset, seed): ``detector,dataset,seed``, one column per metric
(``auroc``, ``auprc``, ``auc_pf_tau``, ...), then ``fit_s``, ``score_s`` and ``error``. A dataset given as a file
is named by its stem, with as many parent folders as tell equal stems apart (:func:`dataset_labels`).
``report.html`` (:mod:`had.bench_report`) shows the same grid with its figures and each cell's config. Metrics
are always computed on the test part of the protocol; for the transductive protocol (scenes) that is the fitted
scene itself, as the hyperspectral literature evaluates.

No finished work is lost: ``results.csv`` is rewritten atomically after every cell, a cell that fails (a missing
data file, a detector that raises) gets a row with its ``error`` and the grid goes on, and ``resume=True`` keeps
the rows already in ``results.csv`` without an error and runs only the other cells, when they belong to this grid
and were computed with its settings (``grid.json``, :mod:`had.bench_resume`). Unknown detector or dataset
names and invalid configs still stop the run before any work; one run writes into a folder at a time.

Cells run on an executor (``serial``, ``processes``, ``ray``: :mod:`had.executors`) and are recorded as they
finish, in any order; ``results.csv`` is kept in grid order (dataset, seed, detector), so every executor writes
the same file apart from the timing columns.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from tqdm import tqdm

from . import bench_resume, bench_scores, cpu_pins, get_datasource, get_detector, plugins
from .artifact import check_outside_artifacts
from .atomic import TEXT_ERRORS, check_writable, file_in_the_way, write_bytes
from .baseline import Comparison, compare
from .catalog import ENVI_DATA_SUFFIXES
from .dataset_arg import data_path, looks_like_path
from .errors import ConfigError, DataFileError, HadError, flat_text, os_error_message, shown
from .executors import EXECUTORS, PIN_SERIAL, Cell, execute, import_ray, load, metric_row
from .grid import registered_detector, registered_metric
from .protocols import PROTOCOLS, TABLE_ONLY_FIX, TABLE_PROTOCOLS, check_params
from .tables import markdown, summarise, to_csv

DEFAULT_METRICS = ("auroc", "auprc", "auc_pf_tau", "auc_pd_tau", "precision", "recall", "f1", "precision_at_n")
KEY_COLUMNS = ("detector", "dataset", "seed")
#: the metrics of the summary table, in the terminal and in results.md alike (results.csv has every metric)
SUMMARY_METRICS = ("auroc", "auprc", "auc_pf_tau", "f1")
CSV_NAME = "results.csv"
MD_NAME = "results.md"


@dataclass
class BenchResult:
    rows: list[dict[str, Any]]
    metrics: list[str]
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    #: per dataset name in the rows: what was given (``spec``), the source reading it, its config and protocol
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: per detector: its validated config (each cell's has the cell's seed)
    detectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: per dataset name: the figures drawn of its first seed (``roc``, ``maps``)
    figures: dict[str, dict[str, Path]] = field(default_factory=dict)
    #: why there are no figures (``--no-plots``, no matplotlib), when there are none
    figures_note: str | None = None
    #: the protocol's parameters given to the grid (``--protocol-set``, a grid file's ``[protocol]``), for every cell
    protocol_params: dict[str, Any] = field(default_factory=dict)
    #: the protocol given to the grid (None: each dataset's default)
    protocol: str | None = None
    #: the metrics the summary table shows (None: those of :data:`SUMMARY_METRICS` computed): the metrics named
    #: for the grid, all of them (was: a metric plugin's, or ``eer``, computed but never shown)
    summary: list[str] | None = None
    #: the grid's cells (detector, dataset, seed), where rows kept by --resume may hold others (None: all rows')
    cells: set[tuple] | None = None
    #: the folder's record as written by this run (grid.json: this grid's settings and those of the detectors and
    #: datasets of kept cells it does not name), for :meth:`cell_config`
    recorded: dict[str, Any] | None = None
    #: the detector the others are compared with, seed by seed (``--baseline``), and on which metric
    baseline: str | None = None
    baseline_metric: str | None = None
    #: whether a higher value of `baseline_metric` is better
    higher_is_better: bool = True
    #: the last :meth:`comparison` and what it was made of: results.md, report.html and the terminal each ask for it
    #: (its exact tests take up to a second or two)
    _compared: tuple[Any, Comparison] | None = field(default=None, init=False, repr=False, compare=False)

    def grid_rows(self) -> list[dict[str, Any]]:
        """The rows of this grid's cells, which its summary averages: rows kept by ``--resume`` of another
        detector, dataset or seed stay in results.csv and the report's cells (was: averaged into the summary, a
        seed-7 row into a one-seed grid's mean)."""
        return [row for row in self.rows if self.cells is None or _key(row) in self.cells]

    @property
    def columns(self) -> list[str]:
        return [*KEY_COLUMNS, *self.metrics, "fit_s", "score_s", "error"]

    @property
    def failed(self) -> list[dict[str, Any]]:
        """Rows of this grid's cells that failed (their ``error`` is set): a failed row of another grid kept by
        ``--resume`` stays in results.csv, not counted here."""
        return [row for row in self.grid_rows() if row.get("error")]

    @property
    def summary_columns(self) -> list[str]:
        """The columns of the summary (results.md, report.html, the terminal): its metrics, then the times."""
        return [*(self.summary or [m for m in SUMMARY_METRICS if m in self.metrics]), "fit_s", "score_s"]

    def table(self, metrics: Sequence[str] | None = None) -> str:
        """Markdown table: mean ± std over the seeds that finished, per detector and dataset."""
        shown = [*metrics, "fit_s", "score_s"] if metrics else self.summary_columns
        body = summarise([row for row in self.grid_rows() if not row.get("error")], ["dataset", "detector"], shown)
        return markdown(["dataset", "detector", "seeds", *shown], body)

    def comparison(self) -> Comparison | None:
        """The grid's detectors against its baseline (:mod:`had.baseline`), None without one."""
        if self.baseline is None or self.baseline_metric is None:
            return None
        finished = [row for row in self.grid_rows() if not row.get("error")]
        values = tuple((row["detector"], row["dataset"], row["seed"], row.get(self.baseline_metric)) for row in finished)
        inputs = (self.baseline, self.baseline_metric, self.higher_is_better, tuple(self.detectors), values)
        if self._compared is None or self._compared[0] != inputs:
            self._compared = (inputs, compare(finished, self.baseline, self.baseline_metric, self.higher_is_better,
                                              list(self.detectors)))
        return self._compared[1]

    def cell_config(self, row: dict[str, Any]) -> dict[str, Any]:
        """What ran in the cell of `row`: the detector's config with the cell's seed, the dataset's source; for a
        cell kept by ``--resume`` of a detector or dataset this grid does not name, as the folder's record says
        (was: its name alone, so report.html hid the settings of kept cells: a probe of 7 December 2026)."""
        recorded = self.recorded or {}
        detector = {**self.detectors.get(row["detector"], (recorded.get("detectors") or {}).get(row["detector"], {}))}
        if "seed" in detector:
            detector["seed"] = row["seed"]
        dataset = self.datasets.get(row["dataset"], (recorded.get("datasets") or {}).get(row["dataset"], {}))
        try:
            runs = registered_detector(row["detector"])  # a variant's registered detector, said beside its label
        except ConfigError:  # a row of a results.csv edited by hand: its name alone
            runs = row["detector"]
        return {"detector": {"name": row["detector"], **({"variant_of": runs} if runs != row["detector"] else {}),
                             **detector}, "dataset": {"name": row["dataset"], **dataset}}


def _variant_note(kind: str, label: str, name: str, settings: dict[str, Any]) -> str | None:
    """What a results.md reader needs of a `kind`'s `label`: the registered `name` it runs and the `settings` given
    to it (was: said of a metric's parameters alone; a detector's variant only in each cell's config); None for a
    registered name run at its defaults."""
    said = ", ".join(f"{key}={value!r}" for key, value in settings.items())
    if label != name:
        return f"{kind} {label} is {name} " + (f"with {said}" if said else "at its defaults")
    return f"metric {label} with {said}" if said and kind == "metric" else None


def _set_baseline(result: BenchResult, baseline: str, metric: str | None, detectors: list[str],
                  metric_of: dict[str, str]) -> None:
    """`result`'s baseline and its metric, checked: the baseline one of the grid's `detectors` beside others, the
    metric one it computes (the summary's first unless named)."""
    from . import get_metric

    if baseline not in detectors:  # (a grid file's baseline, --detectors naming others)
        raise ConfigError(f"baseline {baseline} is not one of this grid's detectors ({', '.join(detectors)}); name "
                          "one of them as the baseline, or add it to the detectors")
    if len(detectors) < 2:
        raise ConfigError(f"baseline {baseline} is the grid's only detector: add the detectors to compare with it")
    metric = metric or result.summary_columns[0]
    if metric not in metric_of:
        raise ConfigError(f"baseline metric {metric} is not one of the metrics this grid computes "
                          f"({', '.join(metric_of)}); name one of them, or add it to --metrics")
    result.baseline, result.baseline_metric = baseline, metric
    result.higher_is_better = get_metric(metric_of[metric]).higher_is_better


def _local_ray(address: str | None) -> bool:
    """Whether `--executor ray` runs on a Ray had starts on this machine: no address given, none in ``RAY_ADDRESS``
    (which ``ray.init`` follows), and no Ray this process is connected to already."""
    if (address and address != "local") or os.environ.get("RAY_ADDRESS", "local") not in ("", "local"):
        return False
    ray = sys.modules.get("ray")
    return not (ray is not None and getattr(ray, "is_initialized", lambda: False)())


def _key(row: dict[str, Any]) -> tuple:
    """The cell of a results row: (detector, dataset, seed)."""
    return tuple(row[k] for k in KEY_COLUMNS)


def dataset_labels(specs: Sequence[str]) -> dict[str, str]:
    """The name each dataset has in the results: a registered name as given; a file by its stem, with as many
    parent folders as tell equal stems apart (``a/scene.mat``, ``b/scene.mat`` -> ``a/scene``, ``b/scene``)."""
    if len(set(specs)) != len(specs):
        twice = sorted(name for name, n in Counter(specs).items() if n > 1)
        raise ConfigError(f"dataset(s) {', '.join(twice)} given more than once; list each dataset once")
    registered = plugins.registry()["datasource"]
    parts = {spec: Path(os.path.abspath(spec)).with_suffix("").parts for spec in specs
             if spec not in registered and looks_like_path(spec)}
    depth = dict.fromkeys(parts, 1)

    def label(spec: str) -> str:
        return "/".join(parts[spec][-depth[spec]:]).lstrip("/") if spec in parts else spec

    def told_apart() -> dict[str, str]:  # as many parent folders as tell equal names apart
        while True:
            taken = Counter(label(spec) for spec in specs)
            clash = [spec for spec in parts if taken[label(spec)] > 1 and depth[spec] < len(parts[spec])]
            if not clash:
                return {spec: label(spec) for spec in specs}
            for spec in clash:
                depth[spec] += 1

    def alike(labels: dict[str, str]) -> list[str]:
        taken = Counter(labels.values())
        return [spec for spec in specs if taken[labels[spec]] > 1]

    labels = told_apart()
    same = alike(labels)
    for spec in same:  # one folder, one stem: an ENVI scene given by its header and its data file, or two files
        header = Path(spec).with_suffix(".hdr")  # (was: "are the same file" for line01.hdr and line01.tif)
        pair = next((o for o in same if o != spec and Path(o).with_suffix("") == Path(spec).with_suffix("")
                     and Path(spec).suffix.lower() in ENVI_DATA_SUFFIXES and Path(o).suffix.lower() == ".hdr"), None)
        if pair is not None:
            raise ConfigError(f"{pair} and {spec} are one ENVI scene, its header and its data file: give the header "
                              f"alone (for example {header.parent / '*.hdr'})")
    if same:  # files of one stem told apart by their suffixes: line01.hdr, line01.tif
        for spec in same:
            parts[spec], depth[spec] = Path(os.path.abspath(spec)).parts, 1
        labels = told_apart()
        if same := alike(labels):
            raise ConfigError(f"datasets {', '.join(same)} are the same file; list each dataset once")
    return labels


def _same_file(source: Any, read_by: dict[tuple, str], spec: str) -> str | None:
    """The dataset of `read_by` that reads the file of `source`'s ``path`` setting with the same source and other
    settings (``[datasets."x.csv"]`` and ``[datasets.table-file] path = "x.csv"``: was run twice); else None, and
    `spec`'s file is added to `read_by`. Two plain paths of one file are refused by :func:`dataset_labels`."""
    config = source.config.model_dump(mode="json")
    path = config.get("path")
    if not isinstance(path, str) or not path:
        return None
    try:
        stat = os.stat(os.path.expanduser(path))
    except (OSError, ValueError):  # not there: said by its cells (or before, for a path given as the dataset)
        return None
    rest = repr(sorted((k, repr(v)) for k, v in config.items() if k != "path"))
    key = (type(source).__module__, type(source).__qualname__, stat.st_dev, stat.st_ino, rest)
    if key in read_by:
        return read_by[key]
    read_by[key] = spec
    return None


def run(
    detectors: Sequence[str],
    datasets: Sequence[str],
    seeds: Sequence[int] = (0,),
    *,
    out: str | Path | None = None,
    metrics: Sequence[str] | None = None,
    metric_config: dict[str, dict[str, Any]] | None = None,
    protocol: str | None = None,
    detector_config: dict[str, dict[str, Any]] | None = None,
    dataset_config: dict[str, dict[str, Any]] | None = None,
    protocol_params: dict[str, Any] | None = None,
    plots: bool = True,
    echo: Callable[[str], None] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    executor: str = "serial",
    workers: int | None = None,
    ray_address: str | None = None,
    progress: bool | None = None,
    pin_cpu: bool = False,
    baseline: str | None = None,
    baseline_metric: str | None = None,
    save_scores: bool = False,
) -> BenchResult:
    """Run the benchmark grid on `executor` (see :mod:`had.executors`); write results into `out` if given.

    `datasets` are registered names or data files (named in the results by :func:`dataset_labels`).
    `plots`: draw ROC curves and anomaly maps (PNGs and the report's figures) when matplotlib is installed.
    `progress`: one tqdm bar over all cells with the time left (None: only on a terminal).
    `resume` keeps the finished cells of `out`'s results.csv; `overwrite` replaces an earlier grid's results there.
    Without either, an `out` holding an earlier grid's cells is refused (:func:`check_out_folder`).
    `protocol_params`: the parameters of `protocol` (which must be given), e.g. ``{"ratio_pollution": 0.0}`` for
    deepsad, checked before any cell (:func:`had.protocols.check_params`), carried to every cell, recorded in
    grid.json (``--resume`` with others is refused) and said in results.md (was: no grid could set them).
    `metric_config`: per metric label, its parameters (``{"precision_at_n@top10": {"n": 10}}``; a label
    ``NAME@LABEL`` is a variant of the registered metric NAME, :func:`had.grid.registered_metric`), checked before
    any cell, recorded in grid.json (``--resume`` with others is refused) and said in results.md.
    `baseline`: one of `detectors`, which the others are compared with seed by seed on `baseline_metric` (the
    summary's first metric unless named; :mod:`had.baseline`), in the terminal, results.md and report.html.
    `save_scores`: each finished cell's scores, truth and threshold are kept in `out` (:mod:`had.bench_scores`).
    `pin_cpu`: the cells' worker processes (or Ray workers) start with the CPU pins (:mod:`had.cpu_pins`), so that
    torch detectors' figures repeat on another x86 CPU; recorded in grid.json (``--resume`` across pinned and
    unpinned cells is refused) and said in results.md; the serial executor cannot take them.
    """
    echo = echo or (lambda line: tqdm.write(line, file=sys.stderr))
    detector_config = detector_config or {}
    dataset_config = dataset_config or {}
    seeds = list(seeds)
    metric_names = list(metrics or [m for m in DEFAULT_METRICS if m in plugins.names("metric")])
    columns = (*KEY_COLUMNS, "seeds", "fit_s", "score_s", "error")  # results.csv's and the summary's own
    taken = [name for name in metric_names if name in columns]
    if taken:  # its value would overwrite the row's own column (a cell's seed, its error: results.csv corrupted)
        raise ConfigError(f"metric(s) {', '.join(taken)} share a name with a column of results.csv or its "
                          f"summary ({', '.join(columns)}): a grid cannot compute them; rename the metric in its "
                          "plugin")
    from .metrics import check_names

    for kind, given, names in (("detector", detector_config, detectors), ("dataset", dataset_config, datasets),
                               ("metric", metric_config, metric_names)):
        if unknown := sorted(set(given or {}) - set(names)):  # a typo would otherwise run it at its defaults, unsaid
            raise ConfigError(f"settings given for {kind}(s) {', '.join(map(repr, unknown))}, which the grid does not "
                              f"name ({', '.join(names)}); name them as in its {kind}s")
    metric_of = {label: registered_metric(label) for label in metric_names}  # a variant NAME@LABEL computes NAME
    metric_config = check_names(metric_names, "a grid", metric_config)  # as validated: recorded, compared, given
    if resume and overwrite:
        raise ConfigError("resume keeps the earlier cells and overwrite replaces them: give one")
    if save_scores and out is None:
        raise ConfigError("saving the scores (--save-scores) needs an output folder (--out) to keep them in")
    if executor not in EXECUTORS:
        raise ConfigError(f"executor {executor!r} is not one of {', '.join(EXECUTORS)}")
    if pin_cpu and executor == "serial":
        raise ConfigError(PIN_SERIAL)
    if pin_cpu and (executor == "processes" or (executor == "ray" and _local_ray(ray_address))):  # this CPU's
        cpu_pins.check_machine()  # (a Ray cluster's machines are their own)
    registered = {label: registered_detector(label) for label in detectors}  # a variant NAME@LABEL runs NAME
    # a worker process or a Ray task loads the installed plugins only
    for kind, names in (("detector", list(dict.fromkeys(registered.values()))),
                        ("datasource", [d for d in datasets if not looks_like_path(d)]),
                        ("metric", list(dict.fromkeys(metric_of.values())))):
        plugins.check_workers_load(kind, names, executor)
    if protocol is not None and protocol not in PROTOCOLS:  # now, not in every cell (a grid file's protocol)
        raise ConfigError(f"protocol {protocol!r} is not one of {', '.join(PROTOCOLS)}")
    if protocol_params and protocol is None:  # each dataset's default protocol: the parameters would be a guess
        raise ConfigError(f"--protocol-set {', '.join(sorted(protocol_params))}: name the protocol they are for "
                          "(--protocol NAME, or name = \"NAME\" in the grid file's [protocol] table)")
    protocol_params = check_params(protocol, protocol_params) if protocol is not None else {}
    if executor == "ray":
        import_ray()
    result = BenchResult([], metric_names, protocol_params=dict(protocol_params), protocol=protocol,
                         summary=metric_names if metrics else None)
    if baseline is not None:  # checked before any cell, as the grid's names are
        _set_baseline(result, baseline, baseline_metric, list(detectors), metric_of)
    elif baseline_metric is not None:
        raise ConfigError(f"baseline metric {baseline_metric} given without a baseline: name the baseline detector "
                          "(--baseline NAME, or baseline = \"NAME\" in the grid file)")
    for label in metric_names:  # the column's name alone does not say them
        if said := _variant_note("metric", label, metric_of[label], metric_config.get(label, {})):
            result.notes.append(said)
    if pin_cpu:
        result.notes.append(f"the cells ran in worker processes started with the CPU pins (--pin-cpu): "
                            f"{cpu_pins.shown()}")
    if protocol_params:
        echo(f"[bench] {protocol_line(result)}")
    labels = dataset_labels(list(datasets))
    if len(set(detectors)) != len(detectors):  # the same cells twice, one row each (a config is per name)
        twice = sorted(name for name, n in Counter(detectors).items() if n > 1)
        raise ConfigError(f"detector(s) {', '.join(twice)} given more than once; list each detector once")
    for name in detectors:
        if "seed" in detector_config.get(name, {}):  # was replaced by each cell's, unsaid
            raise ConfigError(f"{name}.seed: each cell's seed is the grid's (--seeds, or the grid file's seeds), which "
                              f"replaces a detector's own; drop {name}.seed and list the seeds to run")
    for name in detectors:  # fail fast on unknown names and invalid configs, before any work
        try:
            detector = get_detector(registered[name], detector_config.get(name))
        except HadError as exc:  # said of the variant the user named (was: of NAME alone)
            if registered[name] == name:
                raise
            raise ConfigError(f"detector {name}, a variant of {registered[name]}: {exc}") from None
        result.detectors[name] = detector.config.model_dump(mode="json")
        given = {key: result.detectors[name].get(key) for key in detector_config.get(name, {})}
        if said := _variant_note("detector", name, registered[name], given):
            result.notes.append(said)
    files: dict[str, dict[str, dict[str, int]]] = {}  # per label: its files' size and time, for --resume
    read_by: dict[tuple, str] = {}  # one file with the same source and settings: the same cells twice
    for spec in datasets:
        if spec not in plugins.registry()["datasource"] and looks_like_path(spec):
            data_path(spec, dataset_config.get(spec))  # a file that is not there is said as such (was: "unknown
            # datasource"); a folder only where a plugin reads it (image-folder)
        source = get_datasource(spec, dataset_config.get(spec))
        proto = source.protocol(protocol)
        if proto in TABLE_PROTOCOLS and source.kind in ("image", "cube"):  # was: failed in every cell, at run time
            raise ConfigError(f"dataset {spec} holds {'images' if source.kind == 'image' else 'a scene'}, and the "
                              f"{proto} protocol needs a labelled table: {TABLE_ONLY_FIX}")
        if (same := _same_file(source, read_by, spec)) is not None:
            raise ConfigError(f"datasets {same} and {spec} read the same file, "
                              f"{source.config.model_dump().get('path')}, with the same settings (one names it "
                              "in its path setting): the same cells twice; list each dataset once")
        if out is not None:  # recorded in OUT/grid.json for --resume (small files hashed): only where it is written
            files[labels[spec]] = bench_resume.data_files(spec, source)
        result.datasets[labels[spec]] = {"given": spec, "source": type(source).name or spec, "protocol": proto,
                                         "config": source.config.model_dump(mode="json"),
                                         **({"protocol_params": dict(protocol_params)} if protocol_params else {})}
    if out is not None and not plots:
        result.figures_note = "no figures: plots were turned off (--no-plots)"
    plots = plots and out is not None and _can_plot(result)
    csv_path = None if out is None else Path(out) / CSV_NAME
    if resume and csv_path is None:
        raise ConfigError("resume needs an output folder (--out) holding the results.csv to resume")
    if resume:  # a results.csv that is not the grid's, a repeated cell or a column of the user's: said as such,
        resumable_rows(csv_path, result.columns)  # before the folder's checks and any work
    result.cells = {(det, labels[ds], seed) for ds in datasets for seed in seeds for det in detectors}
    record = None
    with contextlib.ExitStack() as stack:
        if out is not None:
            check_out_folder(Path(out), [labels[spec] for spec in datasets], replace=resume or overwrite)
            stack.enter_context(bench_resume.exclusive(Path(out)))  # one grid writing into the folder at a time
            grid = bench_resume.record_of(result.detectors, result.datasets, metric_names, files,
                                          bench_resume.providers(detectors, names=registered))
            grid["metric_distributions"] = bench_resume.providers(metric_names, "metric", names=metric_of)
            if metric_config:  # absent when none: an earlier had's record reads as none
                grid["metric_config"] = metric_config
            for label, ds in result.datasets.items():  # compared by --resume as the dataset's other settings
                if "protocol_params" in ds:
                    grid["datasets"][label]["protocol_params"] = ds["protocol_params"]
            if pin_cpu:  # absent when not pinned: an earlier had's record reads as unpinned
                grid["cpu_pins"] = dict(cpu_pins.PINS)
            before = _readable_record(Path(out)) if (resume or overwrite) else None  # the grid resumed or replaced
            saved_before = bool((before or {}).get(bench_scores.RECORD_KEY))
            if save_scores:  # before any cell and before --overwrite removes anything
                bench_scores.check(Path(out), detectors, [labels[spec] for spec in datasets], saved_before, seeds)
            if save_scores or (resume and saved_before):  # the folder's scores are had's while any are there
                grid[bench_scores.RECORD_KEY] = True
            earlier = None
            if resume:  # read under the lock
                # a failed cell of this grid is run again; one of another grid stays as it was (was: dropped)
                rows = [row for row in resumable_rows(csv_path, result.columns)
                        if not (row.get("error") and _key(row) in result.cells)]
                # other metrics than the record's: computed now from the kept cells' saved scores, if all have them
                recomputed = _recompute_metrics(Path(out), rows, before, metric_names, metric_config, result, echo)
                numbers = [*metric_names, "fit_s", "score_s"]
                again, result.rows = [], []  # run again: a finished cell of this grid whose numbers cannot be read
                for row in rows:
                    (again if _key(row) in result.cells and unreadable(row, numbers) else result.rows).append(row)
                earlier = bench_resume.check_resume(Path(out), result.rows, grid, seeds, echo, recomputed)
                bench_resume.check_metric_columns(csv_path, result.rows, metric_names)
                if again:  # run again: a finished cell whose numbers cannot be read (was: kept, with blanks)
                    said = "; ".join(f"{shown(r['detector'])} on {shown(r['dataset'])} (seed {r['seed']}): "
                                     f"{', '.join(unreadable(r, numbers))}" for r in again[:3])
                    more = f"; and {len(again) - 3} more" if len(again) > 3 else ""
                    echo(f"[bench] {len(again)} finished cell(s) in {csv_path} are run again, their values cannot "
                         f"be read: {said}{more}")
                    result.notes.append(f"{len(again)} finished cell(s) of the earlier run were run again: their "
                                        "values in results.csv could not be read")
                outside = [row for row in result.rows if _key(row) not in result.cells]
                if outside:
                    result.notes.append(f"{len(outside)} cell(s) in results.csv are not in this grid (another "
                                        "detector, dataset or seed): they stay in results.csv (and in report.html's "
                                        "cells), left out of this grid's summary")
                echo(f"[bench] resuming: {len(result.rows)} finished cell(s) kept from {csv_path}")
                if result.rows and saved_before != save_scores:  # a folder some of whose cells have scores
                    said = (f"the kept cells' scores are in {bench_scores.SCORES_DIR}/, the cells run now keep none "
                            "(--save-scores keeps them)" if saved_before else
                            "the kept cells have no saved scores; the cells run now keep theirs")
                    echo(f"[bench] note: {said}")
                    result.notes.append(said)
            if overwrite:  # the replaced grid goes before the new one is recorded: its results first, so that a run
                # stopped before its first cell leaves no cells of the old settings for --resume to keep under the new
                # record, then its report and figures (were left beside the new ones)
                _remove_grid(Path(out))
            record = result.recorded = bench_resume.write_record(Path(out), grid, earlier)
        _run_cells(result, detectors, datasets, seeds, labels, out=out, metric_names=metric_names,
                   metric_config=metric_config, protocol=protocol, protocol_params=protocol_params,
                   detector_config=detector_config,
                   dataset_config=dataset_config, plots=plots, echo=echo, executor=executor, workers=workers,
                   ray_address=ray_address, progress=progress, record=record, pin_cpu=pin_cpu,
                   save_scores=save_scores)
    return result


def _run_cells(result: BenchResult, detectors, datasets, seeds, labels, *, out, metric_names, metric_config, protocol,
               protocol_params, detector_config, dataset_config, plots, echo, executor, workers, ray_address, progress,
               record=None, pin_cpu=False, save_scores=False) -> None:
    """The cells of the grid not among ``result.rows`` (kept by --resume), recorded as they finish; then the
    figures and the files. `record` (the grid's, :mod:`had.bench_resume`) is written again with the results where
    the folder was removed meanwhile (:func:`had.bench_resume.keep_record`)."""
    csv_path = None if out is None else Path(out) / CSV_NAME
    kept = {tuple(row[k] for k in KEY_COLUMNS) for row in result.rows}
    order = {(det, labels[ds], seed): i for i, (ds, seed, det) in
             enumerate((ds, seed, det) for ds in datasets for seed in seeds for det in detectors)}

    def position(row: dict[str, Any]) -> tuple:  # grid order; kept cells outside the grid after, sorted alike
        key = tuple(row[k] for k in KEY_COLUMNS)
        return (0, order[key]) if key in order else (1, row["dataset"], row["seed"], row["detector"])

    result.rows.sort(key=position)
    cells = [Cell(det, ds, seed, detector_config.get(det, {}), dataset_config.get(ds, {}), protocol,
                  tuple(metric_names), metric_config=metric_config,
                  keep_scores=save_scores or (plots and seed == seeds[0]),
                  protocol_params=dict(protocol_params), label=labels[ds])
             for ds in datasets for seed in seeds for det in detectors if (det, labels[ds], seed) not in kept]
    first_seed_scores: dict[str, dict[str, np.ndarray]] = {}
    truths: dict[str, np.ndarray] = {}

    def started(cell: Cell) -> None:
        echo(f"[bench] {cell.detector} on {labels[cell.dataset]} (seed {cell.seed}) ...")

    bar = tqdm(total=len(cells), desc="had bench", unit="cell", file=sys.stderr,
               disable=(None if progress is None else not progress))
    with bar:
        for cell, outcome in execute(cells, executor, on_start=started, workers=workers, ray_address=ray_address,
                                     pin_cpu=pin_cpu):
            row = outcome.row
            row["dataset"] = label = labels[cell.dataset]
            result.rows.append(row)
            result.rows.sort(key=position)
            fitted = [f"{cell.detector} on {label}: {note}" for note in getattr(outcome, "fit_notes", None) or ()]
            new = [note for note in dict.fromkeys([*outcome.notes, *fitted]) if note not in result.notes]
            result.notes += new  # a note of every seed alike (a protocol's, a setting the fit lowered) once
            if row.get("error"):
                result.errors.append(f"{cell.detector} on {label} (seed {cell.seed}): {row['error']}")
                echo(f"[bench] failed: {result.errors[-1]}")
            else:
                auroc = row.get("auroc")
                said = "auroc not computed (see the notes)" if auroc is not None and math.isnan(auroc) else (
                    f"auroc {auroc:.4f}" if auroc is not None else None)
                echo(f"[bench] {cell.detector} on {label} (seed {cell.seed}): {said}, fit {row['fit_s']:.2f}s"
                     if said else f"[bench] {cell.detector} on {label} (seed {cell.seed}) done")
            for note in new:  # in the terminal too, not only in results.md (a grid without --out has none)
                echo(f"[bench] note: {note}")
            if outcome.scores is not None and save_scores:  # before its row: no row without its scores
                bench_scores.save(out, cell.detector, label, cell.seed, outcome.scores, outcome.truth,
                                  outcome.threshold)
            if outcome.scores is not None and plots and cell.seed == seeds[0]:
                first_seed_scores.setdefault(label, {})[cell.detector] = outcome.scores
                truths[label] = outcome.truth
            if csv_path is not None:
                bench_resume.keep_record(Path(out), record)  # first: no results without their record
                write_bytes(csv_path, to_csv(result.rows, result.columns))
            bar.update()
    for spec in datasets if plots else ():
        label = labels[spec]
        if any((det, label, seeds[0]) in kept for det in detectors):
            # some of its first seed's cells were kept (--resume): a figure of the cells run now would lack them
            # (was: the ROC redrawn with one curve); the earlier run's figures stay, shown by the report
            earlier = {kind: Path(out) / _figure_name(name, label) for kind, names in
                       (("roc", ("roc",)), ("maps", ("map", "heatmap"))) for name in names
                       if (Path(out) / _figure_name(name, label)).is_file()}
            if earlier:
                result.figures[label] = earlier
                result.notes.append(f"the figures of {label} are the earlier run's: its first seed's cells were "
                                    "kept (--resume), not run again")
            continue
        if label in first_seed_scores:
            scores = {det: first_seed_scores[label][det] for det in detectors if det in first_seed_scores[label]}
            source, dataset = load(spec, dataset_config.get(spec, {}))
            roc = np.unique(np.ravel(truths[label])).size == 2
            if not roc:  # a table too small for its split's test part to hold both classes
                result.notes.append(f"no ROC figure for {label}: the scored samples hold one class only")
            result.figures[label] = _plots(Path(out), label, dataset, truths[label], scores, source, roc)
            result.files += result.figures[label].values()
    if out is not None:
        bench_resume.keep_record(Path(out), record)
        result.files += _write(Path(out), result)


def _recompute_metrics(out: Path, rows: list[dict[str, Any]], record: dict[str, Any] | None, metric_names: list[str],
                       metric_config: dict[str, dict[str, Any]], result: BenchResult,
                       echo: Callable[[str], None]) -> bool:
    """The kept `rows`' metrics computed again from their saved scores (:mod:`had.bench_scores`) when the grid
    asks for other metrics or parameters than the folder's `record` says they were computed with; the columns of
    metrics the grid no longer computes go. A row of this grid without its scores loses its metrics, so it is run
    again (as a row lacking a metric's column always was); a kept row of another grid without them, which would
    not be, stops it all (the metrics then differ, as before). Returns whether it did (was: new metrics meant
    fitting every cell again)."""
    if not rows or record is None or not record.get(bench_scores.RECORD_KEY) or (
            list(record.get("metrics", [])) == list(metric_names)
            and (record.get("metric_config") or {}) == metric_config):
        return False  # nothing to compute, or no scores saved (a note about them would be noise)
    cells: list[dict[str, np.ndarray] | None] = []
    for row in rows:  # read first, all of them: nothing changes unless every row can be had
        try:
            cells.append(bench_scores.load(out, row["detector"], row["dataset"], int(row["seed"])))
        except (HadError, ValueError, TypeError) as exc:
            if _key(row) not in (result.cells or ()):  # another grid's, which would not be run again
                echo(f"[bench] note: the kept cells' metrics cannot be computed again from saved scores: "
                     f"{shown(row['detector'])} on {shown(row['dataset'])} (seed {row['seed']}), of another grid, "
                     f"has none that can be read ({flat_text(exc)[:160]})")
                return False
            cells.append(None)
    if not any(cell is not None for cell in cells):
        return False
    for row, kept in zip(rows, cells):
        for column in [c for c in row if c not in (*KEY_COLUMNS, "fit_s", "score_s", "error")]:
            del row[column]
        if kept is None:  # this grid's, without readable scores: run again
            continue
        threshold = float(kept["threshold"])
        result.notes += metric_row(row, metric_names, kept["y"], kept["scores"],
                                   None if math.isnan(threshold) else threshold, metric_config,
                                   f"{row['detector']} on {row['dataset']} (seed {row['seed']})")
    done = sum(cell is not None for cell in cells)
    echo(f"[bench] the metrics of {done} kept cell(s) computed again from their saved scores ({out}/"
         f"{bench_scores.SCORES_DIR})")
    result.notes.append(f"the metrics of {done} kept cell(s) were computed again from their saved scores")
    return True


def _readable_record(out: Path) -> dict[str, Any] | None:
    """The grid record in `out`, None where there is none or it cannot be read (:func:`had.bench_resume.check_resume`
    says so)."""
    try:
        return bench_resume.read_record(out)
    except ConfigError:
        return None


def _remove_grid(out: Path) -> None:
    """Delete what an earlier had bench grid wrote in `out` (its folder checked as had's output): results, report,
    the figures and score files (:mod:`had.bench_scores`) its record names, then the record. A record that cannot
    be read is replaced all the same (it is the grid being overwritten; its figures and scores, unnamed, stay)."""
    from .bench_report import REPORT_NAME

    record = _readable_record(out) or {}
    labels = record.get("datasets", {})
    if record.get(bench_scores.RECORD_KEY):  # its cells' score files, as its results.csv lists them
        with contextlib.suppress(HadError, OSError):
            bench_scores.remove(out, [_key(row) for row in read_results(out / CSV_NAME)])
    for name in (CSV_NAME, MD_NAME, REPORT_NAME):
        with contextlib.suppress(FileNotFoundError):
            (out / name).unlink()
    _remove_figures(out, labels)


def _remove_figures(out: Path, labels) -> None:
    """Delete the figures had bench drew of `labels` in `out` (the ones its grid record names)."""
    for label in labels:
        for kind in ("roc", "map", "heatmap"):
            with contextlib.suppress(FileNotFoundError):
                (out / _figure_name(kind, label)).unlink()


def _can_plot(result: BenchResult) -> bool:
    """Whether figures can be drawn; else why not goes into ``result.figures_note``."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        result.figures_note = ('no figures: matplotlib is not installed (pip install "had[plots]" draws the ROC '
                               "curves and anomaly maps)")
        return False
    return True


def _figure_name(kind: str, label: str) -> str:
    """The PNG of one dataset's figure: ``roc``, ``map`` (cubes) or ``heatmap`` (samples with places)."""
    return f"{kind}_{label.replace('/', '_')}.png"


def is_bench_table(path: Path) -> bool:
    """Whether `path` is a CSV whose header has ``detector,dataset,seed`` (a results.csv of :func:`run`)."""
    try:
        with open(path, newline="", encoding="utf-8", errors=TEXT_ERRORS) as fh:
            header = next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    return _is_bench_header(header)


def _is_bench_header(header) -> bool:
    """A results.csv header of :func:`run`: it names the key columns ``detector,dataset,seed``."""
    return set(KEY_COLUMNS) <= set(header or ())


def check_out_folder(out: Path, labels: Sequence[str], *, replace: bool = False) -> None:
    """:class:`ConfigError` before any cell runs when `out` is not a folder or cannot be created or written, when
    it is a saved model's folder or lies in one (:func:`had.artifact.check_outside_artifacts`), when it holds
    files with the names the grid writes (results.csv, results.md, report.html, the figures) but no had bench
    results.csv (someone's own files, which the grid would replace), or when its results.csv holds an earlier
    grid's cells and `replace` (``--resume`` or ``--overwrite``) is not given: the first finished cell
    would rewrite it without them."""
    from .bench_report import REPORT_NAME

    if out.exists() and not out.is_dir():
        raise ConfigError(f"the output folder {out} is a file; give a folder for the results (it is created if "
                          "missing)")
    blocker = file_in_the_way(out)
    if blocker is not None:
        raise ConfigError(f"the output folder {out} is inside {blocker}, which is a file; give a folder for the "
                          "results (it is created if missing)")
    check_outside_artifacts(out, "the output folder", "give a folder outside it for the results", "results")
    try:  # now, not after the first cell (was: `out = "/proc/x"` ran a cell, then could not keep it)
        out.mkdir(parents=True, exist_ok=True)
        check_writable(out, folder=True)
    except OSError as exc:
        raise ConfigError(f"the output folder {out} cannot be written ({os_error_message(exc)}); give a folder you "
                          "can write") from exc
    bench_resume.refuse_if_held(out)  # another run writing there: said first (was: "add --resume", then the lock)
    if is_bench_table(out / CSV_NAME):
        earlier = 0 if replace else len(read_results(out / CSV_NAME))  # --resume has read it; --overwrite needn't
        if earlier:
            raise ConfigError(f"the output folder {out} holds an earlier grid's results ({earlier} cell(s) in "
                              f"{out / CSV_NAME}): add --resume to continue that grid, --overwrite to replace its "
                              "results, or give another folder")
        _refuse_figures_of_new_labels(out, labels)
        return
    if not os.path.lexists(out / CSV_NAME) and bench_resume.is_record(out / bench_resume.RECORD_NAME):
        return  # a grid stopped before its first cell finished: its record alone, had's (--resume runs every cell)
    names = [CSV_NAME, MD_NAME, REPORT_NAME, bench_resume.RECORD_NAME] + [_figure_name(kind, label) for label in labels
                                                 for kind in ("roc", "map", "heatmap")]
    taken = [name for name in names if os.path.lexists(out / name)]
    if taken:
        raise ConfigError(f"the output folder {out} holds {', '.join(taken)}, not written by had bench (no had "
                          f"bench {CSV_NAME} there): the results would replace them; give a new or empty folder")


def _refuse_figures_of_new_labels(out: Path, labels: Sequence[str]) -> None:
    """:class:`ConfigError` when a figure this grid would write for a dataset the folder's earlier grid did not have
    (by its record and its results.csv) is there already: a file of the user's of that name, which ``--resume`` or
    ``--overwrite`` would replace (a probe of 7 December 2026: ``roc_cardio.png`` of the user's replaced when cardio
    was added to a resumed grid; a fresh folder refused it)."""
    record = bench_resume.read_record(out) if bench_resume.is_record(out / bench_resume.RECORD_NAME) else None
    known = set((record or {}).get("datasets") or ())
    with contextlib.suppress(HadError, OSError):
        known.update(str(row["dataset"]) for row in read_results(out / CSV_NAME))
    taken = [name for label in labels if label not in known for kind in ("roc", "map", "heatmap")
             if os.path.lexists(out / (name := _figure_name(kind, label)))]
    if taken:
        raise ConfigError(f"the output folder {out} holds {', '.join(taken)}, not written by had bench for its "
                          "earlier grid (which had no such dataset): the results would replace them; move them away, "
                          "or give another folder")


def read_results(path: Path) -> list[dict[str, Any]]:
    """The rows of a ``results.csv`` written by :func:`run` (numbers as floats, seeds as ints); [] if absent. A
    value of a number column that is not a finite number (``abc``, ``nan``: had writes a value not computed as
    blank) stays the text it is, so that :func:`run` with ``resume`` runs its cell again and a row kept as it was
    is written back as it was (was: read as blank, kept as a finished cell). :class:`DataFileError` for a row that
    repeats an earlier row's cell (detector, dataset and seed), naming both lines (was: counted as one more seed)."""
    return _read_table(path)[1]


def _read_table(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """The header and the rows of results.csv `path` (:func:`read_results`); ``[], []`` if absent."""
    if not path.exists():
        return [], []
    try:
        with open(path, newline="", encoding="utf-8", errors=TEXT_ERRORS) as fh:
            reader = csv.DictReader(fh)
            if not _is_bench_header(reader.fieldnames):
                raise DataFileError(f"{path} is not a had bench results file (no detector,dataset,seed header); "
                                    "move it away or run without --resume")
            rows = []
            first_line: dict[tuple, int] = {}
            for raw in reader:
                line = reader.line_num
                row: dict[str, Any] = {k: v for k, v in raw.items() if k is not None}
                missing = [k for k, v in row.items() if v is None]
                if missing:  # a cut file (the rows had writes whole): its last row's values would be taken as read
                    raise DataFileError(f"{path}:{line}: the row has {len(row) - len(missing)} of the header's "
                                        f"{len(row)} fields (the file is cut short); delete the line to rerun the "
                                        "cell with --resume")
                try:
                    row["seed"] = int(row["seed"])
                except (TypeError, ValueError):
                    raise DataFileError(f"{path}:{line}: seed {row['seed']!r} is not an integer; fix or delete "
                                        "the line") from None
                key = tuple(row[k] for k in KEY_COLUMNS)
                if key in first_line:  # had writes one row per cell: a second is an edit, not one more seed
                    raise DataFileError(f"{path}:{line} repeats the cell {shown(key[0])} on {shown(key[1])} (seed "
                                        f"{key[2]}) of line {first_line[key]}; delete one")
                first_line[key] = line
                for column, value in row.items():
                    if column not in (*KEY_COLUMNS, "error"):
                        row[column] = _number(value)
                rows.append(row)
            header = list(reader.fieldnames or [])
    except UnicodeDecodeError:
        raise DataFileError(f"{path} is not a text CSV file; move it away or run without --resume") from None
    except csv.Error as exc:
        raise DataFileError(f"{path} cannot be read as CSV ({exc}); fix it, or move it away and run without "
                            "--resume") from None
    return header, rows


def _number(value: Any) -> float | str:
    """A number column's value: a float (blank: NaN, a value had did not compute), or the text itself where it is
    not a finite number (:func:`unreadable`)."""
    if value in (None, ""):
        return math.nan
    try:
        number = float(value)
    except ValueError:
        return value
    return number if math.isfinite(number) else value


def unreadable(row: dict[str, Any], columns: Sequence[str]) -> list[str]:
    """The number columns of `row` (among `columns`) whose value cannot be read: ``auroc 'abc'``, or ``no auprc
    column`` where results.csv lacks it."""
    said = []
    for column in columns:
        if column not in row:
            said.append(f"no {shown(column)} column")
        elif isinstance(row[column], str):
            said.append(f"{shown(column)} {row[column]!r}")
    return said


def resumable_rows(path: Path, columns: Sequence[str]) -> list[dict[str, Any]]:
    """The rows of results.csv `path` that ``--resume`` would read, :class:`ConfigError` when its header names a
    column had does not write (`columns`: the grid's; a metric it does not compute is compared under the lock by
    :func:`had.bench_resume.check_resume` and :func:`had.bench_resume.check_metric_columns`) or one column twice:
    the rows would be written back without them (was: a column of the user's own, dropped unsaid)."""
    header, rows = _read_table(path)
    twice = sorted(name for name, n in Counter(header).items() if n > 1)
    if twice:
        raise ConfigError(f"{path} names the column(s) {', '.join(map(shown, twice))} more than once; delete one, "
                          "then --resume")
    known = {*columns, *plugins.names("metric")}
    foreign = [name for name in header if name not in known and not _metric_variant(name)]
    if foreign:
        raise ConfigError(f"{path} has columns had does not write ({', '.join(map(shown, foreign))}); move them to "
                          "another file, or remove them, then --resume")
    return rows


def _metric_variant(column: str) -> bool:
    """Whether results.csv's `column` is a metric variant's (``precision_at_n@top10``): had's, compared by
    --resume as the grid's metrics (was: said to be a column had does not write)."""
    try:
        name = registered_metric(column)
    except ConfigError:
        return False
    return column != name and name in plugins.names("metric")


def _plots(out: Path, label, dataset, truth, scores: dict[str, np.ndarray], source, roc: bool = True
           ) -> dict[str, Path]:
    from .plots import maps_png, roc_png

    files = {"roc": roc_png(out / _figure_name("roc", label), truth, scores, title=f"ROC on {label}")} if roc else {}
    if dataset.kind == "cube":
        files["maps"] = maps_png(out / _figure_name("map", label), np.asarray(truth).reshape(dataset.X.shape[:2]),
                                 {k: np.reshape(v, dataset.X.shape[:2]) for k, v in scores.items()}, title=label)
    elif len(np.ravel(truth)) == dataset.n_samples:  # the whole dataset was scored: samples map back to places
        maps = {k: source.score_map(dataset, v) for k, v in scores.items()}
        if all(m is not None for m in maps.values()):
            files["maps"] = maps_png(out / _figure_name("heatmap", label), source.truth_map(dataset), maps, title=label)
    return files


def protocol_line(result: BenchResult) -> str:
    """``Protocol deepsad with ratio_pollution=0.`` for a grid given protocol parameters (results.csv's columns
    stay as they were; grid.json records the parameters too)."""
    said = ", ".join(f"{k}={v:g}" for k, v in sorted(result.protocol_params.items()))
    return f"Protocol {result.protocol} with {said}."


def _write(out: Path, result: BenchResult) -> list[Path]:
    from .bench_report import merged_notes, write_report

    csv_path = write_bytes(out / CSV_NAME, to_csv(result.rows, result.columns))
    md = "# had bench\n\n" + (f"{protocol_line(result)}\n\n" if result.protocol_params else "")
    md += "Mean ± std over seeds.\n\n" + result.table() + "\n"
    if (comparison := result.comparison()) is not None:
        md += "\n## Against the baseline\n\n" + comparison.markdown()
    if result.failed:
        md += "\n## Failed cells\n\n" + "\n".join(
            f"- {r['detector']} on {r['dataset']} (seed {r['seed']}): {r['error']}" for r in result.failed) + "\n"
    if result.notes:
        md += "\n## Notes\n\n" + "\n".join(f"- {n}" for n in merged_notes(result.notes)) + "\n"
    md_path = write_bytes(out / MD_NAME, md)

    return [csv_path, md_path, write_report(out, result)]
