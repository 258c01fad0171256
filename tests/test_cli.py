"""End-to-end command line: fit, score, bench, describe, errors."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import numpy as np
import pytest


def had(*args, check=True, **env):
    out = subprocess.run([sys.executable, "-m", "had.cli", *args], capture_output=True, text=True,
                         env={**os.environ, **env}, timeout=300)
    if check:
        assert out.returncode == 0, out.stdout + out.stderr
    return out


def test_fit_then_score_a_saved_model(tmp_path):
    model = tmp_path / "rx-model"
    fit = had("fit", "rx", "synthetic-scene", "-o", str(model), "--set", "contamination=0.02")
    assert "auroc_on_fit_data" in fit.stdout
    assert (model / "manifest.json").is_file()
    scores_path = tmp_path / "scores.npy"
    out = had("score", str(model), "synthetic-scene", "--engine", "eager", "-o", str(scores_path),
              "--png", str(tmp_path / "map.png"))
    assert "auroc" in out.stdout
    scores = np.load(scores_path)
    assert scores.ndim == 2 and np.isfinite(scores).all()
    assert (tmp_path / "map.png").stat().st_size > 1000


def test_score_a_user_file(tmp_path, rng):
    cube = rng.normal(size=(20, 15, 6))
    np.save(tmp_path / "scene.npy", cube)
    model = tmp_path / "m"
    had("fit", "rx", str(tmp_path / "scene.npy"), "-o", str(model))
    out = had("score", str(model), str(tmp_path / "scene.npy"), "--engine", "eager")
    assert "of 300 above the threshold" in out.stdout


def test_bench_writes_csv_markdown_and_pngs(tmp_path):
    out_dir = tmp_path / "bench"
    out = had("bench", "--detectors", "rx", "--datasets", "synthetic-scene,synthetic-table", "--seeds", "2",
              "--out", str(out_dir))
    assert "| dataset | detector |" in out.stdout
    with open(out_dir / "results.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4
    header = list(rows[0])
    assert header[:4] == ["detector", "dataset", "seed", "auroc"]
    assert "auprc" in header and "auc_pf_tau" in header and header[-3:] == ["fit_s", "score_s", "error"]
    assert {r["seed"] for r in rows} == {"0", "1"}
    assert all(0.5 < float(r["auroc"]) <= 1.0 for r in rows)
    assert (out_dir / "results.md").read_text().startswith("# had bench")
    for name in ("roc_synthetic-scene.png", "map_synthetic-scene.png", "roc_synthetic-table.png"):
        assert (out_dir / name).stat().st_size > 1000


@pytest.mark.parametrize("args,message", [
    (["fit", "nope", "synthetic-scene", "-o", "x"], "unknown detector 'nope'"),
    (["fit", "rx", "nope-data", "-o", "x"], "unknown datasource 'nope-data'"),
    (["fit", "rx", "no/such/scene.mat", "-o", "x"], "no/such/scene.mat does not exist"),
    (["bench", "--detectors", "rx", "--datasets", "synthetic-scene", "--set", "rx.contamination=2"],
     "invalid config for detector rx: contamination"),
    (["score", ".", "synthetic-scene"], "not a had artifact"),
])
def test_errors_are_one_line(args, message, tmp_path):
    out = had(*args, check=False)
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 or message in out.stderr.strip().splitlines()[-1]


def test_debug_shows_the_traceback():
    out = had("--debug", "fit", "nope", "synthetic-scene", "-o", "x", check=False)
    assert out.returncode != 0 and "Traceback" in out.stderr


def test_describe_and_list():
    out = had("describe", "rx")
    assert "eig_floor" in out.stdout and "ONNX export" in out.stdout
    assert "synthetic-scene" in had("list", "datasets").stdout
    assert "auc_pf_tau" in had("list", "metrics").stdout


def test_demo_reproduces_rx_on_the_real_scenes(tmp_path):
    from realdata import real_file

    for name in ("sandiego_plane", "HYDICE_data", "abu-beach-4", "abu-urban-2"):
        real_file(f"hsi/{name}.mat")
    out = had("demo", "--out", str(tmp_path / "demo"))
    for name, auc in (("sandiego_plane", "0.9403"), ("hydice", "0.9763"), ("abu-beach-4", "0.9887"),
                      ("abu-urban-2", "0.9952")):
        assert f"RX on {name}: AUROC {auc} (published {auc}) ok" in out.stdout
    assert (tmp_path / "demo" / "map_hydice.png").is_file()
    assert (tmp_path / "demo" / "results.csv").is_file()
