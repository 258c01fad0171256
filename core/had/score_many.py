"""``had score MODEL scenes/*.hdr --out maps/``: many files scored with one model, on the grid's executors.

Each file is one task (:class:`ScoreJob`) run by :func:`had.executors.execute`, the same code that runs the
cells of ``had bench``: ``serial`` here, ``processes`` in spawned local processes, ``ray`` as Ray tasks (the
model's ``threads``/``device`` ask for CPUs and a GPU when it scores eagerly). A task scores its file tile by
tile into ``OUT/<name><suffix>`` (:func:`had.score_file.score_to_map`), where the name is the file's stem (its
parent folder's name is prefixed where two files share a stem) and the suffix, by default, ``.tif`` for a scene
(a cube: a GeoTIFF map; ``.npy`` where rasterio is not installed, said once: :func:`auto_npy_note`) and ``.npy``
for rows or images (their scores are no map). A file that fails is one line
in its result (:attr:`FileResult.error`) and the other files go on.

A map is renamed into place only when complete (:mod:`had.maps`), so a map that exists is a finished one:
``--skip-existing`` scores only the files whose map (and quicklook, with ``--quicklooks``) is not there yet, which
continues a run that was killed or that failed on some files (:func:`already_written`). A map records the file it
was scored from (:func:`had.maps.origin_record`), so a map kept is that file's own (:func:`origin_problem`).

Each process loads the model once and keeps it for the files it gets. With Ray on a cluster, ``OUT`` and the
input paths must be paths every node sees (a shared file system): the maps are written where the task runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from .errors import ConfigError, HadError
from .executors import EXECUTORS, Task, error_text, execute, import_ray
from .artifact import model_identity
from .folder_lock import FolderLock
from .maps import (NPY_SUFFIXES, TIFF_SUFFIXES, input_identity, is_quicklook_of, keeps_origins, origin_record,
                   size_and_time)
from .score_output import check_outputs, setting_files

MAP_SUFFIXES = (".tif", ".npy")
#: the default map format: .tif for scenes, .npy for rows and images
AUTO = "auto"


@dataclass(frozen=True)
class ScoreJob:
    """One file (or registered dataset) to score with `model` into `output`, and a quicklook into `png`;
    `npy_unless_cube`: a file that turns out not to be a scene writes its scores to `output` with ``.npy``."""

    model: str
    dataset: str
    output: str
    engine: str = "auto"
    png: str | None = None
    settings: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    npy_unless_cube: bool = False
    #: the outputs that were not there when `plan` looked: in a worker process too, a file that appeared at one
    #: of them since is kept, not replaced (:func:`had.atomic.note_absent`)
    absent: tuple[str, ...] = field(default=(), compare=False)
    #: ``(path, why)``: of the two maps a file may get (`npy_unless_cube`), one that exists and may not be replaced:
    #: refused with `why` only if it is the one written (:func:`had.maps.scoring`)
    kept: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    #: of a job left out by ``--skip-existing``: its map found there (:func:`already_written`, looked at once)
    existing: str | None = field(default=None, compare=False)
    #: the metrics measured against a file's labels (``had score --metrics``; None: had's default)
    metrics: tuple[str, ...] | None = field(default=None, compare=False)


@dataclass
class FileResult:
    """What scoring one file gave: the map's summary (flagged pixels, threshold, shape, engine) or its error."""

    dataset: str
    output: str
    summary: dict[str, Any] | None = None
    error: str | None = None
    #: what scoring the file said besides its counts (notes, a map written without a place), printed under its line
    notes: list[str] = field(default_factory=list)


#: the keys of one file's result in ``had score --json``, in every mode (one file in memory or tile by tile, several
#: with ``--out``, a file that failed or was skipped): a key that does not apply is null. Was: a failed file's row
#: held only dataset, map and error, ``--out`` rows lacked n_scores and the metrics, skipped files were absent,
#: and no_data_pixels came only with a map written tile by tile.
RESULT_KEYS = ("dataset", "status", "error", "map", "png", "shape", "n_scores", "flagged", "threshold", "engine",
               "no_data_pixels", "metrics", "metrics_skipped", "metrics_note")
#: a file's ``status``: scored (its map written or its scores printed), failed (``error`` says why) or skipped
#: (``--skip-existing``: ``map`` is the map an earlier run wrote)
STATUSES = ("scored", "failed", "skipped")


