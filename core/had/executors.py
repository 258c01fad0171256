"""Where the cells of a benchmark grid (or the files of ``had score --out``) run: here, in local processes, or on Ray.

A :class:`Cell` is one (detector, dataset, seed) with everything needed to run it anywhere; :func:`run_cell` runs
it in whichever process gets it and returns a :class:`CellResult` (a failure is the row's ``error``, never an
exception). Each executor takes the cells and yields ``(cell, result)`` as cells finish, so the caller writes each
row as soon as it exists. Any other picklable task runs the same way with its own ``run``, ``fail`` and
``needs`` functions (module-level, so that processes and Ray can import them): :mod:`had.score_many` scores
one file per task.

* ``serial``: one after the other in this process (the default; what the tests monkeypatch runs here).
* ``processes``: a :class:`concurrent.futures.ProcessPoolExecutor` with a *spawn* context (no forked torch or
  BLAS state), ``workers`` processes (default: the CPU count).
* ``ray``: one Ray task per cell on the cluster at ``ray_address``, or on a local Ray started here (and stopped
  afterwards) when no address is given. Each task asks for the cell's :func:`resources`. Ray is the ``had[ray]``
  extra; the core never needs it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from . import cpu_pins, nodata, signals
from .atomic import remove_unfinished
from .errors import ConfigError, HadError, InvalidInputError, LabelError, flat_text
from .grid import registered_detector

EXECUTORS = ("serial", "processes", "ray")


def workers_note(executor: str, workers: int | None) -> str | None:
    """What to say of ``--workers`` given to an executor that takes no worker count (was: ignored without a word,
    a run of one cell or file at a time when processes were meant)."""
    if not workers or executor == "processes":
        return None
    runs = "one at a time" if executor == "serial" else "as many tasks at once as the Ray cluster's CPUs allow"
    return f"note: --workers {workers} applies to --executor processes; {executor} runs {runs} (add --executor processes)"


def ray_address_note(executor: str, ray_address: str | None) -> str | None:
    """What to say of ``--ray-address`` (or a grid's ``ray_address``) given to another executor than Ray (was:
    ignored without a word, the grid run here when a cluster was meant)."""
    if not ray_address or executor == "ray":
        return None
    return (f"note: --ray-address {ray_address} applies to --executor ray; {executor} runs on this machine "
            "(add --executor ray)")


@dataclass(frozen=True)
class Cell:
    """One (detector, dataset, seed) of a grid and what running it needs."""

    detector: str
    dataset: str
    seed: int
    detector_config: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    dataset_config: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    protocol: str | None = None
    metrics: tuple[str, ...] = ()
    #: per metric label, its parameters (a grid's ``[metrics.NAME]`` table, ``--metric-set``)
    metric_config: dict[str, dict[str, Any]] = field(default_factory=dict, hash=False, compare=False)
    keep_scores: bool = False  # send the scores and truth back (for the first seed's plots)
    #: the protocol's parameters (``--protocol-set``), the same for every cell (was: the seed only reached it)
    protocol_params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    #: the dataset's name in the results (a file's stem: ``const`` for ``const.npz``), which notes use ("": as given)
    label: str = field(default="", hash=False, compare=False)

    @property
    def key(self) -> tuple[str, str, int]:
        return self.detector, self.dataset, self.seed

    @property
    def shown(self) -> str:
        """The dataset as the results name it (was: notes said ``const.npz`` of rows named ``const``)."""
        return self.label or self.dataset


@dataclass
class CellResult:
    row: dict[str, Any]
    scores: np.ndarray | None = None
    truth: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    #: what the detector changed to get through this cell's fit (its ``fit_notes_``: a setting lowered to fit the
    #: data), sent back with the row so that a worker process's or Ray task's notes reach the grid's (was: unread)
    fit_notes: list[str] = field(default_factory=list)
    #: the fitted detector's threshold, sent back with the scores (``had bench --save-scores`` keeps it)
    threshold: float | None = None


def error_text(exc: BaseException) -> str:
    """One line for a cell's ``error`` column (``HAD_DEBUG=1`` also prints the traceback)."""
    text = str(exc) if isinstance(exc, HadError) else f"{type(exc).__name__}: {exc}"
    if os.environ.get("HAD_DEBUG"):
        import traceback

        traceback.print_exception(exc)
    return " ".join(_ANSI.sub("", text).split())  # a Ray task's error is its traceback, coloured for a terminal


