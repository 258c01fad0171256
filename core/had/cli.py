"""The `had` command line. Errors print one line (exit 2); ``--debug`` shows the traceback."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
import numpy as np

from . import plugins
from .errors import HadError, os_error_message

KIND_OF_LIST = {"detectors": "detector", "datasets": "datasource", "metrics": "metric"}


def _parse_settings(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``key=value`` pairs; values are JSON where they parse (numbers, lists, true/null), else strings."""
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not key=value")
        try:
            settings[key] = json.loads(raw)
        except json.JSONDecodeError:
            settings[key] = raw
    return settings


def _echo_table(header, rows) -> None:
    from .tables import markdown

    click.echo(markdown(header, rows))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="show tracebacks")
@click.version_option(package_name="had")
@click.pass_context
def cli(ctx, debug):
    """had: plugin-based anomaly detection (hyperspectral scenes, tables, images)."""
    ctx.obj = {"debug": debug}
    if debug:
        os.environ["HAD_DEBUG"] = "1"


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def plugins_cmd(as_json):
    """Every plugin: distribution, version, what it registers, and load errors."""
    infos = plugins.plugins()
    if as_json:
        click.echo(json.dumps([info.__dict__ for info in infos], indent=2))
        return
    rows = []
    for info in infos:
        registers = "; ".join(f"{kind}s: {', '.join(names)}" for kind, names in info.registers.items())
        rows.append([info.name, info.distribution or "", info.version or "", registers or "",
                     f"ERROR {info.error}" if info.error else "ok"])
    _echo_table(["plugin", "distribution", "version", "registers", "status"], rows)


@cli.command("list")
@click.argument("what", type=click.Choice(sorted(KIND_OF_LIST)))
def list_cmd(what):
    """List registered detectors, datasets or metrics."""
    kind = KIND_OF_LIST[what]
    entries = plugins.registry()[kind]
    if kind == "datasource":  # which datasets' files are in HAD_DATA_DIR (`had data fetch NAME` gets the rest)
        from .fetch import presence

        _echo_table(["name", "plugin", "files", "summary"],
                    [[n, e.plugin, presence(n), e.describe()] for n, e in sorted(entries.items())])
        return
    _echo_table(["name", "plugin", "summary"], [[n, e.plugin, e.describe()] for n, e in sorted(entries.items())])


@cli.command("describe")
@click.argument("name")
def describe_cmd(name):
    """Config fields (type, default) and capabilities of a detector, dataset or metric."""
    from .config import describe_fields

    found = [(kind, entries[name]) for kind, entries in plugins.registry().items() if name in entries]
    if not found:
        known = sorted({n for entries in plugins.registry().values() for n in entries})
        raise HadError(f"no detector, dataset or metric is named {name!r}; known: {', '.join(known)}")
    for kind, entry in found:
        target = entry.load()
        click.echo(f"{name} ({kind}, plugin {entry.plugin}): {entry.describe()}")
        if kind == "detector":
            click.echo(f"  data kinds: {', '.join(target.kinds)}; uses labels: {target.uses_labels}; "
                       f"transductive: {target.transductive}")
            click.echo("  ONNX export: " + ("yes" if target.onnx_unsupported is None
                                            else f"no ({target.onnx_unsupported})"))
        config_cls = getattr(target, "Config", None)
        if config_cls is not None:
            rows = []
            for row in describe_fields(config_cls):
                default = repr(entry.defaults[row["name"]]) if row["name"] in entry.defaults else row["default"]
                rows.append([row["name"], row["type"], default, row["description"]])
            if rows:
                _echo_table(["field", "type", "default", "description"], rows)


DATA_SUFFIXES = (".mat", ".npz", ".npy")


def _looks_like_path(spec: str) -> bool:
    return os.path.lexists(spec) or os.sep in spec or Path(spec).suffix.lower() in DATA_SUFFIXES


