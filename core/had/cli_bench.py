"""``had bench``: detectors x datasets x seeds, from options or a grid file (the grid runs in :mod:`had.bench`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .cli_args import metric_names, named_path, parse_settings, per_name, split_names


@click.command("bench")
@click.option("--detectors", help="comma-separated detector names (or the grid file's); NAME@LABEL is a variant of "
              "NAME with settings of its own (--set NAME@LABEL.key=value), in rows of its own")
@click.option("--datasets", help="comma-separated dataset names (or the grid file's)")
@click.option("--metrics", help="comma-separated metric names (`had list metrics`; a metric plugin's too), all shown "
              "in the summary  [default: auroc, auprc, auc_pf_tau, auc_pd_tau, precision, recall, f1, precision_at_n; "
              "the summary shows auroc, auprc, auc_pf_tau, f1]")
@click.option("--seeds", help="a count (5 means 0..4), a list (3,7) or a range (0-4; one seed: 7-7)  [default: 1]")
@click.option("--config", "grid_file", type=click.Path(), callback=named_path,
              help="a grid file (.toml, or .yaml with PyYAML): "
              "detectors and datasets with their settings, seeds, protocol, out; options given here override it")
@click.option("--out", type=click.Path(), callback=named_path,
              help="folder for results.csv, results.md, report.html and PNGs")
@click.option("--protocol", type=click.Choice(["transductive", "adbench", "deepsad", "one-class"]), help="split protocol")
@click.option("--protocol-set", "protocol_sets", multiple=True,
              help="KEY=VALUE parameter of the protocol, e.g. ratio_pollution=0 (deepsad: ratio_known_normal, "
                   "ratio_known_outlier, ratio_pollution, test_size)")
@click.option("--set", "sets", multiple=True, help="DETECTOR.key=value config for one detector")
@click.option("--data", "data_sets", multiple=True, help="DATASET.key=value config for one data source")
@click.option("--metric-set", "metric_sets", multiple=True, help="METRIC.key=value parameter of one metric "
              "(precision_at_n.n=10; a variant precision_at_n@top10.n=10 is a column of its own)")
@click.option("--baseline", help="a detector of the grid the others are compared with, seed by seed: better, tied "
              "or worse on each dataset, the differences and a Wilcoxon test over datasets  [default: the grid "
              "file's baseline, else none]")
@click.option("--baseline-metric", help="the metric of that comparison  [default: the summary's first]")
@click.option("--save-scores/--no-save-scores", default=None, help="keep each cell's scores, truth and threshold "
              "in OUT/scores/DETECTOR/DATASET/seed-N.npz (had.bench_scores)  [default: the grid file's save_scores, "
              "else off]")
@click.option("--no-plots", is_flag=True, help="skip the figures (PNGs and those in report.html)")
@click.option("--resume", is_flag=True, help="keep the finished cells in OUT/results.csv, run only the others")
@click.option("--overwrite", is_flag=True, help="replace the results of an earlier grid in OUT (refused without "
              "this or --resume)")
@click.option("--executor", type=click.Choice(["serial", "processes", "ray"]),
              help="where cells run: here, in local processes, or as Ray tasks  [default: serial]")
@click.option("--workers", type=click.IntRange(min=1), help="processes for --executor processes [default: CPU count]")
@click.option("--ray-address", help="an existing Ray cluster (e.g. ray://head:10001); default: a local Ray")
@click.option("--pin-cpu/--no-pin-cpu", default=None, help="start the workers with the CPU pins, so that torch "
              "detectors' figures repeat on another x86 CPU (one thread each; processes, one at a time, unless "
              "--executor/--workers say)  [default: the grid file's pin_cpu, else off]")
def bench_cmd(detectors, datasets, metrics, seeds, grid_file, out, protocol, protocol_sets, sets, data_sets,
              metric_sets, baseline, baseline_metric, save_scores, no_plots, resume,
              overwrite, executor, workers, ray_address, pin_cpu):
    """Detectors x datasets x seeds: a table, results.csv/results.md, ROC curves and anomaly maps.

    Each cell is written to results.csv as it finishes; a failed cell gets a row with its error and the grid
    goes on; the exit code is 1 when any cell failed (rerun with --resume to retry only those).
    """
    from . import bench
    from .grid import grid_from_options

    listed_metrics = metric_names(metrics)  # one given empty is refused
    for option, value in (("--baseline", baseline), ("--baseline-metric", baseline_metric)):
        if value is not None and not value.strip():  # was: taken for the option left out
            raise click.BadParameter("is empty: name it, or leave the option out", param_hint=option)
    grid = grid_from_options(grid_file, detectors=detectors and split_names(detectors),
                             datasets=datasets and split_names(datasets), seeds=seeds,
                             metrics=listed_metrics,
                             detector_config=per_name(sets, "--set DETECTOR"),
                             dataset_config=per_name(data_sets, "--data DATASET"),
                             metric_config=per_name(metric_sets, "--metric-set METRIC"),
                             protocol_params=parse_settings(protocol_sets), baseline=baseline,
                             baseline_metric=baseline_metric)
    out, protocol = out or grid.out, protocol or grid.protocol
    for note in filter(None, [grid.seeds_note, *grid.notes]):
        click.echo(f"[bench] note: {note}", err=True)
    if resume and overwrite:
        raise click.BadParameter("--resume keeps the earlier cells and --overwrite replaces them: give one",
                                 param_hint="--overwrite")
    if resume and not out:
        raise click.BadParameter("--resume needs --out, the folder holding results.csv", param_hint="--resume")
    from .executors import ray_address_note, workers_note

    pin_cpu = grid.pin_cpu if pin_cpu is None else pin_cpu
    runs_on, workers = executor or grid.executor, workers or grid.workers
    if pin_cpu and runs_on is None:  # the pins act in processes started with them, not in this one
        more = "" if workers else "; --workers N for more at a time"
        runs_on, workers = "processes", workers or 1
        click.echo(f"[bench] note: --pin-cpu runs the cells in {workers} worker process(es) started with the pins "
                   f"(--executor processes{more})", err=True)
    runs_on = runs_on or "serial"
    for said in (workers_note(runs_on, workers),
                 ray_address_note(runs_on, ray_address or grid.ray_address)):
        if said:
            click.echo(f"[bench] {said}", err=True)
    result = bench.run(grid.detectors, grid.datasets, grid.seeds, out=out, protocol=protocol, metrics=grid.metrics,
                       metric_config=grid.metric_config,
                       detector_config=grid.detector_config, dataset_config=grid.dataset_config,
                       protocol_params=grid.protocol_params, plots=not no_plots, resume=resume, overwrite=overwrite,
                       executor=runs_on, workers=workers, ray_address=ray_address or grid.ray_address,
                       pin_cpu=pin_cpu, baseline=grid.baseline, baseline_metric=grid.baseline_metric,
                       save_scores=grid.save_scores if save_scores is None else save_scores)
    click.echo(result.table())
    if (comparison := result.comparison()) is not None:
        click.echo("\n" + comparison.markdown(), nl=False)
    for path in result.files:
        click.echo(f"wrote {path}")
    if result.failed:
        where = f"in {Path(out) / bench.CSV_NAME}; fix the cause and rerun with --resume" if out else "listed above"
        click.echo(f"error: {len(result.failed)} of {len(result.rows)} cells failed, their errors {where}", err=True)
        sys.exit(1)