def result_record(dataset: str, status: str, **fields: Any) -> dict[str, Any]:
    """One file's result as ``had score --json`` prints it: every key of :data:`RESULT_KEYS` (null where it does
    not apply), then any other key of `fields`. A scored file without labels has ``"metrics": {}``; its
    ``n_scores`` is the product of its shape when `fields` lacks it (rows, pixels; tiles give their own)."""
    if status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    record: dict[str, Any] = dict.fromkeys(RESULT_KEYS)
    record.update(fields, dataset=dataset, status=status)
    if status == "scored":
        if record["metrics"] is None:
            record["metrics"] = {}
        if record["n_scores"] is None and record["shape"] is not None:
            record["n_scores"] = n_scores(record)
    return record


def n_scores(summary: dict[str, Any]) -> int:
    """A scored file's count of scores: its ``n_scores`` (tiles of a raster: their count, not the heat map's
    pixels), else the product of its ``shape`` (rows, pixels)."""
    given = summary.get("n_scores")
    return int(given) if given is not None else math.prod(int(size) for size in summary.get("shape") or ())


def expand(inputs: Iterable[str]) -> list[str]:
    """The inputs in order, a pattern the shell left unexpanded (``'scenes/*.hdr'``; ``**`` matches folders at
    any depth, as in the shells that expand it) replaced by its matches, repeats dropped; a pattern matching
    nothing is a ConfigError (was: "data file scenes/*.HDR does not exist", exit 1)."""
    found: list[str] = []
    for spec in inputs:
        pattern = not os.path.exists(spec) and glob.has_magic(spec)
        matches = sorted(glob.glob(spec, recursive=True)) if pattern else []  # was: '**' one level only
        if pattern and not matches:
            raise ConfigError(f"no file matches {spec} (matching is case-sensitive); check the pattern")
        for item in matches or [spec]:
            if item not in found:
                found.append(item)
    return found


def map_names(inputs: list[str]) -> list[str]:
    """One name per input: the name `had bench` gives it in its results (:func:`had.bench.dataset_labels`: a file's
    stem, with as many parent folders as tell equal stems apart), folders joined by ``_``."""
    from .bench import dataset_labels

    labels = dataset_labels(inputs)
    joined = {spec: labels[spec].replace("/", "_") for spec in inputs}
    names = dict(joined)
    taken = set(joined.values())
    # folders joined by "_" can meet a real name (sub/line01 and sub_line01; was: "both name maps/sub_line01.tif",
    # a fix --out cannot take): numbered, in the order of their paths (not of the arguments: a rerun with the files
    # in another order names each file's map the same), past any name taken
    for name in sorted({n for n in joined.values() if list(joined.values()).count(n) > 1}):
        alike = sorted((spec for spec in inputs if joined[spec] == name), key=lambda spec: os.path.abspath(spec))
        number = 1
        for spec in alike[1:]:
            number += 1
            while f"{name}-{number}" in taken:
                number += 1
            names[spec] = f"{name}-{number}"
            taken.add(names[spec])
    return [names[spec] for spec in inputs]


# one model per process, loaded by the first file it scores
_SCORERS: dict[tuple, Any] = {}


def _scorer(model: str, engine: str):
    from .score_file import scorer_of

    key = (str(Path(model).resolve()), engine, os.stat(Path(model) / "manifest.json").st_mtime_ns)
    if key not in _SCORERS:
        _SCORERS.clear()
        _SCORERS[key] = scorer_of(model, engine)
    return _SCORERS[key]


def run_job(job: ScoreJob) -> FileResult:
    """Score one file; any failure becomes the result's ``error`` (one line)."""
    from . import atomic
    from .memory import tune_malloc
    from .score_file import score_to_map

    tune_malloc()  # in a worker process or a Ray task as in had's own (once per process)
    atomic.note_absent(job.absent)  # a worker process has not looked itself: what the planning process saw

    from .maps import scoring

    said: list[str] = []
    try:
        # its map records the file and the model (was: a .npy map recorded nothing)
        with scoring(job.dataset, dict(job.kept), model=job.model):
            summary = score_to_map(job.model, job.dataset, job.output, settings=job.settings, engine=job.engine,
                                   png=job.png, echo=said.append, scorer=_scorer(job.model, job.engine),
                                   npy_unless_cube=job.npy_unless_cube, metrics=job.metrics)
    except Exception as exc:  # one file's failure is its own line; the other files go on
        return FileResult(job.dataset, job.output, error=error_text(exc))
    return FileResult(job.dataset, summary["map"], summary=summary, notes=file_notes(said, summary))


