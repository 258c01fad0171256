"""The `had` command line. Errors print one line (exit 2); ``--debug`` shows the traceback."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import warnings
from typing import Any

import click
import numpy as np

from . import nodata, plugins, protocols, signals, validation
from .cli_args import named_host, named_path, parse_settings
from .cli_bench import bench_cmd
from .cli_streams import json_only_on_stdout, json_out, prepare_streams
from .dataset_arg import open_dataset as _dataset  # a DATASET argument; scenefiles imports it under this name
from .detector import constant_scores
from .errors import ArtifactError, ConstantScoresWarning, HadError, InvalidInputError, LabelError, one_line, os_error_message
from .memory import tune_malloc

KIND_OF_LIST = {"detectors": "detector", "datasets": "datasource", "metrics": "metric"}


def _echo_table(header, rows) -> None:
    """A Markdown table; a ``|`` inside a cell (``int | float``) is escaped so it does not split the cell."""
    from .tables import markdown

    click.echo(markdown(header, [[str(cell).replace("|", "\\|") for cell in row] for row in rows]))


def _echo_json(value: Any) -> None:
    """`value` as JSON on stdout (numpy numbers as numbers, NaN as null): the one output of a ``--json`` run."""
    from .cli_json import to_json

    click.echo(to_json(value), file=json_out())


def _note(as_json: bool):
    """Where a command's progress lines go: stdout, or stderr when stdout carries the JSON."""
    return (lambda line: click.echo(line, err=True)) if as_json else click.echo


class _Commands(click.Group):
    """had's command group: a command that a plugin adds, asked for where that plugin is not loaded (``had demo``
    without had-plugin-hsi), is a usage error that names the distribution (was click's bare "No such command")."""

    def resolve_command(self, ctx, args):
        name = click.utils.make_str(args[0]) if args else ""
        if name and self.get_command(ctx, name) is None:
            from .catalog import missing_command_message

            if said := missing_command_message(name):
                ctx.fail(said)
        return super().resolve_command(ctx, args)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="show tracebacks")
@click.version_option(package_name="had")
@click.pass_context
def cli(ctx, debug):
    """had: plugin-based anomaly detection (hyperspectral scenes, tables, images)."""
    ctx.obj = {"debug": debug}
    if debug:  # for this command only (and the processes it starts); a caller's environment is given back after
        before = os.environ.get("HAD_DEBUG")
        os.environ["HAD_DEBUG"] = "1"
        ctx.call_on_close(lambda: os.environ.__setitem__("HAD_DEBUG", before) if before is not None
                          else os.environ.pop("HAD_DEBUG", None))


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def plugins_cmd(as_json):
    """Every plugin: distribution, version, what it registers, and load errors."""
    infos = plugins.plugins()
    if as_json:
        _echo_json([info.__dict__ for info in infos])
        return
    rows = []
    for info in infos:
        registers = "; ".join(f"{kind}s: {', '.join(names)}" for kind, names in info.registers.items())
        rows.append([one_line(cell) for cell in (  # names and versions from a plugin's files: escaped (a review)
            info.name, info.distribution or "", info.version or "", registers or "",
            f"ERROR {info.error}" if info.error else "ok")])
    _echo_table(["plugin", "distribution", "version", "registers", "status"], rows)


@cli.command("list")
@click.argument("what", type=click.Choice(sorted(KIND_OF_LIST)))
@click.option("--json", "as_json", is_flag=True, help="print JSON: a list of {name, plugin, summary[, files]}")
def list_cmd(what, as_json):
    """List registered detectors, datasets or metrics."""
    kind = KIND_OF_LIST[what]
    rows = [{"name": n, "plugin": e.plugin, "summary": e.describe()} for n, e in sorted(plugins.registry()[kind].items())]
    if kind == "metric":  # a key of its own for scripts (the summary says "(lower is better)" to people)
        for row in rows:
            row["higher_is_better"] = getattr(plugins.entry(kind, row["name"]).target, "higher_is_better", True) is True
    if kind == "datasource":  # which datasets' files are in HAD_DATA_DIR (`had data fetch NAME` gets the rest)
        from .fetch import presence

        for row in rows:
            row["files"] = presence(row["name"])
    if as_json:
        _echo_json(rows)
        return
    header = ["name", "plugin", "files", "summary"] if kind == "datasource" else ["name", "plugin", "summary"]
    _echo_table(header, [[row[h] for h in header] for row in rows])
    if kind == "datasource":
        from .datadir import usable_data_dir
        from .errors import DataFileError

        try:
            usable_data_dir()
        except DataFileError as exc:  # every file "missing" for that reason, said (was: no hint why)
            click.echo(f"note: {exc}")


