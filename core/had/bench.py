"""`had bench`: detectors x datasets x seeds under a split protocol; a table, CSV, Markdown and PNGs.

``results.csv`` has one row per (detector, dataset, seed): ``detector,dataset,seed``, one column per metric
(``auroc``, ``auprc``, ``auc_pf_tau``, ...), then ``fit_s``, ``score_s``. Metrics are always computed on the
test part of the protocol; for the transductive protocol (scenes) that is the fitted scene itself, as the
hyperspectral literature evaluates.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from . import get_datasource, get_detector, get_metric, plugins, protocols
from .atomic import write_bytes
from .errors import HadError
from .tables import markdown, summarise, to_csv

DEFAULT_METRICS = ("auroc", "auprc", "auc_pf_tau", "auc_pd_tau", "precision", "recall", "f1", "precision_at_n")


@dataclass
class BenchResult:
    rows: list[dict[str, Any]]
    metrics: list[str]
    errors: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return ["detector", "dataset", "seed", *self.metrics, "fit_s", "score_s"]

    def table(self, metrics: Sequence[str] | None = None) -> str:
        """Markdown table: mean ± std over seeds per detector and dataset."""
        shown = list(metrics or [m for m in ("auroc", "auprc", "auc_pf_tau") if m in self.metrics])
        shown += ["fit_s", "score_s"]
        body = summarise(self.rows, ["dataset", "detector"], shown)
        return markdown(["dataset", "detector", "seeds", *shown], body)


def run(
    detectors: Sequence[str],
    datasets: Sequence[str],
    seeds: Sequence[int] = (0,),
    *,
    out: str | Path | None = None,
    metrics: Sequence[str] | None = None,
    protocol: str | None = None,
    detector_config: dict[str, dict[str, Any]] | None = None,
    dataset_config: dict[str, dict[str, Any]] | None = None,
    plots: bool = True,
    echo: Callable[[str], None] | None = None,
) -> BenchResult:
    """Run the benchmark grid; write results into `out` if given. Errors of one cell are reported, not fatal."""
    echo = echo or (lambda line: print(line, file=sys.stderr))
    detector_config = detector_config or {}
    dataset_config = dataset_config or {}
    metric_names = list(metrics or [m for m in DEFAULT_METRICS if m in plugins.names("metric")])
    metric_objs = {name: get_metric(name) for name in metric_names}
    for name in detectors:  # fail fast on unknown names and invalid configs, before any work
        get_detector(name, detector_config.get(name))
    sources = {name: get_datasource(name, dataset_config.get(name)) for name in datasets}
    result = BenchResult([], metric_names)
    for ds_name, source in sources.items():
        dataset = source.load()
        proto = protocol or source.default_protocol
        first_seed_scores: dict[str, np.ndarray] = {}
        truth = None
        for seed in seeds:
            split = protocols.apply(proto, dataset, seed=seed)
            truth = split.test.y
            for det_name in detectors:
                row, scores = _one(det_name, ds_name, seed, split, metric_objs, detector_config.get(det_name, {}),
                                   proto, result, echo)
                if row is not None:
                    result.rows.append(row)
                    if seed == seeds[0]:
                        first_seed_scores[det_name] = scores
        if out is not None and plots and truth is not None and first_seed_scores:
            result.files += _plots(Path(out), ds_name, dataset, truth, first_seed_scores, source)
    if out is not None:
        result.files += _write(Path(out), result)
    return result


def _one(det_name, ds_name, seed, split, metric_objs, config, proto, result, echo):
    try:
        detector = get_detector(det_name, {**config, "seed": seed})
        echo(f"[bench] {det_name} on {ds_name} (seed {seed}) ...")
        t0 = time.perf_counter()
        detector.fit(split.train.X, split.train.known)
        fit_s = time.perf_counter() - t0
        if proto == "transductive" and detector.transductive:
            scores, score_s = detector.decision_scores_.reshape(np.shape(split.test.y)), 0.0
        else:
            t0 = time.perf_counter()
            scores = detector.decision_function(split.test.X)
            score_s = time.perf_counter() - t0
    except HadError as exc:
        message = f"{det_name} on {ds_name} (seed {seed}): {exc}"
        result.errors.append(message)
        echo(f"[bench] skipped: {message}")
        return None, None
    row: dict[str, Any] = {"detector": det_name, "dataset": ds_name, "seed": seed}
    for name, metric in metric_objs.items():
        row[name] = metric(split.test.y, scores, detector.threshold_)
    row["fit_s"], row["score_s"] = fit_s, score_s
    auroc = row.get("auroc")
    echo(f"[bench] {det_name} on {ds_name} (seed {seed}): auroc {auroc:.4f}, fit {fit_s:.2f}s" if auroc is not None
         else f"[bench] {det_name} on {ds_name} (seed {seed}) done")
    return row, scores


def _plots(out: Path, ds_name, dataset, truth, scores: dict[str, np.ndarray], source) -> list[Path]:
    from .plots import maps_png, roc_png

    safe = ds_name.replace("/", "_")
    files = [roc_png(out / f"roc_{safe}.png", truth, scores, title=f"ROC on {ds_name}")]
    if dataset.kind == "cube":
        files.append(maps_png(out / f"map_{safe}.png", np.asarray(truth).reshape(dataset.X.shape[:2]),
                              {k: np.reshape(v, dataset.X.shape[:2]) for k, v in scores.items()}, title=ds_name))
    elif len(np.ravel(truth)) == dataset.n_samples:  # the whole dataset was scored: samples map back to places
        maps = {k: source.score_map(dataset, v) for k, v in scores.items()}
        if all(m is not None for m in maps.values()):
            files.append(maps_png(out / f"heatmap_{safe}.png", source.truth_map(dataset), maps, title=ds_name))
    return files


def _write(out: Path, result: BenchResult) -> list[Path]:
    csv_path = write_bytes(out / "results.csv", to_csv(result.rows, result.columns))
    md = "# had bench\n\nMean ± std over seeds.\n\n" + result.table(
        [m for m in result.metrics if m in ("auroc", "auprc", "auc_pf_tau", "f1")]) + "\n"
    if result.errors:
        md += "\n## Skipped\n\n" + "\n".join(f"- {e}" for e in result.errors) + "\n"
    md_path = write_bytes(out / "results.md", md)
    return [csv_path, md_path]