def file_notes(said: list[str], summary: dict[str, Any]) -> list[str]:
    """Of the lines :func:`had.score_file.score_to_map` says of one file, those the many-files line does not
    repeat: its notes and details (indented), and a map written without a place ("wrote m.tif (not
    georeferenced: ...)"). Was: all dropped with ``--out``, so an unreadable map info, a header's bad bands or
    partial no-data pixels went unsaid, and a GeoTIFF map came out without its CRS and without a word."""
    notes = [line.strip() for line in said if line.startswith("  ") and not _measured(line.strip(), summary)]
    for line in said:
        wrote = line.startswith("wrote ") and line.endswith(")") and " (" in line
        placed = line[line.index(" (") + 2:-1] if wrote else ""
        if "not georeferenced" in placed or "without a CRS" in placed:  # a placed map is not said again
            notes.append(placed)
        elif line.startswith("no quicklook for "):  # a quicklook asked for and not drawn (tiles of a raster)
            notes.append(line)
    return notes


def _measured(line: str, summary: dict[str, Any]) -> bool:
    """Whether `line` is the metrics line (``auroc 1.0000, ...``, ``metrics skipped: ...``) that the file's own
    line already holds (:func:`result_line`)."""
    names = tuple(f"{name} " for name in (summary.get("metrics") or {}))
    return line.startswith("metrics skipped:") or bool(names) and line.startswith(names)


def job_failed(job: ScoreJob, exc: BaseException) -> FileResult:
    """The job's failure; a process that died writing its map (or quicklook) left the temporary file, which goes
    now (no writer holds it: :func:`had.atomic.stale_files`), not at the next run writing that map."""
    job_stopped(job)
    return FileResult(job.dataset, job.output, error=error_text(exc))


def job_stopped(job: ScoreJob) -> bool:
    """Remove the temporary files of `job`'s map and quicklook that no live writer holds: after its process died, or
    was stopped with the run (Ctrl-C, SIGTERM: was left, ``maps/.a.tif.<hex>.tif``, when a worker was terminated
    before its own cleanup had run). False when one is still held (a Ray worker still ending: tried again)."""
    from . import atomic

    held = False
    for target in [*maps_of(job), job.png]:
        if target:
            with contextlib.suppress(OSError), atomic.locked(Path(target).parent):
                atomic.remove_stale_files(Path(target), Path(target).suffix)
                held = held or bool(atomic.temp_files(Path(target), Path(target).suffix))
    return not held


def job_resources(job: ScoreJob) -> dict[str, float]:
    """A Ray task's resources: the model's ``threads`` and ``device`` when it scores eagerly, else one CPU."""
    from .artifact import ONNX, read_manifest

    manifest = read_manifest(job.model)
    if job.engine == "onnx" or (job.engine == "auto" and ONNX in manifest["files"]):
        return {"num_cpus": 1.0, "num_gpus": 0.0, "auto_gpu": False}
    config = manifest.get("config") or {}
    device = str(config.get("device") or "cpu")
    return {"num_cpus": float(config.get("threads") or 1), "num_gpus": 1.0 if device.startswith("cuda") else 0.0,
            "auto_gpu": device == "auto"}


SCORE_FILES = Task(run_job, job_failed, job_resources, job_stopped)


def maps_of(job: ScoreJob) -> list[str]:
    """The maps `job` may write: its output, and with ``npy_unless_cube`` the same name as ``.npy``."""
    return [job.output] + ([str(Path(job.output).with_suffix(".npy"))] if job.npy_unless_cube else [])


def already_written(job: ScoreJob) -> str | None:
    """The map an earlier run wrote for `job` (with ``npy_unless_cube`` in either form), when it is that file's own
    (:func:`origin_problem`) and it and the job's quicklook (if asked for) both exist; else None. Maps appear only
    when complete, so one that exists is whole."""
    found = next((m for m in maps_of(job)
                  if os.path.isfile(m) and origin_problem(m, job.dataset, job.model) is None), None)
    if found is None or (job.png and _is_scene_map(found) and not os.path.isfile(job.png)):
        return None
    return found