@cli.command("describe")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="print JSON: one object per detector, dataset or metric named NAME")
def describe_cmd(name, as_json):
    """Config fields (type, default) and capabilities of a detector, dataset or metric."""
    from .cli_json import describe_entries
    from .config import default_text

    entries = describe_entries(name)
    if as_json:
        _echo_json(entries)
        return
    for info in entries:
        click.echo(f"{name} ({info['kind']}, plugin {info['plugin']}): {info['summary']}")
        if info["kind"] == "detector":
            click.echo(f"  data kinds: {', '.join(info['data_kinds'])}; uses labels: {info['uses_labels']}; "
                       f"transductive: {info['transductive']}")
            click.echo("  ONNX export: " + ("yes" if info["onnx_export"] else f"no ({info['onnx_unsupported']})"))
        if info["fields"]:
            _echo_table(["field", "type", "default", "description"],
                        [[f["name"], f["type"], default_text(f), f["description"]] for f in info["fields"]])
            if info["kind"] == "metric":  # where its parameters are given (fit and score take the defaults)
                click.echo(f"  in a grid: had bench --metrics {name} --metric-set {name}.{info['fields'][0]['name']}"
                           f"=VALUE (a variant {name}@LABEL is a column of its own)")


def _check_can_write(path, what: str) -> None:
    """An ArtifactError now, before any work, when `path` could not be written (a read-only or immutable folder):
    it was said after a fit of perhaps hours, which was then lost."""
    from .atomic import check_writable
    from .errors import ArtifactError

    try:
        check_writable(path)
    except OSError as exc:
        raise ArtifactError(f"cannot write {what} {path}: {os_error_message(exc)}; give a folder you can write "
                            "(nothing was fitted)") from None


#: what ``had fit`` measures on the fit data's labels unless ``--metrics`` names others
FIT_METRICS = ("auroc", "auprc", "auc_pf_tau")


@cli.command("fit")
@click.argument("detector")
@click.argument("dataset")
@click.option("-o", "--output", required=True, type=click.Path(), callback=named_path,
              help="artifact folder to write")
@click.option("--set", "sets", multiple=True, help="detector config key=value")
@click.option("--data", "data_sets", multiple=True, help="data source config key=value")
@click.option("--known", "known_path", type=click.Path(), default=None, callback=named_path,
              help="known labels for a semi-supervised detector, one per sample ((H, W) for a scene): 1 known "
                   "anomaly, -1 known normal, 0 unlabelled; .npy, .mat/.npz, or a single-band GeoTIFF/ENVI image")
@click.option("--export/--no-export", default=False, help="also export and verify model.onnx")
@click.option("--json", "as_json", is_flag=True, help="print a JSON summary (fit time, metrics, export report)")
@click.option("--overwrite", is_flag=True, help="replace the model that OUTPUT holds (refused without it)")
@click.option("--metrics", help="comma-separated metrics measured on the fit data's labels (`had list metrics`; a "
              "metric plugin's too)  [default: auroc, auprc, auc_pf_tau]")
