"""``had bench --pin-cpu``: the cells' workers start with the CPU pins (had.cpu_pins), under which torch's and numpy's
libraries pick their AVX2 kernels on any x86 CPU, so that a torch detector's figures repeat on another machine.

Was: the pins were a paragraph of the user guide to export by hand before had started; nothing in a grid's
results said whether they were set, and --resume mixed cells run with and without them."""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

import pytest
from had_sdk.testing import run_cli

from had import cpu_pins, executors
from had.errors import ConfigError


def _what_the_worker_picks(item: int) -> dict:
    """In a worker: the pins in its environment, the kernels torch's ATen picked and numpy's AVX-512 dispatch."""
    from numpy._core._multiarray_umath import __cpu_features__

    picked = {"env": {name: os.environ.get(name) for name in cpu_pins.PINS},
              "numpy_avx512_skx": bool(__cpu_features__.get("AVX512_SKX"))}
    try:
        import torch

        picked["torch"] = torch.backends.cpu.get_cpu_capability()
    except ImportError:
        pass
    return picked


def _fail(item: int, exc: BaseException) -> str:
    return f"failed: {exc}"


def _needs(item: int) -> dict[str, float]:
    return {"num_cpus": 1.0, "num_gpus": 0.0, "auto_gpu": False}


TASK = executors.Task(_what_the_worker_picks, _fail, _needs)


def _has_avx512() -> bool:
    try:
        return "avx512f" in Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False


def test_a_pinned_worker_starts_with_the_pins_and_its_libraries_pick_avx2(monkeypatch):
    for name in cpu_pins.PINS:  # the user's own settings are not what is tested
        monkeypatch.delenv(name, raising=False)
    before = dict(os.environ)
    [(_, pinned)] = list(executors.execute([0], "processes", workers=1, task=TASK, pin_cpu=True))
    assert pinned["env"] == cpu_pins.PINS
    assert pinned["numpy_avx512_skx"] is False
    if "torch" in pinned:
        assert pinned["torch"] == "AVX2"
    assert dict(os.environ) == before  # this process's environment as it was
    [(_, plain)] = list(executors.execute([0], "processes", workers=1, task=TASK))
    assert all(value is None for value in plain["env"].values())
    if _has_avx512():  # on this CPU the pins change what the libraries pick
        assert plain["numpy_avx512_skx"] is True
        if "torch" in plain:
            assert plain["torch"] == "AVX512"


def test_every_worker_of_a_pool_and_a_cell_run_again_alone_are_pinned(monkeypatch):
    for name in cpu_pins.PINS:
        monkeypatch.delenv(name, raising=False)
    results = [picked for _, picked in executors.execute(list(range(4)), "processes", workers=2, task=TASK,
                                                         pin_cpu=True)]
    assert len(results) == 4 and all(picked["env"] == cpu_pins.PINS for picked in results)
    context = __import__("multiprocessing").get_context("spawn")
    assert executors._alone(0, TASK, context, pin_cpu=True)["env"] == cpu_pins.PINS


def test_the_serial_executor_refuses_the_pins():
    with pytest.raises(ConfigError, match="--executor processes"):
        executors.execute([0], "serial", task=TASK, pin_cpu=True)


def test_ray_tasks_ask_for_workers_started_with_the_pins(monkeypatch):
    from test_grid_executors import FakeRay

    fake = FakeRay()
    monkeypatch.setitem(sys.modules, "ray", fake)
    list(executors.execute([0, 1], "ray", task=TASK, pin_cpu=True))
    list(executors.execute([2], "ray", task=TASK))
    assert [a.get("runtime_env") for a in fake.asked] == [{"env_vars": cpu_pins.PINS}] * 2 + [None]


def test_a_local_ray_task_runs_pinned(monkeypatch):
    pytest.importorskip("ray", reason="ray is not installed (pip install 'had[ray]')")
    for name in cpu_pins.PINS:
        monkeypatch.delenv(name, raising=False)
    [(_, pinned)] = list(executors.execute([0], "ray", task=TASK, pin_cpu=True))
    assert pinned["env"] == cpu_pins.PINS and pinned["numpy_avx512_skx"] is False


GRID = ("bench", "--detectors", "autoencoder", "--datasets", "synthetic-table", "--seeds", "0-0",
        "--set", "autoencoder.epochs=3", "--data", "synthetic-table.n_samples=300", "--no-plots")


def _rows(out: Path) -> list[dict]:
    with open(out / "results.csv", newline="") as fh:
        return [{k: v for k, v in row.items() if k not in ("fit_s", "score_s")} for row in csv.DictReader(fh)]