#: a terminal's colour codes (a Ray task error's text holds them), dropped from results.csv and the reports
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def failed(cell: Cell, exc: BaseException) -> CellResult:
    return CellResult({"detector": cell.detector, "dataset": cell.dataset, "seed": cell.seed,
                       "error": error_text(exc)})


# one process keeps the last datasets and splits it loaded: the cells of one dataset share them
_LOADED: dict[tuple, Any] = {}


def _cached(key: tuple, make: Callable[[], Any], keep: int = 4) -> Any:
    if key not in _LOADED:
        while len(_LOADED) >= keep:
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[key] = make()
    return _LOADED[key]


def load(dataset: str, config: dict[str, Any]) -> tuple[Any, Any]:
    """The data source and its loaded dataset, cached in this process."""
    from . import get_datasource

    def make():
        source = get_datasource(dataset, config)
        return source, source.load()

    return _cached(("data", dataset, repr(sorted(config.items()))), make)


def run_cell(cell: Cell) -> CellResult:
    """Fit and score one cell; any failure becomes the row's ``error``."""
    from . import get_detector, protocols
    from .memory import tune_malloc

    tune_malloc()  # in a worker process or a Ray task as in had's own (once per process)

    loading = True
    try:
        source, dataset = load(cell.dataset, cell.dataset_config)
        loading = False
        if dataset.y is None:
            fix = (f"give its map with --data {cell.dataset}.map_path=MASK (anomaly where > 0)"
                   if "map_path" in type(source.config).model_fields else "give a labelled dataset")
            raise LabelError(f"{cell.dataset} has no ground truth, and a benchmark measures detectors against it: "
                             f"{fix}, or use `had fit` and `had score` on an unlabelled scene")
        proto = source.protocol(cell.protocol)
        params = cell.protocol_params if proto == cell.protocol else {}  # given with --protocol only
        split = _cached(("split", cell.dataset, repr(sorted(cell.dataset_config.items())), proto, cell.seed,
                         repr(sorted(params.items()))),
                        lambda: protocols.apply(proto, dataset, seed=cell.seed, params=params))
        asked = split.train.meta.get("ratio_pollution_asked")
        detector = get_detector(registered_detector(cell.detector), {**cell.detector_config, "seed": cell.seed})
        fill = nodata.declared(dataset.meta)  # a scene's declared no-data value, as `had fit` uses it
        if fill is not None and nodata.masks_fill(detector) and nodata.FIELD not in cell.detector_config:
            detector.set_params(**{nodata.FIELD: nodata.as_config(fill)})
        t0 = time.perf_counter()
        detector.fit(split.train.X, split.train.known)
        fit_s = time.perf_counter() - t0
        if proto == "transductive" and detector.transductive:
            scores, score_s = detector.decision_scores_.reshape(np.shape(split.test.y)), 0.0
        else:
            t0 = time.perf_counter()
            scores = detector.decision_function(split.test.X)
            score_s = time.perf_counter() - t0
        scores = np.asarray(scores, dtype=np.float64)
        is_fill = None
        if fill is not None and np.ndim(split.test.X) == 3:  # the scene's fill, whatever the detector: no pixel
            is_fill = nodata.fill_mask(split.test.X, fill)
            scores = np.where(is_fill.reshape(np.shape(scores)), np.nan, scores)
        nodata.check_nan_scores(scores, split.test.X, nodata.fill_value_of(detector), is_fill,  # no second pass
                                who=cell.detector)
    except Exception as exc:  # one cell's failure is its row's error; the grid goes on
        outcome = failed(cell, exc)
        if loading:  # the data source's advice names `had fit`'s --data KEY=VALUE, which had bench refuses
            outcome.row["error"] = bench_hint(outcome.row["error"], cell.dataset)
        return outcome
    except SystemExit as exc:  # a plugin's sys.exit() in the cell: its row's error too, not the grid's end
        from .plugins import exit_error

        return failed(cell, exit_error(f"{cell.detector} on {cell.shown} (seed {cell.seed})", exc))
    result = CellResult({"detector": cell.detector, "dataset": cell.dataset, "seed": cell.seed},
                        fit_notes=list(getattr(detector, "fit_notes_", None) or ()))
    if asked is not None:  # the deepsad protocol's pollution, lowered to what the table holds
        result.notes.append(f"{cell.shown} (seed {cell.seed}): deepsad protocol pollution "
                            f"{split.train.meta['ratio_pollution']:g}, the most its training anomalies allow "
                            f"below {asked:g}")
    result.notes += protocol_notes(cell, proto, dataset.kind, detector.uses_labels, split.train.known)
    # no-data pixels (NaN) are left out of every metric; one that cannot be measured (undefined on these scores, its
    # plugin's code failed, an OSError, inf): that column empty and noted, the cell's other metrics and timings kept
    # (was: a failing metric plugin made the whole cell an error, its valid metrics lost; an OSError ended a serial
    # grid; before that, a ZeroDivisionError traceback stopped the grid)
    result.notes += metric_row(result.row, cell.metrics, split.test.y, scores, detector.threshold_,
                               cell.metric_config, f"{cell.detector} on {cell.shown} (seed {cell.seed})")
    result.row["fit_s"], result.row["score_s"] = fit_s, score_s
    if cell.keep_scores:
        result.scores, result.truth = np.asarray(scores), np.asarray(split.test.y)
        threshold = getattr(detector, "threshold_", None)
        result.threshold = None if threshold is None else float(threshold)
    return result