def fit_cmd(detector, dataset, output, sets, data_sets, known_path, export, as_json, overwrite, metrics):
    """Fit DETECTOR on DATASET (a name or a file) and save it as an artifact."""
    import time

    from . import get_detector, save
    from .artifact import check_target, fitted_name
    from .metrics import measure_all
    from .sklearn_compat import names_checked_elsewhere

    metric_names = _metric_names(metrics)  # checked before the fit
    # everything that would make the save fail is checked before the (possibly long) fit, --overwrite or not (was:
    # skipped with it, so -o cube.npy --overwrite fitted, then refused); --overwrite lets a had artifact be replaced
    held = fitted_name(check_target(output))
    if held is not None and not overwrite:
        raise ArtifactError(f"{output} holds a fitted {held} model; had fit replaces it only with --overwrite, or "
                            "choose a new folder (nothing was fitted or written)")
    _check_can_write(output, "the artifact")
    note = _note(as_json)
    det = get_detector(detector, parse_settings(sets))
    if known_path is not None and not det.uses_labels:
        raise LabelError(f"{detector} does not learn from known labels; drop --known, or fit a detector that does "
                         "('uses labels: True' in had describe DETECTOR)")
    if export:
        from .errors import ExportNotSupported
        from .onnx_export import import_onnx
        from .runtime import import_onnxruntime

        if det.onnx_unsupported:
            raise ExportNotSupported(f"{det.name} cannot be exported to ONNX ({det.onnx_unsupported}); "
                                     "fit without --export (nothing was fitted or written)")
        import_onnx()  # a missing extra is said now, not after the fit
        import_onnxruntime()
    data = _dataset(dataset, parse_settings(data_sets))
    if known_path is not None:
        from .dataset_arg import with_known

        data = with_known(data, known_path)
    declared = nodata.declared(data.meta)
    if declared is not None and nodata.masks_fill(det) and nodata.FIELD not in parse_settings(sets):
        det.set_params(**{nodata.FIELD: nodata.as_config(declared)})  # the file's fill pixels left out
    t0 = time.perf_counter()
    try:
        with plugins.exit_reported(f"the {detector} detector's fit"), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConstantScoresWarning)  # said below as a note
            warnings.simplefilter("ignore", validation.KnownLabelsWarning)  # said below as a note too
            det.fit(data.X, data.known)
    except InvalidInputError as exc:  # NaN in bands the header marks bad: say how to leave them out
        from .scenefiles import bad_bands_hint

        hint = bad_bands_hint(data.name, data.meta, str(exc))
        if hint:
            raise type(exc)(f"{exc}; {hint}") from None
        raise
    fit_s = time.perf_counter() - t0
    from .cubeview import RECORD, record_of

    if (view := record_of(data.meta)) is not None:  # read with --data bands=... / nodata_any_band: had score does too
        det.input_spec_[RECORD] = view
    from . import wavelengths

    if (bands := wavelengths.record(data.meta, det.input_spec_.get("n_features") or 0)) is not None:
        det.input_spec_[wavelengths.KEY] = bands  # had score refuses a scene whose bands are others'
    from . import reflectance

    reflectance.record(data.meta, det.input_spec_)  # had score refuses a scene stored in other units (ENVI)
    # a CSV's header, kept as the Python API keeps a DataFrame's: had score refuses a table of other columns, or of
    # the same in another order (had.score_file.check_columns; was: kept nowhere, c,a,b scored as a,b,c unsaid)
    names = data.meta.get("feature_names")
    if names and det.input_spec_.get("kind") == "tabular" and len(names) == det.input_spec_.get("n_features"):
        det.input_spec_.setdefault("feature_names", [str(n) for n in names])

    from .tiling import LazyScene

    read = data.describe(det) if isinstance(data, LazyScene) else data.describe()  # a file: as det's fit read it
    note(f"fitted {detector} on {read} in {fit_s:.2f}s")
    for line in getattr(det, "fit_notes_", None) or ():  # what a detector changed to get through the fit
        note("  note: " + line)
    if said := constant_scores(detector, getattr(det, "decision_scores_", None), data.X):
        note("  note: " + said)
    if det.uses_labels and (data.known is None or not np.any(data.known)):
        note(f"  note: {protocols.fitted_unlabelled(detector, data.name)}; give them with --known FILE (or "
             "fit(X, known) in Python)")
    if det.uses_labels and data.known is not None and (said := validation.reversed_known(data.known)):
        note(f"  note: {said}")  # was: a reversed --known fitted without a word
    anomalous = float(np.mean(np.asarray(data.y) > 0)) if data.y is not None and np.size(data.y) else 0.0
    if not det.uses_labels and anomalous >= 0.5:
        # an anomaly detector learns what is common: fitted on a set that is mostly anomalies by its own labels
        # (`had fit deepsvdd mnist`: 9,020 of 10,000), it learns them (AUROC 0.498 there), without a word
        split = (" (--data split=train: the normal class's training images)"
                 if data.meta.get("split_index") is not None else "")  # an image set's one-class parts
        note(f"  note: {anomalous:.0%} of {data.name} are anomalies by its labels, and {detector} learns what is "
             f"common in its training data: fit it on the normal part{split}")
    if said := nodata.note(data.name, data.meta, det, rows=np.ndim(data.X) == 2):
        note("  " + said)
    masked = nodata.fill_value_of(det)
    if masked is None and declared is None and (said := nodata.undeclared_fill(data.X, data.name, det)):
        note("  " + said)  # was: a -9999 edge fitted as data without a word
    if said := nodata.partial_line(data.name, masked, getattr(det, "partial_fill_", None),
                                   kept=data.meta.get("bands_kept")) if masked is not None else None:
        note("  " + said)
    from .scenefiles import georeferencing, view_note

    if said := view_note(data.name, data.meta):
        note("  " + said)
    if data.meta.get("map_info") and data.meta.get("transform") is None:  # said at fit too (was: at score only,
        note(f"  note: {data.name}: {georeferencing(data.meta)}")  # when its maps came out without a place)
    sample = getattr(det, "fit_sample_", None)  # a pixel-trained detector on a cube above max_fit_pixels
    if sample and sample["pixels"] < sample["of"] - sample.get("fill_pixels", 0):  # not just the fill left out
        kept = f", the {sample['labelled']:,} with known labels among them" if sample.get("labelled") else ""
        each = (f"a seeded sample of {sample['pixels']:,}" if not sample.get("members") else
                f"{len(sample['members'])} seeded samples (one per member) of {sample['pixels']:,}")
        note(f"  trained on {each} of {sample['of'] - sample.get('fill_pixels', 0):,} pixels (max_fit_pixels, seed "
             f"{sample['seed']}{' for the first' if sample.get('members') else ''}{kept}); every pixel scored for "
             "the threshold")
    scored = getattr(det, "threshold_sample_", None)  # rx above threshold_sample pixels: one pass, a sample scored
    if scored:  # the sample is drawn among every pixel: its fill pixels score NaN and stay out of the threshold
        fill = int(np.count_nonzero(np.isnan(det.decision_scores_))) if getattr(det, "fill_pixels_", 0) else 0
        note(f"  threshold from a seeded sample of {scored['pixels']:,} of {scored['of']:,} pixels (threshold_sample, "
             f"seed {scored['seed']}{f'; its {fill:,} fill pixels left out' if fill else ''}); mean and covariance "
             f"from every pixel{' but the fill' if getattr(det, 'fill_pixels_', 0) else ''}")
    metrics = {}
    if data.y is not None and np.unique(data.y).size < 2:
        note(f"  metrics on the fit data skipped: the labels hold one class only ({np.unique(data.y)[0]})")
    elif data.y is not None:
        # the fitted data's own labels: the transductive evaluation of scene detectors; not a held-out score
        with names_checked_elsewhere():  # the fit data itself, as an array: its names are the model's
            fit_scores = det.decision_function(data.X) if scored else det.decision_scores_  # every pixel's
        given = data.known is not None and det.uses_labels and np.any(data.known)
        if given:  # a sample whose label the fit was given is not evaluated on: left out like a fill pixel
            fit_scores = np.where(np.asarray(data.known).reshape(np.shape(fit_scores)) != 0, np.nan,
                                  np.asarray(fit_scores, dtype=np.float64))
            note(f"  metrics below leave out the {np.count_nonzero(data.known):,} samples given as known labels")
        # fill pixels (NaN) left out; one that cannot be measured: the model is still fitted and saved
        values, skipped = measure_all(metric_names or FIT_METRICS, data.y, fit_scores, det.threshold_)
        metrics = {f"{name}_on_fit_data": value for name, value in values.items()}
        for name, why in skipped.items():
            note(f"  {name} on the fit data skipped: {why}")
        if metrics:
            note("  " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
    elif metric_names:  # named, and nothing to measure them on (was: no word)
        note(f"  {', '.join(metric_names)} not measured: {data.name} has no labels")
    onnx_model, report = None, None
    if export:
        from .errors import ExportParityError
        from .onnx_export import export_and_verify, report_lines

        try:
            onnx_model, report = export_and_verify(det, data.X, y=data.y)
        except ExportParityError as exc:  # the fit is kept: a long training is not lost to the export
            save(det, output, metrics=metrics, replace=overwrite)
            raise ExportParityError(f"{exc}; the fitted model is saved in {output} without model.onnx (it scores "
                                    f"eagerly; `had export {output} DATASET` tries the export again)") from None
        report["model_bytes"] = len(onnx_model)
        note("exported model.onnx")
        for line in report_lines(report):
            note("  " + line)
    save(det, output, onnx_model=onnx_model, metrics=metrics, replace=overwrite)  # a model saved meanwhile: refused
    note(f"saved {output}")
    if as_json:
        _echo_json({"detector": detector, "dataset": data.name, "fit_s": fit_s, "fit_sample": sample,
                    "threshold_sample": scored, "notes": list(getattr(det, "fit_notes_", None) or ()),
                    "data_view": det.input_spec_.get(RECORD),
                    "metrics": metrics, "export": report, "output": output})


def _metric_names(given: str | None) -> tuple[str, ...] | None:
    """``had fit/score --metrics``: the names, each known and computable at its config's defaults, checked before any
    scoring (None: not given)."""
    from .cli_args import metric_names
    from .metrics import check_names

    if (listed := metric_names(given)) is None:
        return None
    names = tuple(listed)
    check_names(names, "--metrics")  # as had bench checks a grid's (a name given twice: was measured once, unsaid)
    return names


@cli.command("score")
@click.argument("model", type=click.Path(exists=True))
@click.argument("datasets", nargs=-1, required=True, metavar="DATASET...")
@click.option("--data", "data_sets", multiple=True, help="data source config key=value")
@click.option("-o", "--output", type=click.Path(), callback=named_path,
              help="write the scores: .csv (index/row,col, score, label; not for a scene file scored tile by tile), "
                   ".npy (the array), .tif (GeoTIFF map)")
@click.option("--png", type=click.Path(), callback=named_path, help="write the anomaly map (cubes) as PNG")
@click.option("--engine", type=click.Choice(["auto", "onnx", "eager"]), default="auto",
              help="onnx: onnxruntime only (no torch); eager: the plugin's code; auto: onnx if exported")
@click.option("--json", "as_json", is_flag=True, help="print a JSON summary (counts, threshold, metrics, files)")
@click.option("--out", "out_dir", type=click.Path(), callback=named_path,
              help="folder for one map per DATASET (several DATASETs, or a glob): OUT/NAME.tif (or .npy), NAME the "
                   "file's stem; a file that fails is one line and the others go on")
@click.option("--map-format", type=click.Choice(["auto", "tif", "npy"]), default="auto", show_default=True,
              help="with --out: the maps' format (auto: GeoTIFF for scenes, .npy without rasterio and for tables "
                   "and images)")
@click.option("--quicklooks", is_flag=True, help="with --out: also OUT/NAME.png (map with colour bar, false colour)")
@click.option("--executor", type=click.Choice(["serial", "processes", "ray"]), default="serial",
              help="with --out: where files are scored (as in had bench)")
@click.option("--workers", type=click.IntRange(min=1), help="processes for --executor processes [default: CPU count]")
@click.option("--ray-address", help="an existing Ray cluster for --executor ray; default: a local Ray")
@click.option("--overwrite", is_flag=True, help="replace output files that exist (-o, --png, the maps in --out); "
              "without it an existing file is an error and nothing is scored")
@click.option("--skip-existing", is_flag=True, help="with --out: score only the files whose map (and quicklook) is "
              "not there yet, to continue a run that was stopped or that failed on some files")
@click.option("--metrics", help="comma-separated metrics measured against the data's labels (`had list metrics`; a "
              "metric plugin's too)  [default: auroc, auc_pf_tau]")
def score_cmd(model, datasets, data_sets, output, png, engine, as_json, out_dir, map_format, quicklooks, executor,
              workers, ray_address, overwrite, skip_existing, metrics):
    """Score DATASET (a name or a file) with a saved MODEL; several files (or a glob) into a folder with --out."""
    from .score_file import score_to_map, wants_tiles
    from .score_many import result_record
    from .score_output import check_outputs, output_format, setting_files, write_scores

    note = _note(as_json)
    metrics = _metric_names(metrics)
    engine = _engine_here(model, engine, note)  # auto: the core's rx eagerly where onnxruntime is missing
    if (out_dir is not None or len(datasets) > 1 or map_format != "auto" or quicklooks or executor != "serial"
            or workers or ray_address or skip_existing):  # --map-format with -o was ignored
        from .score_many import score_files_cmd

        sys.exit(score_files_cmd(model, datasets, out_dir, output=output, png=png, settings=parse_settings(data_sets),
                                 engine=engine, suffix=map_format, quicklooks=quicklooks, executor=executor,
                                 workers=workers, ray_address=ray_address, as_json=as_json,
                                 overwrite=overwrite, skip_existing=skip_existing, metrics=metrics))
    dataset = datasets[0]
    check_outputs([("-o", output), ("--png", png)], [dataset, *setting_files(parse_settings(data_sets))], model,
                  replace=overwrite)
    if png and os.path.splitext(png)[1].lower() != ".png":
        raise InvalidInputError(f"--png {png}: the quicklook is a PNG image; name the file with .png")
    if png:
        from .plots import require_matplotlib

        require_matplotlib("drop --png")  # said now, not after the scores were written
    tiled = wants_tiles(dataset, output)  # ENVI/GeoTIFF scenes and .tif maps: tile by tile, written as it goes
    fmt = output_format(output, tiled=tiled) if output else None  # a bad suffix fails here, before any scoring
    if tiled:
        summary = score_to_map(model, dataset, output, settings=parse_settings(data_sets), engine=engine, png=png,
                               echo=note, metrics=metrics)
        if as_json:
            # tiles: their count; metrics and their note (the summary's) when the scene or its tiles have labels
            # (map_path, mask_path), the heat map's too (was: "metrics": {} there whatever the labels)
            # the keys of every mode, null where they do not apply (had.score_many.RESULT_KEYS)
            _echo_json(result_record(dataset, "scored", **{**summary, "png": png}))  # n_scores: tiles', or the shape's
        return
    from .artifact import read_manifest
    from .score_data import score_dataset
    from .score_file import open_as_fitted
    from .score_notes import ScoreNotes

    data = open_as_fitted(model, dataset, parse_settings(data_sets), _dataset, note)
    if png and data.kind != "cube":
        tiles = (" (tiles cut from a raster: add -o heat.tif for their heat map on the raster's grid, drawn by "
                 "--png too)") if data.kind == "image" else ""
        raise InvalidInputError(f"--png draws the anomaly map of a cube (H, W, B); {data.name} is {data.kind} data "
                                f"of shape {data.X.shape}: drop --png (use -o to keep the scores){tiles}")
    scores, threshold, used, how = score_dataset(model, data.X, engine, nodata.declared(data.meta))
    note(f"scored with {how}")
    from .scenefiles import view_note

    if said := view_note(data.name, data.meta):  # the window and bands the data settings chose, bad bands
        note("  " + said)
    flagged = int((np.asarray(scores) > threshold).sum())
    fill = int(np.isnan(scores).sum())  # no-data pixels (rows, images) of a model that masks them (had.nodata)
    note(f"{data.describe()}: {flagged} of {np.size(scores) - fill} above the threshold {threshold:.6g}"
         + (f" ({nodata.units(fill, np.ndim(data.X))}, scored NaN)" if fill else ""))
    notes = ScoreNotes(model, dataset, data, parse_settings(data_sets), metrics)
    notes.say_other_scene(note)
    notes.say_share(flagged, np.size(scores) - fill, note)
    # labels of one class, constant scores: metrics skipped, said; the scores are still written
    measured = notes.measured(data.y, scores, note, threshold) if data.y is not None else notes.unlabelled(note)
    truth = None if data.y is None else np.reshape(data.y, np.shape(scores))
    drawn = png and np.ndim(scores) == 2
    if drawn:  # the quicklook first, removed if the scores cannot be written: both files or neither
        from .plots import maps_png

        maps_png(png, truth, {read_manifest(model)["detector"]: scores}, title=data.name)
    if output:
        try:
            write_scores(output, scores, truth, files=data.meta.get("files"))  # an image folder's file names
        except BaseException:
            if drawn:
                with contextlib.suppress(OSError):
                    os.unlink(png)
            raise
        note(f"wrote {output} ({fmt})")
    if drawn:
        note(f"wrote {png}")
    if as_json:
        _echo_json(result_record(data.name, "scored", shape=np.shape(scores), n_scores=int(np.size(scores)),
                                 flagged=flagged, threshold=threshold, engine=used, no_data_pixels=fill,
                                 **measured, map=output, png=png))  # was: no no_data_pixels in memory


def _engine_here(model: str, engine: str, note) -> str:
    """The engine ``had score`` uses: as given, except ``--engine auto`` on an exported model of a detector built
    into had (``rx``: distribution ``had``) where onnxruntime is not installed, which the core's own scorer scores
    (eager), said by `note`: the model's plugin is had itself, there on every host (was: refused, "onnxruntime is
    not installed", for a model had scores without it). ``--engine onnx`` keeps the refusal."""
    if engine != "auto":
        return engine
    from .artifact import ONNX, raw_manifest

    manifest = raw_manifest(model) or {}
    files = manifest.get("files")
    if manifest.get("distribution") != "had" or not isinstance(files, dict) or ONNX not in files:
        return engine
    from .runtime import import_onnxruntime

    try:
        import_onnxruntime()
    except HadError:
        note(f"note: onnxruntime is not installed: scoring {model} with had's own {manifest.get('detector')} "
             f"(eager; --engine onnx needs pip install \"had[onnx]\")")
        return "eager"
    return engine


@cli.command("export")
@click.argument("model", type=click.Path(exists=True))
@click.argument("dataset", required=False)
@click.option("--data", "data_sets", multiple=True, help="data source config key=value")
@click.option("--json", "as_json", is_flag=True, help="print the verification report as JSON")
def export_cmd(model, dataset, data_sets, as_json):
    """Export a saved MODEL to ONNX (verified for parity on DATASET or on generated data) into the artifact.

    DATASET is read as `had score` reads it: with the data settings the model was fitted with (its bands, ...)
    that --data does not give. With a DATASET that has ground truth, the AUROC of the eager and the ONNX scores
    is measured against it.
    """
    from .artifact import check_target
    from .onnx_export import export_artifact, report_lines
    from .score_file import open_as_fitted

    check_target(model)  # a had artifact, or a typed error before anything is loaded or written
    if data_sets and not dataset:  # was: dropped without a word, the parity checked on generated data
        raise InvalidInputError(f"--data {data_sets[0]} configures DATASET, and none was given: name the data to "
                                f"check the export on (had export {model} DATASET --data ...), or drop --data")
    # as `had score` reads it (was: as given, so a model fitted on --data bands=1-6 refused the file it scores)
    data = open_as_fitted(model, dataset, parse_settings(data_sets), _dataset, _note(as_json)) if dataset else None
    report = export_artifact(model, None if data is None else data.X, y=None if data is None else data.y)
    if as_json:
        _echo_json(report)
        return
    click.echo(f"exported {model}/model.onnx")
    for line in report_lines(report):
        click.echo("  " + line)


def _fail(message: str, debug: bool, exc: BaseException) -> None:
    if debug:
        raise exc
    click.echo(f"error: {one_line(message)}", err=True)
    sys.exit(2)


cli.add_command(bench_cmd)


@cli.group("data")
def data_group():
    """The data files the installed data plugins know."""


@data_group.command("fetch")
@click.argument("names", nargs=-1, required=True)
@click.option("--mirror", help="fetch MIRROR/RELPATH instead of each file's own address (or set HAD_DATA_MIRROR)")
def data_fetch_cmd(names, mirror):
    """Download NAMES (datasets, data plugins, file paths, or `all`) into HAD_DATA_DIR, sha256-verified."""
    from .fetch import FetchFailed, fetch_names

    try:  # each file tried, a failure one line; then exit 1 (was: the first failure stopped the fetch)
        fetch_names(names, mirror=mirror, echo=click.echo,
                    failed=lambda line: click.echo(f"error: {one_line(line)}", err=True))
    except FetchFailed as exc:
        click.echo(f"error: {one_line(str(exc))}", err=True)
        sys.exit(1)


def _not_a_number(param) -> None:
    """click's FloatRange takes NaN (its comparisons are false): refused as the range would refuse it."""
    raise click.BadParameter("nan is not a number of seconds; give one from 0 to 86400 (0: no limit)", param=param)


@cli.command("serve")
@click.argument("model", type=click.Path(exists=True))
@click.option("--host", default="127.0.0.1", show_default=True, callback=named_host,
              help="address to listen on; 0.0.0.0 serves other machines (put TLS and authentication in front)")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="0: any free port")