def _is_scene_map(path: str) -> bool:
    """Whether the map at `path` is a scene's (H, W), which ``--quicklooks`` draws, not one score per row (a
    ``.npy`` of one dimension, which gets none: was counted as unfinished for the want of its quicklook, and
    ``--skip-existing`` refused it). A ``.npy`` whose header cannot be read counts as a scene's."""
    if Path(path).suffix.lower() not in NPY_SUFFIXES:
        return True
    from .matfile import npy_header

    try:
        with open(path, "rb") as fh:
            shape = npy_header(fh)[0]
    except (OSError, ValueError, EOFError):
        return True
    return len(shape) != 1


def plan(model: str, inputs: Iterable[str], out: str | Path, *, suffix: str = AUTO, engine: str = "auto",
         quicklooks: bool = False, settings: dict[str, Any] | None = None, overwrite: bool = True,
         skip_existing: bool = False) -> tuple[list[ScoreJob], list[ScoreJob]]:
    """The jobs of :func:`score_files` and, with `skip_existing`, the jobs left out because their files exist
    (:func:`already_written`), after the checks that need no scoring (model, suffix, folder). `suffix`
    :data:`AUTO`: ``.tif`` for scenes, ``.npy`` for rows and images. Without `overwrite` (or `skip_existing`) a
    map or quicklook that exists already is refused (``had score`` without ``--overwrite``)."""
    from .artifact import ONNX, read_manifest

    if overwrite and skip_existing:
        raise ConfigError("--overwrite replaces the maps that exist and --skip-existing keeps them: give one")
    manifest = read_manifest(model)  # a broken model is one error before any file, not one per file
    if engine == "onnx" and ONNX not in manifest["files"]:  # was: the same error once per file, then exit 1
        raise HadError(f"{model} has no {ONNX}; export it first with `had export {model}` (or score with --engine "
                       "eager where its plugin is installed)")
    auto = suffix == AUTO
    suffix = ".tif" if auto else suffix if suffix.startswith(".") else "." + suffix
    if suffix not in (*NPY_SUFFIXES, *TIFF_SUFFIXES):
        raise ConfigError(f"map format {suffix!r} is not one of {AUTO}, {', '.join(MAP_SUFFIXES)}")
    if suffix in TIFF_SUFFIXES and not auto:
        from .maps import import_rasterio

        import_rasterio()  # GeoTIFF maps need rasterio: said once, now
    if auto and geotiff_missing():  # auto's GeoTIFF is a preference: .npy maps instead (score_files_cmd says so)
        auto, suffix = False, NPY_SUFFIXES[0]
    out = Path(out)
    check_outputs([("--out", str(out))], [], model, "give a folder for the maps (it is created if missing)",
                  files=False)  # not in the model's folder: checked before it is created
    inputs = expand(inputs)
    if not inputs:
        raise ConfigError("no files to score; give one or more files or dataset names")
    check_distinct(inputs)  # before the folder is made, as a file given twice (map_names)
    names = map_names(inputs)  # a file given twice refused before the folder is made (was: left empty)
    out.mkdir(parents=True, exist_ok=True)
    # auto: a scene file a plugin reads tile by tile (ENVI, GeoTIFF) gets a GeoTIFF; anything else (a .npy, .mat,
    # a dataset name) is known to be a scene only once read, so its map may be NAME.npy as well
    jobs = [ScoreJob(model, spec, str(out / f"{name}{suffix}"), engine,
                     str(out / f"{name}.png") if quicklooks else None, per_file(settings, spec),
                     npy_unless_cube=auto and not _read_by_tiles(spec))
            for spec, name in zip(inputs, names)]
    given = [*inputs, *(f for job in jobs for f in setting_files(job.settings))]
    # a "map" that is one of the inputs is no map: it stays among the jobs, and check_outputs refuses it below
    found = {job.dataset: already_written(job) for job in jobs} if skip_existing else {}
    skipped = [dataclasses.replace(job, existing=found[job.dataset]) for job in jobs
               if found.get(job.dataset) and not _is_one_of(job.output, given)]
    jobs = [job for job in jobs if job not in skipped]
    kept: dict[str, str] = {}
    for job in jobs if skip_existing else ():  # scored again: a map of its name that is there must be its own
        for existing in maps_of(job):
            why = origin_problem(existing, job.dataset, job.model) \
                if os.path.isfile(existing) and not _is_one_of(existing, given) else None
            if why is not None and job.npy_unless_cube:  # NAME.tif or NAME.npy: the file's kind, known once it is
                kept[existing] = why  # read, says which is written; the other is left alone (was: refused)
            elif why is not None:
                raise ConfigError(why)
        _check_leftovers(job, given)
    outputs = [(f"the map of {job.dataset}", job.output) for job in jobs]
    outputs += [(f"the quicklook of {job.dataset}", job.png) for job in jobs]
    outputs += [(f"the map of {job.dataset}", str(Path(job.output).with_suffix(".npy"))) for job in jobs
                if job.npy_unless_cube]
    # --skip-existing: a file whose map or quicklook is missing is scored again, and its own map left without the
    # quicklook is replaced (was: refused, "add --skip-existing", which was given); what cannot be told to be had's
    # own of the file was refused just above (origin_problem, _check_leftovers)
    kept.update(check_outputs(outputs, given, model,
                              fix=f"the maps are named after the files: give --out a folder other than {out}",
                              replace=overwrite or skip_existing,
                              keep_fix=f": add it to replace the maps in {out}, add --skip-existing to score only "
                                       "the files without one, or give --out another folder",
                              maybe=[m for job in jobs if job.npy_unless_cube for m in maps_of(job)
                                     if not _own_map(m, job.dataset)]))
    from . import atomic

    jobs = [dataclasses.replace(job, absent=atomic.absent_when_looked([*maps_of(job), job.png]),
                                kept=tuple((m, kept[m]) for m in maps_of(job) if m in kept))
            for job in jobs]
    return jobs, skipped