def metric_row(row: dict[str, Any], names: Sequence[str], truth: Any, scores: Any, threshold: float | None,
               config: dict[str, dict[str, Any]], who: str) -> list[str]:
    """`row`'s metric columns `names` measured (:func:`had.metrics.measure_all`), NaN where one could not be; the
    notes that say why, of the cell `who` (a cell run now, or kept and measured again from its saved scores)."""
    from .metrics import measure_all

    values, skipped = measure_all(names, truth, scores, threshold, config)
    for name in names:
        row[name] = values.get(name, float("nan"))
    return [f"{name} of {who} not computed: {why}" for name, why in skipped.items()]


#: ``--data KEY=VALUE`` in a message (``had fit``'s form), not already ``--data DATASET.KEY=VALUE``
_DATA_HINT = re.compile(r"--data ([A-Za-z_][A-Za-z0-9_]*)=")


def bench_hint(text: str, dataset: str) -> str:
    """`text` with each ``--data KEY=VALUE`` a data source's error advises (``had fit``'s and ``had score``'s form)
    written as ``had bench`` takes it, ``--data DATASET.KEY=VALUE`` (was: the advice, followed, was refused: "use
    --data DATASET.key=value")."""
    return _DATA_HINT.sub(lambda m: f"--data {dataset}.{m.group(1)}=", text)


def protocol_notes(cell: Cell, proto: str, kind: str, uses_labels: bool, known: np.ndarray | None) -> list[str]:
    """What a cell's protocol did that its metrics do not show, one note per detector and dataset (no seed: the
    same for every seed, said once by :func:`had.bench.run`): a detector that learns from known labels fitted
    with none (was: deepsad's rows under adbench or one-class were an unsupervised Deep SVDD's, unsaid), and
    the transductive protocol on samples that are not a scene's pixels (fitted and measured on the same ones)."""
    from .protocols import fitted_unlabelled

    notes = []
    if uses_labels and (known is None or not np.any(known)):
        if proto == "deepsad" and cell.protocol_params.get("ratio_known_outlier", 1) == 0 and \
                cell.protocol_params.get("ratio_known_normal", 0) == 0:
            fix = "--protocol-set ratio_known_outlier=0 gives it none; give a share above 0"
        elif proto == "deepsad":
            fix = "the table's training part is too small for the protocol's share of known anomalies"
        elif kind == "tabular":
            fix = "--protocol deepsad gives it labelled anomalies"
        else:
            fix = f"no had bench protocol gives known labels to {kind} data (--protocol deepsad is for tables)"
        notes.append(f"{fitted_unlabelled(cell.detector, f'{cell.shown} under the {proto} protocol')}; {fix}")
    if proto == "transductive" and kind != "cube":
        notes.append(f"{cell.shown}: the transductive protocol fits every detector on all its {kind} samples and "
                     "measures it on the same samples: the metrics are on training data")
    return notes