@click.option("--max-body-mb", default=64, show_default=True, type=click.IntRange(1, 65536),
              help="the largest request accepted (413 above it, or above one sample per 32 bytes of it)")
@click.option("--max-inflight", default=4, show_default=True, type=click.IntRange(1, 1024),
              help="requests read and decoded at once; the next wait unread, then get 503 (memory: this x the body "
                   "limit for .npy bodies and as much for replies; a JSON body takes about 15x its size while decoded)")
@click.option("--max-connections", default=64, show_default=True, type=click.IntRange(1, 1024),
              help="connections open at once, a thread each; one more gets 503 at once and is closed")
@click.option("--score-timeout", default=30.0, show_default=True, type=click.FloatRange(0, 86400),
              callback=lambda ctx, param, value: value if value == value else _not_a_number(param),
              help="seconds one request's scoring may take, then it is stopped and answered 503 (0: no limit; "
                   "a stop waits for the request being scored: raise the service manager's stop timeout with it)")
def serve_cmd(model, host, port, max_body_mb, max_inflight, max_connections, score_timeout):
    """Serve an exported MODEL over HTTP with onnxruntime alone: POST /score (JSON or .npy), GET /health."""
    from .serve import serve

    serve(model, host, port, max_body=max_body_mb * 2**20, max_inflight=max_inflight,
          max_connections=max_connections, score_s=score_timeout, log=lambda line: click.echo(line, err=True))


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: bad input, I/O errors and memory exhaustion print one line and exit 2 (``--debug``: traceback)."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    previous, shown_before, unraisable_before = None, warnings.showwarning, sys.unraisablehook
    if not debug:  # a library's or had's warning as one line, not Python's two (file:line, then the source line)
        warnings.showwarning = _warning_as_note
        sys.unraisablehook = functools.partial(_interrupt_in_cleanup_unsaid, unraisable_before)
    args = argv if argv is not None else sys.argv[1:]
    as_json = "--json" in args and not {"--help", "-h"} & set(args)  # a help asked for goes to stdout as ever
    streams_before = sys.stdout, sys.stderr
    try:
        prepare_streams()  # non-UTF-8 names print as bytes; `| head -1` does not stop the command
        with json_only_on_stdout(as_json):  # a plugin's print() goes to stderr, stdout holds the JSON alone
            plugins.add_commands(cli)  # a plugin whose hook fails is reported by `had plugins`, not fatal
            tune_malloc()  # a pass's intermediates reused, not page-faulted in again each tile (had.memory)
            previous = signals.interrupt_on_sigterm()  # kill/systemd/docker: the cleanup of Ctrl-C (had.signals)
            cli.main(args=argv, prog_name="had", standalone_mode=False)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM while the plugins' commands load, before click turns it into Abort
        if signals.terminated():  # (had_entry set the SIGTERM handler before this)
            click.echo("stopped (SIGTERM)", err=True)
            sys.exit(143)
        click.echo("aborted", err=True)  # (was: a traceback from deep in an import)
        sys.exit(130)
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__, EOFError):  # click turns any EOFError into Abort: it was not Ctrl-C
            _fail(f"unexpected end of input or of a file ({exc.__cause__ or 'EOF'})", debug, exc.__cause__)
        if signals.terminated():
            click.echo("stopped (SIGTERM)", err=True)
            sys.exit(143)
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:  # a wrong option or argument: one line, as every other bad input
        if debug:
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # `had` or `had data` alone: its help, as click shows it
            exc.show()
            sys.exit(exc.exit_code)
        click.echo(usage_line(exc, argv if argv is not None else sys.argv[1:]), err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except HadError as exc:
        _fail(str(exc), debug, exc)
    except OSError as exc:
        _fail(os_error_message(exc), debug, exc)
    except MemoryError as exc:
        _fail(f"out of memory ({str(exc) or 'MemoryError'}); use smaller data or a larger machine", debug, exc)
    except RuntimeError as exc:  # torch's allocators say it as RuntimeError (OutOfMemoryError on a GPU)
        if not allocation_failed(exc):
            raise
        _fail(f"out of memory ({str(exc).splitlines()[0][:300]}); use smaller data, lower the network's sizes or "
              "batch_size (--set), or a larger machine", debug, exc)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    finally:
        signals.restore(previous)
        warnings.showwarning = shown_before
        if argv is not None:  # an in-process caller gets its streams back (was: a wrapper left on each, piling up
            sys.stdout, sys.stderr = streams_before  # with each capture: a leak probe, 7 December 2026)
        stopped = isinstance(sys.exc_info()[1], SystemExit) and sys.exc_info()[1].code in (130, 143)
        if argv is not None or not stopped:  # the console script after an interrupt: kept, as the interrupted
            sys.unraisablehook = unraisable_before  # frames' generators close when the interpreter ends, after
            # this (their tracebacks ride on the SystemExit's context); in-process callers (tests, run_cli) get
            # theirs back whatever happened


def _interrupt_in_cleanup_unsaid(previous, unraisable) -> None:
    """:data:`sys.unraisablehook` for the command line: a second Ctrl-C (or SIGTERM) that lands while a generator
    closes after the first (a tile reader's ``finally``) is not said; the first already says "aborted" or
    "stopped". Was: "Exception ignored in: <generator object tiles ...>" and a KeyboardInterrupt traceback, 1-2
    runs in 8 of a double Ctrl-C within 30 ms. The first one landing there (a weakref callback of the garbage
    collector) is raised again in the command (:func:`had.signals.raise_again_if_lost`; was: dropped, and the
    command ran to its end). Anything else goes to the hook before (`previous`)."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        signals.raise_again_if_lost()
        return
    previous(unraisable)


def _warning_as_note(message, category, filename, lineno, file=None, line=None) -> None:
    """:func:`warnings.showwarning` for the command line: ``note: MESSAGE`` on stderr (was: an artifact saved by
    another plugin version said "/work/.../score_data.py:32: UserWarning: ..." and then ``det = load(model)``)."""
    click.echo(f"note: {one_line(message)}", err=True)


def usage_line(exc: click.UsageError, argv: list[str] | None = None) -> str:
    """Click's usage error as had's one line, ``error: had bench: invalid value for '--workers': ... (had bench
    --help)`` (was click's four: "Usage: ...", "Try 'had bench --help' for help.", a blank line, "Error: ...").
    An error click raises without its context (an option missing its value) is named by the command `argv` runs."""
    # click lists a Choice's values a line each, tab-indented (was: "Choose from:\n\tdatasets,\n\t..." escaped)
    message = one_line(exc.format_message().replace("\n\t", " ")).rstrip(".").replace(". (", " (")
    message = message[:1].lower() + message[1:] if message[:2] != message[:2].upper() else message
    where = exc.ctx.command_path if exc.ctx is not None else _command_path(argv or [])
    listed = next((kind for kind in KIND_OF_LIST if f"no such command '{kind}'" in message), None)
    if listed and where == "had":  # `had datasets`: click offered `had data` (the data files), not the list
        message = f"no such command '{listed}'; the registered {listed} are listed by `had list {listed}`"
    return f"error: {where}: {message} (see {where} --help)"


def _command_path(argv: list[str]) -> str:
    """``had bench`` (or ``had data fetch``) for the command line `argv`: its first words that name commands."""
    words, group = ["had"], cli
    for arg in argv:
        if arg.startswith("-"):
            continue
        command = group.commands.get(arg) if isinstance(group, click.Group) else None
        if command is None:
            break
        words.append(arg)
        group = command
    return " ".join(words)


def allocation_failed(exc: BaseException) -> bool:
    """Whether `exc` is a library's failure to allocate memory that is not a MemoryError: torch's CPU allocator
    ("DefaultCPUAllocator: can't allocate memory"), CUDA's ``torch.OutOfMemoryError``."""
    return type(exc).__name__ == "OutOfMemoryError" or any(
        text in str(exc) for text in ("can't allocate memory", "CUDA out of memory", "CUDA error: out of memory"))


if __name__ == "__main__":
    main()