def test_had_bench_pin_cpu_runs_pinned_records_it_and_resume_keeps_to_it(capsys, tmp_path, monkeypatch):
    for name in cpu_pins.PINS:
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / "pinned"
    asked = []
    execute = executors.execute

    def spy(*args, **kwargs):  # what bench asks of the executor: the figures alone cannot tell pinned workers
        asked.append((args[1], kwargs.get("pin_cpu")))
        return execute(*args, **kwargs)

    monkeypatch.setattr("had.bench.execute", spy)
    code, _, err = run_cli(capsys, *GRID, "--pin-cpu", "--out", out)
    assert code == 0, err
    assert asked == [("processes", True)]
    assert "--pin-cpu runs the cells in 1 worker process(es) started with the pins (--executor processes; --workers N" \
        in err
    rows = _rows(out)
    assert len(rows) == 1 and rows[0]["error"] == "" and 0.5 < float(rows[0]["auroc"]) <= 1.0
    assert json.loads((out / "grid.json").read_text())["cpu_pins"] == cpu_pins.PINS
    assert "ATEN_CPU_CAPABILITY=avx2" in (out / "results.md").read_text()
    # the same grid with the pins exported by hand, as the user guide said before: the same figures
    by_hand = tmp_path / "by-hand"
    for name, value in cpu_pins.PINS.items():
        monkeypatch.setenv(name, value)
    code, _, err = run_cli(capsys, *GRID, "--executor", "processes", "--workers", "1", "--out", by_hand)
    assert code == 0, err
    assert _rows(by_hand) == rows
    for name in cpu_pins.PINS:
        monkeypatch.delenv(name)
    # resuming without the pins: refused in one line; with them: the cell kept
    code, _, err = run_cli(capsys, *GRID, "--executor", "processes", "--out", out, "--resume")
    assert code == 2 and ("ran with the CPU pins (--pin-cpu, or a grid file's pin_cpu), this grid without them; "
                          "give --pin-cpu to resume them") in err
    assert "Traceback" not in err
    code, _, err = run_cli(capsys, *GRID, "--pin-cpu", "--out", out, "--resume")
    assert code == 0 and "resuming: 1 finished cell(s) kept" in err


def test_resuming_unpinned_cells_with_the_pins_is_refused(capsys, tmp_path):
    out = tmp_path / "plain"
    grid = ("bench", "--detectors", "rx", "--datasets", "synthetic-table", "--data", "synthetic-table.n_samples=200",
            "--no-plots", "--out", out)
    assert run_cli(capsys, *grid)[0] == 0
    assert "cpu_pins" not in json.loads((out / "grid.json").read_text())
    code, _, err = run_cli(capsys, *grid, "--resume", "--pin-cpu")
    assert code == 2 and ("ran without the CPU pins, this grid with them (--pin-cpu, or a grid file's pin_cpu); "
                          "give --no-pin-cpu to resume them") in err


def test_pin_cpu_with_the_serial_executor_is_one_line(capsys, tmp_path):
    code, out, err = run_cli(capsys, "bench", "--detectors", "rx", "--datasets", "synthetic-table", "--pin-cpu",
                             "--executor", "serial", "--no-plots", "--out", tmp_path / "o")
    assert code == 2 and "Traceback" not in err
    assert "use --executor processes" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_a_grid_file_sets_pin_cpu_and_a_wrong_value_is_refused(capsys, tmp_path, monkeypatch):
    from had.grid import load_grid

    good = tmp_path / "grid.toml"
    good.write_text('detectors = ["rx"]\ndatasets = ["synthetic-table"]\npin_cpu = true\n')
    assert load_grid(good).pin_cpu is True
    bad = tmp_path / "bad.toml"
    bad.write_text('detectors = ["rx"]\ndatasets = ["synthetic-table"]\npin_cpu = "yes"\n')
    code, _, err = run_cli(capsys, "bench", "--config", bad, "--no-plots")
    assert code == 2 and "pin_cpu 'yes' must be true or false" in err


def test_the_user_guides_export_line_is_the_pins():
    """The guide's ``export`` block (for a single fit or a script) sets exactly had.cpu_pins.PINS."""
    import re
    import shlex

    guide = (Path(__file__).resolve().parents[1] / "docs" / "user-guide.md").read_text()
    section = guide[guide.index("### The same figures on another machine"):]
    block = re.search(r"```sh\n(export .*?)\nhad fit", section, re.S).group(1).replace("\\\n", " ")
    assigned = dict(word.split("=", 1) for word in shlex.split(block)[1:])
    assert assigned == cpu_pins.PINS