def resources(cell: Cell) -> dict[str, float]:
    """What a cell asks of a Ray cluster: CPUs from the detector's ``threads`` (1 without one), a GPU when its
    ``device`` is ``cuda``/``cuda:N`` (``auto`` asks for one only where the cluster has GPUs: see :func:`_ray`)."""
    from . import get_detector

    config = get_detector(registered_detector(cell.detector), cell.detector_config).config
    threads = getattr(config, "threads", None)
    device = str(getattr(config, "device", "cpu") or "cpu")
    return {"num_cpus": float(threads or 1), "num_gpus": 1.0 if device.startswith("cuda") else 0.0,
            "auto_gpu": device == "auto"}


Started = Callable[[Any], None]

#: the CPU pins asked of the serial executor, which runs the cells in this process, whose libraries have loaded
PIN_SERIAL = ("the CPU pins (--pin-cpu) act in processes started with them, and the serial executor runs the cells "
              "in this one, whose numpy and torch have loaded: use --executor processes (--workers 1 runs the cells "
              "one at a time) or --executor ray")


@dataclass(frozen=True)
class Task:
    """How to run one kind of task: `run(task) -> result` (never raising), `fail(task, exc) -> result` for a task
    whose process or Ray worker died, `needs(task) -> resources` (as :func:`resources` returns them), and
    `stopped(task)`, what to undo of a task that was in flight in a worker process (or a Ray worker) when the run
    was stopped, once that process is gone (:mod:`had.score_many`: its temporary map); it returns False while a
    process still holds what it would undo (a Ray worker that is still ending), and is then called again."""

    run: Callable[[Any], Any]
    fail: Callable[[Any, BaseException], Any]
    needs: Callable[[Any], dict[str, float]]
    stopped: Callable[[Any], bool | None] | None = None


# ---- in a worker process -----------------------------------------------------------------------------------
#: set in a worker process while it runs a task (:func:`_in_worker`); the signal that stops it (:func:`_stop_worker`)
_busy = False
_stopping = 0
_parent = None