def check_distinct(inputs: list[str]) -> None:
    """A ConfigError for two inputs that are one file on disk: two names of it (``s/a.npy``, ``./s/a.npy``), hard
    links, or a symbolic link (or a path through a linked folder) and its target, as :func:`map_names` refuses two
    names of one path (was: a link and its target scored twice, into two maps). Registered dataset names and
    paths that are not there are left to their jobs."""
    from . import plugins

    registered = plugins.registry()["datasource"]
    seen: dict[tuple[int, int], str] = {}
    for spec in inputs:
        if spec in registered:
            continue
        try:
            info = os.stat(spec)  # through links
        except (OSError, ValueError):
            continue
        key = (info.st_dev, info.st_ino)
        if key not in seen:
            seen[key] = spec
            continue
        first = seen[key]
        linked = next((f" ({name} leads to {os.path.realpath(name)} through a link)" for name in (spec, first)
                       if os.path.realpath(name) != os.path.abspath(name)), "")
        raise ConfigError(f"datasets {first} and {spec} are the same file{linked}; list each dataset once")


def _read_by_tiles(spec: str) -> bool:
    """Whether a plugin reads `spec` tile by tile (:func:`had.score_file.wants_tiles`); False where looking fails
    (a corrupt `.npz` whose keys cannot be listed, a plugin's hook that raises): that file's error is its own job's,
    one line when it is scored, and the others go on (was: the whole run stopped at planning, nothing scored)."""
    from .score_file import wants_tiles

    try:
        return wants_tiles(spec, None)
    except HadError:
        return False


def origin_problem(path: str, dataset: str, model: str | None = None) -> str | None:
    """Why the map at `path` is not one had wrote from `dataset` as that file is now, or None when it is: its record
    (:func:`had.maps.origin_record`: the input's path, size and time, and the map's own size and time), else a
    GeoTIFF's ``HAD_DATASET`` tag (maps of had before 7 December 2026: the path alone). Was: any file of the map's
    name counted as the file's finished map (the maps of yesterday's lines of the same names, or a scene of the
    user's, skipped today's lines: "scoring 0 file(s)", exit 0), and a ``.npy`` map, which recorded no origin, still
    did: the map of ``a/scene.npy`` kept as that of ``b/scene.npy``. A ``.npy`` without a record (an older had's,
    one copied without its extended attributes, one on a file system that keeps none) is kept unchecked, as before,
    and :func:`score_files_cmd` says how many (a review: refusing them left a run of an older had, or a folder
    synced by ``rsync -a``, no way to resume but scoring everything again). A GeoTIFF map edited in place since
    (overviews, tags: its size or time no longer the recorded ones) is kept where its ``HAD_DATASET`` tag still
    names the file (a review: refused as "written over")."""
    fix = "give --out another folder, or --overwrite to replace the maps there"
    here = input_identity(dataset)
    record = origin_record(path)
    tiff = Path(path).suffix.lower() in TIFF_SUFFIXES
    if record is None and not tiff:
        return None  # unchecked: said once (score_files_cmd)
    if record is None:
        origin = _tiff_origin(path)
        if origin is None:
            return (f"{path} is not a map had wrote (no HAD_DATASET tag), so --skip-existing cannot keep it as the "
                    f"map of {dataset}; {fix}")
        record = {"dataset": origin}
    elif record.get("map") != size_and_time(path) and not (tiff and _tiff_origin(path) == record["dataset"]):
        return (f"{path} was written over after had made it (its size or time is not the one recorded), so "
                f"--skip-existing cannot keep it as the map of {dataset}; {fix}")
    if record["dataset"] != here["dataset"]:
        return (f"{path} is the map of {record['dataset']}, not of {here['dataset']}: --skip-existing keeps a file's "
                f"own map only (files of the same name in other folders?); {fix}")
    if model is not None and record.get("model") and record["model"] != model_identity(model):
        return (f"{path} is the map of {here['dataset']} scored with another model than {model} (or one fitted "
                f"again since): --skip-existing keeps only maps of the model it is given; {fix}")
    changed = ("that file" if "size" in record and "size" in here
               and (record["size"], record.get("mtime_ns")) != (here["size"], here["mtime_ns"])
               else "its data file" if _data_changed(record.get("data"), here.get("data")) else None)
    if changed:
        return (f"{path} is the map of {here['dataset']} as it was when scored, and {changed} has changed since "
                f"(its size or time is not the one recorded), so --skip-existing cannot keep it; {fix}")
    return None


