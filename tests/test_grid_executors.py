"""A small grid (2 detectors x 3 datasets x 2 seeds) gives the same results.csv serially, in processes and on Ray."""

from __future__ import annotations

import csv
import sys
import types

import numpy as np
import pytest

from had import bench, executors
from had.errors import ConfigError

DETECTORS = ["rx", "pyod-iforest"]
DATASETS = ["synthetic-table", "synthetic-scene", "table-file"]
SEEDS = [3, 7]
TIMING = ("fit_s", "score_s")


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    """Small configs; `table-file` reads a table the test writes (heavy-tailed rows, 20 shifted outliers)."""
    rng = np.random.default_rng(11)
    X = rng.standard_t(4, size=(400, 6))
    X[:20] += 4.0
    path = tmp_path_factory.mktemp("data") / "table.npz"
    np.savez(path, X=X, y=(np.arange(400) < 20).astype(int))
    return {"detector_config": {"pyod-iforest": {"n_estimators": 25}},
            "dataset_config": {"synthetic-table": {"n_samples": 300}, "synthetic-scene": {"height": 24, "width": 24},
                               "table-file": {"path": str(path)}}}


def grid_csv(out, executor, config, **kwargs):
    bench.run(DETECTORS, DATASETS, SEEDS, out=out, plots=False, echo=lambda _: None, executor=executor,
              **config, **kwargs)
    with open(out / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [{k: v for k, v in row.items() if k not in TIMING} for row in rows]


@pytest.fixture(scope="module")
def serial(tmp_path_factory, config):
    return grid_csv(tmp_path_factory.mktemp("serial"), "serial", config)


def test_the_serial_grid_has_every_cell_in_grid_order(serial):
    assert [(r["dataset"], r["seed"], r["detector"]) for r in serial] == [
        (ds, str(seed), det) for ds in DATASETS for seed in SEEDS for det in DETECTORS]
    assert all(r["error"] == "" for r in serial)
    assert all(0.5 < float(r["auroc"]) <= 1.0 for r in serial)
    assert serial[0] != serial[2]  # seeds 3 and 7 draw different splits/forests: the seeds reach the cells


def test_processes_give_the_serial_csv(serial, config, tmp_path):
    assert grid_csv(tmp_path, "processes", config, workers=2) == serial


def test_a_grid_killed_half_way_resumes_in_processes(serial, config, tmp_path):
    full = tmp_path / "full"
    grid_csv(full, "serial", config)
    lines = (full / "results.csv").read_text().splitlines(keepends=True)
    (tmp_path / "results.csv").write_text("".join(lines[:6]))  # header and the first 5 cells
    started = []
    bench.run(DETECTORS, DATASETS, SEEDS, out=tmp_path, plots=False, echo=started.append, executor="processes",
              workers=2, resume=True, **config)
    assert sum(line.endswith("...") for line in started) == 7
    with open(tmp_path / "results.csv", newline="") as fh:
        rows = [{k: v for k, v in r.items() if k not in TIMING} for r in csv.DictReader(fh)]
    assert rows == serial


def test_a_local_ray_gives_the_serial_csv(serial, config, tmp_path):
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'had[ray]')")
    assert grid_csv(tmp_path, "ray", config) == serial
    assert not ray.is_initialized()  # the local Ray had started is stopped again


class FakeRay(types.ModuleType):
    """Ray's task API, run inline: records the resources each task asked for."""

    def __init__(self, gpus=0):
        super().__init__("ray")
        self.asked, self.gpus, self.up, self.address = [], gpus, False, "unset"

    def is_initialized(self):
        return self.up

    def init(self, address=None, **kwargs):
        self.up, self.address = True, address

    def shutdown(self):
        self.up = False

    def cluster_resources(self):
        return {"CPU": 2.0, "GPU": float(self.gpus)}

    def remote(self, fn):
        fake = self

        class Remote:
            def options(self, **asked):
                fake.asked.append(asked)
                return types.SimpleNamespace(remote=lambda *a: Ref(fn(*a)))

        return Remote()

    def wait(self, refs, num_returns=1):
        return refs[:num_returns], refs[num_returns:]

    def get(self, ref):
        return ref.value


class Ref:
    """An object reference: hashable, holding the finished task's value."""

    def __init__(self, value):
        self.value = value


def test_ray_tasks_ask_for_the_detectors_threads_and_gpu(monkeypatch):
    fake = FakeRay(gpus=1)
    monkeypatch.setitem(sys.modules, "ray", fake)
    cells = [executors.Cell("rx", "synthetic-table", 0, dataset_config={"n_samples": 100}, metrics=("auroc",))]
    cells += [executors.Cell("autoencoder", "synthetic-table", 0, {"threads": 3, "device": d}) for d in
              ("cuda", "auto", "cpu")]
    assert [executors.resources(c)["num_cpus"] for c in cells] == [1.0, 3.0, 3.0, 3.0]
    # the autoencoder cells are not run (their outcome is whatever fit gives); only what they asked for matters
    monkeypatch.setattr(executors, "run_cell", lambda cell: executors.CellResult({"detector": cell.detector}))
    monkeypatch.setattr(executors, "check_ray_address", lambda address: None)  # no cluster "head" to answer
    done = list(executors.execute(cells, "ray", ray_address="ray://head:10001"))
    assert [c.detector for c, _ in done] == ["rx", "autoencoder", "autoencoder", "autoencoder"]
    assert fake.asked == [{"num_cpus": 1.0, "num_gpus": 0.0}, {"num_cpus": 3.0, "num_gpus": 1.0},
                          {"num_cpus": 3.0, "num_gpus": 1.0}, {"num_cpus": 3.0, "num_gpus": 0.0}]
    assert fake.address == "ray://head:10001" and not fake.up
    fake.asked.clear()
    fake.gpus = 0  # a cluster without GPUs: device "auto" asks for none, "cuda" still does
    list(executors.execute(cells[1:3], "ray"))
    assert [a["num_gpus"] for a in fake.asked] == [1.0, 0.0]