def _worker_started(parent: int) -> None:
    """A worker process's initializer: SIGTERM and SIGINT stop it through a task's cleanup (:func:`_stop_worker`),
    and it gets SIGTERM when its parent dies (Linux: ``PR_SET_PDEATHSIG``), so a had killed with SIGKILL leaves no
    worker writing on (was: the workers, reparented to init, went on scoring every file queued, and
    multiprocessing's resource tracker stayed with them)."""
    global _parent
    _parent = parent
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stop_worker)
    from .signals import on_parent_death

    on_parent_death(signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the line above: nobody waits for this worker
        os._exit(143)
    if hasattr(signal, "pthread_sigmask"):  # blocked by the parent as it started this process (_starting)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING_SIGNALS)


#: the signals that stop a worker (:func:`_stop_worker`)
_STOPPING_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def _starting(pin_cpu: bool = False) -> Iterator[None]:
    """SIGINT and SIGTERM blocked in this thread while a submit may start a worker process, which inherits the mask
    (as multiprocessing starts its resource tracker, bpo-33613): a Ctrl-C reaching the worker as it starts waits until
    its initializer has set its handler (:func:`_worker_started`) (was: a traceback of the KeyboardInterrupt in the
    worker's imports, on had's stderr); here, it waits the few ms of the submit. With `pin_cpu` the worker also
    starts with the CPU pins in its environment (:mod:`had.cpu_pins`: a pool starts its workers as tasks are
    submitted, and a process reads the pins as its libraries load)."""
    with cpu_pins.environment(pin_cpu):
        if not hasattr(signal, "pthread_sigmask"):
            yield
            return
        with _signals_blocked():
            yield


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """SIGINT and SIGTERM blocked in this thread (see :func:`_starting`)."""
    from multiprocessing import resource_tracker

    with contextlib.suppress(Exception):  # started now, if not yet: starting it unblocks the signals
        resource_tracker.ensure_running()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _stop_worker(signum: int, frame: Any) -> None:
    """SIGTERM or SIGINT in a worker process: in a task, a KeyboardInterrupt, so that the task's ``with`` blocks
    remove their temporary files, and then the process ends (:func:`_in_worker`); between tasks it ends at once.
    A second signal while the first is handled is ignored: it must not cut that cleanup short."""
    global _stopping
    if _stopping:
        return
    _stopping = signum
    if _busy:
        raise KeyboardInterrupt
    _end_worker()


def _end_worker() -> None:
    remove_unfinished()  # a temporary file made just before the signal, before any block could remove it
    os._exit(128 + (_stopping or 15))


def _in_worker(run: Callable[[Any], Any], item: Any) -> Any:
    """`run(item)` in a worker process (what :func:`_processes` submits): not when its parent has died, and the
    process ends once a stopping signal's interrupt has gone through the task (:func:`_stop_worker`)."""
    global _busy
    if _parent is not None and os.getppid() != _parent:  # the parent is gone: no task of its is wanted now
        _end_worker()
    try:
        _busy = True
        try:
            result = run(item)
        finally:
            _busy = False
    except KeyboardInterrupt:
        if _stopping:
            _end_worker()
        raise
    if _stopping:  # the signal came as the task ended: its result has no one to go to
        _end_worker()
    return result


def execute(cells: list, executor: str = "serial", *, on_start: Started | None = None,
            workers: int | None = None, ray_address: str | None = None,
            task: Task | None = None, pin_cpu: bool = False) -> Iterator[tuple[Any, Any]]:
    """Run `cells` on `executor`, yielding each ``(cell, result)`` as it finishes: grid cells by default
    (:func:`run_cell`, :func:`failed`, :func:`resources`), any other tasks with their own `task`. `pin_cpu`: the
    workers (processes or Ray's) start with the CPU pins (:mod:`had.cpu_pins`); the serial executor, which runs
    in this process, cannot take them (a :class:`ConfigError`)."""
    on_start = on_start or (lambda cell: None)
    task = task or Task(run_cell, failed, resources)
    if executor == "serial":
        if pin_cpu:
            raise ConfigError(PIN_SERIAL)
        return _serial(cells, on_start, task)
    if executor == "processes":
        return _processes(cells, on_start, workers, task, pin_cpu)
    if executor == "ray":
        return _ray(cells, on_start, ray_address, task, pin_cpu)
    raise ConfigError(f"executor {executor!r} is not one of {', '.join(EXECUTORS)}")


def _serial(cells: Iterable, on_start: Started, task: Task) -> Iterator[tuple[Any, Any]]:
    for cell in cells:
        on_start(cell)
        yield cell, task.run(cell)


def _processes(cells: list, on_start: Started, workers: int | None, task: Task,
               pin_cpu: bool = False) -> Iterator[tuple[Any, Any]]:
    """At most `workers` cells in flight. A worker that dies (killed for memory, a crash in native code) breaks
    the whole pool and fails every cell in it; so the cells that were in flight then run again, each alone in a
    fresh process, and only the one that dies again fails: the rest of the grid goes on in a new pool. Stopped
    (Ctrl-C, SIGTERM, the consumer gone), the workers are stopped at once: a cell in flight is not waited for (a
    deep cell of hours held a SIGTERM that long, and a second SIGTERM during that wait hung had for good)."""
    import multiprocessing

    if not cells:
        return
    workers = max(1, min(workers or os.cpu_count() or 1, len(cells)))
    context = multiprocessing.get_context("spawn")
    queue = list(reversed(cells))  # popped from the end: grid order
    while queue:
        suspects: list = []
        pool = _pool(workers, context)
        running: dict = {}
        try:
            broken = False
            while (queue or running) and not suspects and not broken:
                while queue and len(running) < workers:
                    cell = queue.pop()
                    try:
                        with _starting(pin_cpu):
                            future = pool.submit(_in_worker, task.run, cell)
                    except BrokenProcessPool:  # a worker died since the last wait: this cell never started
                        queue.append(cell)
                        broken = True
                        break
                    running[future] = cell
                    on_start(cell)
                if broken:
                    break
                done = signals.wait_first(running)  # a Ctrl-C or SIGTERM raised outside the wait's lock
                for future in done:
                    cell = running.pop(future)
                    try:
                        result = signals.result(future)  # finished: no wait
                    except BrokenProcessPool:
                        suspects.append(cell)
                        continue
                    except KeyboardInterrupt:  # this worker alone was interrupted (a finished future: not ours)
                        result = task.fail(cell, HadError("its process was interrupted (SIGINT); run it again"))
                    except Exception as exc:
                        result = task.fail(cell, exc)
                    yield cell, result
            suspects += running.values()
        except BaseException:
            _stop_workers(pool)
            _undo(task, [*running.values(), *suspects])  # suspects: their processes died, their files stayed
            raise
        pool.shutdown(wait=True)
        for cell in suspects:
            yield cell, _alone(cell, task, context, pin_cpu)


def _pool(workers: int, context) -> ProcessPoolExecutor:
    """A pool whose workers stop with had (:func:`_worker_started`)."""
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_started, initargs=(os.getpid(),))


