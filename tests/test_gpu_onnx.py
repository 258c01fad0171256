"""benchmarks/gpu_onnx.py, the ONNX-on-CUDA check prepared for a session lent a GPU: its parts travel in several
device calls and are put back together there, and its driver runs here on the CPU at smoke size."""

from __future__ import annotations

import csv
import io
import json
import lzma
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from realdata import real_file

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))
import gpu_onnx  # noqa: E402


def _parts(tmp_path: Path) -> tuple[Path, list[Path]]:
    """A small package packed as gpu_onnx packs onnxruntime-gpu: tar, xz, cut in three parts in two places."""
    payload = np.random.default_rng(0).bytes(300_000)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("onnxruntime/capi/lib.so")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    packed = lzma.compress(buffer.getvalue())
    kit, earlier, last = tmp_path / "kit", tmp_path / "earlier", tmp_path / "last"
    for folder in (kit, earlier, last):
        folder.mkdir()
    cut = [0, len(packed) // 3, 2 * len(packed) // 3, len(packed)]
    listed, paths = [], []
    for k in range(3):
        path = (earlier if k < 2 else last) / f"part-{k + 1}"
        path.write_bytes(packed[cut[k]:cut[k + 1]])
        listed.append({"name": path.name, "sha256": gpu_onnx.sha256(path), "bytes": path.stat().st_size})
        paths.append(path)
    (kit / "parts.json").write_text(json.dumps(listed))
    (kit / "payload").write_bytes(payload)
    return kit, paths


def test_the_parts_from_several_calls_unpack_into_the_package(tmp_path):
    kit, _ = _parts(tmp_path)
    site = tmp_path / "site"
    gpu_onnx.unpack(kit, (tmp_path / "earlier", tmp_path / "last"), site)
    assert (site / "onnxruntime" / "capi" / "lib.so").read_bytes() == (kit / "payload").read_bytes()


def test_a_lost_or_damaged_part_is_said_before_anything_is_unpacked(tmp_path):
    kit, paths = _parts(tmp_path)
    site = tmp_path / "site"
    places = (tmp_path / "earlier", tmp_path / "last")
    paths[1].write_bytes(paths[1].read_bytes()[:-1] + b"\0")
    with pytest.raises(SystemExit, match="part-2: sha256 differs"):
        gpu_onnx.unpack(kit, places, site)
    paths[0].unlink()
    with pytest.raises(SystemExit, match="part-1 is missing: the machine was given back"):
        gpu_onnx.unpack(kit, places, site)
    assert not site.exists()


def test_the_driver_checks_parity_and_speed_of_each_exported_model(tmp_path):
    real_file("hsi/sandiego_plane.mat")
    pytest.importorskip("onnxruntime")
    pytest.importorskip("had_autoencoder")
    import had
    from had.onnx_export import export_and_verify

    data = had.load_dataset("sandiego_plane")
    for name, config in (("rx", {}), ("autoencoder", {"epochs": 2, "seed": 0})):
        det = had.get_detector(name, config).fit(data.X)
        onnx_model, _ = export_and_verify(det, data.X, y=data.y)
        had.save(det, tmp_path / "kit" / "models" / name, onnx_model=onnx_model)
    env = {**os.environ, "OUT": str(tmp_path / "out"), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(BENCH / "gpu_onnx.py"), "run", "--no-install", "--smoke", "--budget",
                           "120", "--kit", str(tmp_path / "kit")], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = list(csv.DictReader((tmp_path / "out" / "gpu_onnx.csv").open()))
    parity = [row for row in rows if row["check"] == "parity" and row["setting"].startswith("onnx")]
    assert {(row["item"], row["setting"]) for row in parity} == {
        (m, f"onnx {p}") for m in ("rx", "autoencoder") for p in ("default", "cuda", "cpu")}
    assert all(float(row["value"]) < 1e-4 for row in parity)
    eager = {row["item"]: row["value"] for row in rows if row["setting"] == "eager cpu (fit here)"}
    assert eager["rx"] == "0.9403"  # the published RX figure: the saved eager scores are the scene's
    assert all(row["note"].startswith(f"auroc {eager[row['item']]}") for row in parity)
    speed = {(row["item"], row["setting"]): row for row in rows if row["check"] == "speed"}
    assert float(speed["autoencoder", "onnxruntime cpu"]["value"]) > 0
    assert float(speed["autoencoder", "torch eager cpu"]["value"]) > 0
    assert speed["rx", "torch eager cuda"]["note"] == "not a torch detector / no CUDA"


def test_the_device_calls_move_every_part_once_and_run_the_checks_last():
    calls = gpu_onnx.device_calls(["part-1", "part-2", "part-3"])[1:]
    assert len(calls) == 3
    moved = [part for call in calls for part in ("part-1", "part-2", "part-3") if f"mv .gpuonnx/{part} " in call]
    assert sorted(moved) == ["part-1", "part-2", "part-3"]
    # the kit travels once, with the smallest (last) part, and stays there for the last call
    assert '".gpuonnx/part-3", ".gpuonnx/kit"' in calls[0] and "gpu_kit.py run" in calls[0]
    assert all(".gpuonnx/kit\"" not in call for call in calls[1:])
    assert calls[-1].endswith(f"gpu_onnx.py run --kit {gpu_onnx.KIT_THERE}")