def _dataset(spec: str, settings: dict[str, Any]):
    """A dataset by registered name, or by path (.mat/.npz: a cube with data/map or a table with X/y; .npy)."""
    from . import load_dataset
    from .data import Dataset
    from .datadir import regular_file
    from .errors import DataFileError

    if spec in plugins.registry()["datasource"] or not _looks_like_path(spec):
        return load_dataset(spec, settings)
    path = regular_file(spec)
    from .scenefiles import open_scene, source_for_path

    if source_for_path(path):  # a file a plugin reads: .hdr (ENVI, memory-mapped), .tif (GeoTIFF)
        return open_scene(spec, settings)
    suffix = path.suffix.lower()
    if suffix not in DATA_SUFFIXES:
        raise DataFileError(f"{path}: unsupported file type {suffix!r}; pass a .mat, .npz, .npy, ENVI .hdr or "
                            "GeoTIFF file, or a dataset name (`had list datasets`)")
    if suffix == ".npy":
        from .matfile import read_npy

        return Dataset(path.stem, read_npy(path))
    from .matfile import list_keys

    keys = set(list_keys(path))
    source = "table-file" if ("X" in keys or "x_key" in settings) else "hsi-file"
    return load_dataset(source, {"path": str(path), **settings})


@cli.command("fit")
@click.argument("detector")
@click.argument("dataset")
@click.option("-o", "--output", required=True, type=click.Path(), help="artifact folder to write")
@click.option("--set", "sets", multiple=True, help="detector config key=value")
@click.option("--data", "data_sets", multiple=True, help="data source config key=value")
@click.option("--export/--no-export", default=False, help="also export and verify model.onnx")
def fit_cmd(detector, dataset, output, sets, data_sets, export):
    """Fit DETECTOR on DATASET (a name or a file) and save it as an artifact."""
    import time

    from . import get_detector, get_metric, save

    data = _dataset(dataset, _parse_settings(data_sets))
    det = get_detector(detector, _parse_settings(sets))
    t0 = time.perf_counter()
    det.fit(data.X, data.known)
    click.echo(f"fitted {detector} on {data.describe()} in {time.perf_counter() - t0:.2f}s")
    metrics = {}
    if data.y is not None:
        # the fitted data's own labels: the transductive evaluation of scene detectors; not a held-out score
        for name in ("auroc", "auprc", "auc_pf_tau"):
            metrics[f"{name}_on_fit_data"] = get_metric(name)(data.y, det.decision_scores_)
        click.echo("  " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
    onnx_model = None
    if export:
        from .onnx_export import export_verified

        onnx_model = export_verified(det, data.X)
    save(det, output, onnx_model=onnx_model, metrics=metrics)
    click.echo(f"saved {output}")


@cli.command("score")
@click.argument("model", type=click.Path(exists=True))
@click.argument("dataset")
@click.option("--data", "data_sets", multiple=True, help="data source config key=value")
@click.option("-o", "--output", type=click.Path(), help="write scores to this .npy, or the map to a GeoTIFF (.tif)")
@click.option("--png", type=click.Path(), help="write the anomaly map (cubes) as PNG")
@click.option("--engine", type=click.Choice(["auto", "onnx", "eager"]), default="auto",
              help="onnx: onnxruntime only (no torch); eager: the plugin's code; auto: onnx if exported")
def score_cmd(model, dataset, data_sets, output, png, engine):
    """Score DATASET (a name or a file) with a saved MODEL."""
    from .score_file import score_to_map, wants_tiles

    if wants_tiles(dataset, output):  # ENVI/GeoTIFF scenes and .tif maps: tile by tile, written as it goes
        score_to_map(model, dataset, output, settings=_parse_settings(data_sets), engine=engine, png=png, echo=click.echo)
        return
    from .artifact import ONNX, read_manifest

    data = _dataset(dataset, _parse_settings(data_sets))
    if png and data.kind != "cube":
        from .errors import InvalidInputError

        raise InvalidInputError(f"--png draws the anomaly map of a cube (H, W, B); {data.name} is {data.kind} data "
                                f"of shape {data.X.shape}: drop --png (use -o to keep the scores)")
    manifest = read_manifest(model)
    use_onnx = engine == "onnx" or (engine == "auto" and ONNX in manifest["files"])
    if use_onnx:
        from .runtime import OnnxScorer

        scorer = OnnxScorer(model)
        scores = scorer.score(data.X)
        threshold = manifest["threshold"]
        click.echo(f"scored with onnxruntime, providers {', '.join(scorer.providers)}")
    else:
        from .artifact import load

        det = load(model)
        scores, threshold = det.decision_function(data.X), det.threshold_
        click.echo(f"scored with the {manifest['detector']} plugin (eager)")
    flagged = int((np.asarray(scores) > threshold).sum())
    click.echo(f"{data.describe()}: {flagged} of {np.size(scores)} above the threshold {threshold:.6g}")
    if data.y is not None:
        from .metrics import auc_pf_tau, auroc

        try:
            click.echo(f"  auroc {auroc(data.y, scores):.4f}, auc_pf_tau {auc_pf_tau(data.y, scores):.4f}")
        except HadError as exc:  # labels of one class, constant scores: the scores are still written
            click.echo(f"  metrics skipped: {exc}")
    if output:
        import io

        from .atomic import write_bytes

        buf = io.BytesIO()
        np.save(buf, np.asarray(scores))
        write_bytes(output, buf.getvalue())
        click.echo(f"wrote {output}")
    if png and np.ndim(scores) == 2:
        from .plots import maps_png

        maps_png(png, None if data.y is None else np.reshape(data.y, np.shape(scores)),
                 {manifest["detector"]: scores}, title=data.name)
        click.echo(f"wrote {png}")


@cli.command("export")
@click.argument("model", type=click.Path(exists=True))
@click.argument("dataset", required=False)
def export_cmd(model, dataset):
    """Export a saved MODEL to ONNX (verified for parity on DATASET or on generated data) into the artifact."""
    from .onnx_export import export_artifact

    data = _dataset(dataset, {}) if dataset else None
    report = export_artifact(model, None if data is None else data.X)
    click.echo(f"exported {model}/model.onnx: " + ", ".join(f"{k} {v}" for k, v in report.items()))


def _per_name(pairs: tuple[str, ...], option: str) -> dict[str, dict[str, Any]]:
    """``NAME.key=value`` pairs grouped by NAME."""
    config: dict[str, dict[str, Any]] = {}
    for key, value in _parse_settings(pairs).items():
        name, sep, field_name = key.partition(".")
        if not sep:
            raise click.BadParameter(f"{key}: use {option}.key=value")
        config.setdefault(name, {})[field_name] = value
    return config


def _split_names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


@cli.command("bench")
@click.option("--detectors", help="comma-separated detector names (or the grid file's)")
@click.option("--datasets", help="comma-separated dataset names (or the grid file's)")
@click.option("--seeds", help="a count (5 means 0..4), a list (3,7) or a range (0-4)  [default: 1]")
@click.option("--config", "grid_file", type=click.Path(), help="a grid file (.toml, or .yaml with PyYAML): "
              "detectors and datasets with their settings, seeds, protocol, out; options given here override it")
@click.option("--out", type=click.Path(), help="folder for results.csv, results.md and PNGs")
@click.option("--protocol", type=click.Choice(["transductive", "adbench", "deepsad", "one-class"]), help="split protocol")
@click.option("--set", "sets", multiple=True, help="DETECTOR.key=value config for one detector")
@click.option("--data", "data_sets", multiple=True, help="DATASET.key=value config for one data source")
@click.option("--no-plots", is_flag=True, help="skip PNGs")
@click.option("--resume", is_flag=True, help="keep the finished cells in OUT/results.csv, run only the others")
@click.option("--executor", type=click.Choice(["serial", "processes", "ray"]),
              help="where cells run: here, in local processes, or as Ray tasks  [default: serial]")
@click.option("--workers", type=click.IntRange(min=1), help="processes for --executor processes [default: CPU count]")
@click.option("--ray-address", help="an existing Ray cluster (e.g. ray://head:10001); default: a local Ray")
def bench_cmd(detectors, datasets, seeds, grid_file, out, protocol, sets, data_sets, no_plots, resume, executor,
              workers, ray_address):
    """Detectors x datasets x seeds: a table, results.csv/results.md, ROC curves and anomaly maps.

    Each cell is written to results.csv as it finishes; a failed cell gets a row with its error and the grid
    goes on; the exit code is 1 when any cell failed (rerun with --resume to retry only those).
    """
    from . import bench
    from .grid import grid_from_options

    grid = grid_from_options(grid_file, detectors=detectors and _split_names(detectors),
                             datasets=datasets and _split_names(datasets), seeds=seeds,
                             detector_config=_per_name(sets, "--set DETECTOR"),
                             dataset_config=_per_name(data_sets, "--data DATASET"))
    out, protocol = out or grid.out, protocol or grid.protocol
    if resume and not out:
        raise click.BadParameter("--resume needs --out, the folder holding results.csv", param_hint="--resume")
    result = bench.run(grid.detectors, grid.datasets, grid.seeds, out=out, protocol=protocol,
                       detector_config=grid.detector_config, dataset_config=grid.dataset_config,
                       plots=not no_plots, resume=resume, executor=executor or grid.executor or "serial",
                       workers=workers or grid.workers, ray_address=ray_address or grid.ray_address)
    click.echo(result.table())
    for path in result.files:
        click.echo(f"wrote {path}")
    if result.failed:
        where = f"in {Path(out) / bench.CSV_NAME}; fix the cause and rerun with --resume" if out else "listed above"
        click.echo(f"error: {len(result.failed)} of {len(result.rows)} cells failed, their errors {where}", err=True)
        sys.exit(1)


@cli.command("demo")
@click.option("--out", type=click.Path(), default="demo-out", show_default=True)
def demo_cmd(out):
    """RX on the synthetic scene and, when HAD_DATA_DIR holds them, the four LREN scenes."""
    from .demo import run_demo

    run_demo(Path(out), echo=click.echo)


def _fail(message: str, debug: bool, exc: BaseException) -> None:
    if debug:
        raise exc
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@cli.group("data")
def data_group():
    """The data files the installed data plugins know."""


@data_group.command("fetch")
@click.argument("names", nargs=-1, required=True)
@click.option("--mirror", help="fetch MIRROR/RELPATH instead of each file's own address (or set HAD_DATA_MIRROR)")
def data_fetch_cmd(names, mirror):
    """Download NAMES (datasets, data plugins, file paths, or `all`) into HAD_DATA_DIR, sha256-verified."""
    from .fetch import fetch_names

    fetch_names(names, mirror=mirror, echo=click.echo)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: bad input, I/O errors and memory exhaustion print one line and exit 2 (``--debug``: traceback)."""
    plugins.add_commands(cli)  # a plugin whose hook fails is reported by `had plugins`, not fatal
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="had", standalone_mode=False)
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__, EOFError):  # click turns any EOFError into Abort: it was not Ctrl-C
            _fail(f"unexpected end of input or of a file ({exc.__cause__ or 'EOF'})", debug, exc.__cause__)
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except HadError as exc:
        _fail(str(exc), debug, exc)
    except OSError as exc:
        _fail(os_error_message(exc), debug, exc)
    except MemoryError as exc:
        _fail(f"out of memory ({exc or 'MemoryError'}); use smaller data or a larger machine", debug, exc)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