def _undo(task: Task, cells: Iterable, seconds: float = 0.0) -> None:
    """``task.stopped`` for the cells that were in flight when the run was stopped (their processes gone, or ending:
    those whose ``stopped`` says a process still holds their files are tried again for up to `seconds`)."""
    if task.stopped is None:
        return
    left = list(cells)
    deadline = time.monotonic() + seconds
    while left:
        held = []
        for cell in left:
            with contextlib.suppress(Exception):
                if task.stopped(cell) is False:
                    held.append(cell)
        if not held or time.monotonic() >= deadline:
            return
        left = held
        time.sleep(0.05)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Stop `pool` without waiting for its cells: queued ones cancelled, the workers terminated (SIGTERM: a task's
    cleanup runs, :func:`_stop_worker`), and killed where one has not ended within 5 s, so that none is left when
    this returns (a worker in native code for minutes holds a SIGTERM that long)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # shutdown forgets them
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14
    if terminate is not None:
        terminate()
    else:
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            with contextlib.suppress(Exception):
                process.terminate()
    deadline = time.monotonic() + 5
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        with contextlib.suppress(Exception):
            if process.is_alive():
                process.kill()
                process.join(5)


def _alone(cell: Any, task: Task, context, pin_cpu: bool = False) -> Any:
    """`cell` in a process of its own; its failure if that process dies too."""
    pool = _pool(1, context)
    try:
        with _starting(pin_cpu):
            future = pool.submit(_in_worker, task.run, cell)
        return signals.result(future)
    except BrokenProcessPool:
        return task.fail(cell, HadError("its process died (killed for memory, or a crash in native code), "
                                        "also when run alone; run it with --executor serial to see why"))
    except Exception as exc:
        return task.fail(cell, exc)
    except BaseException:  # stopped (Ctrl-C, SIGTERM): not waited for, as in the pool
        _stop_workers(pool)
        _undo(task, [cell])
        raise
    finally:
        pool.shutdown(wait=True)


