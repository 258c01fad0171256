"""benchmarks/gpu_kit.py, the device checks prepared for a session lent a GPU, run here on the CPU at its smoke
size: a kit that has never run on a GPU must at least not have rotted when a session finally gets one."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from realdata import real_file

KIT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_kit.py"


def test_the_gpu_kit_runs_every_check_at_smoke_size(tmp_path):
    for name in ("sandiego_plane", "HYDICE_data"):
        real_file(f"hsi/{name}.mat")
    for module in ("torch", "had_bs3lnet", "had_geohgan", "had_lren", "had_autoencoder", "had_raster"):
        pytest.importorskip(module)
    env = {**os.environ, "OUT": str(tmp_path), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(KIT), "run", "--no-install", "--device", "cpu", "--smoke",
                           "--budget", "300"], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = list(csv.DictReader((tmp_path / "gpu_checks.csv").open()))
    checks = {row["check"] for row in rows}
    assert checks == {"env", "large", "parity", "geohgan", "bs3lnet"}
    assert not [row for row in rows if row["item"] in ("failed", "skipped") or row["note"].startswith("skipped")]
    assert {row["setting"] for row in rows if row["check"] == "bs3lnet"} == {"rx", "epochs 0.02", "epochs 0.05",
                                                                          "epochs 0.1"}
    aurocs = [float(row["value"]) for row in rows if row["unit"] == "auroc"]
    assert aurocs and all(0.0 <= a <= 1.0 for a in aurocs)
    large = {row["item"]: row for row in rows if row["check"] == "large"}
    assert {"read", "rx-fit", "rx-score", "rx-parts", "target"} <= set(large)  # bench_large's RX steps and verdict
    assert sum(item.startswith("floor") for item in large) == 2  # and the floors rx-parts implies
    assert all(float(large[step]["value"]) > 0 for step in ("read", "rx-fit", "rx-score"))
    rx = {row["item"]: float(row["value"]) for row in rows if row["setting"] == "rx"}
    assert rx == {"sandiego_plane": 0.9403, "hydice": 0.9763}  # the published RX figures: the data is the data