def _data_changed(then: dict[str, Any] | None, now: dict[str, Any] | None) -> bool:
    """Whether a data file an ENVI header's map recorded (`then`: name -> [size, mtime_ns]) is gone or has another
    size or time now; files that appeared beside the header since do not count (a review: a ``line.bin`` put
    beside ``line.img`` refused its map as "its data file has changed")."""
    return bool(then) and any((now or {}).get(name) != stamp for name, stamp in then.items())


def _own_map(path: str, dataset: str) -> bool:
    """Whether `path` is a map had made of `dataset` (its record, or an older GeoTIFF's tag, names the file): a
    rerun without --overwrite is then refused before any file is read, as before the map's kind was left to the
    file to tell (a review: each input was read, then refused on its own line, exit 1)."""
    if not os.path.isfile(path):
        return False
    record = origin_record(path)
    if record is not None:
        return record.get("dataset") == input_identity(dataset)["dataset"]
    return Path(path).suffix.lower() in TIFF_SUFFIXES and _tiff_origin(path) == input_identity(dataset)["dataset"]


def _tiff_origin(path: str) -> str | None:
    """A GeoTIFF's ``HAD_DATASET`` tag, or None (no tag, or not a GeoTIFF rasterio reads)."""
    from .maps import import_rasterio, open_raster

    import_rasterio()  # a missing rasterio said as such (not as a map without its tag)
    try:  # without rasterio's "Dataset has no geotransform" (was: printed as a note for a map of no transform)
        with open_raster(path) as src:
            return src.tags().get("HAD_DATASET")
    except Exception:  # noqa: BLE001 - rasterio's own error types: not a GeoTIFF it reads
        return None


def _check_leftovers(job: ScoreJob, given: list[str]) -> None:
    """Under ``--skip-existing``, a file scored again because its map or its quicklook is missing: a ConfigError for
    its quicklook that exists but cannot be told to be had's own of this file, which scoring would replace (a run
    stopped between their renames, or a picture of the user's; a review: replaced without a word). Its maps were
    checked by :func:`origin_problem`."""
    fix = "remove it to score the file again, or give --overwrite"
    if job.png and os.path.isfile(job.png) and not _is_one_of(job.png, given) \
            and not is_quicklook_of(job.png, job.dataset):  # had's own quicklook of it: replaced
        raise ConfigError(f"{job.png} exists without its map (a file of yours, or had's before 6 December 2026, "
                          f"whose quicklooks record no input), so --skip-existing cannot tell it is "
                          f"{job.dataset}'s quicklook; {fix}")


def _is_one_of(path: str, files) -> bool:
    """Whether `path` is one of `files` (the same file on disk, however named)."""
    for other in files:
        try:
            if os.path.samefile(path, other):
                return True
        except OSError:
            continue
    return False


def geotiff_missing() -> str | None:
    """Why GeoTIFF maps cannot be written here (rasterio is missing: :func:`had.maps.import_rasterio`'s line), or
    None when they can. ``--map-format auto`` then writes every map as ``.npy``, said once by :func:`auto_npy_note`."""
    from .errors import HadError
    from .maps import import_rasterio

    try:
        import_rasterio()
    except HadError as exc:
        return str(exc)
    return None