def test_the_fake_ray_runs_the_grid_to_the_serial_csv(serial, config, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", FakeRay())
    assert grid_csv(tmp_path, "ray", config) == serial


def test_ray_missing_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(ConfigError, match=r"pip install 'had\[ray\]'"):
        bench.run(["rx"], ["synthetic-table"], [0], out=tmp_path, executor="ray")
    assert not (tmp_path / "results.csv").exists()


def test_cli_ray_missing_exits_2_without_traceback(monkeypatch, capsys):
    from test_reliability_cli import run_cli

    monkeypatch.setitem(sys.modules, "ray", None)
    code, _, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-table",
                           "--executor", "ray")
    assert code == 2 and "Traceback" not in err and "had[ray]" in err


def test_one_progress_bar_counts_every_cell_with_the_time_left(tmp_path, capsys):
    bench.run(["rx"], ["synthetic-table"], [0, 1, 2], out=tmp_path, plots=False, echo=lambda _: None,
              progress=True, executor="serial")
    err = capsys.readouterr().err
    assert "had bench: 100%" in err and "3/3" in err and ("cell/s" in err or "s/cell" in err)
    assert "<00:00" in err  # tqdm's estimate of the time left


def _run_or_die(n: int) -> int:
    """A task that kills its own process for n == 3 (as the kernel's OOM killer would), else returns n squared."""
    import os

    if n == 3:
        os._exit(9)
    return n * n


def _fail_text(n: int, exc: BaseException) -> str:
    return f"failed: {exc}"


def _needs(n: int) -> dict[str, float]:
    return {"num_cpus": 1.0, "num_gpus": 0.0, "auto_gpu": False}


def test_a_task_whose_process_dies_fails_alone_and_the_rest_run():
    """A dying worker breaks a process pool and fails every task in it (was: the rest of the grid, queued behind
    it, failed with BrokenProcessPool). Now the tasks in flight run again alone: only the one that dies fails."""
    task = executors.Task(_run_or_die, _fail_text, _needs)
    started = []
    results = dict(executors.execute(list(range(8)), "processes", workers=2, task=task, on_start=started.append))
    assert sorted(started) == list(range(8))  # each task started once, however often it ran
    assert {n: r for n, r in results.items() if n != 3} == {n: n * n for n in range(8) if n != 3}
    assert results[3].startswith("failed: its process died") and "--executor serial" in results[3]


def test_a_ray_address_that_does_not_answer_is_refused_at_once():
    """--ray-address naming a port nothing listens on, or a host that does not resolve, is one ConfigError before
    ray.init (which retries for ~20 s, a warning a second); forms without a port, and none, are left to Ray."""
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}", "no-such-host.invalid:6379"):
        with pytest.raises(ConfigError, match=f"could not reach the Ray cluster at {address}: no answer"):
            executors.check_ray_address(address)
    with socket.socket() as server:  # one that answers passes
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        executors.check_ray_address(f"127.0.0.1:{server.getsockname()[1]}")
    for address in (None, "auto", "local", "http://127.0.0.1:8265"):
        executors.check_ray_address(address)


def test_a_pool_broken_between_a_wait_and_the_next_submit_goes_on(monkeypatch):
    """A worker that died while another cell finished made the next `submit` raise BrokenProcessPool outside the
    handling: a traceback, exit 1, the rest of the grid lost. The cell not started goes back in line; the cells in
    flight run again alone."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    class BreaksOnce(ProcessPoolExecutor):
        submitted = 0

        def submit(self, *args, **kwargs):
            BreaksOnce.submitted += 1
            if BreaksOnce.submitted == 3:
                raise BrokenProcessPool("a worker died")
            return super().submit(*args, **kwargs)

    monkeypatch.setattr(executors, "ProcessPoolExecutor", BreaksOnce)
    task = executors.Task(_run_or_die, _fail_text, _needs)
    results = dict(executors.execute(list(range(8)), "processes", workers=2, task=task))
    assert {n: r for n, r in results.items() if n != 3} == {n: n * n for n in range(8) if n != 3}
    assert results[3].startswith("failed: its process died")


def _sleep_long(n: int) -> int:
    import time

    time.sleep(120)
    return n


def test_a_stopped_grid_stops_its_workers_at_once():
    """SIGTERM (or Ctrl-C to had alone) waited for every cell in flight, then threw them away; a second SIGTERM
    in that wait hung had for good, and its workers outlived it."""
    import multiprocessing
    import time

    task = executors.Task(_sleep_long, _fail_text, _needs)
    started = []

    def stop_at_the_second(cell):
        started.append(cell)
        if len(started) == 2:
            raise KeyboardInterrupt

    begun = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        list(executors.execute([0, 1, 2], "processes", workers=2, task=task, on_start=stop_at_the_second))
    assert time.monotonic() - begun < 60  # not the 120 s the cell in flight would take
    deadline = time.monotonic() + 20
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not multiprocessing.active_children()
