"""What ``had bench --resume`` may keep, and one grid writing into a folder at a time.

Each run records its grid's settings in ``OUT/grid.json`` (:data:`RECORD_NAME`): every detector's validated
config, every dataset's source, config and protocol (by its label in results.csv), and the metrics. ``--resume``
keeps the finished cells of a detector or dataset this grid names only when they were computed with the grid's
settings: a kept cell of ``rx`` at contamination 0.1 averaged with new ones at 0.3 would be one row of a table that
means neither. So :func:`check_resume` refuses, before any work, a folder whose record differs from the grid's
for a detector, a dataset or the metrics of its kept cells. Cells of detectors, datasets or seeds the grid does
not name stay in the results as they were (a grid continued with more seeds), said in one line, and are listed
after the grid's own. A folder written before the record existed resumes as before, said once. The record also
holds each dataset's files by size and modification time, and each detector's distribution and version: a kept
cell whose data file or detector's distribution changed since is refused too (:func:`_check_files_and_versions`).

:func:`exclusive` holds ``OUT/.had-bench.lock`` (:mod:`had.folder_lock`) for the run: a second ``had bench`` into
the same folder is refused instead of both rewriting results.csv from their own rows and losing the other's.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Sequence

from .atomic import write_bytes
from .catalog import envi_data_candidates
from .errors import ConfigError, shown
from .folder_lock import FolderLock

#: the grid's settings, beside results.csv
RECORD_NAME = "grid.json"
#: the lock file one run holds
LOCK_NAME = ".had-bench.lock"


def record_of(detectors: dict[str, dict[str, Any]], datasets: dict[str, dict[str, Any]],
              metrics: Sequence[str], files: dict[str, dict[str, dict[str, int]]] | None = None,
              distributions: dict[str, dict[str, str | None]] | None = None) -> dict[str, Any]:
    """The record of a grid: detectors' configs, datasets' source, config and protocol (by label), metrics; and,
    where given, each dataset's files with their size and modification time (:func:`data_files`), the distribution
    and version providing each detector (:func:`providers`) and had's version, which ``--resume``
    compares too (was: cells computed on a file since replaced, or by a plugin since upgraded, were kept unsaid)."""
    record: dict[str, Any] = {
        "detectors": detectors,
        "datasets": {label: {k: v for k, v in ds.items() if k in ("source", "config", "protocol")}
                     for label, ds in datasets.items()},
        "metrics": list(metrics)}
    if files is not None:
        record["files"] = files
    if distributions is not None:
        from . import __version__

        record["distributions"] = distributions
        record["had"] = __version__
    return record


#: user files up to this size are also recorded by their sha256, so that a copy or a ``touch`` (a new modification
#: time, the same bytes) does not refuse a resume; larger ones (flight lines of GBs) by size and time alone
HASHED_BYTES = 256 * 2**20


def data_files(spec: str, source: Any) -> dict[str, dict[str, Any]]:
    """The files dataset `spec` reads, by absolute path, each with its ``size`` and ``mtime_ns`` (a stat), and its
    ``sha256`` up to :data:`HASHED_BYTES`: `spec` itself where it is a file, and each ``path``/``*_path`` setting of
    its source that is a file (with an ENVI header's data file). A registered dataset's own files are not recorded:
    their sha256 is verified on every load (`had data fetch`'s records), and a moved or copied ``HAD_DATA_DIR``
    holds the same bytes (was: refused, "is gone"). Folders (a folder of images) are not recorded."""
    from .dataset_arg import looks_like_path
    from .datadir import sha256_of

    candidates: list[str] = []
    if looks_like_path(spec):
        candidates.append(spec)
    config = getattr(getattr(source, "config", None), "model_dump", lambda: {})()
    for key, value in config.items():
        if (key == "path" or key.endswith("_path")) and isinstance(value, str) and value:
            candidates.append(value)
    for path in list(candidates):
        if path.lower().endswith(".hdr"):
            candidates += envi_data_candidates(path)
    files: dict[str, dict[str, Any]] = {}
    for path in candidates:
        full = os.path.abspath(os.path.expanduser(path))
        with contextlib.suppress(OSError):
            if full not in files and os.path.isfile(full):
                stat = os.stat(full)
                files[full] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
                if stat.st_size <= HASHED_BYTES:
                    files[full]["sha256"] = sha256_of(Path(full))
    return files


def _same_bytes(then: dict[str, Any], now: dict[str, Any] | None) -> bool:
    """The recorded file `then` and today's `now` hold the same bytes: the same size, and the same modification
    time or (for a file small enough to be hashed) the same sha256."""
    if now is None or now.get("size") != then.get("size"):
        return False
    if now.get("mtime_ns") == then.get("mtime_ns"):
        return True
    return "sha256" in then and then.get("sha256") == now.get("sha256")


def providers(labels: Sequence[str], kind: str = "detector",
              names: dict[str, str] | None = None) -> dict[str, dict[str, str | None]]:
    """Per detector (or `kind`) label: the ``distribution`` providing it and its ``version`` (``had`` for the core's;
    None for a plugin registered in this process), as :func:`had.plugins.plugin_version` finds them
    (importlib.metadata); `names`: the registered name of a label that is not one (a detector's variant)."""
    from . import plugins

    found = {}
    for name in labels:
        distribution, version = plugins.plugin_version(plugins.entry(kind, (names or {}).get(name, name)).plugin)
        found[name] = {"distribution": distribution, "version": version}
    return found


def is_record(path: Path) -> bool:
    """Whether `path` is a grid record :func:`write_record` wrote (its three keys), a folder's mark of had bench
    output where no results.csv is there yet (a grid stopped before its first cell finished)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(record, dict) and {"detectors", "datasets", "metrics"} <= set(record)


def write_record(out: Path, record: dict[str, Any], earlier: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write the grid's record; the earlier record's entries this grid does not name are kept (their cells are).
    Returns the record written (what :func:`keep_record` writes again into a folder made anew)."""
    if earlier:
        for key in ("detectors", "datasets", "files", "distributions", "metric_distributions"):
            if key in record:
                record = {**record, key: {**earlier.get(key, {}), **record[key]}}
    write_bytes(out / RECORD_NAME, json.dumps(record, indent=1, sort_keys=True) + "\n")
    return record


def keep_record(out: Path, record: dict[str, Any] | None) -> None:
    """Write `record` again where it is gone: the results folder removed during the grid is made anew by the next
    results written, and without its record a later ``--resume`` could not compare the kept cells' settings (was:
    "has no grid.json (an earlier had)")."""
    if record is not None and not os.path.lexists(out / RECORD_NAME):
        write_record(out, record)


def read_record(out: Path) -> dict[str, Any] | None:
    path = out / RECORD_NAME
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path} cannot be read ({exc}): it records the settings of the cells --resume would "
                          "keep; run with --overwrite, or give another --out") from None
    if not isinstance(record, dict):
        raise ConfigError(f"{path} is not a had bench grid record; run with --overwrite, or give another --out")
    return record


def check_resume(out: Path, rows: list[dict[str, Any]], grid: dict[str, Any], seeds: Sequence[int],
                 echo: Callable[[str], None], metrics_recomputed: bool = False) -> dict[str, Any] | None:
    """:class:`ConfigError` when a kept row of a detector or dataset of the grid (`grid`: :func:`record_of` of the
    grid being run) was computed with other settings than the grid's (the folder's record); returns that record.
    Kept rows outside the grid are said by `echo` (names escaped: they are read from results.csv).
    `metrics_recomputed`: the kept rows' metrics were computed now, from their saved scores
    (:mod:`had.bench_scores`): the metrics, their parameters and providers are not compared."""
    outside = [row for row in rows if row["detector"] not in grid["detectors"]
               or row["dataset"] not in grid["datasets"] or row["seed"] not in seeds]
    if outside:
        said = ", ".join(f"{shown(r['detector'])} on {shown(r['dataset'])} (seed {r['seed']})" for r in outside[:3])
        more = f" and {len(outside) - 3} more" if len(outside) > 3 else ""
        echo(f"[bench] {len(outside)} kept cell(s) are not in this grid and stay in the results as they were, left "
             f"out of this grid's summary (results.md, report.html): {said}{more}")
    earlier = read_record(out)
    if earlier is None:
        if rows:
            echo(f"[bench] {out} has no {RECORD_NAME} (an earlier had): the kept cells' settings are not compared")
        return None
    kept = {(key, row[column]) for row in rows for key, column in (("detectors", "detector"), ("datasets", "dataset"))
            if row[column] in grid[key]}
    for key, name in sorted(kept):
        then, now = earlier.get(key, {}).get(name), grid[key][name]
        if then != now:
            raise ConfigError(f"--resume: {name}'s settings differ from those of its finished cells in {out} "
                              f"({_difference(then, now)}); rerun them with --overwrite, or give another --out")
    if rows and not metrics_recomputed and list(earlier.get("metrics", [])) != list(grid["metrics"]):
        raise ConfigError(f"--resume: the metrics differ from those of the finished cells in {out} "
                          f"({', '.join(earlier.get('metrics', []))} then, {', '.join(grid['metrics'])} now); "
                          "rerun them with --overwrite, give another --out, or keep the cells' scores with "
                          "--save-scores, from which --resume computes new metrics")
    for name in grid["metrics"] if rows and not metrics_recomputed else ():  # a metric's parameters (absent: none)
        then, now = (earlier.get("metric_config") or {}).get(name, {}), (grid.get("metric_config") or {}).get(name, {})
        if then != now:  # a parameter not given was its default (was: said as "null")
            said = "; ".join(f"{key} {_given(then, key)} then, {_given(now, key)} now"
                             for key in sorted(set(then) | set(now)) if then.get(key, now) != now.get(key, then))
            raise ConfigError(f"--resume: metric {name}'s parameters differ from those of the finished cells in {out} "
                              f"({said}); rerun them with --overwrite, or give another --out")
    if rows and earlier.get("cpu_pins") != grid.get("cpu_pins"):  # the same sources, other kernels (had.cpu_pins)
        raise ConfigError(f"--resume: {_pins_change(earlier.get('cpu_pins'), grid.get('cpu_pins'), out)}")
    _check_files_and_versions(out, earlier, grid, sorted(kept), echo)
    if rows and not metrics_recomputed:
        _check_metric_versions(out, earlier, grid)
    return earlier


def _check_metric_versions(out: Path, earlier: dict[str, Any], grid: dict[str, Any]) -> None:
    """:class:`ConfigError` when a metric of the kept cells is now provided by another distribution or version
    (recorded since 7 December 2026; was: a metric plugin upgraded or replaced between runs, its old and new values
    mixed in one column without a word)."""
    for name, now in sorted((grid.get("metric_distributions") or {}).items()):
        then = (earlier.get("metric_distributions") or {}).get(name)
        if (then or {}).get("distribution") == "had" == (now or {}).get("distribution"):
            continue  # the core's own metrics: every grid has them, and had's version moves with every release
        if then is not None and now is not None and then != now:
            raise ConfigError(f"--resume: metric {name}: {_provider_change('it', then, now)} since the finished cells "
                              f"in {out} were computed; rerun them with --overwrite, or give another --out")


def _pins_change(then: Any, now: Any, out: Path) -> str:
    """How the CPU pins of a grid's finished cells (`then`) and of the grid run now differ, and what to do."""
    fix = "rerun them with --overwrite, or give another --out"
    if then and now:  # both pinned: had's pins changed since (another had, another numpy)
        changed = ", ".join(sorted(name for name in {*then, *now} if then.get(name) != now.get(name)))
        return f"the finished cells in {out} ran with other CPU pins than this had's ({changed}); {fix}"
    if then:
        return (f"the finished cells in {out} ran with the CPU pins (--pin-cpu, or a grid file's pin_cpu), this grid "
                f"without them; give --pin-cpu to resume them, {fix}")
    return (f"the finished cells in {out} ran without the CPU pins, this grid with them (--pin-cpu, or a grid "
            f"file's pin_cpu); give --no-pin-cpu to resume them, {fix}")


def check_metric_columns(path: Path, rows: list[dict[str, Any]], metrics: Sequence[str]) -> None:
    """:class:`ConfigError` when the kept rows of results.csv `path` hold a metric the grid does not compute: written
    back with the grid's columns, its values would be lost (a folder without a record, whose metrics are not
    compared by :func:`check_resume`)."""
    extra = sorted({column for row in rows for column in row
                    if column not in metrics and column not in ("detector", "dataset", "seed", "fit_s", "score_s",
                                                                 "error")})
    if extra:
        raise ConfigError(f"--resume: {path} holds metric(s) this grid does not compute "
                          f"({', '.join(map(shown, extra))}); its cells were computed with other metrics: rerun them "
                          "with --overwrite, or give another --out")


def _check_files_and_versions(out: Path, earlier: dict[str, Any], grid: dict[str, Any], kept: list[tuple[str, str]],
                              echo: Callable[[str], None]) -> None:
    """:class:`ConfigError` when a data file of a kept cell's dataset changed (size or modification time) or is
    gone since the record, or when the distribution providing a kept cell's detector is another or of another
    version. A record of an earlier had, without them, is said once: nothing to compare."""
    if not kept:
        return
    if "files" not in earlier and "distributions" not in earlier and ("files" in grid or "distributions" in grid):
        echo(f"[bench] {out / RECORD_NAME} was written by an earlier had: the kept cells' data files and detector "
             "versions are not checked")
        return
    fix = "rerun them with --overwrite, or give another --out"
    for key, name in kept:
        if key == "datasets" and "files" in grid:
            now = grid["files"].get(name, {})
            for path, then in sorted((earlier.get("files", {}).get(name) or {}).items()):
                if not _same_bytes(then, now.get(path)):
                    raise ConfigError(f"--resume: {path}, a data file of {name}, {_file_change(then, now.get(path))} "
                                      f"since its finished cells in {out} were computed; {fix}")
        elif key == "detectors" and "distributions" in grid:
            then, now = (earlier.get("distributions", {}) or {}).get(name), grid["distributions"].get(name)
            if then is not None and now is not None and then != now:
                raise ConfigError(f"--resume: {_provider_change(name, then, now)} since {name}'s finished cells in "
                                  f"{out} were computed; {fix}")


def _provider_change(who: str, then: dict[str, Any], now: dict[str, Any]) -> str:
    """How what provides `who` (a detector or a metric, :func:`providers`) changed from `then` to `now`."""
    if then.get("distribution") == now.get("distribution"):
        return f"{then.get('distribution') or who} changed version ({then.get('version')} -> {now.get('version')})"
    return f"{who} is provided by another distribution ({_provider(then)} -> {_provider(now)})"


def _file_change(then: dict[str, int], now: dict[str, int] | None) -> str:
    """``is gone``, ``changed (1200 bytes then, 1500 now)`` or ``was modified (at ... then, ... now)``."""
    import datetime

    if now is None:
        return "is gone (or no longer a file)"
    if now.get("size") != then.get("size"):
        return f"changed ({then.get('size')} bytes then, {now.get('size')} now)"

    def when(ns: Any) -> str:
        try:
            return datetime.datetime.fromtimestamp(int(ns) / 1e9).isoformat(sep=" ", timespec="milliseconds")
        except (TypeError, ValueError, OverflowError, OSError):
            return str(ns)

    what = ("other bytes of the same size" if "sha256" in then else
            f"over {HASHED_BYTES // 2**20} MiB, so compared by its modification time alone")
    return f"was modified (at {when(then.get('mtime_ns'))} then, {when(now.get('mtime_ns'))} now; {what})"


def _provider(dist: dict[str, Any]) -> str:
    return f"{dist.get('distribution') or 'a plugin registered in-process'} {dist.get('version') or '(no version)'}"


def _given(params: dict[str, Any], key: str) -> str:
    """A metric parameter as a --resume refusal says it: its value, or "at its default" where none was given."""
    return json.dumps(params[key]) if key in params else "at its default"


def _difference(then: Any, now: Any) -> str:
    """``contamination 0.1 then, 0.3 now`` for the first keys that differ (nested dicts flattened with dots)."""
    if then is None:
        return "not recorded then"
    flat_then, flat_now = _flat(then), _flat(now)
    changed = [k for k in sorted(set(flat_then) | set(flat_now)) if flat_then.get(k) != flat_now.get(k)]
    return "; ".join(f"{k} {json.dumps(flat_then.get(k))} then, {json.dumps(flat_now.get(k))} now"
                     for k in changed[:3]) + ("; ..." if len(changed) > 3 else "")


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flat(item, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): value}


#: the lock one ``had bench`` holds on its results folder (:mod:`had.folder_lock`)
LOCK = FolderLock(LOCK_NAME, b"had bench lock", "had bench", "its results")
LOCK_MARK = LOCK.mark


def refuse_if_held(out: Path) -> None:
    """:class:`ConfigError` when another ``had bench`` holds ``OUT/.had-bench.lock`` now, or a file of that name is
    not had's lock: said before the folder's other checks, whose advice (``add --resume``) would only meet the lock
    (:func:`exclusive` takes it afterwards)."""
    LOCK.refuse_if_held(out)


def exclusive(out: Path):
    """Hold ``OUT/.had-bench.lock`` for the run (:meth:`had.folder_lock.FolderLock.held`)."""
    return LOCK.held(out)