def auto_npy_note() -> str | None:
    """The one note of ``--map-format auto`` without rasterio (None with it), said at the first scene's map: what
    the ``.npy`` maps lose and how to get GeoTIFF. Rows and images get ``.npy`` anyway: nothing to say for them."""
    missing = geotiff_missing()
    if missing is None:
        return None
    return (f"note: {missing}; until then --map-format {AUTO} writes every map as OUT/NAME.npy, without a scene's "
            "transform and CRS (--map-format npy asks for that and drops this note)")


def per_file(settings: dict[str, Any] | None, spec: str) -> dict[str, Any]:
    """The data settings of one file: ``{stem}`` in a text value becomes the file's stem, so one option names a
    file per input (``--data map_path=masks/{stem}.tif``: each line's own target mask)."""
    stem = Path(spec).stem
    return {key: value.replace("{stem}", stem) if isinstance(value, str) else value
            for key, value in (settings or {}).items()}


def score_files(jobs: list[ScoreJob], executor: str = "serial", *, workers: int | None = None,
                ray_address: str | None = None,
                on_done: Callable[[FileResult], None] | None = None) -> list[FileResult]:
    """Run `jobs` on `executor` (see :mod:`had.executors`); `on_done` sees each result as its file finishes.
    Returns the results in the jobs' order."""
    if executor not in EXECUTORS:
        raise ConfigError(f"executor {executor!r} is not one of {', '.join(EXECUTORS)}")
    if executor == "ray":
        import_ray()
    results: dict[ScoreJob, FileResult] = {}
    for job, result in execute(jobs, executor, workers=workers, ray_address=ray_address, task=SCORE_FILES):
        results[job] = result
        if on_done is not None:
            on_done(result)
    return [results[job] for job in jobs]


def result_line(result: FileResult) -> str:
    """One line for a scored file (its error, or its counts, threshold and files)."""
    if result.error:  # most errors name the file already; a scene's name (its stem: `wl: its bands ...`) is said
        if result.error.startswith(result.dataset):  # as the file (was: "wl.hdr: wl: its bands ...")
            return result.error
        error = result.error.removeprefix(f"{Path(result.dataset).stem}: ")
        return f"{result.dataset}: {error}"
    s = result.summary or {}
    n = n_scores(s)
    files = ", ".join(str(f) for f in (s.get("map"), s.get("png")) if f)
    fill = s.get("no_data_pixels") or 0  # NaN in the map (had.nodata)
    measured = "".join(f"; {k} {v:.4f}" for k, v in (s.get("metrics") or {}).items())  # a map_path's truth
    if s.get("metrics_skipped"):  # said here, not again under the line (file_notes)
        measured += f"; metrics skipped: {s['metrics_skipped']}"
    return (f"{result.dataset}: {s.get('flagged')} of {n - fill} above the threshold {s.get('threshold'):.6g}"
            + (f" ({fill} no-data pixels)" if fill else "") + measured + f"; wrote {files}")


#: the lock ``had score --out`` holds on its folder while it scores (:mod:`had.folder_lock`)
LOCK = FolderLock(".had-score.lock", b"had score lock", "had score --out", "maps")  # (not a flock of the folder
# itself: had.atomic's writers take that one to commit each map)