def test_the_pins_are_refused_where_they_cannot_hold(monkeypatch, tmp_path):
    """On another CPU kind than x86-64, or an x86-64 CPU without AVX2 (OpenBLAS forced to Haswell kernels would die
    of an illegal instruction), --pin-cpu is one typed line before any cell."""
    import platform

    from had import bench

    monkeypatch.setattr(platform, "machine", lambda: "aarch64")
    with pytest.raises(ConfigError, match="this machine is aarch64"):
        bench.run(["rx"], ["synthetic-table"], [0], executor="processes", pin_cpu=True)
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    old = tmp_path / "cpuinfo"
    old.write_text("processor\t: 0\nflags\t\t: fpu sse sse2 avx\n")
    with pytest.raises(ConfigError, match="does not have"):
        cpu_pins.check_machine(str(old))
    old.write_text("processor\t: 0\nflags\t\t: fpu sse sse2 avx avx2 fma\n")
    cpu_pins.check_machine(str(old))  # an AVX2 CPU: nothing to say


def test_a_grid_files_pin_cpu_is_turned_off_by_no_pin_cpu(capsys, tmp_path):
    out = tmp_path / "o"
    grid = ("bench", "--detectors", "rx", "--datasets", "synthetic-table", "--data", "synthetic-table.n_samples=200",
            "--no-plots", "--out", out)
    assert run_cli(capsys, *grid)[0] == 0  # unpinned cells
    pinned = tmp_path / "pinned.toml"
    pinned.write_text('detectors = ["rx"]\npin_cpu = true\n[datasets.synthetic-table]\nn_samples = 200\n')
    code, _, err = run_cli(capsys, "bench", "--config", pinned, "--no-plots", "--out", out, "--resume")
    assert code == 2 and "give --no-pin-cpu to resume them" in err
    code, _, err = run_cli(capsys, "bench", "--config", pinned, "--no-pin-cpu", "--no-plots", "--out", out,
                           "--resume")
    assert code == 0 and "resuming: 1 finished cell(s) kept" in err and "--pin-cpu runs" not in err


def test_cells_run_with_other_pins_are_said_as_such(tmp_path):
    from had import bench_resume

    rows = [{"detector": "rx", "dataset": "synthetic-table", "seed": 0}]
    grid = bench_resume.record_of({"rx": {}}, {"synthetic-table": {}}, ["auroc"])
    earlier = {**grid, "cpu_pins": {**cpu_pins.PINS, "NPY_DISABLE_CPU_FEATURES": "AVX512F"}}
    bench_resume.write_record(tmp_path, earlier)
    with pytest.raises(ConfigError, match=r"ran with other CPU pins than this had's \(NPY_DISABLE_CPU_FEATURES\); "
                                          r"rerun them with --overwrite"):
        bench_resume.check_resume(tmp_path, rows, {**grid, "cpu_pins": dict(cpu_pins.PINS)}, [0], lambda line: None)


def test_the_environment_is_set_by_one_block_at_a_time():
    import threading

    inside, done = threading.Event(), threading.Event()

    def hold():
        with cpu_pins.environment():
            inside.set()
            done.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    inside.wait(10)
    try:
        assert cpu_pins._LOCK.acquire(blocking=False) is False  # another block waits for this one's restore
    finally:
        done.set()
        thread.join(10)
    assert cpu_pins._LOCK.acquire(blocking=False) is True
    cpu_pins._LOCK.release()


@pytest.mark.parametrize(("version", "names"), [("2.4.6", "X86_V4,AVX512_ICL,AVX512_SPR"),
                                                ("2.3.1", "AVX512F,AVX512CD,AVX512_KNL"), ("1.26.4", "AVX512_SKX")])
def test_numpys_targets_are_named_as_its_version_names_them(version, names):
    assert set(names.split(",")) <= set(cpu_pins._numpy_avx512_targets(version).split(","))


def test_a_user_enabling_numpy_features_does_not_break_a_pinned_worker(monkeypatch):
    """numpy refuses to import with both NPY_DISABLE_CPU_FEATURES and NPY_ENABLE_CPU_FEATURES set: the pins empty
    the second."""
    monkeypatch.setenv("NPY_ENABLE_CPU_FEATURES", "AVX2")
    [(_, pinned)] = list(executors.execute([0], "processes", workers=1, task=TASK, pin_cpu=True))
    assert pinned["env"]["NPY_ENABLE_CPU_FEATURES"] == "" and pinned["numpy_avx512_skx"] is False