def import_ray():
    """The ``ray`` module, or a :class:`ConfigError` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray needs Ray, which is not installed: pip install 'had[ray]' "
                          "(or use --executor processes)") from None
    return ray


#: seconds to wait for a TCP answer from a named Ray address before ray.init (which retries for about 20 s,
#: logging a warning a second, before it gives up)
PROBE_SECONDS = 5.0


def check_ray_address(address: str | None) -> None:
    """A ``ConfigError`` at once when `address` (``host:port`` or ``ray://host:port``) does not answer on TCP;
    nothing for None, ``auto``, ``local`` or a form without a port (ray.init judges those)."""
    import socket

    if not address or "://" in address and not address.startswith("ray://"):
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        return
    host = host.strip("[]")
    try:
        socket.create_connection((host, int(port)), timeout=PROBE_SECONDS).close()
    except (OSError, ValueError, OverflowError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        raise ConfigError(f"could not reach the Ray cluster at {address}: no answer on {hostport} ({reason}); "
                          "check --ray-address (or leave it out for a local Ray)") from None


#: seconds that Ray tasks stopped with the run (Ctrl-C, SIGTERM) get to end through their own cleanup (an interrupt
#: in the task: its ``with`` blocks remove its temporary files) before their workers are killed (as processes: 5 s)
RAY_STOP_SECONDS = 5.0


def _ray(cells: list, on_start: Started, address: str | None, task: Task,
         pin_cpu: bool = False) -> Iterator[tuple[Any, Any]]:
    """One Ray task per cell. Stopped (Ctrl-C, SIGTERM, the consumer gone), the tasks in flight are cancelled and
    waited for (:func:`_cancel_ray_tasks`), then what a killed worker left is undone (``task.stopped``): was, a
    ``maps/.a.npy.<hex>.npy`` left by every file in flight, as ``ray.shutdown`` killed the workers writing them."""
    ray = import_ray()
    if not cells:
        return
    started_here = not ray.is_initialized()
    if started_here:
        check_ray_address(address)
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
            from .signals import interrupt_on_sigterm

            interrupt_on_sigterm()  # Ray's own handler dumped a C++ stack and exited 134: the interrupt's cleanup
        except Exception as exc:  # noqa: BLE001 - Ray raises a bare Exception too ("timed out during startup")
            where = f"the Ray cluster at {address}" if address else "a local Ray"
            raise ConfigError(f"could not start or reach {where}: {flat_text(exc)}; check "
                              "--ray-address (or leave it out for a local Ray)") from None
    running: dict = {}
    stopped: list = []
    try:
        has_gpus = ray.cluster_resources().get("GPU", 0) > 0
        remote = ray.remote(task.run)
        for cell in cells:
            need = task.needs(cell)
            gpus = 1.0 if need["auto_gpu"] and has_gpus else need["num_gpus"]
            pins = {"runtime_env": {"env_vars": dict(cpu_pins.PINS)}} if pin_cpu else {}  # workers of their own
            running[remote.options(num_cpus=need["num_cpus"], num_gpus=gpus, **pins).remote(cell)] = cell
            on_start(cell)
        while running:
            done, _ = ray.wait(list(running), num_returns=1)
            for ref in done:
                cell = running.pop(ref)
                try:
                    yield cell, ray.get(ref)
                except Exception as exc:  # the task or its worker failed outside task.run
                    yield cell, task.fail(cell, exc)
    except BaseException:
        stopped = list(running.values())
        _cancel_ray_tasks(ray, list(running))
        raise
    finally:
        if started_here:
            ray.shutdown()
        _undo(task, stopped, seconds=RAY_STOP_SECONDS)  # a worker killed before its cleanup ran: its files


def _cancel_ray_tasks(ray: Any, refs: list, seconds: float = RAY_STOP_SECONDS) -> None:
    """Cancel the Ray tasks of `refs`: queued ones are dropped, running ones get a KeyboardInterrupt (their ``with``
    blocks remove their temporary files, as in a worker process stopped by a signal) and are waited for up to
    `seconds`; the workers of those still running then are killed (``force``)."""
    for ref in refs:
        with contextlib.suppress(Exception):
            ray.cancel(ref)
    left = refs
    with contextlib.suppress(Exception):
        left = ray.wait(refs, num_returns=len(refs), timeout=seconds)[1] if refs else []
    for ref in left:
        with contextlib.suppress(Exception):
            ray.cancel(ref, force=True)