def score_files_cmd(model: str, inputs: Iterable[str], out: str | None, *, output: str | None = None,
                    png: str | None = None, settings: dict[str, Any] | None = None, engine: str = "auto",
                    suffix: str = AUTO, quicklooks: bool = False, executor: str = "serial",
                    workers: int | None = None, ray_address: str | None = None, as_json: bool = False,
                    overwrite: bool = False, skip_existing: bool = False,
                    metrics: Sequence[str] | None = None) -> int:
    """``had score MODEL A B ... --out DIR``: one line per file as it finishes (a failure on stderr); returns the
    exit code (1 when any file failed). `as_json`: one :func:`result_record` per input on stdout."""
    import click

    if not out:
        raise ConfigError("several datasets (and --map-format, --quicklooks, --executor, --workers, --ray-address, "
                          "--skip-existing) need --out FOLDER, one map each named after the file; -o names the map "
                          "of a single dataset")
    if output or png:
        option = "-o" if output else "--png"
        named = "OUT/NAME.tif (scenes) or .npy" if suffix == AUTO else f"OUT/NAME.{suffix.lstrip('.')}"
        raise ConfigError(f"{option} names one file; with --out every dataset gets {named} "
                          "(and OUT/NAME.png with --quicklooks)")
    if quicklooks:
        from .plots import require_matplotlib

        require_matplotlib("drop --quicklooks")  # said once, now, not by every file after its map was written
    from . import plugins

    plugins.check_workers_load("metric", metrics or (), executor)  # (was: skipped in every file, exit 0)
    given = list(inputs)
    inputs = expand(given)  # once: plan() takes the expanded list as it is, and the JSON's rows follow its order
    if Path(out).is_dir():  # another had score writing there: said first, before the folder's other checks
        LOCK.refuse_if_held(Path(out))
    jobs, skipped = plan(model, inputs, out, suffix=suffix, engine=engine, quicklooks=quicklooks, settings=settings,
                         overwrite=overwrite, skip_existing=skip_existing)
    if metrics:
        jobs = [dataclasses.replace(job, metrics=tuple(metrics)) for job in jobs]
    order = {spec: i for i, spec in enumerate(inputs)}
    if executor == "ray" and jobs:
        import_ray()  # before any line is printed
    note = (lambda line: click.echo(line, err=True)) if as_json else click.echo
    repeated = sorted({spec for spec in given if given.count(spec) > 1})
    if repeated:  # was: scored once, unsaid (a flight-line probe of 7 December 2026)
        note(f"note: {', '.join(repeated[:3])}{' ...' if len(repeated) > 3 else ''} given more than once: scored once")
    unchecked = [job for job in skipped if job.existing.endswith(NPY_SUFFIXES) and origin_record(job.existing) is None]
    if unchecked:
        why = ("this file system keeps no extended attributes, in which a map records it"
               if not keeps_origins(os.path.abspath(out)) else
               "written by had before 7 December 2026, or copied without their extended attributes")
        note(f"note: {len(unchecked)} .npy map(s) kept record no file they were scored from ({why}): kept unchecked "
             "(a map of a file of the same name in another folder, or of another model, would pass); --overwrite "
             "scores them again")
    from .executors import ray_address_note, workers_note

    for said in (workers_note(executor, workers), ray_address_note(executor, ray_address)):
        if said:
            note(said)
    npy_note = [auto_npy_note()] if suffix == AUTO else []  # said once, at the first scene (plan chose .npy)
    for job in skipped:
        note(f"{job.dataset}: skipped, {job.existing} exists (--skip-existing)")
    note(f"scoring {len(jobs)} file(s) with {model} ({executor}) into {out}"
         + (f"; {len(skipped)} skipped, their maps exist" if skipped else ""))

    def done(result: FileResult) -> None:
        if npy_note and npy_note[0] and len((result.summary or {}).get("shape", ())) == 2:
            note(npy_note.pop())  # a scene's map, which auto would have written as a GeoTIFF
        if result.error:
            click.echo(f"error: {result_line(result)}", err=True)
        else:
            note(result_line(result))
            for line in result.notes:  # the file's own notes, under its line
                note(f"  {line}")

    with LOCK.held(Path(out)):  # one run writing maps into a folder at a time (was: two runs with two models left
        # a folder of both's maps, each run failing the files the other wrote first)
        results = score_files(jobs, executor, workers=workers, ray_address=ray_address, on_done=done)
    failed = [r for r in results if r.error]
    if as_json:  # one row per input, in their order, skipped files too (see RESULT_KEYS)
        from .cli_json import to_json
        from .cli_streams import json_out

        rows = {job.dataset: result_record(job.dataset, "skipped", map=job.existing, png=job.png)
                for job in skipped}
        rows.update({r.dataset: result_record(r.dataset, "failed", error=r.error) if r.error
                     else result_record(r.dataset, "scored", **{**(r.summary or {}), "map": r.output})
                     for r in results})
        click.echo(to_json([rows[d] for d in sorted(rows, key=lambda d: order.get(d, len(order)))]), file=json_out())
    if failed:
        others = f"; the others' maps are in {out}" if len(failed) < len(results) else ""
        if not Path(out).is_dir():  # removed while had wrote into it (each file's line says so)
            others = f"; {out} no longer exists"
        click.echo(f"error: {len(failed)} of {len(results)} file(s) failed (listed above){others}", err=True)
        return 1
    return 0
